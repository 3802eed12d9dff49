//! The claim core: the slots and cursors of a bounded ring, and the one
//! claim loop that every push and pop of [`Ring`] and of the ack layer's
//! fresh ring goes through.
//!
//! # Algorithm
//!
//! Dmitry Vyukov's bounded MPMC queue, with crossbeam `ArrayQueue`'s
//! `{ lap, index }` encoding of positions ([`Laps`]) so that the capacity
//! can be any size without a division on the hot path.
//!
//! Each slot carries a sequence number `seq` that says whose turn it is:
//!
//! - a slot whose `seq` equals a producer's position is writable;
//! - a slot whose `seq` equals a consumer's position + 1 is readable;
//! - a pop stores position + one lap, handing the slot to the producer of
//!   the next lap.
//!
//! Producers claim positions on `tail`, consumers on `head`, with one CAS
//! each. The cursors live on cache lines of their own (`CachePadded`) so
//! that producers bumping `tail` do not invalidate the line consumers read
//! `head` from. An operation is a *claim*, which wins a position, and then
//! the claimer's move of the value and its store of the slot's `seq`, which
//! hands the slot on; between the two the position is the claimer's alone.
//! [`push`](Core::push) and [`pop_fast`](Core::pop_fast) do all of it; the ack
//! layer's fresh ring claims a position ([`claim_pop`](Core::claim_pop))
//! and frees it later, and the batches claim runs.
//!
//! # Linearizable claims
//!
//! A claim that finds its slot not ready (a pop: not published for this
//! lap; a push: still holding the previous lap's item) cannot tell from the
//! slot whether the ring is empty (full) or a thread has claimed that
//! position and not stored its `seq` yet. While no later position of the
//! same side is finished, it may report empty (full): the unfinished
//! operation and all after it can be ordered after the call. Once a later
//! one is finished, it must not, since FIFO order puts the unfinished one
//! before that one.
//!
//! So on a linearizable core (`LIN`, [`Ring`]'s) every push, between its
//! claim and its publish, looks at the position before its own: if that
//! one is claimed and not published, this push *overtakes* it, and sets
//! the flag `pops_read_tail` before it publishes. Take the first published
//! position after an unpublished one: when its push looked, the one before
//! was unpublished, so the flag was set before it published. A failed pop
//! that reads the flag clear after a `SeqCst` fence therefore knows that
//! no later position is published, and reports empty. Once the flag is
//! set, a failed pop reads `tail` after the fence, as crossbeam's
//! `ArrayQueue` does on every failed pop: `tail == head` is an empty ring
//! at that instant; otherwise the thread at the slot is mid-operation, and
//! a waiting claim (`WAIT`) waits for it and looks again. Pops look at the
//! position before theirs in the same way, for the failed pushes
//! (`pushes_read_head`: `head + one lap == tail` is a full ring). The
//! flags are never cleared.
//!
//! The look at the position before is most often free: each claimer, once
//! finished, stores the next position in its cursor's `done`, on the line
//! its claim just wrote, and the next claimer that reads its own position
//! there skips the slot, whose line the other side may be using. With one
//! producer no push ever overtakes, so a failed pop reads its slot and a
//! line nobody writes, and a consumer polling an empty ring never pulls the
//! producer's cursor line; the same holds for failed pushes with one
//! consumer.
//!
//! A claim that does not wait (`WAIT = false`) decides from its slot
//! alone: not linearizable, and it never reads the other cursor. The ack
//! layer's fresh ring claims only that way, and keeps no `done` hints.
//!
//! # Closing
//!
//! [`close`](Core::close) sets the mark bit of `tail` ([`Laps::mark`]), so
//! that no push can claim a position afterwards (its CAS expects an
//! unmarked `tail`), and sets `pops_read_tail`, so that a pop whose slot is
//! not ready reads `tail`: a marked `tail` equal to `head` is "closed and
//! drained", a marked `tail` ahead of it a push claimed before the close
//! and still in progress, which a waiting pop waits for.
//!
//! # Vocabulary
//!
//! - *position*: a cursor value `{ lap, index }` (see [`Laps`]); moving
//!   past the last index gives `{ lap: lap + 1, index: 0 }`.
//! - `head`: the next position to pop; `tail`: the next position to push,
//!   plus the mark bit once closed.
//! - `seq`: a slot's sequence, compared with the position of the thread
//!   looking at it. All comparisons are on the wrapping difference, so
//!   positions may wrap around `u64`.
//!
//! # Memory orderings
//!
//! - push: `seq.store(pos + 1, Release)` after writing the value pairs
//!   with the `Acquire` load of `seq` in a pop's claim, so the write
//!   happens-before the read;
//! - pop: `seq.store(pos + one_lap, Release)` after reading the value
//!   pairs with the `Acquire` load of `seq` in the next lap's push claim,
//!   so the read happens-before the overwrite;
//! - the cursors' CASes carry no data (whoever wins owns the position, and
//!   the slot's `seq` hands the data over); they are `SeqCst` because each
//!   cursor is the *key* of its side's wake-ups (`wait/mod.rs`, "Keyed
//!   notifications"): the claim's RMW stands in for the notifier's fence;
//! - the not-ready path: `fence(SeqCst)` between the slot's load and the
//!   flag's and the other cursor's loads, so that a call which comes after
//!   a completed operation in real time sees its claim (crossbeam's
//!   reasoning);
//! - `done`: the Release store after a publish (free) pairs with the
//!   Acquire load of the next claimer, so reading its own position there
//!   makes the previous position's publish (free) happen-before its own;
//!   a later call that reads that slot then sees it, as it would (by
//!   read-read coherence) had the claimer loaded the slot instead, which
//!   is why that load can be `Relaxed`;
//! - the flags: set with a `SeqCst` store (real time, as for the fence),
//!   read with Acquire after the fence, so that a call which reads a flag
//!   set also sees the claim (or the close) that set it.
//!
//! `loom-tests/README.md` says which model sees each of these weakened.
//!
//! # Progress
//!
//! A thread is never blocked by a thread of its own side: a producer
//! preempted between its claim and its `seq` store holds back only the pops
//! of its position (and the pushes of the next lap at that slot), which
//! wait for it; every other push and pop goes on.
//!
//! [`Ring`]: crate::Ring

