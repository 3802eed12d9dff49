//! Publishing: a message enters the fresh ring and waits there for its
//! first delivery.

use super::fresh::NEVER;
use super::{AckQueue, Seq};
use crate::error::PushError;
use crate::wait::WaitStrategy;

impl<T> AckQueue<T> {
    /// Publishes `msg` if fewer than [`capacity`](AckQueue::capacity)
    /// messages wait for their first delivery, without waiting.
    ///
    /// Messages already delivered (in flight, requeued, delayed, dead
    /// letters) do not count: a message held for a long time by a slow
    /// consumer never holds back a publish.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] when `capacity` messages wait;
    /// [`PushError::Closed`] after [`close`](AckQueue::close). Either
    /// way the message comes back inside the error.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().capacity(1).build().unwrap();
    /// assert_eq!(q.try_publish(1).unwrap().get(), 0);
    /// assert_eq!(q.try_publish(2).unwrap_err().into_inner(), 2);
    /// let held = q.try_receive().unwrap(); // delivered: no longer waiting
    /// assert_eq!(q.try_publish(3).unwrap().get(), 1);
    /// held.ack().unwrap();
    /// ```
    #[inline]
    pub fn try_publish(&self, msg: T) -> Result<Seq, PushError<T>> {
        if self.publish_reads_clock {
            return self.try_publish_timed(msg);
        }
        let pos = self.fresh.try_push(msg, NEVER)?;
        // Keyed by the `tail` CAS in `try_push` (the `wait` module docs).
        self.ready.notify_keyed(1);
        Ok(Seq(self.fresh.laps().count(pos)))
    }

    /// `try_publish` with a time to live or latency recorded: the message's
    /// expiry and publish time go with it (`ttl.rs`, `latency.rs`).
    #[inline(never)]
    fn try_publish_timed(&self, msg: T) -> Result<Seq, PushError<T>> {
        let pos = self.push_fresh(msg, self.expiry())?;
        // Keyed by the `tail` CAS in `try_push_timed`, as above.
        self.ready.notify_keyed(1);
        Ok(Seq(self.fresh.laps().count(pos)))
    }

    /// Pushes `msg`, expiring at `expires`, into the fresh ring, with its
    /// publish time where the ring keeps them (latency recorded): the
    /// push of every publish but `try_publish`'s inlined one.
    pub(super) fn push_fresh(&self, msg: T, expires: u64) -> Result<u64, PushError<T>> {
        if self.fresh.keeps_publish_times() {
            self.fresh.try_push_timed(msg, expires, self.now())
        } else {
            self.fresh.try_push(msg, expires)
        }
    }

    /// Publishes `msg`, waiting for room while `capacity` messages wait
    /// for their first delivery, with the queue's
    /// [wait strategy](crate::AckQueueBuilder::wait_strategy).
    ///
    /// # Errors
    ///
    /// [`PushError::Closed`], with the message, if the queue is or
    /// gets closed before there is room.
    pub fn publish(&self, msg: T) -> Result<Seq, PushError<T>> {
        let msg = match self.try_publish(msg) {
            Err(PushError::Full(msg)) => msg,
            other => return other,
        };
        self.fresh
            .wait_for_room_ahead(self.wait_strategy() == WaitStrategy::Spin);
        // Receives notify by key (`head`), which the sleep check reads: a
        // slot whose receive is under way is waited for awake.
        self.wait_to_send(
            &self.room,
            msg,
            |msg| self.try_publish(msg),
            || self.fresh.full_by_head(),
        )
    }
}
