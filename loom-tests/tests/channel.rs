//! Loom models of the handles: the channel's `Sender` / `Receiver` and the
//! ack queue's `Publisher` / `Worker`. Each races the drop of the last
//! handle of one side against a call of the other side going to sleep
//! (under `WaitStrategy::Park`, the strategy that sleeps), and checks that
//! the sleeper is woken, that what was sent before is received, and that
//! what could not be sent comes back, each item exactly once.
#![cfg(loom)]

use ackring::channel::{Receiver, Sender};
use ackring::{AckQueue, PopError, PushError, Ring, WaitStrategy};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

mod util;
use util::explore;

/// A channel of `capacity` whose blocking calls park.
fn parked(capacity: usize) -> (Sender<Token>, Receiver<Token>) {
    Ring::with_wait_strategy(capacity, WaitStrategy::Park).into_channel()
}

/// An item that counts its drops.
struct Token {
    id: u32,
    drops: Arc<AtomicUsize>,
}

impl Drop for Token {
    fn drop(&mut self) {
        // Relaxed: read after a join, which orders it.
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

fn token(id: u32, drops: &Arc<AtomicUsize>) -> Token {
    Token {
        id,
        drops: drops.clone(),
    }
}

/// Receives one item, looking once before it waits: the item's id, and
/// whether it was there at the first look.
fn take(rx: &Receiver<Token>) -> (u32, &'static str) {
    match rx.try_recv() {
        Ok(t) => (t.id, "there"),
        Err(PopError::Empty) => (rx.recv().expect("an item comes").id, "waited"),
        Err(PopError::Closed) => panic!("closed before the item sent"),
    }
}

/// Looks for the end of the channel once before it waits: whether it was
/// closed at the first look.
fn closed(rx: &Receiver<Token>) -> &'static str {
    match rx.try_recv() {
        Err(PopError::Closed) => "closed at once",
        Err(PopError::Empty) => {
            assert!(rx.recv().is_err(), "nothing but the close comes");
            "waited for the close"
        }
        Ok(t) => panic!("item {} after the last one", t.id),
    }
}

/// Sends `t` into a full channel whose receivers are going: it must come
/// back; whether at the first try, or after waiting for room.
fn refused(tx: &Sender<Token>, t: Token) -> (u32, &'static str) {
    match tx.try_send(t) {
        Err(PushError::Closed(back)) => (back.id, "refused at once"),
        Err(PushError::Full(t)) => match tx.send(t) {
            Err(PushError::Closed(back)) => (back.id, "refused after waiting"),
            other => panic!(
                "sent into a channel nobody receives from: {:?}",
                other.is_ok()
            ),
        },
        Ok(()) => panic!("sent into a full channel"),
    }
}

#[test]
fn last_sender_dropped_races_a_receiver_going_to_sleep() {
    // The receiver waits for an item (parked), then for the next; the
    // sender sends one and goes. Its drop must wake the receiver, which
    // reports the channel closed only after taking the item.
    explore(
        &[
            "there, closed at once",
            "there, waited for the close",
            "waited, closed at once",
            "waited, waited for the close",
        ],
        || {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = parked(1);
            let sender = {
                let drops = drops.clone();
                thread::spawn(move || {
                    tx.send(token(1, &drops)).unwrap();
                    // `tx`, the only sender, dropped here
                })
            };
            thread::yield_now(); // let the sender go first at least once
            let (id, first) = take(&rx);
            let second = closed(&rx);
            sender.join().unwrap();
            assert_eq!(id, 1);
            assert_eq!(drops.load(Ordering::Relaxed), 1);
            match (first, second) {
                ("there", "closed at once") => "there, closed at once",
                ("there", _) => "there, waited for the close",
                (_, "closed at once") => "waited, closed at once",
                _ => "waited, waited for the close",
            }
        },
    );
}

#[test]
fn two_senders_dropped_on_two_threads_race_a_waiting_receiver() {
    // Two senders go on two threads, one after sending; only the second
    // drop, whichever it is, may close the channel, and it must: the
    // receiver sleeps until then.
    explore(&["the sender went last", "the other went last"], || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = parked(1);
        let tx2 = tx.clone();
        let order = Arc::new(AtomicUsize::new(0));
        let a = {
            let (drops, order) = (drops.clone(), order.clone());
            thread::spawn(move || {
                tx.send(token(1, &drops)).unwrap();
                drop(tx);
                // Relaxed: which went second is read after the joins.
                order.fetch_add(1, Ordering::Relaxed)
            })
        };
        let b = {
            let order = order.clone();
            thread::spawn(move || {
                drop(tx2);
                order.fetch_add(1, Ordering::Relaxed)
            })
        };
        let got: Vec<u32> = rx.iter().map(|t| t.id).collect();
        let a_was = a.join().unwrap();
        b.join().unwrap();
        assert_eq!(got, [1], "the item sent before the last drop");
        assert_eq!(rx.try_recv().map(|t| t.id), Err(PopError::Closed));
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        if a_was == 1 {
            "the sender went last"
        } else {
            "the other went last"
        }
    });
}

