//! Loom models of the async waits: the futures and `poll_*` calls of `Ring`
//! and `AckQueue`, whose tasks register in the same wait lists as the
//! threads that park (`src/wait/`): lost wake-ups between a registering
//! task and a notifier, tasks and threads woken by one notification, a
//! woken or registered future dropped, and close.
//!
//! A task runs on a loom thread with a [`Task`] waker, whose wakes and live
//! clones are counted: the thread parks until the next wake, so that a
//! wake-up never sent leaves it asleep and loom reports the deadlock, and
//! each model checks at its end that every clone of a task's waker, the
//! ones the wait lists took included, was released exactly once. A wait
//! that polls once and drops its future is that future's cancellation.
#![cfg(loom)]

use std::future::Future;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use ackring::{AckQueue, Closed, PopError, PushError, Ring, WaitSlot, WaitStrategy};
use loom::sync::mpsc::channel;
use loom::sync::Arc;
use loom::thread;

mod util;
use util::{explore, queue};

/// One task's waker and the sleep of the thread that runs it.
///
/// The counters are std atomics: loom runs one thread at a time, so they
/// read in the order of its schedule, and they add no interleavings of
/// their own. A wake orders the waker's past before the poll that follows
/// it, as an executor's run queue does, and nothing else: a Release RMW on
/// `order`, which the task's thread reads with an Acquire RMW when it sees
/// the wake. The thread sleeps with loom's `park`, which a wake unparks
/// only while it sleeps: an unpark orders everything the waker did before
/// it with everything the woken thread does after, and one that came
/// while the thread runs (a notification that took the task's
/// registration while the task drops it, or moves it to another list)
/// would hide the races of that code. Unlike loom's `Notify` (and its
/// `block_on`), a park never returns spuriously, which would double the
/// interleavings of every sleep.
struct Task {
    /// How many times a clone of the waker was woken.
    wakes: AtomicUsize,
    /// Clones of the waker made and not yet released (dropped or woken by
    /// value).
    live: AtomicIsize,
    /// The thread that polls the task, which a wake unparks.
    thread: Mutex<Option<thread::Thread>>,
    /// Whether that thread is parked (or about to: no loom operation
    /// comes between setting it and the park).
    sleeping: AtomicBool,
    /// What orders a wake before the poll that follows it.
    order: loom::sync::atomic::AtomicUsize,
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_raw, wake_raw, wake_by_ref_raw, drop_raw);

/// # Safety
///
/// `data` is a `Task` that is still alive (see [`Task::waker`]).
unsafe fn task_of<'a>(data: *const ()) -> &'a Task {
    // SAFETY: the caller's guarantee.
    unsafe { &*(data as *const Task) }
}

