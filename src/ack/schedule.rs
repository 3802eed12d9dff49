//! Delayed publish: a message that waits for its due time in a spare
//! entry of the table, on a place of its own bound (`delay_capacity`),
//! and is published into the fresh ring when the scan finds it due.
//!
//! A scheduled entry is `Delayed` with delivery count 0 (the `attempt`
//! field of a delivered message is at least 1) and no holders. Its
//! sequence number is `u64::MAX`: it has none until it is published, so
//! the confirmations pass over it. Its `deadline` is the due time and its
//! `delivered_at` the order of its scheduling (a tie-break between equal
//! due times).
//!
//! Publishing it when due:
//!
//! 1. moves it `Delayed` → `Taking` (CAS);
//! 2. moves the value into the fresh ring as a publish does;
//! 3. makes the entry `Free`;
//! 4. gives its place back.
//!
//! If the fresh ring is full or closed, it writes the value back and
//! stores `Delayed` again, to be tried by a later scan. After `close`,
//! `drain` takes it.

use core::time::Duration;

use super::entry::{Entry, Phase, State};
use super::{clock, AckQueue};
use crate::error::PushError;
use crate::sync::Ordering;

/// The sequence number a scheduled entry holds: none.
const UNPUBLISHED: u64 = u64::MAX;

impl<T> AckQueue<T> {
    /// Publishes `msg` once `delay` has passed on the queue's clock, if a
    /// place of [`delay_capacity`](crate::AckQueueBuilder::delay_capacity)
    /// is free, without waiting.
    ///
    /// Until due, the message holds that place only: not one of
    /// `capacity` (so due messages are published past it) nor of
    /// `max_in_flight`. When due, it is published as by
    /// [`try_publish`](AckQueue::try_publish), and from then on is an
    /// ordinary message: delivered no earlier than due, and, among
    /// delayed messages published by one scan, in order of due time (then
    /// of scheduling). Its sequence number is given when it is published:
    /// [`stats`](AckQueue::stats) counts it as published from then on. If
    /// the fresh ring is full when it comes due, it waits for room; once
    /// the queue is closed it is never published, and
    /// [`drain`](AckQueue::drain) returns it.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] when `delay_capacity` messages wait for
    /// their due time; [`PushError::Closed`] after
    /// [`close`](AckQueue::close). Either way the message comes back
    /// inside the error.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let q = AckQueue::builder()
    ///     .delay_capacity(8)
    ///     .clock(clock.clone())
    ///     .build()
    ///     .unwrap();
    /// q.try_publish_after("later", Duration::from_secs(5)).unwrap();
    /// q.try_publish("now").unwrap();
    /// let d = q.try_receive().unwrap();
    /// assert_eq!(*d, "now");
    /// d.ack().unwrap();
    /// assert!(q.try_receive().is_none());
    /// clock.advance(Duration::from_secs(5));
    /// assert_eq!(*q.try_receive().unwrap(), "later");
    /// ```
    pub fn try_publish_after(&self, msg: T, delay: Duration) -> Result<(), PushError<T>> {
        let due = self.now().saturating_add(clock::nanos(delay));
        self.schedule(msg, due)
    }

    /// Publishes `msg` when the queue's clock reads `at` (see
    /// [`clock_now`](AckQueue::clock_now)), as
    /// [`try_publish_after`](AckQueue::try_publish_after). A time already
    /// past is due at once.
    ///
    /// # Errors
    ///
    /// As [`try_publish_after`](AckQueue::try_publish_after).
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let q = AckQueue::builder()
    ///     .delay_capacity(8)
    ///     .clock(clock.clone())
    ///     .build()
    ///     .unwrap();
    /// q.try_publish_at(2, Duration::from_secs(20)).unwrap();
    /// q.try_publish_at(1, Duration::from_secs(10)).unwrap();
    /// clock.advance(Duration::from_secs(30));
    /// assert_eq!(*q.try_receive().unwrap(), 1); // in due order
    /// # q.close(); let _ = q.drain();
    /// ```
    pub fn try_publish_at(&self, msg: T, at: Duration) -> Result<(), PushError<T>> {
        self.schedule(msg, clock::nanos(at))
    }

