//! Receiving: a first delivery moves a message from the fresh ring into its
//! home entry (or a spare one, when that is busy); a redelivery hands out a
//! requeued entry again.

use core::time::Duration;

use super::entry::{Entry, Phase, State, HOLDERS_MAX};
use super::fresh::{Stamped, NEVER};
use super::{AckQueue, Delivery, Tag};
use crate::error::Closed;
use crate::stats;
use crate::sync::{Backoff, Instant, Ordering};
use crate::wait;

/// `delivered_at` of a delivery received without a clock reading; the
/// first `stats` call that sees it in flight stamps it.
pub(super) const UNSTAMPED: u64 = u64::MAX;

impl<T> AckQueue<T> {
    /// Takes a delivery if one is ready and the prefetch limit allows,
    /// without waiting. Requeued messages come before fresh ones.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().max_in_flight(1).build().unwrap();
    /// q.try_publish("a").unwrap();
    /// q.try_publish("b").unwrap();
    /// let a = q.try_receive().unwrap();
    /// assert!(q.try_receive().is_none()); // prefetch limit reached
    /// a.ack().unwrap();
    /// assert_eq!(*q.try_receive().unwrap(), "b");
    /// ```
    #[inline(always)]
    pub fn try_receive(&self) -> Option<Delivery<'_, T>> {
        // Inlined, so that the delivery reaches the caller in registers:
        // returned through memory, its read back stalls behind the stores
        // still draining to the lines a receive hands over.
        // Relaxed: a hint, as in `timed`.
        if self.receive_reads_clock || self.delayed.load(Ordering::Relaxed) != 0 {
            return self.try_receive_clocked();
        }
        // Without a lease, a delayed requeue or latency recording nothing
        // depends on the clock: the delivery's time is left `UNSTAMPED`
        // (see `stats`).
        if let Some(d) = self.take_redelivery(UNSTAMPED) {
            return Some(d);
        }
        self.take_fresh(UNSTAMPED)
    }

    /// `try_receive` with a lease, a delayed requeue pending or latency
    /// recorded.
    #[inline(never)]
    fn try_receive_clocked(&self) -> Option<Delivery<'_, T>> {
        if self.timed() {
            self.try_receive_timed()
        } else {
            self.try_receive_stamped()
        }
    }

    /// `try_receive` with a lease or a delayed requeue pending: reads the
    /// clock, and scans for expired leases and due requeues.
    #[inline(never)]
    fn try_receive_timed(&self) -> Option<Delivery<'_, T>> {
        let now = self.now();
        self.scan_step(now);
        if let Some(d) = self.take_redelivery(now) {
            return Some(d);
        }
        if let Some(d) = self.take_fresh(now) {
            return Some(d);
        }
        if self.scan_when_dry(now) > 0 {
            // Requeues, or delayed publishes now in the fresh ring.
            return self.take_redelivery(now).or_else(|| self.take_fresh(now));
        }
        None
    }

    /// Waits for a delivery.
    ///
    /// # Errors
    ///
    /// [`Closed`] once the queue is closed and nothing is left to receive
    /// (no fresh message, none waiting for redelivery). Deliveries still
    /// in flight then are not waited for; if they are requeued later,
    /// [`drain`](AckQueue::drain) returns them.
    pub fn receive(&self) -> Result<Delivery<'_, T>, Closed> {
        match self.receive_until(None) {
            Some(result) => result,
            None => unreachable!("a wait without deadline ends only with a result"),
        }
    }

    /// Waits up to `timeout` (real time) for a delivery; `Ok(None)` if
    /// none came.
    ///
    /// # Errors
    ///
    /// As [`receive`](AckQueue::receive).
    pub fn receive_timeout(&self, timeout: Duration) -> Result<Option<Delivery<'_, T>>, Closed> {
        self.receive_until(wait::deadline_after(timeout))
            .transpose()
    }

    fn receive_until(&self, deadline: Option<Instant>) -> Option<Result<Delivery<'_, T>, Closed>> {
        self.wait_for(
            &self.ready,
            deadline,
            || self.receive_look(),
            || self.may_sleep_receiving(),
        )
    }

    /// The look of a waiting receive: a delivery, or `Closed` once
    /// finished.
    pub(super) fn receive_look(&self) -> Option<Result<Delivery<'_, T>, Closed>> {
        if let Some(d) = self.try_receive() {
            Some(Ok(d))
        } else if self.finished() {
            Some(Err(Closed))
        } else {
            None
        }
    }

    /// Whether a receiver that found nothing may sleep (`wait/mod.rs`, "Keyed
    /// notifications"). Publishes and acks notify by key (`tail`,
    /// `acked`), which this reads: a message being published that the
    /// prefetch limit admits is waited for awake.
    pub(super) fn may_sleep_receiving(&self) -> bool {
        self.fresh
            .none_in_transit(|head| self.below_prefetch_limit(head))
    }

    /// Calls `handler` with each delivery until the queue is closed and
    /// nothing is left to receive. The handler settles each delivery (a
    /// delivery it drops is requeued). A panic in the handler propagates,
    /// after requeuing the delivery it held.
    pub fn consume<F>(&self, mut handler: F)
    where
        F: FnMut(Delivery<'_, T>),
    {
        while let Ok(d) = self.receive() {
            handler(d);
        }
    }

    /// Takes the next requeued message, if any.
    #[inline]
    pub(super) fn take_redelivery(&self, now: u64) -> Option<Delivery<'_, T>> {
        let index = self.redeliver.pop()?;
        self.redeliver_entry(index, now)
    }

    /// Delivers the requeued entry `index`, popped from the redelivery
    /// ring, again (or leaves it there while too many holders read it).
    #[cold]
    fn redeliver_entry(&self, index: u32, now: u64) -> Option<Delivery<'_, T>> {
        let entry = self.table.get(index);
        // Relaxed: the pop (Acquire) synchronized with the requeuer's push,
        // which came after its CAS into `Redeliver`. Later changes are old
        // holders letting go, which our CAS below sees.
        let mut state = State(entry.state.load(Ordering::Relaxed));
        if state.holders() >= HOLDERS_MAX {
            // Too many expired deliveries still read the message: leave it
            // waiting, untouched, until one of them lets go. Only we could
            // add a holder, so the count can only fall from here.
            self.redeliver.push(index);
            return None;
        }
        // We popped the index, so the entry is ours in `Redeliver` (only
        // `holders` may change). Relaxed writes: published by the CAS below.
        let count = entry.delivery_count(state).saturating_add(1);
        entry.delivery_count.store(count, Ordering::Relaxed);
        entry.delivered_at.store(now, Ordering::Relaxed);
        let deadline = self.lease.map_or(u64::MAX, |l| now.saturating_add(l));
        entry.deadline.store(deadline, Ordering::Relaxed);
        loop {
            debug_assert_eq!(state.phase(), Phase::Redeliver);
            debug_assert!(state.holders() < HOLDERS_MAX);
            let new = state
                .with_phase(Phase::InFlight)
                .with_holders(state.holders() + 1)
                .with_attempt(count)
                .with_flags(false, false)
                .tag_kept();
            // Release: publishes the fields written above (the deadline
            // above all) to whoever acquires this state (the scan, drain).
            // It fails only if an old holder let go meanwhile. Relaxed on
            // failure: we only retry with the new count, and the holders'
            // reads are acquired by whoever drops the value.
            match entry.state.compare_exchange_weak(
                state.0,
                new.0,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(current) => state = State(current),
            }
        }
        stats::bump(&self.counters.redelivered);
        Some(self.delivery(index, count))
    }

    /// Takes a fresh message, if any and if the prefetch limit allows: moves
    /// it into a free entry, then frees its fresh slot.
    #[inline(always)]
    pub(super) fn take_fresh(&self, now: u64) -> Option<Delivery<'_, T>> {
        loop {
            let pos = self.fresh.claim(|head| self.below_prefetch_limit(head))?;
            // SAFETY: we claimed `pos` on the fresh ring's head just now.
            let index = unsafe { self.deliver_fresh(pos, now) };
            // Keyed by our `head` CAS in `claim` (the `wait` module docs).
            self.room.notify_keyed(1);
            // The guard is made here, from an index in a register: a guard
            // (which has a `Drop`) carried through the loop would go
            // through memory (see `try_receive`).
            if let Some(index) = index {
                return Some(self.delivery(index, 1));
            }
            // The message had expired (`ttl.rs`): try the next one.
        }
    }

    /// Moves the message at fresh position `pos` into its home entry, or
    /// a spare one if that is busy, makes it `InFlight` with one holder,
    /// then frees its fresh slot. Returns the entry's index, from which the
    /// caller makes the first delivery's guard. `None`: the message had
    /// expired and is dead-lettered or dropped (`ttl.rs`). The caller
    /// notifies `room`, keyed by its CAS on `head`.
    ///
    /// # Safety
    ///
    /// The caller claimed `pos` on the fresh ring's head and has not taken
    /// it yet.
    #[inline(always)]
    pub(super) unsafe fn deliver_fresh(&self, pos: u64, now: u64) -> Option<u32> {
        let seq = self.fresh.laps().count(pos);
        // SAFETY: the caller's contract; `seq` is the count of `pos`.
        unsafe { self.deliver_fresh_at(pos, seq, now) }
    }

    /// [`deliver_fresh`](AckQueue::deliver_fresh) given the count of
    /// `pos`, `seq` (which a run counts up as it goes).
    ///
    /// # Safety
    ///
    /// As `deliver_fresh`, and `seq` is `laps.count(pos)`.
    #[inline(always)]
    pub(super) unsafe fn deliver_fresh_at(&self, pos: u64, seq: u64, now: u64) -> Option<u32> {
        debug_assert_eq!(seq, self.fresh.laps().count(pos));
        let home = self.fresh.laps().index(pos) as u32;
        // SAFETY: a slot's index is below the capacity, the number of home
        // entries, which come first in the table.
        let home_entry = unsafe { self.table.get_unchecked(home) };
        let (index, entry, free) = match Self::claim_home(home_entry) {
            Some(free) => (home, home_entry, free),
            None => {
                let (index, free) = self.claim_spare(seq);
                (index, self.table.get(index), free)
            }
        };
        // SAFETY: the caller claimed `pos` and has not taken it (contract
        // above); we take it once.
        let Stamped { msg, expires } = unsafe { self.fresh.take(pos) };
        if expires != NEVER && self.has_expired(expires, now) {
            // SAFETY: as for the delivery below: the entry is ours, `free`
            // its state when claimed, and `pos` ours, taken just now.
            unsafe { self.expire_fresh(pos, seq, index, free, msg) };
            return None;
        }
        // SAFETY: the entry is ours (`claim_home`, `claim_spare`) and its
        // value uninitialized: the thread that made it `Free` moved the
        // previous value out first, and our Acquire load or CAS of the
        // state saw that Release store.
        entry.value.with_mut(|p| unsafe { (*p).write(msg) });
        // Relaxed writes: published by the Release store of the state below.
        // The delivery count is the state's attempt 1 (no store: see
        // `Entry::delivery_count`).
        entry.delivered_at.store(now, Ordering::Relaxed);
        if now != UNSTAMPED {
            // (Folded away where the caller passes `UNSTAMPED`.)
            self.note_first_delivery(entry, pos, now);
        }
        if let Some(lease) = self.lease {
            // Only a lease reads the deadline of an `InFlight` entry.
            entry
                .deadline
                .store(now.saturating_add(lease), Ordering::Relaxed);
        }
        entry.seq.store(seq, Ordering::Relaxed);
        let state = free
            .with_phase(Phase::InFlight)
            .with_holders(1)
            .with_attempt(1);
        // Release: publishes the value and the fields; pairs with the
        // Acquire loads of the state in settles, the scan, drain and the
        // confirmations.
        entry.state.store(state.0, Ordering::Release);
        // After the state store: whoever sees the slot free sees the
        // message in the table (module docs, "Confirmations"), and the
        // next receive of this slot, which comes after the free, sees our
        // claim of the home entry (`entry.rs`).
        self.fresh.free(pos);
        Some(index)
    }

    /// The home entry for the message the caller is receiving, if it is
    /// free. Returns its free state. A free home entry is the caller's
    /// alone, so no CAS: only the receive of a position of its fresh slot
    /// claims it, and the receives of one slot come one after another
    /// (`entry.rs`).
    #[inline(always)]
    fn claim_home(entry: &Entry<T>) -> Option<State> {
        // Acquire: pairs with the Release store (or CAS) that made the
        // entry `Free`, so the previous value's move out happens-before
        // our write. Nobody else writes the state of a `Free` home entry.
        let state = State(entry.state.load(Ordering::Acquire));
        state.is(Phase::Free).then_some(state)
    }

    /// Claims a free spare entry for message `seq`, whose home entry is
    /// busy: the first `Free` one from `spare_start` on, moved to
    /// `Receiving` by CAS. Returns its index and the free state it had.
    /// One is free or being freed (module docs: the spares outnumber the
    /// busy entries once the caller holds a prefetch place).
    #[cold]
    pub(super) fn claim_spare(&self, seq: u64) -> (u32, State) {
        let start = self.table.spare_start(seq);
        let mut index = start;
        let backoff = Backoff::new();
        loop {
            let entry = self.table.get(index);
            // Relaxed: a look; the CAS below decides and synchronizes.
            let state = State(entry.state.load(Ordering::Relaxed));
            // Acquire: pairs with the Release store that made the entry
            // `Free`, so the previous value's move out happens-before our
            // write.
            if state.phase() == Phase::Free
                && entry
                    .state
                    .compare_exchange(
                        state.0,
                        state.with_phase(Phase::Receiving).0,
                        Ordering::Acquire,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                return (index, state);
            }
            index = self.table.next_spare(index);
            if index == start {
                // A whole pass found none free yet: an entry is being freed.
                backoff.snooze();
            }
        }
    }

    /// The guard of delivery `count` of the message in entry `index`, of
    /// which the caller made it a holder.
    #[inline(always)]
    pub(super) fn delivery(&self, index: u32, count: u32) -> Delivery<'_, T> {
        Delivery {
            queue: self,
            index,
            count,
        }
    }

    /// The tag of delivery `count` of entry `index`, for one of its
    /// holders (a guard): the generation is read from the entry, which
    /// cannot be freed, and so cannot change it, while the guard holds it.
    #[inline]
    pub(crate) fn tag_of_holder(&self, index: u32, count: u32) -> Tag {
        // SAFETY: a guard's entry index is one the queue gave out.
        let entry = unsafe { self.table.get_unchecked(index) };
        // Relaxed: the generation was written before the state that made
        // the guard a holder (its receive), which happens-before this.
        let gen = State(entry.state.load(Ordering::Relaxed)).gen() as u32;
        Tag {
            queue: self.table.id(),
            index,
            gen,
            attempt: count,
        }
    }

    /// The sequence number of the message in entry `index`, for one of its
    /// holders (a guard): written by the receive that filled the entry.
    pub(crate) fn seq_of_holder(&self, index: u32) -> u64 {
        // SAFETY: a guard's entry index is one the queue gave out.
        let entry = unsafe { self.table.get_unchecked(index) };
        // Relaxed: written before the state store that made the guard a
        // holder, which happens-before this.
        entry.seq.load(Ordering::Relaxed)
    }
}