unsafe fn clone_raw(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned points to a live task.
    unsafe { task_of(data) }
        .live
        .fetch_add(1, Ordering::Relaxed);
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake_raw(data: *const ()) {
    // SAFETY: as in `clone_raw`.
    unsafe {
        wake_by_ref_raw(data);
        drop_raw(data);
    }
}

unsafe fn wake_by_ref_raw(data: *const ()) {
    // SAFETY: as in `clone_raw`.
    let task = unsafe { task_of(data) };
    // Release: the waker's past, to the poll that sees this wake.
    task.order.fetch_add(1, Ordering::Release);
    task.wakes.fetch_add(1, Ordering::Relaxed);
    if task.sleeping.load(Ordering::Relaxed) {
        let thread = task.thread.lock().unwrap();
        thread.as_ref().expect("a waker is made by a poll").unpark();
    }
}

unsafe fn drop_raw(data: *const ()) {
    // SAFETY: as in `clone_raw`.
    let before = unsafe { task_of(data) }
        .live
        .fetch_sub(1, Ordering::Relaxed);
    assert!(
        before > 0,
        "a waker was released more often than it was made"
    );
}

impl Task {
    fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Task {
            wakes: AtomicUsize::new(0),
            live: AtomicIsize::new(0),
            thread: Mutex::new(None),
            sleeping: AtomicBool::new(false),
            order: loom::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// A new clone of the waker, for a poll on the calling thread. The
    /// clones point to the task without owning it: a model keeps a handle
    /// of every task until its threads are joined, and then checks that
    /// none is left ([`assert_released`](Task::assert_released)).
    fn waker(self: &std::sync::Arc<Self>) -> Waker {
        *self.thread.lock().unwrap() = Some(thread::current());
        self.live.fetch_add(1, Ordering::Relaxed);
        let data = std::sync::Arc::as_ptr(self) as *const ();
        // SAFETY: the vtable's functions keep the contract of `RawWaker`
        // for as long as the task lives, which the model ensures (above).
        unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
    }

    fn wakes(&self) -> usize {
        self.wakes.load(Ordering::Relaxed)
    }

    /// One poll with a waker of this task (released after it).
    fn poll_once<R>(
        self: &std::sync::Arc<Self>,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<R>,
    ) -> Poll<R> {
        let waker = self.waker();
        poll(&mut Context::from_waker(&waker))
    }

    /// Sleeps until the task has been woken more than `seen` times, then
    /// takes what the wakes order. No wake comes between the check and
    /// the park: loom switches threads only at its own operations, and
    /// the park is the next one.
    fn sleep_past(&self, seen: usize) {
        while self.wakes() <= seen {
            self.sleeping.store(true, Ordering::Relaxed);
            thread::park();
            self.sleeping.store(false, Ordering::Relaxed);
        }
        self.see_wakes();
    }

    /// Acquire (an RMW, so it reads the last wake's): the poll after a
    /// wake sees what the waker did before it.
    fn see_wakes(&self) {
        self.order.fetch_add(0, Ordering::Acquire);
    }

    /// Polls `future` to completion, sleeping between polls until woken;
    /// returns its output and how many polls it took.
    fn block_on<F: Future>(self: &std::sync::Arc<Self>, future: F) -> (F::Output, usize) {
        let mut future = std::pin::pin!(future);
        let waker = self.waker();
        let mut cx = Context::from_waker(&waker);
        let mut polls = 0;
        loop {
            let seen = self.wakes();
            polls += 1;
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return (out, polls);
            }
            if self.wakes() > seen {
                // Woken during the poll (a wait that must look again at
                // once): let the other threads run first, as an executor
                // runs its other tasks, or loom's scheduler would never
                // leave this thread.
                thread::yield_now();
                self.see_wakes();
            } else {
                self.sleep_past(seen);
            }
        }
    }

    /// Every clone of the waker was released exactly once: a wait list
    /// that kept one would still hold it here, one that released a clone
    /// twice would have made `live` negative (or failed in `drop_raw`).
    fn assert_released(&self) {
        assert_eq!(
            self.live.load(Ordering::Relaxed),
            0,
            "waker clones still held (or released twice)"
        );
    }
}

fn park_ring(capacity: usize) -> Arc<Ring<u32>> {
    Arc::new(Ring::with_wait_strategy(capacity, WaitStrategy::Park))
}

/// The outcome of a wait that took `polls` polls.
fn waited(polls: usize, at_once: &'static str, woken: &'static str) -> &'static str {
    if polls == 1 {
        at_once
    } else {
        woken
    }
}

#[test]
fn recv_async_registering_races_a_push() {
    // An async popper on an empty ring registers while the push notifies:
    // either its attempt sees the item, or the push's notification finds
    // it armed and wakes its task. A lost wake-up leaves the task asleep:
    // loom reports the deadlock.
    explore(&["item at the first poll", "woken for the item"], || {
        let ring = park_ring(1);
        let task = Task::new();
        let receiver = {
            let (ring, task) = (ring.clone(), task.clone());
            thread::spawn(move || task.block_on(ring.recv_async()))
        };
        thread::yield_now(); // let the receiver go first at least once
        ring.send(7).unwrap();
        let (got, polls) = receiver.join().unwrap();
        assert_eq!(got, Ok(7));
        assert_eq!(ring.try_pop(), None, "popped once");
        task.assert_released();
        waited(polls, "item at the first poll", "woken for the item")
    });
}

