//! The queue's figures, on the manual clock: exact waiting, processing and
//! end-to-end times of scripted messages, percentiles within the
//! histogram's stated precision (1/32, exact below 16), the length and
//! age figures, the counters against the accounting identity, and the
//! rates between two snapshots.

use std::thread;
use std::time::Duration;

use ackring::{AckQueue, HistogramSnapshot, ManualClock, Stats};

const MS: u64 = 1_000_000;

fn queue(clock: &ManualClock) -> AckQueue<u64> {
    AckQueue::builder()
        .capacity(64)
        .max_in_flight(16)
        .max_deliveries(3)
        .clock(clock.clone())
        .latency(true)
        .build()
        .unwrap()
}

/// `got` is the histogram's report of a value whose true value is `want`.
fn within_precision(got: u64, want: u64) -> bool {
    got.abs_diff(want) <= want / 32
}

/// The one value a histogram holds, checked within precision.
fn only(h: &HistogramSnapshot, want: u64, what: &str) {
    assert_eq!(h.count(), 1, "{what}: count");
    assert_eq!(h.sum(), want, "{what}: the exact sum");
    assert!(
        within_precision(h.max(), want),
        "{what}: {} vs {want}",
        h.max()
    );
}

fn identity(s: &Stats) {
    assert_eq!(
        s.published,
        s.acked + s.dead_taken + s.drained + s.dropped + s.unsettled(),
        "published = acked + dead taken + drained + dropped + unsettled: {s:?}"
    );
}

#[test]
fn one_message_has_exact_waiting_processing_and_end_to_end_times() {
    let clock = ManualClock::new();
    let q = queue(&clock);
    q.try_publish(1).unwrap();
    clock.advance(Duration::from_millis(7));
    let d = q.try_receive().unwrap();
    clock.advance(Duration::from_millis(11));
    d.ack().unwrap();
    let l = q.latency().unwrap();
    only(&l.waiting, 7 * MS, "waiting");
    only(&l.processing, 11 * MS, "processing");
    only(&l.end_to_end, 18 * MS, "end to end");
    assert_eq!(l.delivery_count.max(), 1);
    assert_eq!(l.delivery_count.sum(), 1);
}

#[test]
fn a_redelivered_message_counts_each_delivery_and_its_whole_life() {
    let clock = ManualClock::new();
    let q = queue(&clock);
    q.try_publish(1).unwrap();
    clock.advance(Duration::from_millis(1));
    let d = q.try_receive().unwrap();
    clock.advance(Duration::from_millis(2));
    d.nack(true).unwrap(); // processed 2 ms, then requeued
    clock.advance(Duration::from_millis(4));
    let d = q.try_receive().unwrap();
    assert_eq!(d.delivery_count(), 2);
    clock.advance(Duration::from_millis(8));
    d.ack().unwrap();
    let l = q.latency().unwrap();
    // Waiting counts the first delivery only.
    only(&l.waiting, MS, "waiting");
    assert_eq!(l.processing.count(), 2);
    assert_eq!(l.processing.sum(), 10 * MS);
    only(&l.end_to_end, 15 * MS, "end to end");
    assert_eq!((l.delivery_count.count(), l.delivery_count.max()), (1, 2));
}

#[test]
fn percentiles_of_scripted_messages_are_within_the_stated_precision() {
    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .capacity(128)
        .max_in_flight(128)
        .clock(clock.clone())
        .latency(true)
        .build()
        .unwrap();
    // Message i is published at i ms and received at 100 ms: it waits
    // (100 - i) ms, so the waiting times are 1..=100 ms.
    for i in 0..100u64 {
        q.try_publish(i).unwrap();
        clock.advance(Duration::from_millis(1));
    }
    let mut held = Vec::new();
    while let Some(d) = q.try_receive() {
        held.push(d);
    }
    assert_eq!(held.len(), 100);
    // Processing: the k-th ack comes k ms after the receive.
    for d in held {
        clock.advance(Duration::from_millis(1));
        d.ack().unwrap();
    }
    let l = q.latency().unwrap();
    // Waiting times are 1..=100 ms, processing times 1..=100 ms.
    for h in [&l.waiting, &l.processing] {
        assert_eq!(h.count(), 100);
        assert_eq!(h.sum(), 5050 * MS);
        for (q, want) in [(0.5, 50), (0.9, 90), (0.99, 99), (1.0, 100), (0.0, 1)] {
            let got = h.value_at_quantile(q);
            assert!(within_precision(got, want * MS), "p{q}: {got} vs {want} ms");
        }
    }
    // End to end: message i, published at i ms, acked at 100 + i + 1 ms,
    // lives 101 ms, every one.
    assert_eq!(l.end_to_end.count(), 100);
    assert_eq!(l.end_to_end.sum(), 100 * 101 * MS);
    assert!(within_precision(l.end_to_end.min(), 101 * MS));
    assert!(within_precision(l.end_to_end.max(), 101 * MS));
}

