//! `AckQueue`'s futures on a multi-threaded tokio runtime and on plain
//! `futures::executor::block_on` threads, mixed with blocking threads on
//! one queue: every message acked exactly once whatever the mix of acks,
//! nacks and drops, the prefetch limit never exceeded, `close` waking
//! every waiting future, confirmations resolving after an ack made
//! elsewhere, owned deliveries settled (or panicked on) in spawned tasks,
//! and lease expiry reaching a waiting receive with and without a timer.
//!
//! The waits that must end are bounded by `STALL`, a hang guard a working
//! run never comes near: a lost wake-up fails the test instead of hanging
//! it. No assertion is about speed.

use std::future::Future;
use std::ops::Deref;
use std::panic;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use ackring::{AckError, AckQueue, Closed, Delivery, ManualClock, OwnedDelivery, PushError};
use futures::{Stream, StreamExt};

mod common;
use common::asynch::{runtime, Flag};
use common::lease::leased;
use common::rng::Rng;
use common::settles::SettleLedger;
use common::wait::STALL;

/// Messages published by each producer of the mixed runs.
const PER_PRODUCER: u64 = 1_000;
/// Two async producers and a blocking one.
const PRODUCERS: u64 = 3;
const TOTAL: u64 = PRODUCERS * PER_PRODUCER;
const CAPACITY: usize = 8;
const MAX_IN_FLIGHT: usize = 4;

fn queue() -> Arc<AckQueue<u64>> {
    Arc::new(
        AckQueue::builder()
            .capacity(CAPACITY)
            .max_in_flight(MAX_IN_FLIGHT)
            .build()
            .unwrap(),
    )
}

/// A run's audit: every message's ack, the deliveries the consumers hold,
/// and whether a thread of the run panicked.
struct Audit {
    acks: Arc<SettleLedger>,
    /// Deliveries received and not yet handed to a settle. Counted after
    /// the receive and before the settle, so never more than the queue
    /// really has unsettled.
    held: AtomicUsize,
    most_held: AtomicUsize,
    /// Set by a thread of `Audit::spawn` that panicked.
    failed: AtomicBool,
}

impl Audit {
    fn new(n: u64) -> Arc<Self> {
        Arc::new(Self {
            acks: SettleLedger::new(n),
            held: AtomicUsize::new(0),
            most_held: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
        })
    }

    /// Spawns a thread running `f` that, should it panic, sets `failed`,
    /// so that `wait_for_acks` fails at once instead of at the stall.
    fn spawn(self: &Arc<Self>, f: impl FnOnce() + Send + 'static) -> thread::JoinHandle<()> {
        /// Sets `failed` if dropped by a panic.
        struct Watch(Arc<Audit>);
        impl Drop for Watch {
            fn drop(&mut self) {
                if thread::panicking() {
                    self.0.failed.store(true, SeqCst);
                }
            }
        }
        let watch = Watch(self.clone());
        thread::spawn(move || {
            let _watch = watch;
            f();
        })
    }

    /// `n` deliveries were just received.
    fn received(&self, n: usize) {
        let now = self.held.fetch_add(n, SeqCst) + n;
        self.most_held.fetch_max(now, SeqCst);
    }

    /// A delivery is about to be settled (acked, nacked or dropped).
    fn settling(&self) {
        self.held.fetch_sub(1, SeqCst);
    }

    /// Value `v` was acked.
    fn acked(&self, v: u64) {
        self.acks.settled(v);
    }

    /// Acks counted so far.
    fn total(&self) -> u64 {
        self.acks.total()
    }

    /// Every value acked exactly once, and the sum of the values acked.
    fn assert_each_once(&self) {
        self.acks.assert_each_once();
    }

    /// The prefetch limit held: never more deliveries held at once.
    fn assert_within(&self, max_in_flight: usize) {
        let most = self.most_held.load(SeqCst);
        assert!(
            most <= max_in_flight,
            "{most} deliveries held at once, max_in_flight is {max_in_flight}"
        );
    }
}

/// The two delivery guards, for the settle policy written once.
trait Guard: Deref<Target = u64> + Sized {
    fn count(&self) -> u32;
    fn settle_ack(self);
    fn settle_requeue(self);
}