use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::pos::Laps;
use crate::sync::{fence, AtomicBool, AtomicU64, Backoff, Ordering, UnsafeCell};

/// How far past the full slot a blocked producer waits for room before it
/// looks again ([`Core::wait_for_room_ahead`]).
const ROOM_AHEAD: u64 = 32;
/// The most times it looks (each after a backoff step).
const ROOM_AHEAD_POLLS: u32 = 64;

/// One cell of the buffer.
pub(crate) struct Slot<T> {
    /// Whose turn it is: see the module docs.
    seq: AtomicU64,
    /// Initialized exactly when `seq` is some position + 1.
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

/// When a failed claim must read the other side's cursor: set once, never
/// cleared (module docs, "Linearizable claims").
struct Overtaken {
    /// Set by a push that finds the position before its own unpublished,
    /// by a `force_push` that takes the oldest item, and by `close`.
    pops_read_tail: AtomicBool,
    /// Set by a pop that finds the position before its own not freed.
    pushes_read_head: AtomicBool,
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

/// A run of `len` consecutive positions from `pos`, won by one claim.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run {
    pub(crate) pos: u64,
    pub(crate) len: u64,
    /// The position after the run.
    end: u64,
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
    /// `capacity` slots; slot `i` starts with `seq = { lap: 0, index: i }`.
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
            seq: AtomicU64::new(i),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }));
        Some(Self {
            head: CachePadded::new(Cursor::new()),
            tail: CachePadded::new(Cursor::new()),
            overtaken: CachePadded::new(Overtaken {
                pops_read_tail: AtomicBool::new(false),
                pushes_read_head: AtomicBool::new(false),
            }),
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

    /// Pushes `value` if the slot at the tail is writable; returns the
    /// position it took. With `WAIT` (linearizable cores only), a slot
    /// whose previous item a consumer is still popping is waited for, and
    /// `Full` means the ring was full at some instant during the call;
    /// without, that slot is reported as full.
    #[inline(always)]
    pub(crate) fn push<const WAIT: bool>(&self, value: T) -> Result<u64, (T, Refused)> {
        match self.push_fast(value) {
            Ok(pos) => Ok(pos),
            Err(value) => self.push_slow::<WAIT>(value),
        }
    }

    /// [`push`](Core::push), calling `before` with the position taken
    /// after the value is written and before it is published: what
    /// `before` stores (with any ordering) is seen by whoever pops the
    /// value, through the Release store of the slot's seq.
    #[inline]
    pub(crate) fn push_with<const WAIT: bool>(
        &self,
        value: T,
        before: impl FnOnce(u64),
    ) -> Result<u64, (T, Refused)> {
        let claim = match self.claim_push_fast() {
            Some(claim) => claim,
            None => match self.claim_push_slow::<WAIT>() {
                Ok(claim) => claim,
                Err(why) => return Err((value, why)),
            },
        };
        let pos = claim.pos;
        self.write(&claim, value);
        before(pos);
        self.publish(claim);
        Ok(pos)
    }

    /// The claim of [`push_fast`](Core::push_fast), without the write.
    #[inline(always)]
    fn claim_push_fast(&self) -> Option<Claim<'_, T>> {
        // Relaxed, Acquire, SeqCst: as in `push_fast`.
        let tail = self.tail.at.load(Ordering::Relaxed);
        let (index, slot) = self.locate(tail);
        if slot.seq.load(Ordering::Acquire) != tail {
            return None;
        }
        let next = self.after(tail, index);
        self.tail
            .at
            .compare_exchange_weak(tail, next, Ordering::SeqCst, Ordering::Relaxed)
            .ok()?;
        self.note_push(tail);
        Some(Claim {
            slot,
            pos: tail,
            next,
        })
    }

    /// The first look of [`push`](Core::push): pushes `value` if the slot
    /// at the tail is writable and the CAS succeeds; gives it back
    /// otherwise, for [`push_slow`](Core::push_slow). Inlined into the
    /// caller, with nothing of the slow path's result to merge.
    #[inline(always)]
    pub(crate) fn push_fast(&self, value: T) -> Result<u64, T> {
        // Relaxed: the cursor is only a hint of which slot to look at; the
        // slot's seq (Acquire below) carries the synchronization, and the
        // CAS, which reads the latest value, catches a mark set since.
        let tail = self.tail.at.load(Ordering::Relaxed);
        let (index, slot) = self.locate(tail);
        // Acquire: pairs with the Release store of seq in `free`, so the
        // previous lap's read of this slot happens-before our write. A
        // marked (closed) `tail` equals no seq: the slow path says closed.
        if slot.seq.load(Ordering::Acquire) == tail {
            let next = self.after(tail, index);
            // SeqCst: `tail` is the key of the push's wake-up of consumers
            // (module docs); winning the CAS makes the position ours alone.
            // On failure we only look again.
            if self
                .tail
                .at
                .compare_exchange_weak(tail, next, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                self.note_push(tail);
                let claim = Claim {
                    slot,
                    pos: tail,
                    next,
                };
                self.write(&claim, value);
                self.publish(claim);
                return Ok(tail);
            }
        }
        Err(value)
    }

    /// The rest of [`push`](Core::push) after its first look failed.
    #[cold]
    #[inline(never)]
    pub(crate) fn push_slow<const WAIT: bool>(&self, value: T) -> Result<u64, (T, Refused)> {
        match self.claim_push_slow::<WAIT>() {
            Ok(claim) => {
                let pos = claim.pos;
                self.write(&claim, value);
                self.publish(claim);
                Ok(pos)
            }
            Err(why) => Err((value, why)),
        }
    }

    /// Pops the item at the head if it is published and the CAS of this
    /// first look succeeds; `None` otherwise, for
    /// [`pop_slow`](Core::pop_slow), which goes on. Inlined into the
    /// caller, with nothing of the slow path's result to merge.
    #[inline(always)]
    pub(crate) fn pop_fast(&self) -> Option<T> {
        // Relaxed: a hint, as in `push_fast`.
        let head = self.head.at.load(Ordering::Relaxed);
        let (index, slot) = self.locate(head);
        // Acquire: pairs with the Release store of seq in `publish`, so the
        // value written there is visible to our read.
        if slot.seq.load(Ordering::Acquire) == head.wrapping_add(1) {
            let next = self.after(head, index);
            // SeqCst: `head` is the key of the pop's wake-up of producers
            // (module docs); winning the CAS makes the position ours.
            if self
                .head
                .at
                .compare_exchange_weak(head, next, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                self.note_pop(head);
                let claim = Claim {
                    slot,
                    pos: head,
                    next,
                };
                let value = self.take(&claim);
                self.free(claim);
                return Some(value);
            }
        }
        None
    }

    /// The rest of a pop after its first look ([`pop_fast`](Core::pop_fast))
    /// failed. With `WAIT` (linearizable cores only), a slot a producer is
    /// still filling is waited for, and `Empty` means the ring was empty
    /// at some instant during the call (`Closed`: closed and drained);
    /// without, that slot is reported as empty.
    #[cold]
    #[inline(never)]
    pub(crate) fn pop_slow<const WAIT: bool>(&self) -> Result<T, Refused> {
        let claim = self.claim_pop_slow::<WAIT>(|_| true)?;
        let value = self.take(&claim);
        self.free(claim);
        Ok(value)
    }

    /// The claim loop of a push that did not succeed at its first look.
    #[inline]
    fn claim_push_slow<const WAIT: bool>(&self) -> Result<Claim<'_, T>, Refused> {
        debug_assert!(LIN || !WAIT, "only a linearizable core waits");
        let backoff = Backoff::new();
        // Relaxed: a hint, as in `push_fast`.
        let mut tail = self.tail.at.load(Ordering::Relaxed);
        loop {
            if tail & self.laps.mark() != 0 {
                return Err(Refused::Closed);
            }
            let (index, slot) = self.locate(tail);
            // Acquire: as in `push_fast`.
            let seq = slot.seq.load(Ordering::Acquire);
            let diff = seq.wrapping_sub(tail) as i64;
            if diff == 0 {
                let next = self.after(tail, index);
                // SeqCst: as in `push_fast`.
                match self.tail.at.compare_exchange_weak(
                    tail,
                    next,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        self.note_push(tail);
                        return Ok(Claim {
                            slot,
                            pos: tail,
                            next,
                        });
                    }
                    Err(current) => {
                        tail = current;
                        backoff.spin();
                    }
                }
            } else if diff < 0 {
                // The slot holds the item of the previous lap: the ring is
                // full, or a consumer is popping that item.
                if !WAIT || self.is_full_at(tail) {
                    return Err(Refused::Full);
                }
                backoff.snooze();
                tail = self.tail.at.load(Ordering::Relaxed);
            } else {
                // Another producer moved past `tail`: look again.
                backoff.spin();
                tail = self.tail.at.load(Ordering::Relaxed);
            }
        }
    }

    /// Claims the next pop position if its slot is published and
    /// `admit(position)` (asked just before the CAS) allows; the caller
    /// then takes the value ([`take_at`](Core::take_at)) and frees the
    /// slot ([`free_at`](Core::free_at)). With `WAIT`, as
    /// [`pop_fast`](Core::pop_fast).
    #[inline(always)]
    pub(crate) fn claim_pop<const WAIT: bool>(
        &self,
        admit: impl Fn(u64) -> bool,
    ) -> Result<u64, Refused> {
        // Relaxed: a hint, as in `push_fast`.
        let head = self.head.at.load(Ordering::Relaxed);
        let (index, slot) = self.locate(head);
        // Acquire: as in `pop_fast`.
        if slot.seq.load(Ordering::Acquire) == head.wrapping_add(1) {
            if !admit(head) {
                return Err(Refused::Empty);
            }
            let next = self.after(head, index);
            // SeqCst: as in `pop_fast`.
            if self
                .head
                .at
                .compare_exchange_weak(head, next, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                self.note_pop(head);
                return Ok(head);
            }
        }
        self.claim_pop_slow::<WAIT>(admit).map(|claim| claim.pos)
    }

    /// Whether a slot-only pop may find an item: `false` when the slot at
    /// `head` is not published for that position, which a slot-only claim
    /// reports as empty; `true` otherwise, also when `head` was read stale
    /// (the slot is a lap ahead), where the claim loop reads `head` again.
    /// A look that claims nothing, for a caller that polls a ring which is
    /// mostly empty and would rather not enter the claim loop.
    #[inline(always)]
    pub(crate) fn head_may_be_ready(&self) -> bool {
        // Relaxed, both: a hint; the claim that follows loads both again,
        // the slot with Acquire.
        let head = self.head.at.load(Ordering::Relaxed);
        let seq = self.slot(head).seq.load(Ordering::Relaxed);
        (seq.wrapping_sub(head.wrapping_add(1)) as i64) >= 0
    }

    /// The claim loop of a pop that did not succeed at its first look.
    #[inline]
    fn claim_pop_slow<const WAIT: bool>(
        &self,
        admit: impl Fn(u64) -> bool,
    ) -> Result<Claim<'_, T>, Refused> {
        debug_assert!(LIN || !WAIT, "only a linearizable core waits");
        let backoff = Backoff::new();
        // Relaxed: a hint, as in `push_fast`.
        let mut head = self.head.at.load(Ordering::Relaxed);
        loop {
            let (index, slot) = self.locate(head);
            // Acquire: as in `pop_fast`.
            let seq = slot.seq.load(Ordering::Acquire);
            let diff = seq.wrapping_sub(head.wrapping_add(1)) as i64;
            if diff == 0 {
                if !admit(head) {
                    return Err(Refused::Empty);
                }
                let next = self.after(head, index);
                // SeqCst: as in `pop_fast`.
                match self.head.at.compare_exchange_weak(
                    head,
                    next,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        self.note_pop(head);
                        return Ok(Claim {
                            slot,
                            pos: head,
                            next,
                        });
                    }
                    Err(current) => {
                        head = current;
                        backoff.spin();
                    }
                }
            } else if diff < 0 {
                // Not published for this lap: empty, or a push in progress.
                if !WAIT {
                    return Err(Refused::Empty);
                }
                if let Some(why) = self.not_ready(head) {
                    return Err(why);
                }
                backoff.snooze();
                head = self.head.at.load(Ordering::Relaxed);
            } else {
                // Another consumer moved past `head`: look again.
                backoff.spin();
                head = self.head.at.load(Ordering::Relaxed);
            }
        }
    }

    /// The position `n` places after `pos`, for `n` up to a lap.
    #[inline]
    fn ahead(&self, pos: u64, n: u64) -> u64 {
        if n == self.laps.capacity() {
            // { lap: lap + 1, index }
            self.laps.next_lap(pos)
        } else {
            self.laps.ahead(pos, n)
        }
    }

    /// The slots of the `n` positions from `pos` (`n` up to a lap), as the
    /// run of indices up to the lap's end and the run from index 0 of the
    /// next lap, with the position of each run's first slot.
    #[inline]
    fn segments(&self, pos: u64, n: u64) -> [(u64, &[Slot<T>]); 2] {
        let index = pos & self.index_mask;
        let first = (self.laps.capacity() - index).min(n);
        let (start, cut) = (index as usize, (index + first) as usize);
        // { lap: lap + 1, index: 0 }
        let next_lap = (pos - index).wrapping_add(self.laps.one_lap());
        [
            (pos, &self.slots[start..cut]),
            (next_lap, &self.slots[..(n - first) as usize]),
        ]
    }

    /// How many of the (up to `k`, at most a lap) slots from position
    /// `pos` on, in a row, have `seq` equal to their position plus `offset`
    /// (0: writable by a push; 1: readable by a pop), each loaded with
    /// Acquire (as in `push_fast` and `pop_fast`), and the position after them.
    #[inline]
    fn count_run(&self, pos: u64, k: u64, offset: u64) -> (u64, u64) {
        let mut n = 0;
        for (first, slots) in self.segments(pos, k) {
            for (p, slot) in (first..).zip(slots) {
                if slot.seq.load(Ordering::Acquire) != p.wrapping_add(offset) {
                    return (n, self.ahead(pos, n));
                }
                n += 1;
            }
        }
        (n, self.ahead(pos, n))
    }

    /// Writes the first `run.len` values of `items` into the claimed push
    /// run, in order, publishing each, and ends the run.
    ///
    /// # Panics
    ///
    /// If `items` holds fewer values than the run (a caller's bug: the
    /// run would stay unpublished).
    pub(crate) fn publish_run(&self, run: Run, items: &mut Vec<T>) {
        let mut values = items.drain(..run.len as usize);
        for (first, slots) in self.segments(run.pos, run.len) {
            for (p, slot) in (first..).zip(slots) {
                let value = values.next().expect("a value for every position");
                // SAFETY: position `p` lies in the run this caller claimed
                // (its CAS on `tail`), whose slots were writable, so no
                // other thread touches the value until the seq store.
                slot.value
                    .with_mut(|v| unsafe { v.write(MaybeUninit::new(value)) });
                // Release: as in `publish`.
                slot.seq.store(p.wrapping_add(1), Ordering::Release);
            }
        }
        self.pushed(run);
    }

    /// Moves the values of the claimed pop run out into `out`, in order,
    /// freeing each slot, and ends the run. `out` must have room for
    /// them (`Vec::reserve` before the claim), so that nothing allocates,
    /// or fails to, between the claim and the frees.
    pub(crate) fn take_run(&self, run: Run, out: &mut Vec<T>) {
        debug_assert!(out.capacity() - out.len() >= run.len as usize);
        let one_lap = self.laps.one_lap();
        for (first, slots) in self.segments(run.pos, run.len) {
            for (p, slot) in (first..).zip(slots) {
                // SAFETY: position `p` lies in the run this caller claimed
                // (its CAS on `head`), whose slots hold published values;
                // each is moved out once, and its seq store below frees it.
                let value = slot.value.with(|v| unsafe { v.read().assume_init() });
                // Release: as in `free`.
                slot.seq.store(p.wrapping_add(one_lap), Ordering::Release);
                out.push(value);
            }
        }
        self.popped(run);
    }

    /// Claims a run of up to `k` consecutive writable positions from
    /// `tail` with one CAS (never more than a lap). With `WAIT`, as
    /// [`push`](Core::push) when not even the first is
    /// writable. The caller then fills it with
    /// [`publish_run`](Core::publish_run).
    pub(crate) fn claim_push_run<const WAIT: bool>(&self, k: u64) -> Result<Run, Refused> {
        debug_assert!(LIN || !WAIT, "only a linearizable core waits");
        let k = k.min(self.laps.capacity());
        if k == 0 {
            return Err(Refused::Full);
        }
        let backoff = Backoff::new();
        // Relaxed: a hint, as in `push_fast`.
        let mut tail = self.tail.at.load(Ordering::Relaxed);
        loop {
            if tail & self.laps.mark() != 0 {
                return Err(Refused::Closed);
            }
            // The writable slots from `tail` on: seq == its position.
            let (n, end) = self.count_run(tail, k, 0);
            if n == 0 {
                // Relaxed: no value is touched after it (the count above
                // runs again with its own Acquire loads).
                let seq = self.slot(tail).seq.load(Ordering::Relaxed);
                if (seq.wrapping_sub(tail) as i64) < 0 {
                    if !WAIT || self.is_full_at(tail) {
                        return Err(Refused::Full);
                    }
                    backoff.snooze();
                } else {
                    backoff.spin();
                }
                tail = self.tail.at.load(Ordering::Relaxed);
                continue;
            }
            // SeqCst: as in `push_fast`; the CAS gives us positions
            // tail..end, whose slots we saw writable, and only their owner
            // can change that.
            match self
                .tail
                .at
                .compare_exchange_weak(tail, end, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.note_push(tail);
                    return Ok(Run {
                        pos: tail,
                        len: n,
                        end,
                    });
                }
                Err(current) => {
                    tail = current;
                    backoff.spin();
                }
            }
        }
    }

    /// Claims a run of up to `k` consecutive published positions from
    /// `head` with one CAS (never more than a lap): counts the readable
    /// slots, asks `admit(head, count)` how many of them the caller may
    /// take, and claims those. With `WAIT`, as
    /// [`pop_fast`](Core::pop_fast) when not even the first is readable.
    /// The caller then empties it with [`take_run`](Core::take_run), or
    /// takes and frees each position ([`take_at`](Core::take_at),
    /// [`free_at`](Core::free_at)) and then calls [`popped`](Core::popped).
    pub(crate) fn claim_pop_run<const WAIT: bool>(
        &self,
        k: u64,
        admit: impl Fn(u64, u64) -> u64,
    ) -> Result<Run, Refused> {
        debug_assert!(LIN || !WAIT, "only a linearizable core waits");
        let k = k.min(self.laps.capacity());
        if k == 0 {
            return Err(Refused::Empty);
        }
        let backoff = Backoff::new();
        // Relaxed: a hint, as in `push_fast`.
        let mut head = self.head.at.load(Ordering::Relaxed);
        loop {
            // The readable slots from `head` on: seq == position + 1.
            let (n, mut end) = self.count_run(head, k, 1);
            if n == 0 {
                // Relaxed: no value is read after it (as in
                // `claim_push_run`).
                let seq = self.slot(head).seq.load(Ordering::Relaxed);
                if (seq.wrapping_sub(head.wrapping_add(1)) as i64) < 0 {
                    // Not published, as in `pop_fast`.
                    if !WAIT {
                        return Err(Refused::Empty);
                    }
                    if let Some(why) = self.not_ready(head) {
                        return Err(why);
                    }
                    backoff.snooze();
                } else {
                    backoff.spin();
                }
                head = self.head.at.load(Ordering::Relaxed);
                continue;
            }
            let m = admit(head, n).min(n);
            if m == 0 {
                return Err(Refused::Empty);
            }
            if m < n {
                end = self.ahead(head, m);
            }
            // SeqCst: as in `pop_fast`; positions head..end are now ours.
            match self
                .head
                .at
                .compare_exchange_weak(head, end, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.note_pop(head);
                    return Ok(Run {
                        pos: head,
                        len: m,
                        end,
                    });
                }
                Err(current) => {
                    head = current;
                    backoff.spin();
                }
            }
        }
    }

    /// Writes `value` into the claimed push position.
    #[inline(always)]
    pub(crate) fn write(&self, claim: &Claim<'_, T>, value: T) {
        // SAFETY: the claim owns position `claim.pos` (its CAS on `tail`),
        // whose slot was writable (seq == pos, seen with Acquire), so no
        // other thread reads or writes the value until we publish it.
        claim
            .slot
            .value
            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
    }

    /// Publishes the claimed push position, whose value is written.
    #[inline(always)]
    pub(crate) fn publish(&self, claim: Claim<'_, T>) {
        // Release: publishes the value; pairs with the Acquire load of seq
        // in `pop_fast`.
        claim
            .slot
            .seq
            .store(claim.pos.wrapping_add(1), Ordering::Release);
        self.pushed_to(claim.next);
    }

    /// Moves the value out of the claimed pop position.
    #[inline(always)]
    pub(crate) fn take(&self, claim: &Claim<'_, T>) -> T {
        // SAFETY: the claim owns position `claim.pos` (its CAS on `head`),
        // whose slot holds an initialized value (seq == pos + 1, seen with
        // Acquire after the producer's Release); it is moved out once:
        // `free` (which consumes the claim) makes the slot writable again.
        claim.slot.value.with(|p| unsafe { p.read().assume_init() })
    }

    /// Frees the claimed pop position, whose value was taken: hands its
    /// slot to the next lap, `{ lap: lap + 1, index }`.
    #[inline(always)]
    pub(crate) fn free(&self, claim: Claim<'_, T>) {
        // Release: hands the slot to the next lap's producer; pairs with
        // the Acquire load of seq in `push_fast`.
        let seq = self.laps.next_lap(claim.pos);
        claim.slot.seq.store(seq, Ordering::Release);
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
            .seq
            .store(self.laps.next_lap(pos), Ordering::Release);
    }

    /// Ends a push run: every position of it is published.
    #[inline]
    pub(crate) fn pushed(&self, run: Run) {
        self.pushed_to(run.end);
    }

    /// Ends a pop run: every position of it is freed.
    #[inline]
    pub(crate) fn popped(&self, run: Run) {
        self.popped_to(run.end);
    }

    /// Called by the claimer of push position `pos` before it publishes:
    /// if the position before is claimed and not published yet, this push
    /// overtakes it, and from then on a failed pop reads `tail` (module
    /// docs, "Linearizable claims").
    #[inline(always)]
    fn note_push(&self, pos: u64) {
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
        // that happens after ours and loads this slot's seq reads this
        // value or a later one (read-read coherence).
        let seq = self.slot(prev).seq.load(Ordering::Relaxed);
        if (seq.wrapping_sub(prev.wrapping_add(1)) as i64) < 0 {
            raise(&self.overtaken.pops_read_tail);
        }
    }

    /// Called by a push after it published every position before `next`.
    #[inline(always)]
    fn pushed_to(&self, next: u64) {
        if LIN {
            // Release: pairs with the Acquire load in `note_push`.
            self.tail.done.store(next, Ordering::Release);
        }
    }

    /// Called by the claimer of pop position `pos` before it frees the
    /// slot: if the position before is claimed and not freed yet, this pop
    /// overtakes it, and from then on a failed push reads `head`.
    #[inline(always)]
    fn note_pop(&self, pos: u64) {
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
        let seq = self.slot(prev).seq.load(Ordering::Relaxed);
        if (seq.wrapping_sub(self.laps.next_lap(prev)) as i64) < 0 {
            raise(&self.overtaken.pushes_read_head);
        }
    }

    /// Called by a pop after it freed every position before `next`.
    #[inline(always)]
    fn popped_to(&self, next: u64) {
        if LIN {
            // Release: pairs with the Acquire load in `note_pop`.
            self.head.done.store(next, Ordering::Release);
        }
    }

    /// A push found the slot at `tail` still holding the previous lap's
    /// item: whether the ring is full (`true`), or a consumer has claimed
    /// that item and not freed the slot yet (`false`: look again).
    fn is_full_at(&self, tail: u64) -> bool {
        // SeqCst fence: orders the slot's load before the loads below
        // (module docs, "Linearizable claims").
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
    /// replacing) and not stored its `seq` yet: the caller waits a step
    /// and looks again.
    fn not_ready(&self, head: u64) -> Option<Refused> {
        // SeqCst fence: orders the slot's load before the loads below
        // (module docs, "Linearizable claims").
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
            // `force_write` loads seq again with Acquire before it touches
            // the value.
            let seq = self.slot(tail).seq.load(Ordering::Relaxed);
            if (seq.wrapping_sub(tail) as i64) > 0 {
                // Another producer moved past `tail`: look again.
                backoff.spin();
                tail = self.tail.at.load(Ordering::Relaxed);
                continue;
            }
            // The slot is free (seq == tail) or holds the previous lap's
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
            // Acquire: pairs with the Release store of seq in `free` (the
            // slot is free) or in `publish` (it holds `oldest`'s value).
            let seq = slot.seq.load(Ordering::Acquire);
            if seq == tail {
                let claim = Claim {
                    slot,
                    pos: tail,
                    next,
                };
                self.write(&claim, value);
                self.publish(claim);
                return None;
            }
            if seq == oldest.wrapping_add(1) {
                // Between our claim of `head` below and our store of seq, a
                // pop at `head` may find its slot not ready: it must read
                // `tail` (which is ahead) and wait, not report empty.
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
                    // `oldest`'s initialized value (seq == oldest + 1, seen
                    // with Acquire): no other thread touches it until we
                    // store seq.
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

    /// After a push found the ring full: waits (a few microseconds at
    /// most, as a backoff's first steps would; with `spin`, spinning only)
    /// until the slot `ROOM_AHEAD` places past `tail` is free too, so that
    /// the producer comes back for a run of free slots instead of polling
    /// the one a consumer is about to free, whose cache line the consumer
    /// is still using for its next pops.
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
            if slot.seq.load(Ordering::Relaxed).wrapping_sub(far) as i64 >= 0 {
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

    /// Closes the ring to pushes; `false` if it was closed already.
    pub(crate) fn close(&self) -> bool {
        // Relaxed: the close takes effect here; every push's CAS, an RMW,
        // reads the latest value and so sees the mark from then on, and
        // the caller's wake-ups order it before the waiters' next look.
        let was = self.tail.at.fetch_or(self.laps.mark(), Ordering::Relaxed);
        if LIN {
            // A pop whose slot is not ready reads `tail` from now on, to
            // tell closed from empty.
            raise(&self.overtaken.pops_read_tail);
        }
        was & self.laps.mark() == 0
    }

    /// Whether [`close`](Core::close) was called.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        // Relaxed: a snapshot; no data depends on it.
        self.tail.at.load(Ordering::Relaxed) & self.laps.mark() != 0
    }

    /// The tail position (without the mark bit) and whether the ring is
    /// closed: a snapshot.
    pub(crate) fn tail(&self) -> (u64, bool) {
        // Relaxed: after the mark is set the tail is final (coherence on
        // this word); callers use it as a count.
        let tail = self.tail.at.load(Ordering::Relaxed);
        (tail & !self.laps.mark(), tail & self.laps.mark() != 0)
    }

    /// The head position: a snapshot.
    pub(crate) fn head(&self) -> u64 {
        // Relaxed: a count; the slots hand values over.
        self.head.at.load(Ordering::Relaxed)
    }

    /// The tail position as read by a keyed waiter after arming
    /// (`wait/mod.rs`, "Keyed notifications"), without the mark bit, and
    /// whether the ring is closed.
    pub(crate) fn tail_key(&self) -> (u64, bool) {
        let tail = crate::sync::key_load(&self.tail.at, Ordering::Relaxed);
        (tail & !self.laps.mark(), tail & self.laps.mark() != 0)
    }

    /// The head position as read by a keyed waiter after arming.
    pub(crate) fn head_key(&self) -> u64 {
        crate::sync::key_load(&self.head.at, Ordering::Relaxed)
    }

    /// Whether the slot of `pos` (a position below the tail) was freed
    /// since the publish there (`true`), or still holds that publish's
    /// value, or is about to (`false`).
    pub(crate) fn freed(&self, pos: u64) -> bool {
        // Acquire: pairs with the Release store in `free`, so a caller that
        // sees the slot freed then sees what its freer wrote before.
        let seq = self.slot(pos).seq.load(Ordering::Acquire);
        (seq.wrapping_sub(self.laps.next_lap(pos)) as i64) >= 0
    }

    /// Whether the slot of `pos` holds the value published at `pos`, not
    /// yet freed.
    pub(crate) fn published(&self, pos: u64) -> bool {
        // Acquire: pairs with the Release store in `publish`, so a caller
        // that sees the value published sees what its publisher wrote
        // before (`push_with`).
        self.slot(pos).seq.load(Ordering::Acquire) == pos.wrapping_add(1)
    }

    /// The number of items: a consistent snapshot of the two cursors,
    /// never above the capacity. Items whose push or pop is in progress
    /// count as inside.
    pub(crate) fn len(&self) -> u64 {
        loop {
            // SeqCst: the three loads are totally ordered, so when `tail` is
            // the same before and after `head` was read, the pair existed at
            // one instant (the moment of the head load).
            let tail = self.tail.at.load(Ordering::SeqCst);
            let head = self.head.at.load(Ordering::SeqCst);
            if self.tail.at.load(Ordering::SeqCst) == tail {
                // A force_push may have claimed `tail` before it moved
                // `head`: at most `capacity` items are ever inside.
                let tail = tail & !self.laps.mark();
                return self.laps.span(head, tail).min(self.laps.capacity());
            }
            crate::sync::spin_loop();
        }
    }

    /// Pushes through `&mut self`: no other thread can be using the ring,
    /// so no CAS and no wait. Gives `value` back when full or closed.
    pub(crate) fn push_mut(&mut self, value: T) -> Result<(), T> {
        // Relaxed, here and below: `&mut self` means every other thread's
        // use of the ring happened-before this call.
        let tail = self.tail.at.load(Ordering::Relaxed);
        if tail & self.laps.mark() != 0 {
            return Err(value);
        }
        let slot = self.slot(tail);
        // Nothing is in progress: the slot is free or holds the previous
        // lap's item.
        if slot.seq.load(Ordering::Relaxed) != tail {
            return Err(value);
        }
        // SAFETY: `&mut self` makes position `tail` ours, and its slot is
        // free (seq == tail).
        slot.value
            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
        slot.seq.store(tail.wrapping_add(1), Ordering::Relaxed);
        let next = self.laps.advance(tail);
        self.tail.at.store(next, Ordering::Relaxed);
        self.tail.done.store(next, Ordering::Relaxed);
        Ok(())
    }

    /// Pops through `&mut self`, without CAS or wait.
    pub(crate) fn pop_mut(&mut self) -> Option<T> {
        // Relaxed, here and below: as in push_mut.
        let head = self.head.at.load(Ordering::Relaxed);
        let slot = self.slot(head);
        if slot.seq.load(Ordering::Relaxed) != head.wrapping_add(1) {
            return None;
        }
        // SAFETY: `&mut self` makes position `head` ours, and its slot holds
        // an initialized value (seq == head + 1), moved out once: the seq
        // store below frees the slot.
        let value = slot.value.with(|p| unsafe { p.read().assume_init() });
        slot.seq.store(self.laps.next_lap(head), Ordering::Relaxed);
        let next = self.laps.advance(head);
        self.head.at.store(next, Ordering::Relaxed);
        self.head.done.store(next, Ordering::Relaxed);
        Some(value)
    }

    /// Drops the items of positions `from..to`, and if one's `Drop` panics,
    /// still the others (a second panic while unwinding aborts, as in
    /// `Vec`).
    ///
    /// # Safety
    ///
    /// The caller owns the ring exclusively, the slots of `from..to` hold
    /// initialized values, and nothing reads them afterwards.
    unsafe fn drop_items(&self, from: u64, to: u64) {
        /// Drops the rest if the current item's drop panics.
        struct Rest<'a, T, const LIN: bool> {
            core: &'a Core<T, LIN>,
            from: u64,
            to: u64,
        }
        impl<T, const LIN: bool> Drop for Rest<'_, T, LIN> {
            fn drop(&mut self) {
                // SAFETY: the caller's guarantee, for the positions not yet
                // dropped.
                unsafe { self.core.drop_items(self.from, self.to) }
            }
        }
        let mut pos = from;
        while pos != to {
            let next = self.laps.advance(pos);
            let rest = Rest {
                core: self,
                from: next,
                to,
            };
            // SAFETY: the caller's guarantee: position `pos` holds an
            // initialized value, dropped here once.
            self.slot(pos)
                .value
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
            core::mem::forget(rest);
            pos = next;
        }
    }
}

/// Sets `flag` for good (it is never cleared).
#[inline(never)]
fn raise(flag: &AtomicBool) {
    // Relaxed: only skips the store once the flag is set, by anyone.
    if !flag.load(Ordering::Relaxed) {
        // SeqCst: a failed claim that begins after this call reads the flag
        // after its SeqCst fence (crossbeam's real-time reasoning, as for
        // the cursors).
        flag.store(true, Ordering::SeqCst);
    }
}

impl<T, const LIN: bool> Drop for Core<T, LIN> {
    fn drop(&mut self) {
        if !core::mem::needs_drop::<T>() {
            return;
        }
        // Relaxed: `&mut self` means every other thread's operations
        // happened-before this drop (the handoff that gave us the ring
        // synchronized), so every completed push is visible.
        let head = self.head.at.load(Ordering::Relaxed);
        let tail = self.tail.at.load(Ordering::Relaxed) & !self.laps.mark();
        // SAFETY: positions head..tail were pushed and not popped (no
        // operation is in flight while we hold `&mut self`), so each of
        // their slots holds an initialized value; the ring is gone after.
        unsafe { self.drop_items(head, tail) }
    }
}