#[test]
fn async_and_parked_poppers_each_get_one_of_two_pushes() {
    // A task and a parked thread wait on one ring's `not_empty` list; two
    // pushes come. Each push's notification wakes the first waiter of the
    // list, thread or task, and each waiter must end with one item. The task has registered
    // before the pushes (the channel says so): two poppers that both wait
    // for a push in progress would take turns yielding forever under
    // loom's scheduler (see `ring.rs`).
    explore(
        &[
            "async popper got the first item",
            "async popper got the second item",
        ],
        || {
            let ring = park_ring(2);
            let task = Task::new();
            let (registered, wait_registered) = channel();
            let waiter = {
                let (ring, task) = (ring.clone(), task.clone());
                thread::spawn(move || {
                    let mut future = Box::pin(ring.recv_async());
                    let poll = task.poll_once(|cx| future.as_mut().poll(cx));
                    assert!(poll.is_pending(), "nothing pushed yet");
                    registered.send(()).unwrap();
                    task.sleep_past(0);
                    task.block_on(future).0
                })
            };
            let parked = {
                let ring = ring.clone();
                thread::spawn(move || ring.recv().unwrap())
            };
            wait_registered.recv().unwrap();
            ring.send(1).unwrap();
            ring.send(2).unwrap();
            let got = waiter.join().unwrap().unwrap();
            let mut all = vec![got, parked.join().unwrap()];
            all.sort_unstable();
            assert_eq!(all, [1, 2], "each waiter gets one item, each item once");
            task.assert_released();
            if got == 1 {
                "async popper got the first item"
            } else {
                "async popper got the second item"
            }
        },
    );
}

#[test]
fn send_async_on_full_capacity_1_ring_is_woken_by_a_pop() {
    // The ring is full: `send_async` waits for room in `not_full`; the pop
    // must wake it.
    explore(&["sent at the first poll", "woken by the pop"], || {
        let ring = park_ring(1);
        ring.send(1).unwrap();
        let task = Task::new();
        let sender = {
            let (ring, task) = (ring.clone(), task.clone());
            thread::spawn(move || task.block_on(ring.send_async(2)))
        };
        thread::yield_now(); // let the sender go first at least once
        assert_eq!(ring.try_pop(), Some(1), "the ring was full");
        let (sent, polls) = sender.join().unwrap();
        assert!(sent.is_ok(), "the ring is open");
        assert_eq!(ring.try_pop(), Some(2));
        task.assert_released();
        waited(polls, "sent at the first poll", "woken by the pop")
    });
}

#[test]
fn room_on_full_capacity_1_ring_is_woken_by_a_pop() {
    // As the model above for `room`, whose attempt reads the cursors
    // (`is_full`) instead of trying a push.
    explore(&["room at the first poll", "woken by the pop"], || {
        let ring = park_ring(1);
        ring.send(1).unwrap();
        let task = Task::new();
        let waiter = {
            let (ring, task) = (ring.clone(), task.clone());
            thread::spawn(move || task.block_on(ring.room()))
        };
        thread::yield_now(); // let the waiter go first at least once
        assert_eq!(ring.try_pop(), Some(1), "the ring was full");
        let (room, polls) = waiter.join().unwrap();
        assert_eq!(room, Ok(()));
        assert!(ring.try_push(2).is_ok(), "nobody else pushes");
        task.assert_released();
        waited(polls, "room at the first poll", "woken by the pop")
    });
}

#[test]
fn woken_future_dropped_before_it_takes_hands_its_wake_up_to_the_other() {
    // Two tasks wait for an item; one push comes, and wakes one waiter:
    // the first in the list, which is dropped once woken, without polling
    // again. Its wake-up must go on to the other task (the drop of its
    // slot hands it on), or the other sleeps forever with the item in the
    // ring (loom's deadlock). The first task has registered before the
    // push and before the other task starts (the channel says so).
    explore(
        &[
            "the other task found the item at its first poll",
            "the other task woken by the hand-over",
        ],
        || {
            let ring = park_ring(1);
            let (first, other) = (Task::new(), Task::new());
            let (registered, wait_registered) = channel();
            let dropper = {
                let (ring, task) = (ring.clone(), first.clone());
                thread::spawn(move || {
                    let mut future = Box::pin(ring.recv_async());
                    let poll = task.poll_once(|cx| future.as_mut().poll(cx));
                    assert!(poll.is_pending(), "nothing pushed yet");
                    registered.send(()).unwrap();
                    task.sleep_past(0);
                    drop(future);
                })
            };
            wait_registered.recv().unwrap();
            let receiver = {
                let (ring, task) = (ring.clone(), other.clone());
                thread::spawn(move || task.block_on(ring.recv_async()))
            };
            ring.send(1).unwrap();
            dropper.join().unwrap();
            let (got, polls) = receiver.join().unwrap();
            assert_eq!(got, Ok(1), "the item goes to the task still waiting");
            assert_eq!(first.wakes(), 1, "the first task was woken once");
            first.assert_released();
            other.assert_released();
            waited(
                polls,
                "the other task found the item at its first poll",
                "the other task woken by the hand-over",
            )
        },
    );
}

