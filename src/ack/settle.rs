//! Settling a delivery: ack, nack (requeue, delayed requeue, dead letter),
//! lease extension, and a guard letting go of its entry.

use core::time::Duration;

use super::entry::{Entry, Phase, State};
use super::{clock, AckQueue, Refusal, Settle, Tag};
use crate::error::AckError;
use crate::stats;
use crate::sync::{Backoff, Ordering};

impl<T> AckQueue<T> {
    /// The entry a tag names, if the tag is ours.
    fn entry_of(&self, tag: Tag) -> Result<&Entry<T>, AckError> {
        if tag.queue != self.table.id() || tag.index as usize >= self.table.len() {
            return Err(AckError::ForeignTag);
        }
        Ok(self.table.get(tag.index))
    }

    /// Whether a settle of `tag` may proceed on `state`, just read from
    /// `entry` with Acquire (module docs, "Tags and errors").
    fn classify(entry: &Entry<T>, state: State, tag: Tag) -> Result<(), Refusal> {
        if state.gen() != u64::from(tag.gen) {
            return Err(Refusal::Err(AckError::AlreadySettled));
        }
        match state.phase() {
            Phase::Free | Phase::Receiving | Phase::Taking => {
                return Err(Refusal::Err(AckError::AlreadySettled))
            }
            _ => {}
        }
        if state.attempt() != State::attempt_bits(tag.attempt) {
            return Err(Refusal::Err(AckError::Stale));
        }
        match state.phase() {
            // The state word holds the attempt in 16 bits (past 2^16, modulo
            // 2^15). The exact count tells a tag kept across that many
            // redeliveries from the current one. Relaxed (inside
            // `delivery_count`): the count is written before the CAS into
            // `InFlight` that the caller's load read. Another count can only
            // be seen once the entry moved on, which the second load tells;
            // the caller then looks again.
            Phase::InFlight if entry.delivery_count(state) != tag.attempt => {
                // Relaxed: only compared with the state the count was read
                // under; no data is read after it.
                if entry.state.load(Ordering::Relaxed) == state.0 {
                    Err(Refusal::Err(AckError::Stale))
                } else {
                    Err(Refusal::Busy)
                }
            }
            Phase::InFlight => Ok(()),
            Phase::Extending => Err(Refusal::Busy),
            Phase::Redeliver
            | Phase::Delaying
            | Phase::Delayed
            | Phase::DeadPending
            | Phase::Dead
                if state.expired() =>
            {
                Err(Refusal::Err(AckError::Stale))
            }
            _ => Err(Refusal::Err(AckError::AlreadySettled)),
        }
    }

    /// Acks the delivery of a guard (entry `index`, delivery count
    /// `attempt`), which the call consumes: its place in `holders` is
    /// given up either way. Without a CAS when the guard is the entry's
    /// sole mover (`take_sole`).
    #[inline]
    pub(crate) fn ack_guarded(&self, index: u32, attempt: u32) -> Result<(), AckError> {
        match self.take_sole(index, attempt) {
            Some(value) => {
                self.give_back_and_drop(value);
                Ok(())
            }
            None => self.settle(self.tag_of_holder(index, attempt), Settle::Ack, true),
        }
    }

