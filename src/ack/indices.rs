//! The two rings of entry indices: `redeliver` (requeued entries waiting
//! for a receiver) and `dead` (dead letters, in the order they died).
//!
//! Each is the claim core with its slot-only claims (the claim core's
//! module docs tell the algorithm). Nobody waits on these rings, so they
//! need none of [`Ring`](crate::Ring)'s wake-ups.
//!
//! Each has the table's length as capacity, and an index is in at most one
//! of them at a time (module docs of `ack`). So a push never finds the ring
//! full. It can only find a slot whose pop is between its two steps, and
//! waits for it.

use crate::ring::claim::Core;
use crate::sync::Backoff;

pub(crate) struct Indices {
    core: Core<u32, false>,
}

impl Indices {
    /// A ring for up to `len` indices, or `None` if it cannot be allocated.
    pub(crate) fn new(len: u64) -> Option<Self> {
        Some(Self {
            core: Core::new(len)?,
        })
    }

    /// Pushes `index`. The ring always has room for it (module docs); a
    /// slot still held can only mean a pop of that very slot is between
    /// its two steps, so we back off and try again. (The pops never wait
    /// inside the ring: a receive that finds a requeue half pushed takes
    /// a fresh message, or nothing, and finds the requeued one next time.)
    pub(crate) fn push(&self, index: u32) {
        let backoff = Backoff::new();
        let mut result = self.core.push::<false>(index);
        while let Err((index, _)) = result {
            backoff.snooze();
            result = self.core.push::<false>(index);
        }
    }

    /// Pops the oldest index, if its slot is published; inlined, so that
    /// the receive's look at an empty redelivery ring costs two loads.
    #[inline(always)]
    pub(crate) fn pop(&self) -> Option<u32> {
        if !self.core.head_may_be_ready() {
            return None;
        }
        let pos = self.core.claim_pop::<false>(|_| true).ok()?;
        // SAFETY: we claimed `pos` just now and take it once.
        let index = unsafe { self.core.take_at(pos) };
        self.core.free_at(pos);
        Some(index)
    }

    /// How many indices the ring holds: a consistent snapshot.
    pub(crate) fn len(&self) -> usize {
        self.core.len() as usize
    }

    /// Whether the ring holds no index (see [`len`](Indices::len)).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