impl Guard for Delivery<'_, u64> {
    fn count(&self) -> u32 {
        self.delivery_count()
    }
    fn settle_ack(self) {
        self.ack().unwrap();
    }
    fn settle_requeue(self) {
        self.nack(true).unwrap();
    }
}

impl Guard for OwnedDelivery<u64> {
    fn count(&self) -> u32 {
        self.delivery_count()
    }
    fn settle_ack(self) {
        self.ack().unwrap();
    }
    fn settle_requeue(self) {
        self.nack(true).unwrap();
    }
}

/// Settles `d`: from its third delivery on always an ack; before that an
/// ack 6 times in 8, else a requeue by a nack or by a drop.
fn settle(audit: &Audit, rng: &mut Rng, d: impl Guard) {
    let v = *d;
    let count = d.count();
    audit.settling();
    match rng.below(8) {
        _ if count >= 3 => {
            d.settle_ack();
            audit.acked(v);
        }
        0 => d.settle_requeue(),
        1 => drop(d),
        _ => {
            d.settle_ack();
            audit.acked(v);
        }
    }
}

async fn publish_async_range(q: Arc<AckQueue<u64>>, producer: u64) {
    for v in producer * PER_PRODUCER..(producer + 1) * PER_PRODUCER {
        q.publish_async(v).await.unwrap();
    }
}

fn publish_range(q: &AckQueue<u64>, producer: u64) {
    for v in producer * PER_PRODUCER..(producer + 1) * PER_PRODUCER {
        q.publish(v).unwrap();
    }
}

async fn receive_async_each(q: Arc<AckQueue<u64>>, audit: Arc<Audit>, seed: u64) {
    let mut rng = Rng::new(seed);
    while let Ok(d) = q.receive_async().await {
        audit.received(1);
        settle(&audit, &mut rng, d);
    }
}

async fn receive_batch_async_each(q: Arc<AckQueue<u64>>, audit: Arc<Audit>, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    while let Ok(n) = q.receive_batch_async(3, &mut out).await {
        assert_eq!(n, out.len(), "the batch returns what it appended");
        assert!((1..=3).contains(&n));
        audit.received(n);
        for d in out.drain(..) {
            settle(&audit, &mut rng, d);
        }
    }
}

/// Receives owned deliveries and gives each, with a seed of its own, to
/// `hand_off`.
async fn receive_owned_async_each(
    q: Arc<AckQueue<u64>>,
    audit: Arc<Audit>,
    seed: u64,
    mut hand_off: impl FnMut(OwnedDelivery<u64>, u64),
) {
    let mut n = 0;
    while let Ok(d) = q.receive_owned_async().await {
        audit.received(1);
        n += 1;
        hand_off(d, seed.wrapping_mul(31).wrapping_add(n));
    }
}

async fn stream_each(q: Arc<AckQueue<u64>>, audit: Arc<Audit>, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut deliveries = pin!(q.deliveries());
    while let Some(d) = deliveries.next().await {
        audit.received(1);
        settle(&audit, &mut rng, d);
    }
}

fn receive_each(q: &AckQueue<u64>, audit: &Audit, seed: u64) {
    let mut rng = Rng::new(seed);
    while let Ok(d) = q.receive() {
        audit.received(1);
        settle(audit, &mut rng, d);
    }
}

fn receive_batch_each(q: &AckQueue<u64>, audit: &Audit, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    while let Ok(n) = q.receive_batch(3, &mut out) {
        audit.received(n);
        for d in out.drain(..) {
            settle(audit, &mut rng, d);
        }
    }
}

/// Waits until `audit` counts `total` acks; panics once the count stood
/// still for `STALL`.
fn wait_for_acks(audit: &Audit, total: u64, q: &AckQueue<u64>) {
    let mut last = audit.total();
    let mut since = Instant::now();
    while last < total {
        assert!(!audit.failed.load(SeqCst), "a thread panicked");
        thread::sleep(Duration::from_millis(1));
        let now = audit.total();
        if now != last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() > STALL {
            panic!("stalled at {now} of {total} acks: {:?}", q.stats());
        }
    }
}

