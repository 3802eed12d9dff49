//! `Ring<T>`: a bounded multi-producer multi-consumer lock-free ring buffer.
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
//! `head` from.
//!
//! # Why the try calls are linearizable
//!
//! A try that finds its slot ready decides from the slot alone, as above.
//! One that finds it not ready (a pop: not published for this lap; a push:
//! still holding the previous lap's item) cannot tell from the slot whether
//! the ring is empty (full) or a thread has claimed that position and not
//! stored its `seq` yet. While no later position of the same side is
//! finished, it may report empty (full): the unfinished operation and all
//! after it can be ordered after the call. Once a later one is finished, it
//! must not, since FIFO order puts the unfinished one before that one.
//!
//! So every push, between its claim and its publish, looks at the
//! position before its own: if that one is claimed and not published, this
//! push *overtakes* it, and sets the flag `pops_read_tail` before it
//! publishes. Take the first published position after an unpublished one:
//! when its push looked, the one before was unpublished, so the flag was
//! set before it published. A failed pop that reads the flag clear after a
//! `SeqCst` fence therefore knows that no later position is published, and
//! reports empty. Once the flag is set, a failed pop reads `tail` after the
//! fence, as crossbeam's `ArrayQueue` does on every failed pop: `tail ==
//! head` is an empty ring at that instant; otherwise the thread at the slot
//! is mid-operation, and the call waits for it (with backoff) and looks
//! again. Pops look at the position before theirs in the same way, for the
//! failed pushes (`pushes_read_head`: `head + one lap == tail` is a full
//! ring). The flags are never cleared.
//!
//! The look at the position before is most often free: each claimer, once
//! finished, stores the next position in its cursor's `done`, on the line
//! its claim just wrote, and the next claimer that reads its own position
//! there skips the slot, whose line the other side may be using. With one
//! producer no push ever overtakes, so a failed pop reads its slot and a
//! line nobody writes, and a consumer polling an empty ring never pulls the
//! producer's cursor line; the same holds for failed pushes with one
//! consumer. When several producers overlap, the first overtake sets the
//! flag, and failed pops read `tail` from then on.
//!
//! A pop reports empty only if the ring was empty at some instant during
//! the call, a push full only if it was full, and a thread preempted
//! between its claim and its store delays only the calls that need its
//! very slot.
//!
//! [`Ring::force_push`] on a full ring claims `tail` and then `head` at the
//! oldest item, and completes both with one store of the slot's `seq`;
//! meanwhile `tail` is one lap and one position past `head`, so no push
//! reports full, and it sets `pops_read_tail` before it claims `head`, so
//! that a pop which finds the slot not ready reads `tail` and waits.
//!
//! # Closing
//!
//! [`Ring::close`] sets the mark bit of `tail` ([`Laps::mark`]), so that no
//! push can claim a position afterwards (its CAS expects an unmarked
//! `tail`), and sets `pops_read_tail`, so that a pop whose slot is not
//! ready reads `tail`: a marked `tail` equal to `head` is "closed and
//! drained", a marked `tail` ahead of it a push claimed before the close
//! and still in progress, which it waits for.
//!
//! # Vocabulary
//!
//! - *position*: a cursor value `{ lap, index }` (see [`Laps`]); moving
//!   past the last index gives `{ lap: lap + 1, index: 0 }`.
//! - `head`: the next position to pop; `tail`: the next position to push,
//!   plus the mark bit once closed.
//! - `seq`: a slot's sequence, compared with the position of the thread
//!   looking at it. All comparisons are on the wrapping difference, so
//!   positions may wrap around `usize`.
//!
//! # Memory orderings
//!
//! The cursors carry no data: whoever wins the CAS on `tail` (`head`) owns
//! that position exclusively, and the CAS can be `Relaxed` because the data
//! handoff goes through the slot's `seq`:
//!
//! - push: `seq.store(pos + 1, Release)` after writing the value pairs with
//!   the `Acquire` load of `seq` in pop, so the write happens-before the
//!   read;
//! - pop: `seq.store(pos + one_lap, Release)` after reading the value pairs
//!   with the `Acquire` load of `seq` in the next lap's push, so the read
//!   happens-before the overwrite;
//! - the not-ready path: `fence(SeqCst)` between the slot's load and the
//!   other cursor's load, so that a call which comes after a completed
//!   operation in real time sees its claim (crossbeam's reasoning; no
//!   happens-before edge carries it, so no loom model can tell the fence
//!   from none);
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
//! # Progress
//!
//! A thread is never blocked by a thread of its own side: a producer
//! preempted between its claim and its `seq` store holds back only the pops
//! of its position (and the pushes of the next lap at that slot), which
//! wait for it; every other push and pop goes on.

use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::time::Duration;

use crossbeam_utils::CachePadded;

use crate::error::{CapacityError, Closed, Full, PopError, PushError};
use crate::pos::Laps;
use crate::sync::{fence, AtomicBool, AtomicUsize, Backoff, Ordering, UnsafeCell};
use crate::wait::{self, WaitStrategy, Waiter};

mod iter;
pub use iter::{IntoIter, Iter, TryIter};

/// How far past the full slot a blocked producer waits for room before it
/// looks again (see `Ring::wait_for_room_ahead`).
const ROOM_AHEAD: usize = 32;
/// The most times it looks (each after a backoff step).
const ROOM_AHEAD_POLLS: u32 = 64;

