//! Async throughput: the same producer and consumer tasks on a tokio
//! runtime, through tokio's bounded `mpsc` channel, `Ring` with its
//! futures (`send_async` / `recv_async`, a `Park` ring) and `AckQueue`
//! with its futures (`publish_async` / `receive_async` + ack), as ratios
//! to `mpsc` within each round. `mpsc` has one consumer, so the shapes are
//! 1P1C and 4P1C.

use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ackring::{AckQueue, Ring, WaitStrategy};

use super::{Context, Section, ASYNC};
use crate::figure::Target;
use crate::peers::Calls;
use crate::results::{Key, Rows};
use crate::{rotated, tables, Suite};

/// The async section.
pub struct Async;

/// Capacity of every queue, as in the throughput section.
const CAPACITY: usize = 1024;
/// The runtime's worker threads: one per core of the reference machine.
const WORKERS: usize = 2;

/// One shape: its name and producer count (one consumer).
struct Shape {
    name: &'static str,
    producers: u64,
}

const SHAPES: [Shape; 2] = [
    Shape {
        name: "1P1C",
        producers: 1,
    },
    Shape {
        name: "4P1C",
        producers: 4,
    },
];

/// One queue: its row and its run of `total` messages.
#[derive(Clone, Copy)]
struct Side {
    name: &'static str,
    slug: &'static str,
    run: fn(&tokio::runtime::Runtime, u64, u64) -> Duration,
}

const MPSC: &str = "tokio-mpsc";

const SIDES: [Side; 3] = [
    Side {
        name: "tokio::sync::mpsc (bounded)",
        slug: MPSC,
        run: run_mpsc,
    },
    Side {
        name: "ackring Ring (park), futures",
        slug: "ring-async",
        run: run_ring,
    },
    Side {
        name: "ackring AckQueue, futures, receive + ack",
        slug: "ackqueue-async",
        run: run_ack,
    },
];

/// What the figures use, as the targets table names it.
const CALLS: &str = "each queue's own futures, on tokio";

/// A side's row: its own calls (here, its futures) and single messages.
const fn key(slug: &'static str) -> Key {
    Key::new(slug, Calls::Blocking, 1)
}

/// Splits `total` among `producers`: (messages each, messages in all).
fn split(producers: u64, total: u64) -> (u64, u64) {
    let per = (total / producers).max(1);
    (per, per * producers)
}

/// Spawns one task per producer (`produce(first, count)` sends
/// `first..first + count`) and the consumer, timed from the first spawn to
/// the consumer's end; checks the sum the consumer returns against
/// `1..=n`.
fn timed<P, C>(
    rt: &tokio::runtime::Runtime,
    producers: u64,
    total: u64,
    produce: impl Fn(u64, u64) -> P,
    consume: C,
) -> Duration
where
    P: Future<Output = ()> + Send + 'static,
    C: Future<Output = u64> + Send + 'static,
{
    let (per, n) = split(producers, total);
    let start = Instant::now();
    let sum = rt.block_on(async {
        let consumer = tokio::spawn(consume);
        for p in 0..producers {
            tokio::spawn(produce(p * per + 1, per));
        }
        consumer.await.expect("the consumer task")
    });
    let elapsed = start.elapsed();
    assert_eq!(sum, n * (n + 1) / 2, "every message received once");
    elapsed
}

fn run_mpsc(rt: &tokio::runtime::Runtime, producers: u64, total: u64) -> Duration {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
    let produce = move |first: u64, per: u64| {
        let tx = tx.clone();
        async move {
            for v in first..first + per {
                tx.send(v).await.expect("open");
            }
        }
    };
    let (_, n) = split(producers, total);
    let consume = async move {
        let mut sum = 0;
        for _ in 0..n {
            sum += rx.recv().await.expect("open");
        }
        sum
    };
    timed(rt, producers, total, produce, consume)
}

fn run_ring(rt: &tokio::runtime::Runtime, producers: u64, total: u64) -> Duration {
    let ring = Arc::new(Ring::with_wait_strategy(CAPACITY, WaitStrategy::Park));
    let rx = ring.clone();
    let produce = move |first: u64, per: u64| {
        let ring = ring.clone();
        async move {
            for v in first..first + per {
                ring.send_async(v).await.expect("open");
            }
        }
    };
    let (_, n) = split(producers, total);
    let consume = async move {
        let mut sum = 0;
        for _ in 0..n {
            sum += rx.recv_async().await.expect("open");
        }
        sum
    };
    timed(rt, producers, total, produce, consume)
}

