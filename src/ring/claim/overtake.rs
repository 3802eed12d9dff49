//! What keeps the waiting claims linearizable (module docs of `claim`,
//! "Linearizable claims"): the `done` hints each claimer leaves, the
//! overtake flags, and the not-ready paths that read them.

use super::{Core, Refused};
use crate::sync::{fence, AtomicBool, Ordering};

/// When a failed claim must read the other side's cursor: set once, never
/// cleared (`claim` module docs, "Linearizable claims").
pub(super) struct Overtaken {
    /// Set by a push that finds the position before its own unpublished,
    /// by a `force_push` that takes the oldest item, and by `close`.
    pub(super) pops_read_tail: AtomicBool,
    /// Set by a pop that finds the position before its own not freed.
    pub(super) pushes_read_head: AtomicBool,
}

impl Overtaken {
    pub(super) fn new() -> Self {
        Self {
            pops_read_tail: AtomicBool::new(false),
            pushes_read_head: AtomicBool::new(false),
        }
    }
}

impl<T, const LIN: bool> Core<T, LIN> {
    /// Called by the claimer of push position `pos` before it publishes:
    /// if the position before is claimed and not published yet, this push
    /// overtakes it, and from then on a failed pop reads `tail` (module
    /// docs, "Linearizable claims").
    #[inline(always)]
    pub(super) fn note_push(&self, pos: u64) {
        // Acquire: pairs with the Release store in `pushed_to`, so that the
        // publish of the position before happens-before ours: a call that
        // happens after ours then sees that publish in the slot, as it
        // would had we read the slot ourselves.
        if LIN && self.tail.done.load(Ordering::Acquire) != pos {
            self.check_push_overtake(pos);
        }
    }

    #[inline(never)]
    fn check_push_overtake(&self, pos: u64) {
        let prev = self.laps.prev(pos);
        // Relaxed: the value only decides whether to raise the flag; a call
        // that happens after ours and loads this slot's stamp reads this
        // value or a later one (read-read coherence).
        let stamp = self.slot(prev).stamp.load(Ordering::Relaxed);
        if (stamp.wrapping_sub(prev.wrapping_add(1)) as i64) < 0 {
            raise(&self.overtaken.pops_read_tail);
        }
    }

    /// Called by a push after it published every position before `next`.
    #[inline(always)]
    pub(super) fn pushed_to(&self, next: u64) {
        if LIN {
            // Release: pairs with the Acquire load in `note_push`.
            self.tail.done.store(next, Ordering::Release);
        }
    }

    /// Called by the claimer of pop position `pos` before it frees the
    /// slot: if the position before is claimed and not freed yet, this pop
    /// overtakes it, and from then on a failed push reads `head`.
    #[inline(always)]
    pub(super) fn note_pop(&self, pos: u64) {
        // Acquire: pairs with the Release store in `popped_to`, as in
        // `note_push`.
        if LIN && self.head.done.load(Ordering::Acquire) != pos {
            self.check_pop_overtake(pos);
        }
    }

    #[inline(never)]
    fn check_pop_overtake(&self, pos: u64) {
        let prev = self.laps.prev(pos);
        // Relaxed: as in `check_push_overtake`.
        let stamp = self.slot(prev).stamp.load(Ordering::Relaxed);
        if (stamp.wrapping_sub(self.laps.next_lap(prev)) as i64) < 0 {
            raise(&self.overtaken.pushes_read_head);
        }
    }

    /// Called by a pop after it freed every position before `next`.
    #[inline(always)]
    pub(super) fn popped_to(&self, next: u64) {
        if LIN {
            // Release: pairs with the Acquire load in `note_pop`.
            self.head.done.store(next, Ordering::Release);
        }
    }

    /// A push found the slot at `tail` still holding the previous lap's
    /// item: whether the ring is full (`true`), or a consumer has claimed
    /// that item and not freed the slot yet (`false`: look again).
    pub(super) fn is_full_at(&self, tail: u64) -> bool {
        // SeqCst fence: orders the slot's load before the loads below
        // (`claim` module docs, "Linearizable claims").
        fence(Ordering::SeqCst);
        // Acquire: pairs with the SeqCst store in `raise`, so that the
        // overtaking pop's claim of `head` is seen below.
        if !self.overtaken.pushes_read_head.load(Ordering::Acquire) {
            return true;
        }
        // Relaxed: ordered by the fence; only compared.
        let head = self.head.at.load(Ordering::Relaxed);
        self.laps.next_lap(head) == tail
    }

    /// A pop found the slot at `head` not published for this lap. Says
    /// why: empty, or closed and drained; `None` when a push has claimed
    /// `head` (or a force_push has moved `head` past the item it is
    /// replacing) and not stored its `stamp` yet: the caller waits a step
    /// and looks again.
    pub(super) fn not_ready(&self, head: u64) -> Option<Refused> {
        // SeqCst fence: orders the slot's load before the loads below
        // (`claim` module docs, "Linearizable claims").
        fence(Ordering::SeqCst);
        // Acquire: pairs with the SeqCst store in `raise`, so that the
        // overtaking push's claim (or the close's mark) is seen below.
        if !self.overtaken.pops_read_tail.load(Ordering::Acquire) {
            return Some(Refused::Empty);
        }
        // Relaxed: ordered by the fence; only compared.
        let tail = self.tail.at.load(Ordering::Relaxed);
        if tail & !self.laps.mark() != head {
            None
        } else if tail & self.laps.mark() != 0 {
            Some(Refused::Closed)
        } else {
            Some(Refused::Empty)
        }
    }
}

/// Sets `flag` for good (it is never cleared).
#[inline(never)]
pub(super) fn raise(flag: &AtomicBool) {
    // Relaxed: only skips the store once the flag is set, by anyone.
    if !flag.load(Ordering::Relaxed) {
        // SeqCst: a failed claim that begins after this call reads the flag
        // after its SeqCst fence (crossbeam's real-time reasoning, as for
        // the cursors).
        flag.store(true, Ordering::SeqCst);
    }
}
