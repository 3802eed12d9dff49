//! Leases without a background thread: the amortized scan that requeues
//! expired deliveries and readies due delayed requeues.

use super::entry::{Phase, State};
use super::AckQueue;
use crate::stats;
use crate::sync::Ordering;

/// Entries each `try_receive` checks for expiry.
pub(super) const SCAN_STEP: usize = 2;

impl<T> AckQueue<T> {
    /// Forces a pass over every entry: expired leases are requeued (or
    /// dead-lettered at `max_deliveries`) and due delayed requeues are
    /// readied. Returns how many messages it moved. `try_receive` does the
    /// same, a little at a time, on its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let q = AckQueue::builder()
    ///     .lease(Duration::from_secs(1))
    ///     .clock(clock.clone())
    ///     .build()
    ///     .unwrap();
    /// q.try_publish(()).unwrap();
    /// let tag = q.try_receive().unwrap().detach();
    /// assert_eq!(q.requeue_expired(), 0);
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(q.requeue_expired(), 1);
    /// assert_eq!(q.ack(tag), Err(ackring::AckError::Stale));
    /// ```
    pub fn requeue_expired(&self) -> usize {
        self.scan_all(self.now())
    }

    /// Checks the next `SCAN_STEP` entries, paced by the clock.
    ///
    /// While no delayed requeue is pending, it runs at most one step per
    /// `scan_interval`. So a pass over the whole table takes about a
    /// quarter of the lease, and an expired lease is found within that
    /// while messages keep flowing. When receivers run dry it is found at
    /// once: `try_receive` then scans everything. Receives in between only
    /// read `scan_due`, a line written once per interval. Delayed requeues,
    /// whose delays may be much shorter than the lease, turn the pacing off
    /// until they are due.
    pub(super) fn scan_step(&self, now: u64) {
        // Relaxed: a hint, as in `timed`.
        if self.delayed.load(Ordering::Relaxed) == 0 {
            // Relaxed: the pacing carries no data; which receiver scans
            // does not matter.
            let due = self.scan_due.load(Ordering::Relaxed);
            if now < due
                || self
                    .scan_due
                    .compare_exchange(
                        due,
                        now.saturating_add(self.scan_interval),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_err()
            {
                return;
            }
        }
        let len = self.table.len();
        // Relaxed: only spreads the scan over the table.
        let start = self.scan_cursor.fetch_add(SCAN_STEP, Ordering::Relaxed);
        for k in 0..SCAN_STEP.min(len) {
            self.scan_entry((start.wrapping_add(k) % len) as u32, now);
        }
    }

    /// The full pass a receive that found nothing makes before it says so
    /// ([`scan_all`](AckQueue::scan_all)), skipped when nothing can be due:
    /// no delayed requeue pending and no delivery holding a prefetch place
    /// (every `InFlight` entry holds one). A receive polling an idle queue
    /// then costs a few loads, not a pass over the table.
    pub(super) fn scan_when_dry(&self, now: u64) -> usize {
        // Relaxed: a hint, as in `timed`.
        if self.delayed.load(Ordering::Relaxed) == 0 && self.places_held() == 0 {
            return 0;
        }
        self.scan_all(now)
    }

    pub(super) fn scan_all(&self, now: u64) -> usize {
        (0..self.table.len() as u32)
            .filter(|&i| self.scan_entry(i, now))
            .count()
    }

    /// Expires the entry's lease, or readies its delayed requeue, if due;
    /// returns whether it moved the message.
    fn scan_entry(&self, index: u32, now: u64) -> bool {
        let entry = self.table.get(index);
        // Acquire: pairs with the Release/AcqRel write of this state, so
        // the deadline we read next is at least as new as the state.
        let state = State(entry.state.load(Ordering::Acquire));
        match state.phase() {
            Phase::InFlight if self.lease.is_some() => {
                // Relaxed: ordered by the Acquire above; if an extension
                // wrote a later deadline since, it counted an extension and our
                // CAS fails.
                if entry.deadline.load(Ordering::Relaxed) > now {
                    return false;
                }
                let count = entry.delivery_count(state);
                let exhausted = count >= self.max_deliveries;
                // The redelivery policy's delay (Relaxed reads inside, as
                // the deadline's).
                let delay = self.requeue_delay(entry, count, None);
                let new = if exhausted {
                    Self::dead_state(state, state.holders(), true).with_flags(true, true)
                } else if delay == 0 {
                    state.with_phase(Phase::Redeliver).with_flags(true, false)
                } else {
                    state.with_phase(Phase::Delaying).with_flags(true, false)
                };
                // Relaxed: races the settles' CAS out of `InFlight`, and
                // exactly one wins; that needs only the word's modification
                // order. It succeeds only on the very state the Acquire
                // load above read, so what we read since is that state's.
                // The next owner gets the entry through the redelivery or
                // dead ring, whose push (Release) and pop (Acquire) carry
                // what we saw.
                if entry
                    .state
                    .compare_exchange(state.0, new.0, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
                {
                    return false;
                }
                stats::bump(&self.counters.expired);
                if exhausted {
                    self.dead_lettered(index, new);
                } else if delay == 0 {
                    self.redeliver.push(index);
                } else {
                    // Ours in `Delaying` (our CAS): due after the policy's
                    // delay; a later scan readies it, and nobody needs a
                    // wake-up now.
                    self.delay_owned(entry, delay);
                    return true;
                }
                self.ready.notify(1);
                true
            }
            Phase::Delayed if Self::is_scheduled(state) => {
                // Relaxed: as below; the scheduler wrote it before its
                // Release store of `Delayed`.
                entry.deadline.load(Ordering::Relaxed) <= now && self.publish_due(now) > 0
            }
            Phase::Delayed => {
                // Relaxed: as above; the nacker wrote it before its Release
                // CAS into `Delayed`.
                if entry.deadline.load(Ordering::Relaxed) > now {
                    return false;
                }
                let new = state.with_phase(Phase::Redeliver);
                // Relaxed: only old holders race us, by decrementing, which
                // fails our CAS; a success is on the state the Acquire load
                // above read, and the redelivery ring hands the entry on
                // (as for an expiry).
                if entry
                    .state
                    .compare_exchange(state.0, new.0, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
                {
                    return false;
                }
                // Relaxed: a count (see `delayed`).
                self.delayed.fetch_sub(1, Ordering::Relaxed);
                self.redeliver.push(index);
                self.ready.notify(1);
                true
            }
            _ => false,
        }
    }
}
