//! `AckQueue`'s handles: a worker loop ends when the last publisher is
//! dropped; a publish hands its message back when the last worker is
//! dropped, and what is unsettled waits for a drain; a handle dropped
//! while others wait wakes them; clones dropped on many threads in random
//! order lose nothing. Every message is accounted for: acked, handed back,
//! drained, or dropped with the queue, exactly once (messages count their
//! own drops). Also the defaults a user expects: a poison message ends in
//! the dead letters after 20 deliveries, and a ring sleeps when idle.
//!
//! Nothing asserts on speed; the watchdog only turns a waiter never woken
//! into a failure.

use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use ackring::{
    AckQueue, AckQueueBuilder, DeadReason, Publisher, PushError, Ring, WaitStrategy, Worker,
};

mod common;

use common::drops::{Counted, DropLedger};
use common::rng::Rng;
use common::wait::{let_them_block, watchdog, LONG};

fn handles_of(capacity: usize, in_flight: usize) -> (Publisher<Counted>, Worker<Counted>) {
    AckQueue::builder()
        .capacity(capacity)
        .max_in_flight(in_flight)
        .build_handles()
        .unwrap()
}

#[test]
fn handles_are_send_sync_clone_and_debug() {
    fn send_sync<X: Send + Sync>() {}
    send_sync::<Publisher<u8>>();
    send_sync::<Worker<u8>>();
    let (p, w) = AckQueue::<u8>::builder().build_handles().unwrap();
    let (p2, w2) = (p.clone(), w.clone());
    assert_eq!((p.publisher_count(), w.worker_count()), (2, 2));
    drop((p2, w2));
    assert_eq!((p.publisher_count(), p.worker_count()), (1, 1));
    let shown = format!("{p:?} {w:?}");
    assert!(
        shown.contains("Publisher") && shown.contains("Worker"),
        "{shown}"
    );
}

/// How a worker loops until the queue is closed and nothing is left.
#[derive(Clone, Copy, Debug)]
enum Loop {
    ForRef,
    Owned,
    Receive,
    ReceiveTimeout,
    Batch,
}

const LOOPS: [Loop; 5] = [
    Loop::ForRef,
    Loop::Owned,
    Loop::Receive,
    Loop::ReceiveTimeout,
    Loop::Batch,
];

/// Acks every delivery until the queue is closed and nothing is left;
/// returns the ids.
fn work(worker: Worker<Counted>, how: Loop) -> Vec<usize> {
    let mut ids = Vec::new();
    match how {
        Loop::ForRef => {
            for d in &worker {
                ids.push(d.id);
                d.ack().unwrap();
            }
        }
        Loop::Owned => {
            for d in worker {
                ids.push(d.id);
                d.ack().unwrap();
            }
        }
        Loop::Receive => {
            while let Ok(d) = worker.receive() {
                ids.push(d.id);
                d.ack().unwrap();
            }
        }
        Loop::ReceiveTimeout => {
            while let Some(d) = worker.receive_timeout(LONG).unwrap_or(None) {
                ids.push(d.id);
                d.ack().unwrap();
            }
        }
        Loop::Batch => {
            let mut out = Vec::with_capacity(4);
            while worker.receive_batch(4, &mut out).is_ok() {
                ids.extend(out.iter().map(|d| d.id));
                let n = out.len();
                assert_eq!(worker.ack_batch(out.drain(..), &mut Vec::new()), n);
            }
        }
    }
    ids
}

#[test]
fn worker_loops_end_when_the_last_publisher_drops() {
    const PUBLISHERS: usize = 3;
    const WORKERS: usize = 3;
    const EACH: usize = 300;
    for how in LOOPS {
        watchdog(&format!("{how:?}"), move || {
            let ledger = DropLedger::new(PUBLISHERS * EACH);
            let (publisher, worker) = handles_of(8, 4);
            let workers: Vec<_> = (0..WORKERS)
                .map(|_| {
                    let worker = worker.clone();
                    thread::spawn(move || work(worker, how))
                })
                .collect();
            drop(worker);
            let publishers: Vec<_> = (0..PUBLISHERS)
                .map(|p| {
                    let (publisher, ledger) = (publisher.clone(), ledger.clone());
                    thread::spawn(move || {
                        for i in 0..EACH {
                            publisher.publish(ledger.item(p * EACH + i)).unwrap();
                        }
                    })
                })
                .collect();
            drop(publisher);
            for p in publishers {
                p.join().unwrap();
            }
            let mut got: Vec<usize> = workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect();
            got.sort_unstable();
            assert_eq!(got, (0..PUBLISHERS * EACH).collect::<Vec<_>>(), "each once");
            ledger.assert_each_dropped_once("acked");
        });
    }
}