fn run_ack(rt: &tokio::runtime::Runtime, producers: u64, total: u64) -> Duration {
    let q = Arc::new(
        AckQueue::<u64>::builder()
            .capacity(CAPACITY)
            .max_in_flight(CAPACITY)
            .build()
            .expect("valid configuration"),
    );
    let rx = q.clone();
    let produce = move |first: u64, per: u64| {
        let q = q.clone();
        async move {
            for v in first..first + per {
                q.publish_async(v).await.expect("open");
            }
        }
    };
    let (_, n) = split(producers, total);
    let consume = async move {
        let mut sum = 0;
        for _ in 0..n {
            let d = rx.receive_async().await.expect("open");
            sum += *d;
            d.ack().expect("first ack of a live delivery");
        }
        sum
    };
    timed(rt, producers, total, produce, consume)
}

impl Section for Async {
    fn id(&self) -> &'static str {
        ASYNC
    }

    fn measure(&self, suite: &mut Suite, round: usize) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .build()
            .expect("a tokio runtime");
        for shape in &SHAPES {
            for side in rotated(&SIDES, round - 1) {
                suite.throughput(
                    ASYNC,
                    shape.name,
                    round,
                    side.name,
                    key(side.slug),
                    |total| (side.run)(&rt, shape.producers, total),
                );
            }
        }
    }

    fn method(&self, _cx: &Context) -> String {
        format!(
            "**Async.** Producer tasks send their share of `1..=N` and one consumer task \
             receives and sums them, on a tokio multi-threaded runtime with {WORKERS} worker \
             threads (not pinned: the runtime places its tasks), through tokio's bounded \
             `mpsc::channel`, a `Ring` built with `WaitStrategy::Park` (`send_async` / \
             `recv_async`) and an `AckQueue` (`publish_async` / `receive_async`, then the \
             ack), each of capacity {CAPACITY}, in the same loop and interleaved in each \
             round. Throughput as in the throughput section (criterion, each sample checks the \
             sum); the figure is each one ÷ `mpsc` within a round. `mpsc` has a single \
             consumer, hence 1P1C and 4P1C."
        )
    }

    fn targets(&self, cx: &Context) -> Vec<Target> {
        SHAPES
            .iter()
            .flat_map(|shape| {
                let rows = Rows::of(cx.results, ASYNC, shape.name);
                SIDES[1..].iter().map(move |side| Target {
                    what: format!("{} async, {} ÷ tokio `mpsc`", shape.name, side.name),
                    calls: CALLS,
                    goal: None,
                    got: rows.ratio(key(side.slug), key(MPSC)),
                })
            })
            .collect()
    }

    fn write(&self, cx: &Context, o: &mut String) -> io::Result<Vec<(String, String)>> {
        let shapes: Vec<(&str, Rows)> = SHAPES
            .iter()
            .map(|s| (s.name, Rows::of(cx.results, ASYNC, s.name)))
            .filter(|(_, rows)| !rows.is_empty())
            .collect();
        if shapes.is_empty() {
            return Ok(Vec::new());
        }
        let _ = writeln!(o, "## Async: futures on tokio ÷ tokio `mpsc`\n");
        let _ = writeln!(
            o,
            "Million messages / s, median (min–max) over rounds, and the ratio to tokio's \
             bounded `mpsc` taken within each round:\n"
        );
        let _ = writeln!(o, "| shape | queue | Mmsg/s | ÷ tokio mpsc |");
        let _ = writeln!(o, "|---|---|---|---|");
        for (shape, rows) in &shapes {
            for side in &SIDES {
                let k = key(side.slug);
                let rate = tables::rate_spread(&rows.rates(k));
                let _ = writeln!(
                    o,
                    "| {shape} | {} | {rate} | {} |",
                    side.name,
                    rows.ratio(k, key(MPSC)).ratio()
                );
            }
        }
        let _ = writeln!(o);
        Ok(Vec::new())
    }
}
