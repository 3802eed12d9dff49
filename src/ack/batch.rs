//! Batches: many deliveries received in one call, many settled in one call,
//! the way brokers batch (RabbitMQ's prefetch and `basic.ack(multiple)`,
//! SQS's `ReceiveMessage` of up to ten and `DeleteMessageBatch`, JetStream's
//! `fetch`).
//!
//! A batch receive takes requeued messages first, as `try_receive` does.
//! Then it takes a run of fresh ones with **one CAS on the fresh ring's
//! `head`** ([`Fresh::claim_run`](super::fresh::Fresh::claim_run)). The
//! stamps of the whole run and the prefetch bound for the whole run
//! (`places_for_run`) are checked before that CAS, so the limit stays
//! exact. Each message is then moved into a table entry and its slot freed
//! as a single receive does. Publishers get one keyed `room` notification
//! for the run.
//!
//! A batch settle checks and moves each item's entry as a single settle
//! does: a guard that is its entry's sole mover by plain stores, any other
//! item by its own CAS. So a stale, double or foreign item is reported at
//! its index and the others go on. What the batch shares is the rest:
//!
//! - the places of the entries a batch ack frees are given back with
//!   **one** `fetch_add` on `acked`;
//! - waiters are woken once, keyed by that `fetch_add`.
//!
//! Each entry is made `Free` before that give-back, as for a single ack.
//! So a batch of guards received and acked costs two RMWs in all, the
//! run's claim and the give-back, and none per message.
//!
//! Panics: a message's `Drop` runs when its entry is freed, before the
//! batch's places are given back. If it panics, then while the panic
//! unwinds:
//!
//! - a guard gives back the places of every entry freed so far, and wakes
//!   waiters;
//! - the items not reached yet are dropped: a [`Delivery`] among them
//!   requeues its message, a [`Tag`] leaves its delivery in flight.
//!
//! So the queue is whole and nothing is lost.

use core::time::Duration;

use self::sealed::Sealed as _;
use super::receive::UNSTAMPED;
use super::{AckQueue, Delivery, OwnedDelivery, Settle, Tag};
use crate::error::{AckError, Closed};
use crate::sync::Instant;
use crate::wait::{self, ALL};

/// The private half of [`BatchItem`]: what a batch settle asks of an item.
pub(super) mod sealed {
    use super::Tag;

    /// What a batch settle needs of an item; implemented only in this
    /// crate, so [`BatchItem`](super::BatchItem) is sealed.
    pub trait Sealed {
        /// The identity of the queue the item is of (its tag's).
        fn queue_id(&self) -> usize;

        /// Consumes the item without its own `Drop` (a guard's requeue):
        /// a guard hands its place among its entry's holders to the
        /// settle, which gives it up whatever its outcome.
        fn into_item(self) -> Item;
    }

    /// An item taken apart for its settle.
    #[derive(Clone, Copy, Debug)]
    pub enum Item {
        /// A tag: no place among the holders.
        Tag(Tag),
        /// A guard of this queue: its entry and delivery count, and its
        /// place among the entry's holders.
        Guard { index: u32, attempt: u32 },
    }
}

use self::sealed::Item;

/// An item of a batch settle ([`AckQueue::ack_batch`],
/// [`AckQueue::nack_batch`]): a [`Tag`], or a [`Delivery`] or
/// [`OwnedDelivery`] guard, which the call consumes.
///
/// Sealed: only this crate implements it.
pub trait BatchItem: sealed::Sealed {}

impl sealed::Sealed for Tag {
    fn queue_id(&self) -> usize {
        self.queue
    }

    fn into_item(self) -> Item {
        Item::Tag(self)
    }
}

impl BatchItem for Tag {}

/// The batch item of a delivery guard: its queue, and its entry and
/// delivery count. The guard is consumed without its settle (an owned
/// delivery's handle of the queue is dropped here: the caller of the
/// batch settle borrows the queue for the whole call).
macro_rules! guard_items {
    ($($guard:ty),*) => {$(
        impl<T> sealed::Sealed for $guard {
            fn queue_id(&self) -> usize {
                self.queue.table.id()
            }

            #[inline]
            fn into_item(self) -> Item {
                let (_, index, attempt) = self.into_parts();
                Item::Guard { index, attempt }
            }
        }

        impl<T> BatchItem for $guard {}
    )*};
}

