//! The claim core: the slots and cursors of a bounded ring, and the claims
//! that every push and pop of [`Ring`] and of the ack layer's fresh ring go
//! through. The algorithm is told here, once; the rest of the crate links
//! here. The words are those of the crate docs' glossary.
//!
//! # Algorithm
//!
//! Dmitry Vyukov's bounded MPMC queue, with crossbeam `ArrayQueue`'s
//! `{ lap, index }` encoding of positions ([`Laps`]): the capacity can be
//! any size, and the hot path never divides.
//!
//! Each slot carries a *stamp*, the position whose turn it is:
//!
//! - a slot whose stamp equals a producer's position is free for it;
//! - a slot whose stamp equals a consumer's position + 1 holds its item;
//! - a pop stores position + one lap: it frees the slot for the producer
//!   of the next lap.
//!
//! Stamps and positions are compared by their wrapping difference, so
//! positions may wrap around `u64`.
//!
//! Producers claim positions on `tail`, consumers on `head`, with one CAS
//! each. Each cursor lives on a cache line of its own (`CachePadded`), so
//! that producers bumping `tail` do not invalidate the line consumers read
//! `head` from.
//!
//! An operation is a *claim*, which wins a position, then a move of the
//! value and a store of the slot's stamp, which hands the slot on. Between
//! the two the position is the claimer's alone. A push's store *publishes*
//! its position; a pop's *frees* it. [`push`](Core::push) and
//! [`pop_fast`](Core::pop_fast) do all of it. The ack layer's fresh ring
//! claims a position ([`claim_pop`](Core::claim_pop)) and frees it later,
//! and the batches claim runs of positions.
//!
//! # Linearizable claims
//!
//! A claim may find its slot not ready: for a pop, not published for this
//! lap; for a push, still holding the previous lap's item. The slot alone
//! cannot tell an empty (full) ring from a thread that has claimed that
//! position and not stored its stamp yet. While no later position of the
//! same side is finished, the call may report empty (full): the unfinished
//! operation, and all after it, can be ordered after the call. Once a later
//! one is finished, it must not, since FIFO order puts the unfinished one
//! before that one.
//!
//! So on a linearizable core (`LIN`, [`Ring`]'s), every push looks at the
//! position before its own, between its claim and its publish. If that one
//! is claimed and not published, this push *overtakes* it, and sets the
//! flag `pops_read_tail` before it publishes. Take the first published
//! position after an unpublished one: when its push looked, the one before
//! was unpublished, so the flag was set before it published. A failed pop
//! that reads the flag clear after a `SeqCst` fence therefore knows that no
//! later position is published, and reports empty.
//!
//! Once the flag is set, a failed pop reads `tail` after the fence, as
//! crossbeam's `ArrayQueue` does on every failed pop. `tail == head` is an
//! empty ring at that instant. Otherwise the thread at the slot is
//! mid-operation: a waiting claim (`WAIT`) waits for it and looks again.
//! Pops look at the position before theirs in the same way, for the failed
//! pushes: they set `pushes_read_head`, and `head + one lap == tail` is a
//! full ring. The flags are never cleared.
//!
//! The look at the position before is most often free. Each claimer, once
//! finished, stores the next position in its cursor's `done`, on the line
//! its claim just wrote. The next claimer that reads its own position there
//! skips the slot, whose line the other side may be using. With one
//! producer no push ever overtakes: a failed pop reads its slot and a line
//! nobody writes, and a consumer polling an empty ring never pulls the
//! producer's cursor line. The same holds for failed pushes with one
//! consumer.
//!
//! A claim that does not wait (`WAIT = false`) decides from its slot alone:
//! it is not linearizable, and it never reads the other cursor. The ack
//! layer's fresh ring claims only that way, and keeps no `done` hints.
//!
//! # Closing
//!
//! [`close`](Core::close) sets the mark bit of `tail` ([`Laps::mark`]): no
//! push can claim a position afterwards, since its CAS expects an unmarked
//! `tail`. It also sets `pops_read_tail`, so that a pop whose slot is not
//! ready reads `tail`. A marked `tail` equal to `head` is "closed and
//! drained". A marked `tail` ahead of `head` is a push claimed before the
//! close and still in progress, which a waiting pop waits for.
//!
//! # Memory orderings
//!
//! - Publish: `stamp.store(pos + 1, Release)` after writing the value
//!   pairs with the `Acquire` load of the stamp in a pop's claim: the write
//!   happens-before the read.
//! - Free: `stamp.store(pos + one_lap, Release)` after reading the value
//!   pairs with the `Acquire` load of the stamp in the next lap's push
//!   claim: the read happens-before the overwrite.
//! - The cursors' CASes carry no data: whoever wins owns the position, and
//!   the slot's stamp hands the data over. They are `SeqCst` because each
//!   cursor is the *key* of its side's wake-ups (`wait/mod.rs`, "Keyed
//!   notifications"): the claim's RMW stands in for the notifier's fence.
//! - The not-ready path makes a `fence(SeqCst)` between the slot's load
//!   and the loads of the flag and of the other cursor. A call that comes
//!   after a completed operation in real time then sees its claim
//!   (crossbeam's reasoning).
//! - `done`: the Release store after a publish (free) pairs with the
//!   Acquire load of the next claimer. Reading its own position there makes
//!   the previous position's publish (free) happen-before its own. A later
//!   call that reads that slot then sees it, as it would (by read-read
//!   coherence) had the claimer loaded the slot instead. That is why that
//!   load can be `Relaxed`.
//! - The flags are set with a `SeqCst` store (real time, as for the fence)
//!   and read with Acquire after the fence: a call that reads a flag set
//!   also sees the claim (or the close) that set it.
//!
//! The census in `loom-tests/README.md` names the model that fails when
//! each ordering is weakened, or says why none can.
//!
//! # Progress
//!
//! A thread is never blocked by a thread of its own side. A producer
//! preempted between its claim and its stamp store holds back only the
//! pops of its position (and the pushes of the next lap at that slot),
//! which wait for it; every other push and pop goes on.
//!
//! # Layout
//!
//! This file holds the types, the position arithmetic and the handover of
//! one slot (write and publish, take and free). Each kind of claim has a
//! file of its own: [`single`] (one position), [`run`] (a run of
//! positions, for the batches), [`overtake`] (the `done` hints and the
//! flags), [`force`] (`force_push`), [`room`] (a blocked producer's wait
//! for room ahead), [`cursors`] (the close, and the cursors read from
//! outside a claim), [`exclusive`] (the `&mut` calls and `Drop`).
//!
//! [`Ring`]: crate::Ring

