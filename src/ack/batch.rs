//! Batches: many deliveries received in one call, many settled in one call,
//! the way brokers batch (RabbitMQ's prefetch and `basic.ack(multiple)`,
//! SQS's `ReceiveMessage` of up to ten and `DeleteMessageBatch`, JetStream's
//! `fetch`).
//!
//! A batch receive takes requeued messages first, as `try_receive` does,
//! then a run of fresh ones with **one CAS on the fresh ring's `head`**
//! ([`Fresh::claim_run`](super::fresh::Fresh::claim_run)): the stamps of
//! the whole run and the prefetch bound for the whole run
//! (`places_for_run`) are checked before that CAS, so the limit stays
//! exact. Each message is then moved into a table entry and its slot freed
//! as a single receive does, and publishers get one keyed `room`
//! notification for the run.

use core::time::Duration;

use super::receive::UNSTAMPED;
use super::{AckQueue, Delivery};
use crate::error::Closed;
use crate::sync::Instant;
use crate::wait;

impl<T> AckQueue<T> {
    /// Appends to `out` up to `max` deliveries that are ready, without
    /// waiting; returns how many. Requeued messages come first, then a run
    /// of fresh ones claimed at once. Never more than the prefetch limit
    /// allows: the call takes at most `max_in_flight` and stops where the
    /// limit is reached.
    ///
    /// Reserves room in `out` for `max.min(max_in_flight())` deliveries
    /// first; give it that much capacity up front and the call allocates
    /// nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().max_in_flight(3).build().unwrap();
    /// for i in 0..5 {
    ///     q.try_publish(i).unwrap();
    /// }
    /// let mut out = Vec::with_capacity(16);
    /// assert_eq!(q.try_receive_batch(16, &mut out), 3); // the prefetch limit
    /// assert_eq!(out.iter().map(|d| **d).collect::<Vec<_>>(), [0, 1, 2]);
    /// for d in out.drain(..) {
    ///     d.ack().unwrap();
    /// }
    /// assert_eq!(q.try_receive_batch(16, &mut out), 2);
    /// ```
    pub fn try_receive_batch<'q>(&'q self, max: usize, out: &mut Vec<Delivery<'q, T>>) -> usize {
        let want = max.min(self.max_in_flight);
        if want == 0 {
            return 0;
        }
        // Before anything is taken: a push below never reallocates, so
        // nothing can fail (or allocate) while deliveries are in our hands.
        out.reserve(want);
        let start = out.len();
        if self.timed() {
            let now = self.now();
            self.scan_step(now);
            self.take_redeliveries(now, want, out);
            self.take_fresh_run(now, want - (out.len() - start), out);
            if out.len() == start && self.scan_all(now) > 0 {
                self.take_redeliveries(now, want, out);
            }
        } else {
            // As `try_receive`: without a lease or a delayed requeue the
            // deliveries are left `UNSTAMPED`.
            self.take_redeliveries(UNSTAMPED, want, out);
            self.take_fresh_run(UNSTAMPED, want - (out.len() - start), out);
        }
        out.len() - start
    }

    /// Waits for a delivery, then appends to `out` what is ready up to
    /// `max` (as [`try_receive_batch`](AckQueue::try_receive_batch));
    /// returns how many.
    ///
    /// # Errors
    ///
    /// As [`receive`](AckQueue::receive): [`Closed`] once the queue is
    /// closed and nothing is left to receive.
    pub fn receive_batch<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<Delivery<'q, T>>,
    ) -> Result<usize, Closed> {
        match self.receive_batch_until(max, out, None) {
            Some(result) => result,
            None => unreachable!("a wait without deadline ends only with a result"),
        }
    }

    /// Waits up to `timeout` (real time) for a delivery, then appends to
    /// `out` what is ready up to `max`; returns how many, 0 if none came
    /// (or `max` is 0).
    ///
    /// # Errors
    ///
    /// As [`receive`](AckQueue::receive).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let q = ackring::AckQueue::builder().build().unwrap();
    /// let mut out = Vec::with_capacity(8);
    /// let wait = Duration::from_millis(1);
    /// assert_eq!(q.receive_batch_timeout(8, &mut out, wait), Ok(0));
    /// q.try_publish("a").unwrap();
    /// q.try_publish("b").unwrap();
    /// assert_eq!(q.receive_batch_timeout(8, &mut out, wait), Ok(2));
    /// out.clear(); // dropped unsettled: requeued
    /// q.close();
    /// # q.drain();
    /// assert!(q.receive_batch_timeout(8, &mut out, wait).is_err());
    /// ```
    pub fn receive_batch_timeout<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<Delivery<'q, T>>,
        timeout: Duration,
    ) -> Result<usize, Closed> {
        self.receive_batch_until(max, out, wait::deadline_after(timeout))
            .unwrap_or(Ok(0))
    }

    fn receive_batch_until<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<Delivery<'q, T>>,
        deadline: Option<Instant>,
    ) -> Option<Result<usize, Closed>> {
        if max == 0 {
            return Some(Ok(0));
        }
        self.wait_for(
            &self.ready,
            deadline,
            || match self.try_receive_batch(max, out) {
                0 if self.finished() => Some(Err(Closed)),
                0 => None,
                n => Some(Ok(n)),
            },
            // As `receive`.
            || self.may_sleep_receiving(),
        )
    }

    /// Requeued messages for a batch, until `out` holds `want` more than
    /// it did at the call's start or none is ready.
    fn take_redeliveries<'q>(&'q self, now: u64, want: usize, out: &mut Vec<Delivery<'q, T>>) {
        let stop = out.len() + want;
        while out.len() < stop {
            match self.take_redelivery(now) {
                Some(d) => out.push(d),
                None => return,
            }
        }
    }

    /// A run of up to `k` fresh messages, claimed with one CAS on `head`
    /// within the prefetch limit, each moved into an entry and its slot
    /// freed; one keyed notification of publishers for the run.
    fn take_fresh_run<'q>(&'q self, now: u64, k: usize, out: &mut Vec<Delivery<'q, T>>) {
        let Some((first, n)) = self
            .fresh
            .claim_run(k as u64, |head, n| self.places_for_run(head, n))
        else {
            return;
        };
        let mut pos = first;
        for _ in 0..n {
            // SAFETY: `claim_run` gave us the `n` positions from `first`
            // on; each is delivered once, `pos` moving past it.
            out.push(unsafe { self.deliver_fresh(pos, now) });
            pos = self.fresh.laps().advance(pos);
        }
        // Keyed by our `head` CAS in `claim_run` (`wait.rs`).
        self.room.notify_keyed();
    }
}
