//! Worker pools: the ack layer as a user's pool runs it — unpinned
//! threads, each queue's own blocking calls — against what the user would
//! write instead: a bounded crossbeam-channel plus a `Mutex<HashMap>` of
//! the messages in flight, and the bare channel (no acks at all).
//!
//! P producers `send` the values `1..=total` (producer `p` its own range);
//! C consumers each `recv` (for an ack layer: receive, ack) their share of
//! them. Every run checks the count and the sum of what the consumers got.

use std::fmt::Write as _;
use std::io;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use super::{Context, Section, POOL};
use crate::figure::{Goal, Target};
use crate::peers::{Calls, Peer};
use crate::results::{Key, Rows};
use crate::tables::{self, Base, MMSG};
use crate::throughput::Shape;
use crate::{ack, plot, roster, rotated, Suite};

/// The worker-pool section.
pub struct Pool;

/// The pools measured.
pub const SHAPES: [Shape; 4] = [
    Shape::new("1P1C", 1, 1),
    Shape::new("2P2C", 2, 2),
    Shape::new("1P3C", 1, 3),
    Shape::new("4P1C", 4, 1),
];

/// Capacity of every queue of the pools.
pub const CAPACITY: usize = 1024;

const AQ: &str = "ackqueue";
const CHANNEL: &str = "crossbeam-channel";
const TRACKER: &str = "channel-tracker";

const BASES: [Base; 2] = [
    Base::one("crossbeam-channel", CHANNEL),
    Base::one("crossbeam-channel + Mutex<HashMap>", TRACKER),
];

/// Moves `1..=total` through a fresh `P` (capacity [`CAPACITY`]) with
/// `producers` and `consumers` unpinned threads calling `P::send` /
/// `P::recv`; returns the time from the start barrier until the last
/// thread is done.
///
/// # Panics
///
/// If the consumers did not receive exactly `1..=total` (count and sum),
/// or `total` is not a multiple of `producers`.
pub fn run<P: Peer>(producers: usize, consumers: usize, total: u64) -> Duration {
    let (p, c) = (producers as u64, consumers as u64);
    assert_eq!(total % p, 0, "the producers split the messages evenly");
    let (txs, rxs) = P::open(CAPACITY, producers, consumers)
        .unwrap_or_else(|| panic!("{} cannot serve {producers}P{consumers}C", P::NAME));
    let start = Barrier::new(producers + consumers + 1);
    let per_producer = total / p;
    // Consumer `i` takes `total / c`, the first `total % c` one more.
    let share = |i: u64| total / c + u64::from(i < total % c);
    let (took, received) = std::thread::scope(|s| {
        for (i, mut tx) in (0..p).zip(txs) {
            let start = &start;
            s.spawn(move || {
                start.wait();
                for v in i * per_producer + 1..=(i + 1) * per_producer {
                    P::send(&mut tx, v);
                }
            });
        }
        let consumers: Vec<_> = (0..c)
            .zip(rxs)
            .map(|(i, mut rx)| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    let n = share(i);
                    let sum = (0..n).map(|_| P::recv(&mut rx)).sum::<u64>();
                    (n, sum)
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        let received = consumers
            .into_iter()
            .map(|h| h.join().expect("consumer panicked"))
            .fold((0, 0), |(n, s), (dn, ds)| (n + dn, s + ds));
        (began.elapsed(), received)
    });
    assert_eq!(
        received,
        (total, total * (total + 1) / 2),
        "{}: (count, sum) received != sent",
        P::NAME
    );
    took
}

impl Section for Pool {
    fn id(&self) -> &'static str {
        POOL
    }

    fn measure(&self, suite: &mut Suite, round: usize) {
        let entries = roster::of_section(POOL);
        for shape in &SHAPES {
            for e in rotated(&entries, round - 1) {
                let key = Key::new(e.slug, Calls::Blocking, 1);
                suite.throughput(POOL, shape.name, round, e.name, key, |total| {
                    // A multiple of every producer count (the plan's
                    // message counts are powers of two).
                    (e.pool)(shape.producers, shape.consumers, total)
                });
            }
        }
    }

    fn method(&self, _cx: &Context) -> String {
        format!(
            "**Worker pools.** A user's pool: P producer and C worker threads, *not pinned*, \
             moving `1..=total` through one queue of capacity {CAPACITY} with its own blocking \
             calls: `AckQueue::publish` / `receive` + `ack` (prefetch {}, the default wait \
             strategy), a bounded crossbeam-channel's `send` / `recv` plus a `Mutex<HashMap>` of \
             the messages in flight (insert on receive, remove on ack: what users write around \
             a channel), and the bare channel (no acks). 1P3C is one producer feeding three \
             workers. Each run checks the count and the sum of what the workers received; ratios \
             are taken within each round.",
            ack::MAX_IN_FLIGHT
        )
    }

    fn targets(&self, cx: &Context) -> Vec<Target> {
        let mut t = Vec::new();
        let key = |slug| Key::new(slug, Calls::Blocking, 1);
        for shape in &SHAPES {
            let rows = Rows::of(cx.results, POOL, shape.name);
            t.push(Target {
                what: format!(
                    "{} pool, publish→receive→ack, `AckQueue` ÷ bare crossbeam-channel",
                    shape.name
                ),
                calls: Calls::Blocking.label(),
                goal: Some(Goal::AtLeast(0.5)),
                got: rows.ratio(key(AQ), key(CHANNEL)),
            });
            t.push(Target {
                what: format!(
                    "{} pool, publish→receive→ack, `AckQueue` ÷ crossbeam-channel + \
                     `Mutex<HashMap>`",
                    shape.name
                ),
                calls: Calls::Blocking.label(),
                goal: Some(Goal::AtLeast(5.0)),
                got: rows.ratio(key(AQ), key(TRACKER)),
            });
        }
        t
    }

    fn write(&self, cx: &Context, o: &mut String) -> io::Result<Vec<(String, String)>> {
        let entries = roster::of_section(POOL);
        let shapes: Vec<(&str, Rows)> = SHAPES
            .iter()
            .map(|s| (s.name, Rows::of(cx.results, POOL, s.name)))
            .filter(|(_, rows)| !rows.is_empty())
            .collect();
        if shapes.is_empty() {
            return Ok(Vec::new());
        }
        let _ = writeln!(o, "## Worker pools: the ack layer against a channel\n");
        let _ = writeln!(
            o,
            "Unpinned threads, {}; ratios to the channel and to the channel with its \
             `Mutex<HashMap>` tracker, taken within each round.\n",
            Calls::Blocking.label()
        );
        let _ = writeln!(o, "![worker pools](pool.svg)\n");
        for (name, rows) in &shapes {
            let shape = SHAPES.iter().find(|s| s.name == *name).expect("a pool");
            let _ = writeln!(
                o,
                "### {name}: {} producer(s), {} worker(s), unpinned\n",
                shape.producers, shape.consumers
            );
            tables::throughput(o, "Queue", rows, &entries, Calls::Blocking, &BASES);
        }
        let title = "worker pools, each queue's own blocking calls, unpinned";
        let bars = tables::bars(&shapes, &entries, Calls::Blocking);
        Ok(vec![plot::bars(cx.dir, "pool.svg", title, MMSG, &bars)?])
    }
}
