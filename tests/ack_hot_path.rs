//! Behaviours of the publish/receive/ack fast paths: room comes back as
//! receives take messages, and a delivery's age without a lease.

use std::time::Duration;

use ackring::{AckQueue, ManualClock, PublishError};

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
            Err(PublishError::Full(v)) => assert_eq!(v, u64::MAX),
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

#[test]
fn age_without_a_lease_counts_from_the_first_stats_that_sees_it() {
    let clock = ManualClock::new();
    let q = AckQueue::builder().clock(clock.clone()).build().unwrap();
    q.try_publish(1).unwrap();
    clock.advance(Duration::from_secs(100));
    let d = q.try_receive().unwrap();
    clock.advance(Duration::from_secs(7));
    // No clock was read on receive: the first look stamps it.
    assert_eq!(q.stats().oldest_in_flight, Some(Duration::ZERO));
    clock.advance(Duration::from_secs(5));
    assert_eq!(q.stats().oldest_in_flight, Some(Duration::from_secs(5)));
    d.ack().unwrap();
    assert_eq!(q.stats().oldest_in_flight, None);
    // The entry's next delivery is stamped afresh, not with the old time.
    q.try_publish(2).unwrap();
    let d = q.try_receive().unwrap();
    clock.advance(Duration::from_secs(3));
    assert_eq!(q.stats().oldest_in_flight, Some(Duration::ZERO));
    d.ack().unwrap();
}

#[test]
fn age_with_a_lease_is_exact() {
    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .lease(Duration::from_secs(60))
        .clock(clock.clone())
        .build()
        .unwrap();
    q.try_publish(1).unwrap();
    let d = q.try_receive().unwrap();
    clock.advance(Duration::from_secs(9));
    assert_eq!(q.stats().oldest_in_flight, Some(Duration::from_secs(9)));
    d.ack().unwrap();
}
