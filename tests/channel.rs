//! The channel handles' disconnection, under every wait strategy and with
//! futures: a consumer loop ends when the last sender is dropped; a send
//! hands its value back when the last receiver is dropped; a handle
//! dropped while others wait wakes them; clones dropped on many threads
//! in random order close the channel exactly when the last of a side
//! goes. Every item is accounted for: received, handed back, or dropped
//! by the channel, exactly once (items count their own drops).
//!
//! Nothing asserts on speed; the watchdog only turns a waiter never woken
//! into a failure.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use ackring::channel::{self, Receiver, Sender};
use ackring::{PopError, PushError, Ring, WaitStrategy};

mod common;

use common::asynch;
use common::drops::{Counted, DropLedger};
use common::rng::Rng;
use common::wait::{let_them_block, watchdog, LONG, STRATEGIES};

fn pair<T>(capacity: usize, strategy: WaitStrategy) -> (Sender<T>, Receiver<T>) {
    Ring::with_wait_strategy(capacity, strategy).into_channel()
}

// ---------------------------------------------------------------------------
// The shape of the handles
// ---------------------------------------------------------------------------

#[test]
fn handles_are_send_sync_clone_and_debug_without_bounds_on_t() {
    fn send_sync<X: Send + Sync>() {}
    send_sync::<Sender<u8>>();
    send_sync::<Receiver<u8>>();
    // Neither `Clone` nor `Debug`:
    struct Opaque;
    let (tx, rx) = channel::bounded::<Opaque>(1);
    let (tx2, rx2) = (tx.clone(), rx.clone());
    assert!(tx2.same_channel(&tx) && rx2.same_channel(&rx));
    assert_eq!((tx.sender_count(), tx.receiver_count()), (2, 2));
    let shown = format!("{tx:?} {rx:?}");
    assert!(
        shown.contains("Sender") && shown.contains("Receiver"),
        "{shown}"
    );
    assert!(tx.try_send(Opaque).is_ok());
    assert_eq!((rx.len(), rx.capacity(), rx.is_full()), (1, 1, true));
}

#[test]
#[should_panic(expected = "capacity must be at least 1")]
fn a_channel_of_capacity_zero_is_refused() {
    let _ = channel::bounded::<u8>(0);
}

// ---------------------------------------------------------------------------
// The last sender
// ---------------------------------------------------------------------------

/// How a consumer loops until the channel is closed and drained.
#[derive(Clone, Copy, Debug)]
enum Loop {
    ForRef,
    IntoIter,
    Recv,
    RecvTimeout,
    TryRecv,
    TryRecvBatch,
}

const LOOPS: [Loop; 6] = [
    Loop::ForRef,
    Loop::IntoIter,
    Loop::Recv,
    Loop::RecvTimeout,
    Loop::TryRecv,
    Loop::TryRecvBatch,
];

/// Receives every item until the channel is closed and drained, the way
/// `how` says; returns the ids.
fn consume(rx: Receiver<Counted>, how: Loop) -> Vec<usize> {
    let mut ids = Vec::new();
    match how {
        Loop::ForRef => {
            for item in &rx {
                ids.push(item.id);
            }
        }
        Loop::IntoIter => ids.extend(rx.into_iter().map(|item| item.id)),
        Loop::Recv => {
            while let Ok(item) = rx.recv() {
                ids.push(item.id);
            }
        }
        Loop::RecvTimeout => loop {
            match rx.recv_timeout(LONG) {
                Ok(item) => ids.push(item.id),
                Err(PopError::Closed) => break,
                Err(PopError::Empty) => panic!("a wait of an hour timed out"),
            }
        },
        Loop::TryRecv => loop {
            match rx.try_recv() {
                Ok(item) => ids.push(item.id),
                Err(PopError::Empty) => thread::yield_now(),
                Err(PopError::Closed) => break,
            }
        },
        Loop::TryRecvBatch => {
            let mut out = Vec::with_capacity(8);
            loop {
                match rx.try_recv_batch(&mut out, 8) {
                    Ok(0) => thread::yield_now(),
                    Ok(_) => ids.extend(out.drain(..).map(|item| item.id)),
                    Err(_) => break,
                }
            }
        }
    }
    ids
}

