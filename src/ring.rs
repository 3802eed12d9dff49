//! `Ring<T>`: a bounded multi-producer multi-consumer lock-free ring buffer.
//!
//! # Algorithm
//!
//! Dmitry Vyukov's bounded MPMC queue, with crossbeam `ArrayQueue`'s
//! `{ lap, index }` encoding of positions so that the capacity can be any
//! size without a division on the hot path.
//!
//! Each slot carries a sequence number `seq` (the "stamp" of the
//! literature) that says whose turn it is:
//!
//! - a slot whose `seq` equals a producer's position is writable;
//! - a slot whose `seq` equals a consumer's position + 1 is readable;
//! - a pop stores position + one lap, handing the slot to the producer of
//!   the next lap.
//!
//! Producers claim positions on `tail`, consumers on `head`, with one CAS
//! each. The cursors live on cache lines of their own (`CachePadded`) so
//! that producers bumping `tail` do not invalidate the line consumers read
//! `head` from. A try that finds its slot not yet ready returns at once
//! ("full" / "empty") after reading only the slot, never the opposite
//! cursor.
//!
//! # Vocabulary
//!
//! - *position*: a cursor value `{ lap, index }` encoded as
//!   `lap * one_lap + index`, with `index < capacity` and `one_lap` the
//!   smallest power of two above `capacity`. Moving past the last index
//!   gives `{ lap: lap + 1, index: 0 }`.
//! - `head`: the next position to pop; `tail`: the next position to push.
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
//!   happens-before the overwrite.
//!
//! # Progress
//!
//! `try_push`, `try_pop` and the batch calls never wait for another thread:
//! a thread that is preempted between claiming a position and storing `seq`
//! delays only the operations that need that very slot, which then report
//! full (empty) instead of spinning.

use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::time::Duration;

use crossbeam_utils::CachePadded;

use crate::error::{CapacityError, Full};
use crate::sync::{AtomicUsize, Backoff, Ordering, UnsafeCell};
use crate::wait::{self, WaitStrategy, Waiter};

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

