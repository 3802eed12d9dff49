//! The cursors seen from outside a claim: the close mark, snapshots, the
//! keys a waiter reads, the length, and whether a position's slot is
//! published or freed.

use super::overtake::raise;
use super::Core;
use crate::sync::Ordering;

impl<T, const LIN: bool> Core<T, LIN> {
    /// Closes the ring to pushes; `false` if it was closed already.
    pub(crate) fn close(&self) -> bool {
        // Relaxed: the close takes effect here; every push's CAS, an RMW,
        // reads the latest value and so sees the mark from then on, and
        // the caller's wake-ups order it before the waiters' next look.
        let was = self.tail.at.fetch_or(self.laps.mark(), Ordering::Relaxed);
        if LIN {
            // A pop whose slot is not ready reads `tail` from now on, to
            // tell closed from empty.
            raise(&self.overtaken.pops_read_tail);
        }
        was & self.laps.mark() == 0
    }

    /// Whether [`close`](Core::close) was called.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        // Relaxed: a snapshot; no data depends on it.
        self.tail.at.load(Ordering::Relaxed) & self.laps.mark() != 0
    }

    /// The tail position (without the mark bit) and whether the ring is
    /// closed: a snapshot.
    pub(crate) fn tail(&self) -> (u64, bool) {
        // Relaxed: after the mark is set the tail is final (coherence on
        // this word); callers use it as a count.
        let tail = self.tail.at.load(Ordering::Relaxed);
        (tail & !self.laps.mark(), tail & self.laps.mark() != 0)
    }

    /// The head position: a snapshot.
    pub(crate) fn head(&self) -> u64 {
        // Relaxed: a count; the slots hand values over.
        self.head.at.load(Ordering::Relaxed)
    }

    /// The tail position as read by a keyed waiter after arming
    /// (`wait/mod.rs`, "Keyed notifications"), without the mark bit, and
    /// whether the ring is closed.
    pub(crate) fn tail_key(&self) -> (u64, bool) {
        let tail = crate::sync::key_load(&self.tail.at, Ordering::Relaxed);
        (tail & !self.laps.mark(), tail & self.laps.mark() != 0)
    }

    /// The head position as read by a keyed waiter after arming.
    pub(crate) fn head_key(&self) -> u64 {
        crate::sync::key_load(&self.head.at, Ordering::Relaxed)
    }

    /// Whether the slot of `pos` (a position below the tail) was freed
    /// since the publish there (`true`), or still holds that publish's
    /// value, or is about to (`false`).
    pub(crate) fn freed(&self, pos: u64) -> bool {
        // Acquire: pairs with the Release store in `free`, so a caller that
        // sees the slot freed then sees what its freer wrote before.
        let stamp = self.slot(pos).stamp.load(Ordering::Acquire);
        (stamp.wrapping_sub(self.laps.next_lap(pos)) as i64) >= 0
    }

    /// Whether the slot of `pos` holds the value published at `pos`, not
    /// yet freed.
    pub(crate) fn published(&self, pos: u64) -> bool {
        // Acquire: pairs with the Release store in `publish`, so a caller
        // that sees the value published sees what its publisher wrote
        // before (`push_with`).
        self.slot(pos).stamp.load(Ordering::Acquire) == pos.wrapping_add(1)
    }

    /// The number of items: a consistent snapshot of the two cursors,
    /// never above the capacity. Items whose push or pop is in progress
    /// count as inside.
    pub(crate) fn len(&self) -> u64 {
        loop {
            // SeqCst: the three loads are totally ordered, so when `tail` is
            // the same before and after `head` was read, the pair existed at
            // one instant (the moment of the head load).
            let tail = self.tail.at.load(Ordering::SeqCst);
            let head = self.head.at.load(Ordering::SeqCst);
            if self.tail.at.load(Ordering::SeqCst) == tail {
                // A force_push may have claimed `tail` before it moved
                // `head`: at most `capacity` items are ever inside.
                let tail = tail & !self.laps.mark();
                return self.laps.span(head, tail).min(self.laps.capacity());
            }
            crate::sync::spin_loop();
        }
    }
}
