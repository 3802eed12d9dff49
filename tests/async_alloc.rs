//! No heap allocation per wait: a future that registers in a wait list,
//! sleeps and is woken by another thread allocates nothing, on either
//! thread, once warmed up. The futures run on a minimal executor of this
//! file (a thread-parking waker made once, before counting) so that no
//! runtime's allocations enter the count; the counting global allocator
//! (`common/counting.rs`) counts each thread's own allocations.
//!
//! Each round of a scenario makes the waiting thread's future return
//! `Pending` first (registered) and only then lets the other thread act,
//! so every counted round is a real sleep and wake-up.

// The deprecated `push` and `pop` stay covered while they exist.
#![allow(deprecated)]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

use ackring::{AckQueue, Ring, WaitStrategy};

mod common;
use common::counting::{allocations, Counting};
use common::wait::STALL;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Rounds before counting.
const WARM_UP: u64 = 100;
/// Rounds counted.
const ROUNDS: u64 = 1_000;

/// Wakes the thread that polls: raises `woken` and unparks it.
struct Unpark {
    thread: Thread,
    woken: AtomicBool,
    wakes: AtomicUsize,
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
        self.woken.store(true, SeqCst);
        self.thread.unpark();
    }
}

/// A single-future executor for the calling thread: polls, and after a
/// `Pending` parks until the waker is woken (never polls unwoken, so a
/// lost wake-up shows as a stall).
struct Executor {
    unpark: Arc<Unpark>,
    waker: Waker,
}

impl Executor {
    /// Allocates the waker's `Arc`: call before counting.
    fn new() -> Self {
        let unpark = Arc::new(Unpark {
            thread: thread::current(),
            woken: AtomicBool::new(false),
            wakes: AtomicUsize::new(0),
        });
        let waker = Waker::from(unpark.clone());
        Self { unpark, waker }
    }

    /// Runs `f` to completion; `on_pending` runs after each `Pending`.
    fn block_on<F: Future>(&self, f: F, mut on_pending: impl FnMut()) -> F::Output {
        let mut f = pin!(f);
        let mut cx = Context::from_waker(&self.waker);
        loop {
            self.unpark.woken.store(false, SeqCst);
            if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
                return out;
            }
            on_pending();
            let deadline = Instant::now() + STALL;
            while !self.unpark.woken.load(SeqCst) {
                let now = Instant::now();
                assert!(now < deadline, "a waiting future was never woken");
                thread::park_timeout(deadline - now);
            }
        }
    }

    fn wakes(&self) -> usize {
        self.unpark.wakes.load(SeqCst)
    }
}

/// Spins (yielding) until `round` reaches `at_least`; panics after
/// `STALL`.
fn wait_for_round(round: &AtomicU64, at_least: u64) {
    let deadline = Instant::now() + STALL;
    while round.load(SeqCst) < at_least {
        assert!(Instant::now() < deadline, "the waiting side stalled");
        thread::yield_now();
    }
}

/// Runs `WARM_UP + ROUNDS` rounds of one scenario: in round `i` the
/// waiting thread (this one) runs `wait(i)` on the executor, which
/// returns `Pending` at least once (then `registered` is set to `i + 1`);
/// the other thread runs `act(i)` only after that. Returns the
/// allocations of the counted rounds on this thread and on the other,
/// and checks that each counted round slept and was woken.
fn rounds<F: Future<Output = ()>>(
    mut wait: impl FnMut(u64) -> F,
    act: impl FnMut(u64) + Send,
) -> (usize, usize) {
    let executor = Executor::new();
    let registered = AtomicU64::new(0);
    let mut act = act;
    thread::scope(|s| {
        let other = s.spawn(|| {
            let mut before = 0;
            for i in 0..WARM_UP + ROUNDS {
                if i == WARM_UP {
                    before = allocations();
                }
                wait_for_round(&registered, i + 1);
                act(i);
            }
            allocations() - before
        });
        let mut before = 0;
        let mut wakes = 0;
        for i in 0..WARM_UP + ROUNDS {
            if i == WARM_UP {
                before = allocations();
                wakes = executor.wakes();
            }
            let mut pendings = 0;
            executor.block_on(wait(i), || {
                pendings += 1;
                registered.store(i + 1, SeqCst);
            });
            assert!(pendings > 0, "round {i} did not wait");
        }
        let here = allocations() - before;
        assert!(
            executor.wakes() - wakes >= ROUNDS as usize,
            "a counted round was not woken"
        );
        (here, other.join().unwrap())
    })
}

