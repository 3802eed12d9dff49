//! Behaviour of `AckQueue` call by call: configuration errors, exact
//! capacity, stale, double and foreign acks, leases, delays, dead letters,
//! close and drain; and the limits of an entry's state word (its delivery
//! count and its holders).

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ackring::{
    AckError, AckQueue, Closed, ConfigError, DeadReason, Delivery, ManualClock, PushError,
};

mod common;
use common::lease::leased;

/// The lease of the queues at the limits of the entry's state word.
const LEASE: Duration = Duration::from_secs(1);

/// A small queue whose deliveries hold a lease of `secs` seconds on `clock`.
fn small_leased(clock: &ManualClock, secs: u64) -> AckQueue<u32> {
    leased(clock, Duration::from_secs(secs))
        .capacity(8)
        .max_in_flight(4)
        .build()
        .unwrap()
}

#[test]
fn zero_settings_are_config_errors_naming_the_field() {
    let err = |b: ackring::AckQueueBuilder<u8>| b.build().unwrap_err().field();
    assert_eq!(err(AckQueue::builder().capacity(0)), "capacity");
    assert_eq!(err(AckQueue::builder().max_in_flight(0)), "max_in_flight");
    assert_eq!(err(AckQueue::builder().max_deliveries(0)), "max_deliveries");
    assert_eq!(err(AckQueue::builder().lease(Duration::ZERO)), "lease");
    let too_big = AckQueue::<u8>::builder().capacity(usize::MAX).build();
    assert!(matches!(too_big, Err(ConfigError::TooLarge { .. })));
    assert!(ConfigError::Zero { field: "lease" }
        .to_string()
        .contains("lease"));
}

#[test]
fn queue_is_send_sync_and_debug_without_t_debug() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<AckQueue<String>>();
    struct Opaque;
    let q = AckQueue::<Opaque>::builder().build().unwrap();
    q.try_publish(Opaque).unwrap();
    let d = q.try_receive().unwrap();
    assert!(format!("{q:?} {d:?}").contains("AckQueue"));
    let e = q.try_publish(Opaque).map(|_| ());
    assert!(e.is_ok());
    q.close();
    let e = q.try_publish(Opaque).unwrap_err();
    assert_eq!(format!("{e:?}"), "Closed(..)");
    d.ack().unwrap();
}

#[test]
fn double_stale_and_foreign_acks_are_refused() {
    let clock = ManualClock::new();
    let q = small_leased(&clock, 10);
    let other = small_leased(&clock, 10);
    q.try_publish(1).unwrap();
    other.try_publish(1).unwrap();
    let d = q.try_receive().unwrap();
    let foreign = other.try_receive().unwrap().tag();
    assert_eq!(q.ack(foreign), Err(AckError::ForeignTag));
    assert_eq!(q.nack(foreign, true), Err(AckError::ForeignTag));
    assert_eq!(
        q.extend_lease(foreign, Duration::from_secs(1)),
        Err(AckError::ForeignTag)
    );

    // Expired: the old tag is stale, the new delivery acks.
    let old = d.tag();
    clock.advance(Duration::from_secs(10));
    let again = q.try_receive().unwrap();
    assert_eq!((again.delivery_count(), again.redelivered()), (2, true));
    assert_eq!(*d, 1, "the expired holder still reads its message");
    assert_eq!(q.ack(old), Err(AckError::Stale));
    assert_eq!(q.nack(old, false), Err(AckError::Stale));
    assert_eq!(d.ack(), Err(AckError::Stale));
    let tag = again.tag();
    assert_eq!(again.ack(), Ok(()));
    assert_eq!(q.ack(tag), Err(AckError::AlreadySettled));
    assert_eq!(q.nack(tag, true), Err(AckError::AlreadySettled));
    assert_eq!(q.settled_below().get(), 1);
    let stats = q.stats();
    assert_eq!((stats.acked, stats.expired, stats.redelivered), (1, 1, 1));

    // Nacked, then acked by the same tag: already settled.
    q.try_publish(2).unwrap();
    let tag = q.try_receive().unwrap().detach();
    q.nack(tag, true).unwrap();
    assert_eq!(q.ack(tag), Err(AckError::AlreadySettled));
    let d = q.try_receive().unwrap();
    assert_eq!(q.ack(tag), Err(AckError::Stale));
    d.ack().unwrap();
}

