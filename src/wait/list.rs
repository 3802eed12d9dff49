//! [`WaitList`]: one side's wait list, the notifications that wake the first
//! waiters in it, and the two ways to wait in it: a parked thread
//! (`park_until`) and a polled future (`poll_wait`). The protocol is told
//! in the module docs of `wait`.

use core::fmt;
use core::pin::Pin;
use core::ptr;
use core::task::{Context, Poll, Waker};

use super::slot::{Node, WaitSlot, Wake, WakeBatch, IDLE, LINKED, NOTIFIED};
use crate::sync::{self, fence, AtomicUsize, Instant, Mutex, MutexGuard, Ordering};

/// How many times a polled wait looks again, spinning, when the operation
/// it waits for is under way, before it asks to be polled again.
const IN_TRANSIT_LOOKS: u32 = 8;

/// Wake every waiter: what a close notifies.
pub(crate) const ALL: usize = usize::MAX;

/// One side's wait list: the threads and tasks waiting for an item (or
/// for room), in the order they linked.
pub(crate) struct WaitList {
    /// 1 while the list holds a node: set by every waiter that links one
    /// (SeqCst, under the lock), cleared under the lock by whoever leaves
    /// the list empty (module docs of `wait`).
    armed: AtomicUsize,
    list: Mutex<List>,
}

impl fmt::Debug for WaitList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("WaitList { .. }")
    }
}

impl WaitList {
    pub(crate) fn new() -> Self {
        Self {
            armed: AtomicUsize::new(0),
            list: Mutex::new(List {
                head: ptr::null(),
                tail: ptr::null(),
                len: 0,
            }),
        }
    }

    /// Wakes the first `n` waiters ([`ALL`] for every one), if any. Called
    /// after the operation that may let them proceed has published its
    /// effect.
    #[inline]
    pub(crate) fn notify(&self, n: usize) {
        // SeqCst fence: the notifier's half of the pair in the module docs
        // of `wait`; orders our preceding store before the `armed` load.
        fence(Ordering::SeqCst);
        // Relaxed: the fence above orders this load.
        if self.armed.load(Ordering::Relaxed) != 0 {
            self.wake(n);
        }
    }

    /// As [`notify`](WaitList::notify), for a notifier whose progress is
    /// told by a *key*: a word it changed with a SeqCst RMW before this
    /// call, and that every waiter here reads after arming, in the sleep
    /// check it passes to the waits. No fence: the RMW stands in for it
    /// (module docs of `wait`, "Keyed notifications").
    #[inline]
    pub(crate) fn notify_keyed(&self, n: usize) {
        // SeqCst (`KEYED_LOAD`): the key's SeqCst RMW precedes this load in
        // the single total order, which is what the waiter's fence is
        // ordered against. Under loom, which orders SeqCst accesses only as
        // AcqRel, the load is Relaxed and the waiters read the key with an
        // RMW instead (`sync::key_load`).
        if self.armed.load(sync::KEYED_LOAD) != 0 {
            self.wake(n);
        }
    }