#[test]
fn two_pushes_wake_exactly_two_of_three_waiting_tasks() {
    // Three tasks wait for an item (each polled once on the empty ring, in
    // turn); two pushes race on two threads. Each push wakes one waiter,
    // the first two in the list: exactly two tasks are woken, once each,
    // and each of them then gets one item. A notification that woke every
    // waiter would wake the third task too.
    explore(&["two of three woken, one item each"], || {
        let ring = park_ring(2);
        let tasks = [Task::new(), Task::new(), Task::new()];
        let mut futures: Vec<_> = (0..3).map(|_| Box::pin(ring.recv_async())).collect();
        for (task, future) in tasks.iter().zip(&mut futures) {
            let poll = task.poll_once(|cx| future.as_mut().poll(cx));
            assert!(poll.is_pending(), "nothing pushed yet");
        }
        let pushers: Vec<_> = (1..=2)
            .map(|v| {
                let ring = ring.clone();
                thread::spawn(move || ring.send(v).unwrap())
            })
            .collect();
        for pusher in pushers {
            pusher.join().unwrap();
        }
        let wakes: Vec<usize> = tasks.iter().map(|t| t.wakes()).collect();
        assert_eq!(
            wakes,
            [1, 1, 0],
            "one waiter per push, in the order they waited"
        );
        let mut got = Vec::new();
        for (task, future) in tasks.iter().zip(&mut futures).take(2) {
            task.see_wakes();
            match task.poll_once(|cx| future.as_mut().poll(cx)) {
                Poll::Ready(Ok(v)) => got.push(v),
                other => panic!("a woken task finds its item: {other:?}"),
            }
        }
        got.sort_unstable();
        assert_eq!(got, [1, 2], "each item once");
        drop(futures);
        for task in &tasks {
            task.assert_released();
        }
        "two of three woken, one item each"
    });
}

#[test]
fn close_races_two_registering_recv_asyncs() {
    // Two async poppers on an empty ring register while the ring is
    // closed: the close wakes every waiter, not one, and both resolve to
    // `Closed`.
    explore(
        &[
            "neither waited",
            "one woken by the close",
            "both woken by the close",
        ],
        || {
            let ring = park_ring(1);
            let tasks = [Task::new(), Task::new()];
            let receivers: Vec<_> = tasks
                .iter()
                .map(|task| {
                    let (ring, task) = (ring.clone(), task.clone());
                    thread::spawn(move || task.block_on(ring.recv_async()))
                })
                .collect();
            thread::yield_now(); // let the receivers go first at least once
            assert!(ring.close());
            let mut woken = 0;
            for receiver in receivers {
                let (got, polls) = receiver.join().unwrap();
                assert_eq!(got, Err(Closed));
                woken += usize::from(polls > 1);
            }
            for task in &tasks {
                task.assert_released();
            }
            [
                "neither waited",
                "one woken by the close",
                "both woken by the close",
            ][woken]
        },
    );
}

#[test]
fn close_races_registering_recv_async() {
    // An async popper on an empty ring registers while the ring is closed:
    // it resolves to `Closed`, at its first poll or woken by the close.
    explore(&["closed at the first poll", "woken by the close"], || {
        let ring = park_ring(1);
        let task = Task::new();
        let receiver = {
            let (ring, task) = (ring.clone(), task.clone());
            thread::spawn(move || task.block_on(ring.recv_async()))
        };
        thread::yield_now(); // let the receiver go first at least once
        assert!(ring.close());
        let (got, polls) = receiver.join().unwrap();
        assert_eq!(got, Err(Closed));
        task.assert_released();
        waited(polls, "closed at the first poll", "woken by the close")
    });
}

