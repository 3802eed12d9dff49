//! Wait strategies for the blocking calls (`push`, `pop`, `*_timeout`),
//! and the wait list that blocked threads and async tasks share.
//!
//! The non-blocking calls (`try_push`, `try_pop`, batches) never wait for
//! room or for an item; the blocking ones retry them, and the strategy
//! chosen when the ring is built decides what happens between two tries
//! (a close ends the wait: the retried call reports it):
//!
//! | strategy | between tries | wake-up latency | CPU while waiting |
//! |---|---|---|---|
//! | [`WaitStrategy::Spin`] | a CPU spin hint | lowest | one core, always |
//! | [`WaitStrategy::Backoff`] | exponential spin, then `yield` | low | drops off after a few µs |
//! | [`WaitStrategy::Park`] | as `Backoff` for a few µs, then sleep on a condition variable | a syscall once asleep | none once asleep |
//!
//! A waiting future sleeps in the wait list until woken, whatever the
//! strategy: the strategy is how a blocked *thread* waits.
//!
//! An [`AckQueue`](crate::AckQueue) takes one too, `Park` unless its
//! builder says otherwise ([`AckQueueBuilder::wait_strategy`](crate::AckQueueBuilder::wait_strategy)).
//!
//! # No lost wake-ups (Park)
//!
//! A parked popper must be woken by any push that makes an item available,
//! and vice versa. The two sides form a Dekker pair:
//!
//! ```text
//! waiter                                 notifier (the opposite operation)
//! epoch = epoch.load(Acquire)            seq.store(.., Release)   // the push/pop itself
//! armed.swap(1, SeqCst)                  fence(SeqCst)
//! fence(SeqCst)                          if armed.load(Relaxed) != 0
//! attempt()  // loads seq                    && armed.swap(0, Acquire) != 0 {
//! lock; while epoch unchanged: wait          lock; epoch += 1; notify_all
//!                                        }
//! ```
//!
//! The two SeqCst fences are totally ordered. If the notifier's fence comes
//! first, the waiter's attempt sees the notifier's `seq` store. If the
//! waiter's comes first, the notifier's swap reads the waiter's `armed`
//! store or a later one, so the notifier, or whichever notifier cleared
//! `armed` after that store, bumps `epoch` under the lock. That clearing
//! swap reads the waiter's store (or a later arm), so it is Acquire over
//! the waiter's Release arm, and the waiter's epoch load, made before its
//! arm, cannot see the bump: the waiter, which checks the epoch under the
//! same lock before it sleeps, either sees the bump or is asleep when the
//! `notify_all` comes.
//!
//! A ring's `close` is a notifier of both sides: its store is the mark it
//! sets on `tail`, which every retried call reads, so a waiter either sees
//! the close in its attempt or is woken by it.
//!
//! # Keyed notifications
//!
//! The notifier's fence makes its store reach memory before it reads
//! `armed`: a stall of a cache-line transfer when the store goes to a line
//! another thread is reading (the slot it just handed over). A notifier
//! whose operation already made a SeqCst RMW on a *key* word skips it:
//!
//! ```text
//! waiter                                 notifier
//! armed.swap(1, SeqCst)                  key.rmw(.., SeqCst)   // e.g. a cursor CAS
//! fence(SeqCst)                          ...                   // the rest of the operation
//! attempt(); may_sleep()  // load key    if armed.load(SeqCst) != 0 { wake }
//! ```
//!
//! The RMW and the `armed` load are SeqCst and in that order in one
//! thread, so the RMW precedes the load in the single total order. If the
//! load reads no arm, it precedes the waiter's swap, so the RMW precedes
//! the waiter's fence, and a load of the key after that fence sees the RMW
//! or a later value (a load that read an earlier value would put the
//! fence before the RMW). That covers the key only, not the stores the
//! notifier makes after its RMW: the waiter's `may_sleep` must therefore
//! decide from the key alone whether the operation it waits for is under
//! way, and then try again instead of sleeping. A receiver waits for a
//! message whose publisher has won `tail` but not yet stored the slot's
//! stamp; a publisher for a slot whose receiver has won `head` but not yet
//! freed it. A waiter that needs what the notifier wrote *before* its
//! RMW (a confirmation waiter, the settle before an ack's RMW on
//! `acked`) reads the key with Acquire first: an RMW it reads, or one
//! after it, then carries those writes to it.
//!
//! Loom cannot check this rule in full: it orders SeqCst accesses only as
//! AcqRel. Under loom the waiters read the key with an AcqRel RMW
//! (`sync::key_load`) and the `armed` load is Relaxed: faithful for the
//! key and for the writes after the notifier's RMW, stronger for the
//! writes before it (what the Acquire read of the key above is for).
//!
//! # Async waiters
//!
//! A waiting future takes the waiter's half of the same pair: it reads
//! `epoch`, arms, fences and makes its attempt, exactly as a thread does
//! before it sleeps. Instead of waiting on the condition variable it then
//! takes the lock, and if `epoch` is unchanged links a node holding its
//! `Waker` into the waiter's list (`Tasks`) and returns `Pending`; a
//! changed epoch means a notification it may have missed, so it looks
//! again. The node lives in the future ([`WaitSlot`]): nothing is
//! allocated per wait. A notification, under the same lock it bumps
//! `epoch` with, wakes the sleeping threads and unlinks every node,
//! taking their wakers, which it wakes with the lock released (a batch of
//! `WAKE_BATCH` at a time). So the argument above covers tasks unchanged:
//! a task either sees the item in its attempt, sees the bump under the
//! lock, or is linked before the notifier takes the lock.
//!
//! Every notification wakes every waiter of its side, as `notify_all`
//! does for threads: a woken future that is dropped before it polls again
//! strands nobody, because the others were woken too (the price is a
//! thundering herd when many tasks wait on one side). A node's `linked`
//! word is written only under the lock; its owner reads it without the
//! lock to skip the lock when a notification already unlinked it, which is
//! safe because the notifier's last access to the node is that Release
//! store. A future that resolves, or is dropped, while linked unlinks its
//! node under the lock.
//!
//! `armed` is cleared by the one notification that wakes, not by the
//! waiters: while a woken thread is on its way back to the CPU (tens of
//! microseconds), every further push or pop finds `armed` clear and skips
//! the lock and the futex call, instead of paying a syscall each. A waiter
//! that succeeds leaves `armed` set; the next notification pays for one
//! spurious wake-up. A notification therefore costs one fence and one
//! load of a line nobody writes while nobody waits, and a keyed one (every
//! push and pop of a ring, whose cursor CAS is the key) only that load.

