//! [`AckQueue::stats`]: a snapshot of the queue's counts.

use core::time::Duration;

use super::entry::{Phase, State};
use super::receive::UNSTAMPED;
use super::AckQueue;
use crate::stats::{self, Stats};
use crate::sync::{AtomicU64, Ordering};

impl<T> AckQueue<T> {
    /// A snapshot of counts and totals (see [`Stats`]); scans the table
    /// for the oldest delivery (and, with latency recorded, the oldest
    /// requeued message).
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let q = AckQueue::builder().clock(clock.clone()).latency(true).build().unwrap();
    /// q.try_publish("a").unwrap();
    /// q.try_publish("b").unwrap();
    /// clock.advance(Duration::from_secs(1));
    /// let a = q.try_receive().unwrap();
    /// clock.advance(Duration::from_secs(2));
    /// let s = q.stats();
    /// assert_eq!((s.waiting, s.in_flight), (1, 1));
    /// assert_eq!(s.oldest_waiting, Some(Duration::from_secs(3))); // "b"
    /// assert_eq!(s.oldest_in_flight, Some(Duration::from_secs(2))); // "a"
    /// a.ack().unwrap();
    /// ```
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let laps = self.fresh.laps();
        let published = laps.count(self.fresh.tail().0);
        let taken = laps.count(self.fresh.head());
        let fresh = published.saturating_sub(taken) as usize;
        // Relaxed everywhere: statistics.
        let requeued = self.redeliver.len();
        // `delayed` counts the requeues waiting out a delay and the
        // delayed publishes, `scheduled` the latter.
        let scheduled = self.scheduled();
        let delayed = self
            .delayed
            .load(Ordering::Relaxed)
            .saturating_sub(scheduled);
        let now = self.now();
        let timed = self.latency.is_some();
        // The oldest publish time among the waiting messages: the fresh
        // ring's head, and (below) the requeued entries. Without publish
        // times, the first reading at which a `stats` call saw the head's
        // message waiting stands for it.
        let mut oldest_published = if timed {
            self.fresh.oldest_publish_time().filter(|_| fresh > 0)
        } else {
            (fresh > 0).then(|| self.waiting_seen.since(self.fresh.head(), now))
        };
        let mut in_flight = 0;
        // Acked while a guard still reads them: counted from the ack on.
        let mut acked_held = 0;
        let oldest = (0..self.table.len() as u32)
            .filter_map(|i| {
                let entry = self.table.get(i);
                let state = State(entry.state.load(Ordering::Relaxed));
                if state.phase() == Phase::Settled {
                    acked_held += 1;
                }
                if timed && state.phase() == Phase::Redeliver {
                    // Relaxed: a statistic, kept from the first delivery
                    // and written before the state store we read. A later
                    // store gives an age a little short, never a wrong
                    // message's older one: an entry is refilled only after
                    // this message is settled.
                    let at = entry.published_at.load(Ordering::Relaxed);
                    oldest_published = Some(oldest_published.map_or(at, |o: u64| o.min(at)));
                }
                if !matches!(state.phase(), Phase::InFlight | Phase::Extending) {
                    return None;
                }
                in_flight += 1;
                let at = entry.delivered_at.load(Ordering::Relaxed);
                if at == UNSTAMPED {
                    // Received without a clock reading: its age counts from
                    // now. Relaxed CAS: a statistic; if the entry was reused
                    // meanwhile, its new receiver stores `UNSTAMPED` (or a
                    // reading) after us or we stamp its delivery instead,
                    // both harmless to the queue.
                    let _ = entry.delivered_at.compare_exchange(
                        UNSTAMPED,
                        now,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                    return Some(0);
                }
                Some(now.saturating_sub(at))
            })
            .max()
            .map(Duration::from_nanos);
        let dead_lettered = stats::read(&c.dead_lettered);
        let drained = stats::read(&c.drained) + stats::read(&c.drained_delivered);
        // Taken from the fresh ring, never delivered.
        let ttl_expired = stats::read(&c.ttl_expired);
        Stats {
            ready: fresh + requeued + delayed,
            waiting: fresh + requeued,
            delayed,
            scheduled,
            in_flight,
            dead_letters: dead_lettered.saturating_sub(stats::read(&c.dead_taken)) as usize,
            published,
            delivered: taken.saturating_sub(stats::read(&c.drained) + ttl_expired)
                + stats::read(&c.redelivered),
            redelivered: stats::read(&c.redelivered),
            acked: stats::read(&self.acked) + acked_held,
            nacked: stats::read(&c.nacked),
            expired: stats::read(&c.expired),
            ttl_expired,
            dropped: self.dropped_expired(),
            dead_lettered,
            dead_taken: stats::read(&c.dead_taken),
            drained,
            oldest_waiting: oldest_published.map(|at| Duration::from_nanos(now.saturating_sub(at))),
            oldest_in_flight: oldest,
            taken_at: Duration::from_nanos(now),
        }
    }
}

/// The fresh ring's head position a `stats` call last saw with a message
/// waiting, and the clock reading then: while the head stays there, the
/// message at it has waited at least since then. What a queue without
/// publish times reports as the oldest waiting age (short by at most the
/// time between two `stats` calls).
pub(super) struct WaitingSeen {
    pos: AtomicU64,
    at: AtomicU64,
}

/// No position seen (positions count up from 0 and stay below it).
const UNSEEN: u64 = u64::MAX;

impl WaitingSeen {
    pub(super) fn new() -> Self {
        Self {
            pos: AtomicU64::new(UNSEEN),
            at: AtomicU64::new(0),
        }
    }

    /// The reading since which the message at `head` has been seen
    /// waiting, `now` if this call is the first to see it.
    fn since(&self, head: u64, now: u64) -> u64 {
        // Acquire: pairs with the Release store of the position below, so
        // the reading loaded next is the one stored with it or a later
        // one. A statistic: `stats` calls at once may pair a position with
        // another call's reading, off by the time between the two calls.
        let seen = self.pos.load(Ordering::Acquire);
        // Relaxed: ordered by the Acquire load above.
        let at = self.at.load(Ordering::Relaxed);
        if seen == head {
            return at.min(now);
        }
        // Relaxed: the position goes last, with Release.
        self.at.store(now, Ordering::Relaxed);
        self.pos.store(head, Ordering::Release);
        now
    }
}
