//! Message time to live: a message not delivered before its time to live
//! runs out goes to the dead letters ([`DeadReason::Expired`]), or is
//! dropped if the queue was built so.
//!
//! The time to live counts from the publish to the **first delivery**.
//! What expires is a message nobody has started on: a quote, a cache
//! refresh worth processing only while fresh. Once a consumer holds it,
//! the lease and the delivery count govern it, and a requeue does not
//! expire it. A message half processed when its holder failed is not
//! worth less for it, and expiring it there would race the consumer's
//! settle. This is RabbitMQ's rule too (`x-message-ttl`, `expiration`:
//! a message expires while it waits in the queue), so the two backends
//! agree.
//!
//! Each fresh slot holds, beside its message, the clock reading at which
//! it expires (`Fresh`'s `Stamped`). The publish writes it before the
//! slot's Release stamp store, like the message itself. A receive that
//! claims a position on `head` reads it with the message. An expired
//! message is either
//!
//! - moved into the entry the receive claimed, as a dead letter with
//!   delivery count 0 (which is how a dead letter tells it expired), or
//! - dropped,
//!
//! and the receive goes on to the next message. So expiry costs no scan
//! and no thread. An expired message leaves the queue when a receiver
//! reaches it (as in RabbitMQ, where only the queue's head expires), and
//! until then holds its fresh slot.
//!
//! [`DeadReason::Expired`]: crate::DeadReason::Expired

use core::time::Duration;

use super::entry::{Phase, State};
use super::fresh::NEVER;
use super::receive::UNSTAMPED;
use super::{clock, AckQueue, Seq};
use crate::error::PushError;
use crate::stats;
use crate::sync::Ordering;
use crate::wait::ALL;

impl<T> AckQueue<T> {
    /// Publishes `msg` to expire if it is not delivered within `ttl` (on
    /// the queue's clock), without waiting; otherwise as
    /// [`try_publish`](AckQueue::try_publish). The message's own time to
    /// live replaces the queue's
    /// ([`AckQueueBuilder::ttl`](crate::AckQueueBuilder::ttl)).
    ///
    /// # Errors
    ///
    /// As [`try_publish`](AckQueue::try_publish).
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, DeadReason, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let q = AckQueue::builder().clock(clock.clone()).build().unwrap();
    /// q.try_publish_with_ttl("quote", Duration::from_millis(100)).unwrap();
    /// q.try_publish("order").unwrap();
    /// clock.advance(Duration::from_millis(100));
    /// assert_eq!(*q.try_receive().unwrap(), "order"); // the quote expired
    /// let dead = q.try_receive_dead_letter().unwrap();
    /// assert_eq!(dead.reason(), DeadReason::Expired);
    /// assert_eq!((dead.delivery_count(), *dead), (0, "quote"));
    /// ```
    pub fn try_publish_with_ttl(&self, msg: T, ttl: Duration) -> Result<Seq, PushError<T>> {
        let expires = self.now().saturating_add(clock::nanos(ttl));
        let pos = self.push_fresh(msg, expires)?;
        // Keyed by the `tail` CAS in `try_push` (the `wait` module docs).
        self.ready.notify_keyed(1);
        Ok(Seq(self.fresh.laps().count(pos)))
    }

    /// Publishes `msg` with a time to live of `ttl`, waiting for room as
    /// [`publish`](AckQueue::publish) does. The time to live counts from
    /// the call.
    ///
    /// # Errors
    ///
    /// As [`publish`](AckQueue::publish).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let q = ackring::AckQueue::builder().build().unwrap();
    /// q.publish_with_ttl(1, Duration::from_secs(60)).unwrap();
    /// q.receive().unwrap().ack().unwrap();
    /// ```
    pub fn publish_with_ttl(&self, msg: T, ttl: Duration) -> Result<Seq, PushError<T>> {
        let expires = self.now().saturating_add(clock::nanos(ttl));
        let publish = |msg| {
            let pos = self.push_fresh(msg, expires)?;
            self.ready.notify_keyed(1);
            Ok(Seq(self.fresh.laps().count(pos)))
        };
        let msg = match publish(msg) {
            Err(PushError::Full(msg)) => msg,
            other => return other,
        };
        // As `publish`: receives notify by key (`head`).
        self.wait_to_send(&self.room, msg, publish, || self.fresh.full_by_head())
    }

