//! The calls through `&mut`, which no other thread can race: a push and a
//! pop without CAS, and `Drop`, which drops the items left.

use core::mem::MaybeUninit;

use super::Core;
use crate::drop_each::drop_each;
use crate::sync::Ordering;

impl<T, const LIN: bool> Core<T, LIN> {
    /// Pushes through `&mut self`: no other thread can be using the ring,
    /// so no CAS and no wait. Gives `value` back when full or closed.
    pub(crate) fn push_mut(&mut self, value: T) -> Result<(), T> {
        // Relaxed, here and below: `&mut self` means every other thread's
        // use of the ring happened-before this call.
        let tail = self.tail.at.load(Ordering::Relaxed);
        if tail & self.laps.mark() != 0 {
            return Err(value);
        }
        let slot = self.slot(tail);
        // Nothing is in progress: the slot is free or holds the previous
        // lap's item.
        if slot.stamp.load(Ordering::Relaxed) != tail {
            return Err(value);
        }
        // SAFETY: `&mut self` makes position `tail` ours, and its slot is
        // free (stamp == tail).
        slot.value
            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
        slot.stamp.store(tail.wrapping_add(1), Ordering::Relaxed);
        let next = self.laps.advance(tail);
        self.tail.at.store(next, Ordering::Relaxed);
        self.tail.done.store(next, Ordering::Relaxed);
        Ok(())
    }

    /// Pops through `&mut self`, without CAS or wait.
    pub(crate) fn pop_mut(&mut self) -> Option<T> {
        // Relaxed, here and below: as in push_mut.
        let head = self.head.at.load(Ordering::Relaxed);
        let slot = self.slot(head);
        if slot.stamp.load(Ordering::Relaxed) != head.wrapping_add(1) {
            return None;
        }
        // SAFETY: `&mut self` makes position `head` ours, and its slot holds
        // an initialized value (stamp == head + 1), moved out once: the stamp
        // store below frees the slot.
        let value = slot.value.with(|p| unsafe { p.read().assume_init() });
        slot.stamp
            .store(self.laps.next_lap(head), Ordering::Relaxed);
        let next = self.laps.advance(head);
        self.head.at.store(next, Ordering::Relaxed);
        self.head.done.store(next, Ordering::Relaxed);
        Some(value)
    }

    /// Drops the items of positions `from..to`, and if one's `Drop` panics,
    /// still the others (a second panic while unwinding aborts, as in
    /// `Vec`).
    ///
    /// # Safety
    ///
    /// The caller owns the ring exclusively, the slots of `from..to` hold
    /// initialized values, and nothing reads them afterwards.
    unsafe fn drop_items(&self, from: u64, to: u64) {
        let mut pos = from;
        drop_each(|| {
            if pos == to {
                return None;
            }
            let at = pos;
            pos = self.laps.advance(pos);
            // SAFETY: the caller's guarantee: position `at` holds an
            // initialized value, moved out once: `pos` moved past it.
            Some(
                self.slot(at)
                    .value
                    .with(|p| unsafe { (*p).assume_init_read() }),
            )
        });
    }
}

impl<T, const LIN: bool> Drop for Core<T, LIN> {
    fn drop(&mut self) {
        if !core::mem::needs_drop::<T>() {
            return;
        }
        // Relaxed: `&mut self` means every other thread's operations
        // happened-before this drop (the handoff that gave us the ring
        // synchronized), so every completed push is visible.
        let head = self.head.at.load(Ordering::Relaxed);
        let tail = self.tail.at.load(Ordering::Relaxed) & !self.laps.mark();
        // SAFETY: positions head..tail were pushed and not popped (no
        // operation is in flight while we hold `&mut self`), so each of
        // their slots holds an initialized value; the ring is gone after.
        unsafe { self.drop_items(head, tail) }
    }
}
