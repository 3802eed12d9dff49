//! Futures of `Ring` and `AckQueue` cancelled at random points (tiny
//! `tokio::time::timeout`s, `tokio::select!` against a yield, a single
//! poll and a drop) while producers run: every item or message is still
//! received exactly once, nothing lost or duplicated by a cancelled wait;
//! and a woken future that is dropped strands no other waiter.
//!
//! The waits that must end are bounded by `STALL`, a hang guard a working
//! run never comes near. No assertion is about speed.

// The deprecated `push` and `pop` stay covered while they exist.
#![allow(deprecated)]

use std::collections::HashSet;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use ackring::{AckQueue, Closed, Delivery, OwnedDelivery, PushError, Ring, WaitStrategy};
use futures::{FutureExt, StreamExt};
use tokio::time::timeout;

mod common;
use common::asynch::{guarded, runtime};
use common::rng::Rng;
use common::settles::SettleLedger;
use common::wait::STALL;

/// A random timeout from none at all (the future is polled once) to a
/// millisecond and a half.
fn tiny(rng: &mut Rng) -> Duration {
    match rng.below(4) {
        0 => Duration::ZERO,
        _ => Duration::from_micros(rng.below(1_500)),
    }
}

/// A waker that records that it was woken, and unparks the thread that
/// made it.
struct Flag {
    woken: AtomicBool,
    thread: thread::Thread,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, SeqCst);
        self.thread.unpark();
    }
}

impl Flag {
    /// A flag and a waker that raises it.
    fn new() -> (Arc<Flag>, Waker) {
        let flag = Arc::new(Flag {
            woken: AtomicBool::new(false),
            thread: thread::current(),
        });
        (flag.clone(), Waker::from(flag))
    }

    /// Whether it was woken since the last call; lowers it.
    fn take(&self) -> bool {
        self.woken.swap(false, SeqCst)
    }

    /// Waits (parked, on the thread that made the flag) until woken;
    /// panics after `STALL`.
    fn wait(&self, what: &str) {
        let deadline = Instant::now() + STALL;
        while !self.take() {
            let now = Instant::now();
            assert!(now < deadline, "{what}: never woken");
            thread::park_timeout(deadline - now);
        }
    }
}

/// Pushes `v` into `ring` waiting for room with `room()` futures that are
/// cancelled at random (a tiny timeout, a `select!` that a yield may win,
/// a single poll): `room` holds nothing, so the value stays ours.
async fn send_with_cancelled_room(ring: &Ring<u64>, rng: &mut Rng, mut v: u64) {
    loop {
        let room = match rng.below(3) {
            0 => timeout(tiny(rng), ring.room()).await.ok(),
            1 => tokio::select! {
                r = ring.room() => Some(r),
                _ = tokio::task::yield_now() => None,
            },
            _ => ring.room().now_or_never(),
        };
        match room {
            None => tokio::task::yield_now().await,
            Some(r) => r.expect("open while producing"),
        }
        match ring.try_send(v) {
            Ok(()) => return,
            Err(PushError::Full(back)) => v = back,
            Err(PushError::Closed(_)) => panic!("closed while producing"),
        }
    }
}

/// Receives from `ring` until it is closed and drained, with waits
/// cancelled at random: `recv_async` under a tiny timeout, in a
/// `select!` against a yield, polled once by `now_or_never` or by
/// `futures::poll!` then dropped, and the `next()` of a stream kept
/// across the cancellations.
async fn receive_with_cancels(ring: &Ring<u64>, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    let mut got = Vec::new();
    let mut stream = pin!(ring.stream());
    loop {
        let r: Option<Result<u64, Closed>> = match rng.below(5) {
            0 => timeout(tiny(&mut rng), ring.recv_async()).await.ok(),
            1 => tokio::select! {
                r = ring.recv_async() => Some(r),
                _ = tokio::task::yield_now() => None,
            },
            2 => timeout(tiny(&mut rng), stream.next())
                .await
                .ok()
                .map(|v| v.ok_or(Closed)),
            3 => ring.recv_async().now_or_never(),
            _ => {
                let mut f = pin!(ring.recv_async());
                match futures::poll!(f.as_mut()) {
                    Poll::Ready(r) => Some(r),
                    Poll::Pending => None,
                }
            }
        };
        match r {
            Some(Ok(v)) => got.push(v),
            Some(Err(Closed)) => return got,
            None => tokio::task::yield_now().await,
        }
    }
}

