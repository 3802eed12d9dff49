//! Dead letters (entering them, taking them out) and shutdown: close,
//! drain.

use super::entry::{Phase, State};
use super::{AckQueue, DeadLetter, DeadReason};
use crate::stats;
use crate::sync::{Backoff, Ordering};

impl<T> AckQueue<T> {
    /// Puts an entry we own, just made `Dead` with no holders, into the
    /// dead letters: on a dead-letter place if one is left (giving its
    /// prefetch place back), else keeping its prefetch place (`overflow`).
    pub(super) fn enter_dead_letters(&self, index: u32, state: State) {
        if self.take_dead_place() {
            self.give_back_place();
        } else {
            // Relaxed: nobody else writes a `Dead` entry without holders;
            // published to the taker by the dead ring's push.
            self.table
                .get(index)
                .state
                .store(state.with_overflow().0, Ordering::Relaxed);
        }
        self.dead.push(index);
    }

    /// Takes the oldest dead letter, if any, settling it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, DeadReason};
    ///
    /// let q = AckQueue::builder().max_deliveries(1).build().unwrap();
    /// q.try_publish("x").unwrap();
    /// q.try_receive().unwrap().nack(true).unwrap(); // 1 delivery: no more
    /// let dead = q.try_receive_dead_letter().unwrap();
    /// assert_eq!(dead.reason(), DeadReason::MaxDeliveries);
    /// assert_eq!(q.settled_below().get(), 1);
    /// ```
    pub fn try_receive_dead_letter(&self) -> Option<DeadLetter<T>> {
        let index = self.dead.pop()?;
        let entry = self.table.get(index);
        // Relaxed: the pop (Acquire) synchronized with the push. The push
        // came after the overflow store and after the CAS into `Dead` with
        // no holders left, which acquired the holders' releases. Nothing
        // changes the state of a `Dead` entry meanwhile.
        let state = State(entry.state.load(Ordering::Relaxed));
        debug_assert_eq!((state.phase(), state.holders()), (Phase::Dead, 0));
        // SAFETY: we popped the index from the dead ring, so the entry is
        // `Dead` with no holders and ours alone; its value is initialized
        // and is moved out once, here (the entry is freed right after).
        let value = entry.value.with(|p| unsafe { (*p).assume_init_read() });
        // Relaxed: written before the state that gave us the entry.
        let seq = entry.seq.load(Ordering::Relaxed);
        let count = entry.delivery_count(state);
        let reason = if state.attempt() == 0 {
            // Never delivered: dead at its first delivery (`ttl.rs`).
            DeadReason::Expired
        } else if state.exhausted() {
            DeadReason::MaxDeliveries
        } else {
            DeadReason::Rejected
        };
        self.make_free(entry, state);
        if state.overflow() {
            self.give_back_place();
        } else {
            self.give_back_dead_place();
        }
        stats::bump(&self.counters.dead_taken);
        // A place for one receiver; a settle for confirmation waiters.
        self.ready.notify(1);
        self.settled.notify(super::ALL);
        Some(DeadLetter {
            value,
            seq,
            count,
            reason,
        })
    }

    /// Closes the queue: publishes fail with
    /// [`PushError::Closed`](crate::PushError::Closed) from now on;
    /// receivers take what is left, then get [`Closed`](crate::Closed).
    /// Settling deliveries still works. Idempotent.
    pub fn close(&self) {
        self.fresh.close();
        // Relaxed: a hint for `finished`, which reads the marked `tail`
        // after it; the notifications below order both stores before the
        // waiters' next tries.
        self.closed.store(1, Ordering::Relaxed);
        self.ready.notify(super::ALL);
        self.room.notify(super::ALL);
        self.scheduling.notify(super::ALL);
    }

    /// Whether [`close`](AckQueue::close) was called.
    pub fn is_closed(&self) -> bool {
        self.fresh.is_closed()
    }

    /// Whether the queue is closed with nothing left to receive.
    pub(super) fn finished(&self) -> bool {
        // Relaxed: a hint. It is read first, so that on every try a
        // waiting receiver reads a line nobody writes before the close, and
        // reads `tail`, which every publish writes, only after it. A stale
        // 0, or a stale unmarked `tail` after a 1, only makes the caller try
        // again; the close's notification orders both stores before its
        // next try.
        if self.closed.load(Ordering::Relaxed) == 0 {
            return false;
        }
        // After `CLOSED` is set the tail is final; `head` never passes it,
        // so equality means every message published was taken by a receive
        // (or a drain).
        let (tail, closed) = self.fresh.tail();
        closed
            && self.fresh.head() == tail
            && self.redeliver.is_empty()
            // Relaxed: delayed requeues are in the table; a stale count only
            // makes us look again.
            && (self.delayed.load(Ordering::Relaxed) == 0 || !self.requeue_delayed())
    }