/// One cell of the buffer.
struct Slot<T> {
    /// Whose turn it is: see the module docs.
    seq: AtomicUsize,
    /// Initialized exactly when `seq` is some position + 1.
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A cursor, and its side's hint of what is finished, on one cache line.
struct Cursor {
    /// The next position to claim; `tail`'s also carries the mark bit once
    /// the ring is closed.
    at: AtomicUsize,
    /// The position after the last one its claimer finished (a push:
    /// published it; a pop: freed its slot), as that claimer stored it.
    /// The claimer of position `p` that reads `done == p` knows the
    /// position before its own is finished without loading that position's
    /// slot, whose cache line the other side may be using. A hint: a late
    /// store of an older position only sends that claimer to the slot.
    done: AtomicUsize,
}

impl Cursor {
    fn new() -> Self {
        Self {
            at: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
        }
    }
}

/// When a failed try must read the other side's cursor: set once, never
/// cleared (module docs, "Why the try calls are linearizable").
struct Overtaken {
    /// Set by a push that finds the position before its own unpublished,
    /// by a `force_push` that takes the oldest item, and by `close`.
    pops_read_tail: AtomicBool,
    /// Set by a pop that finds the position before its own not freed.
    pushes_read_head: AtomicBool,
}

/// A bounded multi-producer multi-consumer queue.
///
/// Holds at most [`capacity`](Ring::capacity) items, exactly the capacity
/// asked for. Every call takes `&self`: share a ring between threads with
/// `Arc` or scoped threads.
///
/// The calls come in two families that differ only in what they say about
/// a [closed](Ring::close) ring:
///
/// | | push | pop |
/// |---|---|---|
/// | never closed: | [`try_push`](Ring::try_push), [`push`](Ring::push), [`push_timeout`](Ring::push_timeout) | [`try_pop`](Ring::try_pop), [`pop`](Ring::pop), [`pop_timeout`](Ring::pop_timeout) |
/// | report closed: | [`try_send`](Ring::try_send), [`send`](Ring::send), [`send_timeout`](Ring::send_timeout) | [`try_recv`](Ring::try_recv), [`recv`](Ring::recv), [`recv_timeout`](Ring::recv_timeout) |
///
/// The try calls are linearizable: a pop reports empty only if the ring
/// was empty at some instant during the call, a push reports full only if
/// it was full (module docs of the source, "Why the try calls are
/// linearizable"). [`try_pop_if_ready`](Ring::try_pop_if_ready) and
/// [`try_push_if_free`](Ring::try_push_if_free) decide from their slot
/// alone instead: they never wait for a preempted thread, and are not
/// linearizable.
///
/// # Examples
///
/// ```
/// use ackring::Ring;
/// use std::sync::Arc;
///
/// let ring = Arc::new(Ring::new(16));
/// let producer = {
///     let ring = Arc::clone(&ring);
///     std::thread::spawn(move || {
///         for i in 0..100_u64 {
///             ring.push(i); // waits while the ring is full
///         }
///     })
/// };
/// let sum: u64 = (0..100).map(|_| ring.pop()).sum();
/// producer.join().unwrap();
/// assert_eq!(sum, 4950);
/// ```
pub struct Ring<T> {
    /// Consumers' cursor: the position `{ lap, index }` of the next pop.
    head: CachePadded<Cursor>,
    /// Producers' cursor: the position `{ lap, index }` of the next push,
    /// with `laps.mark()` set once the ring is closed.
    tail: CachePadded<Cursor>,
    /// Whether failed tries must read the other cursor; a line written at
    /// most a few times in the ring's life, so reading it costs a cache
    /// hit.
    overtaken: CachePadded<Overtaken>,
    /// `capacity` slots; slot `i` starts with `seq = { lap: 0, index: i }`.
    buffer: Box<[Slot<T>]>,
    /// The position arithmetic (capacity, lap size, the mark bit).
    laps: Laps<usize>,
    /// What the blocking calls do between tries.
    strategy: WaitStrategy,
    /// Poppers sleeping until an item arrives (Park only).
    not_empty: CachePadded<Waiter>,
    /// Pushers sleeping until room appears (Park only).
    not_full: CachePadded<Waiter>,
    _marker: PhantomData<T>,
}

// SAFETY: a `Ring<T>` moves `T` values between threads and never hands out
// references to them, so sharing it only requires that `T` can be sent. All
// access to a slot's value is serialized by the `seq` protocol (module docs):
// only the thread that won the CAS for a position touches that slot's value
// until it stores the next `seq` with Release.
unsafe impl<T: Send> Sync for Ring<T> {}
// SAFETY: the ring owns its `T`s; moving the ring moves them, which `T: Send`
// allows. (The std `UnsafeCell` is already `Send` for `T: Send`; loom's is
// not, so this is spelled out.)
unsafe impl<T: Send> Send for Ring<T> {}

impl<T> Ring<T> {
    /// Creates a ring that holds up to `capacity` items, with the default
    /// wait strategy ([`WaitStrategy::Backoff`]).
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 or too large to allocate; [`Ring::try_new`]
    /// returns a [`CapacityError`] instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::<u64>::new(1000);
    /// assert_eq!(ring.capacity(), 1000);
    /// ```
    pub fn new(capacity: usize) -> Self {
        Self::with_wait_strategy(capacity, WaitStrategy::default())
    }

    /// Creates a ring that holds up to `capacity` items, or says why not.
    ///
    /// # Errors
    ///
    /// [`CapacityError::Zero`] for a capacity of 0;
    /// [`CapacityError::TooLarge`] when the slots cannot be allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{CapacityError, Ring};
    ///
    /// assert!(Ring::<u8>::try_new(8).is_ok());
    /// assert_eq!(Ring::<u8>::try_new(0).unwrap_err(), CapacityError::Zero);
    /// ```
    pub fn try_new(capacity: usize) -> Result<Self, CapacityError> {
        Self::try_with_wait_strategy(capacity, WaitStrategy::default())
    }

    /// Creates a ring whose blocking calls wait with `strategy`.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 or too large to allocate.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{Ring, WaitStrategy};
    ///
    /// let ring = Ring::<u8>::with_wait_strategy(4, WaitStrategy::Park);
    /// assert_eq!(ring.wait_strategy(), WaitStrategy::Park);
    /// ```
    pub fn with_wait_strategy(capacity: usize, strategy: WaitStrategy) -> Self {
        match Self::try_with_wait_strategy(capacity, strategy) {
            Ok(ring) => ring,
            Err(e) => panic!("Ring::new: {e}"),
        }
    }