#[test]
fn close_races_registering_room() {
    // A `room` wait on a full ring registers while the ring is closed: it
    // resolves to `Closed`, and the item in the ring stays for a pop.
    explore(&["closed at the first poll", "woken by the close"], || {
        let ring = park_ring(1);
        ring.send(1).unwrap();
        let task = Task::new();
        let waiter = {
            let (ring, task) = (ring.clone(), task.clone());
            thread::spawn(move || task.block_on(ring.room()))
        };
        thread::yield_now(); // let the waiter go first at least once
        assert!(ring.close());
        let (room, polls) = waiter.join().unwrap();
        assert_eq!(room, Err(Closed));
        assert_eq!(ring.try_recv(), Ok(1), "a close keeps the items");
        assert_eq!(ring.try_recv(), Err(PopError::Closed));
        task.assert_released();
        waited(polls, "closed at the first poll", "woken by the close")
    });
}

#[test]
fn close_races_registering_send_async() {
    // A `send_async` on a full ring registers while the ring is closed: it
    // resolves to `Closed` with its value.
    explore(&["refused at the first poll", "woken by the close"], || {
        let ring = park_ring(1);
        ring.send(1).unwrap();
        let task = Task::new();
        let sender = {
            let (ring, task) = (ring.clone(), task.clone());
            thread::spawn(move || task.block_on(ring.send_async(2)))
        };
        thread::yield_now(); // let the sender go first at least once
        assert!(ring.close());
        let (sent, polls) = sender.join().unwrap();
        match sent {
            Err(PushError::Closed(v)) => assert_eq!(v, 2, "the value comes back"),
            other => panic!("a send on a full ring that closes: {other:?}"),
        }
        assert_eq!(ring.try_recv(), Ok(1));
        assert_eq!(ring.try_recv(), Err(PopError::Closed));
        task.assert_released();
        waited(polls, "refused at the first poll", "woken by the close")
    });
}

#[test]
fn cancelled_recv_async_leaves_the_list_to_a_parked_popper() {
    // A task polls `poll_recv` once (registered), then drops its slot,
    // while a push notifies; the thread then pops with a blocking call.
    // The drop withdraws the registration under the lock, or finds that
    // the notification took it: either way the waker is released exactly
    // once, and the parked pop still gets the item.
    //
    // The slot is dropped in place and its memory kept until the push
    // returned, so that a notifier that touches a dropped registration
    // reads what the drop left there (the waker, released twice) instead
    // of freed memory.
    explore(
        &[
            "item at the first poll",
            "withdrawn before the notification",
            "woken, then dropped",
        ],
        || {
            let ring = park_ring(1);
            let task = Task::new();
            let (pushed, wait_pushed) = channel();
            let popper = {
                let (ring, task) = (ring.clone(), task.clone());
                thread::spawn(move || {
                    let mut memory = Box::new(MaybeUninit::new(WaitSlot::new()));
                    let slot = memory.as_mut_ptr();
                    // SAFETY: the slot is initialized, and it is never
                    // moved: it is dropped where it is, below, and its
                    // memory freed after that.
                    let pinned = unsafe { Pin::new_unchecked(&mut *slot) };
                    let first = task.poll_once(|cx| ring.poll_recv(cx, pinned));
                    // SAFETY: initialized, dropped once, not used after.
                    unsafe { slot.drop_in_place() };
                    let got = match first {
                        Poll::Ready(got) => got.unwrap(),
                        Poll::Pending => ring.recv().unwrap(),
                    };
                    wait_pushed.recv().unwrap();
                    drop(memory);
                    (got, first.is_ready())
                })
            };
            ring.send(1).unwrap();
            pushed.send(()).unwrap();
            let (got, at_once) = popper.join().unwrap();
            assert_eq!(got, 1);
            assert_eq!(ring.try_pop(), None, "popped once");
            task.assert_released();
            if at_once {
                "item at the first poll"
            } else if task.wakes() == 0 {
                "withdrawn before the notification"
            } else {
                assert_eq!(task.wakes(), 1);
                "woken, then dropped"
            }
        },
    );
}

