//! Claims of one position: the pushes and pops of [`Ring`](crate::Ring)
//! and of the ack layer's rings. Each has a first look, inlined into its
//! caller, and a claim loop out of line for when the first look fails.

use super::{Claim, Core, Refused};
use crate::sync::{Backoff, Ordering};

impl<T, const LIN: bool> Core<T, LIN> {
    /// Pushes `value` if the slot at the tail is writable; returns the
    /// position it took. With `WAIT` (linearizable cores only), a slot
    /// whose previous item a consumer is still popping is waited for, and
    /// `Full` means the ring was full at some instant during the call;
    /// without, that slot is reported as full.
    #[inline(always)]
    pub(crate) fn push<const WAIT: bool>(&self, value: T) -> Result<u64, (T, Refused)> {
        match self.push_fast(value) {
            Ok(pos) => Ok(pos),
            Err(value) => self.push_slow::<WAIT>(value),
        }
    }

    /// [`push`](Core::push), calling `before` with the position taken
    /// after the value is written and before it is published: what
    /// `before` stores (with any ordering) is seen by whoever pops the
    /// value, through the Release store of the slot's stamp.
    #[inline]
    pub(crate) fn push_with<const WAIT: bool>(
        &self,
        value: T,
        before: impl FnOnce(u64),
    ) -> Result<u64, (T, Refused)> {
        let claim = match self.claim_push_fast() {
            Some(claim) => claim,
            None => match self.claim_push_slow::<WAIT>() {
                Ok(claim) => claim,
                Err(why) => return Err((value, why)),
            },
        };
        let pos = claim.pos;
        self.write(&claim, value);
        before(pos);
        self.publish(claim);
        Ok(pos)
    }