#[test]
fn extend_lease_keeps_a_long_task_alive() {
    let clock = ManualClock::new();
    let q = small_leased(&clock, 10);
    q.try_publish(5).unwrap();
    let d = q.try_receive().unwrap();
    for _ in 0..5 {
        clock.advance(Duration::from_secs(8));
        d.extend_lease(Duration::from_secs(10)).unwrap();
        assert_eq!(q.requeue_expired(), 0);
        assert!(q.try_receive().is_none());
    }
    assert!(q.stats().oldest_in_flight >= Some(Duration::from_secs(40)));
    d.ack().unwrap();
    assert_eq!(q.stats().oldest_in_flight, None);
}

#[test]
fn nack_after_delays_redelivery() {
    let clock = ManualClock::new();
    let q = AckQueue::builder().clock(clock.clone()).build().unwrap();
    q.try_publish("retry me").unwrap();
    q.try_receive()
        .unwrap()
        .nack_after(Duration::from_secs(5))
        .unwrap();
    assert!(q.try_receive().is_none());
    assert_eq!(q.stats().ready, 1);
    clock.advance(Duration::from_secs(4));
    assert!(q.try_receive().is_none());
    clock.advance(Duration::from_secs(1));
    let d = q.try_receive().unwrap();
    assert_eq!(d.delivery_count(), 2);
    d.ack().unwrap();
}

#[test]
fn poison_message_is_dead_lettered_at_max_deliveries() {
    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .max_deliveries(3)
        .lease(Duration::from_secs(1))
        .clock(clock.clone())
        .build()
        .unwrap();
    q.try_publish("poison").unwrap();
    q.try_publish("fine").unwrap();
    q.try_receive().unwrap().nack(true).unwrap(); // 1: nacked
    let fine = q.try_receive().unwrap();
    assert_eq!(*fine, "poison", "requeued messages come first");
    drop(fine); // 2: dropped
    let third = q.try_receive().unwrap();
    assert_eq!(third.delivery_count(), 3);
    let _kept = third.detach();
    clock.advance(Duration::from_secs(1)); // 3: lease expires → dead
    assert_eq!(q.requeue_expired(), 1);
    let d = q.try_receive().unwrap();
    assert_eq!(*d, "fine");
    d.ack().unwrap();
    let dead = q.try_receive_dead_letter().unwrap();
    assert_eq!(
        (dead.seq().get(), dead.delivery_count(), dead.reason()),
        (0, 3, DeadReason::MaxDeliveries)
    );
    assert_eq!(dead.into_inner(), "poison");
    assert_eq!(q.settled_below().get(), 2);
    let stats = q.stats();
    assert_eq!((stats.dead_lettered, stats.dead_letters), (1, 0));
}

#[test]
fn value_dropped_once_when_last_holder_leaves() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .lease(Duration::from_secs(1))
        .clock(clock.clone())
        .build()
        .unwrap();
    q.try_publish(Counted(drops.clone())).unwrap();
    let first: Delivery<'_, Counted> = q.try_receive().unwrap();
    clock.advance(Duration::from_secs(1));
    let second = q.try_receive().unwrap();
    second.ack().unwrap();
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "the old holder still reads it"
    );
    assert_eq!(first.0.load(Ordering::SeqCst), 0);
    drop(first);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    // Everything left is dropped exactly once with the queue.
    for _ in 0..3 {
        q.try_publish(Counted(drops.clone())).unwrap();
    }
    let _tag = q.try_receive().unwrap().detach();
    q.try_receive().unwrap().nack(false).unwrap();
    drop(q);
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

