//! `Ring`'s futures on a multi-threaded tokio runtime and on a plain
//! `block_on`, mixed with blocking threads: every item accounted for.

// The deprecated `push` and `pop` stay covered while they exist.
#![allow(deprecated)]

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

mod common;
use common::asynch::{guarded, Flag};
use common::wait::STRATEGIES;

use ackring::{PushError, Ring, WaitStrategy};

#[test]
fn tasks_and_threads_share_a_ring_every_item_once() {
    for strategy in STRATEGIES {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let ring = Arc::new(Ring::with_wait_strategy(4, strategy));
        const PER: u64 = 2_000;
        const TASK_PRODUCERS: u64 = 3;
        const THREAD_PRODUCERS: u64 = 1;
        let total = (TASK_PRODUCERS + THREAD_PRODUCERS) * PER;
        let mut producers = Vec::new();
        for p in 0..TASK_PRODUCERS {
            let ring = ring.clone();
            producers.push(rt.spawn(async move {
                for i in 0..PER {
                    ring.send_async(p * PER + i).await.unwrap();
                }
            }));
        }
        let thread_ring = ring.clone();
        let thread_producer = std::thread::spawn(move || {
            for i in 0..PER {
                thread_ring.push(TASK_PRODUCERS * PER + i);
            }
        });
        let mut consumers = Vec::new();
        for _ in 0..3 {
            let ring = ring.clone();
            consumers.push(rt.spawn(async move {
                let mut got = Vec::new();
                while let Ok(v) = ring.recv_async().await {
                    got.push(v);
                }
                got
            }));
        }
        let thread_ring = ring.clone();
        let thread_consumer = std::thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(v) = thread_ring.recv() {
                got.push(v);
            }
            got
        });
        guarded(&rt, "a ring's futures", async {
            for p in producers {
                p.await.unwrap();
            }
        });
        thread_producer.join().unwrap();
        ring.close();
        let mut seen = HashSet::new();
        let mut count = 0;
        guarded(&rt, "a ring's futures", async {
            for c in consumers {
                for v in c.await.unwrap() {
                    assert!(seen.insert(v), "{v} received twice ({strategy:?})");
                    count += 1;
                }
            }
        });
        for v in thread_consumer.join().unwrap() {
            assert!(seen.insert(v), "{v} received twice ({strategy:?})");
            count += 1;
        }
        assert_eq!(count, total, "{strategy:?}");
    }
}

#[test]
fn close_wakes_waiting_futures() {
    let ring = Arc::new(Ring::<u32>::with_wait_strategy(1, WaitStrategy::Park));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    ring.push(1);
    let pusher = {
        let ring = ring.clone();
        rt.spawn(async move { ring.send_async(2).await })
    };
    let room = {
        let ring = ring.clone();
        rt.spawn(async move { ring.room().await })
    };
    std::thread::sleep(Duration::from_millis(20));
    ring.close();
    guarded(&rt, "a ring's futures", async {
        assert_eq!(pusher.await.unwrap().unwrap_err().into_inner(), 2);
        assert!(room.await.unwrap().is_err());
    });
    let empty = Arc::new(Ring::<u32>::with_wait_strategy(1, WaitStrategy::Park));
    let poppers: Vec<_> = (0..3)
        .map(|_| {
            let ring = empty.clone();
            rt.spawn(async move { ring.recv_async().await })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    empty.close();
    guarded(&rt, "a ring's futures", async {
        for p in poppers {
            assert!(p.await.unwrap().is_err());
        }
    });
}

/// A value that counts its drops.
#[derive(Debug)]
struct Tracked(u32, Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.1.fetch_add(1, SeqCst);
    }
}

/// `send_async` polled by hand on a full parking ring keeps its value
/// while it waits: woken by a pop, it pushes that very value; dropped
/// while waiting, it drops the value exactly once; woken by a close, it
/// gives the value back. No value is dropped early or twice.
#[test]
fn send_async_waiting_for_room_keeps_its_value() {
    let drops = Arc::new(AtomicUsize::new(0));
    let tracked = |v| Tracked(v, drops.clone());
    let flag = Arc::new(Flag::default());
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let ring = Ring::with_wait_strategy(1, WaitStrategy::Park);
    ring.push(tracked(0));

    let mut send = pin!(ring.send_async(tracked(1)));
    assert!(send.as_mut().poll(&mut cx).is_pending(), "the ring is full");
    assert!(
        send.as_mut().poll(&mut cx).is_pending(),
        "polled again, still full"
    );
    assert_eq!(drops.load(SeqCst), 0, "the waiting value was dropped");
    assert_eq!(ring.pop().0, 0);
    assert!(flag.take(), "the pop wakes the waiting send");
    assert!(matches!(send.poll(&mut cx), Poll::Ready(Ok(()))));
    assert_eq!(drops.load(SeqCst), 1, "only the popped value is dropped");

    let mut dropped = Box::pin(ring.send_async(tracked(2)));
    assert!(dropped.as_mut().poll(&mut cx).is_pending());
    drop(dropped);
    assert_eq!(drops.load(SeqCst), 2, "a dropped send drops its value once");

    let mut closed = pin!(ring.send_async(tracked(3)));
    assert!(closed.as_mut().poll(&mut cx).is_pending());
    flag.take();
    ring.close();
    assert!(flag.take(), "the close wakes the waiting send");
    match closed.poll(&mut cx) {
        Poll::Ready(Err(PushError::Closed(v))) => assert_eq!(v.0, 3),
        other => panic!("expected the value back, got {other:?}"),
    }
    assert_eq!(drops.load(SeqCst), 3);
    assert_eq!(ring.pop().0, 1, "the woken send pushed its own value");
    assert_eq!(drops.load(SeqCst), 4);
    assert!(ring.try_pop().is_none());
}