#[test]
fn last_receiver_dropped_races_a_sender_waiting_for_room() {
    // The channel is full; a sender waits for room (parked). The last
    // receiver's drop must wake it with its value, and drop the item left
    // inside.
    explore(&["refused after waiting", "refused at once"], || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = parked(1);
        tx.send(token(1, &drops)).unwrap();
        let sender = {
            let drops = drops.clone();
            thread::spawn(move || refused(&tx, token(2, &drops)))
        };
        thread::yield_now(); // let the sender go first at least once
        drop(rx);
        assert!(
            drops.load(Ordering::Relaxed) >= 1,
            "the item left is dropped with the last receiver"
        );
        let (id, how) = sender.join().unwrap();
        assert_eq!(id, 2, "its own value comes back");
        assert_eq!(drops.load(Ordering::Relaxed), 2, "each item dropped once");
        how
    });
}

#[test]
fn two_receivers_dropped_on_two_threads_race_a_waiting_sender() {
    // As above with two receivers dropped on two threads: only the second
    // drop closes the channel, and the waiting sender is refused then.
    explore(&["refused after waiting", "refused at once"], || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = parked(1);
        let rx2 = rx.clone();
        tx.send(token(1, &drops)).unwrap();
        // The drop that wakes the sender unparks it after the hand-over the
        // sender sees, and may do so once the sender has moved on: std's
        // unpark then leaves a token for its next park, while loom's
        // unblocks whatever the thread waits on, a join included. So the
        // sender waits for both drops to finish before it joins.
        let gone = Arc::new(AtomicUsize::new(0));
        let a = {
            let gone = gone.clone();
            // Release: pairs with the Acquire load below.
            thread::spawn(move || {
                drop(rx);
                gone.fetch_add(1, Ordering::Release);
            })
        };
        let b = {
            let gone = gone.clone();
            thread::spawn(move || {
                drop(rx2);
                gone.fetch_add(1, Ordering::Release);
            })
        };
        let (id, how) = refused(&tx, token(2, &drops));
        // Acquire: both drops, the wakes within them included, are done.
        while gone.load(Ordering::Acquire) < 2 {
            thread::yield_now();
        }
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(id, 2);
        assert_eq!(drops.load(Ordering::Relaxed), 2, "each item dropped once");
        how
    });
}

#[test]
fn last_publisher_dropped_races_a_worker_going_to_sleep() {
    // The ack queue's handles: a worker waits for a delivery, acks it and
    // waits again; the publisher publishes one message and goes. Its drop
    // must wake the worker, which sees the queue closed once it is empty.
    explore(&["there", "waited"], || {
        let (publisher, worker) = AckQueue::builder()
            .capacity(1)
            .max_in_flight(1)
            .dead_letter_capacity(1)
            .build_handles()
            .unwrap();
        let p = thread::spawn(move || {
            publisher.publish(7_u32).unwrap();
        });
        thread::yield_now(); // let the publisher go first at least once
        let (d, how) = match worker.try_receive() {
            Some(d) => (d, "there"),
            None => (worker.receive().expect("a message comes"), "waited"),
        };
        assert_eq!(*d, 7);
        d.ack().unwrap();
        assert!(worker.receive().is_err(), "closed and empty");
        p.join().unwrap();
        assert_eq!(worker.queue().settled_below().get(), 1, "settled");
        how
    });
}

#[test]
fn last_worker_dropped_races_a_publisher_waiting_for_room() {
    // The queue is full; a publish waits for room. The last worker's drop
    // must wake it with its message, and leave the waiting one for the
    // publisher's drain: nothing lost.
    explore(&["refused after waiting", "refused at once"], || {
        let (publisher, worker) = AckQueue::builder()
            .capacity(1)
            .max_in_flight(1)
            .dead_letter_capacity(1)
            .build_handles()
            .unwrap();
        publisher.publish(1_u32).unwrap();
        let p = thread::spawn(move || {
            let how = match publisher.try_publish(2) {
                Err(PushError::Closed(m)) => {
                    assert_eq!(m, 2);
                    "refused at once"
                }
                Err(PushError::Full(m)) => {
                    assert_eq!(publisher.publish(m), Err(PushError::Closed(2)));
                    "refused after waiting"
                }
                Ok(_) => panic!("published into a full queue"),
            };
            (how, publisher)
        });
        thread::yield_now(); // let the publisher go first at least once
        drop(worker);
        let (how, publisher) = p.join().unwrap();
        assert_eq!(publisher.drain(), [1], "the waiting one is drained");
        how
    });
}