#[test]
fn consumer_loops_end_when_the_last_sender_drops() {
    const PRODUCERS: usize = 4;
    const CONSUMERS: usize = 3;
    const EACH: usize = 300;
    for strategy in STRATEGIES {
        for how in LOOPS {
            watchdog(&format!("{strategy:?} {how:?}"), move || {
                let ledger = DropLedger::new(PRODUCERS * EACH);
                let (tx, rx) = pair(4, strategy);
                let consumers: Vec<_> = (0..CONSUMERS)
                    .map(|_| {
                        let rx = rx.clone();
                        thread::spawn(move || consume(rx, how))
                    })
                    .collect();
                drop(rx);
                let producers: Vec<_> = (0..PRODUCERS)
                    .map(|p| {
                        let (tx, ledger) = (tx.clone(), ledger.clone());
                        thread::spawn(move || {
                            for i in 0..EACH {
                                tx.send(ledger.item(p * EACH + i)).unwrap();
                            }
                        })
                    })
                    .collect();
                drop(tx); // only the producers' clones keep it open now
                for p in producers {
                    p.join().unwrap();
                }
                let mut got: Vec<usize> = consumers
                    .into_iter()
                    .flat_map(|c| c.join().unwrap())
                    .collect();
                got.sort_unstable();
                assert_eq!(got, (0..PRODUCERS * EACH).collect::<Vec<_>>(), "each once");
                ledger.assert_each_dropped_once("received");
            });
        }
    }
}

#[test]
fn items_sent_before_the_last_sender_drops_are_received_first() {
    let (tx, rx) = channel::bounded(8);
    let tx2 = tx.clone();
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    drop(tx);
    assert!(!rx.is_closed(), "one sender is left");
    tx2.send(5).unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
    assert_eq!(rx.try_recv(), Err(PopError::Closed));
    assert_eq!(rx.recv(), Err(ackring::Closed));
    assert!(rx.iter().next().is_none());
}