use core::fmt;
use core::marker::PhantomPinned;
use core::pin::Pin;
use core::ptr;
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use crate::sync::{self, fence, AtomicUsize, Condvar, Instant, Mutex, Ordering, UnsafeCell};

/// How a ring's blocking calls wait for room or for an item.
///
/// Chosen once, with [`Ring::with_wait_strategy`](crate::Ring::with_wait_strategy).
/// The default is [`Backoff`](WaitStrategy::Backoff).
///
/// # Examples
///
/// ```
/// use ackring::{Ring, WaitStrategy};
///
/// let ring = Ring::with_wait_strategy(64, WaitStrategy::Park);
/// ring.push(7_u32);
/// assert_eq!(ring.pop(), 7);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WaitStrategy {
    /// Busy-spin with a CPU spin hint: lowest latency, burns a core for as
    /// long as it waits. Use only with a core per waiting thread.
    Spin,
    /// Spin with exponential backoff, then yield the time slice
    /// (`crossbeam_utils::Backoff`): near-spin latency for short waits,
    /// polite to other threads for long ones.
    #[default]
    Backoff,
    /// Back off for a few microseconds like [`Backoff`](WaitStrategy::Backoff),
    /// then sleep on a condition variable until the opposite operation wakes
    /// the thread: no CPU during long waits, at the price of a syscall to
    /// wake, and of one fence on every push and pop to check for sleepers.
    Park,
}

/// One side's parking lot: the threads waiting for an item (or for room).
pub(crate) struct Waiter {
    /// 1 once a thread registered to sleep here and no notification has
    /// woken the sleepers since (module docs).
    armed: AtomicUsize,
    /// Bumped by every notification that found `armed` set; a waiter sleeps
    /// only while it is unchanged since before its last attempt.
    epoch: AtomicUsize,
    /// The tasks waiting here (async waiters); the lock is also the one
    /// sleeping threads wait on.
    lock: Mutex<Tasks>,
    cond: Condvar,
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Waiter { .. }")
    }
}

impl Waiter {
    pub(crate) fn new() -> Self {
        Self {
            armed: AtomicUsize::new(0),
            epoch: AtomicUsize::new(0),
            lock: Mutex::new(Tasks {
                head: ptr::null(),
                tail: ptr::null(),
                len: 0,
                sleepers: 0,
            }),
            cond: Condvar::new(),
        }
    }