#[test]
fn slot_moved_to_another_list_races_the_notification_of_the_first() {
    // One slot serves two waits in turn: registered in ring `a`'s
    // `not_empty` list, it is polled next, without waiting, for room in
    // the full ring `b`, while a push on `a` notifies. Moving on, the
    // slot withdraws from `a`'s list under `a`'s lock, or finds that the
    // push's notification took it: then it registers in `b`'s list under
    // `b`'s lock only, and what orders the notifier's last touch of the
    // node before that is its Release store of `linked`, read with
    // Acquire (`Tasks::pop_front`, `WaitSlot::unlink`).
    explore(
        &[
            "item at the first poll",
            "withdrawn from the first list",
            "moved after the notification took it",
        ],
        || {
            let (a, b) = (park_ring(1), park_ring(1));
            b.send(1).unwrap();
            let (first, second) = (Task::new(), Task::new());
            let waiter = {
                let (a, b) = (a.clone(), b.clone());
                let (first, second) = (first.clone(), second.clone());
                thread::spawn(move || {
                    let mut slot = std::pin::pin!(WaitSlot::new());
                    let got = first.poll_once(|cx| a.poll_recv(cx, slot.as_mut()));
                    let room =
                        second.block_on(std::future::poll_fn(|cx| b.poll_room(cx, slot.as_mut())));
                    assert_eq!(room.0, Ok(()));
                    got.is_ready()
                })
            };
            a.send(7).unwrap();
            assert_eq!(b.try_pop(), Some(1), "b was full");
            let at_once = waiter.join().unwrap();
            if !at_once {
                assert_eq!(a.try_pop(), Some(7), "the item stays for a pop");
            }
            first.assert_released();
            second.assert_released();
            if at_once {
                "item at the first poll"
            } else if first.wakes() == 0 {
                "withdrawn from the first list"
            } else {
                "moved after the notification took it"
            }
        },
    );
}

#[test]
fn nack_requeue_wakes_receive_async_with_no_fresh_message() {
    // The only message is in flight and nothing fresh is left: a waiting
    // `receive_async` gets it back when another thread nacks it with
    // requeue (the settle's `ready.notify()`).
    explore(
        &["requeue at the first poll", "woken by the requeue"],
        || {
            let q = Arc::new(queue(1, 2));
            let seq = q.try_publish(5).unwrap();
            let tag = q.try_receive().unwrap().detach();
            let task = Task::new();
            let nacker = {
                let q = q.clone();
                thread::spawn(move || q.nack(tag, true))
            };
            let (got, polls) = task.block_on(q.receive_async());
            nacker.join().unwrap().unwrap();
            let d = got.unwrap();
            assert_eq!((*d, d.delivery_count()), (5, 2), "the requeued message");
            d.ack().unwrap();
            assert!(q.is_settled(seq));
            assert!(q.try_receive().is_none(), "delivered twice, not thrice");
            task.assert_released();
            waited(polls, "requeue at the first poll", "woken by the requeue")
        },
    );
}

#[test]
fn nack_requeue_wakes_a_blocked_receive_with_no_fresh_message() {
    // The blocking twin of the model above, on the same wait list: a
    // thread alone waits, woken by the requeue's plain `notify`. An
    // `AckQueue` receive's failed attempt makes no fence of its own (a
    // `Ring`'s does, and keyed waiters read their key with an RMW under
    // loom), so this is the model that needs the fence of `park_until`.
    explore(
        &["requeue at the first try", "woken by the requeue"],
        || {
            let q = Arc::new(queue(1, 2));
            let seq = q.try_publish(5).unwrap();
            let tag = q.try_receive().unwrap().detach();
            let nacker = {
                let q = q.clone();
                thread::spawn(move || q.nack(tag, true))
            };
            thread::yield_now(); // let the nack go first at least once
            let (d, outcome) = match q.try_receive() {
                Some(d) => (d, "requeue at the first try"),
                None => (q.receive().unwrap(), "woken by the requeue"),
            };
            nacker.join().unwrap().unwrap();
            assert_eq!((*d, d.delivery_count()), (5, 2), "the requeued message");
            d.ack().unwrap();
            assert!(q.is_settled(seq));
            assert!(q.try_receive().is_none(), "delivered twice, not thrice");
            outcome
        },
    );
}