#[test]
fn the_last_sender_dropped_wakes_every_waiting_receiver() {
    for strategy in STRATEGIES {
        watchdog(&format!("{strategy:?}"), move || {
            let (tx, rx) = pair::<u32>(2, strategy);
            let tx2 = tx.clone();
            let woken = Arc::new(AtomicUsize::new(0));
            let waiters: Vec<_> = (0..6)
                .map(|k| {
                    let (rx, woken) = (rx.clone(), Arc::clone(&woken));
                    thread::spawn(move || {
                        let closed = match k % 3 {
                            0 => rx.recv().is_err(),
                            1 => rx.recv_timeout(LONG) == Err(PopError::Closed),
                            _ => rx.iter().next().is_none(),
                        };
                        assert!(closed, "woken by the close, with nothing to take");
                        woken.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            let_them_block();
            drop(tx); // not the last: nobody wakes for it
            let_them_block();
            assert_eq!(woken.load(SeqCst), 0, "a sender is left");
            thread::spawn(move || drop(tx2)).join().unwrap();
            for w in waiters {
                w.join().unwrap();
            }
            assert_eq!(woken.load(SeqCst), 6);
        });
    }
}

// ---------------------------------------------------------------------------
// The last receiver
// ---------------------------------------------------------------------------

#[test]
fn a_send_hands_its_value_back_when_the_last_receiver_drops() {
    for strategy in STRATEGIES {
        watchdog(&format!("{strategy:?}"), move || {
            let ledger = DropLedger::new(2 + 6);
            let (tx, rx) = pair(2, strategy);
            tx.send(ledger.item(0)).unwrap();
            tx.send(ledger.item(1)).unwrap(); // full
            let back = Arc::new(Mutex::new(Vec::new()));
            let senders: Vec<_> = (0..6)
                .map(|k| {
                    let (tx, ledger, back) = (tx.clone(), ledger.clone(), Arc::clone(&back));
                    thread::spawn(move || {
                        let item = ledger.item(2 + k);
                        let refused = match k % 3 {
                            0 => tx.send(item),
                            1 => tx.send_timeout(item, LONG),
                            _ => futures::executor::block_on(tx.send_async(item)),
                        };
                        match refused {
                            Err(PushError::Closed(item)) => back.lock().unwrap().push(item.id),
                            other => panic!("sender {k}: {other:?}"),
                        }
                    })
                })
                .collect();
            let_them_block();
            let rx2 = rx.clone();
            thread::spawn(move || drop(rx2)).join().unwrap(); // not the last
            assert!(!tx.is_closed());
            drop(rx); // the last: closes, wakes the senders, drops the two
            assert_eq!((ledger.drops(0), ledger.drops(1)), (1, 1), "drained");
            for s in senders {
                s.join().unwrap();
            }
            let mut back = back.lock().unwrap().clone();
            back.sort_unstable();
            assert_eq!(back, [2, 3, 4, 5, 6, 7], "every value handed back");
            ledger.assert_each_dropped_once("drained or handed back");
            let item = ledger.item(0);
            assert!(matches!(tx.try_send(item), Err(PushError::Closed(_))));
            let mut batch = vec![1, 2];
            let (btx, brx) = pair::<u32>(4, strategy);
            drop(brx);
            assert!(btx.try_send_batch(&mut batch).is_err());
            assert_eq!(batch, [1, 2], "a refused batch keeps its items");
        });
    }
}

#[test]
fn the_items_left_are_dropped_with_the_last_receiver_not_the_last_handle() {
    let ledger = DropLedger::new(3);
    let (tx, rx) = channel::bounded(4);
    for id in 0..3 {
        tx.send(ledger.item(id)).unwrap();
    }
    let first = rx.recv().unwrap();
    drop(rx);
    assert_eq!(
        ledger.dropped(),
        2,
        "the two left, at the last receiver's drop"
    );
    assert!(tx.is_closed());
    drop(first);
    drop(tx);
    ledger.assert_each_dropped_once("one received, two drained");
}

// ---------------------------------------------------------------------------
// Clones everywhere
// ---------------------------------------------------------------------------

#[test]
fn clones_on_many_threads_dropped_in_random_order() {
    const SENDERS: usize = 6;
    const RECEIVERS: usize = 4;
    const EACH: usize = 200;
    for strategy in STRATEGIES {
        for seed in 0..12_u64 {
            watchdog(&format!("{strategy:?} seed {seed}"), move || {
                let ledger = DropLedger::new(SENDERS * EACH);
                let (tx, rx) = pair::<Counted>(3, strategy);
                let received = Arc::new(Mutex::new(Vec::new()));
                let returned = Arc::new(Mutex::new(Vec::new()));
                let start = Arc::new(Barrier::new(SENDERS + RECEIVERS));
                let mut threads = Vec::new();
                let mut stop_early = 0;
                for r in 0..RECEIVERS {
                    let (rx, received, start) = (rx.clone(), received.clone(), start.clone());
                    let mut rng = Rng::new(seed * 100 + r as u64);
                    // Some receivers stop early: when all do, the senders
                    // still sending must get their values back.
                    let quota = match rng.below(3) {
                        0 => {
                            stop_early += 1;
                            rng.below(EACH as u64) as usize
                        }
                        _ => usize::MAX,
                    };
                    threads.push(thread::spawn(move || {
                        start.wait();
                        let mut mine = Vec::new();
                        while mine.len() < quota {
                            let item = match rng.below(3) {
                                0 => rx.recv().ok(),
                                1 => rx.recv_timeout(LONG).ok(),
                                _ => loop {
                                    match rx.try_recv() {
                                        Ok(item) => break Some(item),
                                        Err(PopError::Empty) => thread::yield_now(),
                                        Err(PopError::Closed) => break None,
                                    }
                                },
                            };
                            match item {
                                Some(item) => mine.push(item.id),
                                None => break,
                            }
                        }
                        received.lock().unwrap().extend(mine);
                        // `rx` dropped here, maybe the last
                    }));
                }
                for s in 0..SENDERS {
                    let (tx, ledger, returned, start) =
                        (tx.clone(), ledger.clone(), returned.clone(), start.clone());
                    let mut rng = Rng::new(seed * 100 + 50 + s as u64);
                    threads.push(thread::spawn(move || {
                        start.wait();
                        let mut back = Vec::new();
                        for i in 0..EACH {
                            let item = ledger.item(s * EACH + i);
                            let result = match rng.below(3) {
                                0 => tx.send(item),
                                1 => tx.send_timeout(item, LONG),
                                _ => {
                                    let mut item = item;
                                    loop {
                                        match tx.try_send(item) {
                                            Err(PushError::Full(again)) => {
                                                item = again;
                                                thread::yield_now();
                                            }
                                            done => break done,
                                        }
                                    }
                                }
                            };
                            match result {
                                Ok(()) => {}
                                Err(PushError::Closed(item)) => back.push(item.id),
                                Err(PushError::Full(_)) => panic!("a blocking send saw Full"),
                            }
                        }
                        returned.lock().unwrap().extend(back);
                        // `tx` dropped here, maybe the last
                    }));
                }
                drop((tx, rx));
                for t in threads {
                    t.join().unwrap();
                }
                // Every handle is gone: the block went with the last one.
                ledger.assert_each_dropped_once("received, returned or drained");
                let received = received.lock().unwrap();
                let returned = returned.lock().unwrap();
                let mut both: Vec<usize> =
                    received.iter().chain(returned.iter()).copied().collect();
                let total = both.len();
                both.sort_unstable();
                both.dedup();
                assert_eq!(both.len(), total, "no item both received and returned");
                assert!(total <= SENDERS * EACH);
                if stop_early < RECEIVERS {
                    // A receiver stayed until the channel closed, which
                    // only the last sender's drop did: no send was refused
                    // and nothing was left to drain.
                    assert!(returned.is_empty(), "a send refused while receivers live");
                    assert_eq!(received.len(), SENDERS * EACH, "every item received");
                }
            });
        }
    }
}

// ---------------------------------------------------------------------------
// Futures
// ---------------------------------------------------------------------------

#[test]
#[cfg(feature = "stream")] // the streams
fn async_receivers_end_when_the_last_sender_task_drops() {
    use futures::StreamExt;
    const SENDERS: usize = 4;
    const EACH: usize = 500;
    let rt = asynch::runtime();
    let ledger = DropLedger::new(SENDERS * EACH);
    let got = asynch::guarded(&rt, "async consumers", async {
        let (tx, rx) = channel::bounded(8);
        for s in 0..SENDERS {
            let (tx, ledger) = (tx.clone(), ledger.clone());
            tokio::spawn(async move {
                for i in 0..EACH {
                    tx.send_async(ledger.item(s * EACH + i)).await.unwrap();
                }
            });
        }
        drop(tx);
        let a = {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                while let Ok(item) = rx.recv_async().await {
                    ids.push(item.id);
                }
                ids
            })
        };
        let b = {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                let mut stream = std::pin::pin!(rx.stream());
                while let Some(item) = stream.next().await {
                    ids.push(item.id);
                }
                ids
            })
        };
        let c = tokio::spawn(
            rx.into_stream()
                .map(|item: Counted| item.id)
                .collect::<Vec<_>>(),
        );
        let mut ids = a.await.unwrap();
        ids.extend(b.await.unwrap());
        ids.extend(c.await.unwrap());
        ids
    });
    let mut got = got;
    got.sort_unstable();
    assert_eq!(got, (0..SENDERS * EACH).collect::<Vec<_>>());
    ledger.assert_each_dropped_once("received by tasks");
}

