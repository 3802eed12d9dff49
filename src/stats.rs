//! Counters kept by an [`AckQueue`](crate::AckQueue) and the [`Stats`]
//! snapshot built from them.
//!
//! Every counter is a `Relaxed` atomic: counters carry no data, and a
//! snapshot is a set of independent readings, not one atomic picture.

use core::time::Duration;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU64, Ordering};

/// A snapshot of a queue's state and lifetime totals.
///
/// The counts "now" are read one after another while other threads work,
/// so under concurrency they are approximate; once the queue is quiescent
/// they are exact.
///
/// # Examples
///
/// ```
/// use ackring::AckQueue;
///
/// let q = AckQueue::builder().build().unwrap();
/// q.try_publish("job").unwrap();
/// q.try_receive().unwrap().ack().unwrap();
/// let stats = q.stats();
/// assert_eq!((stats.published, stats.delivered, stats.acked), (1, 1, 1));
/// assert_eq!(stats.in_flight, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages ready to be delivered now or later: fresh ones, and
    /// requeued ones waiting for redelivery (including delayed ones).
    pub ready: usize,
    /// Deliveries not yet acked, nacked or expired.
    pub in_flight: usize,
    /// Messages in the dead letters, not yet taken.
    pub dead_letters: usize,
    /// Total messages published.
    pub published: u64,
    /// Total deliveries, first ones and redeliveries.
    pub delivered: u64,
    /// Total redeliveries (deliveries with `delivery_count() > 1`).
    pub redelivered: u64,
    /// Total acks.
    pub acked: u64,
    /// Total nacks, counting deliveries dropped without a settle (an
    /// implicit nack with requeue).
    pub nacked: u64,
    /// Total leases that expired.
    pub expired: u64,
    /// Total messages moved to the dead letters.
    pub dead_lettered: u64,
    /// How long ago the oldest delivery still in flight was handed out,
    /// on the queue's clock; `None` when nothing is in flight.
    ///
    /// A queue with a lease (or a delayed requeue waiting) reads its clock
    /// on every receive, and the age is exact. Without one, receives read
    /// no clock, and a delivery's age counts from the first `stats` call
    /// that sees it in flight: polled regularly, the figure is short by at
    /// most the polling interval.
    pub oldest_in_flight: Option<Duration>,
}

/// The totals, one cache line each: different threads bump different
/// counters at once.
pub(crate) struct Counters {
    pub(crate) redelivered: CachePadded<AtomicU64>,
    /// Delivered messages `drain` took out (acked = places released less
    /// these and the dead-lettered).
    pub(crate) drained_delivered: CachePadded<AtomicU64>,
    pub(crate) nacked: CachePadded<AtomicU64>,
    pub(crate) expired: CachePadded<AtomicU64>,
    pub(crate) dead_lettered: CachePadded<AtomicU64>,
    /// Dead letters taken out (by `try_receive_dead_letter` or `drain`).
    pub(crate) dead_taken: CachePadded<AtomicU64>,
    /// Fresh messages `drain` took out (they hold no prefetch place).
    pub(crate) drained: CachePadded<AtomicU64>,
}

impl Counters {
    pub(crate) fn new() -> Self {
        Self {
            redelivered: CachePadded::new(AtomicU64::new(0)),
            drained_delivered: CachePadded::new(AtomicU64::new(0)),
            nacked: CachePadded::new(AtomicU64::new(0)),
            expired: CachePadded::new(AtomicU64::new(0)),
            dead_lettered: CachePadded::new(AtomicU64::new(0)),
            dead_taken: CachePadded::new(AtomicU64::new(0)),
            drained: CachePadded::new(AtomicU64::new(0)),
        }
    }
}

/// Adds one to a counter.
#[inline]
pub(crate) fn bump(counter: &AtomicU64) {
    // Relaxed: a statistic; nothing is published through it.
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Reads a counter.
#[inline]
pub(crate) fn read(counter: &AtomicU64) -> u64 {
    // Relaxed: a statistic, as in `bump`.
    counter.load(Ordering::Relaxed)
}
