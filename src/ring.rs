//! `Ring<T>`: a bounded multi-producer multi-consumer lock-free ring buffer.
//!
//! Dmitry Vyukov's bounded MPMC queue: the slots, cursors and claims live
//! in [`claim`] (the algorithm, why the try calls are linearizable, the
//! memory orderings and the progress guarantee are told there, once). This
//! file is the public type: its constructors and the try, blocking,
//! timeout, force, batch and `&mut` calls, each a claim from the core plus
//! the wake-ups of the other side.

use core::fmt;
use core::time::Duration;

use crossbeam_utils::CachePadded;

use crate::error::{CapacityError, Closed, Full, PopError, PushError};
use crate::wait::{self, WaitStrategy, Waiter};

pub(crate) mod claim;
mod iter;
use claim::{Core, Refused};
pub use iter::{IntoIter, Iter, TryIter};

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
/// it was full (the source's `ring/claim.rs`, "Linearizable claims"). [`try_pop_if_ready`](Ring::try_pop_if_ready) and
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
    /// The slots and cursors, with the linearizable claims.
    core: Core<T, true>,
    /// What the blocking calls do between tries.
    strategy: WaitStrategy,
    /// Poppers waiting until an item arrives.
    not_empty: CachePadded<Waiter>,
    /// Pushers waiting until room appears.
    not_full: CachePadded<Waiter>,
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
        let core = Core::new(capacity as u64).ok_or(CapacityError::TooLarge {
            requested: capacity,
        })?;
        Ok(Self {
            core,
            strategy,
            not_empty: CachePadded::new(Waiter::new()),
            not_full: CachePadded::new(Waiter::new()),
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
    pub(crate) fn not_empty(&self) -> &Waiter {
        &self.not_empty
    }

    /// The lot of pushers waiting for room.
    pub(crate) fn not_full(&self) -> &Waiter {
        &self.not_full
    }

    /// Wakes a popper waiting for the item a push (or a batch) published.
    /// Keyed by the push's SeqCst CAS on `tail` (`wait.rs`, "Keyed
    /// notifications"): a waiter's sleep check reads `tail`
    /// ([`may_sleep_for_item`](Ring::may_sleep_for_item)).
    #[inline(always)]
    fn after_push(&self) {
        self.not_empty.notify_keyed();
    }

    /// Wakes a pusher waiting for the room a pop (or a batch) made; keyed
    /// by the pop's SeqCst CAS on `head`, which a waiter's sleep check
    /// reads ([`may_sleep_for_room`](Ring::may_sleep_for_room)).
    #[inline(always)]
    fn after_pop(&self) {
        self.not_full.notify_keyed();
    }

    /// A popper that found nothing may sleep: no push has claimed a
    /// position past `head` (one that has may be publishing now, without
    /// a wake-up for us: look again instead). Reads `tail`, the key, after
    /// the waiter armed.
    pub(crate) fn may_sleep_for_item(&self) -> bool {
        let (tail, _) = self.core.tail_key();
        tail == self.core.head()
    }

    /// A pusher that found no room may sleep: `capacity` positions lie
    /// between `head` and `tail`, so no pop has claimed the position whose
    /// slot it needs (one that has may be freeing it now). Reads `head`,
    /// the key, after the waiter armed; `false` once closed.
    pub(crate) fn may_sleep_for_room(&self) -> bool {
        let (tail, closed) = self.core.tail();
        let head = self.core.head_key();
        let laps = self.core.laps();
        // Saturating: `head` is read after `tail`, and may have passed it.
        !closed && laps.count(tail).saturating_sub(laps.count(head)) >= laps.capacity()
    }

    /// Pushes `value` if the ring has room and is open. With `WAIT`, a
    /// slot a consumer is still popping is waited for (the linearizable
    /// calls); without, it is reported as full (`try_push_if_free`).
    #[inline(always)]
    fn push_or_refuse<const WAIT: bool>(&self, value: T) -> Result<(), PushError<T>> {
        match self.core.push::<WAIT>(value) {
            Ok(_) => {
                self.after_push();
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
        match self.core.pop::<WAIT>() {
            Ok(value) => {
                self.after_pop();
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
        self.core
            .wait_for_room_ahead(self.strategy == WaitStrategy::Spin);
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
            || self.may_sleep_for_room(),
        );
        match (done, value) {
            (Some(done), _) => done,
            (None, Some(v)) => Err(PushError::Full(v)),
            (None, None) => unreachable!("the value is put back on every failed try"),
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
            || self.may_sleep_for_item(),
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
        let old = self.core.force_push(value);
        // Also after a refusal (closed): a wake-up with nothing new is
        // only a look for the woken.
        self.after_push();
        old
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
        let first = self.core.close();
        // Every waiter: its next attempt, made after its fence, sees the
        // mark (the Dekker pair of `wait.rs`).
        self.not_empty.notify();
        self.not_full.notify();
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
        let Ok(run) = self.core.claim_push_run::<true>(want as u64) else {
            return 0;
        };
        self.core.publish_run(run, items);
        self.after_push();
        run.len as usize
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
        let Ok(run) = self.core.claim_pop_run::<true>(want as u64, |_, n| n) else {
            return 0;
        };
        self.core.take_run(run, out);
        self.after_pop();
        run.len as usize
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
        self.core.push_mut(value).map_err(Full)
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
        self.core.pop_mut()
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
