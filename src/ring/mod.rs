//! `Ring<T>`: a bounded multi-producer multi-consumer lock-free ring buffer.
//!
//! Dmitry Vyukov's bounded MPMC queue. The slots, cursors and claims live
//! in [`claim`], whose module docs tell the algorithm, why the try calls
//! are linearizable, the memory orderings and the progress guarantee. This
//! module is the public type: a claim from the core for each call, plus the
//! wake-ups of the other side. This file holds the type, its constructors
//! and the try calls; each other kind of call has a file of its own:
//! [`blocking`] (waiting calls, with and without a timeout), [`batch`],
//! [`force`] (`force_push`), [`exclusive`] (the `&mut` calls), [`iter`]
//! and [`future`] (the futures and `poll_*` calls).

use core::fmt;

use crossbeam_utils::CachePadded;

use crate::error::{CapacityError, Full, PopError, PushError};
use crate::wait::{WaitList, WaitStrategy, ALL};

mod batch;
mod blocking;
pub(crate) mod claim;
mod exclusive;
mod force;
mod future;
mod iter;

use claim::{Core, Refused};
#[cfg(feature = "stream")]
pub use future::RingStream;
pub use future::{RecvFuture, RoomFuture, SendFuture};
pub use iter::{IntoIter, Iter, TryIter};

/// A bounded multi-producer multi-consumer queue.
///
/// Holds at most [`capacity`](Ring::capacity) items, exactly the capacity
/// asked for. Every call takes `&self`: share a ring between threads with
/// `Arc` or scoped threads, or make it a channel
/// ([`into_channel`](Ring::into_channel)): sender and receiver handles
/// that close it when the last of a side is dropped.
///
/// The calls come in two families that differ only in what they say about
/// a [closed](Ring::close) ring:
///
/// | | push | pop |
/// |---|---|---|
/// | report closed: | [`try_send`](Ring::try_send), [`send`](Ring::send), [`send_timeout`](Ring::send_timeout) | [`try_recv`](Ring::try_recv), [`recv`](Ring::recv), [`recv_timeout`](Ring::recv_timeout) |
/// | closed reads as full or empty: | [`try_push`](Ring::try_push), [`push_timeout`](Ring::push_timeout) | [`try_pop`](Ring::try_pop), [`pop_timeout`](Ring::pop_timeout) |
///
/// No call panics on a closed ring but the deprecated `push` and `pop`,
/// whose blocking forms are `send` and `recv`.
///
/// The try calls are linearizable: a pop reports empty only if the ring
/// was empty at some instant during the call, and a push reports full
/// only if it was full (the source's `src/ring/claim/mod.rs` says how).
/// [`try_pop_if_ready`](Ring::try_pop_if_ready) and
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
///             ring.send(i).unwrap(); // waits while the ring is full
///         }
///         ring.close();
///     })
/// };
/// let sum: u64 = ring.iter().sum(); // until closed and drained
/// producer.join().unwrap();
/// assert_eq!(sum, 4950);
/// ```
pub struct Ring<T> {
    /// The slots and cursors, with the linearizable claims.
    core: Core<T, true>,
    /// What the blocking calls do between tries.
    strategy: WaitStrategy,
    /// Poppers waiting until an item arrives.
    not_empty: CachePadded<WaitList>,
    /// Pushers waiting until room appears.
    not_full: CachePadded<WaitList>,
}

// SAFETY: a `Ring<T>` moves `T` values between threads and never hands out
// references to them, so sharing it only requires that `T` can be sent. The
// slots' stamps serialize all access to a slot's value (`claim`): only the
// thread that won the CAS for a position touches that slot's value, until
// it stores the slot's next stamp with Release.
unsafe impl<T: Send> Sync for Ring<T> {}
// SAFETY: the ring owns its `T`s; moving the ring moves them, which `T: Send`
// allows. (The std `UnsafeCell` is already `Send` for `T: Send`; loom's is
// not, so this is spelled out.)
unsafe impl<T: Send> Send for Ring<T> {}

