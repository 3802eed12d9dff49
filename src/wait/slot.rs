//! The entry a waiter keeps in a wait list: a [`Node`] with what wakes its
//! owner, inside a [`WaitSlot`] that lives in the waiting future or on the
//! parked thread's stack.

use core::fmt;
use core::marker::PhantomPinned;
use core::mem::MaybeUninit;
use core::task::Waker;

use super::WaitList;
use crate::sync::{AtomicUsize, Ordering, Thread, UnsafeCell};

/// A node in no list, holding no wake-up (or one its owner has seen).
pub(super) const IDLE: usize = 0;
/// A node in its waiter's list.
pub(super) const LINKED: usize = 1;
/// A node a notification took off the list: its owner holds a wake-up
/// it has not seen yet.
pub(super) const NOTIFIED: usize = 2;

/// What wakes a node's owner.
pub(super) enum Wake {
    /// Nothing (a node out of any list).
    Nothing,
    /// A waiting future's task.
    Task(Waker),
    /// A parked thread.
    Thread(Thread),
}

impl Wake {
    /// Wakes the owner.
    pub(super) fn wake(self) {
        match self {
            Wake::Nothing => {}
            Wake::Task(waker) => waker.wake(),
            Wake::Thread(thread) => thread.unpark(),
        }
    }
}

/// A waiter's entry in a list.
///
/// `state` is [`IDLE`], [`LINKED`] or [`NOTIFIED`]. Under the list's lock
/// the owner links (`IDLE` to `LINKED`) and withdraws (`LINKED` to
/// `IDLE`) the node, and a notification takes it (`LINKED` to `NOTIFIED`,
/// with Release, its last touch of the node). The owner, reading
/// `NOTIFIED` with Acquire, takes the wake-up back to `IDLE` without the
/// lock: nobody else touches the node then. Every other field is reached
/// only under the lock, or by the owner while the node is `IDLE`.
pub(super) struct Node {
    pub(super) state: AtomicUsize,
    /// Initialized while the node is linked (written by `push_back`,
    /// moved out when a notification or the owner unlinks it): a future
    /// that never waits writes none of these.
    pub(super) wake: UnsafeCell<MaybeUninit<Wake>>,
    pub(super) prev: UnsafeCell<MaybeUninit<*const Node>>,
    pub(super) next: UnsafeCell<MaybeUninit<*const Node>>,
    /// The list links to the node's address.
    _pinned: PhantomPinned,
}

impl Node {
    fn new() -> Self {
        Self {
            state: AtomicUsize::new(IDLE),
            wake: UnsafeCell::new(MaybeUninit::uninit()),
            prev: UnsafeCell::new(MaybeUninit::uninit()),
            next: UnsafeCell::new(MaybeUninit::uninit()),
            _pinned: PhantomPinned,
        }
    }

    /// The owner's look at its node: [`IDLE`], [`LINKED`], or
    /// [`NOTIFIED`], in which case the caller now holds the wake-up a
    /// notification left and the node is idle again.
    pub(super) fn look(&self) -> usize {
        // Acquire: pairs with the notification's Release store of
        // NOTIFIED, its last touch of the node: the node is ours again,
        // and what the notifier did before (its operation) is seen by our
        // next look.
        let state = self.state.load(Ordering::Acquire);
        if state == NOTIFIED {
            // Relaxed: nobody else touches a node out of the list.
            self.state.store(IDLE, Ordering::Relaxed);
        }
        state
    }
}

/// Up to `WAKE_BATCH` owners taken off a list, to be woken once the list
/// is unlocked.
pub(super) struct WakeBatch {
    wakes: [Wake; WAKE_BATCH],
    len: usize,
}

/// How many waiters a notification wakes per taking of the lock.
const WAKE_BATCH: usize = 16;

impl WakeBatch {
    pub(super) fn new() -> Self {
        Self {
            wakes: core::array::from_fn(|_| Wake::Nothing),
            len: 0,
        }
    }

    pub(super) fn is_full(&self) -> bool {
        self.len == WAKE_BATCH
    }

    pub(super) fn push(&mut self, wake: Wake) {
        self.wakes[self.len] = wake;
        self.len += 1;
    }

    /// Wakes every owner taken. A waker that panics stops the batch; the
    /// ones not yet woken are dropped with it.
    pub(super) fn wake_all(&mut self) {
        for wake in &mut self.wakes[..self.len] {
            core::mem::replace(wake, Wake::Nothing).wake();
        }
        self.len = 0;
    }
}

/// The place a future keeps its registration with a queue while it waits:
/// what the `poll_*` calls (for example [`Ring::poll_recv`]) take, for
/// code that writes its own futures. The futures of this crate hold one
/// each; nothing is allocated.
///
/// A slot is pinned while in use (`std::pin::pin!`, or a pinned field of
/// the caller's future) and may serve any number of polls, of one queue or
/// of several in turn. Dropping it withdraws its registration; a slot
/// dropped after a wake-up it did not use hands the wake-up to the next
/// waiter of its queue, so that a cancelled wait strands nobody.
///
/// [`Ring::poll_recv`]: crate::Ring::poll_recv
///
/// # Examples
///
/// ```
/// use std::future::poll_fn;
/// use std::pin::pin;
///
/// use ackring::{Ring, WaitSlot, WaitStrategy};
///
/// let ring = Ring::with_wait_strategy(4, WaitStrategy::Park);
/// ring.send(3_u8).unwrap();
/// let mut slot = pin!(WaitSlot::new());
/// let popped = futures::executor::block_on(poll_fn(|cx| ring.poll_recv(cx, slot.as_mut())));
/// assert_eq!(popped, Ok(3));
/// ```
pub struct WaitSlot<'a> {
    /// The waiter the node was last linked with, if any.
    pub(super) list: Option<&'a WaitList>,
    pub(super) node: Node,
}

// SAFETY: the node's fields are reached by other threads only under the
// lock of the waiter it is linked in (the wakers and thread handles in it
// are `Send`); the owner reads `state` atomically and touches the rest
// only under that lock or once `state` read `NOTIFIED` with Acquire.
unsafe impl Send for WaitSlot<'_> {}
// SAFETY: as for `Send`; `&WaitSlot` gives no access at all.
unsafe impl Sync for WaitSlot<'_> {}

impl WaitSlot<'_> {
    /// A slot registered nowhere.
    pub fn new() -> Self {
        Self {
            list: None,
            node: Node::new(),
        }
    }
}

impl WaitSlot<'_> {
    /// A wait that resolved: its node is idle (out of every list, its
    /// wake-up used or handed on), so the slot is registered nowhere again
    /// and its next poll takes the fast path.
    pub(super) fn done<R>(&mut self, result: R, used: bool) -> core::task::Poll<(R, bool)> {
        debug_assert_eq!(self.node.state.load(Ordering::Relaxed), IDLE);
        self.list = None;
        core::task::Poll::Ready((result, used))
    }
}

impl Default for WaitSlot<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for WaitSlot<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(list) = self.list {
            list.leave(&self.node);
        }
    }
}

impl fmt::Debug for WaitSlot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        let state = self.node.state.load(Ordering::Relaxed);
        f.debug_struct("WaitSlot")
            .field("waiting", &(state == LINKED))
            .field("woken", &(state == NOTIFIED))
            .finish()
    }
}