#[test]
fn close_fails_publishes_and_drain_returns_everything_unsettled() {
    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .capacity(8)
        .max_in_flight(4)
        .clock(clock.clone())
        .build()
        .unwrap();
    for i in 0..7 {
        q.try_publish(i).unwrap();
    }
    q.try_receive().unwrap().nack(true).unwrap(); // 0: redelivery
    q.try_receive().unwrap().nack(false).unwrap(); // 1: dead letter
    let _detached = q.try_receive().unwrap().detach(); // 0, redelivered
    q.try_receive()
        .unwrap()
        .nack_after(Duration::from_secs(9))
        .unwrap();
    let held = q.try_receive().unwrap();
    let held_value = *held;
    q.close();
    assert!(matches!(q.try_publish(99), Err(PushError::Closed(99))));
    assert!(matches!(q.publish(98), Err(PushError::Closed(98))));
    let mut left = q.drain();
    left.sort_unstable();
    let mut expected: Vec<i32> = (0..7).filter(|&v| v != held_value).collect();
    expected.sort_unstable();
    assert_eq!(left, expected);
    assert_eq!(q.receive().unwrap_err(), Closed);
    held.nack(true).unwrap();
    // Requeued after the drain: the next drain returns it.
    assert_eq!(q.drain(), vec![held_value]);
    assert_eq!(q.settled_below().get(), 7);
    assert!(q.drain().is_empty());
}

#[test]
fn close_wakes_blocked_receivers_and_consume_returns() {
    let q = AckQueue::<u32>::builder().build().unwrap();
    std::thread::scope(|s| {
        let r = s.spawn(|| q.receive().map(|d| d.ack()));
        let c = s.spawn(|| {
            let mut n = 0;
            q.consume(|d| {
                n += *d;
                d.ack().unwrap();
            });
            n
        });
        std::thread::sleep(Duration::from_millis(20));
        q.close();
        assert_eq!(r.join().unwrap().unwrap_err(), Closed);
        assert_eq!(c.join().unwrap(), 0);
    });
    assert_eq!(
        q.receive_timeout(Duration::from_millis(1)).unwrap_err(),
        Closed
    );
}

#[test]
fn receive_timeout_and_wait_settled_time_out() {
    let q = AckQueue::<u32>::builder().build().unwrap();
    assert!(q
        .receive_timeout(Duration::from_millis(5))
        .unwrap()
        .is_none());
    let seq = q.try_publish(1).unwrap();
    assert!(!q.wait_settled(seq, Duration::from_millis(5)));
    q.try_receive().unwrap().ack().unwrap();
    assert!(q.wait_settled(seq, Duration::from_millis(5)));
}

#[test]
fn panicking_consumer_loses_nothing() {
    let q = AckQueue::<u32>::builder().build().unwrap();
    q.try_publish(42).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        q.consume(|d| {
            let _d = d;
            std::panic::resume_unwind(Box::new("handler failed"));
        })
    }));
    assert!(r.is_err());
    let d = q.try_receive().unwrap();
    assert_eq!((*d, d.delivery_count()), (42, 2));
    d.ack().unwrap();
}

#[test]
fn a_held_message_holds_back_nothing_but_its_own_prefetch_place() {
    let q = AckQueue::<u32>::builder()
        .capacity(3)
        .max_in_flight(3)
        .build()
        .unwrap();
    let stuck_seq = q.try_publish(0).unwrap();
    let stuck = q.try_receive().unwrap().detach();
    // Many capacities' worth of messages come and go while 0 stays in
    // flight; each is settled on its own.
    for i in 1..100 {
        let seq = q.try_publish(i).unwrap();
        let d = q.try_receive().unwrap();
        assert_eq!((*d, d.seq()), (i, seq));
        d.ack().unwrap();
        assert!(q.is_settled(seq));
    }
    // Capacity is whole: three wait while the held message is in flight.
    for i in 100..103 {
        q.try_publish(i).unwrap();
    }
    assert_eq!(q.try_publish(103).unwrap_err().into_inner(), 103);
    assert_eq!(q.stats().in_flight, 1);
    assert_eq!(q.settled_below(), stuck_seq);
    assert!(!q.is_settled(stuck_seq));
    q.ack(stuck).unwrap();
    assert!(q.is_settled(stuck_seq));
    assert_eq!(q.settled_below().get(), 100);
    for i in 100..103 {
        let d = q.try_receive().unwrap();
        assert_eq!(*d, i);
        d.ack().unwrap();
    }
    assert_eq!(q.settled_below().get(), 103);
}

