//! Async throughput on tokio: `Ring` (`send_async` / `recv_async`),
//! `AckQueue` (`publish_async` / `receive_async` + `ack`) and tokio's own
//! bounded `mpsc` channel, on the same loop: P producer tasks send N
//! numbers each, one consumer task receives and sums them, on a
//! multi-threaded runtime with two workers. Each round runs the three in
//! turn; the figures are median (min–max) over the rounds of each one's
//! rate as a ratio to `mpsc` in the same round.
//!
//! Run with `cargo run --release --example async_throughput [rounds]`.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ackring::{AckQueue, Ring, WaitStrategy};

const CAPACITY: usize = 1024;
/// Messages per producer: fewer in a debug build (CI runs every example
/// once, unoptimized, as a smoke test).
const PER_PRODUCER: u64 = if cfg!(debug_assertions) {
    5_000
} else {
    200_000
};

/// One queue under test: runs `producers` × `PER_PRODUCER` messages
/// through it and returns the time taken.
trait Subject {
    const NAME: &'static str;
    fn run(rt: &tokio::runtime::Runtime, producers: u64) -> Duration;
}

/// Spawns the producers and the consumer, checks the sum, times it all.
fn time_it<Tx, P, C>(
    rt: &tokio::runtime::Runtime,
    producers: u64,
    tx: Tx,
    produce: fn(Tx, u64) -> P,
    consume: C,
) -> Duration
where
    Tx: Clone + Send + 'static,
    P: Future<Output = ()> + Send + 'static,
    C: Future<Output = u64> + Send + 'static,
{
    let start = Instant::now();
    let sum = rt.block_on(async move {
        let consumer = tokio::spawn(consume);
        for p in 0..producers {
            tokio::spawn(produce(tx.clone(), p));
        }
        drop(tx);
        consumer.await.expect("consumer")
    });
    let elapsed = start.elapsed();
    let n = producers * PER_PRODUCER;
    assert_eq!(sum, n * (n - 1) / 2, "every message received once");
    elapsed
}

struct RingAsync;

impl Subject for RingAsync {
    const NAME: &'static str = "Ring (Park) send_async/recv_async";
    fn run(rt: &tokio::runtime::Runtime, producers: u64) -> Duration {
        let ring = Arc::new(Ring::with_wait_strategy(CAPACITY, WaitStrategy::Park));
        let rx = ring.clone();
        let n = producers * PER_PRODUCER;
        time_it(
            rt,
            producers,
            ring,
            |ring, p| async move {
                for i in 0..PER_PRODUCER {
                    ring.send_async(p * PER_PRODUCER + i).await.expect("open");
                }
            },
            async move {
                let mut sum = 0;
                for _ in 0..n {
                    sum += rx.recv_async().await.expect("open");
                }
                sum
            },
        )
    }
}

struct AckAsync;

impl Subject for AckAsync {
    const NAME: &'static str = "AckQueue publish_async/receive_async+ack";
    fn run(rt: &tokio::runtime::Runtime, producers: u64) -> Duration {
        let q = Arc::new(
            AckQueue::<u64>::builder()
                .capacity(CAPACITY)
                .max_in_flight(CAPACITY)
                .build()
                .expect("valid"),
        );
        let rx = q.clone();
        let n = producers * PER_PRODUCER;
        time_it(
            rt,
            producers,
            q,
            |q, p| async move {
                for i in 0..PER_PRODUCER {
                    q.publish_async(p * PER_PRODUCER + i).await.expect("open");
                }
            },
            async move {
                let mut sum = 0;
                for _ in 0..n {
                    let d = rx.receive_async().await.expect("open");
                    sum += *d;
                    d.ack().expect("first ack");
                }
                sum
            },
        )
    }
}

struct TokioMpsc;

impl Subject for TokioMpsc {
    const NAME: &'static str = "tokio::sync::mpsc::channel";
    fn run(rt: &tokio::runtime::Runtime, producers: u64) -> Duration {
        let (tx, mut rx) = tokio::sync::mpsc::channel(CAPACITY);
        time_it(
            rt,
            producers,
            tx,
            |tx, p| async move {
                for i in 0..PER_PRODUCER {
                    tx.send(p * PER_PRODUCER + i).await.expect("open");
                }
            },
            async move {
                let mut sum = 0;
                while let Some(v) = rx.recv().await {
                    sum += v;
                }
                sum
            },
        )
    }
}

/// Median, min and max of `xs`.
fn spread(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(5, |r| r.parse().expect("rounds: a number"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    for producers in [1, 4] {
        let mut ring = Vec::new();
        let mut ack = Vec::new();
        let mut mpsc_rates = Vec::new();
        for _ in 0..rounds {
            let m = TokioMpsc::run(&rt, producers).as_secs_f64();
            let r = RingAsync::run(&rt, producers).as_secs_f64();
            let a = AckAsync::run(&rt, producers).as_secs_f64();
            ring.push(m / r);
            ack.push(m / a);
            mpsc_rates.push((producers * PER_PRODUCER) as f64 / m / 1e6);
        }
        let (m, lo, hi) = spread(mpsc_rates);
        println!(
            "{producers}P1C, {rounds} rounds; {}: {m:.2} Mmsg/s ({lo:.2}-{hi:.2})",
            TokioMpsc::NAME
        );
        for (name, ratios) in [(RingAsync::NAME, ring), (AckAsync::NAME, ack)] {
            let (m, lo, hi) = spread(ratios);
            println!("  {name} / mpsc: {m:.2}x ({lo:.2}-{hi:.2})");
        }
    }
}
