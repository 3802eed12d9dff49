//! No heap allocation on publish, receive, ack or nack after `build()`:
//! a counting global allocator (`tests/common/counting.rs`) that counts
//! the test thread's allocations only, so the test harness's own
//! threads cannot spoil the count.

use std::cell::Cell;
use std::time::Duration;

use ackring::{AckQueue, ManualClock, Redelivery};

mod common;
use common::counting::{Counting, ALLOCATIONS};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn hot_paths_do_not_allocate() {
    let clock = ManualClock::new();
    let q = AckQueue::<u64>::builder()
        .capacity(16)
        .max_in_flight(4)
        .lease(Duration::from_secs(5))
        .max_deliveries(3)
        .clock(clock.clone())
        .build()
        .unwrap();
    let before = ALLOCATIONS.with(Cell::get);
    let mut sum = 0;
    for i in 0..2000_u64 {
        q.try_publish(i).unwrap();
        let d = q.try_receive().unwrap();
        match i % 5 {
            0 => d.nack(true).unwrap(),
            1 => drop(d),
            2 => d.nack(false).unwrap(),
            3 => {
                let tag = d.detach();
                q.extend_lease(tag, Duration::from_secs(1)).unwrap();
                q.ack(tag).unwrap();
            }
            _ => d.ack().unwrap(),
        }
        while let Some(d) = q.try_receive() {
            sum += *d;
            d.ack().unwrap();
        }
        while let Some(dead) = q.try_receive_dead_letter() {
            sum += dead.into_inner();
        }
        if i % 7 == 0 {
            q.try_publish(i).unwrap();
            let _tag = q.try_receive().unwrap().detach();
            clock.advance(Duration::from_secs(6));
            q.requeue_expired();
            q.try_receive().unwrap().ack().unwrap();
        }
        let _ = q.settled_below();
    }
    let after = ALLOCATIONS.with(Cell::get);
    assert_eq!(after - before, 0, "allocations on the hot paths");
    assert!(sum > 0);
    assert_eq!(q.settled_below().get(), q.stats().published);
}

/// With latency recorded: the publish stamp, the histograms and `stats`
/// allocate nothing after `build()` (`latency()` copies its snapshot, and
/// is not a hot path).
#[test]
fn latency_recording_does_not_allocate() {
    let clock = ManualClock::new();
    let q = AckQueue::<u64>::builder()
        .capacity(16)
        .max_in_flight(4)
        .clock(clock.clone())
        .latency(true)
        .build()
        .unwrap();
    let before = ALLOCATIONS.with(Cell::get);
    for i in 0..2000_u64 {
        q.try_publish(i).unwrap();
        clock.advance(Duration::from_micros(i));
        let d = q.try_receive().unwrap();
        if i % 3 == 0 {
            d.nack(true).unwrap();
            q.try_receive().unwrap().ack().unwrap();
        } else {
            d.ack().unwrap();
        }
        let _ = q.stats();
    }
    let after = ALLOCATIONS.with(Cell::get);
    assert_eq!(after - before, 0, "allocations with latency recorded");
    assert_eq!(q.latency().unwrap().end_to_end.count(), 2000);
}

/// Owned deliveries too: their `Arc` clone is a reference count, so
/// receiving them (all three calls), acking, nacking, dropping, detaching
/// and extending their leases allocates nothing after `build()`.
#[test]
fn owned_deliveries_do_not_allocate() {
    let clock = ManualClock::new();
    let q = std::sync::Arc::new(
        AckQueue::<u64>::builder()
            .capacity(16)
            .max_in_flight(4)
            .lease(Duration::from_secs(5))
            .clock(clock.clone())
            .build()
            .unwrap(),
    );
    let before = ALLOCATIONS.with(Cell::get);
    let mut sum = 0;
    for i in 0..2000_u64 {
        // Every place is free (so that the blocking receives below find
        // one); `stats` allocates nothing either.
        assert_eq!(q.stats().in_flight, 0, "a place was kept");
        q.try_publish(i).unwrap();
        let d = match i % 3 {
            0 => q.try_receive_owned().unwrap(),
            1 => q.receive_owned().unwrap(),
            _ => q
                .receive_owned_timeout(Duration::from_secs(1))
                .unwrap()
                .unwrap(),
        };
        match i % 4 {
            0 => drop(d),
            1 => d.nack(true).unwrap(),
            2 => {
                d.extend_lease(Duration::from_secs(1)).unwrap();
                let tag = d.detach();
                q.ack(tag).unwrap();
            }
            _ => d.ack().unwrap(),
        }
        while let Some(d) = q.try_receive_owned() {
            sum += *d;
            d.ack().unwrap();
        }
    }
    let after = ALLOCATIONS.with(Cell::get);
    assert_eq!(after - before, 0, "allocations receiving owned deliveries");
    assert_eq!(sum, (0..2000_u64).filter(|i| i % 4 < 2).sum::<u64>());
    assert_eq!(q.stats().acked, 2000);
    assert_eq!(std::sync::Arc::strong_count(&q), 1);
}

