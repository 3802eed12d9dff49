//! Loom models of time in `AckQueue<T>`: a lease expiry that backs off
//! under a redelivery policy racing the ack of the same delivery, a due
//! delayed publish racing `close`, delayed publishes due at once racing
//! the receive that publishes them, a release the full fresh ring refused
//! racing another, and a message's time to live running
//! out while a receive takes it.
#![cfg(loom)]

use std::time::Duration;

use ackring::{AckError, DeadReason, Redelivery};
use loom::thread;

mod util;
use util::{clocked, explore};

const LEASE: Duration = Duration::from_millis(10);
const BACKOFF: Duration = Duration::from_millis(5);
const TTL: Duration = Duration::from_millis(20);

#[test]
fn ack_races_lease_expiry_into_backoff() {
    explore(&["ack won", "expiry won"], || {
        let (q, clock) = clocked(1, 1, |b| {
            b.lease(LEASE).redelivery(Redelivery::schedule([BACKOFF]))
        });
        q.try_publish(7_u32).unwrap();
        let tag = q.try_receive().unwrap().detach();
        clock.advance(LEASE); // expired, not yet found by a scan
        let acker = {
            let q = q.clone();
            thread::spawn(move || q.ack(tag))
        };
        let requeued = q.requeue_expired();
        let acked = acker.join().unwrap();
        match acked {
            Ok(()) => {
                assert_eq!(requeued, 0, "an acked message is not requeued");
                clock.advance(BACKOFF);
                assert!(q.try_receive().is_none());
                assert_eq!(q.settled_below().get(), 1);
                "ack won"
            }
            Err(e) => {
                assert_eq!(e, AckError::Stale, "the expired holder's ack is stale");
                assert_eq!(requeued, 1);
                assert!(
                    q.try_receive().is_none(),
                    "backing off, not redelivered yet"
                );
                clock.advance(BACKOFF);
                let again = q.try_receive().expect("redelivered after the backoff");
                assert_eq!((*again, again.delivery_count()), (7, 2));
                again.ack().unwrap();
                assert_eq!(q.settled_below().get(), 1);
                "expiry won"
            }
        }
    });
}

#[test]
fn due_delayed_publish_races_close() {
    explore(
        &[
            "published, then received after close",
            "closed first, drained from its place",
        ],
        || {
            let (q, clock) = clocked(1, 1, |b| b.delay_capacity(1));
            q.try_publish_after(5_u32, BACKOFF).unwrap();
            clock.advance(BACKOFF); // due, not yet published
            let scanner = {
                let q = q.clone();
                thread::spawn(move || q.requeue_expired())
            };
            q.close();
            let released = scanner.join().unwrap();
            let received = q.try_receive().map(|d| {
                let v = *d;
                d.ack().unwrap();
                v
            });
            let drained = q.drain();
            assert_eq!(q.scheduled(), 0, "its delay place is given back");
            assert!(q.try_receive().is_none());
            match received {
                Some(v) => {
                    assert_eq!((v, released), (5, 1));
                    assert!(drained.is_empty(), "exactly once");
                    assert_eq!(q.stats().published, 1);
                    assert_eq!(q.settled_below().get(), 1);
                    "published, then received after close"
                }
                None => {
                    assert_eq!(released, 0, "a closed queue publishes nothing");
                    assert_eq!(drained, [5], "never lost");
                    assert_eq!(q.stats().published, 0);
                    "closed first, drained from its place"
                }
            }
        },
    );
}