/// Joins `threads`, panicking if one has not ended within `STALL`.
fn join_within<R>(threads: Vec<thread::JoinHandle<R>>, what: &str) -> Vec<R> {
    let deadline = Instant::now() + STALL;
    threads
        .into_iter()
        .map(|t| {
            while !t.is_finished() {
                assert!(Instant::now() < deadline, "{what} did not end");
                thread::sleep(Duration::from_millis(1));
            }
            t.join().unwrap()
        })
        .collect()
}

fn assert_all_acked(q: &Arc<AckQueue<u64>>, audit: &Audit) {
    audit.assert_each_once();
    audit.assert_within(MAX_IN_FLIGHT);
    let stats = q.stats();
    assert_eq!((stats.published, stats.acked), (TOTAL, TOTAL));
    assert_eq!((stats.in_flight, stats.ready), (0, 0));
    assert_eq!(q.settled_below().get(), TOTAL);
    assert_eq!(Arc::strong_count(q), 1, "every handle given back");
}

/// Tokio tasks (`publish_async`, `receive_async`, `receive_batch_async`,
/// `receive_owned_async` with each delivery settled in a task of its
/// own, the `deliveries()` stream) and blocking threads (`publish`,
/// `receive`, `receive_batch`) share one small queue; a delivery in 4 is
/// requeued (nack or drop) before its third delivery. Every message is
/// acked exactly once, the consumers never hold more than
/// `max_in_flight` deliveries, and the `close` after the last ack ends
/// every consumer, task or thread.
#[test]
fn tokio_tasks_and_threads_share_a_queue_every_message_acked_once() {
    let rt = runtime();
    let q = queue();
    let audit = Audit::new(TOTAL);
    let mut tasks = Vec::new();
    for p in 0..2 {
        tasks.push(rt.spawn(publish_async_range(q.clone(), p)));
    }
    tasks.push(rt.spawn(receive_async_each(q.clone(), audit.clone(), 1)));
    tasks.push(rt.spawn(receive_async_each(q.clone(), audit.clone(), 2)));
    tasks.push(rt.spawn(receive_batch_async_each(q.clone(), audit.clone(), 3)));
    tasks.push(rt.spawn(stream_each(q.clone(), audit.clone(), 4)));
    let settles = {
        let (q, audit) = (q.clone(), audit.clone());
        rt.spawn(async move {
            let mut spawned = Vec::new();
            let hand_off = |d, seed| {
                let audit = audit.clone();
                spawned.push(tokio::spawn(async move {
                    let mut rng = Rng::new(seed);
                    if rng.below(2) == 0 {
                        tokio::task::yield_now().await;
                    }
                    settle(&audit, &mut rng, d);
                }));
            };
            receive_owned_async_each(q, audit.clone(), 5, hand_off).await;
            spawned
        })
    };
    let threads = {
        let (a, b, c) = (q.clone(), q.clone(), q.clone());
        let (la, lb) = (audit.clone(), audit.clone());
        vec![
            audit.spawn(move || publish_range(&a, 2)),
            audit.spawn(move || receive_each(&b, &la, 6)),
            audit.spawn(move || receive_batch_each(&c, &lb, 7)),
        ]
    };
    wait_for_acks(&audit, TOTAL, &q);
    q.close();
    rt.block_on(async {
        tokio::time::timeout(STALL, async {
            for t in tasks {
                t.await.unwrap();
            }
            for t in settles.await.unwrap() {
                t.await.unwrap();
            }
        })
        .await
        .expect("a task did not end after the close");
    });
    join_within(threads, "a thread");
    drop(rt);
    assert_all_acked(&q, &audit);
}