    /// Wakes every thread sleeping here, if any. Called after the operation
    /// that may let them proceed has published its effect.
    #[inline]
    pub(crate) fn notify(&self) {
        // SeqCst fence: the notifier's half of the Dekker pair in the module
        // docs; orders our preceding seq store before the `armed` load.
        fence(Ordering::SeqCst);
        // Relaxed: the fence above orders this load; the swap in
        // `notify_slow` decides.
        if self.armed.load(Ordering::Relaxed) != 0 {
            self.notify_slow();
        }
    }

    /// As [`notify`](Waiter::notify), for a notifier whose progress is
    /// told by a *key*: a word it changed with a SeqCst RMW before this
    /// call, and that every waiter here reads after arming, in the sleep
    /// check it passes to [`park_until`](Waiter::park_until). No fence:
    /// the RMW stands in for it (module docs, "Keyed notifications").
    #[inline]
    pub(crate) fn notify_keyed(&self) {
        // SeqCst (`KEYED_LOAD`): the key's SeqCst RMW precedes this load in
        // the single total order, which is what the waiter's fence is
        // ordered against (module docs). Under loom, which orders SeqCst
        // accesses only as AcqRel, the load is Relaxed and the waiters read
        // the key with an RMW instead (`sync::key_load`).
        if self.armed.load(sync::KEYED_LOAD) != 0 {
            self.notify_slow();
        }
    }

    #[cold]
    fn notify_slow(&self) {
        // Acquire: pairs with the waiter's Release arm, so its epoch load
        // happens-before our bump (module docs). Only the notification
        // that clears `armed` wakes; the others have nothing to do. No
        // model sees it weakened: the execution that breaks is load
        // buffering, which loom does not produce.
        if self.armed.swap(0, Ordering::Acquire) == 0 {
            return;
        }
        let mut tasks = sync::lock(&self.lock);
        // Release: a waiter that reads the new epoch outside the lock
        // (Acquire, in `wait`) also sees the seq store that preceded it.
        self.epoch.fetch_add(1, Ordering::Release);
        // Only when a thread sleeps: a condition variable's notify is a
        // system call even with nobody waiting, and the waiters may all be
        // tasks.
        if tasks.sleepers != 0 {
            self.cond.notify_all();
        }
        // Every waiting task is unlinked and woken, a batch at a time, with
        // the lock released around the wakes: a waker may do anything,
        // including polling the future that registered it.
        // At most as many as are waiting now: a task woken by an earlier
        // batch may register again before the next, and is not woken twice
        // (the tasks registered after the bump saw it in their attempt).
        let mut left = tasks.len;
        let mut batch = WakeBatch::new();
        loop {
            while !batch.is_full() && left > 0 {
                // SAFETY: we hold the lock, which guards the list.
                let Some(waker) = (unsafe { tasks.pop_front() }) else {
                    break;
                };
                left -= 1;
                batch.push(waker);
            }
            drop(tasks);
            batch.wake_all();
            if left == 0 || !batch.was_full() {
                return;
            }
            tasks = sync::lock(&self.lock);
        }
    }

    /// Parks until `attempt` succeeds or `deadline` passes. After an
    /// attempt that failed, the thread sleeps only if `may_sleep` says so
    /// (read after arming, like the attempt); otherwise it yields and tries
    /// again: a keyed waiter's check that the operation it waits for is
    /// not already under way (module docs).
    fn park_until<R>(
        &self,
        deadline: Option<Instant>,
        attempt: &mut impl FnMut() -> Option<R>,
        may_sleep: &mut impl FnMut() -> bool,
    ) -> Option<R> {
        loop {
            // Acquire: pairs with the Release bump in notify_slow. Read
            // before we arm (module docs). No model sees this pair
            // weakened: the notifier's operation reaches the next attempt
            // through the fences or the key, and the lock orders the
            // re-check.
            let epoch = self.epoch.load(Ordering::Acquire);
            // SeqCst RMW + fence: the waiter's half of the Dekker pair; the
            // RMW is at least the Release the clearing swap pairs with. An
            // AckQueue receive's failed attempt makes no fence of its own:
            // `nack_requeue_wakes_a_blocked_receive_with_no_fresh_message`
            // deadlocks without this one. A `Ring` attempt makes its own
            // before it reads the other cursor (`not_ready`, `is_full_at`).
            // On std this fence also orders a keyed waiter's plain load of
            // its key. No model sees the arm weakened: the execution that
            // breaks is load buffering, which loom does not produce.
            self.armed.swap(1, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            let result = attempt();
            if result.is_some() {
                return result;
            }
            let sleep = may_sleep();
            let remaining = match deadline {
                None => None,
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    Some(deadline.saturating_duration_since(now))
                }
            };
            if !sleep {
                sync::yield_now();
                continue;
            }
            {
                let mut guard = sync::lock(&self.lock);
                // Relaxed: the lock orders this load after any bump made
                // under it.
                if self.epoch.load(Ordering::Relaxed) == epoch {
                    guard.sleepers += 1;
                    guard = match remaining {
                        None => self.cond.wait(guard).unwrap_or_else(|p| p.into_inner()),
                        Some(d) => {
                            self.cond
                                .wait_timeout(guard, d)
                                .unwrap_or_else(|p| p.into_inner())
                                .0
                        }
                    };
                    guard.sleepers -= 1;
                }
                drop(guard);
            }
        }
    }
}