    /// Creates a ring whose blocking calls wait with `strategy`, or says why
    /// it cannot.
    ///
    /// # Errors
    ///
    /// As [`Ring::try_new`].
    pub fn try_with_wait_strategy(
        capacity: usize,
        strategy: WaitStrategy,
    ) -> Result<Self, CapacityError> {
        if capacity == 0 {
            return Err(CapacityError::Zero);
        }
        let too_large = CapacityError::TooLarge {
            requested: capacity,
        };
        let laps = Laps::<usize>::with_mark_bit(capacity).ok_or(too_large)?;
        let mut slots = Vec::new();
        slots.try_reserve_exact(capacity).map_err(|_| too_large)?;
        // { lap: 0, index: i } for each slot.
        slots.extend((0..capacity).map(|i| Slot {
            seq: AtomicUsize::new(i),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }));
        Ok(Self {
            head: CachePadded::new(Cursor::new()),
            tail: CachePadded::new(Cursor::new()),
            overtaken: CachePadded::new(Overtaken {
                pops_read_tail: AtomicBool::new(false),
                pushes_read_head: AtomicBool::new(false),
            }),
            buffer: slots.into_boxed_slice(),
            laps,
            strategy,
            not_empty: CachePadded::new(Waiter::new()),
            not_full: CachePadded::new(Waiter::new()),
            _marker: PhantomData,
        })
    }

    /// The most items the ring holds at once: exactly what was asked for.
    pub fn capacity(&self) -> usize {
        self.laps.capacity()
    }

    /// The wait strategy the blocking calls use.
    pub fn wait_strategy(&self) -> WaitStrategy {
        self.strategy
    }

    /// The slot at `pos`'s index (`pos` without the mark bit).
    #[inline(always)]
    fn slot(&self, pos: usize) -> &Slot<T> {
        &self.buffer[self.laps.index(pos)]
    }

    /// The lot of poppers waiting for an item (woken on a `Park` ring).
    pub(crate) fn not_empty(&self) -> &Waiter {
        &self.not_empty
    }

    /// The lot of pushers waiting for room (woken on a `Park` ring).
    pub(crate) fn not_full(&self) -> &Waiter {
        &self.not_full
    }

    #[inline(always)]
    fn after_push(&self) {
        if self.strategy == WaitStrategy::Park {
            self.not_empty.notify();
        }
    }

    #[inline(always)]
    fn after_pop(&self) {
        if self.strategy == WaitStrategy::Park {
            self.not_full.notify();
        }
    }

    /// Publishes position `pos`, whose value is written.
    #[inline(always)]
    fn publish(&self, pos: usize) {
        // Release: publishes the value; pairs with the Acquire load of seq
        // in pop_or_refuse.
        self.slot(pos)
            .seq
            .store(pos.wrapping_add(1), Ordering::Release);
    }

    /// Frees position `pos`, whose value is read: hands its slot to the
    /// next lap, `{ lap: lap + 1, index }`.
    #[inline(always)]
    fn free(&self, pos: usize) {
        // Release: hands the slot to the next lap's producer; pairs with
        // the Acquire load of seq in push_or_refuse.
        self.slot(pos)
            .seq
            .store(self.laps.next_lap(pos), Ordering::Release);
    }

    /// Called by the claimer of push position `pos` before it publishes:
    /// if the position before is claimed and not published yet, this push
    /// overtakes it, and from then on a failed pop reads `tail` (module
    /// docs, "Why the try calls are linearizable").
    #[inline(always)]
    fn note_push(&self, pos: usize) {
        // Acquire: pairs with the Release store in `pushed`, so that the
        // publish of the position before happens-before ours: a call that
        // happens after ours then sees that publish in the slot, as it
        // would had we read the slot ourselves.
        if self.tail.done.load(Ordering::Acquire) != pos {
            self.check_push_overtake(pos);
        }
    }

    #[inline(never)]
    fn check_push_overtake(&self, pos: usize) {
        let prev = self.laps.prev(pos);
        // Relaxed: the value only decides whether to raise the flag. A
        // call that happens after ours and loads this slot's seq reads
        // this value or a later one (read-read coherence), so it needs no
        // edge through us to see what we saw.
        let seq = self.slot(prev).seq.load(Ordering::Relaxed);
        if (seq.wrapping_sub(prev.wrapping_add(1)) as isize) < 0 {
            raise(&self.overtaken.pops_read_tail);
        }
    }

    /// Called by a push after it published every position before `next`.
    #[inline(always)]
    fn pushed(&self, next: usize) {
        // Release: pairs with the Acquire load in `note_push`.
        self.tail.done.store(next, Ordering::Release);
    }

    /// Called by the claimer of pop position `pos` before it frees the
    /// slot: if the position before is claimed and not freed yet, this pop
    /// overtakes it, and from then on a failed push reads `head`.
    #[inline(always)]
    fn note_pop(&self, pos: usize) {
        // Acquire: pairs with the Release store in `popped`, as in
        // `note_push`.
        if self.head.done.load(Ordering::Acquire) != pos {
            self.check_pop_overtake(pos);
        }
    }

    #[inline(never)]
    fn check_pop_overtake(&self, pos: usize) {
        let prev = self.laps.prev(pos);
        // Relaxed: as in `check_push_overtake`.
        let seq = self.slot(prev).seq.load(Ordering::Relaxed);
        if (seq.wrapping_sub(self.laps.next_lap(prev)) as isize) < 0 {
            raise(&self.overtaken.pushes_read_head);
        }
    }

    /// Called by a pop after it freed every position before `next`.
    #[inline(always)]
    fn popped(&self, next: usize) {
        // Release: pairs with the Acquire load in `note_pop`.
        self.head.done.store(next, Ordering::Release);
    }

    /// A push found the slot at `tail` still holding the previous lap's
    /// item: whether the ring is full (`true`), or a consumer has claimed
    /// that item and not freed the slot yet (`false`: look again).
    #[inline]
    fn is_full_at(&self, tail: usize) -> bool {
        // SeqCst fence: orders the slot's load before the load of `head`
        // (module docs, "Why the try calls are linearizable"). No loom
        // model sees it removed: it orders this call after pops that do
        // not happen-before it (real time), which loom does not model;
        // the fence in `not_ready` also pairs with force_push's Release.
        fence(Ordering::SeqCst);
        // Acquire: pairs with the SeqCst store in `raise`, so that the
        // overtaking pop's claim of `head` is seen below. No model sees it
        // weakened: where a model's push reads the flag set, that claim
        // reaches it through another edge too (a join), and in real time
        // the fence above carries it anyway.
        if !self.overtaken.pushes_read_head.load(Ordering::Acquire) {
            return true;
        }
        // Relaxed: ordered by the fence; only compared.
        let head = self.head.at.load(Ordering::Relaxed);
        self.laps.next_lap(head) == tail
    }