#[test]
fn the_last_publisher_dropped_wakes_every_waiting_worker() {
    watchdog("waiting workers", || {
        let (publisher, worker) = handles_of(4, 4);
        let publisher2 = publisher.clone();
        let waiters: Vec<_> = (0..6)
            .map(|k| {
                let worker = worker.clone();
                thread::spawn(move || match k % 3 {
                    0 => assert!(worker.receive().is_err()),
                    1 => assert!(worker.receive_timeout(LONG).is_err()),
                    _ => assert!(worker.iter().next().is_none()),
                })
            })
            .collect();
        let_them_block();
        drop(publisher); // not the last
        let_them_block();
        assert!(!worker.is_closed());
        assert!(
            waiters.iter().all(|w| !w.is_finished()),
            "a publisher is left"
        );
        thread::spawn(move || drop(publisher2)).join().unwrap();
        for w in waiters {
            w.join().unwrap();
        }
    });
}

#[test]
fn a_publish_hands_its_message_back_when_the_last_worker_drops() {
    watchdog("waiting publishers", || {
        let ledger = DropLedger::new(2 + 4);
        let (publisher, worker) = handles_of(2, 4);
        publisher.publish(ledger.item(0)).unwrap();
        publisher.publish(ledger.item(1)).unwrap(); // full
        let back = Arc::new(Mutex::new(Vec::new()));
        let publishers: Vec<_> = (0..4)
            .map(|k| {
                let (publisher, ledger, back) = (publisher.clone(), ledger.clone(), back.clone());
                thread::spawn(move || {
                    let msg = ledger.item(2 + k);
                    let refused = if k % 2 == 0 {
                        publisher.publish(msg)
                    } else {
                        futures::executor::block_on(publisher.publish_async(msg))
                    };
                    match refused {
                        Err(PushError::Closed(msg)) => back.lock().unwrap().push(msg.id),
                        other => panic!("publisher {k}: {other:?}"),
                    }
                })
            })
            .collect();
        let_them_block();
        let worker2 = worker.clone();
        thread::spawn(move || drop(worker2)).join().unwrap(); // not the last
        assert!(!publisher.is_closed());
        drop(worker); // the last
        for p in publishers {
            p.join().unwrap();
        }
        let mut back = back.lock().unwrap().clone();
        back.sort_unstable();
        assert_eq!(back, [2, 3, 4, 5], "every message handed back");
        assert_eq!(
            ledger.dropped(),
            4,
            "the two published are kept, not dropped"
        );
        let mut left: Vec<usize> = publisher.drain().into_iter().map(|m| m.id).collect();
        left.sort_unstable();
        assert_eq!(left, [0, 1], "the drain hands back what was waiting");
        ledger.assert_each_dropped_once("handed back or drained");
    });
}

#[test]
fn nothing_is_lost_when_the_workers_go_with_deliveries_in_flight() {
    let ledger = DropLedger::new(5);
    let (publisher, worker) = handles_of(8, 8);
    for id in 0..5 {
        publisher.publish(ledger.item(id)).unwrap();
    }
    let acked = worker.try_receive_owned().unwrap(); // 0
    let dropped = worker.try_receive_owned().unwrap(); // 1
    let nacked = worker.try_receive_owned().unwrap(); // 2
    let rejected = worker.try_receive().unwrap(); // 3
    rejected.nack(false).unwrap(); // a dead letter
    drop(worker); // the last: the deliveries outlive it
    assert!(publisher.is_closed());
    assert!(publisher.try_publish(ledger.item(0)).is_err());
    assert_eq!(
        ledger.drops(0),
        1,
        "the refused message came back and was dropped"
    );
    acked.ack().unwrap();
    assert_eq!(ledger.drops(0), 2, "acked: settled and dropped");
    drop(dropped); // requeued, for the drain
    nacked.nack(true).unwrap(); // requeued, for the drain
    let mut left: Vec<usize> = publisher.drain().into_iter().map(|m| m.id).collect();
    left.sort_unstable();
    assert_eq!(left, [1, 2, 3, 4], "requeued, dead-lettered and waiting");
    let stats = publisher.stats();
    assert_eq!(stats.published, 5);
    assert_eq!(stats.acked, 1);
    assert_eq!(publisher.settled_below().get(), 5, "everything settled");
}