    /// Publishes `msg` once `delay` has passed, as
    /// [`try_publish_after`](AckQueue::try_publish_after), waiting for a
    /// place while `delay_capacity` messages wait for their due time
    /// (with the queue's [wait strategy](crate::AckQueueBuilder::wait_strategy)).
    /// The delay counts from the call.
    ///
    /// # Errors
    ///
    /// [`PushError::Closed`], with the message, if the queue is or
    /// gets closed first.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let q = AckQueue::builder()
    ///     .delay_capacity(8)
    ///     .clock(clock.clone())
    ///     .build()
    ///     .unwrap();
    /// q.publish_after(1, Duration::from_millis(1)).unwrap();
    /// clock.advance(Duration::from_millis(1));
    /// q.receive().unwrap().ack().unwrap();
    /// ```
    pub fn publish_after(&self, msg: T, delay: Duration) -> Result<(), PushError<T>> {
        let due = self.now().saturating_add(clock::nanos(delay));
        self.schedule_waiting(msg, due)
    }

    /// Publishes `msg` when the queue's clock reads `at`, waiting for a
    /// place as [`publish_after`](AckQueue::publish_after) does.
    ///
    /// # Errors
    ///
    /// As [`publish_after`](AckQueue::publish_after).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let q = ackring::AckQueue::builder().delay_capacity(8).build().unwrap();
    /// let at = q.clock_now() + Duration::from_millis(2);
    /// q.publish_at(7, at).unwrap();
    /// assert_eq!(*q.receive().unwrap(), 7); // about 2 ms later
    /// ```
    pub fn publish_at(&self, msg: T, at: Duration) -> Result<(), PushError<T>> {
        self.schedule_waiting(msg, clock::nanos(at))
    }

    /// The queue's clock reading: the time base of
    /// [`try_publish_at`](AckQueue::try_publish_at) and
    /// [`publish_at`](AckQueue::publish_at).
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let q = AckQueue::<u8>::builder().clock(clock.clone()).build().unwrap();
    /// clock.advance(Duration::from_secs(3));
    /// assert_eq!(q.clock_now(), Duration::from_secs(3));
    /// ```
    pub fn clock_now(&self) -> Duration {
        self.clock.now()
    }

    /// How many delayed publishes wait for their due time: a snapshot.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let q = ackring::AckQueue::builder().delay_capacity(8).build().unwrap();
    /// q.try_publish_after(1, Duration::from_secs(60)).unwrap();
    /// assert_eq!(q.scheduled(), 1);
    /// # q.close(); let _ = q.drain();
    /// ```
    pub fn scheduled(&self) -> usize {
        // Relaxed: a snapshot.
        self.scheduled.load(Ordering::Relaxed)
    }

    fn schedule_waiting(&self, msg: T, due: u64) -> Result<(), PushError<T>> {
        // Places are given back with `WaitList::notify` (fenced): no sleep
        // check.
        self.wait_to_send(
            &self.scheduling,
            msg,
            |msg| self.schedule(msg, due),
            || true,
        )
    }

    /// Takes a delay place and a spare entry, and leaves `msg` there
    /// `Delayed` until `due` (nanoseconds on the queue's clock).
    pub(super) fn schedule(&self, msg: T, due: u64) -> Result<(), PushError<T>> {
        if self.is_closed() {
            return Err(PushError::Closed(msg));
        }
        if !self.take_delay_place() {
            return Err(PushError::Full(msg));
        }
        // Relaxed: a tie-break between equal due times, no data.
        let order = self.schedule_order.fetch_add(1, Ordering::Relaxed);
        // A free spare exists: entries with a place of some bound never
        // outnumber the spares (module docs), and we hold a delay place.
        let (index, free) = self.claim_spare(order);
        let entry = self.table.get(index);
        // SAFETY: the entry is ours (`claim_spare` moved it to `Receiving`)
        // and its value uninitialized: whoever made it `Free` moved the
        // previous value out first, which the claim's Acquire CAS saw.
        entry.value.with_mut(|p| unsafe { (*p).write(msg) });
        // Relaxed writes: published by the Release store of the state.
        entry.seq.store(UNPUBLISHED, Ordering::Relaxed);
        entry.deadline.store(due, Ordering::Relaxed);
        entry.delivered_at.store(order, Ordering::Relaxed);
        // Relaxed: a count for `timed` and the scan's pacing (hints); the
        // entry is found by the scan whatever it reads.
        self.delayed.fetch_add(1, Ordering::Relaxed);
        let state = free.with_phase(Phase::Delayed).with_attempt(0);
        // Release: publishes the value and the fields; pairs with the
        // Acquire load of the state in the scan, and drain's Acquire CAS.
        entry.state.store(state.0, Ordering::Release);
        // A receiver asleep with the idle tick wakes to look again every
        // tick from now on (`timed`).
        self.ready.notify(1);
        Ok(())
    }