/// The same mix on plain `futures::executor::block_on` threads, one
/// future per thread (`publish_async`, `receive_async`,
/// `receive_batch_async`, `receive_owned_async`, the `deliveries()`
/// stream), with blocking threads (`publish`, `receive`,
/// `receive_batch`): every message acked exactly once, the prefetch
/// limit kept, every consumer ended by the `close`.
#[test]
fn block_on_threads_and_blocking_threads_share_a_queue_every_message_acked_once() {
    use futures::executor::block_on;
    let q = queue();
    let audit = Audit::new(TOTAL);
    let mut threads = Vec::new();
    for p in 0..2 {
        let q = q.clone();
        threads.push(audit.spawn(move || block_on(publish_async_range(q, p))));
    }
    {
        let q = q.clone();
        threads.push(audit.spawn(move || publish_range(&q, 2)));
    }
    type Consumer = fn(Arc<AckQueue<u64>>, Arc<Audit>, u64);
    let consumers: [Consumer; 6] = [
        |q, l, seed| block_on(receive_async_each(q, l, seed)),
        |q, l, seed| block_on(receive_batch_async_each(q, l, seed)),
        |q, l, seed| {
            let settler = l.clone();
            block_on(receive_owned_async_each(q, l, seed, |d, seed| {
                settle(&settler, &mut Rng::new(seed), d);
            }))
        },
        |q, l, seed| block_on(stream_each(q, l, seed)),
        |q, l, seed| receive_each(&q, &l, seed),
        |q, l, seed| receive_batch_each(&q, &l, seed),
    ];
    for (seed, consume) in (10..).zip(consumers) {
        let (q, audit) = (q.clone(), audit.clone());
        let watched = audit.clone();
        threads.push(watched.spawn(move || consume(q, audit, seed)));
    }
    wait_for_acks(&audit, TOTAL, &q);
    q.close();
    join_within(threads, "a thread");
    assert_all_acked(&q, &audit);
}

/// Polled by hand, each waiting future is registered (`Pending`): a
/// receive, a batch receive, an owned receive and a `deliveries()`
/// stream on an empty queue, two publishes on a full one. `close` wakes
/// every one of them, and each then resolves to `Closed` (a publish
/// giving its message back).
#[test]
fn close_wakes_every_waiting_future_which_then_resolves_closed() {
    let q = queue();
    let full = AckQueue::<u64>::builder().capacity(1).build().unwrap();
    full.try_publish(1).unwrap();
    let wakers: Vec<(Arc<Flag>, Waker)> = (0..6).map(|_| Flag::new()).collect();
    let cx = |i: usize| Context::from_waker(&wakers[i].1);
    let mut out = Vec::new();
    {
        let mut receive = pin!(q.receive_async());
        let mut batch = pin!(q.receive_batch_async(4, &mut out));
        let mut owned = pin!(q.receive_owned_async());
        let mut stream = pin!(q.deliveries());
        let mut publish_a = pin!(full.publish_async(2));
        let mut publish_b = pin!(full.publish_async(3));
        assert!(receive.as_mut().poll(&mut cx(0)).is_pending());
        assert!(batch.as_mut().poll(&mut cx(1)).is_pending());
        assert!(owned.as_mut().poll(&mut cx(2)).is_pending());
        assert!(stream.as_mut().poll_next(&mut cx(3)).is_pending());
        assert!(publish_a.as_mut().poll(&mut cx(4)).is_pending());
        assert!(publish_b.as_mut().poll(&mut cx(5)).is_pending());
        for (i, (flag, _)) in wakers.iter().enumerate() {
            assert!(!flag.take(), "waiter {i} woken before anything happened");
        }
        q.close();
        full.close();
        for (i, (flag, _)) in wakers.iter().enumerate() {
            assert!(flag.take(), "waiter {i} not woken by the close");
        }
        assert!(matches!(receive.poll(&mut cx(0)), Poll::Ready(Err(Closed))));
        assert!(matches!(batch.poll(&mut cx(1)), Poll::Ready(Err(Closed))));
        assert!(matches!(owned.poll(&mut cx(2)), Poll::Ready(Err(Closed))));
        assert!(matches!(stream.poll_next(&mut cx(3)), Poll::Ready(None)));
        assert!(matches!(
            publish_a.poll(&mut cx(4)),
            Poll::Ready(Err(PushError::Closed(2)))
        ));
        assert!(matches!(
            publish_b.poll(&mut cx(5)),
            Poll::Ready(Err(PushError::Closed(3)))
        ));
    }
    assert!(out.is_empty(), "a closed batch appends nothing");
    assert_eq!(full.stats().published, 1);
}