#[test]
fn clones_dropped_in_random_order_lose_nothing() {
    const PUBLISHERS: usize = 4;
    const WORKERS: usize = 4;
    const EACH: usize = 150;
    for seed in 0..16_u64 {
        // With `keep`, the test holds a worker of its own until the end and
        // drains what is left: every message is then acked, handed back or
        // drained. Without, the last handle may go with messages inside,
        // which are dropped with the queue, once.
        for keep in [false, true] {
            watchdog(&format!("seed {seed} keep {keep}"), move || {
                let ledger = DropLedger::new(PUBLISHERS * EACH);
                let (publisher, worker) = handles_of(4, 4);
                let keeper = keep.then(|| worker.clone());
                let acked = Arc::new(Mutex::new(Vec::new()));
                let returned = Arc::new(Mutex::new(Vec::new()));
                let start = Arc::new(Barrier::new(PUBLISHERS + WORKERS));
                let mut threads = Vec::new();
                let mut stop_early = 0;
                for w in 0..WORKERS {
                    let (worker, acked, start) = (worker.clone(), acked.clone(), start.clone());
                    let mut rng = Rng::new(seed * 100 + w as u64);
                    // With `keep`, one worker stays: the kept one receives
                    // nothing, so without it the publishers would wait for
                    // room forever.
                    let last_to_stay = keep && w == WORKERS - 1 && stop_early == w;
                    let quota = match rng.below(3) {
                        0 if !last_to_stay => {
                            stop_early += 1;
                            rng.below(EACH as u64) as usize
                        }
                        _ => usize::MAX,
                    };
                    threads.push(thread::spawn(move || {
                        start.wait();
                        let mut mine = Vec::new();
                        let mut seen = 0;
                        while seen < quota {
                            let Ok(d) = worker.receive() else { break };
                            seen += 1;
                            match rng.below(10) {
                                0 => drop(d),               // requeued
                                1 => d.nack(true).unwrap(), // requeued
                                _ => {
                                    mine.push(d.id);
                                    d.ack().unwrap();
                                }
                            }
                        }
                        acked.lock().unwrap().extend(mine);
                    }));
                }
                for p in 0..PUBLISHERS {
                    let (publisher, ledger, returned, start) = (
                        publisher.clone(),
                        ledger.clone(),
                        returned.clone(),
                        start.clone(),
                    );
                    let mut rng = Rng::new(seed * 100 + 50 + p as u64);
                    threads.push(thread::spawn(move || {
                        start.wait();
                        let mut back = Vec::new();
                        for i in 0..EACH {
                            let msg = ledger.item(p * EACH + i);
                            let result = if rng.below(2) == 0 {
                                publisher.publish(msg)
                            } else {
                                let mut msg = msg;
                                loop {
                                    match publisher.try_publish(msg) {
                                        Err(PushError::Full(again)) => {
                                            msg = again;
                                            thread::yield_now();
                                        }
                                        done => break done,
                                    }
                                }
                            };
                            match result {
                                Ok(_) => {}
                                Err(PushError::Closed(msg)) => back.push(msg.id),
                                Err(PushError::Full(_)) => panic!("a blocking publish saw Full"),
                            }
                        }
                        returned.lock().unwrap().extend(back);
                    }));
                }
                drop((publisher, worker));
                for t in threads {
                    t.join().unwrap();
                }
                let drained: Vec<usize> = keeper
                    .as_ref()
                    .map(|k| k.drain().into_iter().map(|m| m.id).collect())
                    .unwrap_or_default();
                let acked = acked.lock().unwrap().clone();
                let returned = returned.lock().unwrap().clone();
                let mut all: Vec<usize> = acked
                    .iter()
                    .chain(&returned)
                    .chain(&drained)
                    .copied()
                    .collect();
                let total = all.len();
                all.sort_unstable();
                all.dedup();
                assert_eq!(
                    all.len(),
                    total,
                    "no message acked, returned or drained twice"
                );
                if keep {
                    assert_eq!(
                        total,
                        PUBLISHERS * EACH,
                        "acked + returned + drained = published"
                    );
                    assert!(returned.is_empty(), "a worker lived: no publish refused");
                    ledger.assert_each_dropped_once("acked or drained");
                } else {
                    if stop_early < WORKERS {
                        assert!(returned.is_empty(), "a worker lived: no publish refused");
                    }
                    // The queue went with the last handle, and whatever it
                    // held with it.
                    ledger.assert_each_dropped_once("acked, returned or dropped with the queue");
                }
                drop(keeper);
            });
        }
    }
}