    /// Pushes `value` if the ring has room and is open. With `WAIT`, a
    /// slot a consumer is still popping is waited for (the linearizable
    /// calls); without, it is reported as full (`try_push_if_free`).
    #[inline]
    fn push_or_refuse<const WAIT: bool>(&self, value: T) -> Result<(), PushError<T>> {
        let backoff = Backoff::new();
        // Relaxed: the cursor is only a hint of which slot to look at; the
        // slot's seq (Acquire below) carries the synchronization, and the
        // CAS, which reads the latest value, catches a mark set since.
        let mut tail = self.tail.at.load(Ordering::Relaxed);
        loop {
            if tail & self.laps.mark() != 0 {
                return Err(PushError::Closed(value));
            }
            let slot = self.slot(tail);
            // Acquire: pairs with the Release store of seq in `free`, so the
            // previous lap's read of this slot happens-before our write.
            let seq = slot.seq.load(Ordering::Acquire);
            let diff = seq.wrapping_sub(tail) as isize;
            if diff == 0 {
                // Relaxed: winning the CAS makes `tail` ours alone; no data
                // travels through the cursor.
                match self.tail.at.compare_exchange_weak(
                    tail,
                    self.laps.advance(tail),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        self.note_push(tail);
                        // SAFETY: we own position `tail` (CAS above) and its
                        // slot is writable (seq == tail, seen with Acquire),
                        // so no other thread reads or writes the value until
                        // we store the next seq.
                        slot.value
                            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
                        self.publish(tail);
                        self.pushed(self.laps.advance(tail));
                        self.after_push();
                        return Ok(());
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
                    return Err(PushError::Full(value));
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

    /// A pop found the slot at `head` not published for this lap. Says
    /// why: empty, or closed and drained; `None` when a push has claimed
    /// `head` (or a force_push has moved `head` past the item it is
    /// replacing) and not stored its `seq` yet: the caller waits a step
    /// and looks again.
    #[inline]
    fn not_ready(&self, head: usize) -> Option<PopError> {
        // SeqCst fence: orders the slot's load before the load of `tail`
        // (module docs, "Why the try calls are linearizable").
        fence(Ordering::SeqCst);
        // Acquire: pairs with the SeqCst store in `raise`, so that the
        // overtaking push's claim (or the close's mark) is seen below. No
        // model sees it weakened, as in `is_full_at`: the claim also comes
        // through a join, or through force_push's Release CAS on `head`
        // and the fence above, and a close seen late only delays "closed".
        if !self.overtaken.pops_read_tail.load(Ordering::Acquire) {
            return Some(PopError::Empty);
        }
        // Relaxed: ordered by the fence; only compared.
        let tail = self.tail.at.load(Ordering::Relaxed);
        if tail & !self.laps.mark() != head {
            None
        } else if tail & self.laps.mark() != 0 {
            Some(PopError::Closed)
        } else {
            Some(PopError::Empty)
        }
    }

    /// Pops the oldest item, or says why not. With `WAIT`, a slot a
    /// producer is still filling is waited for (the linearizable calls);
    /// without, it is reported as empty (`try_pop_if_ready`).
    #[inline]
    fn pop_or_refuse<const WAIT: bool>(&self) -> Result<T, PopError> {
        let backoff = Backoff::new();
        // Relaxed: a hint, as in push_or_refuse.
        let mut head = self.head.at.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(head);
            // Acquire: pairs with the Release store of seq in `publish`, so
            // the value written there is visible to our read.
            let seq = slot.seq.load(Ordering::Acquire);
            let diff = seq.wrapping_sub(head.wrapping_add(1)) as isize;
            if diff == 0 {
                // Relaxed: winning the CAS makes `head` ours alone.
                match self.head.at.compare_exchange_weak(
                    head,
                    self.laps.advance(head),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: we own position `head` (CAS above) and its
                        // slot holds an initialized value (seq == head + 1,
                        // seen with Acquire after the producer's Release).
                        // We move it out once; `free` makes the slot
                        // writable again, so it is never read twice.
                        let value = slot.value.with(|p| unsafe { p.read().assume_init() });
                        self.note_pop(head);
                        self.free(head);
                        self.popped(self.laps.advance(head));
                        self.after_pop();
                        return Ok(value);
                    }
                    Err(current) => {
                        head = current;
                        backoff.spin();
                    }
                }
            } else if diff < 0 {
                // Not published for this lap: empty, or a push in progress.
                if !WAIT {
                    return Err(PopError::Empty);
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

    /// Pushes `value` if there is room, without waiting for room.
    ///
    /// Linearizable: it reports full only if the ring was full at some
    /// instant during the call. When the slot it needs is still being
    /// popped by a preempted consumer (the ring not full), it waits for
    /// that consumer, with backoff.
    ///
    /// # Errors
    ///
    /// [`Full`], holding `value`, when the ring is full, or closed (a
    /// closed ring has room for nothing; [`try_send`](Ring::try_send) tells
    /// the two apart).
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(2);
    /// assert!(ring.try_push(1).is_ok());
    /// assert!(ring.try_push(2).is_ok());
    /// assert_eq!(ring.try_push(3).unwrap_err().into_inner(), 3);
    /// ```
    pub fn try_push(&self, value: T) -> Result<(), Full<T>> {
        self.push_or_refuse::<true>(value)
            .map_err(|e| Full(e.into_inner()))
    }

    /// Pushes `value` if the slot at the tail is free, deciding from that
    /// slot alone: it never waits for another thread, and never reads the
    /// consumers' cursor.
    ///
    /// **Not linearizable**, unlike [`try_push`](Ring::try_push): it also
    /// reports full when the ring has room but a consumer that claimed the
    /// slot's previous item has not freed the slot yet (say, it was
    /// preempted), even if later slots are free. For callers that poll
    /// and would rather move on than wait for that consumer: a failed call
    /// costs one load of the slot's line.
    ///
    /// # Errors
    ///
    /// [`Full`], holding `value`, when the slot at the tail is not free,
    /// or the ring is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(1);
    /// assert!(ring.try_push_if_free(1).is_ok());
    /// assert_eq!(ring.try_push_if_free(2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn try_push_if_free(&self, value: T) -> Result<(), Full<T>> {
        self.push_or_refuse::<false>(value)
            .map_err(|e| Full(e.into_inner()))
    }

    /// Pops the item at the head if it is published, deciding from that
    /// slot alone: it never waits for another thread, and never reads the
    /// producers' cursor.
    ///
    /// **Not linearizable**, unlike [`try_pop`](Ring::try_pop): it also
    /// returns `None` when a producer that claimed the head position has
    /// not published its item yet (say, it was preempted), even if later
    /// items are published, so a thread that pushed and at once calls
    /// this may get `None`. For callers that poll and would rather move on
    /// than wait for that producer: a failed call costs one load of the
    /// slot's line.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(2);
    /// ring.push('x');
    /// assert_eq!(ring.try_pop_if_ready(), Some('x'));
    /// assert_eq!(ring.try_pop_if_ready(), None);
    /// ```
    pub fn try_pop_if_ready(&self) -> Option<T> {
        self.pop_or_refuse::<false>().ok()
    }

    /// Pops the oldest item, if any, without waiting for one.
    ///
    /// Linearizable: it returns `None` only if the ring was empty at some
    /// instant during the call (on a closed ring: empty for good). When
    /// the slot it needs is still being filled by a preempted producer
    /// (the ring not empty), it waits for that producer, with backoff.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(2);
    /// ring.try_push('x').unwrap();
    /// assert_eq!(ring.try_pop(), Some('x'));
    /// assert_eq!(ring.try_pop(), None);
    /// ```
    pub fn try_pop(&self) -> Option<T> {
        self.pop_or_refuse::<true>().ok()
    }

    /// Pushes `value` if there is room, or says whether the ring was full
    /// or closed.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] or [`PushError::Closed`], holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{PushError, Ring};
    ///
    /// let ring = Ring::new(1);
    /// assert_eq!(ring.try_send(1), Ok(()));
    /// assert_eq!(ring.try_send(2), Err(PushError::Full(2)));
    /// ring.close();
    /// assert_eq!(ring.try_send(3), Err(PushError::Closed(3)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), PushError<T>> {
        self.push_or_refuse::<true>(value)
    }

    /// Pops the oldest item, or says whether the ring was empty or is
    /// closed and drained.
    ///
    /// # Errors
    ///
    /// [`PopError::Empty`] while the ring is open and empty;
    /// [`PopError::Closed`] once it is closed and every item pushed before
    /// the close has been popped.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{PopError, Ring};
    ///
    /// let ring = Ring::new(2);
    /// ring.push(1);
    /// ring.close();
    /// assert_eq!(ring.try_recv(), Ok(1));
    /// assert_eq!(ring.try_recv(), Err(PopError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, PopError> {
        self.pop_or_refuse::<true>()
    }

    /// Pushes `value`, waiting for room with the ring's wait strategy.
    ///
    /// # Panics
    ///
    /// If the ring is closed, or is closed while the call waits (the
    /// value is dropped); [`send`](Ring::send) returns it instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(1);
    /// ring.push("a");
    /// assert_eq!(ring.pop(), "a");
    /// ```
    pub fn push(&self, value: T) {
        if self.push_until(value, None).is_err() {
            panic!("Ring::push on a closed ring (use Ring::send to get the value back)");
        }
    }

    /// Pops the oldest item, waiting for one with the ring's wait strategy.
    ///
    /// # Panics
    ///
    /// If the ring is closed and drained, or becomes so while the call
    /// waits; [`recv`](Ring::recv) reports it instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(1);
    /// ring.push(5);
    /// assert_eq!(ring.pop(), 5);
    /// ```
    pub fn pop(&self) -> T {
        match self.pop_until(None) {
            Ok(v) => v,
            Err(_) => panic!("Ring::pop on a closed, drained ring (use Ring::recv)"),
        }
    }

    /// Pushes `value`, waiting for room with the ring's wait strategy,
    /// until it is pushed or the ring is closed.
    ///
    /// # Errors
    ///
    /// [`PushError::Closed`], holding `value`, if the ring is closed or
    /// is closed while the call waits (never [`PushError::Full`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(1);
    /// assert!(ring.send(1).is_ok());
    /// ring.close();
    /// assert_eq!(ring.send(2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn send(&self, value: T) -> Result<(), PushError<T>> {
        self.push_until(value, None)
    }

    /// Pops the oldest item, waiting for one with the ring's wait strategy,
    /// until it gets one or the ring is closed and drained.
    ///
    /// # Errors
    ///
    /// [`Closed`] once the ring is closed and every item pushed before the
    /// close has been popped.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(2);
    /// ring.push(1);
    /// ring.close();
    /// assert_eq!(ring.recv(), Ok(1));
    /// assert!(ring.recv().is_err());
    /// ```
    pub fn recv(&self) -> Result<T, Closed> {
        self.pop_until(None).map_err(|_| Closed)
    }

    /// Pushes `value`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`Full`], holding `value`, if there was still no room after
    /// `timeout`, or the ring is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let ring = ackring::Ring::new(1);
    /// ring.push_timeout(1, Duration::from_millis(1)).unwrap();
    /// let full = ring.push_timeout(2, Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(full.into_inner(), 2);
    /// ```
    pub fn push_timeout(&self, value: T, timeout: Duration) -> Result<(), Full<T>> {
        self.push_until(value, wait::deadline_after(timeout))
            .map_err(|e| Full(e.into_inner()))
    }

    /// Pops the oldest item, waiting at most `timeout` for one.
    ///
    /// Returns `None` if the ring stayed empty for `timeout`, or is closed
    /// and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let ring = ackring::Ring::<u8>::new(1);
    /// assert_eq!(ring.pop_timeout(Duration::from_millis(1)), None);
    /// ```
    pub fn pop_timeout(&self, timeout: Duration) -> Option<T> {
        self.pop_until(wait::deadline_after(timeout)).ok()
    }

    /// Pushes `value`, waiting at most `timeout` for room, or says why not.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] if there was still no room after `timeout`;
    /// [`PushError::Closed`] if the ring is closed or is closed while the
    /// call waits. Either holds `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{PushError, Ring};
    /// use std::time::Duration;
    ///
    /// let ring = Ring::new(1);
    /// ring.push(1);
    /// let ms = Duration::from_millis(1);
    /// assert_eq!(ring.send_timeout(2, ms), Err(PushError::Full(2)));
    /// ring.close();
    /// assert_eq!(ring.send_timeout(3, ms), Err(PushError::Closed(3)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), PushError<T>> {
        self.push_until(value, wait::deadline_after(timeout))
    }

    /// Pops the oldest item, waiting at most `timeout` for one, or says
    /// why not.
    ///
    /// # Errors
    ///
    /// [`PopError::Empty`] if the ring stayed open and empty for
    /// `timeout`; [`PopError::Closed`] once it is closed and drained (also
    /// while the call waits).
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{PopError, Ring};
    /// use std::time::Duration;
    ///
    /// let ring = Ring::<u8>::new(1);
    /// let ms = Duration::from_millis(1);
    /// assert_eq!(ring.recv_timeout(ms), Err(PopError::Empty));
    /// ring.close();
    /// assert_eq!(ring.recv_timeout(ms), Err(PopError::Closed));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, PopError> {
        self.pop_until(wait::deadline_after(timeout))
    }

