//! Throughput: P producers and C consumers move `total` messages through
//! one queue of capacity 1024, each thread pinned.
//!
//! Producer `p` sends the values `p * per + 1 ..= (p + 1) * per`, so the
//! messages are exactly `1..=total`; consumer `c` takes exactly
//! `total / C` of them. Every run checks the count and the sum of what the
//! consumers received and panics on a mismatch.

use crate::peers::{spin_loop_recv, spin_loop_send, try_loop_recv, try_loop_send, Calls, Peer};
use crate::pin;
use crossbeam_utils::Backoff;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

/// Capacity of every queue in the throughput runs.
pub const CAPACITY: usize = 1024;

/// Producers and consumers.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// `"1P1C"`, ...
    pub name: &'static str,
    /// Producer threads.
    pub producers: usize,
    /// Consumer threads.
    pub consumers: usize,
}

impl Shape {
    pub const fn new(name: &'static str, producers: usize, consumers: usize) -> Shape {
        Shape {
            name,
            producers,
            consumers,
        }
    }
}

/// The shapes of the report. On a 2-core machine all but the first are
/// oversubscribed: they measure how a queue tolerates preempted threads.
pub const SHAPES: [Shape; 4] = [
    Shape::new("1P1C", 1, 1),
    Shape::new("2P2C", 2, 2),
    Shape::new("4P4C", 4, 4),
    Shape::new("8P1C", 8, 1),
];

/// Whether `P` can serve `shape`.
pub fn supports<P: Peer>(shape: &Shape) -> bool {
    P::open(CAPACITY, shape.producers, shape.consumers).is_some()
}

/// Moves `total` messages through a fresh `P` in `shape`, `batch` at a
/// time (1 = single calls, with `calls`; more = the batch calls in the
/// try-loop), and returns the time from the first thread leaving the
/// start barrier to the last thread finishing. Spawning and pinning are
/// outside that window.
///
/// # Panics
///
/// If the consumers did not receive exactly `1..=total` (count and sum),
/// or `total` is not a multiple of `producers * consumers * batch`.
pub fn transfer<P: Peer>(shape: &Shape, calls: Calls, batch: usize, total: u64) -> Duration {
    let (p, c) = (shape.producers as u64, shape.consumers as u64);
    assert_eq!(total % (p * c * batch as u64), 0, "total splits evenly");
    let (txs, rxs) = P::open(CAPACITY, shape.producers, shape.consumers)
        .unwrap_or_else(|| panic!("{} cannot serve {}", P::NAME, shape.name));
    let start = Barrier::new(txs.len() + rxs.len());
    let (per_producer, per_consumer) = (total / p, total / c);

    let (windows, received) = thread::scope(|s| {
        let producers: Vec<_> = txs
            .into_iter()
            .enumerate()
            .map(|(i, mut tx)| {
                let start = &start;
                s.spawn(move || {
                    pin::pin(i);
                    start.wait();
                    let t0 = Instant::now();
                    let first = i as u64 * per_producer + 1;
                    produce::<P>(&mut tx, first..first + per_producer, calls, batch);
                    (t0, Instant::now())
                })
            })
            .collect();
        let consumers: Vec<_> = rxs
            .into_iter()
            .enumerate()
            .map(|(i, mut rx)| {
                let start = &start;
                s.spawn(move || {
                    pin::pin(shape.producers + i);
                    start.wait();
                    let t0 = Instant::now();
                    let got = consume::<P>(&mut rx, per_consumer, calls, batch);
                    ((t0, Instant::now()), got)
                })
            })
            .collect();
        let mut windows: Vec<(Instant, Instant)> = producers
            .into_iter()
            .map(|h| h.join().expect("producer panicked"))
            .collect();
        let mut received = (0u64, 0u64);
        for h in consumers {
            let (window, (count, sum)) = h.join().expect("consumer panicked");
            windows.push(window);
            received = (received.0 + count, received.1.wrapping_add(sum));
        }
        (windows, received)
    });

    let expected = (total, (total / 2).wrapping_mul(total + 1)); // 1 + ... + total, total even
    assert_eq!(
        received,
        expected,
        "{} {} {} batch {batch}: (count, sum) received != sent",
        P::NAME,
        shape.name,
        calls.id()
    );
    let begin = windows.iter().map(|w| w.0).min().expect("threads ran");
    let end = windows.iter().map(|w| w.1).max().expect("threads ran");
    end - begin
}

fn produce<P: Peer>(tx: &mut P::Tx, values: std::ops::Range<u64>, calls: Calls, batch: usize) {
    match (batch, calls) {
        (1, Calls::Blocking) => return values.for_each(|v| P::send(tx, v)),
        (1, Calls::TryLoop) => return values.for_each(|v| try_loop_send::<P>(tx, v)),
        (1, Calls::SpinLoop) => return values.for_each(|v| spin_loop_send::<P>(tx, v)),
        _ => assert_eq!(calls, Calls::TryLoop, "batches use the try-loop"),
    }
    // The try-loop over the batch calls: the same wait as try_loop_send.
    let mut buf = Vec::with_capacity(batch);
    let mut next = values.start;
    while next < values.end {
        let hi = (next + batch as u64).min(values.end);
        buf.extend(next..hi);
        next = hi;
        let backoff = Backoff::new();
        while !buf.is_empty() {
            if P::try_send_batch(tx, &mut buf) == 0 {
                backoff.snooze();
            }
        }
    }
}

/// Receives exactly `want` values; returns (count, wrapping sum).
fn consume<P: Peer>(rx: &mut P::Rx, want: u64, calls: Calls, batch: usize) -> (u64, u64) {
    let (mut count, mut sum) = (0u64, 0u64);
    if batch == 1 {
        let recv = match calls {
            Calls::Blocking => P::recv,
            Calls::TryLoop => try_loop_recv::<P>,
            Calls::SpinLoop => spin_loop_recv::<P>,
        };
        while count < want {
            sum = sum.wrapping_add(recv(rx));
            count += 1;
        }
        return (count, sum);
    }
    // The try-loop over the batch calls: the same wait as try_loop_recv.
    let mut out = Vec::with_capacity(batch);
    let backoff = Backoff::new();
    while count < want {
        out.clear();
        let max = (want - count).min(batch as u64) as usize;
        let n = P::try_recv_batch(rx, &mut out, max);
        if n == 0 {
            backoff.snooze();
            continue;
        }
        backoff.reset();
        count += n as u64;
        sum = out.iter().fold(sum, |s, &v| s.wrapping_add(v));
    }
    (count, sum)
}
