//! Prefetch places and dead-letter places: the counts that bound delivered
//! messages (`max_in_flight`) and untaken dead letters
//! (`dead_letter_capacity`), kept without a token to take per delivery.

use super::AckQueue;
use crate::sync::Ordering;

impl<T> AckQueue<T> {
    /// Whether a first delivery of the message at fresh position `head`
    /// stays within the prefetch limit, should the caller's CAS move `head`
    /// from there.
    ///
    /// Places held = first deliveries (the count of `head`, less what
    /// `drain` took from the fresh ring) less the places given back
    /// (`acked`, `released`); a redelivery keeps the place of the first.
    /// The given-back counts only grow, so the count computed from earlier
    /// readings of them is an upper bound of the count when the CAS
    /// succeeds, and that CAS succeeds only if `head` is still the position
    /// counted: the limit holds exactly, with no token to take.
    #[inline]
    pub(super) fn below_prefetch_limit(&self, head: u64) -> bool {
        // Relaxed: monotonic counts, read for their value only (above); the
        // entries themselves are handed over by their state words.
        let given_back = self.acked.load(Ordering::Relaxed)
            + self.released.load(Ordering::Relaxed)
            + self.counters.drained.load(Ordering::Relaxed);
        self.fresh.laps().count(head).saturating_sub(given_back) < self.max_in_flight as u64
    }

    /// Gives back the prefetch place of a message whose entry an ack freed.
    #[inline]
    pub(super) fn ack_place(&self) {
        // Relaxed: a count (see `below_prefetch_limit`); the entry was made
        // `Free` before, which a receive that finds it not yet free looks
        // for again (module docs).
        self.acked.fetch_add(1, Ordering::Relaxed);
    }

    /// Gives back a prefetch place for any other reason (dead letter,
    /// drain).
    pub(super) fn release_place(&self) {
        // Relaxed: as in `ack_place`.
        self.released.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes a dead-letter place, if one is left.
    pub(super) fn take_dead_place(&self) -> bool {
        // Relaxed: a count that carries no data; the bound is kept by the
        // CAS, which fails if another thread took or gave back a place
        // meanwhile.
        let mut held = self.dead_held.load(Ordering::Relaxed);
        while held < self.dead_letter_capacity {
            match self.dead_held.compare_exchange_weak(
                held,
                held + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(current) => held = current,
            }
        }
        false
    }

    /// Gives back a dead-letter place, after the entry was made `Free`.
    pub(super) fn give_back_dead_place(&self) {
        // Relaxed: as in `take_dead_place`.
        self.dead_held.fetch_sub(1, Ordering::Relaxed);
    }
}