    fn push_until(
        &self,
        value: T,
        deadline: Option<crate::sync::Instant>,
    ) -> Result<(), PushError<T>> {
        let value = match self.push_or_refuse::<true>(value) {
            Err(PushError::Full(value)) => value,
            done => return done,
        };
        self.wait_for_room_ahead();
        let mut value = Some(value);
        let done = wait::wait_until(
            self.strategy,
            &self.not_full,
            deadline,
            || match self.push_or_refuse::<true>(value.take()?) {
                Err(PushError::Full(v)) => {
                    value = Some(v);
                    None
                }
                done => Some(done),
            },
            || true,
        );
        match (done, value) {
            (Some(done), _) => done,
            (None, Some(v)) => Err(PushError::Full(v)),
            (None, None) => unreachable!("the value is put back on every failed try"),
        }
    }

    /// After a push found the ring full: waits (a few microseconds at
    /// most, as the strategy's first steps would) until the slot
    /// `ROOM_AHEAD` places past `tail` is free too, so that the producer
    /// comes back for a run of free slots instead of polling the one a
    /// consumer is about to free, whose cache line the consumer is still
    /// using for its next pops.
    fn wait_for_room_ahead(&self) {
        let ahead = ROOM_AHEAD.min(self.capacity() - 1);
        // Relaxed: a hint of which slot to watch; `push_or_refuse` decides.
        let tail = self.tail.at.load(Ordering::Relaxed);
        if ahead == 0 || tail & self.laps.mark() != 0 {
            return;
        }
        let far = self.laps.ahead(tail, ahead);
        let slot = self.slot(far);
        let backoff = Backoff::new();
        for _ in 0..ROOM_AHEAD_POLLS {
            // Relaxed: a hint, as above. Free for `far` (or a later lap, if
            // other producers moved on) ends the wait.
            if slot.seq.load(Ordering::Relaxed).wrapping_sub(far) as isize >= 0 {
                return;
            }
            if self.strategy == WaitStrategy::Spin {
                backoff.spin();
            } else if backoff.is_completed() {
                return;
            } else {
                backoff.snooze();
            }
        }
    }

