//! [`HandleCount`]: how many handles of one side of a queue are alive, so
//! that the last one to go can close the queue. The Ring's channel handles
//! and the `AckQueue`'s handles keep one per side.

use core::fmt;

use crate::sync::{AtomicUsize, Ordering};

/// The number of live handles of one side (senders, or receivers, ...).
pub(crate) struct HandleCount(AtomicUsize);

impl HandleCount {
    /// A count of one: the handle the constructor returns.
    pub(crate) fn one() -> Self {
        HandleCount(AtomicUsize::new(1))
    }

    /// A handle was cloned from a live one.
    pub(crate) fn add(&self) {
        // Relaxed: the new handle is made from a live one, so the count is
        // at least 1 before and after, and no handle can see it reach 0
        // meanwhile; nothing is published by a clone (as `Arc::clone`).
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// A handle is gone; `true` when it was the last of its side.
    pub(crate) fn remove(&self) -> bool {
        // AcqRel: Release, so that everything this handle did happens-before
        // the last handle's close. Acquire, so that the last handle closes
        // after every other handle's calls: it reads every earlier
        // decrement (the RMWs form one release sequence), so its close of
        // the ring comes after their pushes in the order of `tail`, as
        // `Arc`'s last drop comes after every other use.
        self.0.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// How many handles are alive: a snapshot.
    pub(crate) fn get(&self) -> usize {
        // Relaxed: a snapshot for the caller, which orders nothing by it.
        self.0.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for HandleCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}