#[test]
fn latency_is_off_unless_asked_for() {
    let clock = ManualClock::new();
    let q = AckQueue::builder().clock(clock.clone()).build().unwrap();
    q.try_publish(1).unwrap();
    clock.advance(Duration::from_secs(1));
    q.try_receive().unwrap().ack().unwrap();
    assert!(q.latency().is_none());
}

#[test]
fn without_latency_the_oldest_waiting_age_counts_from_the_first_look() {
    // No publish times: the age of the message at the head counts from
    // the first `stats` call that sees it waiting, and starts again when
    // the head moves on.
    let clock = ManualClock::new();
    let q = AckQueue::builder().clock(clock.clone()).build().unwrap();
    assert_eq!(q.stats().oldest_waiting, None);
    q.try_publish(1).unwrap();
    q.try_publish(2).unwrap();
    clock.advance(Duration::from_millis(3)); // published unseen: not counted
    assert_eq!(q.stats().oldest_waiting, Some(Duration::ZERO));
    clock.advance(Duration::from_millis(4));
    assert_eq!(q.stats().oldest_waiting, Some(Duration::from_millis(4)));
    clock.advance(Duration::from_millis(1));
    assert_eq!(q.stats().oldest_waiting, Some(Duration::from_millis(5)));
    let first = q.try_receive().unwrap(); // the head moves on to 2
    assert_eq!(q.stats().oldest_waiting, Some(Duration::ZERO));
    clock.advance(Duration::from_millis(2));
    assert_eq!(q.stats().oldest_waiting, Some(Duration::from_millis(2)));
    let second = q.try_receive().unwrap();
    assert_eq!(q.stats().oldest_waiting, None);
    first.ack().unwrap();
    second.ack().unwrap();
}