impl Waiter {
    /// The async form of [`park_until`](Waiter::park_until): one poll.
    /// Returns what `attempt` gives, or registers `slot`'s task here and
    /// returns `Pending`; a notification then wakes it (module docs,
    /// "Async waiters"). A task whose `may_sleep` says no is woken again at
    /// once instead (the operation it waits for is under way).
    pub(crate) fn poll_wait<'a, R>(
        &'a self,
        cx: &mut Context<'_>,
        slot: Pin<&mut WaitSlot<'a>>,
        mut attempt: impl FnMut() -> Option<R>,
        mut may_sleep: impl FnMut() -> bool,
    ) -> Poll<R> {
        // SAFETY: the node is never moved out of the slot; only the
        // `waiter` field, which is not pinned, is written through this.
        let slot = unsafe { slot.get_unchecked_mut() };
        // First without arming: the fast path when there is no wait.
        if let Some(result) = attempt() {
            slot.unlink();
            return Poll::Ready(result);
        }
        loop {
            // Acquire, SeqCst swap and fence: as in `park_until`; the
            // register below checks the epoch under the lock, as a
            // sleeping thread does before it waits.
            let epoch = self.epoch.load(Ordering::Acquire);
            self.armed.swap(1, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if let Some(result) = attempt() {
                slot.unlink();
                return Poll::Ready(result);
            }
            if !may_sleep() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if let Some(other) = slot.waiter {
                if !ptr::eq(other, self) {
                    slot.unlink();
                }
            }
            let mut tasks = sync::lock(&self.lock);
            // Relaxed: the lock orders this load after any bump made under
            // it; a bump since our load means a notification we may have
            // missed: look again.
            if self.epoch.load(Ordering::Relaxed) != epoch {
                continue;
            }
            slot.waiter = Some(self);
            // SAFETY: we hold the lock; the node is pinned, and the slot
            // unlinks it before it is dropped (`WaitSlot::drop`).
            unsafe { tasks.register(&slot.node, cx.waker()) };
            return Poll::Pending;
        }
    }
}

/// The list of tasks waiting in a [`Waiter`], linked through the
/// [`Node`]s in their futures, and the count of sleeping threads. Guarded
/// by the waiter's lock.
struct Tasks {
    head: *const Node,
    tail: *const Node,
    /// How many nodes are linked.
    len: usize,
    /// How many threads wait on the condition variable.
    sleepers: usize,
}

// SAFETY: the list holds pointers to nodes that stay valid while linked
// (a node unlinks itself, under the lock, before it is dropped), and it is
// only reached through the waiter's lock; the wakers in the nodes are
// `Send`.
unsafe impl Send for Tasks {}

impl Tasks {
    /// Links `node` at the back with `waker`, or replaces its waker if it
    /// is linked already.
    ///
    /// # Safety
    ///
    /// The caller holds the lock guarding this list, `node` is pinned and
    /// stays valid until it is unlinked, and it is in no other list.
    unsafe fn register(&mut self, node: &Node, waker: &Waker) {
        // SAFETY (all `with_mut` below): the lock, held by the caller,
        // serializes every access to a node's fields but `linked`.
        node.waker.with_mut(|w| {
            // SAFETY: as above.
            let w = unsafe { &mut *w };
            match w {
                Some(old) if old.will_wake(waker) => {}
                _ => *w = Some(waker.clone()),
            }
        });
        // Relaxed: only this node's owner sets it, under the lock it holds.
        if node.linked.load(Ordering::Relaxed) != 0 {
            return;
        }
        let this: *const Node = node;
        // SAFETY: as above.
        node.prev.with_mut(|p| unsafe { *p = self.tail });
        // SAFETY: as above.
        node.next.with_mut(|p| unsafe { *p = ptr::null() });
        if self.tail.is_null() {
            self.head = this;
        } else {
            // SAFETY: a linked node is valid (type docs) and the lock is held.
            unsafe { (*self.tail).next.with_mut(|p| *p = this) };
        }
        self.tail = this;
        self.len += 1;
        // Relaxed: read under the lock, or by the owner itself.
        node.linked.store(1, Ordering::Relaxed);
    }