#[test]
fn dead_letters_hold_places_of_their_own_then_keep_their_prefetch_place() {
    let q = AckQueue::<u32>::builder()
        .capacity(2)
        .max_in_flight(2)
        .dead_letter_capacity(1)
        .build()
        .unwrap();
    q.try_publish(0).unwrap();
    q.try_receive().unwrap().nack(false).unwrap();
    // Message 0 waits in the dead letters on a place of its own: the
    // capacity and both prefetch places are free.
    q.try_publish(1).unwrap();
    q.try_publish(2).unwrap();
    assert!(q.try_publish(3).unwrap_err().is_full());
    let one = q.try_receive().unwrap();
    let two = q.try_receive().unwrap();
    assert_eq!((*one, *two), (1, 2));
    // The dead-letter places are all taken: message 1 becomes a dead letter
    // that keeps its prefetch place, so only one delivery can be out now.
    one.nack(false).unwrap();
    two.ack().unwrap();
    q.try_publish(3).unwrap();
    q.try_publish(4).unwrap();
    let three = q.try_receive().unwrap();
    assert!(
        q.try_receive().is_none(),
        "the overflowed dead letter holds a place"
    );
    assert_eq!(q.stats().dead_letters, 2);
    assert_eq!(q.settled_below().get(), 0);
    // Dead letters come out in the order they died; taking the overflowed
    // one gives its prefetch place back.
    assert_eq!(q.try_receive_dead_letter().unwrap().into_inner(), 0);
    assert!(q.try_receive().is_none());
    assert_eq!(q.try_receive_dead_letter().unwrap().into_inner(), 1);
    let four = q.try_receive().unwrap();
    assert_eq!(*four, 4);
    three.ack().unwrap();
    assert_eq!(q.settled_below().get(), 4);
    four.ack().unwrap();
    assert_eq!(q.settled_below().get(), 5);
}

#[test]
fn an_ack_by_tag_settles_at_once_and_frees_the_place_when_the_guard_goes() {
    let q = AckQueue::<u32>::builder()
        .capacity(1)
        .max_in_flight(1)
        .build()
        .unwrap();
    let seq = q.try_publish(1).unwrap();
    let d = q.try_receive().unwrap();
    q.ack(d.tag()).unwrap();
    // Settled: the watermark passes it and a waiter returns at once...
    assert_eq!(q.settled_below().get(), 1);
    assert!(q.is_settled(seq));
    assert!(q.wait_settled(seq, std::time::Duration::ZERO));
    assert!(q.wait_settled_through(seq, std::time::Duration::ZERO));
    assert_eq!(q.stats().acked, 1);
    // ...but the guard can still read the message, so it keeps its
    // prefetch place until it goes.
    assert_eq!(*d, 1);
    q.try_publish(2).unwrap();
    assert!(q.try_receive().is_none());
    assert_eq!(d.ack(), Err(ackring::AckError::AlreadySettled));
    assert_eq!(*q.try_receive().unwrap(), 2);
}

#[test]
fn room_returns_as_receives_take_messages_over_many_laps() {
    let q = AckQueue::builder()
        .capacity(3)
        .max_in_flight(2)
        .build()
        .unwrap();
    let mut next = 0_u64;
    let mut expected = 0_u64;
    for _ in 0..1000 {
        // Fill to exactly the capacity: the fourth publish is refused
        // and hands the message back.
        while q.try_publish(next).is_ok() {
            next += 1;
        }
        assert_eq!(next - expected, 3, "capacity is exact");
        match q.try_publish(u64::MAX) {
            Err(PushError::Full(v)) => assert_eq!(v, u64::MAX),
            other => panic!("expected Full, got {other:?}"),
        }
        // Take two; exactly two publishes fit again.
        for _ in 0..2 {
            let d = q.try_receive().unwrap();
            assert_eq!(*d, expected);
            expected += 1;
            d.ack().unwrap();
        }
    }
    assert_eq!(q.settled_below().get(), expected);
    assert_eq!(q.stats().ready, 1, "the last lap left one message");
    assert_eq!(q.stats().published, next);
}