impl<T> Ring<T> {
    /// Creates a ring that holds up to `capacity` items, with the default
    /// wait strategy ([`WaitStrategy::Park`]: a blocked call spins a few
    /// microseconds, then sleeps until woken).
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
        let core = Core::new(capacity as u64).ok_or(CapacityError::TooLarge {
            requested: capacity,
        })?;
        Ok(Self {
            core,
            strategy,
            not_empty: CachePadded::new(WaitList::new()),
            not_full: CachePadded::new(WaitList::new()),
        })
    }

    /// The most items the ring holds at once: exactly what was asked for.
    pub fn capacity(&self) -> usize {
        self.core.laps().capacity() as usize
    }

    /// The wait strategy the blocking calls use.
    pub fn wait_strategy(&self) -> WaitStrategy {
        self.strategy
    }

    /// The lot of poppers waiting for an item.
    pub(crate) fn not_empty(&self) -> &WaitList {
        &self.not_empty
    }

    /// The lot of pushers waiting for room.
    pub(crate) fn not_full(&self) -> &WaitList {
        &self.not_full
    }

    /// Wakes as many poppers as a push (or a batch) published items: `n`.
    /// Keyed by the push's SeqCst CAS on `tail` (`wait` module docs, "Keyed
    /// notifications"): a waiter's sleep check reads `tail`
    /// ([`may_sleep_for_item`](Ring::may_sleep_for_item)).
    #[inline(always)]
    fn after_push(&self, n: usize) {
        self.not_empty.notify_keyed(n);
    }

    /// Wakes as many pushers as a pop (or a batch) made room for: `n`;
    /// keyed by the pop's SeqCst CAS on `head`, which a waiter's sleep
    /// check reads ([`may_sleep_for_room`](Ring::may_sleep_for_room)).
    #[inline(always)]
    fn after_pop(&self, n: usize) {
        self.not_full.notify_keyed(n);
    }

    /// Pushes `value` if the ring has room and is open. With `WAIT`, a
    /// slot a consumer is still popping is waited for (the linearizable
    /// calls); without, it is reported as full (`try_push_if_free`).
    #[inline(always)]
    fn push_or_refuse<const WAIT: bool>(&self, value: T) -> Result<(), PushError<T>> {
        match self.core.push_fast(value) {
            Ok(_) => {
                self.after_push(1);
                Ok(())
            }
            Err(value) => self.push_or_refuse_slow::<WAIT>(value),
        }
    }

    /// [`push_or_refuse`](Ring::push_or_refuse) after the first look
    /// failed: out of line, so that the caller's loop keeps only the first
    /// look.
    #[cold]
    #[inline(never)]
    fn push_or_refuse_slow<const WAIT: bool>(&self, value: T) -> Result<(), PushError<T>> {
        match self.core.push_slow::<WAIT>(value) {
            Ok(_) => {
                self.after_push(1);
                Ok(())
            }
            Err((value, Refused::Closed)) => Err(PushError::Closed(value)),
            Err((value, _)) => Err(PushError::Full(value)),
        }
    }

    /// Pops the oldest item, or says why not. With `WAIT`, a slot a
    /// producer is still filling is waited for (the linearizable calls);
    /// without, it is reported as empty (`try_pop_if_ready`).
    #[inline(always)]
    fn pop_or_refuse<const WAIT: bool>(&self) -> Result<T, PopError> {
        match self.core.pop_fast() {
            Some(value) => {
                self.after_pop(1);
                Ok(value)
            }
            None => self.pop_or_refuse_slow::<WAIT>(),
        }
    }

    /// [`pop_or_refuse`](Ring::pop_or_refuse) after the first look
    /// failed, out of line.
    #[cold]
    #[inline(never)]
    fn pop_or_refuse_slow<const WAIT: bool>(&self) -> Result<T, PopError> {
        match self.core.pop_slow::<WAIT>() {
            Ok(value) => {
                self.after_pop(1);
                Ok(value)
            }
            Err(Refused::Closed) => Err(PopError::Closed),
            Err(_) => Err(PopError::Empty),
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
    /// ring.try_push('x').unwrap();
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
    /// ring.send(1).unwrap();
    /// ring.close();
    /// assert_eq!(ring.try_recv(), Ok(1));
    /// assert_eq!(ring.try_recv(), Err(PopError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, PopError> {
        self.pop_or_refuse::<true>()
    }

    /// Closes the ring: pushes fail from then on (handing their value
    /// back), pops take what is left and then report closed, and every
    /// call waiting for room or for an item wakes up. Returns `false` if
    /// the ring was already closed.
    ///
    /// On a closed ring:
    ///
    /// - the `send` calls return [`PushError::Closed`];
    ///   [`try_push`](Ring::try_push) and
    ///   [`push_timeout`](Ring::push_timeout) return [`Full`];
    ///   [`force_push`](Ring::force_push) returns its value;
    /// - once it is drained, the `recv` calls report closed, and
    ///   [`try_pop`](Ring::try_pop) and [`pop_timeout`](Ring::pop_timeout)
    ///   return `None`;
    /// - the deprecated `push` and `pop` panic.
    ///
    /// A push that claimed its position before the close still completes,
    /// and pops wait for it. The channel handles
    /// ([`into_channel`](Ring::into_channel)) close the ring when the last
    /// of a side is dropped.
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
        let first = self.core.close();
        // Every waiter: its next attempt, made after its fence, sees the
        // mark (the pair of the `wait` module docs).
        self.not_empty.notify(ALL);
        self.not_full.notify(ALL);
        first
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
        self.core.is_closed()
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
    /// ring.try_push(1).unwrap();
    /// assert_eq!(ring.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.core.len() as usize
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