    fn pop_until(&self, deadline: Option<crate::sync::Instant>) -> Result<T, PopError> {
        wait::wait_until(
            self.strategy,
            &self.not_empty,
            deadline,
            || match self.pop_or_refuse::<true>() {
                Err(PopError::Empty) => None,
                done => Some(done),
            },
            || true,
        )
        .unwrap_or(Err(PopError::Empty))
    }

    /// Pushes `value`, overwriting the oldest item when the ring is full;
    /// returns the item it overwrote. The ring then holds the newest
    /// `capacity` items (a "ring buffer" of recent samples).
    ///
    /// On a closed ring nothing is pushed and `value` itself comes back.
    /// When the ring is full and the oldest item is being popped, or
    /// pushed, by a thread that has not finished, the call waits for that
    /// thread (with backoff) and then pushes into the slot it leaves.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(2);
    /// assert_eq!(ring.force_push(1), None);
    /// assert_eq!(ring.force_push(2), None);
    /// assert_eq!(ring.force_push(3), Some(1)); // the oldest, overwritten
    /// assert_eq!(ring.try_pop(), Some(2));
    /// assert_eq!(ring.try_pop(), Some(3));
    /// ```
    pub fn force_push(&self, value: T) -> Option<T> {
        let backoff = Backoff::new();
        // Relaxed: a hint, as in push_or_refuse.
        let mut tail = self.tail.at.load(Ordering::Relaxed);
        loop {
            if tail & self.laps.mark() != 0 {
                return Some(value);
            }
            // Relaxed: only chooses between claiming and looking again;
            // `force_write` loads seq again with Acquire before it touches
            // the value.
            let seq = self.slot(tail).seq.load(Ordering::Relaxed);
            if (seq.wrapping_sub(tail) as isize) > 0 {
                // Another producer moved past `tail`: look again.
                backoff.spin();
                tail = self.tail.at.load(Ordering::Relaxed);
                continue;
            }
            // The slot is free (seq == tail) or holds the previous lap's
            // item (the ring is full): claim `tail` either way. Relaxed: as
            // in push_or_refuse.
            match self.tail.at.compare_exchange_weak(
                tail,
                self.laps.advance(tail),
                Ordering::Relaxed,
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

    /// The second half of [`force_push`](Ring::force_push): we own push
    /// position `tail`, whose slot is free or holds (or is about to hold)
    /// the item of `oldest`, one lap earlier. Either a consumer pops that
    /// item and frees the slot, and we write into it; or we win `head` at
    /// `oldest` ourselves, so the pop of `oldest` and the push of `tail`
    /// are one operation on the slot.
    fn force_write(&self, tail: usize, value: T) -> Option<T> {
        let slot = self.slot(tail);
        // { lap: lap - 1, index }
        let oldest = tail.wrapping_sub(self.laps.one_lap());
        let backoff = Backoff::new();
        // Before either branch below publishes `tail`.
        self.note_push(tail);
        loop {
            // Acquire: pairs with the Release store of seq in `free` (the
            // slot is free) or in `publish` (it holds `oldest`'s value).
            let seq = slot.seq.load(Ordering::Acquire);
            if seq == tail {
                // SAFETY: we own position `tail` (the CAS in force_push) and
                // its slot is writable (seq == tail, seen with Acquire).
                slot.value
                    .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
                self.publish(tail);
                self.pushed(self.laps.advance(tail));
                self.after_push();
                return None;
            }
            if seq == oldest.wrapping_add(1) {
                // Between our claim of `head` below and our store of seq, a
                // pop at `head` may find its slot not ready: it must read
                // `tail` (which is ahead) and wait, not report empty.
                raise(&self.overtaken.pops_read_tail);
            }
            // Winning the CAS makes `oldest` ours alone, as in
            // pop_or_refuse; its value was published to us by the Acquire
            // load above. Release: pairs with the fence in `not_ready`: a
            // pop that sees `head` moved past `oldest` also sees our claim
            // of `tail`, so it waits for our store instead of reporting
            // empty. Relaxed on failure: we only look again.
            if seq == oldest.wrapping_add(1)
                && self
                    .head
                    .at
                    .compare_exchange_weak(
                        oldest,
                        self.laps.advance(oldest),
                        Ordering::Release,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                // SAFETY: we own pop position `oldest` (the CAS on head) and
                // push position `tail` of the same slot, which holds
                // `oldest`'s initialized value (seq == oldest + 1, seen with
                // Acquire): no other thread touches it until we store seq.
                let old = slot
                    .value
                    .with_mut(|p| unsafe { p.replace(MaybeUninit::new(value)).assume_init() });
                // Frees `oldest` and publishes `tail` in one store.
                self.publish(tail);
                self.pushed(self.laps.advance(tail));
                self.after_push();
                return Some(old);
            }
            // A consumer is popping `oldest`, or its push is in progress,
            // or an earlier force_push has not moved `head` there yet.
            backoff.snooze();
        }
    }

    /// Closes the ring: pushes fail from then on (handing their value
    /// back), pops take what is left and then report closed, and every
    /// call waiting for room or for an item wakes up. Returns `false` if
    /// the ring was already closed.
    ///
    /// On a closed ring: [`try_push`](Ring::try_push) and
    /// [`push_timeout`](Ring::push_timeout) return [`Full`], the
    /// `send` calls [`PushError::Closed`], [`push`](Ring::push) panics,
    /// [`force_push`](Ring::force_push) returns its value; once drained,
    /// [`try_pop`](Ring::try_pop) and [`pop_timeout`](Ring::pop_timeout)
    /// return `None`, the `recv` calls report closed, [`pop`](Ring::pop)
    /// panics. A push that claimed its position before the close still
    /// completes, and pops wait for it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::Ring;
    ///
    /// let ring = Ring::new(4);
    /// std::thread::scope(|s| {
    ///     let consumer = s.spawn(|| {
    ///         let mut sum = 0;
    ///         while let Ok(v) = ring.recv() {
    ///             sum += v;
    ///         }
    ///         sum
    ///     });
    ///     for i in 1..=10 {
    ///         ring.send(i).unwrap();
    ///     }
    ///     assert!(ring.close());
    ///     assert_eq!(consumer.join().unwrap(), 55);
    /// });
    /// ```
    pub fn close(&self) -> bool {
        // Relaxed: the close takes effect here; every push's CAS, an RMW,
        // reads the latest value and so sees the mark from then on, and the
        // fence in `notify` below orders it before the waiters' check.
        let was = self.tail.at.fetch_or(self.laps.mark(), Ordering::Relaxed);
        // A pop whose slot is not ready reads `tail` from now on, to tell
        // closed from empty.
        raise(&self.overtaken.pops_read_tail);
        // Every waiter: its next attempt, made after its fence, sees the
        // mark (the Dekker pair of `wait`).
        self.not_empty.notify();
        self.not_full.notify();
        was & self.laps.mark() == 0
    }

    /// Whether [`close`](Ring::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::<u8>::new(1);
    /// assert!(!ring.is_closed());
    /// ring.close();
    /// assert!(ring.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        // Relaxed: a snapshot; no data depends on it.
        self.tail.at.load(Ordering::Relaxed) & self.laps.mark() != 0
    }

    /// Moves as many items as fit from the front of `items` into the ring,
    /// in order, with one claim on the producers' cursor; returns how many
    /// moved (none on a closed ring). The rest stay in `items`.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(3);
    /// let mut items = vec![1, 2, 3, 4, 5];
    /// assert_eq!(ring.try_push_batch(&mut items), 3);
    /// assert_eq!(items, [4, 5]);
    /// ```
    pub fn try_push_batch(&self, items: &mut Vec<T>) -> usize {
        let want = items.len().min(self.capacity());
        if want == 0 {
            return 0;
        }
        let backoff = Backoff::new();
        // Relaxed: a hint, as in push_or_refuse.
        let mut tail = self.tail.at.load(Ordering::Relaxed);
        loop {
            if tail & self.laps.mark() != 0 {
                return 0;
            }
            // Count the writable slots from `tail` on: each must have
            // seq == its position (Acquire, as in push_or_refuse).
            let mut n = 0;
            let mut end = tail;
            while n < want {
                if self.slot(end).seq.load(Ordering::Acquire) != end {
                    break;
                }
                n += 1;
                end = self.laps.advance(end);
            }
            if n == 0 {
                // Acquire, as in push_or_refuse, though no value is touched
                // after it (0 is returned, or the count above runs again
                // with its own Acquire loads): no model can see it weakened.
                let seq = self.slot(tail).seq.load(Ordering::Acquire);
                if (seq.wrapping_sub(tail) as isize) < 0 {
                    // As in push_or_refuse.
                    if self.is_full_at(tail) {
                        return 0;
                    }
                    backoff.snooze();
                } else {
                    backoff.spin();
                }
                tail = self.tail.at.load(Ordering::Relaxed);
                continue;
            }
            // Relaxed: as in push_or_refuse; the CAS gives us positions
            // tail..end, whose slots we saw writable, and only their owner
            // can change that.
            match self.tail.at.compare_exchange_weak(
                tail,
                end,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.note_push(tail);
                    let mut pos = tail;
                    for value in items.drain(..n) {
                        // SAFETY: position `pos` is ours (CAS above) and its
                        // slot was writable, as in push_or_refuse.
                        self.slot(pos)
                            .value
                            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
                        self.publish(pos);
                        pos = self.laps.advance(pos);
                    }
                    self.pushed(end);
                    self.after_push();
                    return n;
                }
                Err(current) => {
                    tail = current;
                    backoff.spin();
                }
            }
        }
    }

    /// Appends up to `max` of the oldest items to `out`, in order, with one
    /// claim on the consumers' cursor; returns how many moved.
    ///
    /// Reserves room in `out` for `max` items first (before taking any), so
    /// give it that much capacity up front to keep the call allocation-free.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(8);
    /// let mut items = vec![1, 2, 3];
    /// ring.try_push_batch(&mut items);
    /// let mut out = Vec::with_capacity(8);
    /// assert_eq!(ring.try_pop_batch(&mut out, 2), 2);
    /// assert_eq!(out, [1, 2]);
    /// ```
    pub fn try_pop_batch(&self, out: &mut Vec<T>, max: usize) -> usize {
        let want = max.min(self.capacity());
        if want == 0 {
            return 0;
        }
        // No allocation (or allocation failure) may happen after we claim.
        out.reserve(want);
        let backoff = Backoff::new();
        // Relaxed: a hint, as in pop_or_refuse.
        let mut head = self.head.at.load(Ordering::Relaxed);
        loop {
            // Count the readable slots from `head` on (seq == position + 1,
            // Acquire as in pop_or_refuse).
            let mut n = 0;
            let mut end = head;
            while n < want {
                if self.slot(end).seq.load(Ordering::Acquire) != end.wrapping_add(1) {
                    break;
                }
                n += 1;
                end = self.laps.advance(end);
            }
            if n == 0 {
                // Acquire, as in pop_or_refuse, though no value is read
                // after it (as in try_push_batch): no model can see it
                // weakened.
                let seq = self.slot(head).seq.load(Ordering::Acquire);
                if (seq.wrapping_sub(head.wrapping_add(1)) as isize) < 0 {
                    // Not published, as in pop_or_refuse.
                    if self.not_ready(head).is_some() {
                        return 0;
                    }
                    backoff.snooze();
                } else {
                    backoff.spin();
                }
                head = self.head.at.load(Ordering::Relaxed);
                continue;
            }
            // Relaxed: as in pop_or_refuse; positions head..end are now ours.
            match self.head.at.compare_exchange_weak(
                head,
                end,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.note_pop(head);
                    let mut pos = head;
                    for _ in 0..n {
                        // SAFETY: position `pos` is ours and its slot holds an
                        // initialized value, as in pop_or_refuse; read once.
                        let value = self
                            .slot(pos)
                            .value
                            .with(|p| unsafe { p.read().assume_init() });
                        self.free(pos);
                        out.push(value); // cannot reallocate: reserved above
                        pos = self.laps.advance(pos);
                    }
                    self.popped(end);
                    self.after_pop();
                    return n;
                }
                Err(current) => {
                    head = current;
                    backoff.spin();
                }
            }
        }
    }