    /// Unlinks the first node and takes its waker.
    ///
    /// # Safety
    ///
    /// The caller holds the lock guarding this list.
    unsafe fn pop_front(&mut self) -> Option<Waker> {
        if self.head.is_null() {
            return None;
        }
        // SAFETY: a linked node is valid, and the lock is held.
        let node = unsafe { &*self.head };
        // SAFETY: as above.
        let next = node.next.with(|p| unsafe { *p });
        self.head = next;
        self.len -= 1;
        if next.is_null() {
            self.tail = ptr::null();
        } else {
            // SAFETY: as above.
            unsafe { (*next).prev.with_mut(|p| *p = ptr::null()) };
        }
        // SAFETY: as above.
        let waker = node.waker.with_mut(|w| unsafe { (*w).take() });
        // Release, last: the owner, reading 0 with Acquire, may reuse or
        // drop the node without the lock; nothing here touches it after.
        node.linked.store(0, Ordering::Release);
        waker
    }

    /// Unlinks `node` if it is linked, dropping its waker.
    ///
    /// # Safety
    ///
    /// The caller holds the lock guarding this list, and `node` is linked
    /// in this list or in none.
    unsafe fn remove(&mut self, node: &Node) {
        // Relaxed: under the lock, which orders it after the store of
        // whoever linked or unlinked it.
        if node.linked.load(Ordering::Relaxed) == 0 {
            return;
        }
        // SAFETY: the lock is held and linked nodes are valid.
        let (prev, next) = unsafe { (node.prev.with(|p| *p), node.next.with(|p| *p)) };
        if prev.is_null() {
            self.head = next;
        } else {
            // SAFETY: as above.
            unsafe { (*prev).next.with_mut(|p| *p = next) };
        }
        if next.is_null() {
            self.tail = prev;
        } else {
            // SAFETY: as above.
            unsafe { (*next).prev.with_mut(|p| *p = prev) };
        }
        self.len -= 1;
        // SAFETY: as above.
        let waker = node.waker.with_mut(|w| unsafe { (*w).take() });
        // Relaxed: the owner is the caller.
        node.linked.store(0, Ordering::Relaxed);
        drop(waker);
    }
}

/// A task's entry in a waiter's list: lives in the waiting future.
struct Node {
    /// 1 while in a list. Written under the list's lock; read by the
    /// node's owner without it, to skip the lock when it is 0.
    linked: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
    prev: UnsafeCell<*const Node>,
    next: UnsafeCell<*const Node>,
    /// The list links to the node's address.
    _pinned: PhantomPinned,
}

/// Up to `WAKE_BATCH` wakers taken out of a list, to be woken with the lock
/// released.
struct WakeBatch {
    wakers: [Option<Waker>; WAKE_BATCH],
    len: usize,
    /// How many the last `wake_all` woke.
    woke: usize,
}

/// How many tasks a notification wakes per taking of the lock.
const WAKE_BATCH: usize = 16;

impl WakeBatch {
    fn new() -> Self {
        Self {
            wakers: Default::default(),
            len: 0,
            woke: 0,
        }
    }

    fn is_full(&self) -> bool {
        self.len == WAKE_BATCH
    }

    fn push(&mut self, waker: Waker) {
        self.wakers[self.len] = Some(waker);
        self.len += 1;
    }

    /// Wakes every waker taken. A waker that panics stops the batch; the
    /// ones not yet woken are dropped with it.
    fn wake_all(&mut self) {
        self.woke = self.len;
        for waker in &mut self.wakers[..self.len] {
            if let Some(waker) = waker.take() {
                waker.wake();
            }
        }
        self.len = 0;
    }

    /// Whether the last `wake_all` woke a full batch (the list may hold
    /// more).
    fn was_full(&self) -> bool {
        self.woke == WAKE_BATCH
    }
}