/// On the tokio runtime: many futures of each kind waiting (receives,
/// batches, owned receives and streams on an empty queue; publishes on a
/// full one), and blocking threads waiting beside them; one `close` from
/// another thread ends them all, each with `Closed`.
#[test]
fn close_from_a_thread_ends_every_waiting_task_and_thread() {
    let rt = runtime();
    let empty = queue();
    let full = Arc::new(AckQueue::<u64>::builder().capacity(1).build().unwrap());
    full.try_publish(0).unwrap();
    let mut receivers = Vec::new();
    for i in 0..4 {
        let q = empty.clone();
        receivers.push(rt.spawn(async move {
            match i {
                0 => q.receive_async().await.map(drop),
                1 => q.receive_batch_async(2, &mut Vec::new()).await.map(drop),
                2 => q.receive_owned_async().await.map(drop),
                _ => match pin!(q.deliveries()).next().await {
                    None => Err(Closed),
                    Some(_) => Ok(()),
                },
            }
        }));
        let q = empty.clone();
        receivers.push(rt.spawn(async move { q.receive_async().await.map(drop) }));
    }
    let publishers: Vec<_> = (1..=4)
        .map(|v| {
            let q = full.clone();
            rt.spawn(async move { q.publish_async(v).await })
        })
        .collect();
    let blocked = {
        let (a, b) = (empty.clone(), full.clone());
        vec![
            thread::spawn(move || a.receive().map(drop).is_err()),
            thread::spawn(move || matches!(b.publish(9), Err(PushError::Closed(9)))),
        ]
    };
    // Not needed for the outcome: most waiters are registered by then.
    thread::sleep(Duration::from_millis(20));
    let (a, b) = (empty.clone(), full.clone());
    thread::spawn(move || {
        a.close();
        b.close();
    })
    .join()
    .unwrap();
    rt.block_on(async {
        tokio::time::timeout(STALL, async {
            for r in receivers {
                assert_eq!(r.await.unwrap(), Err(Closed));
            }
            for (v, p) in (1..).zip(publishers) {
                assert_eq!(p.await.unwrap(), Err(PushError::Closed(v)));
            }
        })
        .await
        .expect("a waiting task was not ended by the close");
    });
    assert!(join_within(blocked, "a blocked thread")
        .into_iter()
        .all(|closed| closed));
}

/// A receive waiting on the prefetch limit after a `close` keeps waiting
/// (a message is left to receive), is woken by the close and registers
/// again, and gets the message once the delivery holding the one place
/// is acked; the next receive gets `Closed`.
#[test]
fn receive_waiting_on_the_prefetch_limit_across_a_close_gets_the_message_left() {
    let q = AckQueue::<u64>::builder().max_in_flight(1).build().unwrap();
    q.try_publish(1).unwrap();
    q.try_publish(2).unwrap();
    let held = q.try_receive().unwrap();
    let (flag, waker) = Flag::new();
    let mut cx = Context::from_waker(&waker);
    let mut receive = pin!(q.receive_async());
    assert!(receive.as_mut().poll(&mut cx).is_pending());
    q.close();
    assert!(flag.take(), "the close wakes the receive");
    assert!(
        receive.as_mut().poll(&mut cx).is_pending(),
        "a message is left"
    );
    thread::scope(|s| {
        s.spawn(|| held.ack().unwrap());
    });
    assert!(flag.take(), "the ack wakes the receive again");
    let Poll::Ready(Ok(d)) = receive.as_mut().poll(&mut cx) else {
        panic!("the message left was not delivered");
    };
    assert_eq!((*d, d.delivery_count()), (2, 1));
    d.ack().unwrap();
    let mut next = pin!(q.receive_async());
    assert!(matches!(
        next.as_mut().poll(&mut cx),
        Poll::Ready(Err(Closed))
    ));
}