    fn lock(&self) -> MutexGuard<'_, List> {
        sync::lock(&self.list)
    }

    /// Clears `armed` if `list` (this waiter's, locked) is empty.
    fn disarm_if_empty(&self, list: &List) {
        if list.head.is_null() {
            // Relaxed: under the lock, after the last node left; a waiter
            // that links next sets it again under the lock, and a notifier
            // that reads this clear finds every waiter that armed before it
            // out of the list (module docs of `wait`).
            self.armed.store(0, Ordering::Relaxed);
        }
    }

    /// Takes up to `n` nodes off the front of the list and wakes their
    /// owners, unlocked around the wakes.
    #[cold]
    fn wake(&self, n: usize) {
        let mut list = self.lock();
        if n == 1 {
            // SAFETY: we hold the lock, which guards the list.
            let wake = unsafe { list.pop_front() };
            self.disarm_if_empty(&list);
            drop(list);
            if let Some(wake) = wake {
                wake.wake();
            }
            return;
        }
        // At most as many as are linked now: a waiter woken by an earlier
        // batch that links again is not woken twice for one notification.
        let mut left = n.min(list.len);
        let mut batch = WakeBatch::new();
        loop {
            while left > 0 && !batch.is_full() {
                // SAFETY: as above.
                let Some(wake) = (unsafe { list.pop_front() }) else {
                    left = 0;
                    break;
                };
                batch.push(wake);
                left -= 1;
            }
            self.disarm_if_empty(&list);
            drop(list);
            batch.wake_all();
            if left == 0 {
                return;
            }
            list = self.lock();
        }
    }

    /// Links `node` at the back with `wake` and arms the list, then
    /// fences: the waiter's half of the pair (module docs of `wait`). The
    /// caller tries once more before it sleeps.
    fn link(&self, node: &Node, wake: Wake) {
        let mut list = self.lock();
        // SAFETY: we hold the lock; the node is pinned, idle (in no list),
        // and its owner withdraws it before it is dropped (`WaitSlot`'s
        // drop).
        unsafe { list.push_back(node, wake) };
        // Relaxed: the waiter's arm. A notifier's load after its fence, or
        // after its key RMW, reads it unless our look sees the
        // notifier's operation. The SeqCst fence below orders it for both
        // (module docs of `wait`): a plain notifier's fence and ours are
        // ordered in S, and a keyed notifier's SeqCst load that reads a
        // value from before this arm precedes our fence in S. Made under
        // the lock, so that a clear, also made under the lock, comes before
        // it or after our node left.
        self.armed.swap(1, Ordering::Relaxed);
        drop(list);
        // SeqCst: orders the arm before the look's loads (and, on std,
        // before a keyed waiter's plain load of its key).
        fence(Ordering::SeqCst);
    }

    /// Takes `node` out of the list if it is still linked there; returns
    /// whether a notification took it first (a wake-up the owner now holds
    /// and has not used). Called by the node's owner, with `node` linked
    /// in this list or in none.
    fn withdraw(&self, node: &Node) -> bool {
        match node.look() {
            NOTIFIED => return true,
            IDLE => return false,
            _ => {}
        }
        let mut list = self.lock();
        // Relaxed: under the lock, which orders it after the store of
        // whoever linked or took the node.
        if node.state.load(Ordering::Relaxed) == NOTIFIED {
            // Relaxed: the node is ours again (taken under the lock we hold).
            node.state.store(IDLE, Ordering::Relaxed);
            return true;
        }
        // SAFETY: we hold the lock and the node is linked in this list.
        let wake = unsafe { list.remove(node) };
        self.disarm_if_empty(&list);
        drop(list);
        drop(wake);
        false
    }

    /// The owner of `node` is done waiting here: withdraws the node, and
    /// hands a wake-up it holds and has not used to the next waiter
    /// (module docs of `wait`).
    pub(super) fn leave(&self, node: &Node) {
        if self.withdraw(node) {
            self.pass_on();
        }
    }

    /// Wakes the next waiter for a wake-up its holder did not use. Takes
    /// the lock whatever `armed` says: a waiter that links after we unlock
    /// sees, through the lock, the operation the wake-up was for.
    pub(super) fn pass_on(&self) {
        self.wake(1);
    }

    /// Gives the linked `node` the task's current waker; `false` if a
    /// notification took the node first (the caller then holds a
    /// wake-up: `Node::look` returns it).
    fn rewake(&self, node: &Node, waker: &Waker) -> bool {
        let list = self.lock();
        // Relaxed: under the lock.
        if node.state.load(Ordering::Relaxed) != LINKED {
            return false;
        }
        // SAFETY: we hold the lock, which guards a linked node's fields.
        // (The wake of a linked node is initialized: `push_back`.)
        let old = node.wake.with_mut(|w| unsafe {
            let w = (*w).assume_init_mut();
            match &*w {
                Wake::Task(old) if old.will_wake(waker) => None,
                _ => Some(core::mem::replace(w, Wake::Task(waker.clone()))),
            }
        });
        drop(list);
        drop(old);
        true
    }

    /// Parks the thread until `look` succeeds or `deadline` passes. After
    /// a look that failed, the thread sleeps only if `may_sleep` says so
    /// (read after arming, like the look); otherwise it yields and tries
    /// again: a keyed waiter's check that the operation it waits for is
    /// not already under way (module docs of `wait`).
    pub(super) fn park_until<R>(
        &self,
        deadline: Option<Instant>,
        look: &mut impl FnMut() -> Option<R>,
        may_sleep: &mut impl FnMut() -> bool,
    ) -> Option<R> {
        let slot = core::pin::pin!(WaitSlot::new());
        // SAFETY: the slot is never moved out of its pin; only its `list`
        // field, which is not pinned, is written through this.
        let slot = unsafe { slot.get_unchecked_mut() };
        slot.list = Some(self);
        let thread = sync::current_thread();
        let passed = |deadline: Option<Instant>| deadline.is_some_and(|d| Instant::now() >= d);
        loop {
            self.link(&slot.node, Wake::Thread(thread.clone()));
            // Linked (or taken by a notification) from here until woken.
            loop {
                if let Some(r) = look() {
                    // The slot's drop withdraws the node, and passes on a
                    // wake-up that came meanwhile.
                    return Some(r);
                }
                if passed(deadline) {
                    if self.withdraw(&slot.node) {
                        // Woken as the deadline passed: use the wake-up.
                        return look();
                    }
                    return None;
                }
                if !may_sleep() {
                    sync::yield_now();
                    continue;
                }
                if self.sleep(&slot.node, deadline) {
                    break;
                }
            }
            // Woken: this look uses the wake-up (module docs of `wait`).
            if let Some(r) = look() {
                return Some(r);
            }
            if passed(deadline) {
                return None;
            }
        }
    }

    /// Parks until a notification takes `node` (returns `true`, the
    /// wake-up taken) or `deadline` passes (`false`).
    fn sleep(&self, node: &Node, deadline: Option<Instant>) -> bool {
        loop {
            if node.look() == NOTIFIED {
                return true;
            }
            match deadline {
                None => sync::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    sync::park_timeout(deadline.saturating_duration_since(now));
                }
            }
        }
    }

    /// The async form of [`park_until`](WaitList::park_until): one poll.
    /// Returns what `look` gives, or leaves `slot`'s task linked here
    /// and returns `Pending`; a notification then wakes it. A task whose
    /// `may_sleep` says no is woken again at once instead (the operation
    /// it waits for is under way).
    #[inline]
    pub(crate) fn poll_wait<'a, R>(
        &'a self,
        cx: &mut Context<'_>,
        mut slot: Pin<&mut WaitSlot<'a>>,
        mut look: impl FnMut() -> Option<R>,
        may_sleep: impl FnMut() -> bool,
    ) -> Poll<R> {
        // The fast path, inlined in the caller: a slot that never waited
        // holds no registration and no wake-up, so one look decides.
        if slot.list.is_none() {
            if let Some(result) = look() {
                return Poll::Ready(result);
            }
        }
        self.poll_wait_used(cx, slot.as_mut(), look, may_sleep)
            .map(|(r, _)| r)
    }

    /// As [`poll_wait`](WaitList::poll_wait), for a wait that only looks and
    /// takes nothing (`Ring::room`): when it resolves on a wake-up, the
    /// wake-up goes on to the next waiter, so that a caller that then does
    /// not take the room strands nobody.
    pub(crate) fn poll_look<'a, R>(
        &'a self,
        cx: &mut Context<'_>,
        slot: Pin<&mut WaitSlot<'a>>,
        look: impl FnMut() -> Option<R>,
        may_sleep: impl FnMut() -> bool,
    ) -> Poll<R> {
        match self.poll_wait_used(cx, slot, look, may_sleep) {
            Poll::Ready((r, used)) => {
                if used {
                    self.pass_on();
                }
                Poll::Ready(r)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// One poll of a wait, past the fast path; with the result, whether
    /// it used a wake-up.
    #[inline(never)]
    fn poll_wait_used<'a, R>(
        &'a self,
        cx: &mut Context<'_>,
        slot: Pin<&mut WaitSlot<'a>>,
        mut look: impl FnMut() -> Option<R>,
        mut may_sleep: impl FnMut() -> bool,
    ) -> Poll<(R, bool)> {
        // SAFETY: the node is never moved out of the slot; only the
        // `list` field, which is not pinned, is written through this.
        let slot = unsafe { slot.get_unchecked_mut() };
        let mut used = false;
        'poll: loop {
            let mut linked = false;
            match slot.list {
                Some(list) if ptr::eq(list, self) => match slot.node.look() {
                    NOTIFIED => used = true,
                    LINKED => linked = true,
                    _ => {}
                },
                // Registered with another queue's list: done there.
                Some(other) => {
                    other.leave(&slot.node);
                    slot.list = None;
                }
                None => {}
            }
            // First without linking: the look that uses a wake-up (and
            // for a fresh slot a second look, after the fast path's).
            if let Some(result) = look() {
                if linked {
                    self.leave(&slot.node);
                }
                return slot.done(result, used);
            }
            if linked {
                // Still linked from an earlier poll (a poll without a
                // wake-up): our arm stands while the node is in the list, so
                // the look above needs no new fence.
                if !self.rewake(&slot.node, cx.waker()) {
                    continue; // taken meanwhile: use the wake-up
                }
            } else {
                slot.list = Some(self);
                self.link(&slot.node, Wake::Task(cx.waker().clone()));
                if let Some(result) = look() {
                    self.leave(&slot.node);
                    return slot.done(result, used);
                }
            }
            // The operation waited for is under way: look again a few
            // times before asking to be polled again (which costs the
            // runtime a trip through its queue, and maybe a wake-up of an
            // idle worker).
            let backoff = sync::Backoff::new();
            let mut looks = 0;
            while !may_sleep() {
                if backoff.is_completed() || looks == IN_TRANSIT_LOOKS {
                    // Polled again at once: out of the list meanwhile, so
                    // that no notification wakes the task a second time.
                    if self.withdraw(&slot.node) {
                        continue 'poll; // taken meanwhile: use the wake-up
                    }
                    cx.waker().wake_by_ref();
                    break;
                }
                backoff.spin();
                looks += 1;
                if let Some(result) = look() {
                    self.leave(&slot.node);
                    return slot.done(result, used);
                }
            }
            return Poll::Pending;
        }
    }
}