guard_items!(Delivery<'_, T>, OwnedDelivery<T>);

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
    /// assert_eq!(q.ack_batch(out.drain(..), &mut Vec::new()), 3);
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
            if out.len() == start && self.scan_when_dry(now) > 0 {
                // Requeues, or delayed publishes now in the fresh ring.
                self.take_redeliveries(now, want, out);
                self.take_fresh_run(now, want - (out.len() - start), out);
            }
        } else {
            // As `try_receive`: without a lease or a delayed requeue the
            // deliveries are left `UNSTAMPED`, unless latency is recorded.
            let now = self.receive_stamp();
            self.take_redeliveries(now, want, out);
            self.take_fresh_run(now, want - (out.len() - start), out);
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
    /// q.ack_batch(out.drain(..), &mut Vec::new());
    /// q.close();
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
            || self.receive_batch_look(max, out),
            // As `receive`.
            || self.may_sleep_receiving(),
        )
    }

    /// The look of a waiting batch receive.
    pub(super) fn receive_batch_look<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<Delivery<'q, T>>,
    ) -> Option<Result<usize, Closed>> {
        match self.try_receive_batch(max, out) {
            0 if self.finished() => Some(Err(Closed)),
            0 => None,
            n => Some(Ok(n)),
        }
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
        // Two copies of the loop: in the one without a clock reading,
        // the delivery's test of `now` folds away.
        if now == UNSTAMPED {
            // SAFETY: `claim_run` gave us these positions, untaken.
            unsafe { self.deliver_run(first, n, UNSTAMPED, out) };
        } else {
            // SAFETY: as above.
            unsafe { self.deliver_run(first, n, now, out) };
        }
        // Keyed by our `head` CAS in `claim_run` (the `wait` module docs).
        self.room.notify_keyed(n as usize);
    }

    /// Delivers the `n` claimed positions from `first` on, at `now`.
    ///
    /// # Safety
    ///
    /// The caller claimed them (`claim_run`) and has taken none.
    #[inline(always)]
    unsafe fn deliver_run<'q>(
        &'q self,
        first: u64,
        n: u64,
        now: u64,
        out: &mut Vec<Delivery<'q, T>>,
    ) {
        let laps = self.fresh.laps();
        let mut pos = first;
        let first_seq = laps.count(first);
        for seq in first_seq..first_seq + n {
            // SAFETY: the caller's contract: each of the `n` positions is
            // delivered once, `pos` moving past it, and `seq` is its count.
            if let Some(index) = unsafe { self.deliver_fresh_at(pos, seq, now) } {
                out.push(self.delivery(index, 1));
            }
            pos = laps.advance(pos);
        }
    }
}

/// A batch settle's account of what it owes the queue, paid when the
/// batch ends or while a panic in a message's `Drop` unwinds out of it:
/// the prefetch places of the entries it freed, and the wake-ups.
struct Owed<'q, T> {
    queue: &'q AckQueue<T>,
    /// Acked entries made `Free` whose places are not given back yet.
    places: u64,
    /// An acked entry still read by another holder: confirmation waiters
    /// are owed a wake-up (the keyed one covers it if places are given
    /// back).
    settled_held: bool,
    /// Requeues and dead letters: receivers are owed a wake-up each that
    /// the keyed one does not cover.
    moved: usize,
}

impl<T> Drop for Owed<'_, T> {
    fn drop(&mut self) {
        if self.places > 0 {
            // Every entry counted was made `Free` before (module docs of
            // `ack`: the free-entry bound).
            self.queue.ack_places(self.places);
            // Keyed by the `acked` RMW in `ack_places` (the `wait` module docs); a
            // confirmation waiter reads `acked` with Acquire before it
            // looks, so the RMW also carries the settles of entries still
            // held that came before it.
            self.queue.ready.notify_keyed(self.places as usize);
            self.queue.settled.notify_keyed(ALL);
        } else if self.settled_held {
            self.queue.settled.notify(ALL);
        }
        if self.moved > 0 {
            self.queue.ready.notify(self.moved);
        }
    }
}