    /// How many expired messages were dropped (on a queue built with
    /// [`drop_expired`](crate::AckQueueBuilder::drop_expired)); they count
    /// as settled. A snapshot.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let q = AckQueue::builder()
    ///     .ttl(Duration::from_secs(1))
    ///     .drop_expired(true)
    ///     .clock(clock.clone())
    ///     .build()
    ///     .unwrap();
    /// let seq = q.try_publish(1).unwrap();
    /// clock.advance(Duration::from_secs(1));
    /// assert!(q.try_receive().is_none());
    /// assert_eq!(q.dropped_expired(), 1);
    /// assert!(q.is_settled(seq));
    /// ```
    pub fn dropped_expired(&self) -> u64 {
        // Relaxed: a statistic.
        self.dropped_expired.load(Ordering::Relaxed)
    }

    /// The `expires` of a message published now without a time to live of
    /// its own: the queue's, if any (one branch and no clock reading on a
    /// queue without one).
    #[inline(always)]
    pub(super) fn expiry(&self) -> u64 {
        match self.ttl {
            None => NEVER,
            Some(ttl) => self.expiry_after(ttl),
        }
    }

    /// `now + ttl`: the clock reading, out of the publish's line.
    #[inline(never)]
    fn expiry_after(&self, ttl: u64) -> u64 {
        self.now().saturating_add(ttl)
    }

    /// Whether a message that expires at `expires` has expired at `now`
    /// (`UNSTAMPED`: the caller read no clock, so read it here).
    #[inline]
    pub(super) fn has_expired(&self, expires: u64, now: u64) -> bool {
        let now = if now == UNSTAMPED { self.now() } else { now };
        now >= expires
    }

    /// A receive found message `msg` (sequence number `seq`, fresh
    /// position `pos`) expired. This dead-letters it in entry `index`,
    /// which the receive claimed in state `free`, or drops it and makes a
    /// claimed spare `Free` again. Then it frees the fresh slot and gives
    /// back the prefetch place the receive took.
    ///
    /// # Safety
    ///
    /// The caller claimed entry `index` (`claim_home` or `claim_spare`,
    /// which returned `free`) and position `pos`, and took `msg` from it.
    #[cold]
    pub(super) unsafe fn expire_fresh(&self, pos: u64, seq: u64, index: u32, free: State, msg: T) {
        stats::bump(&self.counters.ttl_expired);
        let entry = self.table.get(index);
        if self.drop_expired {
            if index >= self.table.homes() {
                // Release: a spare we moved to `Receiving`, free again at
                // its generation; pairs with the next claim's Acquire CAS
                // (nothing was written to it).
                entry.state.store(free.0, Ordering::Release);
            }
            // After the slot is free the message counts as settled (the
            // confirmations); then its prefetch place goes back.
            self.fresh.free(pos);
            self.give_back_place();
            // Relaxed: a statistic.
            self.dropped_expired.fetch_add(1, Ordering::Relaxed);
            self.ready.notify(1);
            self.settled.notify(ALL);
            drop(msg);
            return;
        }
        // SAFETY: the entry is ours (the caller's contract) and its value
        // uninitialized: whoever made it `Free` moved the previous value
        // out first, which the claim's Acquire load or CAS saw.
        entry.value.with_mut(|p| unsafe { (*p).write(msg) });
        // Relaxed writes: published by the Release store below. A dead
        // letter with delivery count 0 expired (`try_receive_dead_letter`).
        entry.seq.store(seq, Ordering::Relaxed);
        entry.delivery_count.store(0, Ordering::Relaxed);
        let state = free.with_phase(Phase::Dead).with_attempt(0);
        // Release: publishes the value and the fields, as a delivery's
        // store of `InFlight` does; pairs with the Acquire loads of the
        // confirmations and the dead ring's pop.
        entry.state.store(state.0, Ordering::Release);
        // After the state store: whoever sees the slot free sees the
        // message in the table (module docs, "Confirmations").
        self.fresh.free(pos);
        self.dead_lettered(index, state);
        // The prefetch place the receive took is back (or kept by an
        // overflowing dead letter): one receiver may use it.
        self.ready.notify(1);
    }
}