    /// Pushes `value` through `&mut self`: no other thread can be using
    /// the ring, so no CAS and no wait; what [`try_push`](Ring::try_push)
    /// does otherwise.
    ///
    /// # Errors
    ///
    /// [`Full`], holding `value`, when the ring is full or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ring = ackring::Ring::new(1);
    /// ring.push_mut(1).unwrap();
    /// assert_eq!(ring.push_mut(2).unwrap_err().into_inner(), 2);
    /// assert_eq!(ring.pop_mut(), Some(1));
    /// ```
    pub fn push_mut(&mut self, value: T) -> Result<(), Full<T>> {
        // Relaxed, here and below: `&mut self` means every other thread's
        // use of the ring happened-before this call.
        let tail = self.tail.at.load(Ordering::Relaxed);
        if tail & self.laps.mark() != 0 {
            return Err(Full(value));
        }
        let slot = self.slot(tail);
        // Nothing is in progress: the slot is free or holds the previous
        // lap's item.
        if slot.seq.load(Ordering::Relaxed) != tail {
            return Err(Full(value));
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

    /// Pops the oldest item through `&mut self`, without CAS or wait; what
    /// [`try_pop`](Ring::try_pop) does otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ring = ackring::Ring::new(2);
    /// ring.push_mut('a').unwrap();
    /// assert_eq!(ring.pop_mut(), Some('a'));
    /// assert_eq!(ring.pop_mut(), None);
    /// ```
    pub fn pop_mut(&mut self) -> Option<T> {
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

    /// The number of items in the ring: a consistent snapshot of the two
    /// cursors, never above the capacity.
    ///
    /// Items whose push or pop is still in progress count as in the ring.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(4);
    /// ring.push(1);
    /// assert_eq!(ring.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
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
                return self.laps.span(head, tail).min(self.capacity());
            }
            crate::sync::spin_loop();
        }
    }

