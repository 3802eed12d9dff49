//! Confirmations: whether one message is settled (`is_settled`), and the
//! watermark below which all are (`settled_below`), with a wait for each.
//!
//! Both rest on one fact (module docs of `ack`): a receive frees a
//! message's fresh slot only after its entry is `InFlight`. So a message
//! whose slot reads freed (Acquire) is in the table, where the caller then
//! looks, or settled.

use core::time::Duration;

use super::entry::{Entry, State};
use super::fresh::Whereabouts;
use super::{AckQueue, Seq};
use crate::sync::Ordering;
use crate::wait;

impl<T> AckQueue<T> {
    /// The sequence number of the unsettled message the entry holds, or
    /// `None` if it holds none.
    ///
    /// If the entry moves on between the two loads, the number read is that
    /// of a later message of the entry, claimed and unsettled at some
    /// instant of the call. Reporting it unsettled holds at that instant.
    /// The message seen in the state was settled (its entry freed) before.
    /// So either answer is one the table gave during the call.
    fn unsettled_seq(entry: &Entry<T>) -> Option<u64> {
        // Acquire: pairs with the receiver's Release store of `InFlight`
        // (and the AcqRel CASes after it), so the `seq` written before it
        // is visible, and with the free before it, so a settled message is
        // not seen unsettled.
        let state = State(entry.state.load(Ordering::Acquire));
        // Relaxed: ordered after the state by the Acquire above (see the
        // doc comment for a later value).
        state
            .phase()
            .unsettled()
            .then(|| entry.seq.load(Ordering::Relaxed))
    }

    /// Whether the message `seq` names is settled: acked, taken from the
    /// dead letters, or handed back by [`drain`](AckQueue::drain). Answers
    /// for that one message, whatever older messages are doing (see
    /// [`settled_below`](AckQueue::settled_below) for all older ones at
    /// once); `false` for a sequence number not published yet.
    ///
    /// Costs a few loads when the message is below the watermark, waiting,
    /// or in its home entry, and a pass over the table (no allocation)
    /// otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().build().unwrap();
    /// let a = q.try_publish("a").unwrap();
    /// let b = q.try_publish("b").unwrap();
    /// let da = q.try_receive().unwrap();
    /// let db = q.try_receive().unwrap();
    /// db.ack().unwrap();
    /// assert!(q.is_settled(b)); // settled before `a`
    /// assert!(!q.is_settled(a));
    /// da.ack().unwrap();
    /// assert!(q.is_settled(a));
    /// ```
    pub fn is_settled(&self, seq: Seq) -> bool {
        let laps = self.fresh.laps();
        let (tail, _) = self.fresh.tail();
        if seq.0 >= laps.count(tail) {
            return false;
        }
        // Acquire: pairs with the AcqRel fetch_max in `settled_below`.
        if seq.0 < self.below.load(Ordering::Acquire) {
            return true;
        }
        if self.fresh.whereabouts(laps.at_count(seq.0)) == Whereabouts::InSlot {
            return false;
        }
        let home = self.table.home(seq.0);
        let mut index = home;
        loop {
            if Self::unsettled_seq(self.table.get(index)) == Some(seq.0) {
                return false;
            }
            index = self.table.next(index);
            if index == home {
                return true;
            }
        }
    }

    /// Waits up to `timeout` (real time) until the message `seq` names is
    /// settled (see [`is_settled`](AckQueue::is_settled)); returns whether
    /// it was.
    pub fn wait_settled(&self, seq: Seq, timeout: Duration) -> bool {
        self.wait_for(
            &self.settled,
            wait::deadline_after(timeout),
            || {
                // Acks notify by key (`acked`): read first, so that the
                // look below sees every settle an ack counted there did.
                self.see_acks();
                self.is_settled(seq).then_some(())
            },
            || true,
        )
        .is_some()
    }

    /// The watermark: every message with a lower sequence number is
    /// settled (acked, taken from the dead letters, or handed back by
    /// [`drain`](AckQueue::drain)). One unsettled message holds it back,
    /// however many later ones are settled: ask
    /// [`is_settled`](AckQueue::is_settled) about one message.
    ///
    /// A pass over the table (no allocation).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().build().unwrap();
    /// let a = q.try_publish("a").unwrap();
    /// let b = q.try_publish("b").unwrap();
    /// let da = q.try_receive().unwrap();
    /// let db = q.try_receive().unwrap();
    /// db.ack().unwrap();
    /// assert_eq!(q.settled_below(), a); // a still in flight
    /// da.ack().unwrap();
    /// assert!(q.settled_below() > b);
    /// ```
    pub fn settled_below(&self) -> Seq {
        // The frontier first: every message below it is in the table (or
        // settled) by the time we look there.
        let mut below = self.fresh.laps().count(self.fresh.freed_below());
        for index in 0..self.table.len() as u32 {
            if let Some(seq) = Self::unsettled_seq(self.table.get(index)) {
                below = below.min(seq);
            }
        }
        // AcqRel: a reader of the cached value (`is_settled`) sees what we
        // saw settled. The watermark only grows.
        let cached = self.below.fetch_max(below, Ordering::AcqRel);
        Seq(cached.max(below))
    }

    /// Waits up to `timeout` (real time) until `seq` and every message
    /// before it are settled (the watermark passed it); returns whether
    /// they were.
    pub fn wait_settled_through(&self, seq: Seq, timeout: Duration) -> bool {
        self.wait_for(
            &self.settled,
            wait::deadline_after(timeout),
            || {
                // As in `wait_settled`.
                self.see_acks();
                (self.settled_below() > seq).then_some(())
            },
            || true,
        )
        .is_some()
    }
}