use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::pos::Laps;
use crate::sync::{AtomicU64, Ordering, UnsafeCell};

mod cursors;
mod exclusive;
mod force;
mod overtake;
mod room;
mod run;
mod single;

use overtake::Overtaken;

/// One cell of the buffer.
pub(crate) struct Slot<T> {
    /// Whose turn it is: see the module docs.
    stamp: AtomicU64,
    /// Initialized exactly when `stamp` is some position + 1.
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A cursor, and its side's hint of what is finished, on one cache line.
struct Cursor {
    /// The next position to claim; `tail`'s also carries the mark bit once
    /// the ring is closed.
    at: AtomicU64,
    /// The position after the last one its claimer finished (a push:
    /// published it; a pop: freed its slot), as that claimer stored it.
    /// The claimer of position `p` that reads `done == p` knows the
    /// position before its own is finished without loading that position's
    /// slot, whose cache line the other side may be using. A hint: a late
    /// store of an older position only sends that claimer to the slot.
    /// Kept by linearizable cores only.
    done: AtomicU64,
}

impl Cursor {
    fn new() -> Self {
        Self {
            at: AtomicU64::new(0),
            done: AtomicU64::new(0),
        }
    }
}

/// Why a claim won no position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A push: no room. A pop asked not to wait: its slot is not ready.
    Full,
    /// A pop: nothing to take (or its caller's admission check said no).
    Empty,
    /// A push: the ring is closed. A pop: it is closed and drained.
    Closed,
}

/// A position won by a claim: the claimer's alone until it publishes
/// (frees) it.
pub(crate) struct Claim<'a, T> {
    slot: &'a Slot<T>,
    /// The position won.
    pub(crate) pos: u64,
    /// The position after it.
    next: u64,
}

/// The slots and cursors of a ring of `T`; `LIN`: its claims keep what the
/// linearizable (waiting) claims need (module docs).
pub(crate) struct Core<T, const LIN: bool> {
    /// Consumers' cursor: the position `{ lap, index }` of the next pop.
    head: CachePadded<Cursor>,
    /// Producers' cursor: the position `{ lap, index }` of the next push,
    /// with `laps.mark()` set once the ring is closed.
    tail: CachePadded<Cursor>,
    /// Whether failed claims must read the other cursor; a line written at
    /// most a few times in the ring's life, so reading it costs a cache
    /// hit.
    overtaken: CachePadded<Overtaken>,
    /// `capacity` slots; slot `i` starts with `stamp = { lap: 0, index: i }`.
    slots: Box<[Slot<T>]>,
    /// The position arithmetic (capacity, lap size, the mark bit).
    laps: Laps,
    /// The hot path's share of it, computed once: the index bits of a
    /// position, with or without the mark bit (`mark - 1`).
    index_mask: u64,
    /// The last index, `capacity - 1`.
    last_index: u64,
    /// What moves a position at the last index to index 0 of the next
    /// lap: `one_lap - capacity + 1`.
    lap_jump: u64,
}

