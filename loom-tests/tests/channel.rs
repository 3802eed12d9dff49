//! Loom models of the handles: the channel's `Sender` / `Receiver` and the
//! ack queue's `Publisher` / `Worker`. Each races the drop of the last
//! handle of one side against a call of the other side going to sleep
//! (under `WaitStrategy::Park`, the strategy that sleeps), and checks that
//! the sleeper is woken, that what was sent before is received, and that
//! what could not be sent comes back, each item exactly once.
#![cfg(loom)]

use ackring::channel::{Receiver, Sender};
use ackring::{AckQueue, Closed, PopError, PublishError, PushError, Ring, WaitStrategy};
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

#[test]
fn last_sender_dropped_races_a_receiver_going_to_sleep() {
    // The receiver waits for an item (parked), then for the next; the
    // sender sends one and goes. Its drop must wake the receiver, which
    // reports the channel closed only after taking the item.
    explore(&["got the item, then closed"], || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = parked(1);
        let sender = {
            let drops = drops.clone();
            thread::spawn(move || {
                tx.send(token(1, &drops)).unwrap();
                // `tx`, the only sender, dropped here
            })
        };
        let first = rx.recv().map(|t| t.id);
        let second = rx.recv().map(|t| t.id);
        sender.join().unwrap();
        assert_eq!((first, second), (Ok(1), Err(Closed)));
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        "got the item, then closed"
    });
}

#[test]
fn two_senders_dropped_on_two_threads_race_a_waiting_receiver() {
    // Two senders go on two threads, one after sending; only the second
    // drop, whichever it is, may close the channel, and it must: the
    // receiver sleeps until then.
    explore(&["one item, then closed"], || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = parked(1);
        let tx2 = tx.clone();
        let a = {
            let drops = drops.clone();
            thread::spawn(move || tx.send(token(1, &drops)).unwrap())
        };
        let b = thread::spawn(move || drop(tx2));
        let got: Vec<u32> = rx.iter().map(|t| t.id).collect();
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(got, [1], "the item sent before the last drop");
        assert_eq!(rx.try_recv().map(|t| t.id), Err(PopError::Closed));
        "one item, then closed"
    });
}

#[test]
fn last_receiver_dropped_races_a_sender_waiting_for_room() {
    // The channel is full; a sender waits for room (parked). The last
    // receiver's drop must wake it with its value, and drop the item left
    // inside.
    explore(&["refused with its value"], || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = parked(1);
        tx.send(token(1, &drops)).unwrap();
        let sender = {
            let drops = drops.clone();
            thread::spawn(move || match tx.send(token(2, &drops)) {
                Err(PushError::Closed(back)) => back.id,
                other => panic!(
                    "sent into a channel nobody receives from: {:?}",
                    other.is_ok()
                ),
            })
        };
        drop(rx);
        assert!(
            drops.load(Ordering::Relaxed) >= 1,
            "the item left is dropped with the last receiver"
        );
        assert_eq!(sender.join().unwrap(), 2, "its own value comes back");
        assert_eq!(drops.load(Ordering::Relaxed), 2, "each item dropped once");
        "refused with its value"
    });
}

#[test]
fn two_receivers_dropped_on_two_threads_race_a_waiting_sender() {
    // As above with two receivers dropped on two threads: only the second
    // drop closes the channel, and the waiting sender is refused then.
    explore(&["refused with its value"], || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = parked(1);
        let rx2 = rx.clone();
        tx.send(token(1, &drops)).unwrap();
        let a = thread::spawn(move || drop(rx));
        let b = thread::spawn(move || drop(rx2));
        let refused = match tx.send(token(2, &drops)) {
            Err(PushError::Closed(back)) => back.id,
            other => panic!(
                "sent into a channel nobody receives from: {:?}",
                other.is_ok()
            ),
        };
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(refused, 2);
        assert_eq!(drops.load(Ordering::Relaxed), 2, "each item dropped once");
        "refused with its value"
    });
}

#[test]
fn last_publisher_dropped_races_a_worker_going_to_sleep() {
    // The ack queue's handles: a worker waits for a delivery, acks it and
    // waits again; the publisher publishes one message and goes. Its drop
    // must wake the worker, which sees the queue closed once it is empty.
    explore(&["acked, then closed"], || {
        let (publisher, worker) = AckQueue::builder()
            .capacity(1)
            .max_in_flight(1)
            .dead_letter_capacity(1)
            .build_handles()
            .unwrap();
        let p = thread::spawn(move || {
            publisher.publish(7_u32).unwrap();
        });
        let d = worker.receive().unwrap();
        assert_eq!(*d, 7);
        d.ack().unwrap();
        assert!(worker.receive().is_err(), "closed and empty");
        p.join().unwrap();
        assert_eq!(worker.queue().settled_below().get(), 1, "settled");
        "acked, then closed"
    });
}

#[test]
fn last_worker_dropped_races_a_publisher_waiting_for_room() {
    // The queue is full; a publish waits for room. The last worker's drop
    // must wake it with its message, and leave the waiting one for the
    // publisher's drain: nothing lost.
    explore(&["refused, the other drained"], || {
        let (publisher, worker) = AckQueue::builder()
            .capacity(1)
            .max_in_flight(1)
            .dead_letter_capacity(1)
            .build_handles()
            .unwrap();
        publisher.publish(1_u32).unwrap();
        let p = thread::spawn(move || {
            let refused = publisher.publish(2);
            (refused, publisher)
        });
        drop(worker);
        let (refused, publisher) = p.join().unwrap();
        assert_eq!(
            refused,
            Err(PublishError::Closed(2)),
            "its message comes back"
        );
        assert_eq!(publisher.drain(), [1], "the waiting one is drained");
        "refused, the other drained"
    });
}