#[test]
fn oldest_ages_follow_the_scripted_messages() {
    let clock = ManualClock::new();
    let q = queue(&clock);
    assert_eq!(q.stats().oldest_waiting, None);
    assert_eq!(q.stats().oldest_in_flight, None);
    q.try_publish(1).unwrap(); // at 0
    clock.advance(Duration::from_millis(5));
    q.try_publish(2).unwrap(); // at 5
    clock.advance(Duration::from_millis(5));
    let s = q.stats();
    assert_eq!(s.oldest_waiting, Some(Duration::from_millis(10)));
    let one = q.try_receive().unwrap(); // at 10
    clock.advance(Duration::from_millis(3));
    let s = q.stats();
    assert_eq!(s.oldest_waiting, Some(Duration::from_millis(8))); // 2
    assert_eq!(s.oldest_in_flight, Some(Duration::from_millis(3))); // 1
    let two = q.try_receive().unwrap(); // at 13
    clock.advance(Duration::from_millis(1));
    let s = q.stats();
    assert_eq!(s.oldest_waiting, None);
    assert_eq!(s.oldest_in_flight, Some(Duration::from_millis(4)));
    // A requeued message waits again, its age counted from its publish.
    one.nack(true).unwrap(); // at 14
    let s = q.stats();
    assert_eq!(s.oldest_waiting, Some(Duration::from_millis(14)));
    assert_eq!(s.oldest_in_flight, Some(Duration::from_millis(1))); // 2
    two.ack().unwrap();
    q.try_receive().unwrap().ack().unwrap();
    let s = q.stats();
    assert_eq!((s.oldest_waiting, s.oldest_in_flight), (None, None));
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

#[test]
fn lengths_split_waiting_delayed_in_flight_and_dead() {
    let clock = ManualClock::new();
    let q = queue(&clock);
    for i in 0..6 {
        q.try_publish(i).unwrap();
    }
    let a = q.try_receive().unwrap();
    let b = q.try_receive().unwrap();
    let c = q.try_receive().unwrap();
    let _held = q.try_receive().unwrap();
    a.nack_after(Duration::from_secs(1)).unwrap(); // delayed
    b.nack(false).unwrap(); // dead letter
    c.nack(true).unwrap(); // requeued: waiting again
    let s = q.stats();
    assert_eq!(
        (s.waiting, s.delayed, s.in_flight, s.dead_letters, s.ready),
        (3, 1, 1, 1, 4)
    );
    identity(&s);
}

#[test]
fn counters_meet_the_accounting_identity_at_every_quiescent_point() {
    let clock = ManualClock::new();
    let q = queue(&clock);
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut held = Vec::new();
    for step in 0..2000u64 {
        match next() % 8 {
            0..=2 => {
                let _ = q.try_publish(step);
            }
            3 => {
                if let Some(d) = q.try_receive() {
                    held.push(d);
                }
            }
            4 if !held.is_empty() => {
                let d = held.swap_remove((next() % held.len() as u64) as usize);
                d.ack().unwrap();
            }
            5 if !held.is_empty() => {
                let d = held.swap_remove((next() % held.len() as u64) as usize);
                d.nack(next() % 3 != 0).unwrap();
            }
            6 => {
                let _ = q.try_receive_dead_letter();
            }
            _ => clock.advance(Duration::from_micros(next() % 100)),
        }
        identity(&q.stats());
    }
    drop(held); // requeues
    identity(&q.stats());
    q.close();
    let drained = q.drain().len() as u64;
    let s = q.stats();
    identity(&s);
    assert_eq!(s.unsettled(), 0);
    assert!(s.drained <= drained, "{s:?}");
    assert!(
        s.acked > 0 && s.dead_lettered > 0 && s.redelivered > 0,
        "{s:?}"
    );
    let l = q.latency().unwrap();
    assert_eq!(l.end_to_end.count(), s.acked);
    assert_eq!(l.delivery_count.count(), s.acked);
    assert_eq!(l.waiting.count(), s.delivered - s.redelivered);
}

#[test]
fn counters_meet_the_identity_after_concurrent_work() {
    let q = AckQueue::builder()
        .capacity(32)
        .max_in_flight(8)
        .latency(true)
        .build()
        .unwrap();
    const N: u64 = 20_000;
    thread::scope(|s| {
        for p in 0..2 {
            let q = &q;
            s.spawn(move || {
                for i in 0..N / 2 {
                    q.publish(p * N + i).unwrap();
                }
            });
        }
        for _ in 0..2 {
            let q = &q;
            s.spawn(move || {
                while let Ok(Some(d)) = q.receive_timeout(Duration::from_millis(200)) {
                    if *d % 7 == 0 && d.delivery_count() == 1 {
                        d.nack(true).unwrap();
                    } else {
                        d.ack().unwrap();
                    }
                }
            });
        }
    });
    let s = q.stats();
    identity(&s);
    assert_eq!((s.published, s.acked, s.unsettled()), (N, N, 0));
    let l = q.latency().unwrap();
    assert_eq!(l.end_to_end.count(), N);
    assert_eq!(l.waiting.count(), N);
    assert_eq!(l.processing.count(), N + s.redelivered);
    // Delivery counts: 1 for most, 2 for the nacked sevenths.
    assert_eq!(l.delivery_count.sum(), N + s.redelivered);
}

#[test]
fn rates_divide_the_counters_by_the_time_between_snapshots() {
    let clock = ManualClock::new();
    let q = queue(&clock);
    clock.advance(Duration::from_secs(5)); // rates count from the earlier snapshot
    let before = q.stats();
    for i in 0..12 {
        q.try_publish(i).unwrap();
    }
    for _ in 0..6 {
        q.try_receive().unwrap().ack().unwrap();
    }
    q.try_receive().unwrap().nack(false).unwrap();
    clock.advance(Duration::from_secs(3));
    let after = q.stats();
    let r = after.rates(&before);
    assert_eq!(r.elapsed, Duration::from_secs(3));
    assert_eq!((r.published, r.delivered, r.acked), (4.0, 7.0 / 3.0, 2.0));
    assert_eq!(
        (r.nacked, r.dead_lettered, r.redelivered),
        (1.0 / 3.0, 1.0 / 3.0, 0.0)
    );
    // No time passed: no rate.
    assert_eq!(after.rates(&after).published, 0.0);
}

#[test]
fn batch_receive_and_batch_ack_record_latency() {
    let clock = ManualClock::new();
    let q = queue(&clock);
    for i in 0..4 {
        q.try_publish(i).unwrap();
    }
    clock.advance(Duration::from_millis(2));
    let mut out = Vec::new();
    assert_eq!(q.try_receive_batch(4, &mut out), 4);
    clock.advance(Duration::from_millis(3));
    for d in out {
        d.ack().unwrap();
    }
    let l = q.latency().unwrap();
    assert_eq!((l.waiting.count(), l.waiting.sum()), (4, 8 * MS));
    assert_eq!((l.processing.count(), l.processing.sum()), (4, 12 * MS));
    assert_eq!((l.end_to_end.count(), l.end_to_end.sum()), (4, 20 * MS));
}

#[test]
fn since_gives_the_latencies_of_an_interval() {
    let clock = ManualClock::new();
    let q = queue(&clock);
    q.try_publish(1).unwrap();
    clock.advance(Duration::from_millis(50));
    q.try_receive().unwrap().ack().unwrap();
    let first = q.latency().unwrap();
    q.try_publish(2).unwrap();
    clock.advance(Duration::from_millis(2));
    q.try_receive().unwrap().ack().unwrap();
    let delta = q.latency().unwrap().since(&first);
    only(&delta.waiting, 2 * MS, "waiting of the interval");
}

#[test]
fn the_handles_read_the_queues_figures() {
    let clock = ManualClock::new();
    let (publisher, worker) = AckQueue::builder()
        .clock(clock.clone())
        .latency(true)
        .build_handles()
        .unwrap();
    publisher.try_publish(1_u64).unwrap();
    clock.advance(Duration::from_millis(3));
    worker.try_receive().unwrap().ack().unwrap();
    for (stats, latency) in [
        (publisher.stats(), publisher.latency()),
        (worker.stats(), worker.latency()),
    ] {
        assert_eq!((stats.published, stats.acked), (1, 1));
        only(&latency.unwrap().end_to_end, 3 * MS, "end to end");
    }
}

#[test]
fn the_identity_holds_with_expired_and_scheduled_messages() {
    // Time to live, both fates of an expired message, and delayed
    // publishes, with latency recorded: every message is counted once.
    for drop_expired in [false, true] {
        let clock = ManualClock::new();
        let q = AckQueue::builder()
            .capacity(8)
            .max_in_flight(8)
            .delay_capacity(4)
            .ttl(Duration::from_millis(5))
            .drop_expired(drop_expired)
            .clock(clock.clone())
            .latency(true)
            .build()
            .unwrap();
        for i in 0..3 {
            q.try_publish(i).unwrap();
        }
        q.try_publish_after(10, Duration::from_millis(10)).unwrap();
        q.try_publish_after(11, Duration::from_millis(10)).unwrap();
        identity(&q.stats());
        clock.advance(Duration::from_millis(6)); // the three expire
        assert!(q.try_receive().is_none(), "drop_expired {drop_expired}");
        let s = q.stats();
        identity(&s);
        assert_eq!(s.delivered, 0, "an expired message was never delivered");
        assert_eq!(q.latency().unwrap().waiting.count(), 0);
        clock.advance(Duration::from_millis(5)); // the two scheduled are due
        let a = q.try_receive().expect("a scheduled message, due");
        let b = q.try_receive().expect("the other");
        assert_eq!((*a, *b), (10, 11));
        identity(&q.stats());
        clock.advance(Duration::from_millis(1));
        a.ack().unwrap();
        b.ack().unwrap();
        let s = q.stats();
        identity(&s);
        assert_eq!((s.acked, s.delivered), (2, 2));
        // Each waited 1 ms from its release to its receive... or none:
        // released and received at the same reading.
        let l = q.latency().unwrap();
        assert_eq!(l.waiting.count(), 2);
        assert_eq!(l.waiting.sum(), 0, "received when released");
        assert_eq!(l.end_to_end.sum(), 2 * MS);
        if !drop_expired {
            while let Some(dead) = q.try_receive_dead_letter() {
                assert_eq!(dead.reason(), ackring::DeadReason::Expired);
                assert!(dead.into_inner() < 3);
            }
            identity(&q.stats());
        }
    }
}