    /// Whether `state`, read from an entry, is a scheduled publish's.
    #[inline]
    pub(super) fn is_scheduled(state: State) -> bool {
        state.is(Phase::Delayed) && state.attempt() == 0
    }

    /// Publishes every scheduled message due at `now`, earliest due first
    /// (then earliest scheduled), until none is due or the fresh ring
    /// refuses one (full or closed). One pass over the table per message
    /// published, and one more: delayed publishes are not on the path of
    /// ordinary messages. Returns how many it published.
    pub(super) fn publish_due(&self, now: u64) -> usize {
        let mut published = 0;
        loop {
            let mut best: Option<(u64, u64, u32, State)> = None;
            for index in 0..self.table.len() as u32 {
                let entry = self.table.get(index);
                // Acquire: pairs with the Release store in `schedule`, so
                // the deadline and order read next are this message's.
                let state = State(entry.state.load(Ordering::Acquire));
                if !Self::is_scheduled(state) {
                    continue;
                }
                // Relaxed: ordered after the state by the Acquire above; a
                // publish CASes on that very state.
                let due = entry.deadline.load(Ordering::Relaxed);
                let order = entry.delivered_at.load(Ordering::Relaxed);
                if due <= now && best.map_or(true, |(d, o, _, _)| (due, order) < (d, o)) {
                    best = Some((due, order, index, state));
                }
            }
            let Some((_, _, index, state)) = best else {
                return published;
            };
            match self.publish_one(self.table.get(index), state) {
                Some(true) => published += 1,
                // Another scan took it: look again.
                None => {}
                Some(false) => return published,
            }
        }
    }

    /// Publishes the scheduled entry last seen in `state`: `Some(true)` if
    /// it did, `Some(false)` if the fresh ring refused it (left as it was),
    /// `None` if another thread took it first.
    fn publish_one(&self, entry: &Entry<T>, state: State) -> Option<bool> {
        // Acquire: a publish the fresh ring refused puts the entry back in
        // the very state it read (its Release store below). So this CAS
        // may succeed on that later store rather than on the one our
        // Acquire load read, and it must acquire the value written back
        // with it. It races other scans and `drain`, of which exactly one
        // wins. On failure we only give up (Relaxed).
        entry
            .state
            .compare_exchange(
                state.0,
                state.with_phase(Phase::Taking).0,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .ok()?;
        // SAFETY: we own the entry in `Taking` (our CAS) with no holders;
        // its value is initialized (`schedule`) and moved out once here,
        // or written back below.
        let msg = entry.value.with(|p| unsafe { (*p).assume_init_read() });
        match self.push_fresh(msg, self.expiry()) {
            Ok(_) => {
                self.make_free(entry, state);
                // Relaxed: counts (see `delayed`, `take_delay_place`), after
                // the entry is `Free`.
                self.delayed.fetch_sub(1, Ordering::Relaxed);
                self.scheduled.fetch_sub(1, Ordering::Relaxed);
                // Keyed by the `tail` CAS in `try_push`, as a publish.
                self.ready.notify_keyed(1);
                self.scheduling.notify(1);
                Some(true)
            }
            Err(refused) => {
                let msg = refused.into_inner();
                // SAFETY: we still own the entry in `Taking`; its value was
                // moved out above and is written back once.
                entry.value.with_mut(|p| unsafe { (*p).write(msg) });
                // Release: publishes the value written back, as the
                // scheduler's store did, to the next publish's Acquire CAS
                // and `drain`'s; nobody else writes a `Taking` entry's
                // state.
                entry.state.store(state.0, Ordering::Release);
                Some(false)
            }
        }
    }

    /// Takes a place of `delay_capacity`, if one is left.
    fn take_delay_place(&self) -> bool {
        super::prefetch::take_place(&self.scheduled, self.delay_capacity)
    }

    /// `drain`'s take of a scheduled entry it moved to `Taking`: moves the
    /// value out, frees the entry, gives the delay place back.
    pub(super) fn take_scheduled(&self, entry: &Entry<T>, state: State) -> T {
        // SAFETY: the caller owns the entry in `Taking` (its CAS), which
        // has no holders; the value is initialized and moved out once.
        let value = entry.value.with(|p| unsafe { (*p).assume_init_read() });
        self.make_free(entry, state);
        // Relaxed: counts, after the entry is `Free`.
        self.delayed.fetch_sub(1, Ordering::Relaxed);
        self.scheduled.fetch_sub(1, Ordering::Relaxed);
        value
    }
}
