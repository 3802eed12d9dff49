//! Loom models of the figures' shared state on the hot path: the publish
//! time a publisher stores beside its message in the fresh slot (read by
//! the receive that takes the message, and by `stats`' look at the
//! oldest waiting message), and the latency histograms that concurrent
//! settles add to.
#![cfg(loom)]

use std::time::Duration;

use ackring::{AckQueue, ManualClock};
use loom::sync::Arc;
use loom::thread;

mod util;
use util::clocked;

/// `util::explore` with room for the histograms: a snapshot loads each
/// of a histogram's 976 buckets, and loom counts every load as a branch.
fn explore(expected: &[&'static str], f: impl Fn() -> &'static str + Sync + Send + 'static) {
    util::explore_branching(100_000, expected, f);
}

const T: Duration = Duration::from_millis(10);

/// A one-slot queue recording latency on `clock`, whose slot has held a
/// message published, received and acked at 0: the slot's publish time
/// reads 0 until the next publish.
fn queue_after_one_lap(clock: &ManualClock) -> AckQueue<u32> {
    let q = AckQueue::builder()
        .capacity(1)
        .max_in_flight(2)
        .dead_letter_capacity(1)
        .clock(clock.clone())
        .latency(true)
        .build()
        .unwrap();
    q.try_publish(1).unwrap();
    q.try_receive().unwrap().ack().unwrap();
    q
}

#[test]
fn a_receive_reads_the_publish_time_of_its_own_message() {
    // Message 2 is published at T into the slot whose publish time still
    // says 0 (message 1's) and received at T: it waited 0. A receive that
    // read the slot's previous publish time would record T.
    explore(&["at the first try", "after waiting"], || {
        let clock = ManualClock::new();
        let q = Arc::new(queue_after_one_lap(&clock));
        clock.set(T);
        let publisher = {
            let q = q.clone();
            thread::spawn(move || {
                q.try_publish(2).unwrap();
            })
        };
        thread::yield_now(); // let the publisher go first at least once
                             // On a thread that has not yielded before its first try (README.md).
        let receiver = {
            let q = q.clone();
            thread::spawn(move || {
                let mut outcome = "at the first try";
                let d = loop {
                    if let Some(d) = q.try_receive() {
                        break d;
                    }
                    outcome = "after waiting";
                    thread::yield_now();
                };
                assert_eq!(*d, 2);
                d.ack().unwrap();
                outcome
            })
        };
        let outcome = receiver.join().unwrap();
        publisher.join().unwrap();
        let l = q.latency().unwrap();
        assert_eq!(l.waiting.count(), 2);
        assert_eq!(l.waiting.sum(), 0, "a receive read a stale publish time");
        outcome
    });
}

#[test]
fn the_oldest_waiting_age_never_reads_an_earlier_laps_publish_time() {
    // `stats` looks at the head slot while message 2 is published there
    // at T (the clock stays at T): it sees nothing waiting, or message 2,
    // aged 0; never message 1's publish time (an age of T).
    explore(&["nothing waiting yet", "message 2 waiting"], || {
        let clock = ManualClock::new();
        let q = Arc::new(queue_after_one_lap(&clock));
        clock.set(T);
        let publisher = {
            let q = q.clone();
            thread::spawn(move || {
                q.try_publish(2).unwrap();
            })
        };
        thread::yield_now(); // let the publisher go first at least once
                             // The look runs on a thread that never yielded (README.md: a
                             // yielding thread no longer reads a store it saw before).
        let looker = {
            let q = q.clone();
            thread::spawn(move || q.stats().oldest_waiting)
        };
        let outcome = match looker.join().unwrap() {
            None => "nothing waiting yet",
            Some(age) => {
                assert_eq!(age, Duration::ZERO, "an earlier lap's publish time");
                "message 2 waiting"
            }
        };
        publisher.join().unwrap();
        outcome
    });
}

#[test]
fn concurrent_acks_each_count_in_the_histograms() {
    // Two deliveries acked at once by two threads: each ack adds its
    // values to the same buckets; none is lost.
    explore(&["done"], || {
        let (q, clock) = clocked(2, 2, |b| b.latency(true));
        q.try_publish(1_u32).unwrap();
        q.try_publish(2).unwrap();
        clock.set(T);
        let a = q.try_receive().unwrap().detach();
        let b = q.try_receive().unwrap().detach();
        let acker = {
            let q = q.clone();
            thread::spawn(move || q.ack(a).unwrap())
        };
        q.ack(b).unwrap();
        acker.join().unwrap();
        let l = q.latency().unwrap();
        assert_eq!(l.end_to_end.count(), 2);
        assert_eq!(l.end_to_end.sum(), 2 * T.as_nanos() as u64);
        assert_eq!(l.delivery_count.sum(), 2);
        "done"
    });
}

#[test]
fn a_timed_publish_takes_the_slot_a_receive_is_freeing() {
    // A publish that keeps its publish time claims the slot by its own
    // path (`Core::push_with`): its write of the message must come after
    // the receive's take of the slot's previous message (loom checks the
    // slot's cell).
    explore(&["room at the first try", "waited for room"], || {
        let (q, _) = clocked(1, 1, |b| b.latency(true));
        q.try_publish(1_u32).unwrap();
        let receiver = {
            let q = q.clone();
            thread::spawn(move || {
                let d = q.try_receive().unwrap();
                assert_eq!(*d, 1);
                d.ack().unwrap();
            })
        };
        thread::yield_now(); // let the receiver go first at least once
        let mut outcome = "room at the first try";
        while q.try_publish(2).is_err() {
            outcome = "waited for room";
            thread::yield_now();
        }
        receiver.join().unwrap();
        let d = q.try_receive().unwrap();
        assert_eq!(*d, 2);
        d.ack().unwrap();
        outcome
    });
}

#[test]
fn a_timed_publish_wakes_a_parked_receiver() {
    // A receiver that found nothing sleeps on the queue's wait list; the
    // publish's CAS (one that keeps its time) on `tail` is the key of its wake-up, as a
    // plain publish's (the `wait` module docs). A lost wake-up leaves the
    // receiver asleep: loom reports the deadlock.
    explore(&["received"], || {
        let clock = ManualClock::new();
        let q = Arc::new(
            AckQueue::<u32>::builder()
                .capacity(1)
                .max_in_flight(1)
                .dead_letter_capacity(1)
                .clock(clock.clone())
                .latency(true)
                .build()
                .unwrap(),
        );
        let receiver = {
            let q = q.clone();
            thread::spawn(move || {
                let d = q.receive().unwrap();
                assert_eq!(*d, 7);
                d.ack().unwrap();
            })
        };
        q.try_publish(7_u32).unwrap();
        receiver.join().unwrap();
        "received"
    });
}
