//! The one place that chooses between `std` and `loom` primitives.
//!
//! Every atomic, cell, lock, spin hint, yield and clock reading in the crate
//! goes through this module, so that a build with
//! `RUSTFLAGS="--cfg loom"` and the `loom` feature model-checks the real
//! algorithm rather than a copy of it. The gate is `all(loom, feature =
//! "loom")`: a downstream crate that sets `--cfg loom` for its own models
//! but does not enable our `loom` feature still gets the `std` arm.
//!
//! Both arms expose the same surface:
//!
//! - atomics (`AtomicUsize`, `AtomicU64`, `AtomicU32`),
//!   `Ordering` and `fence`;
//! - [`UnsafeCell`] with loom's closure API (`with` / `with_mut`), so the
//!   algorithm reads the same under both;
//! - `Mutex`, the wait lists' lock;
//! - `Thread`, `current_thread`, `park` and `park_timeout`, how a thread
//!   sleeps in a wait list until a notification unparks it;
//! - `Arc`, the handle an owned delivery keeps (loom's under loom, so that
//!   a model sees the synchronization of the last handle's drop, which
//!   drops the queue and every value still in it);
//! - [`Backoff`] (crossbeam's on `std`; a yield-only stand-in under loom,
//!   because loom must be told about every spin to schedule another thread);
//! - [`spin_loop`] and `yield_now`;
//! - `key_load`, a load outside loom, and `KEYED_LOAD` (see their
//!   loom arm);
//! - [`Instant`], which under loom is frozen: a deadline `now + d` has passed
//!   exactly when `d` is zero, so models stay deterministic.

#[cfg(not(all(loom, feature = "loom")))]
mod imp {
    pub(crate) use std::sync::atomic::{
        fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };
    pub(crate) use std::sync::{Arc, Mutex};
    pub(crate) use std::thread::{current as current_thread, park, park_timeout, Thread};

    pub(crate) use crossbeam_utils::Backoff;

    /// Tells the CPU we are in a busy-wait loop.
    #[inline(always)]
    pub(crate) fn spin_loop() {
        core::hint::spin_loop();
    }

    pub(crate) use std::thread::yield_now;

    /// A keyed waiter's read of a key (the `wait` module docs, "Keyed notifications"):
    /// a load with `order` (see the loom arm).
    #[inline(always)]
    pub(crate) fn key_load(key: &AtomicU64, order: Ordering) -> u64 {
        key.load(order)
    }

    /// The ordering of a keyed notification's load of `armed` (the `wait`
    /// module docs): SeqCst, so that the key's SeqCst RMW precedes it in
    /// the single total order.
    pub(crate) const KEYED_LOAD: Ordering = Ordering::SeqCst;

    pub(crate) use std::time::Instant;

    /// `std::cell::UnsafeCell` with loom's closure-based access API.
    #[derive(Debug)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        #[inline(always)]
        pub(crate) const fn new(value: T) -> Self {
            Self(core::cell::UnsafeCell::new(value))
        }

        /// Runs `f` with a shared raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with an exclusive raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(all(loom, feature = "loom"))]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{
        fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };
    pub(crate) use loom::sync::{Arc, Mutex};
    pub(crate) use loom::thread::{current as current_thread, park, Thread};

    /// Loom's clock never moves (see `Instant` below), so a timed park is
    /// a park: a waiter whose deadline is in the future sleeps until it is
    /// woken, and a model that never wakes it deadlocks.
    pub(crate) fn park_timeout(_: std::time::Duration) {
        loom::thread::park();
    }

    /// Under loom every spin is a yield point, or the model would never let
    /// the thread we are waiting for run.
    #[inline]
    pub(crate) fn spin_loop() {
        loom::thread::yield_now();
    }

    pub(crate) use loom::thread::yield_now;

    /// A keyed waiter's read of a key (the `wait` module docs, "Keyed notifications"),
    /// as an AcqRel RMW that adds nothing. Loom orders SeqCst accesses
    /// only as AcqRel (its README, "Unsupported features"), so it cannot
    /// see the single total order the notifier's SeqCst RMW on the key and
    /// its `armed` load rely on; the waiter's RMW stands in for it. RMWs
    /// on the key are totally ordered: if the waiter's comes first, the
    /// notifier's RMW reads it and, being AcqRel, synchronizes with it, so
    /// the notifier's `armed` load sees the arm; if the notifier's comes
    /// first, the waiter reads the key's new value (and, through the
    /// Acquire, what the notifier wrote before it, which is more than the
    /// memory model gives: the `wait` module says which reads lean on that). A
    /// key RMW weakened to Relaxed synchronizes with nothing, and the
    /// models see the lost wake-up. `order`, the std arm's, is not used.
    #[inline]
    pub(crate) fn key_load(key: &AtomicU64, _order: Ordering) -> u64 {
        key.fetch_add(0, Ordering::AcqRel)
    }

    /// Relaxed: `key_load` stands in for the SeqCst order of the std
    /// arm's load. A SeqCst load would be stronger under loom than in
    /// the memory model (loom lets it read only the latest SeqCst store),
    /// and would hide a waiter that sleeps while the operation it waits
    /// for is under way.
    pub(crate) const KEYED_LOAD: Ordering = Ordering::Relaxed;

    /// Stand-in for `crossbeam_utils::Backoff` that yields to loom's
    /// scheduler on every step, and reports itself completed at once: code
    /// that spins a while before it parks goes straight to parking, the
    /// path whose interleavings are worth checking (the spins only repeat
    /// the same attempt, and loom's yield always runs the other thread
    /// first, so a spinning waiter would never be seen parking).
    #[derive(Debug, Default)]
    pub(crate) struct Backoff;

    impl Backoff {
        pub(crate) fn new() -> Self {
            Self
        }
        pub(crate) fn spin(&self) {
            loom::thread::yield_now();
        }
        pub(crate) fn snooze(&self) {
            loom::thread::yield_now();
        }
        pub(crate) fn is_completed(&self) -> bool {
            true
        }
    }

    /// A clock that never moves: models must not depend on wall time.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    pub(crate) struct Instant(std::time::Duration);

    impl Instant {
        pub(crate) fn now() -> Self {
            Instant(std::time::Duration::ZERO)
        }
        pub(crate) fn checked_add(self, d: std::time::Duration) -> Option<Self> {
            self.0.checked_add(d).map(Instant)
        }
        pub(crate) fn saturating_duration_since(self, earlier: Self) -> std::time::Duration {
            self.0.saturating_sub(earlier.0)
        }
    }
}

// The facade offers more than each build of the crate uses.
pub(crate) use imp::*;

/// A number no earlier call in this process returned (queue identities in
/// delivery tags).
///
/// Always the `std` atomic, also under loom: identity is not part of any
/// modelled interleaving, and a process-wide static needs a `const`
/// constructor that loom's atomics lack.
pub(crate) fn unique_id() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    // Relaxed: only uniqueness matters, which the RMW gives in any order.
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Locks a mutex, ignoring poisoning: the data our locks guard (nothing,
/// counters, a connection's state, a set of tags) stays consistent even if
/// a holder panicked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> crate::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

#[cfg(not(all(loom, feature = "loom")))]
pub(crate) use std::sync::MutexGuard;

#[cfg(all(loom, feature = "loom"))]
pub(crate) use loom::sync::MutexGuard;