    /// Whether the ring holds no items (see [`len`](Ring::len)).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the ring holds [`capacity`](Ring::capacity) items (see
    /// [`len`](Ring::len)).
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// Drops the items of positions `from..to`, and if one's `Drop` panics,
    /// still the others (a second panic while unwinding aborts, as in
    /// `Vec`).
    ///
    /// # Safety
    ///
    /// The caller owns the ring exclusively, the slots of `from..to` hold
    /// initialized values, and nothing reads them afterwards.
    unsafe fn drop_items(&self, from: usize, to: usize) {
        /// Drops the rest if the current item's drop panics.
        struct Rest<'a, T> {
            ring: &'a Ring<T>,
            from: usize,
            to: usize,
        }
        impl<T> Drop for Rest<'_, T> {
            fn drop(&mut self) {
                // SAFETY: the caller's guarantee, for the positions not yet
                // dropped.
                unsafe { self.ring.drop_items(self.from, self.to) }
            }
        }
        let mut pos = from;
        while pos != to {
            let next = self.laps.advance(pos);
            let rest = Rest {
                ring: self,
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
        // SeqCst: a failed try that begins after this call reads the flag
        // after its SeqCst fence (crossbeam's real-time reasoning, as for
        // the cursors). The models see only happens-before, which the
        // Release half of this store and the flag's Acquire load carry.
        flag.store(true, Ordering::SeqCst);
    }
}

impl<T> Drop for Ring<T> {
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

impl<T> fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .field("wait_strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}