/// `recv_async` on an empty parking ring, woken by a push from another
/// thread: no allocation on either thread.
#[test]
fn recv_async_woken_by_a_push_does_not_allocate() {
    let ring = Ring::<u64>::with_wait_strategy(4, WaitStrategy::Park);
    let (waiting, pushing) = rounds(
        |i| {
            let ring = &ring;
            async move { assert_eq!(ring.recv_async().await, Ok(i)) }
        },
        |i| ring.push(i),
    );
    assert_eq!((waiting, pushing), (0, 0), "allocations (waiting, pushing)");
}

/// `send_async` on a full parking ring, woken by a pop from another
/// thread: no allocation on either thread.
#[test]
fn send_async_woken_by_a_pop_does_not_allocate() {
    let ring = Ring::<u64>::with_wait_strategy(1, WaitStrategy::Park);
    ring.push(u64::MAX);
    let (waiting, popping) = rounds(
        |i| {
            let ring = &ring;
            async move { ring.send_async(i).await.unwrap() }
        },
        |_| {
            ring.pop();
        },
    );
    assert_eq!((waiting, popping), (0, 0), "allocations (waiting, popping)");
}

/// `receive_async` on an empty `AckQueue`, woken by a publish from
/// another thread (and the delivery acked): no allocation on either
/// thread.
#[test]
fn receive_async_woken_by_a_publish_does_not_allocate() {
    let q = AckQueue::<u64>::builder()
        .capacity(4)
        .max_in_flight(2)
        .build()
        .unwrap();
    let (waiting, publishing) = rounds(
        |i| {
            let q = &q;
            async move {
                let d = q.receive_async().await.unwrap();
                assert_eq!(*d, i);
                d.ack().unwrap();
            }
        },
        |i| {
            q.try_publish(i).unwrap();
        },
    );
    assert_eq!(
        (waiting, publishing),
        (0, 0),
        "allocations (waiting, publishing)"
    );
}

/// `publish_async` on a full `AckQueue`, woken by a receive from another
/// thread (which acks what it received): no allocation on either thread.
#[test]
fn publish_async_woken_by_a_receive_does_not_allocate() {
    let q = AckQueue::<u64>::builder().capacity(1).build().unwrap();
    q.try_publish(u64::MAX).unwrap();
    let (waiting, receiving) = rounds(
        |i| {
            let q = &q;
            async move {
                q.publish_async(i).await.unwrap();
            }
        },
        |_| q.try_receive().unwrap().ack().unwrap(),
    );
    assert_eq!(
        (waiting, receiving),
        (0, 0),
        "allocations (waiting, receiving)"
    );
}

/// `wait_settled_async` on a message received by another thread, woken
/// by its ack there: no allocation on either thread.
#[test]
fn wait_settled_async_woken_by_an_ack_does_not_allocate() {
    let q = AckQueue::<u64>::builder().capacity(4).build().unwrap();
    let (waiting, acking) = rounds(
        |i| {
            let q = &q;
            async move {
                let seq = q.try_publish(i).unwrap();
                q.wait_settled_async(seq).await;
            }
        },
        |i| {
            let d = q.try_receive().unwrap();
            assert_eq!(*d, i);
            d.ack().unwrap();
        },
    );
    assert_eq!((waiting, acking), (0, 0), "allocations (waiting, acking)");
}
