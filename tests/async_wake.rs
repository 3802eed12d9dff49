//! Who a notification wakes: one waiting receiver per push, one waiting
//! sender per pop, as many as a batch made items for, every waiter on a
//! close; confirmation waiters woken by the ack that settles their
//! message, never starved by receivers; a waiting future on a `Spin` or
//! `Backoff` ring polled only when notified; and many senders on rings and
//! queues of capacity 1 and 2, with their waits cancelled at random, every
//! message accounted for.
//!
//! The waits that must end are bounded by `STALL`, a hang guard a working
//! run never comes near. No assertion is about speed.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use ackring::{AckQueue, Ring, WaitStrategy};
use tokio::time::timeout;

mod common;
use common::asynch::{guarded, runtime};
use common::rng::Rng;

/// A waker that counts its wakes.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// `n` boxed futures, each polled once with a counting waker of its own
/// and found waiting; with the counters.
#[allow(clippy::type_complexity)]
fn waiting<'a, F: Future + 'a>(
    n: usize,
    mut make: impl FnMut() -> F,
) -> (Vec<Pin<Box<F>>>, Vec<Arc<Count>>) {
    let mut futures = Vec::new();
    let mut counts = Vec::new();
    for i in 0..n {
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut future = Box::pin(make());
        let polled = future.as_mut().poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending(), "waiter {i} found no wait");
        futures.push(future);
        counts.push(count);
    }
    (futures, counts)
}

/// The wakes of every counter, in the order the waiters started.
fn wakes(counts: &[Arc<Count>]) -> Vec<usize> {
    counts.iter().map(|c| c.0.load(SeqCst)).collect()
}

#[test]
fn a_push_wakes_one_waiting_receiver_a_batch_as_many_as_it_pushed() {
    for strategy in [
        WaitStrategy::Park,
        WaitStrategy::Backoff,
        WaitStrategy::Spin,
    ] {
        let ring = Ring::with_wait_strategy(8, strategy);
        let (_receivers, counts) = waiting(5, || ring.recv_async());
        ring.send(1_u32).unwrap();
        assert_eq!(wakes(&counts), [1, 0, 0, 0, 0], "{strategy:?}: one push");
        ring.try_push_batch(&mut vec![2, 3]);
        assert_eq!(
            wakes(&counts),
            [1, 1, 1, 0, 0],
            "{strategy:?}: a batch of 2"
        );
        ring.close();
        assert_eq!(wakes(&counts), [1, 1, 1, 1, 1], "{strategy:?}: the close");
    }
}

#[test]
fn a_pop_wakes_one_waiting_sender_a_batch_as_many_as_it_popped() {
    let ring = Ring::with_wait_strategy(3, WaitStrategy::Backoff);
    ring.try_push_batch(&mut vec![0_u32, 0, 0]);
    let mut value = 0;
    let (_senders, counts) = waiting(5, || {
        value += 1;
        ring.send_async(value)
    });
    assert_eq!(ring.recv().unwrap(), 0);
    assert_eq!(wakes(&counts), [1, 0, 0, 0, 0], "one pop");
    assert_eq!(ring.try_pop_batch(&mut Vec::new(), 2), 2);
    assert_eq!(wakes(&counts), [1, 1, 1, 0, 0], "a batch of 2");
}

#[test]
fn a_woken_receiver_dropped_unpolled_hands_its_wake_up_on() {
    let ring = Ring::new(4);
    let (mut receivers, counts) = waiting(3, || ring.recv_async());
    ring.send(7_u32).unwrap();
    assert_eq!(wakes(&counts), [1, 0, 0]);
    drop(receivers.remove(0)); // woken, never polled again
    assert_eq!(wakes(&counts), [1, 1, 0], "the next waiter has the wake-up");
    let waker = Waker::from(counts[1].clone());
    let got = receivers[0].as_mut().poll(&mut Context::from_waker(&waker));
    assert_eq!(got, Poll::Ready(Ok(7)));
    drop(receivers);
    assert_eq!(wakes(&counts), [1, 1, 0], "a wake-up used is not handed on");
}

#[test]
fn a_publish_wakes_one_receiver_and_an_ack_every_confirmation_waiter() {
    let q = AckQueue::builder().capacity(4).build().unwrap();
    let (_receivers, receiving) = waiting(4, || q.receive_async());
    let seq = q.try_publish(1_u32).unwrap();
    assert_eq!(wakes(&receiving), [1, 0, 0, 0], "one publish");
    let d = q.try_receive().expect("published");
    let (_confirmations, confirming) = waiting(3, || q.wait_settled_async(seq));
    d.ack().unwrap();
    assert_eq!(
        wakes(&confirming),
        [1, 1, 1],
        "the ack wakes every confirmation waiter"
    );
    assert!(
        wakes(&receiving)[1..].iter().all(|&w| w <= 1),
        "an ack wakes receivers only for the place it gave back"
    );
}

