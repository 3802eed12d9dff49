//! Latency with hdrhistogram, every thread pinned, one thread per core.
//!
//! - Round trip (ping-pong): thread A sends `i` through queue 1, thread B
//!   echoes it back through queue 2, A checks it got `i` back. Both spin on
//!   the `try_` calls, so this measures the data structure, not a wait
//!   strategy. The floor is the same dance on two bare atomics, each on
//!   its own cache line: one line transfer per hop, nothing a queue can
//!   beat. How fast a poll loop lets a line go back to its writer depends
//!   on its pace, so the floor is the best of a few paces, each run in
//!   full. Each round trip is timed with `Instant` (its cost is reported
//!   beside the figures); an untimed block of round trips gives the mean
//!   without that cost.
//! - One-way at a fixed offered rate: the producer sends message `i` at
//!   its *intended* time `start + i * interval` (it spins until then, and
//!   never skips), the message carries that time, and the consumer
//!   records `now - intended`. A stall (full queue, preempted thread)
//!   therefore shows in every message it delays, not only the first:
//!   coordinated omission is corrected. Both ends use the queue's blocking
//!   calls, so the wait strategy is part of what is measured. The first
//!   messages warm the caches and are not recorded.

use crate::peers::Peer;
use crate::pin;
use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;
use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

/// Capacity of the queues in the latency runs.
const CAPACITY: usize = 1024;

/// A histogram of nanoseconds from 1 ns to 100 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid bounds")
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos().try_into().unwrap_or(u64::MAX)
}

/// Spins (with a spin hint, yielding every 1024 tries in case the other
/// side shares this core) until `f` gives a value.
fn spin_until<R>(mut f: impl FnMut() -> Option<R>) -> R {
    let mut tries = 0u32;
    loop {
        if let Some(r) = f() {
            return r;
        }
        tries = tries.wrapping_add(1);
        if tries % 1024 == 0 {
            thread::yield_now();
        } else {
            spin_loop();
        }
    }
}

/// How many round trips a ping-pong run makes.
#[derive(Clone, Copy, Debug)]
pub struct RoundTrips {
    /// Untimed, first.
    pub warm_up: u64,
    /// Timed as one block: gives the mean.
    pub block: u64,
    /// Timed one by one: gives the histogram.
    pub timed: u64,
}

/// The result of a ping-pong run.
pub struct RoundTrip {
    /// Each timed round trip, in ns.
    pub hist: Histogram<u64>,
    /// Mean of the untimed block, in ns.
    pub block_mean_ns: f64,
}

/// Runs `a(i)` (send `i`, return what came back) on core slot 0 against
/// `b()` (echo one value) on core slot 1.
fn bounce(
    n: RoundTrips,
    mut a: impl FnMut(u64) -> u64 + Send,
    mut b: impl FnMut() + Send,
) -> RoundTrip {
    let total = n.warm_up + n.block + n.timed;
    let start = Barrier::new(2);
    thread::scope(|s| {
        let echo = s.spawn(|| {
            pin::pin(1);
            start.wait();
            for _ in 0..total {
                b();
            }
        });
        let ping = s.spawn(|| {
            pin::pin(0);
            start.wait();
            let mut i = 0u64;
            let mut trip = |i: &mut u64| {
                *i += 1;
                let back = a(*i);
                assert_eq!(back, *i, "round trip returned the wrong value");
            };
            for _ in 0..n.warm_up {
                trip(&mut i);
            }
            let t0 = Instant::now();
            for _ in 0..n.block {
                trip(&mut i);
            }
            let block_mean_ns = nanos(t0.elapsed()) as f64 / n.block.max(1) as f64;
            let mut hist = histogram();
            for _ in 0..n.timed {
                let t = Instant::now();
                trip(&mut i);
                hist.saturating_record(nanos(t.elapsed()));
            }
            assert_eq!(i, total, "every round trip counted");
            RoundTrip {
                hist,
                block_mean_ns,
            }
        });
        let result = ping.join().expect("ping thread panicked");
        echo.join().expect("echo thread panicked");
        result
    })
}

/// Round trips through two `P` queues.
pub fn ping_pong<P: Peer>(n: RoundTrips) -> RoundTrip {
    let one = || {
        let (mut txs, mut rxs) = P::open(CAPACITY, 1, 1).expect("every peer serves 1P1C");
        (txs.pop().expect("one"), rxs.pop().expect("one"))
    };
    let ((mut tx1, mut rx1), (mut tx2, mut rx2)) = (one(), one());
    bounce(
        n,
        move |i| {
            P::try_send(&mut tx1, i).expect("ping queue has room");
            spin_until(|| P::try_recv(&mut rx2))
        },
        move || {
            let v = spin_until(|| P::try_recv(&mut rx1));
            P::try_send(&mut tx2, v).expect("pong queue has room");
        },
    )
}

