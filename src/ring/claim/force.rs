//! `force_push`: a push that, on a full ring, takes the oldest item's
//! position on `head` too, so that the pop of the oldest item and the push
//! of the new one are one store of the slot's stamp.

use core::mem::MaybeUninit;

use super::overtake::raise;
use super::{Claim, Core};
use crate::sync::{Backoff, Ordering};

impl<T, const LIN: bool> Core<T, LIN> {
    /// Pushes `value`, overwriting the oldest item when the ring is full;
    /// returns the item it overwrote, or `value` itself on a closed ring
    /// ([`Ring::force_push`](crate::Ring::force_push)).
    pub(crate) fn force_push(&self, value: T) -> Option<T> {
        let backoff = Backoff::new();
        // Relaxed: a hint, as in `push_fast`.
        let mut tail = self.tail.at.load(Ordering::Relaxed);
        loop {
            if tail & self.laps.mark() != 0 {
                return Some(value);
            }
            // Relaxed: only chooses between claiming and looking again;
            // `force_write` loads the stamp again with Acquire before it
            // touches the value.
            let stamp = self.slot(tail).stamp.load(Ordering::Relaxed);
            if (stamp.wrapping_sub(tail) as i64) > 0 {
                // Another producer moved past `tail`: look again.
                backoff.spin();
                tail = self.tail.at.load(Ordering::Relaxed);
                continue;
            }
            // The slot is free (stamp == tail) or holds the previous lap's
            // item (the ring is full): claim `tail` either way. SeqCst: as
            // in `push_fast`.
            match self.tail.at.compare_exchange_weak(
                tail,
                self.laps.advance(tail),
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => return self.force_write(tail, value),
                Err(current) => {
                    tail = current;
                    backoff.spin();
                }
            }
        }
    }

    /// The second half of [`force_push`](Core::force_push): we own push
    /// position `tail`, whose slot is free or holds (or is about to hold)
    /// the item of `oldest`, one lap earlier. Either a consumer pops that
    /// item and frees the slot, and we write into it; or we win `head` at
    /// `oldest` ourselves, so the pop of `oldest` and the push of `tail`
    /// are one operation on the slot.
    fn force_write(&self, tail: u64, value: T) -> Option<T> {
        let slot = self.slot(tail);
        // { lap: lap - 1, index }
        let oldest = tail.wrapping_sub(self.laps.one_lap());
        let next = self.laps.advance(tail);
        let backoff = Backoff::new();
        // Before either branch below publishes `tail`.
        self.note_push(tail);
        loop {
            // Acquire: pairs with the Release store of the stamp in `free` (the
            // slot is free) or in `publish` (it holds `oldest`'s value).
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                let claim = Claim {
                    slot,
                    pos: tail,
                    next,
                };
                self.fill(claim, value);
                return None;
            }
            if stamp == oldest.wrapping_add(1) {
                // Between our claim of `head` below and our store of the
                // stamp, a pop at `head` may find its slot not ready: it must
                // read `tail` (which is ahead) and wait, not report empty.
                raise(&self.overtaken.pops_read_tail);
                // Winning the CAS makes `oldest` ours alone, as in
                // `claim_pop`; its value was published to us by the Acquire
                // load above. SeqCst: `head` is the key of pops' wake-ups,
                // and its Release half pairs with the fence in `not_ready`:
                // a pop that sees `head` moved past `oldest` also sees our
                // claim of `tail`, so it waits for our store instead of
                // reporting empty. Relaxed on failure: we only look again.
                if self
                    .head
                    .at
                    .compare_exchange_weak(
                        oldest,
                        self.laps.advance(oldest),
                        Ordering::SeqCst,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    // SAFETY: we own pop position `oldest` (the CAS on head)
                    // and push position `tail` of the same slot, which holds
                    // `oldest`'s initialized value (stamp == oldest + 1, seen
                    // with Acquire): no other thread touches it until we
                    // store the stamp.
                    let old = slot
                        .value
                        .with_mut(|p| unsafe { p.replace(MaybeUninit::new(value)).assume_init() });
                    // Frees `oldest` and publishes `tail` in one store.
                    self.publish(Claim {
                        slot,
                        pos: tail,
                        next,
                    });
                    return Some(old);
                }
            }
            // A consumer is popping `oldest`, or its push is in progress,
            // or an earlier force_push has not moved `head` there yet.
            backoff.snooze();
        }
    }
}
