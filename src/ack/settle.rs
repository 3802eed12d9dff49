//! The settle watermark: `below`, such that every sequence number under it
//! is settled.
//!
//! # Mechanism
//!
//! A window of `size` (a power of two) flags, one per sequence number
//! modulo `size`. Settling `seq` stores the *stamp* `seq + 1` into flag
//! `seq % size`; a stamp names its sequence exactly, so a flag never needs
//! clearing and an old lap's stamp is never mistaken for a new one.
//! Whoever settles then advances `below` over every consecutive settled
//! sequence: while flag `below % size` holds `below + 1`, CAS `below` to
//! `below + 1`.
//!
//! A producer may take sequence `s` only while `s < below + size`
//! ([`SettleWindow::limit`], read now or earlier: `below` only grows); so the flag of `s` is free: its previous
//! user, `s - size`, is below the watermark and thus settled.
//!
//! # Why the watermark never passes an unsettled sequence
//!
//! `below` moves from `w` to `w + 1` only by a CAS made after reading
//! stamp `w + 1` in flag `w % size`, which only the settle of `w` writes
//! (the next writer of that flag is `w + size`, which cannot be taken
//! before `below > w`), or by a plain store made by the settle of `w`
//! itself after reading `below == w` (the in-order fast path: that settle
//! writes no stamp, so nobody else can move `below` off `w` meanwhile, and
//! no stamp of `w` is needed once `below` is past it).
//!
//! # Why it does not stall behind a settled sequence
//!
//! Every flag store is followed by a `fence(SeqCst)` (the one that begins
//! `Waiter::notify`, see [`SettleWindow::settle`]) before `below` is
//! read, and every read of a flag is preceded by a `fence(SeqCst)` after
//! `below` was read or moved (by a CAS or by the fast path's store), so the two sides form a store-buffering
//! (Dekker) pair ordered by the fences' single total order. (Fences rather
//! than `SeqCst` accesses: the argument needs the store-to-load ordering,
//! and loom, which checks it, models `SeqCst` fences but treats `SeqCst`
//! loads and stores as acquire/release. On x86 the cost is the same: one
//! full barrier per side.) Suppose `below` ends at `w` with `w`
//! settled by thread A. A stored the stamp, fenced, then loaded
//! `below`; its loop stopped at some `w' < w` whose flag it saw unset.
//! Whoever later moved `below` to `w` (thread D) then fenced and loaded
//! flag `w`; as `below` stays at `w`, D saw it unset. Of the two fences,
//! if A's came first, D's flag load would see A's stamp; so D's came
//! first, and A's load of `below` sees D's CAS, reading `w` or more: a
//! contradiction. So after every settle has returned,
//! `below` is exactly the first unsettled sequence.

use core::fmt;

use crossbeam_utils::CachePadded;

use crate::sync::{fence, AtomicU64, Ordering};
use crate::wait::Waiter;

/// Settled flags over a sliding window of sequence numbers.
pub(crate) struct SettleWindow {
    /// Every sequence number below this one is settled.
    below: CachePadded<AtomicU64>,
    /// Flag `s % size` holds `s + 1` once `s` is settled (0 = never).
    flags: Box<[AtomicU64]>,
    /// `size - 1`, `size` a power of two.
    mask: u64,
}

impl SettleWindow {
    /// A window of `size` flags; `size` must be a power of two.
    pub(crate) fn new(size: usize) -> Self {
        debug_assert!(size.is_power_of_two());
        Self {
            below: CachePadded::new(AtomicU64::new(0)),
            flags: (0..size).map(|_| AtomicU64::new(0)).collect(),
            mask: size as u64 - 1,
        }
    }

    /// The number of flags.
    pub(crate) fn size(&self) -> u64 {
        self.mask + 1
    }

    /// Every sequence below the returned one is settled.
    #[inline]
    pub(crate) fn below(&self) -> u64 {
        // SeqCst: one of the watermark operations ordered in the module
        // docs.
        self.below.load(Ordering::SeqCst)
    }

    /// The first sequence number that may not be handed out yet: every
    /// `seq` below it has a free flag. Only grows; a value read earlier is
    /// still a valid (smaller) bound.
    #[inline]
    pub(crate) fn limit(&self) -> u64 {
        self.below().saturating_add(self.size())
    }

    /// Records that `seq` is settled and moves the watermark over every
    /// consecutive settled sequence. Each `seq` must be settled once.
    ///
    /// Also notifies `waiter` for everything the caller did before (the
    /// caller needs no `notify` of its own) and for the watermark's moves:
    /// [`Waiter::notify`] begins with the `fence(SeqCst)` that is the
    /// notifier's half of the parking protocol (`wait.rs`), and the same
    /// fence serves as this settle's half of the watermark's pair (module
    /// docs), so an in-order settle costs one full barrier, not two.
    pub(crate) fn settle(&self, seq: u64, waiter: &Waiter) {
        // SeqCst: a watermark operation (module docs). Only the settle of
        // `seq` can move `below` off `seq`, so if it is `seq` now it stays
        // so until we move it: the in-order fast path, with no stamp.
        if self.below.load(Ordering::SeqCst) == seq {
            // SeqCst: as every write of `below`; a waiter that sees it pass
            // `seq` also sees what the settle did before.
            self.below.store(seq.wrapping_add(1), Ordering::SeqCst);
            // Its SeqCst fence orders our `below` store before the flag
            // load in `advance_from` (the advancer's half of the pair in
            // the module docs) and before the sleepers check.
            waiter.notify();
            if self.advance_from(seq.wrapping_add(1)) {
                waiter.notify();
            }
            return;
        }
        // Release: a waiter that sees the watermark pass `seq` also sees
        // what the settle did before. The fence in `notify` orders this
        // store before our load of `below` (module docs).
        self.flags[(seq & self.mask) as usize].store(seq.wrapping_add(1), Ordering::Release);
        // Its SeqCst fence is our half of the store-buffering pair in the
        // module docs (a settler's stamp store before its `below` load; an
        // advancer's `below` update before its flag load).
        waiter.notify();
        if self.advance_from(self.below.load(Ordering::SeqCst)) {
            waiter.notify();
        }
    }

    /// Moves `below` forward from `w` (a value it had after our last
    /// fence) while its flag carries its stamp; returns whether it moved
    /// it (the caller then notifies waiters once more).
    fn advance_from(&self, mut w: u64) -> bool {
        let mut moved = false;
        loop {
            // Acquire: pairs with the Release stamp store in `settle`.
            let flag = self.flags[(w & self.mask) as usize].load(Ordering::Acquire);
            if flag != w.wrapping_add(1) {
                return moved;
            }
            // A failed CAS means another thread moved `below`: carry on
            // from where it is now.
            w = match self
                .below
                .compare_exchange(w, w + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    moved = true;
                    w + 1
                }
                Err(current) => current,
            };
            // SeqCst fence: orders the CAS (or the failed CAS's read) before
            // the next flag load, as above.
            fence(Ordering::SeqCst);
        }
    }
}

impl fmt::Debug for SettleWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SettleWindow")
            .field("below", &self.below())
            .field("size", &self.size())
            .finish()
    }
}