/// The nodes linked in a [`WaitList`], in the order they linked. Guarded by
/// the waiter's lock.
struct List {
    head: *const Node,
    tail: *const Node,
    /// How many nodes are linked.
    len: usize,
}

// SAFETY: the list holds pointers to nodes that stay valid while linked
// (a node is withdrawn, under the lock, before it is dropped), and it is
// only reached through the waiter's lock; the wakers and thread handles in
// the nodes are `Send`.
unsafe impl Send for List {}

impl List {
    /// Links the idle `node` at the back with `wake`.
    ///
    /// # Safety
    ///
    /// The caller holds the lock guarding this list, `node` is pinned,
    /// idle, and stays valid until it is taken off the list.
    unsafe fn push_back(&mut self, node: &Node, wake: Wake) {
        debug_assert_eq!(node.state.load(Ordering::Relaxed), IDLE);
        let this: *const Node = node;
        // SAFETY: the lock, held by the caller, serializes every access to
        // a linked node's fields but `state`, and an idle node is touched
        // by nobody but its owner, the caller (so for each `with_mut`
        // below).
        node.wake.with_mut(|w| unsafe { (*w).write(wake) });
        // SAFETY: as above.
        node.prev.with_mut(|p| unsafe { (*p).write(self.tail) });
        // SAFETY: as above.
        node.next.with_mut(|p| unsafe { (*p).write(ptr::null()) });
        if self.tail.is_null() {
            self.head = this;
        } else {
            // SAFETY: a linked node is valid (type docs) and the lock is held.
            unsafe { (*self.tail).next.with_mut(|p| (*p).write(this)) };
        }
        self.tail = this;
        self.len += 1;
        // Relaxed: read under the lock, or by the owner itself.
        node.state.store(LINKED, Ordering::Relaxed);
    }

