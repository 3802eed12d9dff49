//! Latency recording, opt-in per queue ([`AckQueueBuilder::latency`]):
//! how long each message waited for its first delivery, how long each
//! delivery was processed, how long each message took from publish to
//! ack, and how many deliveries each acked message took, as histograms
//! ([`LatencySnapshot`]).
//!
//! With it on, each step reads the clock once and makes one or three
//! histogram `fetch_add`s:
//!
//! - a publish stores the time beside the message in its fresh slot
//!   (`fresh.rs`);
//! - a receive stamps the delivery, as a queue with a lease does, and
//!   records the waiting time;
//! - a settle records the rest.
//!
//! With it off, each step tests one field that never changes and reads
//! no clock.
//!
//! [`AckQueueBuilder::latency`]: crate::AckQueueBuilder::latency

use super::entry::{Entry, State};
use super::receive::UNSTAMPED;
use super::{AckQueue, Delivery, Settle};
use crate::histogram::{Histogram, HistogramSnapshot};
use crate::sync::Ordering;

/// The histograms of one queue.
pub(crate) struct Latency {
    waiting: Histogram,
    processing: Histogram,
    end_to_end: Histogram,
    delivery_count: Histogram,
}

impl Latency {
    pub(crate) fn new() -> Self {
        Self {
            waiting: Histogram::new(),
            processing: Histogram::new(),
            end_to_end: Histogram::new(),
            delivery_count: Histogram::new(),
        }
    }
}

/// What a settle needs of its entry to record its latencies, read while
/// its attempt is current: when the delivery was handed out, when the
/// message was published, its delivery count.
#[derive(Clone, Copy)]
pub(super) struct Timing {
    delivered_at: u64,
    published_at: u64,
    count: u32,
}

/// The latency histograms of a queue at one time, from
/// [`AckQueue::latency`]. Times are in nanoseconds on the queue's clock.
///
/// # Examples
///
/// ```
/// use ackring::{AckQueue, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let q = AckQueue::builder().clock(clock.clone()).latency(true).build().unwrap();
/// q.try_publish("job").unwrap();
/// clock.advance(Duration::from_millis(2)); // waits 2 ms
/// let d = q.try_receive().unwrap();
/// clock.advance(Duration::from_millis(3)); // processed for 3 ms
/// d.ack().unwrap();
/// let l = q.latency().unwrap();
/// assert_eq!(l.end_to_end.count(), 1);
/// // Within the histogram's precision (1/32) of 5 ms:
/// assert!(l.end_to_end.max().abs_diff(5_000_000) <= 5_000_000 / 32);
/// assert_eq!(l.delivery_count.max(), 1); // exact below 16
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LatencySnapshot {
    /// From publish to first delivery, per message delivered.
    pub waiting: HistogramSnapshot,
    /// From a delivery to its settle by its holder (ack, nack, reject,
    /// requeue, by the guard or by tag), per delivery settled. Deliveries
    /// whose lease expired, or that `drain` took, are not counted.
    pub processing: HistogramSnapshot,
    /// From publish to ack, per message acked.
    pub end_to_end: HistogramSnapshot,
    /// The delivery count of each message acked (1: acked at its first
    /// delivery).
    pub delivery_count: HistogramSnapshot,
}

impl LatencySnapshot {
    /// What was recorded since `earlier`, a snapshot of the same queue
    /// taken before this one: the latencies of an interval.
    pub fn since(&self, earlier: &LatencySnapshot) -> LatencySnapshot {
        LatencySnapshot {
            waiting: self.waiting.since(&earlier.waiting),
            processing: self.processing.since(&earlier.processing),
            end_to_end: self.end_to_end.since(&earlier.end_to_end),
            delivery_count: self.delivery_count.since(&earlier.delivery_count),
        }
    }
}

