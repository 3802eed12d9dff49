//! Prefetch places and dead-letter places: the counts that bound delivered
//! messages (`max_in_flight`) and untaken dead letters
//! (`dead_letter_capacity`), kept without a token to take per delivery.

use super::AckQueue;
use crate::sync::{self, AtomicUsize, Ordering};

impl<T> AckQueue<T> {
    /// Whether a first delivery of the message at fresh position `head`
    /// stays within the prefetch limit, should the caller's CAS move `head`
    /// from there.
    ///
    /// Places held = first deliveries (the count of `head`, less what
    /// `drain` took from the fresh ring) less the places given back
    /// (`acked`, `given_back`). A redelivery keeps the place of the first.
    ///
    /// The given-back counts only grow. So the count computed from earlier
    /// readings of them is an upper bound of the count when the CAS
    /// succeeds. That CAS succeeds only if `head` is still the position
    /// counted. So the limit holds exactly, with no token to take.
    ///
    /// `admit_below` caches `max_in_flight` plus such a reading, so a
    /// count below it is admitted without reading the counts that acks
    /// write. Past it, the counts are read again and the cache raised.
    #[inline]
    pub(super) fn below_prefetch_limit(&self, head: u64) -> bool {
        let count = self.fresh.laps().count(head);
        // Relaxed: a bound computed from a reading of the given-back
        // counts, valid at any later time because they never decrease; it
        // carries no data.
        count < self.admit_below.load(Ordering::Relaxed) || count < self.recount_places()
    }

    /// How many of the `n` messages from fresh position `head` on a batch
    /// receive may take within the prefetch limit, should the caller's CAS
    /// move `head` past them. It is the most `m <= n` for which the last of
    /// them, of count `count(head) + m - 1`, is below the bound.
    ///
    /// The argument of `below_prefetch_limit` holds for the whole run. The
    /// bound was computed from readings of counts that never decrease, and
    /// the one CAS succeeds only if `head` is still the position counted.
    /// So the places held after it are at most `max_in_flight`.
    #[inline]
    pub(super) fn places_for_run(&self, head: u64, n: u64) -> u64 {
        let count = self.fresh.laps().count(head);
        // Relaxed: as in `below_prefetch_limit`.
        if count + n <= self.admit_below.load(Ordering::Relaxed) {
            return n;
        }
        self.recount_places().saturating_sub(count).min(n)
    }

    /// The prefetch bound past the cached one: reads the given-back
    /// counts, raises the cached bound, and returns the bound read.
    #[cold]
    fn recount_places(&self) -> u64 {
        // Relaxed: monotonic counts, read for their value only (above); the
        // entries themselves are handed over by their state words. A
        // keyed waiter (`receive.rs`) calls this after arming, which
        // orders the read of `acked`, its key (`wait/mod.rs`).
        let given_back = sync::key_load(&self.acked, Ordering::Relaxed)
            + self.given_back.load(Ordering::Relaxed)
            + self.counters.drained.load(Ordering::Relaxed);
        let bound = given_back + self.max_in_flight as u64;
        // Relaxed: see `below_prefetch_limit`. A plain store, no RMW: a
        // racing receive may store a lower bound, which is still valid.
        if bound > self.admit_below.load(Ordering::Relaxed) {
            self.admit_below.store(bound, Ordering::Relaxed);
        }
        bound
    }

    /// How many prefetch places are held, at least: every delivery that
    /// held one since before the call and still holds one is counted.
    /// (The count of `head` is read first and the given-back counts after,
    /// all of them monotonic, so a place taken and given back in between
    /// is at worst counted as given back.)
    pub(super) fn places_held(&self) -> u64 {
        let taken = self.fresh.laps().count(self.fresh.head());
        // Relaxed: monotonic counts read for their value (see
        // `recount_places`).
        let given_back = self.acked.load(Ordering::Relaxed)
            + self.given_back.load(Ordering::Relaxed)
            + self.counters.drained.load(Ordering::Relaxed);
        taken.saturating_sub(given_back)
    }

    /// Gives back the prefetch places of `n` messages whose entries acks
    /// freed (one for an ack, the whole batch's for a batch ack).
    #[inline]
    pub(super) fn ack_places(&self, n: u64) {
        // SeqCst: `acked` is the key of the ack's notification of receivers
        // and confirmation waiters (`wait/mod.rs`, "Keyed notifications"), and
        // its Release half publishes the settle and the free before it to
        // a confirmation waiter's Acquire load (`confirm.rs`). As a count
        // (see `below_prefetch_limit`) it needs nothing: the entries were
        // made `Free` before, which a receive that finds none free yet looks
        // for again (module docs).
        self.acked.fetch_add(n, Ordering::SeqCst);
    }

    /// Reads the count of places acks gave back with Acquire, for a
    /// confirmation waiter before it looks at the table. The look
    /// (`confirm.rs`) then sees the settle and free of every ack whose RMW
    /// the load reads, or whose RMW comes before the one read in the
    /// count's modification order.
    pub(super) fn see_acks(&self) {
        // Acquire: pairs with the SeqCst (so Release) RMW in `ack_places`;
        // the RMWs form one release sequence, so reading a later one also
        // synchronizes with the earlier.
        sync::key_load(&self.acked, Ordering::Acquire);
    }

    /// Gives back a prefetch place for any other reason (dead letter,
    /// drain).
    pub(super) fn give_back_place(&self) {
        // Relaxed: as in `ack_places`.
        self.given_back.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes a dead-letter place, if one is left.
    pub(super) fn take_dead_place(&self) -> bool {
        take_place(&self.dead_held, self.dead_letter_capacity)
    }

    /// Gives back a dead-letter place, after the entry was made `Free`.
    pub(super) fn give_back_dead_place(&self) {
        // Relaxed: as in `take_dead_place`.
        self.dead_held.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Takes one of `bound` places counted by `held`, if one is left.
pub(super) fn take_place(held: &AtomicUsize, bound: usize) -> bool {
    // Relaxed: a count that carries no data; the bound is kept by the CAS,
    // which fails if another thread took or gave back a place meanwhile.
    let mut now = held.load(Ordering::Relaxed);
    while now < bound {
        match held.compare_exchange_weak(now, now + 1, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(current) => now = current,
        }
    }
    false
}