impl<T> AckQueue<T> {
    /// Acks every item of `items` ([`Tag`]s or [`Delivery`] guards, which
    /// it consumes); returns how many it acked. An item that cannot be
    /// acked is reported in `errors` as `(its index in items, why)` and
    /// does not stop the others: a stale, double or foreign tag in the
    /// middle of a batch costs only its own ack. A guard is given up
    /// either way, as by [`Delivery::ack`]; a guard of another queue is
    /// reported [`AckError::ForeignTag`] and dropped, which requeues its
    /// message in its own queue.
    ///
    /// The prefetch places of the whole batch are given back with one
    /// atomic operation and waiters are woken once. Nothing is allocated
    /// unless `errors` runs out of room.
    ///
    /// A consumer that acks everything it received up to some delivery
    /// (RabbitMQ's `multiple`) passes that part of its own list:
    /// `q.ack_batch(received.drain(..=i), &mut errors)`.
    ///
    /// # Panics
    ///
    /// If a message's `Drop` panics. The panic propagates after the places
    /// of every entry freed so far are given back; the items not reached
    /// are dropped (a guard among them requeues its message).
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckError, AckQueue};
    ///
    /// let q = AckQueue::builder().build().unwrap();
    /// for i in 0..3 {
    ///     q.try_publish(i).unwrap();
    /// }
    /// let mut out = Vec::with_capacity(3);
    /// q.try_receive_batch(3, &mut out);
    /// let tags: Vec<_> = out.drain(..).map(|d| d.detach()).collect();
    /// q.ack(tags[1]).unwrap(); // acked on its own before the batch
    /// let mut errors = Vec::with_capacity(tags.len());
    /// assert_eq!(q.ack_batch(tags.iter().copied(), &mut errors), 2);
    /// assert_eq!(errors, [(1, AckError::AlreadySettled)]);
    /// assert_eq!(q.settled_below().get(), 3);
    /// ```
    pub fn ack_batch<I>(&self, items: I, errors: &mut Vec<(usize, AckError)>) -> usize
    where
        I: IntoIterator,
        I::Item: BatchItem,
    {
        self.settle_batch(items, Settle::Ack, errors)
    }

    /// Nacks every item of `items`, as [`AckQueue::nack`] each (with
    /// `requeue`, delivered again or dead-lettered at `max_deliveries`;
    /// without, dead-lettered now); returns how many it nacked. Failures
    /// are reported per item in `errors`, as by
    /// [`ack_batch`](AckQueue::ack_batch); receivers are woken once.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().build().unwrap();
    /// q.try_publish("a").unwrap();
    /// q.try_publish("b").unwrap();
    /// let mut out = Vec::new();
    /// q.try_receive_batch(2, &mut out);
    /// assert_eq!(q.nack_batch(out.drain(..), true, &mut Vec::new()), 2);
    /// assert_eq!(q.try_receive_batch(2, &mut out), 2);
    /// assert!(out.iter().all(|d| d.redelivered()));
    /// # q.ack_batch(out, &mut Vec::new());
    /// ```
    pub fn nack_batch<I>(
        &self,
        items: I,
        requeue: bool,
        errors: &mut Vec<(usize, AckError)>,
    ) -> usize
    where
        I: IntoIterator,
        I::Item: BatchItem,
    {
        let how = if requeue {
            Settle::Requeue(None)
        } else {
            Settle::Reject
        };
        self.settle_batch(items, how, errors)
    }

    fn settle_batch<I>(&self, items: I, how: Settle, errors: &mut Vec<(usize, AckError)>) -> usize
    where
        I: IntoIterator,
        I::Item: BatchItem,
    {
        let mut owed = Owed {
            queue: self,
            places: 0,
            settled_held: false,
            moved: 0,
        };
        let mut settled = 0;
        for (i, item) in items.into_iter().enumerate() {
            if item.queue_id() != self.table.id() {
                // Its guard, if any, stays armed: dropped here, it settles
                // in its own queue.
                errors.push((i, AckError::ForeignTag));
                continue;
            }
            let (tag, guard) = match item.into_item() {
                Item::Tag(tag) => (tag, false),
                Item::Guard { index, attempt } => {
                    if matches!(how, Settle::Ack) {
                        if let Some(value) = self.take_sole(index, attempt) {
                            // As below: the entry is `Free`, its place is
                            // the batch's to give back.
                            settled += 1;
                            owed.places += 1;
                            drop(value);
                            continue;
                        }
                    }
                    (self.tag_of_holder(index, attempt), true)
                }
            };
            let new = match self.settle_cas(tag, how, guard) {
                Ok(new) => new,
                Err(e) => {
                    errors.push((i, e));
                    continue;
                }
            };
            settled += 1;
            match self.after_settle_cas(tag.index, new, how) {
                Some(value) => {
                    // The entry is `Free`; its place is given back with the
                    // batch's (`Owed`), also if this drop panics.
                    owed.places += 1;
                    drop(value);
                }
                None if matches!(how, Settle::Ack) => owed.settled_held = true,
                None => owed.moved += 1,
            }
        }
        settled
    }
}