#[test]
fn confirmation_waiters_are_not_starved_by_receivers() {
    // Receivers and confirmation waiters on one queue at once: each ack
    // wakes the confirmation waiters, whatever the receivers do, and a
    // publish never spends its one wake-up on a confirmation waiter.
    let rt = runtime();
    let q = Arc::new(AckQueue::builder().capacity(2).build().unwrap());
    let seqs: Vec<_> = (0..2).map(|i| q.try_publish(i).unwrap()).collect();
    let held: Vec<_> = (0..2).map(|_| q.try_receive().unwrap().detach()).collect();
    let confirming: Vec<_> = seqs
        .iter()
        .flat_map(|&seq| (0..3).map(move |_| seq).collect::<Vec<_>>())
        .map(|seq| {
            let q = q.clone();
            rt.spawn(async move { q.wait_settled_async(seq).await })
        })
        .collect();
    let receivers: Vec<_> = (0..4)
        .map(|_| {
            let q = q.clone();
            rt.spawn(async move {
                let mut got = 0;
                while let Ok(d) = q.receive_async().await {
                    got += 1;
                    d.ack().unwrap();
                }
                got
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    for tag in held {
        q.ack(tag).unwrap();
    }
    guarded(&rt, "confirmations", async {
        for c in confirming {
            c.await.unwrap();
        }
    });
    for i in 0..100 {
        q.publish(i).unwrap();
    }
    q.close();
    let got: u32 = guarded(&rt, "receivers", async {
        let mut got = 0;
        for r in receivers {
            got += r.await.unwrap();
        }
        got
    });
    assert_eq!(got, 100);
}

/// A future that counts its polls.
struct Polls<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> Future for Polls<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

#[test]
fn a_waiting_future_on_a_spin_or_backoff_ring_is_polled_only_when_notified() {
    let rt = runtime();
    for strategy in [WaitStrategy::Spin, WaitStrategy::Backoff] {
        let ring = Arc::new(Ring::with_wait_strategy(1, strategy));
        // A receiver on the empty ring, a sender on the full one.
        let full = Arc::new(Ring::with_wait_strategy(1, strategy));
        full.send(0_u64).unwrap();
        let (recv_polls, send_polls) =
            (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let receiver = {
            let ring = ring.clone();
            let polls = recv_polls.clone();
            rt.spawn(async move {
                let inner = Box::pin(async move { ring.recv_async().await });
                Polls { inner, polls }.await
            })
        };
        let sender = {
            let full = full.clone();
            let polls = send_polls.clone();
            rt.spawn(async move {
                let inner = Box::pin(async move { full.send_async(1).await });
                Polls { inner, polls }.await
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            recv_polls.load(SeqCst),
            1,
            "{strategy:?}: receiver polled unwoken"
        );
        assert_eq!(
            send_polls.load(SeqCst),
            1,
            "{strategy:?}: sender polled unwoken"
        );
        ring.send(5).unwrap();
        assert_eq!(full.recv().unwrap(), 0);
        guarded(&rt, "woken futures", async {
            assert_eq!(receiver.await.unwrap(), Ok(5));
            assert!(sender.await.unwrap().is_ok());
        });
        assert_eq!(
            recv_polls.load(SeqCst),
            2,
            "{strategy:?}: one poll per wake"
        );
        assert_eq!(
            send_polls.load(SeqCst),
            2,
            "{strategy:?}: one poll per wake"
        );
    }
}

/// A random timeout from none at all (the future is polled once) to half
/// a millisecond.
fn tiny(rng: &mut Rng) -> Duration {
    match rng.below(3) {
        0 => Duration::ZERO,
        _ => Duration::from_micros(rng.below(500)),
    }
}

/// Senders (the even ones never cancel) and messages each.
const SENDERS: u64 = 16;
const PER_SENDER: u64 = 300;
/// Waits after which the cancelling receiver gives up.
const GIVE_UP: usize = 1_000;

/// Waits until `received` counts every message.
async fn all_received(received: &AtomicU64) {
    while received.load(SeqCst) < SENDERS * PER_SENDER {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Checks that `got`, from every receiver, holds each of the senders'
/// messages exactly once.
fn accounted(got: Vec<Vec<u64>>, what: &str) {
    let mut seen = HashSet::new();
    for v in got.into_iter().flatten() {
        assert!(seen.insert(v), "{what}: {v} received twice");
    }
    assert_eq!(
        seen.len() as u64,
        SENDERS * PER_SENDER,
        "{what}: messages lost"
    );
}

#[test]
fn many_senders_on_rings_of_one_and_two_with_cancelled_waits_lose_nothing() {
    let rt = runtime();
    for capacity in [1, 2] {
        for strategy in [
            WaitStrategy::Park,
            WaitStrategy::Backoff,
            WaitStrategy::Spin,
        ] {
            let ring = Arc::new(Ring::with_wait_strategy(capacity, strategy));
            let senders: Vec<_> = (0..SENDERS)
                .map(|s| {
                    let ring = ring.clone();
                    rt.spawn(async move {
                        let mut rng = Rng::new(s + 1);
                        for v in s * PER_SENDER..(s + 1) * PER_SENDER {
                            if s % 2 == 0 {
                                ring.send_async(v).await.unwrap();
                                continue;
                            }
                            // A cancelled send pushed nothing (a value is
                            // pushed only in the poll that resolves): send
                            // the same value again.
                            while timeout(tiny(&mut rng), ring.send_async(v)).await.is_err() {}
                        }
                    })
                })
                .collect();
            // One receiver waits without a timeout; the other cancels its
            // waits at random and gives up after a while: a wake-up it
            // drops must reach the first, or that one sleeps for good.
            let received = Arc::new(AtomicU64::new(0));
            let receivers: Vec<_> = (0..2)
                .map(|r| {
                    let ring = ring.clone();
                    let received = received.clone();
                    rt.spawn(async move {
                        let mut rng = Rng::new(100 + r);
                        let mut got = Vec::new();
                        if r == 0 {
                            while let Ok(v) = ring.recv_async().await {
                                got.push(v);
                                received.fetch_add(1, SeqCst);
                            }
                            return got;
                        }
                        for _ in 0..GIVE_UP {
                            match timeout(tiny(&mut rng), ring.recv_async()).await {
                                Ok(Ok(v)) => {
                                    got.push(v);
                                    received.fetch_add(1, SeqCst);
                                }
                                Ok(Err(_)) => break,
                                Err(_) => {} // cancelled: took nothing
                            }
                        }
                        got
                    })
                })
                .collect();
            let what = format!("ring of {capacity}, {strategy:?}");
            let got = guarded(&rt, &what, async {
                for s in senders {
                    s.await.unwrap();
                }
                // Every message received before the close, whose wake-ups
                // would hide a lost one.
                all_received(&received).await;
                ring.close();
                let mut got = Vec::new();
                for r in receivers {
                    got.push(r.await.unwrap());
                }
                got
            });
            accounted(got, &what);
        }
    }
}

#[test]
fn many_publishers_on_queues_of_one_and_two_with_cancelled_waits_lose_nothing() {
    let rt = runtime();
    for capacity in [1, 2] {
        let q = Arc::new(
            AckQueue::builder()
                .capacity(capacity)
                .max_in_flight(capacity)
                .build()
                .unwrap(),
        );
        let publishers: Vec<_> = (0..SENDERS)
            .map(|s| {
                let q = q.clone();
                rt.spawn(async move {
                    let mut rng = Rng::new(s + 1);
                    for v in s * PER_SENDER..(s + 1) * PER_SENDER {
                        if s % 2 == 0 {
                            q.publish_async(v).await.unwrap();
                            continue;
                        }
                        while timeout(tiny(&mut rng), q.publish_async(v)).await.is_err() {}
                    }
                })
            })
            .collect();
        // As for the rings: one receiver that never cancels, one that
        // cancels and gives up.
        let received = Arc::new(AtomicU64::new(0));
        let receivers: Vec<_> = (0..2)
            .map(|r| {
                let q = q.clone();
                let received = received.clone();
                rt.spawn(async move {
                    let mut rng = Rng::new(100 + r);
                    let mut got = Vec::new();
                    if r == 0 {
                        while let Ok(d) = q.receive_async().await {
                            got.push(*d);
                            d.ack().unwrap();
                            received.fetch_add(1, SeqCst);
                        }
                        return got;
                    }
                    for _ in 0..GIVE_UP {
                        match timeout(tiny(&mut rng), q.receive_async()).await {
                            Ok(Ok(d)) => {
                                got.push(*d);
                                d.ack().unwrap();
                                received.fetch_add(1, SeqCst);
                            }
                            Ok(Err(_)) => break,
                            Err(_) => {}
                        }
                    }
                    got
                })
            })
            .collect();
        let what = format!("queue of {capacity}");
        let got = guarded(&rt, &what, async {
            for p in publishers {
                p.await.unwrap();
            }
            all_received(&received).await;
            q.close();
            let mut got = Vec::new();
            for r in receivers {
                got.push(r.await.unwrap());
            }
            got
        });
        accounted(got, &what);
        assert_eq!(
            q.settled_below().get(),
            SENDERS * PER_SENDER,
            "{what}: all acked"
        );
    }
}