impl<T, const LIN: bool> Core<T, LIN> {
    /// A ring of `capacity` free slots, or `None` if the slots cannot be
    /// allocated or the positions would leave too few lap bits.
    pub(crate) fn new(capacity: u64) -> Option<Self> {
        let laps = Laps::with_mark_bit(capacity)?;
        let len = usize::try_from(capacity).ok()?;
        let mut slots = Vec::new();
        slots.try_reserve_exact(len).ok()?;
        // { lap: 0, index: i } for each slot.
        slots.extend((0..capacity).map(|i| Slot {
            stamp: AtomicU64::new(i),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }));
        Some(Self {
            head: CachePadded::new(Cursor::new()),
            tail: CachePadded::new(Cursor::new()),
            overtaken: CachePadded::new(Overtaken::new()),
            slots: slots.into_boxed_slice(),
            laps,
            index_mask: laps.mark() - 1,
            last_index: capacity - 1,
            lap_jump: laps.one_lap() - capacity + 1,
        })
    }

    /// The index of `pos` (with or without the mark bit), and its slot.
    #[inline(always)]
    fn locate(&self, pos: u64) -> (u64, &Slot<T>) {
        let index = pos & self.index_mask;
        debug_assert!(index < self.slots.len() as u64);
        // SAFETY: the index bits of a position are below the capacity
        // (`Laps`), which is the length of `slots`; the mark bit, the
        // lowest lap bit's neighbour, is masked off.
        (index, unsafe { self.slots.get_unchecked(index as usize) })
    }

    /// The position after `pos`, whose index is `index`: `{ lap, index +
    /// 1 }`, or `{ lap: lap + 1, index: 0 }` at the last index
    /// ([`Laps::advance`], from the index the caller has already).
    #[inline(always)]
    fn after(&self, pos: u64, index: u64) -> u64 {
        let step = if index == self.last_index {
            self.lap_jump
        } else {
            1
        };
        let next = pos.wrapping_add(step);
        debug_assert_eq!(next, self.laps.advance(pos));
        next
    }

    /// The position arithmetic.
    #[inline(always)]
    pub(crate) fn laps(&self) -> Laps {
        self.laps
    }

    /// The slot of `pos`, with or without the mark bit.
    #[inline(always)]
    fn slot(&self, pos: u64) -> &Slot<T> {
        self.locate(pos).1
    }

    /// Writes `value` into the claimed push position.
    #[inline(always)]
    pub(crate) fn write(&self, claim: &Claim<'_, T>, value: T) {
        // SAFETY: the claim owns position `claim.pos` (its CAS on `tail`),
        // whose slot was writable (stamp == pos, seen with Acquire), so no
        // other thread reads or writes the value until we publish it.
        claim
            .slot
            .value
            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
    }

    /// Publishes the claimed push position, whose value is written.
    #[inline(always)]
    pub(crate) fn publish(&self, claim: Claim<'_, T>) {
        // Release: publishes the value; pairs with the Acquire load of the
        // stamp in `pop_fast`.
        claim
            .slot
            .stamp
            .store(claim.pos.wrapping_add(1), Ordering::Release);
        self.pushed_to(claim.next);
    }

    /// Writes `value` into the claimed push position and publishes it:
    /// [`write`](Core::write), then [`publish`](Core::publish).
    #[inline(always)]
    pub(crate) fn fill(&self, claim: Claim<'_, T>, value: T) {
        self.write(&claim, value);
        self.publish(claim);
    }

    /// Moves the value out of the claimed pop position.
    #[inline(always)]
    pub(crate) fn take(&self, claim: &Claim<'_, T>) -> T {
        // SAFETY: the claim owns position `claim.pos` (its CAS on `head`),
        // whose slot holds an initialized value (stamp == pos + 1, seen with
        // Acquire after the producer's Release); it is moved out once:
        // `free` (which consumes the claim) makes the slot writable again.
        claim.slot.value.with(|p| unsafe { p.read().assume_init() })
    }

    /// Frees the claimed pop position, whose value was taken: hands its
    /// slot to the next lap, `{ lap: lap + 1, index }`.
    #[inline(always)]
    pub(crate) fn free(&self, claim: Claim<'_, T>) {
        // Release: hands the slot to the next lap's producer; pairs with
        // the Acquire load of the stamp in `push_fast`.
        let stamp = self.laps.next_lap(claim.pos);
        claim.slot.stamp.store(stamp, Ordering::Release);
        self.popped_to(claim.next);
    }

    /// Moves the value out of position `pos` of a claimed pop run.
    ///
    /// # Safety
    ///
    /// `pos` lies in a run the caller claimed with
    /// [`claim_pop_run`](Core::claim_pop_run) (or is the position of a
    /// claim it turned into a position with [`Claim::pos`] and kept), and
    /// was not taken yet.
    #[inline]
    pub(crate) unsafe fn take_at(&self, pos: u64) -> T {
        // SAFETY: as in `take`, by the caller's contract.
        self.slot(pos)
            .value
            .with(|p| unsafe { p.read().assume_init() })
    }

    /// Frees position `pos` of a claimed pop run, whose value was taken.
    #[inline]
    pub(crate) fn free_at(&self, pos: u64) {
        // Release: as in `free`.
        self.slot(pos)
            .stamp
            .store(self.laps.next_lap(pos), Ordering::Release);
    }
}