/// Two async producers waiting for room with cancelled `room()` futures
/// and a blocking thread pushing, three consumers whose waits are
/// cancelled at random, on a ring of 4 built with `strategy`: after the
/// close every item was received exactly once.
fn cancelled_ring_waits_lose_nothing(strategy: WaitStrategy, per: u64) {
    let rt = runtime();
    let ring = Arc::new(Ring::<u64>::with_wait_strategy(4, strategy));
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let ring = ring.clone();
            rt.spawn(async move {
                let mut rng = Rng::new(100 + p);
                for v in p * per..(p + 1) * per {
                    send_with_cancelled_room(&ring, &mut rng, v).await;
                }
            })
        })
        .collect();
    let pusher = {
        let ring = ring.clone();
        thread::spawn(move || (2 * per..3 * per).for_each(|v| ring.push(v)))
    };
    let consumers: Vec<_> = (0..3)
        .map(|c| {
            let ring = ring.clone();
            rt.spawn(async move { receive_with_cancels(&ring, 200 + c).await })
        })
        .collect();
    let got = guarded(&rt, "cancelled ring waits", async {
        for p in producers {
            p.await.unwrap();
        }
        while !pusher.is_finished() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        ring.close();
        let mut got = Vec::new();
        for c in consumers {
            got.extend(c.await.unwrap());
        }
        got
    });
    let mut seen = HashSet::new();
    for &v in &got {
        assert!(seen.insert(v), "{v} received twice ({strategy:?})");
    }
    assert_eq!(got.len() as u64, 3 * per, "items lost ({strategy:?})");
}

/// `cancelled_ring_waits_lose_nothing` on a parking ring: cancelled
/// futures were registered in its wait lists.
#[test]
fn cancelled_waits_on_a_park_ring_lose_nothing() {
    cancelled_ring_waits_lose_nothing(WaitStrategy::Park, 1_000);
}

/// `cancelled_ring_waits_lose_nothing` on a backoff ring, whose waiting
/// futures poll through the executor instead of registering.
#[test]
fn cancelled_waits_on_a_backoff_ring_lose_nothing() {
    cancelled_ring_waits_lose_nothing(WaitStrategy::Backoff, 400);
}

/// Settles a delivery: a nack with requeue on the first delivery of every
/// fifth message, else an ack.
macro_rules! settle {
    ($ledger:expr, $d:expr) => {{
        let d = $d;
        let v = *d;
        if v % 5 == 0 && d.delivery_count() == 1 {
            d.nack(true).unwrap();
        } else {
            d.ack().unwrap();
            $ledger.settled(v);
        }
    }};
}

fn settle(ledger: &SettleLedger, d: Delivery<'_, u64>) {
    settle!(ledger, d)
}

fn settle_owned(ledger: &SettleLedger, d: OwnedDelivery<u64>) {
    settle!(ledger, d)
}

/// What one cancellable wait of a consumer came to.
enum Step {
    /// A delivery (or a batch) was received and settled.
    Settled,
    /// The wait was cancelled.
    Cancelled,
    /// The queue is closed and nothing is left.
    Closed,
}