    /// Takes the first node off the list and its owner's wake.
    ///
    /// # Safety
    ///
    /// The caller holds the lock guarding this list.
    unsafe fn pop_front(&mut self) -> Option<Wake> {
        if self.head.is_null() {
            return None;
        }
        // SAFETY: a linked node is valid, and the lock is held.
        let node = unsafe { &*self.head };
        // SAFETY: as above.
        let next = node.next.with(|p| unsafe { (*p).assume_init() });
        self.head = next;
        self.len -= 1;
        if next.is_null() {
            self.tail = ptr::null();
        } else {
            // SAFETY: as above.
            unsafe { (*next).prev.with_mut(|p| (*p).write(ptr::null())) };
        }
        // SAFETY: as above.
        let wake = node.wake.with_mut(|w| unsafe { (*w).assume_init_read() });
        // Release, last: the owner, reading NOTIFIED with Acquire, may reuse
        // or drop the node without the lock; nothing here touches it after.
        node.state.store(NOTIFIED, Ordering::Release);
        Some(wake)
    }

    /// Unlinks the linked `node`; returns its wake, for the caller to drop
    /// once unlocked.
    ///
    /// # Safety
    ///
    /// The caller holds the lock guarding this list, and `node` is linked
    /// in it.
    unsafe fn remove(&mut self, node: &Node) -> Wake {
        // SAFETY: the lock is held and linked nodes are valid.
        let (prev, next) = unsafe {
            (
                node.prev.with(|p| (*p).assume_init()),
                node.next.with(|p| (*p).assume_init()),
            )
        };
        if prev.is_null() {
            self.head = next;
        } else {
            // SAFETY: as above.
            unsafe { (*prev).next.with_mut(|p| (*p).write(next)) };
        }
        if next.is_null() {
            self.tail = prev;
        } else {
            // SAFETY: as above.
            unsafe { (*next).prev.with_mut(|p| (*p).write(prev)) };
        }
        self.len -= 1;
        // SAFETY: as above.
        let wake = node.wake.with_mut(|w| unsafe { (*w).assume_init_read() });
        // Relaxed: the owner is the caller.
        node.state.store(IDLE, Ordering::Relaxed);
        wake
    }
}