/// A leased queue of one message at a time, redelivered for as long as
/// its lease keeps expiring.
fn redelivered_forever(clock: &ManualClock) -> AckQueue<u32> {
    leased::<u32>(clock, LEASE)
        .capacity(1)
        .max_in_flight(1)
        .max_deliveries(u32::MAX)
        .build()
        .unwrap()
}

/// The attempt field of the state word keeps 16 bits of the delivery
/// count (past 2^16, the count modulo 2^15 in its upper half): a tag kept
/// across 2^16 redeliveries, or across 2^15 of them past that, must still
/// be refused as stale, not taken for the current delivery.
#[test]
fn tag_kept_across_65536_redeliveries_is_stale() {
    let clock = ManualClock::new();
    let q = redelivered_forever(&clock);
    q.try_publish(7).unwrap();
    let first = q.try_receive().unwrap().detach();
    let mut kept = None;
    for n in 2..=(1 << 16) + (1 << 15) + 1 {
        clock.advance(LEASE * 2);
        assert_eq!(q.requeue_expired(), 1);
        let d = q.try_receive().expect("redelivered");
        assert_eq!(d.delivery_count(), n);
        let tag = d.detach();
        if n == (1 << 16) + 1 {
            // The 65537th: the first of its 16 bits again, before the
            // upper half; and the one the last shares its bits with.
            kept = Some(tag);
            assert_eq!(q.ack(first), Err(AckError::Stale));
        }
    }
    // The current delivery is the 98305th; the first one's tag and the
    // 65537th's are stale.
    for old in [first, kept.unwrap()] {
        assert_eq!(q.ack(old), Err(AckError::Stale));
        assert_eq!(q.nack(old, true), Err(AckError::Stale));
        assert_eq!(q.extend_lease(old, LEASE), Err(AckError::Stale));
    }
    assert_eq!(q.settled_below().get(), 0, "nothing was settled");
    assert_eq!(q.stats().acked, 0);
}

/// One message whose lease keeps expiring while every expired delivery is
/// kept alive reaches the limit of the `holders` field. A receive must
/// then leave the message waiting (not panic, and not lose it).
#[test]
fn holders_limit_keeps_message_waiting_instead_of_panicking() {
    const LIMIT: usize = 4095;
    let clock = ManualClock::new();
    let q = redelivered_forever(&clock);
    q.try_publish(9).unwrap();
    let mut held: Vec<Delivery<'_, u32>> = Vec::with_capacity(LIMIT);
    for _ in 0..LIMIT {
        held.push(q.try_receive().expect("ready"));
        clock.advance(LEASE * 2);
        assert_eq!(q.requeue_expired(), 1);
    }
    let got = panic::catch_unwind(AssertUnwindSafe(|| q.try_receive().map(|d| d.detach())));
    let got = got.expect("try_receive must not panic at the holders limit");
    assert!(got.is_none(), "no delivery beyond the holders limit");
    assert!(held.iter().all(|d| **d == 9), "old holders still read it");
    // One old holder leaves: the message can be delivered again.
    drop(held.pop());
    let d = q.try_receive().expect("the message was kept");
    assert_eq!((*d, d.delivery_count()), (9, LIMIT as u32 + 1));
    d.ack().unwrap();
    drop(held);
    assert_eq!(q.settled_below().get(), 1);
    let stats = q.stats();
    assert_eq!((stats.in_flight, stats.ready, stats.acked), (0, 0, 1));
    // The entry came back: the queue still works at full capacity.
    q.try_publish(10).unwrap();
    q.try_receive().unwrap().ack().unwrap();
    assert_eq!(q.settled_below().get(), 2);
}

/// The deprecated name of the publishes' error is the same type, variants
/// and all, so code written against it keeps compiling.
#[test]
#[allow(deprecated)]
fn publish_error_is_another_name_for_push_error() {
    let q = AckQueue::builder().capacity(1).build().unwrap();
    q.try_publish(1u8).unwrap();
    let err: ackring::PublishError<u8> = q.try_publish(2).unwrap_err();
    assert!(matches!(err, ackring::PublishError::Full(2)));
    let same: ackring::PushError<u8> = err;
    assert_eq!(same.into_inner(), 2);
}