/// Receives from `q` until it is closed, with waits cancelled at random:
/// `receive_async` and `receive_batch_async` under tiny timeouts (a batch
/// that timed out appended nothing), `receive_owned_async` in a
/// `select!` against a yield, `receive_async` polled once, and the
/// `next()` of a `deliveries()` stream kept across the cancellations.
async fn ack_receive_with_cancels(q: Arc<AckQueue<u64>>, ledger: Arc<SettleLedger>, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    let mut stream = pin!(q.deliveries());
    loop {
        let step = match rng.below(5) {
            0 => match timeout(tiny(&mut rng), q.receive_async()).await {
                Ok(Ok(d)) => {
                    settle(&ledger, d);
                    Step::Settled
                }
                Ok(Err(Closed)) => Step::Closed,
                Err(_) => Step::Cancelled,
            },
            1 => match timeout(tiny(&mut rng), q.receive_batch_async(3, &mut out)).await {
                Ok(Ok(n)) => {
                    assert_eq!(n, out.len(), "the batch returns what it appended");
                    out.drain(..).for_each(|d| settle(&ledger, d));
                    Step::Settled
                }
                Ok(Err(Closed)) => Step::Closed,
                Err(_) => {
                    assert!(out.is_empty(), "a cancelled batch appended deliveries");
                    Step::Cancelled
                }
            },
            2 => match timeout(tiny(&mut rng), stream.next()).await {
                Ok(Some(d)) => {
                    settle_owned(&ledger, d);
                    Step::Settled
                }
                Ok(None) => Step::Closed,
                Err(_) => Step::Cancelled,
            },
            3 => match q.receive_async().now_or_never() {
                Some(Ok(d)) => {
                    settle(&ledger, d);
                    Step::Settled
                }
                Some(Err(Closed)) => Step::Closed,
                None => Step::Cancelled,
            },
            _ => tokio::select! {
                r = q.receive_owned_async() => match r {
                    Ok(d) => {
                        settle_owned(&ledger, d);
                        Step::Settled
                    }
                    Err(Closed) => Step::Closed,
                },
                _ = tokio::task::yield_now() => Step::Cancelled,
            },
        };
        match step {
            Step::Settled => {}
            Step::Cancelled => tokio::task::yield_now().await,
            Step::Closed => return,
        }
    }
}

