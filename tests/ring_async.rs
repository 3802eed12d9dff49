//! `Ring`'s futures on a multi-threaded tokio runtime and on a plain
//! `block_on`, mixed with blocking threads: every item accounted for.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ackring::{Ring, WaitStrategy};

const STRATEGIES: [WaitStrategy; 3] = [
    WaitStrategy::Park,
    WaitStrategy::Backoff,
    WaitStrategy::Spin,
];

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
        rt.block_on(async {
            for p in producers {
                p.await.unwrap();
            }
        });
        thread_producer.join().unwrap();
        ring.close();
        let mut seen = HashSet::new();
        let mut count = 0;
        rt.block_on(async {
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
    rt.block_on(async {
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
    rt.block_on(async {
        for p in poppers {
            assert!(p.await.unwrap().is_err());
        }
    });
}
