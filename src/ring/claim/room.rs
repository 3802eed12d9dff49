//! Room ahead: where a blocked producer waits before it tries again, so
//! that it comes back for a run of free slots.

use super::Core;
use crate::sync::{Backoff, Ordering};

/// How far past the full slot a blocked producer waits for room before it
/// looks again ([`Core::wait_for_room_ahead`]).
const ROOM_AHEAD: u64 = 32;
/// The most times it looks (each after a backoff step).
const ROOM_AHEAD_POLLS: u32 = 64;

impl<T, const LIN: bool> Core<T, LIN> {
    /// After a push found the ring full: waits until the slot
    /// `ROOM_AHEAD` places past `tail` is free too. The producer then comes
    /// back for a run of free slots, instead of polling the one a consumer
    /// is about to free, whose cache line that consumer is still using for
    /// its next pops. The wait lasts a few microseconds at most, as a
    /// backoff's first steps would; with `spin`, it only spins.
    pub(crate) fn wait_for_room_ahead(&self, spin: bool) {
        let ahead = ROOM_AHEAD.min(self.laps.capacity() - 1);
        // Relaxed: a hint of which slot to watch; the claim decides.
        let tail = self.tail.at.load(Ordering::Relaxed);
        if ahead == 0 || tail & self.laps.mark() != 0 {
            return;
        }
        let far = self.laps.ahead(tail, ahead);
        let slot = self.slot(far);
        let backoff = Backoff::new();
        // Relaxed: a hint, as above. Free for `far` (or a later lap, if
        // other producers moved on) ends the wait.
        for _ in 0..ROOM_AHEAD_POLLS {
            if slot.stamp.load(Ordering::Relaxed).wrapping_sub(far) as i64 >= 0 {
                return;
            }
            if spin {
                backoff.spin();
            } else if backoff.is_completed() {
                return;
            } else {
                backoff.snooze();
            }
        }
    }
}