/// Two tokio producers (`publish_async`, never cancelled: it is not
/// cancel safe for the message) and a blocking one feed a small queue;
/// three consumers receive with waits cancelled at random, and requeue
/// the first delivery of every fifth message. Every message is acked
/// exactly once; the close after the last ack ends every consumer.
#[test]
fn cancelled_ack_queue_receives_lose_nothing() {
    const PER: u64 = 1_000;
    const TOTAL: u64 = 3 * PER;
    let rt = runtime();
    let q = Arc::new(
        AckQueue::<u64>::builder()
            .capacity(8)
            .max_in_flight(4)
            .build()
            .unwrap(),
    );
    let ledger = SettleLedger::new(TOTAL);
    let mut tasks: Vec<_> = (0..2)
        .map(|p| {
            let q = q.clone();
            rt.spawn(async move {
                for v in p * PER..(p + 1) * PER {
                    q.publish_async(v).await.unwrap();
                }
            })
        })
        .collect();
    let publisher = {
        let q = q.clone();
        thread::spawn(move || {
            (2 * PER..TOTAL).for_each(|v| {
                q.publish(v).unwrap();
            })
        })
    };
    for c in 0..3 {
        tasks.push(rt.spawn(ack_receive_with_cancels(q.clone(), ledger.clone(), 300 + c)));
    }
    guarded(&rt, "cancelled receives", async {
        while ledger.total() < TOTAL {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        q.close();
        for t in tasks {
            t.await.unwrap();
        }
    });
    publisher.join().unwrap();
    drop(rt);
    ledger.assert_each_once();
    let stats = q.stats();
    assert_eq!((stats.published, stats.acked), (TOTAL, TOTAL));
    assert_eq!((stats.in_flight, stats.ready), (0, 0));
    assert_eq!(Arc::strong_count(&q), 1, "every handle given back");
}

/// Polls `f` once with `cx`.
fn poll_once<F: Future>(f: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
    f.poll(cx)
}

/// Panics once `progress` has not moved for `STALL`.
struct StallGuard {
    last: usize,
    since: Instant,
}

impl StallGuard {
    fn new() -> Self {
        Self {
            last: 0,
            since: Instant::now(),
        }
    }

    fn check(&mut self, progress: usize, what: &str) {
        if progress != self.last {
            (self.last, self.since) = (progress, Instant::now());
        } else {
            assert!(
                self.since.elapsed() < STALL,
                "{what}: stalled at {progress}"
            );
        }
    }
}

/// A thread pushes into a ring of 2 built with `strategy` while this one
/// receives with futures polled by hand and dropped after one poll (or,
/// when `Pending`, once woken and polled again), with `room()` futures
/// of the other side registered and dropped among them: every item is
/// received once, in order, and the wait lists still work after it all
/// (a registered receive is woken by the next push).
fn poll_once_then_drop_loses_nothing(strategy: WaitStrategy, n: u64) {
    let ring = Arc::new(Ring::<u64>::with_wait_strategy(2, strategy));
    let pusher = {
        let ring = ring.clone();
        thread::spawn(move || {
            let mut rng = Rng::new(7);
            for v in 0..n {
                if rng.below(8) == 0 {
                    thread::yield_now();
                }
                ring.push(v);
            }
        })
    };
    let (flag, waker) = Flag::new();
    let mut cx = Context::from_waker(&waker);
    let mut rng = Rng::new(8);
    let mut got = Vec::new();
    let mut guard = StallGuard::new();
    // A receive polled, and if `Pending` (registered) polled again once
    // woken, then dropped either way.
    let wait_once = |cx: &mut Context<'_>| {
        flag.take();
        let mut f = pin!(ring.recv_async());
        match poll_once(f.as_mut(), cx) {
            Poll::Pending => {
                // The ring was empty and the pusher is not done: a push
                // (or, on a backoff ring, the future itself) wakes it.
                flag.wait("a registered receive");
                poll_once(f, cx)
            }
            r => r,
        }
    };
    while (got.len() as u64) < n {
        let mut r = match rng.below(4) {
            0 => poll_once(pin!(ring.recv_async()), &mut cx),
            1 => wait_once(&mut cx),
            2 => ring
                .recv_async()
                .now_or_never()
                .map_or(Poll::Pending, Poll::Ready),
            _ => {
                let _ = poll_once(pin!(ring.room()), &mut cx);
                Poll::Pending
            }
        };
        if r.is_pending() && (got.len() as u64) < n {
            r = wait_once(&mut cx);
        }
        if let Poll::Ready(r) = r {
            got.push(r.unwrap());
        }
        guard.check(got.len(), "poll once then drop");
    }
    pusher.join().unwrap();
    assert!(
        got.iter().copied().eq(0..n),
        "items lost, duplicated or reordered"
    );
    flag.take();
    let mut last = pin!(ring.recv_async());
    assert!(poll_once(last.as_mut(), &mut cx).is_pending());
    thread::scope(|s| {
        s.spawn(|| ring.push(n));
    });
    flag.wait("the last receive");
    assert_eq!(poll_once(last, &mut cx), Poll::Ready(Ok(n)));
}

/// `poll_once_then_drop_loses_nothing` on a parking ring.
#[test]
fn poll_once_then_drop_on_a_park_ring_loses_nothing() {
    poll_once_then_drop_loses_nothing(WaitStrategy::Park, 2_000);
}

/// `poll_once_then_drop_loses_nothing` on a backoff ring.
#[test]
fn poll_once_then_drop_on_a_backoff_ring_loses_nothing() {
    poll_once_then_drop_loses_nothing(WaitStrategy::Backoff, 500);
}