impl<T> AckQueue<T> {
    /// The latency histograms, if the queue records them
    /// ([`AckQueueBuilder::latency`](crate::AckQueueBuilder::latency));
    /// `None` otherwise. Copies about 32 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::<u8>::builder().build().unwrap();
    /// assert!(q.latency().is_none()); // off unless asked for
    /// ```
    pub fn latency(&self) -> Option<LatencySnapshot> {
        let l = self.latency.as_deref()?;
        Some(LatencySnapshot {
            waiting: l.waiting.snapshot(),
            processing: l.processing.snapshot(),
            end_to_end: l.end_to_end.snapshot(),
            delivery_count: l.delivery_count.snapshot(),
        })
    }

    /// Whether latency is recorded.
    #[inline(always)]
    pub(crate) fn records_latency(&self) -> bool {
        self.latency.is_some()
    }

    /// `try_receive` without a lease or a delayed requeue, with latency
    /// recorded: stamps the delivery with the clock (no scan: nothing can
    /// expire).
    #[inline(never)]
    pub(super) fn try_receive_stamped(&self) -> Option<Delivery<'_, T>> {
        let now = self.now();
        if let Some(d) = self.take_redelivery(now) {
            return Some(d);
        }
        self.take_fresh(now)
    }

    /// The clock reading a receive without a lease or a delayed requeue
    /// stamps its deliveries with: none (`UNSTAMPED`) unless latency is
    /// recorded.
    #[inline(always)]
    pub(super) fn receive_stamp(&self) -> u64 {
        if self.latency.is_none() {
            UNSTAMPED
        } else {
            self.now()
        }
    }

    /// For a first delivery at `now` (a clock reading) of the message at
    /// fresh position `pos` into `entry`, which the caller owns and
    /// publishes later: records the waiting time and keeps the publish
    /// time in the entry.
    #[inline(always)]
    pub(super) fn note_first_delivery(&self, entry: &Entry<T>, pos: u64, now: u64) {
        if let Some(l) = self.latency.as_deref() {
            self.record_first_delivery(l, entry, pos, now);
        }
    }

    #[inline(never)]
    fn record_first_delivery(&self, l: &Latency, entry: &Entry<T>, pos: u64, now: u64) {
        let published_at = self.fresh.publish_time(pos);
        // Relaxed: published with the entry's other fields by the
        // receive's Release store of the state.
        entry.published_at.store(published_at, Ordering::Relaxed);
        l.waiting.record(now.saturating_sub(published_at));
    }

    /// The timing fields of `entry`, whose `state` the caller just read
    /// and whose attempt it is about to settle; `None` unless latency is
    /// recorded.
    #[inline(always)]
    pub(super) fn settle_timing(&self, entry: &Entry<T>, state: State) -> Option<Timing> {
        self.latency.as_ref()?;
        // Relaxed: written by the receive of the attempt, before the state
        // the caller read (which it read after that receive, or checks by
        // its CAS), as `Entry`'s other fields.
        Some(Timing {
            delivered_at: entry.delivered_at.load(Ordering::Relaxed),
            published_at: entry.published_at.load(Ordering::Relaxed),
            count: entry.delivery_count(state),
        })
    }

    /// Records a settle (`how`) of a delivery whose entry's fields were
    /// `timing`, which succeeded.
    #[inline(always)]
    pub(super) fn note_settle(&self, timing: Option<Timing>, how: Settle) {
        if let (Some(l), Some(t)) = (self.latency.as_deref(), timing) {
            self.record_settle(l, t, matches!(how, Settle::Ack));
        }
    }

    #[inline(never)]
    fn record_settle(&self, l: &Latency, t: Timing, acked: bool) {
        let now = self.now();
        if t.delivered_at != UNSTAMPED {
            l.processing.record(now.saturating_sub(t.delivered_at));
        }
        if acked {
            l.end_to_end.record(now.saturating_sub(t.published_at));
            l.delivery_count.record(u64::from(t.count));
        }
    }
}