#[test]
fn dropped_owned_delivery_wakes_receive_async_at_the_prefetch_limit() {
    // `max_in_flight` 1, the place taken by an owned delivery, a fresh
    // message behind it: a waiting `receive_async` gets a delivery when the
    // holder drops its delivery unsettled on another thread (a requeue,
    // which gives the place back).
    explore(
        &["delivery at the first poll", "woken by the requeue"],
        || {
            let q = Arc::new(queue(2, 1));
            q.try_publish(5).unwrap();
            q.try_publish(6).unwrap();
            let held = AckQueue::try_receive_owned(&q).unwrap();
            assert_eq!(*held, 5);
            let task = Task::new();
            let holder = thread::spawn(move || drop(held));
            let (got, polls) = task.block_on(q.receive_async());
            holder.join().unwrap();
            let d = got.unwrap();
            let first = (*d, d.delivery_count());
            assert!(
                first == (5, 2) || first == (6, 1),
                "a delivery of a queued message: {first:?}"
            );
            d.ack().unwrap();
            let d = q.try_receive().expect("the other message");
            let second = (*d, d.delivery_count());
            assert!(second == (5, 2) || second == (6, 1));
            assert_ne!(first.0, second.0, "each message once");
            d.ack().unwrap();
            task.assert_released();
            waited(polls, "delivery at the first poll", "woken by the requeue")
        },
    );
}

#[test]
fn one_requeue_notification_wakes_a_task_and_a_blocked_receiver() {
    // Both messages are in flight and nothing fresh is left. A task has
    // registered on the queue's `ready` list (polled once, on the main
    // thread), and a thread blocks in `receive`; the main thread then
    // nacks both messages with requeue in one batch, which notifies once
    // for two (a plain `notify`, whose fence pairs with the waiters' own).
    // That one notification wakes two waiters, the task and the thread,
    // and each gets one message; the thread's sleep races it. The task is
    // woken in every execution, once: it stays first in the list until a
    // notification takes it.
    explore(
        &[
            "task woken, got the first requeue",
            "task woken, got the second requeue",
        ],
        || {
            let q = Arc::new(queue(2, 2));
            q.try_publish(1).unwrap();
            q.try_publish(2).unwrap();
            let tags = [
                q.try_receive().unwrap().detach(),
                q.try_receive().unwrap().detach(),
            ];
            let task = Task::new();
            let mut future = Box::pin(q.receive_async());
            let poll = task.poll_once(|cx| future.as_mut().poll(cx));
            assert!(poll.is_pending(), "nothing to receive yet");
            let blocked = {
                let q = q.clone();
                thread::spawn(move || {
                    let d = q.receive().unwrap();
                    assert_eq!(d.delivery_count(), 2);
                    let v = *d;
                    d.ack().unwrap();
                    v
                })
            };
            assert_eq!(q.nack_batch(tags, true, &mut Vec::new()), 2);
            let (got, _) = task.block_on(future);
            let d = got.unwrap();
            assert_eq!(d.delivery_count(), 2);
            let by_task = *d;
            d.ack().unwrap();
            let mut all = [by_task, blocked.join().unwrap()];
            all.sort_unstable();
            assert_eq!(all, [1, 2], "each waiter gets one message, each once");
            assert_eq!(q.settled_below().get(), 2);
            task.assert_released();
            assert_eq!(task.wakes(), 1, "the task is woken once");
            if by_task == 1 {
                "task woken, got the first requeue"
            } else {
                "task woken, got the second requeue"
            }
        },
    );
}

#[test]
fn publish_async_on_full_queue_is_woken_by_a_receive() {
    // The queue's one fresh slot is taken: `publish_async` waits in `room`
    // until a receive frees the slot (a settle does not make room).
    explore(
        &["published at the first poll", "woken by the receive"],
        || {
            let q = Arc::new(queue(1, 1));
            q.try_publish(1).unwrap();
            let task = Task::new();
            let publisher = {
                let (q, task) = (q.clone(), task.clone());
                thread::spawn(move || task.block_on(q.publish_async(2)))
            };
            thread::yield_now(); // let the publisher go first at least once
            let d = q.try_receive().expect("published before");
            assert_eq!(*d, 1);
            let (published, polls) = publisher.join().unwrap();
            let seq = published.unwrap_or_else(|e: PushError<u32>| panic!("{e:?}"));
            d.ack().unwrap();
            let d = q.try_receive().expect("the second message");
            assert_eq!(*d, 2);
            d.ack().unwrap();
            assert!(q.is_settled(seq));
            task.assert_released();
            waited(polls, "published at the first poll", "woken by the receive")
        },
    );
}