/// A thread publishes into a small queue while this one receives with
/// futures polled by hand and dropped after one poll (`receive_async`,
/// `receive_batch_async`, whose `Pending` appended nothing,
/// `receive_owned_async`), or kept until woken; the first delivery of
/// every fifth message is requeued. Every message is acked exactly once,
/// and the wait list still works after it all.
#[test]
fn poll_once_then_drop_on_an_ack_queue_loses_nothing() {
    const N: u64 = 2_000;
    let q = Arc::new(
        AckQueue::<u64>::builder()
            .capacity(4)
            .max_in_flight(2)
            .build()
            .unwrap(),
    );
    let ledger = SettleLedger::new(N);
    let publisher = {
        let q = q.clone();
        thread::spawn(move || {
            (0..N).for_each(|v| {
                q.publish(v).unwrap();
            })
        })
    };
    let (flag, waker) = Flag::new();
    let mut cx = Context::from_waker(&waker);
    let mut rng = Rng::new(9);
    let mut out = Vec::new();
    let mut guard = StallGuard::new();
    // A receive polled, and if `Pending` (registered) polled again once
    // woken, then dropped either way; whether it settled a delivery.
    let wait_once = |cx: &mut Context<'_>| {
        flag.take();
        let mut f = pin!(q.receive_async());
        let mut r = poll_once(f.as_mut(), cx);
        if r.is_pending() {
            // Nothing to receive and messages still to come (every delivery
            // taken so far is settled): a publish wakes it.
            flag.wait("a registered receive");
            r = poll_once(f, cx);
        }
        match r {
            Poll::Ready(r) => {
                settle(&ledger, r.unwrap());
                true
            }
            Poll::Pending => false,
        }
    };
    while ledger.total() < N {
        let settled = match rng.below(4) {
            0 => match poll_once(pin!(q.receive_async()), &mut cx) {
                Poll::Ready(r) => {
                    settle(&ledger, r.unwrap());
                    true
                }
                Poll::Pending => false,
            },
            1 => {
                let polled = poll_once(pin!(q.receive_batch_async(2, &mut out)), &mut cx);
                match polled {
                    Poll::Ready(n) => assert_eq!(n.unwrap(), out.len()),
                    Poll::Pending => assert!(out.is_empty(), "a pending batch appended"),
                }
                let n = out.len();
                out.drain(..).for_each(|d| settle(&ledger, d));
                n > 0
            }
            2 => match q.receive_owned_async().now_or_never() {
                Some(r) => {
                    settle_owned(&ledger, r.unwrap());
                    true
                }
                None => false,
            },
            _ => wait_once(&mut cx),
        };
        if !settled && ledger.total() < N {
            wait_once(&mut cx);
        }
        guard.check(ledger.total() as usize, "poll once then drop");
    }
    publisher.join().unwrap();
    ledger.assert_each_once();
    flag.take();
    let mut last = pin!(q.receive_async());
    assert!(poll_once(last.as_mut(), &mut cx).is_pending());
    thread::scope(|s| {
        s.spawn(|| q.try_publish(N).unwrap());
    });
    flag.wait("the last receive");
    let Poll::Ready(Ok(d)) = poll_once(last, &mut cx) else {
        panic!("the last message was not delivered");
    };
    assert_eq!(*d, N);
    d.ack().unwrap();
    assert_eq!(q.stats().acked, N + 1);
}

/// Two futures registered by hand on the same wait, then the event that
/// lets one of them through, from another thread. Dropping the first
/// (woken, never polled again) leaves the second woken and able to
/// complete: `first` and `second` make the two futures, `event` the
/// event, `finish` checks the second's poll.
fn dropped_woken_waiter_strands_no_other<F: Future>(
    what: &str,
    first: impl FnOnce() -> F,
    second: impl FnOnce() -> F,
    event: impl FnOnce() + Send,
    finish: impl FnOnce(Poll<F::Output>),
) {
    let (flag_a, waker_a) = Flag::new();
    let (flag_b, waker_b) = Flag::new();
    let mut cx_a = Context::from_waker(&waker_a);
    let mut cx_b = Context::from_waker(&waker_b);
    let mut a = Box::pin(first());
    let mut b = Box::pin(second());
    assert!(a.as_mut().poll(&mut cx_a).is_pending());
    assert!(b.as_mut().poll(&mut cx_b).is_pending());
    assert!(!flag_a.take() && !flag_b.take());
    thread::scope(|s| {
        s.spawn(event);
    });
    drop(a);
    assert!(flag_b.take(), "{what}: the second waiter was not woken");
    finish(b.as_mut().poll(&mut cx_b));
}