/// A bounded multi-producer multi-consumer lock-free queue.
///
/// Holds at most [`capacity`](Ring::capacity) items, exactly the capacity
/// asked for. Every call takes `&self`: share a ring between threads with
/// `Arc` or scoped threads.
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
    head: CachePadded<AtomicUsize>,
    /// Producers' cursor: the position `{ lap, index }` of the next push.
    tail: CachePadded<AtomicUsize>,
    /// `capacity` slots; slot `i` starts with `seq = { lap: 0, index: i }`.
    buffer: Box<[Slot<T>]>,
    /// Number of slots, as asked for.
    cap: usize,
    /// Smallest power of two above `cap`: adding it to a position moves it
    /// one lap ahead at the same index.
    one_lap: usize,
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
        // one_lap > capacity, and at least a few lap bits must remain above
        // it so that positions of different laps stay distinct.
        let one_lap = capacity
            .checked_add(1)
            .and_then(usize::checked_next_power_of_two)
            .filter(|&l| l <= usize::MAX >> 8)
            .ok_or(too_large)?;
        let mut slots = Vec::new();
        slots.try_reserve_exact(capacity).map_err(|_| too_large)?;
        // { lap: 0, index: i } for each slot.
        slots.extend((0..capacity).map(|i| Slot {
            seq: AtomicUsize::new(i),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }));
        Ok(Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            buffer: slots.into_boxed_slice(),
            cap: capacity,
            one_lap,
            strategy,
            not_empty: CachePadded::new(Waiter::new()),
            not_full: CachePadded::new(Waiter::new()),
            _marker: PhantomData,
        })
    }

    /// The most items the ring holds at once: exactly what was asked for.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// The wait strategy the blocking calls use.
    pub fn wait_strategy(&self) -> WaitStrategy {
        self.strategy
    }

    /// The slot at `pos`'s index.
    #[inline(always)]
    fn slot(&self, pos: usize) -> &Slot<T> {
        &self.buffer[pos & (self.one_lap - 1)]
    }

    /// The position after `pos`.
    #[inline(always)]
    fn advance(&self, pos: usize) -> usize {
        if (pos & (self.one_lap - 1)) + 1 < self.cap {
            // { lap, index: index + 1 }
            pos + 1
        } else {
            // { lap: lap + 1, index: 0 }
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
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

    /// Pushes `value` if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// [`Full`], holding `value`, when the ring is full.
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
        let backoff = Backoff::new();
        // Relaxed: the cursor is only a hint of which slot to look at; the
        // slot's seq (Acquire below) carries the synchronization.
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(tail);
            // Acquire: pairs with the Release store of seq in try_pop, so the
            // previous lap's read of this slot happens-before our write.
            let seq = slot.seq.load(Ordering::Acquire);
            let diff = seq.wrapping_sub(tail) as isize;
            if diff == 0 {
                // Relaxed: winning the CAS makes `tail` ours alone; no data
                // travels through the cursor.
                match self.tail.compare_exchange_weak(
                    tail,
                    self.advance(tail),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: we own position `tail` (CAS above) and its
                        // slot is writable (seq == tail, seen with Acquire),
                        // so no other thread reads or writes the value until
                        // we store the next seq.
                        slot.value
                            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
                        // Release: publishes the value; pairs with the
                        // Acquire load of seq in try_pop.
                        slot.seq.store(tail.wrapping_add(1), Ordering::Release);
                        self.after_push();
                        return Ok(());
                    }
                    Err(current) => {
                        tail = current;
                        backoff.spin();
                    }
                }
            } else if diff < 0 {
                // The slot still holds (or is being filled with) the item of
                // the previous lap: the ring is full.
                return Err(Full(value));
            } else {
                // Another producer moved past `tail`: look again.
                backoff.spin();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Pops the oldest item, if any, without waiting.
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
        let backoff = Backoff::new();
        // Relaxed: a hint, as in try_push.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(head);
            // Acquire: pairs with the Release store of seq in try_push, so
            // the value written there is visible to our read.
            let seq = slot.seq.load(Ordering::Acquire);
            let diff = seq.wrapping_sub(head.wrapping_add(1)) as isize;
            if diff == 0 {
                // Relaxed: winning the CAS makes `head` ours alone.
                match self.head.compare_exchange_weak(
                    head,
                    self.advance(head),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: we own position `head` (CAS above) and its
                        // slot holds an initialized value (seq == head + 1,
                        // seen with Acquire after the producer's Release).
                        // We move it out once; the seq store below makes the
                        // slot writable again, so it is never read twice.
                        let value = slot.value.with(|p| unsafe { p.read().assume_init() });
                        // Release: hands the slot to the next lap's producer;
                        // pairs with the Acquire load of seq in try_push.
                        slot.seq
                            .store(head.wrapping_add(self.one_lap), Ordering::Release);
                        self.after_pop();
                        return Some(value);
                    }
                    Err(current) => {
                        head = current;
                        backoff.spin();
                    }
                }
            } else if diff < 0 {
                // Not written yet for this lap: the ring is empty.
                return None;
            } else {
                // Another consumer moved past `head`: look again.
                backoff.spin();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Pushes `value`, waiting for room with the ring's wait strategy.
    pub fn push(&self, value: T) {
        if let Err(Full(_)) = self.push_until(value, None) {
            unreachable!("a push without deadline only returns once done");
        }
    }

    /// Pops the oldest item, waiting for one with the ring's wait strategy.
    pub fn pop(&self) -> T {
        match self.pop_until(None) {
            Some(v) => v,
            None => unreachable!("a pop without deadline only returns once done"),
        }
    }

    /// Pushes `value`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`Full`], holding `value`, if there was still no room after
    /// `timeout`.
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
    }

    /// Pops the oldest item, waiting at most `timeout` for one.
    ///
    /// Returns `None` if the ring stayed empty for `timeout`.
    pub fn pop_timeout(&self, timeout: Duration) -> Option<T> {
        self.pop_until(wait::deadline_after(timeout))
    }

    fn push_until(&self, value: T, deadline: Option<crate::sync::Instant>) -> Result<(), Full<T>> {
        let value = match self.try_push(value) {
            Ok(()) => return Ok(()),
            Err(Full(value)) => value,
        };
        self.wait_for_room_ahead();
        let mut value = Some(value);
        let done = wait::wait_until(self.strategy, &self.not_full, deadline, || {
            let v = value.take()?;
            match self.try_push(v) {
                Ok(()) => Some(()),
                Err(Full(v)) => {
                    value = Some(v);
                    None
                }
            }
        });
        match (done, value) {
            (Some(()), _) => Ok(()),
            (None, Some(v)) => Err(Full(v)),
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
        let ahead = ROOM_AHEAD.min(self.cap - 1);
        if ahead == 0 {
            return;
        }
        // Relaxed: a hint of which slot to watch; `try_push` decides.
        let tail = self.tail.load(Ordering::Relaxed);
        let index = (tail & (self.one_lap - 1)) + ahead;
        let far = if index < self.cap {
            tail.wrapping_add(ahead)
        } else {
            (tail & !(self.one_lap - 1))
                .wrapping_add(self.one_lap)
                .wrapping_add(index - self.cap)
        };
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

    fn pop_until(&self, deadline: Option<crate::sync::Instant>) -> Option<T> {
        wait::wait_until(self.strategy, &self.not_empty, deadline, || self.try_pop())
    }

    /// Moves as many items as fit from the front of `items` into the ring,
    /// in order, with one claim on the producers' cursor; returns how many
    /// moved. The rest stay in `items`.
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
        let want = items.len().min(self.cap);
        if want == 0 {
            return 0;
        }
        let backoff = Backoff::new();
        // Relaxed: a hint, as in try_push.
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            // Count the writable slots from `tail` on: each must have
            // seq == its position (Acquire, as in try_push). Consumers may
            // free slots out of order, so every one is checked.
            let mut n = 0;
            let mut end = tail;
            while n < want {
                if self.slot(end).seq.load(Ordering::Acquire) != end {
                    break;
                }
                n += 1;
                end = self.advance(end);
            }
            if n == 0 {
                let seq = self.slot(tail).seq.load(Ordering::Acquire);
                if (seq.wrapping_sub(tail) as isize) < 0 {
                    return 0; // full
                }
                backoff.spin();
                tail = self.tail.load(Ordering::Relaxed);
                continue;
            }
            // Relaxed: as in try_push; the CAS gives us positions
            // tail..end, whose slots we saw writable, and only their owner
            // can change that.
            match self
                .tail
                .compare_exchange_weak(tail, end, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    let mut pos = tail;
                    for value in items.drain(..n) {
                        let slot = self.slot(pos);
                        // SAFETY: position `pos` is ours (CAS above) and its
                        // slot was writable, as in try_push.
                        slot.value
                            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
                        // Release: publishes the value, as in try_push.
                        slot.seq.store(pos.wrapping_add(1), Ordering::Release);
                        pos = self.advance(pos);
                    }
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
        let want = max.min(self.cap);
        if want == 0 {
            return 0;
        }
        // No allocation (or allocation failure) may happen after we claim.
        out.reserve(want);
        let backoff = Backoff::new();
        // Relaxed: a hint, as in try_pop.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // Count the readable slots from `head` on (seq == position + 1,
            // Acquire as in try_pop); producers may finish out of order.
            let mut n = 0;
            let mut end = head;
            while n < want {
                if self.slot(end).seq.load(Ordering::Acquire) != end.wrapping_add(1) {
                    break;
                }
                n += 1;
                end = self.advance(end);
            }
            if n == 0 {
                let seq = self.slot(head).seq.load(Ordering::Acquire);
                if (seq.wrapping_sub(head.wrapping_add(1)) as isize) < 0 {
                    return 0; // empty
                }
                backoff.spin();
                head = self.head.load(Ordering::Relaxed);
                continue;
            }
            // Relaxed: as in try_pop; positions head..end are now ours.
            match self
                .head
                .compare_exchange_weak(head, end, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    let mut pos = head;
                    for _ in 0..n {
                        let slot = self.slot(pos);
                        // SAFETY: position `pos` is ours and its slot holds an
                        // initialized value, as in try_pop; read once.
                        let value = slot.value.with(|p| unsafe { p.read().assume_init() });
                        // Release: hands the slot to the next lap, as in
                        // try_pop.
                        slot.seq
                            .store(pos.wrapping_add(self.one_lap), Ordering::Release);
                        out.push(value); // cannot reallocate: reserved above
                        pos = self.advance(pos);
                    }
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

    /// The number of items in the ring: a consistent snapshot of the two
    /// cursors, never above the capacity.
    ///
    /// Items whose push or pop is still in progress count as in the ring.
    pub fn len(&self) -> usize {
        loop {
            // SeqCst: the three loads are totally ordered, so when `tail` is
            // the same before and after `head` was read, the pair existed at
            // one instant (the moment of the head load).
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) == tail {
                let hix = head & (self.one_lap - 1);
                let tix = tail & (self.one_lap - 1);
                return if hix < tix {
                    tix - hix
                } else if hix > tix {
                    self.cap - hix + tix
                } else if tail == head {
                    0
                } else {
                    self.cap
                };
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
        self.len() == self.cap
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
        let mut pos = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed);
        while pos != tail {
            let slot = self.slot(pos);
            // SAFETY: positions head..tail were pushed and not popped (no
            // operation is in flight while we hold `&mut self`), so each of
            // their slots holds an initialized value, dropped here once.
            slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            pos = self.advance(pos);
        }
    }
}

impl<T> fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("capacity", &self.cap)
            .field("len", &self.len())
            .field("wait_strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}