/// How many spin hints the floor's variants make between two polls: the
/// pace of the polling decides how often a poll pulls the line away from
/// its writer, and no single pace is the fastest on every machine.
const FLOOR_PACES: [u32; 4] = [0, 1, 8, 32];

/// The floor: round trips on two bare atomics on separate cache lines, at
/// each of [`FLOOR_PACES`]; the run with the least p50 (the least any
/// queue could pay for the same round trip on this machine).
pub fn cache_line_floor(n: RoundTrips) -> RoundTrip {
    FLOOR_PACES
        .iter()
        .map(|&pace| floor_at_pace(n, pace))
        .min_by_key(|r| r.hist.value_at_quantile(0.5))
        .expect("at least one pace")
}

/// The floor's round trips, polling with `pace` spin hints between polls.
fn floor_at_pace(n: RoundTrips, pace: u32) -> RoundTrip {
    let ping = CachePadded::new(AtomicU64::new(0));
    let pong = CachePadded::new(AtomicU64::new(0));
    let poll = |cell: &AtomicU64, want: u64| {
        spin_until(|| {
            // Acquire: pairs with the other side's Release store, as a
            // queue's take pairs with its publish.
            let v = cell.load(Ordering::Acquire);
            if v == want {
                return Some(v);
            }
            for _ in 0..pace {
                spin_loop();
            }
            None
        })
    };
    let mut expect = 0u64;
    bounce(
        n,
        |i| {
            // Release: pairs with the echo's Acquire load of ping, as a
            // queue's publish would; the value itself is the message.
            ping.store(i, Ordering::Release);
            poll(&pong, i)
        },
        || {
            expect += 1;
            let v = poll(&ping, expect);
            // Release: pairs with the pinger's Acquire load.
            pong.store(v, Ordering::Release);
        },
    )
}

/// The cost of timing one event: two back-to-back `Instant::now()`.
pub fn timer_cost(samples: u64) -> Histogram<u64> {
    let mut hist = histogram();
    for _ in 0..samples {
        let t = Instant::now();
        hist.saturating_record(nanos(t.elapsed()));
    }
    hist
}

/// Sends `count` messages through a `P` at `rate` per second, producer on
/// core slot 0 and consumer on slot 1, and returns the histogram of
/// `receive time - intended send time` of all but the first `warm_up`.
///
/// # Panics
///
/// If the consumer did not receive every message once, in order.
pub fn one_way<P: Peer>(rate: u64, count: u64, warm_up: u64) -> Histogram<u64> {
    let (mut txs, mut rxs) = P::open(CAPACITY, 1, 1).expect("every peer serves 1P1C");
    let (mut tx, mut rx) = (txs.pop().expect("one"), rxs.pop().expect("one"));
    let interval = 1_000_000_000 / rate;
    let base = Instant::now();
    let now = move || nanos(base.elapsed());
    // The consumer says it is running before the schedule starts: waking
    // an idle core can take longer than many intervals.
    let consumer_up = AtomicBool::new(false);
    let (sent, (received, hist)) = thread::scope(|s| {
        let producer = s.spawn(|| {
            pin::pin(0);
            // Acquire: pairs with the consumer's Release store; only the
            // flag itself is needed, the schedule starts after it.
            while !consumer_up.load(Ordering::Acquire) {
                spin_loop();
            }
            let first = now() + 50_000;
            let mut sum = 0u64;
            for i in 0..count {
                let intended = first + i * interval;
                while now() < intended {
                    spin_loop();
                }
                P::send(&mut tx, intended);
                sum = sum.wrapping_add(intended);
            }
            (count, sum)
        });
        let consumer = s.spawn(|| {
            pin::pin(1);
            let mut hist = histogram();
            // Release: pairs with the producer's Acquire load.
            consumer_up.store(true, Ordering::Release);
            let (mut n, mut sum, mut last) = (0u64, 0u64, 0u64);
            while n < count {
                let intended = P::recv(&mut rx);
                let latency = now().saturating_sub(intended).max(1);
                if n >= warm_up {
                    hist.saturating_record(latency);
                }
                assert!(
                    intended > last,
                    "{}: one producer's messages out of order",
                    P::NAME
                );
                last = intended;
                n += 1;
                sum = sum.wrapping_add(intended);
            }
            ((n, sum), hist)
        });
        (
            producer.join().expect("producer panicked"),
            consumer.join().expect("consumer panicked"),
        )
    });
    assert_eq!(sent, received, "{}: (count, sum) received != sent", P::NAME);
    hist
}