/// The place a future keeps its registration with a queue while it waits:
/// what the `poll_*` calls (for example [`Ring::poll_recv`]) take, for
/// code that writes its own futures. The futures of this crate hold one
/// each; nothing is allocated.
///
/// A slot is pinned while in use (`std::pin::pin!`, or a pinned field of
/// the caller's future) and may serve any number of polls, of one queue or
/// of several in turn. Dropping it withdraws its registration.
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
/// ring.push(3_u8);
/// let mut slot = pin!(WaitSlot::new());
/// let popped = futures::executor::block_on(poll_fn(|cx| ring.poll_recv(cx, slot.as_mut())));
/// assert_eq!(popped, Ok(3));
/// ```
pub struct WaitSlot<'a> {
    /// The waiter the node was last registered with, if any.
    waiter: Option<&'a Waiter>,
    node: Node,
}

// SAFETY: the node's fields are reached by other threads only under the
// lock of the waiter it is linked in (the list's wakers are `Send`); the
// owner reads `linked` atomically and touches the rest only under that
// lock or once `linked` read 0 with Acquire.
unsafe impl Send for WaitSlot<'_> {}
// SAFETY: as for `Send`; `&WaitSlot` gives no access at all.
unsafe impl Sync for WaitSlot<'_> {}

impl WaitSlot<'_> {
    /// A slot registered nowhere.
    pub fn new() -> Self {
        Self {
            waiter: None,
            node: Node {
                linked: AtomicUsize::new(0),
                waker: UnsafeCell::new(None),
                prev: UnsafeCell::new(ptr::null()),
                next: UnsafeCell::new(ptr::null()),
                _pinned: PhantomPinned,
            },
        }
    }

    /// Withdraws the registration, if any.
    fn unlink(&mut self) {
        let Some(waiter) = self.waiter else {
            return;
        };
        // Acquire: pairs with the Release store of `pop_front`: a
        // notification that unlinked the node is done with it.
        if self.node.linked.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut tasks = sync::lock(&waiter.lock);
        // SAFETY: we hold the lock; the node was linked in this waiter's
        // list (the only one it registers with at a time) or in none.
        unsafe { tasks.remove(&self.node) };
    }
}

impl Default for WaitSlot<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for WaitSlot<'_> {
    fn drop(&mut self) {
        self.unlink();
    }
}

impl fmt::Debug for WaitSlot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        let linked = self.node.linked.load(Ordering::Relaxed) != 0;
        f.debug_struct("WaitSlot")
            .field("waiting", &linked)
            .finish()
    }
}

/// Retries `attempt` under `strategy` until it returns `Some` or `deadline`
/// (if any) passes; returns `None` on timeout. `waiter` is the lot this side
/// sleeps in under [`WaitStrategy::Park`].
///
/// `may_sleep` is the keyed waiter's sleep check (see
/// [`Waiter::park_until`]); `|| true` for a waiter whose notifiers all
/// call [`Waiter::notify`].
pub(crate) fn wait_until<R>(
    strategy: WaitStrategy,
    waiter: &Waiter,
    deadline: Option<Instant>,
    mut attempt: impl FnMut() -> Option<R>,
    mut may_sleep: impl FnMut() -> bool,
) -> Option<R> {
    if let Some(r) = attempt() {
        return Some(r);
    }
    match strategy {
        WaitStrategy::Park => {
            // Spin and yield a few microseconds first, as `Backoff` would:
            // most waits in a busy pipeline are shorter than a sleep and a
            // wake-up, which cost a syscall on each side.
            let backoff = sync::Backoff::new();
            while !backoff.is_completed() {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return None;
                }
                backoff.snooze();
                if let Some(r) = attempt() {
                    return Some(r);
                }
            }
            waiter.park_until(deadline, &mut attempt, &mut may_sleep)
        }
        WaitStrategy::Spin | WaitStrategy::Backoff => {
            let backoff = sync::Backoff::new();
            let mut tries: u32 = 0;
            loop {
                if strategy == WaitStrategy::Spin {
                    sync::spin_loop();
                } else {
                    backoff.snooze();
                }
                if let Some(r) = attempt() {
                    return Some(r);
                }
                tries = tries.wrapping_add(1);
                // Reading the clock costs about as much as a try: do it on
                // every 16th spin, but on every yield.
                let check =
                    strategy == WaitStrategy::Backoff && backoff.is_completed() || tries % 16 == 0;
                if check {
                    if let Some(deadline) = deadline {
                        if Instant::now() >= deadline {
                            return None;
                        }
                    }
                }
            }
        }
    }
}

/// The instant `timeout` from now, or `None` (wait forever) if that is too
/// far away to represent.
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}