    /// Acks the delivery of a guard by plain stores, if the guard is the
    /// only thread that can move its entry and no latency is recorded (an
    /// ack recorded goes through `settle`).
    ///
    /// The guard is the only thread that can move its entry when:
    ///
    /// - the queue has no lease, so no scan expires an `InFlight` entry;
    /// - the guard is the entry's only holder, so no other guard lets go of
    ///   it;
    /// - its tag was not handed out, so no settle by tag races it.
    ///
    /// Then nothing but this guard writes the state word until the entry is
    /// `Free`. The call moves the value out, makes the entry `Free` and
    /// returns the value; its prefetch place is the caller's to give back.
    /// Otherwise it does nothing and returns `None`.
    ///
    /// `index` and `attempt` are those of a guard of this queue, which
    /// holds the entry, so its generation is the guard's.
    #[inline]
    pub(super) fn take_sole(&self, index: u32, attempt: u32) -> Option<T> {
        // A delivery count past 16 bits (`State::attempt_bits`) takes the
        // CAS, so that the check below compares the count itself.
        if !self.sole_acks || u64::from(attempt) > State::ATTEMPT_MASK {
            return None;
        }
        // SAFETY: a guard's entry index is one the queue gave out.
        let entry = unsafe { self.table.get_unchecked(index) };
        // Relaxed: only this guard has moved the entry since the receive
        // (or redelivery) that made it. That receive happens-before this
        // call, as does the `tag out` flag of a `tag()` call on it. The
        // other writers of an `InFlight` entry's word need a handed-out tag
        // (a settle by tag), a lease (the scan) or a second holder (it lets
        // go), which the checks below rule out. `drain` takes only entries
        // without holders.
        let state = State(entry.state.load(Ordering::Relaxed));
        let sole = state.is(Phase::InFlight)
            && state.holders() == 1
            && !state.tag_out()
            && state.attempt() == u64::from(attempt);
        if !sole {
            return None;
        }
        // SAFETY: the entry is `InFlight` with this guard as its only
        // holder, and nobody else may move it (above): its value is
        // initialized, nobody else reads it, and it is moved out once,
        // here, before the entry is made `Free`.
        let value = entry.value.with(|p| unsafe { (*p).assume_init_read() });
        self.make_free(entry, state);
        Some(value)
    }

    /// Marks the delivery of a guard whose tag is being handed out
    /// (`Delivery::tag`): from now on its settles race settles by tag, and
    /// the guard settles by CAS (`take_sole`). Only a queue whose guards
    /// may ack without the CAS (`sole_acks`) needs to know.
    pub(crate) fn hand_out_tag(&self, index: u32) {
        if self.sole_acks {
            // Relaxed: read by the guard itself, later in its own thread or
            // after whatever ended the borrow that called this; the bit
            // carries no data. While a guard holds the entry, every other
            // writer of the word CASes and retries on this change; the
            // guard's own plain-store ack comes after this in its thread.
            self.table
                .get(index)
                .state
                .fetch_or(State::TAG_OUT, Ordering::Relaxed);
        }
    }

    /// Settles the delivery `tag` names. `guard`: the call consumes a
    /// `Delivery`, whose place in `holders` is given up either way.
    pub(crate) fn settle(&self, tag: Tag, how: Settle, guard: bool) -> Result<(), AckError> {
        let new = self.settle_cas(tag, how, guard)?;
        match self.after_settle_cas(tag.index, new, how) {
            Some(value) => self.give_back_and_drop(value),
            // An acked entry still read: for confirmation waiters.
            None if matches!(how, Settle::Ack) => self.settled.notify(super::ALL),
            // A requeue, or a dead letter (its prefetch place): one
            // receiver.
            None => self.ready.notify(1),
        }
        Ok(())
    }

    /// `state`, or a later state of `entry`, once [`classify`] lets a
    /// settle of `tag` proceed on it; the refusal's error otherwise. A
    /// busy entry (an extension between its two CASes, or an entry moving
    /// on) is read again after a snooze.
    ///
    /// [`classify`]: AckQueue::classify
    #[inline(always)]
    fn accepted(
        entry: &Entry<T>,
        mut state: State,
        tag: Tag,
        backoff: &Backoff,
    ) -> Result<State, AckError> {
        loop {
            match Self::classify(entry, state, tag) {
                Ok(()) => return Ok(state),
                Err(Refusal::Busy) => {
                    backoff.snooze();
                    // Relaxed: as the caller's load (the tag's receive
                    // happens-before the caller).
                    state = State(entry.state.load(Ordering::Relaxed));
                }
                Err(Refusal::Err(e)) => return Err(e),
            }
        }
    }