#[test]
#[cfg(feature = "stream")] // the streams
fn async_workers_end_when_the_last_publisher_drops() {
    use futures::StreamExt;
    const PUBLISHERS: usize = 3;
    const EACH: usize = 300;
    let rt = common::asynch::runtime();
    let ledger = DropLedger::new(PUBLISHERS * EACH);
    let mut got = common::asynch::guarded(&rt, "async workers", async {
        let (publisher, worker) = handles_of(8, 8);
        for p in 0..PUBLISHERS {
            let (publisher, ledger) = (publisher.clone(), ledger.clone());
            tokio::spawn(async move {
                for i in 0..EACH {
                    publisher
                        .publish_async(ledger.item(p * EACH + i))
                        .await
                        .unwrap();
                }
            });
        }
        drop(publisher);
        let a = {
            let worker = worker.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                while let Ok(d) = worker.receive_async().await {
                    ids.push(d.id);
                    d.ack().unwrap();
                }
                ids
            })
        };
        let b = {
            let worker = worker.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                while let Ok(d) = worker.receive_owned_async().await {
                    ids.push(d.id);
                    d.ack().unwrap();
                }
                ids
            })
        };
        let stream = worker.deliveries();
        drop(worker); // the stream holds a worker of its own
        let c = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            let mut ids = Vec::new();
            while let Some(d) = stream.next().await {
                ids.push(d.id);
                d.ack().unwrap();
            }
            ids
        });
        let mut ids = a.await.unwrap();
        ids.extend(b.await.unwrap());
        ids.extend(c.await.unwrap());
        ids
    });
    got.sort_unstable();
    assert_eq!(got, (0..PUBLISHERS * EACH).collect::<Vec<_>>());
    ledger.assert_each_dropped_once("acked by tasks");
}

#[test]
#[cfg(feature = "stream")] // the streams
fn a_stream_keeps_the_queue_open_for_publishers() {
    let (publisher, worker) = AckQueue::<u32>::builder().build_handles().unwrap();
    let stream = worker.deliveries();
    drop(worker);
    assert!(!publisher.is_closed(), "the stream's worker is alive");
    publisher.publish(1).unwrap();
    drop(stream);
    assert!(publisher.is_closed(), "the last worker was the stream's");
    assert_eq!(publisher.drain(), [1]);
}

// ---------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------

#[test]
fn a_poison_message_ends_in_the_dead_letters_after_20_deliveries_by_default() {
    assert_eq!(AckQueueBuilder::<u8>::DEFAULT_MAX_DELIVERIES, 20);
    let (publisher, worker) = AckQueue::builder().build_handles().unwrap();
    publisher.publish("poison").unwrap();
    let mut deliveries = 0;
    while let Some(d) = worker.try_receive() {
        deliveries += 1;
        assert!(deliveries <= 20, "delivered a 21st time");
        d.nack(true).unwrap(); // fails every time
    }
    assert_eq!(deliveries, 20);
    let dead = worker.try_receive_dead_letter().expect("dead-lettered");
    assert_eq!(
        (dead.reason(), dead.delivery_count()),
        (DeadReason::MaxDeliveries, 20)
    );
    // `u32::MAX` keeps delivering.
    let q = AckQueue::builder()
        .max_deliveries(u32::MAX)
        .build()
        .unwrap();
    q.try_publish(1).unwrap();
    for _ in 0..100 {
        q.try_receive().unwrap().nack(true).unwrap();
    }
    assert!(q.try_receive_dead_letter().is_none());
}

#[test]
fn rings_and_channels_sleep_when_idle_by_default() {
    assert_eq!(WaitStrategy::default(), WaitStrategy::Park);
    assert_eq!(Ring::<u8>::new(1).wait_strategy(), WaitStrategy::Park);
}