/// `wait_settled_async` and `wait_settled_through_async`, awaited on
/// tasks, resolve once another task acks: the confirmation of the second
/// message after its ack alone, the watermark through it only after the
/// first is acked too.
#[test]
fn settle_waits_resolve_after_the_ack_on_another_task() {
    let rt = runtime();
    let q = Arc::new(AckQueue::<u64>::builder().build().unwrap());
    let a = rt.block_on(async {
        let a = q.publish_async(0).await.unwrap();
        let b = q.publish_async(1).await.unwrap();
        let wait = |seq, through: bool| {
            let q = q.clone();
            tokio::spawn(async move {
                if through {
                    q.wait_settled_through_async(seq).await;
                } else {
                    q.wait_settled_async(seq).await;
                }
            })
        };
        let (settled_a, settled_b, through_b) = (wait(a, false), wait(b, false), wait(b, true));
        let first = q.receive_owned_async().await.unwrap();
        let second = q.receive_owned_async().await.unwrap();
        assert_eq!((first.seq(), second.seq()), (a, b));
        // Not needed for the outcome: the waiters are registered by then.
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!settled_a.is_finished() && !settled_b.is_finished() && !through_b.is_finished());
        tokio::spawn(async move { second.ack().unwrap() })
            .await
            .unwrap();
        tokio::time::timeout(STALL, settled_b)
            .await
            .expect("the ack of b did not resolve its confirmation")
            .unwrap();
        assert!(!settled_a.is_finished(), "a is not acked");
        assert!(!through_b.is_finished(), "a, before b, is not acked");
        tokio::spawn(async move { first.ack().unwrap() })
            .await
            .unwrap();
        tokio::time::timeout(STALL, async {
            settled_a.await.unwrap();
            through_b.await.unwrap();
        })
        .await
        .expect("the ack of a did not resolve the waits");
        a
    });
    assert!(q.is_settled(a));
    assert_eq!(q.settled_below().get(), 2);
}

/// The payload of the settling tasks' deliberate panics (the panic hook
/// keeps them quiet).
struct Crash(u64);

/// Owned deliveries moved into `tokio::spawn`ed tasks: on its first
/// delivery a message is acked, dropped, nacked or panicked on there,
/// by value modulo 4; the panic unwinds through the task and drops the
/// delivery, which requeues it. Each requeued message comes back with
/// delivery count 2 and is acked; every message is acked exactly once,
/// exactly the chosen ones panicked, and every handle is given back.
#[test]
fn owned_deliveries_settled_or_panicked_in_spawned_tasks_all_accounted() {
    const N: u64 = 1_000;
    let quiet = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !info.payload().is::<Crash>() {
            quiet(info);
        }
    }));
    let rt = runtime();
    let q = Arc::new(
        AckQueue::<u64>::builder()
            .capacity(16)
            .max_in_flight(8)
            .build()
            .unwrap(),
    );
    let audit = Audit::new(N);
    let counts: Arc<Vec<AtomicU32>> = Arc::new((0..N).map(|_| AtomicU32::new(0)).collect());
    let producer = {
        let q = q.clone();
        rt.spawn(async move {
            for v in 0..N {
                q.publish_async(v).await.unwrap();
            }
        })
    };
    let dispatcher = {
        let (q, audit, counts) = (q.clone(), audit.clone(), counts.clone());
        rt.spawn(async move {
            let mut spawned = Vec::new();
            while let Ok(d) = q.receive_owned_async().await {
                audit.received(1);
                let (audit, counts) = (audit.clone(), counts.clone());
                spawned.push(tokio::spawn(async move {
                    let (v, count) = (*d, d.delivery_count());
                    tokio::task::yield_now().await;
                    audit.settling();
                    if count == 1 {
                        match v % 4 {
                            1 => return drop(d),
                            2 => return d.nack(true).unwrap(),
                            3 => panic::panic_any(Crash(v)),
                            _ => {}
                        }
                    }
                    d.ack().unwrap();
                    counts[v as usize].store(count, SeqCst);
                    audit.acked(v);
                }));
            }
            spawned
        })
    };
    wait_for_acks(&audit, N, &q);
    q.close();
    let mut crashed = rt.block_on(async {
        tokio::time::timeout(STALL, async {
            producer.await.unwrap();
            let mut crashed = Vec::new();
            for t in dispatcher.await.unwrap() {
                if let Err(e) = t.await {
                    let payload = e.into_panic();
                    let Crash(v) = *payload.downcast::<Crash>().expect("only deliberate panics");
                    crashed.push(v);
                }
            }
            crashed
        })
        .await
        .expect("a task did not end after the close")
    });
    drop(rt);
    crashed.sort_unstable();
    let expected: Vec<u64> = (0..N).filter(|v| v % 4 == 3).collect();
    assert_eq!(
        crashed, expected,
        "each message chosen to crash crashed once"
    );
    audit.assert_each_once();
    audit.assert_within(8);
    for v in 0..N {
        let want = if v % 4 == 0 { 1 } else { 2 };
        assert_eq!(
            counts[v as usize].load(SeqCst),
            want,
            "delivery count of {v}"
        );
    }
    let stats = q.stats();
    assert_eq!((stats.acked, stats.redelivered), (N, N / 4 * 3));
    assert_eq!((stats.in_flight, stats.ready), (0, 0));
    assert_eq!(Arc::strong_count(&q), 1, "every handle given back");
}