    /// A settle's check of `tag` and its one CAS out of `InFlight`;
    /// returns the state it moved the entry to. On a refusal, a `guard`'s
    /// place in `holders` is given up (`let_go`).
    #[inline]
    pub(super) fn settle_cas(&self, tag: Tag, how: Settle, guard: bool) -> Result<State, AckError> {
        let entry = self.entry_of(tag)?;
        let backoff = Backoff::new();
        // Relaxed: the loads and the failure of the CAS below only decide
        // what to try. The fields `classify` and this loop read (the
        // delivery count) were written by the receive that made `tag`. That
        // receive happens-before this call: a tag reaches its settler only
        // through something that synchronizes (the `Delivery` it came in,
        // a channel, a lock). The CAS's Acquire takes whatever else the
        // settle needs (the holders' reads before a drop).
        let mut state = State(entry.state.load(Ordering::Relaxed));
        loop {
            state = match Self::accepted(entry, state, tag, &backoff) {
                Ok(state) => state,
                Err(e) => {
                    if guard {
                        self.let_go(tag.index);
                    }
                    return Err(e);
                }
            };
            let holders = state.holders() - u64::from(guard);
            // Relaxed: stable while this attempt is current, which our CAS
            // checks.
            let count = entry.delivery_count(state);
            let exhausted = count >= self.max_deliveries;
            let new = match how {
                Settle::Ack => state.with_phase(Phase::Settled),
                Settle::Reject => Self::dead_state(state, holders, false),
                Settle::Requeue(_) if exhausted => Self::dead_state(state, holders, true),
                Settle::Requeue(delay) if self.requeue_delay(entry, count, delay) == 0 => {
                    state.with_phase(Phase::Redeliver)
                }
                Settle::Requeue(_) => state.with_phase(Phase::Delaying),
            }
            .with_holders(holders);
            let timing = self.settle_timing(entry, state);
            // AcqRel: the one CAS out of `InFlight` for this attempt. It
            // acquires the holders' releases (before a drop) and the
            // previous owners' writes, and releases ours. On failure we only
            // retry (Relaxed, as the load above).
            match entry.state.compare_exchange_weak(
                state.0,
                new.0,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.note_settle(timing, how);
                    return Ok(new);
                }
                Err(current) => state = State(current),
            }
        }
    }

    /// What follows a settle's CAS that moved entry `index` to `new`, but
    /// the wake-up, which the caller owes. A requeue is pushed, a dead
    /// letter entered, a delay written.
    ///
    /// An acked entry nobody reads any more is made `Free` and its value
    /// returned. The caller gives its prefetch place back, wakes waiters
    /// keyed by that, then drops the value (`give_back_and_drop`).
    /// Otherwise (an acked entry still read, a nack) the caller wakes
    /// waiters with `ready.notify()`.
    #[inline]
    pub(super) fn after_settle_cas(&self, index: u32, new: State, how: Settle) -> Option<T> {
        let entry = self.table.get(index);
        match new.phase() {
            // An entry still read is freed when the last holder lets go.
            Phase::Settled => return (new.holders() == 0).then(|| self.take_acked(index, new)),
            Phase::Dead | Phase::DeadPending => {
                stats::bump(&self.counters.nacked);
                self.dead_lettered(index, new);
            }
            Phase::Redeliver => {
                stats::bump(&self.counters.nacked);
                self.redeliver.push(index);
            }
            Phase::Delaying => {
                stats::bump(&self.counters.nacked);
                let delay = match how {
                    // Relaxed (inside `delivery_count`): we own the entry
                    // in `Delaying`; the count is the one `settle_cas` read.
                    Settle::Requeue(delay) => {
                        self.requeue_delay(entry, entry.delivery_count(new), delay)
                    }
                    _ => 0,
                };
                self.delay_owned(entry, delay);
            }
            phase => unreachable!("settle moved an entry to {phase:?}"),
        }
        None
    }

    /// The delay in nanoseconds of a requeue of `entry` at delivery count
    /// `count`: the one it names, else the queue's [`Redelivery`](super::Redelivery)
    /// policy's. Only calls the policy, which reads the entry's sequence
    /// number, when the policy is not immediate.
    #[inline]
    pub(super) fn requeue_delay(
        &self,
        entry: &Entry<T>,
        count: u32,
        delay: Option<Duration>,
    ) -> u64 {
        match delay {
            Some(delay) => clock::nanos(delay),
            None if self.redelivery.is_immediate() => 0,
            // Relaxed: the sequence number was written with the entry's
            // fields before the state the caller read (type docs of
            // `Entry`), and stays while the entry holds this message.
            None => self
                .redelivery
                .delay_nanos(count, entry.seq.load(Ordering::Relaxed)),
        }
    }

    /// Moves an entry we own in `Delaying` to `Delayed`, due `delay`
    /// nanoseconds from now.
    pub(super) fn delay_owned(&self, entry: &Entry<T>, delay: u64) {
        // Relaxed: a count for `finished` and `timed` (hints).
        self.delayed.fetch_add(1, Ordering::Relaxed);
        // Relaxed: published by the CAS into `Delayed` below.
        entry
            .deadline
            .store(self.now().saturating_add(delay), Ordering::Relaxed);
        self.end_transient(entry, Phase::Delayed, false);
    }

    /// The state of an entry being dead-lettered with `holders` left.
    pub(super) fn dead_state(state: State, holders: u64, exhausted: bool) -> State {
        let phase = if holders == 0 {
            Phase::Dead
        } else {
            Phase::DeadPending
        };
        state
            .with_phase(phase)
            .with_flags(state.expired(), exhausted)
    }

    /// Bookkeeping after a CAS into `Dead` or `DeadPending`.
    pub(super) fn dead_lettered(&self, index: u32, new: State) {
        stats::bump(&self.counters.dead_lettered);
        if new.phase() == Phase::Dead {
            self.enter_dead_letters(index, new);
        }
    }

    /// Moves an entry we own out of a transient phase into `to`, counting a
    /// lease extension if `extended`. It keeps `holders`, which other
    /// threads may decrement meanwhile.
    pub(super) fn end_transient(&self, entry: &Entry<T>, to: Phase, extended: bool) {
        // Relaxed load: we own the entry; the CAS below is the Release.
        let mut state = State(entry.state.load(Ordering::Relaxed));
        loop {
            let mut new = state.with_phase(to);
            if extended {
                new = new.next_extension();
            }
            // Release: publishes the deadline we wrote; pairs with the
            // Acquire loads of the state in the scan.
            match entry.state.compare_exchange_weak(
                state.0,
                new.0,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(current) => state = State(current),
            }
        }
    }

    /// A guard lets go of its entry without settling it.
    pub(crate) fn let_go(&self, index: u32) {
        let entry = self.table.get(index);
        // Relaxed: only what to try; the CAS below decides.
        let mut state = State(entry.state.load(Ordering::Relaxed));
        let new = loop {
            debug_assert!(state.holders() > 0);
            let holders = state.holders() - 1;
            let mut new = state.with_holders(holders);
            if holders == 0 && state.phase() == Phase::DeadPending {
                new = new.with_phase(Phase::Dead);
            }
            // AcqRel: releases our reads of the value to whoever brings
            // holders to zero and drops it, and acquires the others' when
            // that is us. On failure we only retry (Relaxed).
            match entry.state.compare_exchange_weak(
                state.0,
                new.0,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break new,
                Err(current) => state = State(current),
            }
        };
        if new.holders() == 0 {
            match state.phase() {
                Phase::Settled => self.free_acked(index, new),
                Phase::DeadPending => {
                    self.enter_dead_letters(index, new);
                    self.ready.notify(1);
                }
                _ => {}
            }
        }
    }

    /// Frees an acked entry we own (`Settled`, no holders). It moves the
    /// value out, makes the entry `Free`, gives the prefetch place back and
    /// wakes waiters. Only then does it drop the value, so that a panic in
    /// its `Drop` propagates from a queue that is whole again.
    fn free_acked(&self, index: u32, state: State) {
        let value = self.take_acked(index, state);
        self.give_back_and_drop(value);
    }

    /// Moves the value out of an acked entry we own (`Settled`, no holders,
    /// reached by our CAS) and makes the entry `Free`; its prefetch place
    /// is the caller's to give back.
    #[inline]
    pub(super) fn take_acked(&self, index: u32, state: State) -> T {
        let entry = self.table.get(index);
        // SAFETY: we own the entry (module docs: it is `Settled` with no
        // holders, reached by our CAS) and its value is initialized; no
        // guard refers to it, and it is moved out once, here.
        let value = entry.value.with(|p| unsafe { (*p).assume_init_read() });
        self.make_free(entry, state);
        value
    }

    /// Gives back the prefetch place of an acked message whose entry is
    /// `Free` already (`take_acked`), wakes waiters, then drops the value.
    fn give_back_and_drop(&self, value: T) {
        self.ack_places(1);
        // Keyed by the `acked` RMW in `ack_places` (the `wait` module
        // docs): a receiver for the place, every confirmation waiter for
        // the settle.
        self.ready.notify_keyed(1);
        self.settled.notify_keyed(super::ALL);
        drop(value);
    }

    /// Makes an entry we own, whose value was moved out, `Free` for the
    /// next message, one generation on.
    pub(super) fn make_free(&self, entry: &Entry<T>, state: State) {
        // Release: orders the move out of the value before the next claim
        // writes a new one: pairs with the Acquire load of `claim_home` and
        // the Acquire CAS of `claim_spare`.
        entry
            .state
            .store(State::free(state.gen() + 1).0, Ordering::Release);
    }

    /// Acks the delivery `tag` names.
    ///
    /// # Errors
    ///
    /// [`AckError::ForeignTag`] for a tag of another queue;
    /// [`AckError::Stale`] if its lease expired (or the message was
    /// delivered again since); [`AckError::AlreadySettled`] if it was
    /// acked or nacked before.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().build().unwrap();
    /// q.try_publish(7).unwrap();
    /// let tag = q.try_receive().unwrap().detach();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| q.ack(tag).unwrap());
    /// });
    /// assert_eq!(q.stats().acked, 1);
    /// ```
    pub fn ack(&self, tag: Tag) -> Result<(), AckError> {
        self.settle(tag, Settle::Ack, false)
    }

    /// Nacks the delivery `tag` names: requeue it, or dead-letter it now.
    ///
    /// # Errors
    ///
    /// As [`ack`](AckQueue::ack).
    pub fn nack(&self, tag: Tag, requeue: bool) -> Result<(), AckError> {
        let how = if requeue {
            Settle::Requeue(None)
        } else {
            Settle::Reject
        };
        self.settle(tag, how, false)
    }

    /// Requeues the delivery `tag` names, to be delivered again no sooner
    /// than `delay` from now (as [`Delivery::nack_after`](crate::Delivery::nack_after)).
    ///
    /// # Errors
    ///
    /// As [`ack`](AckQueue::ack).
    pub fn nack_after(&self, tag: Tag, delay: Duration) -> Result<(), AckError> {
        self.settle(tag, Settle::delayed(delay), false)
    }

    /// Extends the lease of the delivery `tag` names so that it ends no
    /// sooner than `by` from now. Checks the tag, and does nothing else,
    /// on a queue without leases.
    ///
    /// # Errors
    ///
    /// As [`ack`](AckQueue::ack).
    pub fn extend_lease(&self, tag: Tag, by: Duration) -> Result<(), AckError> {
        let entry = self.entry_of(tag)?;
        let backoff = Backoff::new();
        // Relaxed: as in `settle` (the tag's receive happens-before us).
        let mut state = State(entry.state.load(Ordering::Relaxed));
        loop {
            state = Self::accepted(entry, state, tag, &backoff)?;
            if self.lease.is_none() {
                return Ok(());
            }
            // Acquire: we take ownership of the deadline field, and see
            // what an earlier extension (its Release CAS in
            // `end_transient`) wrote there, so we never shorten it. On
            // failure we only retry (Relaxed).
            match entry.state.compare_exchange_weak(
                state.0,
                state.with_phase(Phase::Extending).0,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(current) => state = State(current),
            }
        }
        let want = self.now().saturating_add(clock::nanos(by));
        // Relaxed: we own the field while `Extending`; published by the
        // Release CAS in end_transient.
        if want > entry.deadline.load(Ordering::Relaxed) {
            entry.deadline.store(want, Ordering::Relaxed);
        }
        self.end_transient(entry, Phase::InFlight, true);
        Ok(())
    }
}
