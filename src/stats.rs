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
/// - Its length: what waits, what is in flight, what is delayed, what is
///   dead, and how old the oldest waiting and in-flight messages are.
/// - Its cumulative counters, which [`rates`](Stats::rates) turns into
///   throughput between two snapshots.
///
/// The counts "now" are read one after another while other threads work,
/// so under concurrency they are approximate; once the queue is quiescent
/// they are exact, and the accounting identity holds:
///
/// `published == acked + dead_taken + drained + dropped + unsettled()`.
///
/// # Examples
///
/// ```
/// use ackring::AckQueue;
///
/// let q = AckQueue::builder().build().unwrap();
/// q.try_publish("job").unwrap();
/// q.try_publish("next").unwrap();
/// q.try_receive().unwrap().ack().unwrap();
/// let stats = q.stats();
/// assert_eq!((stats.published, stats.delivered, stats.acked), (2, 1, 1));
/// assert_eq!((stats.waiting, stats.in_flight), (1, 0));
/// assert_eq!(
///     stats.published,
///     stats.acked + stats.dead_taken + stats.drained + stats.dropped + stats.unsettled()
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages ready to be delivered now or later: `waiting` plus
    /// `delayed` (not the `scheduled` publishes, not yet published).
    pub ready: usize,
    /// Messages a receive may take now: fresh ones waiting for their
    /// first delivery, and requeued ones waiting for redelivery.
    pub waiting: usize,
    /// Requeued messages waiting out a delay
    /// ([`nack_after`](crate::Delivery::nack_after), or the queue's
    /// [`Redelivery`](crate::Redelivery) policy) before redelivery.
    pub delayed: usize,
    /// Delayed publishes waiting for their due time
    /// ([`try_publish_after`](crate::AckQueue::try_publish_after)): not
    /// published yet, so outside every other count until they are due.
    pub scheduled: usize,
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
    /// Total messages whose time to live ran out before their first
    /// delivery ([`AckQueueBuilder::ttl`](crate::AckQueueBuilder::ttl)):
    /// dead-lettered (counted in `dead_lettered` too) or, with
    /// [`drop_expired`](crate::AckQueueBuilder::drop_expired), `dropped`.
    pub ttl_expired: u64,
    /// Total expired messages dropped rather than dead-lettered.
    pub dropped: u64,
    /// Total messages moved to the dead letters.
    pub dead_lettered: u64,
    /// Total dead letters taken out (by `try_receive_dead_letter` or
    /// `drain`).
    pub dead_taken: u64,
    /// Total messages `drain` took out that were not dead letters
    /// (waiting, requeued or delayed ones).
    pub drained: u64,
    /// How long ago the oldest message waiting to be received was
    /// published, on the queue's clock; `None` when nothing waits.
    ///
    /// A queue that records latency
    /// ([`AckQueueBuilder::latency`](crate::AckQueueBuilder::latency))
    /// keeps each message's publish time, and the age is exact, requeued
    /// messages included. Without, publishes read no clock. The age of the
    /// oldest message waiting for its first delivery then counts from the
    /// first `stats` call that sees it waiting, as
    /// [`oldest_in_flight`](Stats::oldest_in_flight) does. Polled
    /// regularly, the figure is short by at most the polling interval.
    pub oldest_waiting: Option<Duration>,
    /// How long ago the oldest delivery still in flight was handed out,
    /// on the queue's clock; `None` when nothing is in flight.
    ///
    /// A queue with a lease, a delayed requeue waiting, or latency
    /// recording reads its clock on every receive, and the age is exact.
    /// Without, receives read no clock, and a delivery's age counts from
    /// the first `stats` call that sees it in flight: polled regularly,
    /// the figure is short by at most the polling interval.
    pub oldest_in_flight: Option<Duration>,
    /// When the snapshot was taken, on the queue's clock: what
    /// [`rates`](Stats::rates) divides by.
    pub taken_at: Duration,
}

impl Stats {
    /// The messages published and not settled: waiting, delayed, in
    /// flight or dead letters.
    pub fn unsettled(&self) -> u64 {
        (self.waiting + self.delayed + self.in_flight + self.dead_letters) as u64
    }

    /// The throughput between `earlier`, a snapshot of the same queue,
    /// and this one: each counter's increase divided by the time between
    /// the two ([`taken_at`](Stats::taken_at)), per second. All zero when
    /// no time passed on the queue's clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let q = AckQueue::builder().clock(clock.clone()).build().unwrap();
    /// let before = q.stats();
    /// for i in 0..10 {
    ///     q.try_publish(i).unwrap();
    /// }
    /// clock.advance(Duration::from_secs(2));
    /// let rates = q.stats().rates(&before);
    /// assert_eq!(rates.published, 5.0); // 10 in 2 s
    /// assert_eq!(rates.acked, 0.0);
    /// ```
    pub fn rates(&self, earlier: &Stats) -> Rates {
        let secs = self.taken_at.saturating_sub(earlier.taken_at).as_secs_f64();
        let per_sec = |now: u64, then: u64| {
            if secs > 0.0 {
                now.saturating_sub(then) as f64 / secs
            } else {
                0.0
            }
        };
        Rates {
            published: per_sec(self.published, earlier.published),
            delivered: per_sec(self.delivered, earlier.delivered),
            redelivered: per_sec(self.redelivered, earlier.redelivered),
            acked: per_sec(self.acked, earlier.acked),
            nacked: per_sec(self.nacked, earlier.nacked),
            expired: per_sec(self.expired, earlier.expired),
            ttl_expired: per_sec(self.ttl_expired, earlier.ttl_expired),
            dead_lettered: per_sec(self.dead_lettered, earlier.dead_lettered),
            elapsed: self.taken_at.saturating_sub(earlier.taken_at),
        }
    }
}

/// Events per second between two [`Stats`] snapshots, from
/// [`Stats::rates`]: each field is the rate of the counter of the same
/// name.
///
/// # Examples
///
/// ```
/// use ackring::Stats;
/// use std::time::Duration;
///
/// let before = Stats::default();
/// let after = Stats { acked: 300, taken_at: Duration::from_secs(3), ..before };
/// assert_eq!(after.rates(&before).acked, 100.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rates {
    /// Publishes per second.
    pub published: f64,
    /// Deliveries per second, first ones and redeliveries.
    pub delivered: f64,
    /// Redeliveries per second.
    pub redelivered: f64,
    /// Acks per second.
    pub acked: f64,
    /// Nacks per second.
    pub nacked: f64,
    /// Lease expiries per second.
    pub expired: f64,
    /// Messages whose time to live ran out, per second.
    pub ttl_expired: f64,
    /// Dead-letterings per second.
    pub dead_lettered: f64,
    /// The time between the two snapshots.
    pub elapsed: Duration,
}

/// The totals, one cache line each: different threads bump different
/// counters at once.
pub(crate) struct Counters {
    pub(crate) redelivered: CachePadded<AtomicU64>,
    /// Delivered messages `drain` took out (acked = places given back less
    /// these and the dead-lettered).
    pub(crate) drained_delivered: CachePadded<AtomicU64>,
    pub(crate) nacked: CachePadded<AtomicU64>,
    pub(crate) expired: CachePadded<AtomicU64>,
    /// Messages whose time to live ran out before their first delivery.
    pub(crate) ttl_expired: CachePadded<AtomicU64>,
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
            ttl_expired: CachePadded::new(AtomicU64::new(0)),
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