const LEASE: Duration = Duration::from_secs(10);

/// A future that counts its finished polls: a count of 1 means its first
/// poll has returned, so the inner future has looked at the queue and
/// waits in it.
struct CountPolls<F> {
    polls: Arc<AtomicUsize>,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let poll = self.inner.as_mut().poll(cx);
        self.polls.fetch_add(1, SeqCst);
        poll
    }
}

/// Spawns a task that receives one delivery from `q` (with a tokio timer
/// if `timer`), acks it and returns its sequence number, value and
/// delivery count; and returns the task and its count of polls. The task
/// is polled only when its own waker is woken: nothing else looks at the
/// queue for it.
fn spawn_receive(
    rt: &tokio::runtime::Runtime,
    q: &Arc<AckQueue<u64>>,
    timer: bool,
) -> (tokio::task::JoinHandle<(u64, u64, u32)>, Arc<AtomicUsize>) {
    let polls = Arc::new(AtomicUsize::new(0));
    let q = q.clone();
    let inner = Box::pin(async move {
        let d = if timer {
            q.receive_async().with_timer(tokio::time::sleep).await
        } else {
            q.receive_async().await
        }
        .unwrap();
        let got = (d.seq().get(), *d, d.delivery_count());
        d.ack().unwrap();
        got
    });
    let task = rt.spawn(CountPolls {
        polls: polls.clone(),
        inner,
    });
    (task, polls)
}

/// Waits until `polls` counts a finished poll: the task waits in the
/// queue.
fn wait_for_poll(polls: &AtomicUsize) {
    let deadline = Instant::now() + STALL;
    while polls.load(SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the task was never polled");
        thread::sleep(Duration::from_millis(1));
    }
}

/// On an otherwise idle queue (one message delivered and held, never
/// settled, nothing else happening), a receive task waiting with a tokio
/// timer gets nothing while the lease runs, and once the lease expired
/// on the queue's clock its timer finds the redelivery: the same
/// message, delivery count 2; the held delivery is then stale.
#[test]
fn lease_expiry_reaches_an_idle_receive_waiting_with_a_timer() {
    let clock = ManualClock::new();
    let q = Arc::new(leased::<u64>(&clock, LEASE).build().unwrap());
    let rt = runtime();
    let seq = q.try_publish(42).unwrap();
    let held = q.try_receive().unwrap();
    assert_eq!(held.delivery_count(), 1);
    let (task, polls) = spawn_receive(&rt, &q, true);
    wait_for_poll(&polls);
    thread::sleep(Duration::from_millis(50));
    assert!(!task.is_finished(), "delivered before the lease expired");
    clock.advance(LEASE + Duration::from_secs(1));
    let got = rt.block_on(async {
        tokio::time::timeout(STALL, task)
            .await
            .expect("the expired lease never reached the waiting receive")
            .unwrap()
    });
    assert_eq!(got, (seq.get(), 42, 2));
    assert_eq!(held.ack(), Err(AckError::Stale));
    assert_eq!(q.settled_below().get(), 1);
}