    /// The claim of [`push_fast`](Core::push_fast), without the write.
    #[inline(always)]
    fn claim_push_fast(&self) -> Option<Claim<'_, T>> {
        // Relaxed, Acquire, SeqCst: as in `push_fast`.
        let tail = self.tail.at.load(Ordering::Relaxed);
        let (index, slot) = self.locate(tail);
        if slot.stamp.load(Ordering::Acquire) != tail {
            return None;
        }
        let next = self.after(tail, index);
        self.tail
            .at
            .compare_exchange_weak(tail, next, Ordering::SeqCst, Ordering::Relaxed)
            .ok()?;
        self.note_push(tail);
        Some(Claim {
            slot,
            pos: tail,
            next,
        })
    }

    /// The first look of [`push`](Core::push): pushes `value` if the slot
    /// at the tail is writable and the CAS succeeds; gives it back
    /// otherwise, for [`push_slow`](Core::push_slow). Inlined into the
    /// caller, with nothing of the slow path's result to merge.
    #[inline(always)]
    pub(crate) fn push_fast(&self, value: T) -> Result<u64, T> {
        // Relaxed: the cursor is only a hint of which slot to look at; the
        // slot's stamp (Acquire below) carries the synchronization, and the
        // CAS, which reads the latest value, catches a mark set since.
        let tail = self.tail.at.load(Ordering::Relaxed);
        let (index, slot) = self.locate(tail);
        // Acquire: pairs with the Release store of the stamp in `free`, so
        // the previous lap's read of this slot happens-before our write. A
        // marked (closed) `tail` equals no stamp: the slow path says closed.
        if slot.stamp.load(Ordering::Acquire) == tail {
            let next = self.after(tail, index);
            // SeqCst: `tail` is the key of the push's wake-up of consumers
            // (`claim` module docs); winning the CAS makes the position ours
            // alone. On failure we only look again.
            if self
                .tail
                .at
                .compare_exchange_weak(tail, next, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                self.note_push(tail);
                let claim = Claim {
                    slot,
                    pos: tail,
                    next,
                };
                self.fill(claim, value);
                return Ok(tail);
            }
        }
        Err(value)
    }

    /// The rest of [`push`](Core::push) after its first look failed.
    #[cold]
    #[inline(never)]
    pub(crate) fn push_slow<const WAIT: bool>(&self, value: T) -> Result<u64, (T, Refused)> {
        match self.claim_push_slow::<WAIT>() {
            Ok(claim) => {
                let pos = claim.pos;
                self.fill(claim, value);
                Ok(pos)
            }
            Err(why) => Err((value, why)),
        }
    }

    /// Pops the item at the head if it is published and the CAS of this
    /// first look succeeds; `None` otherwise, for
    /// [`pop_slow`](Core::pop_slow), which goes on. Inlined into the
    /// caller, with nothing of the slow path's result to merge.
    #[inline(always)]
    pub(crate) fn pop_fast(&self) -> Option<T> {
        // Relaxed: a hint, as in `push_fast`.
        let head = self.head.at.load(Ordering::Relaxed);
        let (index, slot) = self.locate(head);
        // Acquire: pairs with the Release store of the stamp in `publish`,
        // so the value written there is visible to our read.
        if slot.stamp.load(Ordering::Acquire) == head.wrapping_add(1) {
            let next = self.after(head, index);
            // SeqCst: `head` is the key of the pop's wake-up of producers
            // (`claim` module docs); winning the CAS makes the position ours.
            if self
                .head
                .at
                .compare_exchange_weak(head, next, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                self.note_pop(head);
                let claim = Claim {
                    slot,
                    pos: head,
                    next,
                };
                let value = self.take(&claim);
                self.free(claim);
                return Some(value);
            }
        }
        None
    }

    /// The rest of a pop after its first look ([`pop_fast`](Core::pop_fast))
    /// failed. With `WAIT` (linearizable cores only), a slot a producer is
    /// still filling is waited for, and `Empty` means the ring was empty
    /// at some instant during the call (`Closed`: closed and drained);
    /// without, that slot is reported as empty.
    #[cold]
    #[inline(never)]
    pub(crate) fn pop_slow<const WAIT: bool>(&self) -> Result<T, Refused> {
        let claim = self.claim_pop_slow::<WAIT>(|_| true)?;
        let value = self.take(&claim);
        self.free(claim);
        Ok(value)
    }

    /// The claim loop of a push that did not succeed at its first look.
    #[inline]
    fn claim_push_slow<const WAIT: bool>(&self) -> Result<Claim<'_, T>, Refused> {
        debug_assert!(LIN || !WAIT, "only a linearizable core waits");
        let backoff = Backoff::new();
        // Relaxed: a hint, as in `push_fast`.
        let mut tail = self.tail.at.load(Ordering::Relaxed);
        loop {
            if tail & self.laps.mark() != 0 {
                return Err(Refused::Closed);
            }
            let (index, slot) = self.locate(tail);
            // Acquire: as in `push_fast`.
            let stamp = slot.stamp.load(Ordering::Acquire);
            let diff = stamp.wrapping_sub(tail) as i64;
            if diff == 0 {
                let next = self.after(tail, index);
                // SeqCst: as in `push_fast`.
                match self.tail.at.compare_exchange_weak(
                    tail,
                    next,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        self.note_push(tail);
                        return Ok(Claim {
                            slot,
                            pos: tail,
                            next,
                        });
                    }
                    Err(current) => {
                        tail = current;
                        backoff.spin();
                    }
                }
            } else if diff < 0 {
                // The slot holds the item of the previous lap: the ring is
                // full, or a consumer is popping that item.
                if !WAIT || self.is_full_at(tail) {
                    return Err(Refused::Full);
                }
                backoff.snooze();
                tail = self.tail.at.load(Ordering::Relaxed);
            } else {
                // Another producer moved past `tail`: look again.
                backoff.spin();
                tail = self.tail.at.load(Ordering::Relaxed);
            }
        }
    }

    /// Claims the next pop position if its slot is published and
    /// `admit(position)` (asked just before the CAS) allows; the caller
    /// then takes the value ([`take_at`](Core::take_at)) and frees the
    /// slot ([`free_at`](Core::free_at)). With `WAIT`, as
    /// [`pop_fast`](Core::pop_fast).
    #[inline(always)]
    pub(crate) fn claim_pop<const WAIT: bool>(
        &self,
        admit: impl Fn(u64) -> bool,
    ) -> Result<u64, Refused> {
        // Relaxed: a hint, as in `push_fast`.
        let head = self.head.at.load(Ordering::Relaxed);
        let (index, slot) = self.locate(head);
        // Acquire: as in `pop_fast`.
        if slot.stamp.load(Ordering::Acquire) == head.wrapping_add(1) {
            if !admit(head) {
                return Err(Refused::Empty);
            }
            let next = self.after(head, index);
            // SeqCst: as in `pop_fast`.
            if self
                .head
                .at
                .compare_exchange_weak(head, next, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                self.note_pop(head);
                return Ok(head);
            }
        }
        self.claim_pop_slow::<WAIT>(admit).map(|claim| claim.pos)
    }

    /// Whether a slot-only pop may find an item: `false` when the slot at
    /// `head` is not published for that position, which a slot-only claim
    /// reports as empty; `true` otherwise, also when `head` was read stale
    /// (the slot is a lap ahead), where the claim loop reads `head` again.
    /// A look that claims nothing, for a caller that polls a ring which is
    /// mostly empty and would rather not enter the claim loop.
    #[inline(always)]
    pub(crate) fn head_may_be_ready(&self) -> bool {
        // Relaxed, both: a hint; the claim that follows loads both again,
        // the slot with Acquire.
        let head = self.head.at.load(Ordering::Relaxed);
        let stamp = self.slot(head).stamp.load(Ordering::Relaxed);
        (stamp.wrapping_sub(head.wrapping_add(1)) as i64) >= 0
    }

    /// The claim loop of a pop that did not succeed at its first look.
    #[inline]
    fn claim_pop_slow<const WAIT: bool>(
        &self,
        admit: impl Fn(u64) -> bool,
    ) -> Result<Claim<'_, T>, Refused> {
        debug_assert!(LIN || !WAIT, "only a linearizable core waits");
        let backoff = Backoff::new();
        // Relaxed: a hint, as in `push_fast`.
        let mut head = self.head.at.load(Ordering::Relaxed);
        loop {
            let (index, slot) = self.locate(head);
            // Acquire: as in `pop_fast`.
            let stamp = slot.stamp.load(Ordering::Acquire);
            let diff = stamp.wrapping_sub(head.wrapping_add(1)) as i64;
            if diff == 0 {
                if !admit(head) {
                    return Err(Refused::Empty);
                }
                let next = self.after(head, index);
                // SeqCst: as in `pop_fast`.
                match self.head.at.compare_exchange_weak(
                    head,
                    next,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        self.note_pop(head);
                        return Ok(Claim {
                            slot,
                            pos: head,
                            next,
                        });
                    }
                    Err(current) => {
                        head = current;
                        backoff.spin();
                    }
                }
            } else if diff < 0 {
                // Not published for this lap: empty, or a push in progress.
                if !WAIT {
                    return Err(Refused::Empty);
                }
                if let Some(why) = self.not_ready(head) {
                    return Err(why);
                }
                backoff.snooze();
                head = self.head.at.load(Ordering::Relaxed);
            } else {
                // Another consumer moved past `head`: look again.
                backoff.spin();
                head = self.head.at.load(Ordering::Relaxed);
            }
        }
    }
}