#[test]
fn ttl_expiry_races_a_receive_of_the_same_message() {
    explore(&["received in time", "expired first"], || {
        let (q, clock) = clocked(1, 1, |b| b.ttl(TTL));
        let seq = q.try_publish(3_u32).unwrap();
        let receiver = {
            let q = q.clone();
            thread::spawn(move || {
                let d = q.try_receive()?;
                let v = (*d, d.delivery_count());
                d.ack().unwrap();
                Some(v)
            })
        };
        clock.advance(TTL); // races the receive's clock reading
        let received = receiver.join().unwrap();
        let dead = q.try_receive_dead_letter();
        assert!(q.try_receive().is_none());
        match received {
            Some(v) => {
                assert_eq!(v, (3, 1));
                assert!(dead.is_none(), "delivered once, never also expired");
                assert_eq!(q.settled_below().get(), 1);
                "received in time"
            }
            None => {
                let dead = dead.expect("an expired message goes to the dead letters");
                assert_eq!((*dead, dead.delivery_count()), (3, 0));
                assert_eq!(dead.reason(), DeadReason::Expired);
                drop(dead);
                assert!(q.is_settled(seq), "taken from the dead letters: settled");
                "expired first"
            }
        }
    });
}

#[test]
fn delayed_publish_due_at_once_races_a_receive() {
    explore(&["received at once", "received after"], || {
        let (q, _) = clocked(1, 1, |b| b.delay_capacity(1));
        let scheduler = {
            let q = q.clone();
            thread::spawn(move || q.try_publish_after(6_u32, Duration::ZERO).unwrap())
        };
        let first = q.try_receive().map(|d| {
            let v = *d;
            d.ack().unwrap();
            v
        });
        scheduler.join().unwrap();
        let outcome = match first {
            Some(v) => {
                assert_eq!(v, 6);
                "received at once"
            }
            None => {
                let d = q.try_receive().expect("due at once, so delivered now");
                assert_eq!(*d, 6);
                d.ack().unwrap();
                "received after"
            }
        };
        assert_eq!(q.scheduled(), 0);
        assert_eq!(q.settled_below().get(), 1);
        outcome
    });
}

#[test]
fn two_delayed_publishes_due_at_once_race_a_receive_that_releases_both() {
    explore(&["both published", "one published"], || {
        let (q, _) = clocked(2, 1, |b| b.delay_capacity(2));
        let scheduler = {
            let q = q.clone();
            thread::spawn(move || q.try_publish_after(8_u32, Duration::ZERO).unwrap())
        };
        q.try_publish_after(7_u32, Duration::ZERO).unwrap();
        // The first look publishes every due delayed message it finds,
        // reading the other thread's entry through the release's own load.
        let first = q.try_receive().expect("ours is due at once");
        let v = *first;
        first.ack().unwrap();
        scheduler.join().unwrap();
        let outcome = if q.scheduled() == 0 {
            "both published"
        } else {
            "one published"
        };
        let second = q.try_receive().expect("the other is due at once too");
        let mut got = [v, *second];
        second.ack().unwrap();
        got.sort_unstable();
        assert_eq!(got, [7, 8]);
        assert_eq!(q.scheduled(), 0);
        assert_eq!(q.settled_below().get(), 2);
        outcome
    });
}

#[test]
fn refused_delayed_publish_is_published_by_another_receive() {
    explore(
        &["published by the other receive", "published later"],
        || {
            let (q, clock) = clocked(1, 1, |b| b.delay_capacity(1));
            q.try_publish(1_u32).unwrap(); // the fresh ring is full
            q.try_publish_after(2_u32, BACKOFF).unwrap();
            clock.advance(BACKOFF);
            // A scan that finds the fresh ring full puts the message back.
            let scanner = {
                let q = q.clone();
                thread::spawn(move || q.requeue_expired())
            };
            let d = q.try_receive().expect("the fresh message");
            assert_eq!(*d, 1);
            d.ack().unwrap();
            // A receive with room publishes it, whoever put it back.
            let second = q.try_receive().map(|d| {
                let v = *d;
                d.ack().unwrap();
                v
            });
            scanner.join().unwrap();
            let outcome = match second {
                Some(v) => {
                    assert_eq!(v, 2);
                    "published by the other receive"
                }
                None => {
                    let d = q.try_receive().expect("published once the scan is done");
                    assert_eq!(*d, 2);
                    d.ack().unwrap();
                    "published later"
                }
            };
            assert_eq!(q.scheduled(), 0);
            assert_eq!(q.settled_below().get(), 2);
            outcome
        },
    );
}