/// As above on the real clock (a short lease), with the stream: the
/// redelivery of the held message arrives by the stream's timer.
#[test]
fn lease_expiry_on_the_real_clock_reaches_an_idle_stream_with_a_timer() {
    let q = Arc::new(
        AckQueue::<u64>::builder()
            .lease(Duration::from_millis(50))
            .build()
            .unwrap(),
    );
    let rt = runtime();
    let seq = q.try_publish(7).unwrap();
    let held = q.try_receive().unwrap();
    let task = {
        let q = q.clone();
        rt.spawn(async move {
            let mut stream = pin!(q.deliveries().with_timer(tokio::time::sleep));
            let d = stream.next().await.expect("the stream ended");
            let got = (d.seq(), *d, d.delivery_count());
            d.ack().unwrap();
            got
        })
    };
    let got = rt.block_on(async {
        tokio::time::timeout(STALL, task)
            .await
            .expect("the expired lease never reached the waiting stream")
            .unwrap()
    });
    assert_eq!(got, (seq, 7, 2));
    assert_eq!(held.ack(), Err(AckError::Stale));
}

/// Without a timer (`NoTimer`, the default) the expiry of an idle queue
/// reaches a waiting receive only with a notification: after the lease
/// expired, the receive task stays undelivered for 200 ms while nothing
/// happens; a publish wakes it, and it and the receive after it get the
/// new message and the redelivery of the expired one (delivery count 2),
/// in either order.
#[test]
fn without_a_timer_an_idle_expiry_waits_for_a_notification() {
    let clock = ManualClock::new();
    let q = Arc::new(leased::<u64>(&clock, LEASE).build().unwrap());
    let rt = runtime();
    let seq = q.try_publish(42).unwrap();
    let held = q.try_receive().unwrap();
    let (task, polls) = spawn_receive(&rt, &q, false);
    wait_for_poll(&polls);
    clock.advance(LEASE + Duration::from_secs(1));
    thread::sleep(Duration::from_millis(200));
    assert!(
        !task.is_finished(),
        "delivered without a timer nor a notification"
    );
    let fresh = q.try_publish(43).unwrap();
    let first = rt.block_on(async {
        tokio::time::timeout(STALL, task)
            .await
            .expect("the publish did not wake the waiting receive")
            .unwrap()
    });
    let d = q
        .try_receive()
        .expect("the other message was not delivered");
    let second = (d.seq().get(), *d, d.delivery_count());
    d.ack().unwrap();
    let mut got = [first, second];
    got.sort_unstable();
    assert_eq!(got, [(seq.get(), 42, 2), (fresh.get(), 43, 1)]);
    assert_eq!(held.ack(), Err(AckError::Stale));
    assert_eq!(q.settled_below().get(), 2);
}

/// Many `publish_async`s at once on a queue of 1, each on a
/// `block_on` thread of its own, with receivers taking as fast as they
/// can: a publisher that finds no room reads the cursors while other
/// publishes and receives move them (its sleep check must cope with
/// `head` moving past the `tail` it read). Every message is acked once.
#[test]
fn many_publish_async_threads_on_a_queue_of_one_every_message_acked_once() {
    const PUBLISHERS: u64 = 4;
    const PER: u64 = 500;
    const N: u64 = PUBLISHERS * PER;
    for round in 0..30 {
        let q = Arc::new(
            AckQueue::<u64>::builder()
                .capacity(1 + round % 2)
                .max_in_flight(4)
                .build()
                .unwrap(),
        );
        let audit = Audit::new(N);
        let mut threads: Vec<_> = (0..PUBLISHERS)
            .map(|p| {
                let q = q.clone();
                audit.spawn(move || {
                    for v in p * PER..(p + 1) * PER {
                        futures::executor::block_on(q.publish_async(v)).unwrap();
                    }
                })
            })
            .collect();
        for seed in 0..3 {
            let (q, watched) = (q.clone(), audit.clone());
            threads.push(audit.spawn(move || receive_each(&q, &watched, seed)));
        }
        wait_for_acks(&audit, N, &q);
        q.close();
        join_within(threads, "a thread");
        audit.assert_each_once();
        assert_eq!(q.stats().acked, N, "round {round}");
    }
}