/// `recv_async` (two waiting, one push), `room()` (two waiting on a full
/// ring, one pop), `receive_async` (two waiting, one publish) and
/// `publish_async` (two waiting on a full queue, one receive): in each,
/// the first waiter is dropped after the event, and the second is woken
/// and completes.
#[test]
fn a_dropped_woken_future_strands_no_other_waiter() {
    let ring = Ring::<u64>::with_wait_strategy(1, WaitStrategy::Park);
    dropped_woken_waiter_strands_no_other(
        "recv_async",
        || ring.recv_async(),
        || ring.recv_async(),
        || ring.push(1),
        |r| assert_eq!(r, Poll::Ready(Ok(1))),
    );
    ring.push(2);
    dropped_woken_waiter_strands_no_other(
        "room",
        || ring.room(),
        || ring.room(),
        || assert_eq!(ring.pop(), 2),
        |r| assert_eq!(r, Poll::Ready(Ok(()))),
    );
    let q = AckQueue::<u64>::builder().capacity(1).build().unwrap();
    dropped_woken_waiter_strands_no_other(
        "receive_async",
        || q.receive_async(),
        || q.receive_async(),
        || {
            q.try_publish(3).unwrap();
        },
        |r| match r {
            Poll::Ready(Ok(d)) => {
                assert_eq!(*d, 3);
                d.ack().unwrap();
            }
            _ => panic!("the second receive did not get the message"),
        },
    );
    q.try_publish(4).unwrap();
    dropped_woken_waiter_strands_no_other(
        "publish_async",
        || q.publish_async(5),
        || q.publish_async(6),
        || q.try_receive().unwrap().ack().unwrap(),
        |r| {
            assert!(
                matches!(r, Poll::Ready(Ok(_))),
                "the second publish did not get room"
            )
        },
    );
    let d = q.try_receive().unwrap();
    assert_eq!(*d, 6, "the dropped publish published nothing");
    d.ack().unwrap();
}

/// A future that raises `waiting` once a poll of it returned `Pending`.
struct NotePending<F> {
    waiting: Arc<AtomicBool>,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for NotePending<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let polled = self.inner.as_mut().poll(cx);
        if polled.is_pending() {
            self.waiting.store(true, SeqCst);
        }
        polled
    }
}

/// Spawns `f` and returns its handle and a flag raised once it waits.
fn spawn_noted<F>(f: F) -> (tokio::task::JoinHandle<F::Output>, Arc<AtomicBool>)
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    let waiting = Arc::new(AtomicBool::new(false));
    let task = tokio::spawn(NotePending {
        waiting: waiting.clone(),
        inner: Box::pin(f),
    });
    (task, waiting)
}

/// On tokio: two tasks wait on an empty parking ring (both registered,
/// in either order), one of them inside a `select!` with a cancel; an
/// item is pushed and the cancel sent at once, so that task is woken
/// and, as the `select!` chooses, takes the item or is cancelled with
/// its woken future dropped. Either way the item reaches exactly one
/// task: the cancelled one took it, or the other one gets it. Repeated
/// over many rounds.
#[test]
fn a_task_cancelled_as_it_is_woken_strands_no_other_task() {
    let rt = runtime();
    guarded(&rt, "cancel while woken", async {
        for round in 0..300_u64 {
            let ring = Arc::new(Ring::<u64>::with_wait_strategy(1, WaitStrategy::Park));
            let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
            let (a, a_waits) = {
                let ring = ring.clone();
                spawn_noted(async move {
                    tokio::select! {
                        r = ring.recv_async() => Some(r.unwrap()),
                        _ = cancelled => None,
                    }
                })
            };
            let (b, b_waits) = {
                let ring = ring.clone();
                spawn_noted(async move { ring.recv_async().await.ok() })
            };
            while !(a_waits.load(SeqCst) && b_waits.load(SeqCst)) {
                tokio::task::yield_now().await;
            }
            ring.push(round);
            // Refused if `a` already took the item and ended.
            let _ = cancel.send(());
            match a.await.unwrap() {
                Some(v) => {
                    assert_eq!(v, round);
                    ring.close();
                    assert_eq!(b.await.unwrap(), None, "the item went to both tasks");
                }
                None => assert_eq!(b.await.unwrap(), Some(round), "round {round}"),
            }
        }
    });
}