/// Without a lease a guard that is its entry's sole mover acks by plain
/// stores; a guard whose tag was handed out, or a message whose home entry
/// is busy (it goes to a spare), takes the other paths. None allocates,
/// nor do the blocking calls, under any wait strategy, waiting included
/// (a receive that times out on an empty queue).
#[test]
fn paths_without_a_lease_and_every_wait_strategy_do_not_allocate() {
    use ackring::WaitStrategy;
    for strategy in [
        WaitStrategy::Spin,
        WaitStrategy::Backoff,
        WaitStrategy::Park,
    ] {
        let q = AckQueue::<u64>::builder()
            .capacity(4)
            .max_in_flight(4)
            .wait_strategy(strategy)
            .build()
            .unwrap();
        let before = ALLOCATIONS.with(Cell::get);
        let mut sum = 0;
        for i in 0..500_u64 {
            q.publish(i).unwrap();
            let d = q.receive().unwrap();
            let seq = d.seq();
            sum += *d;
            match i % 4 {
                // The sole mover's ack.
                0 => d.ack().unwrap(),
                // A handed-out tag: the guard acks by CAS.
                1 => {
                    let _tag = d.tag();
                    d.ack().unwrap();
                }
                // Held while the next publishes go round the ring: their
                // home entry is busy, so one goes to a spare.
                2 => {
                    for j in 0..4 {
                        q.try_publish(1000 + j).unwrap();
                        let other = q.try_receive().unwrap();
                        sum += *other;
                        other.ack().unwrap();
                    }
                    d.ack().unwrap();
                }
                _ => {
                    let tag = d.detach();
                    q.ack(tag).unwrap();
                }
            }
            assert!(matches!(
                q.receive_timeout(Duration::from_micros(50)),
                Ok(None)
            ));
            assert!(
                q.wait_settled(seq, Duration::from_millis(1)),
                "{strategy:?}"
            );
        }
        let after = ALLOCATIONS.with(Cell::get);
        assert_eq!(after - before, 0, "{strategy:?}: allocations");
        let fresh: u64 = (0..500).sum();
        let others: u64 = (0..125).map(|_| (1000..1004).sum::<u64>()).sum();
        assert_eq!(sum, fresh + others, "{strategy:?}");
        assert_eq!(q.settled_below().get(), q.stats().published, "{strategy:?}");
    }
}

/// Requeues delayed by a redelivery policy (nack, drop, expired lease),
/// their release by the scan, and their redelivery allocate nothing.
#[test]
fn redelivery_policy_paths_do_not_allocate() {
    let clock = ManualClock::new();
    let ms = Duration::from_millis;
    let q = AckQueue::<u64>::builder()
        .capacity(16)
        .max_in_flight(4)
        .lease(ms(100))
        .max_deliveries(4)
        .redelivery(Redelivery::exponential(ms(1), ms(8)).jitter())
        .clock(clock.clone())
        .build()
        .unwrap();
    let before = ALLOCATIONS.with(Cell::get);
    for i in 0..500_u64 {
        q.try_publish(i).unwrap();
        let d = q.try_receive().unwrap();
        match i % 3 {
            0 => d.nack(true).unwrap(),
            1 => drop(d),
            _ => {
                let _tag = d.detach();
                clock.advance(ms(100));
                assert_eq!(q.requeue_expired(), 1);
            }
        }
        assert!(q.try_receive().is_none());
        clock.advance(ms(8));
        q.try_receive().unwrap().ack().unwrap();
    }
    let after = ALLOCATIONS.with(Cell::get);
    assert_eq!(after - before, 0, "allocations on the redelivery paths");
    assert_eq!(q.settled_below().get(), 500);
}

/// Delayed publishes (scheduled, released into the fresh ring by the
/// scan, drained) and expiry at the first delivery (dead-lettered or
/// dropped) allocate nothing.
#[test]
fn delayed_publish_and_expiry_paths_do_not_allocate() {
    let clock = ManualClock::new();
    let ms = Duration::from_millis;
    let build = |drop_expired: bool| {
        AckQueue::<u64>::builder()
            .capacity(16)
            .max_in_flight(4)
            .delay_capacity(4)
            .ttl(ms(10))
            .drop_expired(drop_expired)
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    let (dead, dropped) = (build(false), build(true));
    let before = ALLOCATIONS.with(Cell::get);
    for i in 0..300_u64 {
        for q in [&dead, &dropped] {
            q.try_publish_after(i, ms(5)).unwrap();
            q.try_publish(i).unwrap();
            q.try_publish_with_ttl(i, ms(50)).unwrap();
            clock.advance(ms(10));
            // The plain publish expired; the delayed one is due and
            // published now, the one with its own ttl still lives.
            let mut got = 0;
            while let Some(d) = q.try_receive() {
                got += 1;
                d.ack().unwrap();
            }
            assert_eq!(got, 2);
            while let Some(dead) = q.try_receive_dead_letter() {
                assert_eq!(dead.reason(), ackring::DeadReason::Expired);
            }
        }
    }
    let after = ALLOCATIONS.with(Cell::get);
    assert_eq!(after - before, 0, "allocations on the time paths");
    assert_eq!(dead.stats().dead_lettered, 300);
    assert_eq!(dropped.dropped_expired(), 300);
    assert_eq!(dropped.settled_below().get(), 900);
}
