//! The blocking calls of an `AckQueue` under each wait strategy: every
//! message delivered and acked exactly once through them, timeouts kept,
//! `close` ending a wait, and an expired lease found by a waiting
//! receiver, which nobody notifies.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ackring::{AckQueue, Closed, ManualClock, WaitStrategy};

mod common;
use common::wait::{STALL, STRATEGIES};

fn queue(strategy: WaitStrategy, capacity: usize, max_in_flight: usize) -> AckQueue<u64> {
    AckQueue::builder()
        .capacity(capacity)
        .max_in_flight(max_in_flight)
        .wait_strategy(strategy)
        .build()
        .unwrap()
}

#[test]
fn the_builder_keeps_the_strategy_and_parks_by_default() {
    assert_eq!(
        AckQueue::<u8>::builder().build().unwrap().wait_strategy(),
        WaitStrategy::Park
    );
    for s in STRATEGIES {
        assert_eq!(queue(s, 1, 1).wait_strategy(), s);
    }
}

#[test]
fn every_message_is_received_and_acked_once_through_the_blocking_calls() {
    // Two producers and two consumers through two fresh slots and one
    // prefetch place: every call waits, often, for room, for a message or
    // for a place.
    const PER_PRODUCER: u64 = 5_000;
    for strategy in STRATEGIES {
        let q = queue(strategy, 2, 1);
        let seen = Mutex::new(BTreeSet::new());
        std::thread::scope(|s| {
            let producers: Vec<_> = (0..2_u64)
                .map(|p| {
                    let q = &q;
                    s.spawn(move || {
                        for v in p * PER_PRODUCER..(p + 1) * PER_PRODUCER {
                            q.publish(v).unwrap();
                        }
                    })
                })
                .collect();
            for _ in 0..2 {
                let (q, seen) = (&q, &seen);
                s.spawn(move || {
                    let mut mine = Vec::new();
                    q.consume(|d| {
                        assert_eq!(d.delivery_count(), 1, "{strategy:?}: no redelivery");
                        mine.push(*d);
                        d.ack().unwrap();
                    });
                    let mut seen = seen.lock().unwrap();
                    for v in mine {
                        assert!(seen.insert(v), "{strategy:?}: {v} delivered twice");
                    }
                });
            }
            for p in producers {
                p.join().unwrap();
            }
            q.close();
        });
        let seen = seen.into_inner().unwrap();
        assert_eq!(
            seen.len() as u64,
            2 * PER_PRODUCER,
            "{strategy:?}: every message"
        );
        assert_eq!(seen.iter().sum::<u64>(), (0..2 * PER_PRODUCER).sum::<u64>());
        let stats = q.stats();
        assert_eq!(
            (stats.published, stats.acked),
            (2 * PER_PRODUCER, 2 * PER_PRODUCER)
        );
        assert_eq!(q.settled_below().get(), 2 * PER_PRODUCER, "{strategy:?}");
    }
}

#[test]
fn a_receive_timeout_gives_up_after_its_timeout() {
    for strategy in STRATEGIES {
        let q = queue(strategy, 4, 4);
        let timeout = Duration::from_millis(20);
        let start = Instant::now();
        assert!(
            matches!(q.receive_timeout(timeout), Ok(None)),
            "{strategy:?}"
        );
        let took = start.elapsed();
        assert!(took >= timeout, "{strategy:?}: gave up after {took:?}");
        assert!(took < STALL, "{strategy:?}: overslept ({took:?})");
        // A message that comes in time is taken.
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(5));
                q.publish(9).unwrap();
            });
            let d = q
                .receive_timeout(STALL)
                .unwrap()
                .expect("published in time");
            assert_eq!(*d, 9);
            d.ack().unwrap();
        });
    }
}

#[test]
fn close_ends_a_blocked_receive_and_a_blocked_publish() {
    for strategy in STRATEGIES {
        // A receive waiting on an empty queue.
        let q = queue(strategy, 1, 1);
        std::thread::scope(|s| {
            let receiver = s.spawn(|| q.receive().err());
            std::thread::sleep(Duration::from_millis(10));
            q.close();
            assert_eq!(receiver.join().unwrap(), Some(Closed), "{strategy:?}");
        });
        // A publish waiting for room on a full one.
        let q = queue(strategy, 1, 1);
        q.publish(1).unwrap();
        std::thread::scope(|s| {
            let publisher = s.spawn(|| q.publish(2).err().map(|e| e.into_inner()));
            std::thread::sleep(Duration::from_millis(10));
            q.close();
            assert_eq!(
                publisher.join().unwrap(),
                Some(2),
                "{strategy:?}: the refused publish hands its message back"
            );
        });
        assert_eq!(q.drain(), [1], "{strategy:?}");
    }
}

#[test]
fn a_receive_waiting_for_a_place_gets_the_message_left_after_close() {
    // Closed with a message still waiting for its first delivery: the
    // receive waiting for the prefetch place is not ended by the close,
    // and takes it once the place comes back.
    for strategy in STRATEGIES {
        let q = queue(strategy, 2, 1);
        q.publish(1).unwrap();
        q.publish(2).unwrap();
        let held = q.receive().unwrap();
        std::thread::scope(|s| {
            let receiver = s.spawn(|| {
                let d = q.receive().unwrap();
                let v = *d;
                d.ack().unwrap();
                v
            });
            std::thread::sleep(Duration::from_millis(10));
            q.close();
            std::thread::sleep(Duration::from_millis(10));
            assert!(!receiver.is_finished(), "{strategy:?}: the place is held");
            held.ack().unwrap();
            assert_eq!(receiver.join().unwrap(), 2, "{strategy:?}");
        });
        assert_eq!(q.receive().err(), Some(Closed), "{strategy:?}: drained");
        assert_eq!(q.settled_below().get(), 2, "{strategy:?}");
    }
}

#[test]
fn a_waiting_receiver_finds_an_expired_lease_that_nobody_notifies() {
    for strategy in STRATEGIES {
        let clock = ManualClock::new();
        let q = AckQueue::builder()
            .lease(Duration::from_secs(1))
            .clock(clock.clone())
            .wait_strategy(strategy)
            .build()
            .unwrap();
        q.try_publish(5_u64).unwrap();
        let tag = q.try_receive().unwrap().detach();
        std::thread::scope(|s| {
            let receiver = s.spawn(|| {
                let d = q
                    .receive_timeout(STALL)
                    .unwrap()
                    .expect("the expired lease");
                (*d, d.delivery_count(), d.detach())
            });
            std::thread::sleep(Duration::from_millis(10));
            // Only the clock moves: no publish, settle or close notifies.
            clock.advance(Duration::from_secs(2));
            let (value, count, again) = receiver.join().unwrap();
            assert_eq!((value, count), (5, 2), "{strategy:?}");
            assert_eq!(q.ack(tag), Err(ackring::AckError::Stale), "{strategy:?}");
            q.ack(again).unwrap();
        });
    }
}

#[test]
fn wait_settled_sees_an_ack_from_another_thread() {
    for strategy in STRATEGIES {
        let q = queue(strategy, 4, 4);
        let seq = q.try_publish(1).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                let d = q.receive().unwrap();
                std::thread::sleep(Duration::from_millis(5));
                d.ack().unwrap();
            });
            assert!(q.wait_settled(seq, STALL), "{strategy:?}");
            assert!(q.wait_settled_through(seq, STALL), "{strategy:?}");
        });
    }
}