    /// Whether a requeue waits for its delay: an entry `Delaying`, or
    /// `Delayed` but not a delayed publish (a closed queue never publishes
    /// those). It is `finished`'s look at the table once `delayed` counts
    /// anything.
    fn requeue_delayed(&self) -> bool {
        (0..self.table.len() as u32).any(|index| {
            // Relaxed: a look, as `finished`'s counts.
            let state = State(self.table.get(index).state.load(Ordering::Relaxed));
            state.is(Phase::Delaying) || (state.is(Phase::Delayed) && !Self::is_scheduled(state))
        })
    }

    /// Hands back every unsettled message it can take, settling them, so
    /// an application can persist them at shutdown: fresh ones, requeued
    /// and delayed ones, detached deliveries, and dead letters.
    ///
    /// Call it after [`close`](AckQueue::close); it then waits for
    /// publishes in progress. A message still referenced by a live
    /// [`Delivery`](crate::Delivery) is left to that delivery: its ack
    /// settles it, its nack or drop requeues it for a later `drain`.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().build().unwrap();
    /// for i in 0..3 {
    ///     q.try_publish(i).unwrap();
    /// }
    /// q.try_receive().unwrap().nack(true).unwrap();
    /// q.close();
    /// let mut left = q.drain();
    /// left.sort();
    /// assert_eq!(left, [0, 1, 2]);
    /// ```
    pub fn drain(&self) -> Vec<T> {
        let mut out = Vec::new();
        let backoff = Backoff::new();
        loop {
            while let Some(pos) = self.fresh.claim(|_| true) {
                stats::bump(&self.counters.drained);
                // SAFETY: we claimed `pos` and take it once.
                out.push(unsafe { self.fresh.take(pos) }.msg);
                self.fresh.free(pos);
            }
            let (tail, closed) = self.fresh.tail();
            if !closed || self.fresh.head() == tail {
                break;
            }
            // A publish took its position and has not written it yet.
            backoff.snooze();
        }
        let mut kept = Vec::new();
        while let Some(index) = self.redeliver.pop() {
            // Acquire: pairs with the AcqRel CAS of the last old holder to
            // leave after the requeue's push. So its reads of the value
            // happen-before our move out and the entry's next claim. No
            // model sees this weakened: the census in
            // `loom-tests/README.md` says why.
            let state = State(self.table.get(index).state.load(Ordering::Acquire));
            if state.holders() == 0 {
                out.push(self.take_out(index, state));
            } else {
                kept.push(index);
            }
        }
        for index in kept {
            self.redeliver.push(index);
        }
        while let Some(dead) = self.try_receive_dead_letter() {
            out.push(dead.into_inner());
        }
        for index in 0..self.table.len() as u32 {
            let entry = self.table.get(index);
            // Relaxed: only what to try; the CAS below decides and acquires.
            let mut state = State(entry.state.load(Ordering::Relaxed));
            loop {
                let takeable = matches!(state.phase(), Phase::InFlight | Phase::Delayed);
                // A delayed publish being published (`Taking`, count 0) may
                // come back `Delayed` if the fresh ring refuses it.
                let transient = matches!(state.phase(), Phase::Extending | Phase::Delaying)
                    || (state.is(Phase::Taking) && state.attempt() == 0);
                if state.holders() != 0 || !(takeable || transient) {
                    break;
                }
                if transient {
                    // Its owner is between two CASes.
                    backoff.snooze();
                    // Relaxed: as above.
                    state = State(entry.state.load(Ordering::Relaxed));
                    continue;
                }
                // Acquire: races settles and the scan for this entry. When
                // it wins, it acquires the receive's write of the value and
                // the holders' reads (their AcqRel CASes); our move out and
                // the entry's next claim come after. No model sees this
                // weakened (the census says why). Nobody reads what we write
                // before `make_free`'s Release store. On failure we only
                // retry (Relaxed).
                match entry.state.compare_exchange(
                    state.0,
                    state.with_phase(Phase::Taking).0,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) if Self::is_scheduled(state) => {
                        out.push(self.take_scheduled(entry, state));
                        break;
                    }
                    Ok(_) => {
                        if state.phase() == Phase::Delayed {
                            // Relaxed: a count (see `delayed`).
                            self.delayed.fetch_sub(1, Ordering::Relaxed);
                        }
                        out.push(self.take_out(index, state));
                        break;
                    }
                    Err(current) => state = State(current),
                }
            }
        }
        self.ready.notify(super::ALL);
        self.room.notify(super::ALL);
        self.scheduling.notify(super::ALL);
        self.settled.notify(super::ALL);
        out
    }

    /// Moves the value out of a delivered entry we own with no holders,
    /// frees the entry and gives its prefetch place back (`drain`).
    fn take_out(&self, index: u32, state: State) -> T {
        let entry = self.table.get(index);
        // SAFETY: the caller owns the entry (popped it from the redelivery
        // ring, or moved it to `Taking` by its CAS) and it has no holders.
        // So nobody else reads the initialized value. It is moved out once,
        // and the entry is freed right after.
        let value = entry.value.with(|p| unsafe { (*p).assume_init_read() });
        self.make_free(entry, state);
        stats::bump(&self.counters.drained_delivered);
        self.give_back_place();
        value
    }
}