#[test]
fn a_waiting_send_async_gets_its_value_back_when_the_last_receiver_drops() {
    let rt = asynch::runtime();
    asynch::guarded(&rt, "send_async", async {
        let (tx, rx) = channel::bounded(1);
        tx.send_async(0_u32).await.unwrap();
        let waiting = {
            let tx = tx.clone();
            tokio::spawn(async move { tx.send_async(1).await })
        };
        let room = {
            let tx = tx.clone();
            tokio::spawn(async move { tx.room().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The last receiver, dropped on a blocking thread.
        tokio::task::spawn_blocking(move || drop(rx)).await.unwrap();
        assert_eq!(waiting.await.unwrap(), Err(PushError::Closed(1)));
        assert!(room.await.unwrap().is_err(), "room resolves to closed");
        assert_eq!(tx.send_async(2).await, Err(PushError::Closed(2)));
    });
}

#[test]
fn blocking_and_async_sides_mix() {
    let rt = asynch::runtime();
    // Blocking senders, an async receiver woken by the last sender's drop.
    let (tx, rx) = channel::bounded(2);
    let senders: Vec<_> = (0..3_u64)
        .map(|s| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..100 {
                    tx.send(s * 100 + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let sum = asynch::guarded(&rt, "async receiver", async move {
        let mut sum = 0;
        while let Ok(v) = rx.recv_async().await {
            sum += v;
        }
        sum
    });
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(sum, (0..300).sum::<u64>());
    // Async senders, a blocking receiver.
    let (tx, rx) = channel::bounded(2);
    let consumer = thread::spawn(move || rx.iter().sum::<u64>());
    asynch::guarded(&rt, "async senders", async move {
        for i in 0..300 {
            tx.send_async(i).await.unwrap();
        }
    });
    assert_eq!(consumer.join().unwrap(), (0..300).sum::<u64>());
}
