//! Time in the ack layer, driven by a `ManualClock`: the redelivery
//! policy's exact due times for every kind of requeue, its override by
//! `nack_after`, and messages backing off never holding back due ones.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use ackring::{AckError, AckQueue, DeadReason, ManualClock, Redelivery};

const NS: Duration = Duration::from_nanos(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn with_policy(clock: &ManualClock, policy: Redelivery) -> AckQueue<u32> {
    AckQueue::builder()
        .capacity(8)
        .max_in_flight(4)
        .redelivery(policy)
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// Advances `clock` to one nanosecond before `due`, checks that nothing is
/// delivered (a full scan runs first), then to `due`, and returns what is
/// delivered then.
fn receive_exactly_at<'q>(
    q: &'q AckQueue<u32>,
    clock: &ManualClock,
    due: Duration,
) -> ackring::Delivery<'q, u32> {
    clock.advance(due - NS - clock_now(clock));
    assert_eq!(q.requeue_expired(), 0, "released before {due:?}");
    assert!(q.try_receive().is_none(), "delivered before {due:?}");
    clock.advance(NS);
    q.try_receive()
        .unwrap_or_else(|| panic!("not delivered at {due:?}"))
}

fn clock_now(clock: &ManualClock) -> Duration {
    use ackring::Clock;
    clock.now()
}

#[test]
fn each_redelivery_of_a_schedule_is_due_exactly_at_its_delay() {
    let clock = ManualClock::new();
    let q = with_policy(&clock, Redelivery::schedule([ms(10), ms(30), ms(100)]));
    q.try_publish(7).unwrap();
    let mut d = q.try_receive().unwrap();
    let mut now = Duration::ZERO;
    // The fourth and fifth redeliveries repeat the last delay.
    for (n, delay) in [ms(10), ms(30), ms(100), ms(100), ms(100)]
        .into_iter()
        .enumerate()
    {
        assert_eq!(d.delivery_count(), n as u32 + 1);
        d.nack(true).unwrap();
        now += delay;
        d = receive_exactly_at(&q, &clock, now);
        assert_eq!(*d, 7);
        assert!(d.redelivered());
    }
    assert_eq!(d.delivery_count(), 6);
    d.ack().unwrap();
    let s = q.stats();
    assert_eq!((s.acked, s.nacked, s.redelivered), (1, 5, 5));
}

#[test]
fn exponential_policy_doubles_to_its_cap_for_dropped_deliveries() {
    let clock = ManualClock::new();
    let q = with_policy(&clock, Redelivery::exponential(ms(1), ms(5)));
    q.try_publish(1).unwrap();
    let mut d = q.try_receive().unwrap();
    let mut now = Duration::ZERO;
    for delay in [ms(1), ms(2), ms(4), ms(5), ms(5)] {
        drop(d);
        now += delay;
        d = receive_exactly_at(&q, &clock, now);
    }
    assert_eq!(d.delivery_count(), 6);
    d.ack().unwrap();
}

#[test]
fn a_panicking_workers_message_waits_for_the_first_backoff() {
    let clock = ManualClock::new();
    let q = with_policy(&clock, Redelivery::schedule([ms(50)]));
    q.try_publish(9).unwrap();
    let unwound = catch_unwind(AssertUnwindSafe(|| {
        let d = q.try_receive().unwrap();
        assert_eq!(*d, 9);
        panic!("handler failed");
    }));
    assert!(unwound.is_err());
    assert!(q.try_receive().is_none(), "redelivered at once");
    let d = receive_exactly_at(&q, &clock, ms(50));
    assert_eq!((*d, d.delivery_count()), (9, 2));
    d.ack().unwrap();
}

#[test]
fn an_expired_lease_backs_off_and_its_late_ack_is_stale() {
    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .capacity(4)
        .max_in_flight(2)
        .lease(ms(100))
        .redelivery(Redelivery::schedule([ms(20)]))
        .clock(clock.clone())
        .build()
        .unwrap();
    q.try_publish(3_u32).unwrap();
    let tag = q.try_receive().unwrap().detach();
    clock.advance(ms(100));
    assert_eq!(q.requeue_expired(), 1);
    assert_eq!(q.stats().expired, 1);
    // Backing off: the expired delivery's ack is stale, nothing is ready.
    assert_eq!(q.ack(tag), Err(AckError::Stale));
    assert!(q.try_receive().is_none());
    let d = receive_exactly_at(&q, &clock, ms(120));
    assert_eq!(d.delivery_count(), 2);
    d.ack().unwrap();
}

#[test]
fn nack_after_overrides_the_policy_even_with_zero() {
    let clock = ManualClock::new();
    let q = with_policy(&clock, Redelivery::schedule([ms(500)]));
    q.try_publish(1).unwrap();
    q.try_receive().unwrap().nack_after(Duration::ZERO).unwrap();
    let d = q.try_receive().expect("nack_after(0) requeues at once");
    d.nack_after(ms(5)).unwrap();
    let d = receive_exactly_at(&q, &clock, ms(5));
    assert_eq!(d.delivery_count(), 3);
    // By tag as well.
    let tag = d.detach();
    q.nack_after(tag, ms(7)).unwrap();
    let d = receive_exactly_at(&q, &clock, ms(12));
    d.ack().unwrap();
}

#[test]
fn the_delivery_limit_dead_letters_without_a_delay() {
    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .max_deliveries(2)
        .redelivery(Redelivery::schedule([ms(10)]))
        .clock(clock.clone())
        .build()
        .unwrap();
    q.try_publish(5_u32).unwrap();
    q.try_receive().unwrap().nack(true).unwrap();
    clock.advance(ms(10));
    q.try_receive().unwrap().nack(true).unwrap();
    let dead = q.try_receive_dead_letter().expect("dead at once");
    assert_eq!(dead.reason(), DeadReason::MaxDeliveries);
    assert_eq!(dead.delivery_count(), 2);
}

#[test]
fn messages_backing_off_never_stop_fresh_ones() {
    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .capacity(4)
        .max_in_flight(8)
        .redelivery(Redelivery::schedule([Duration::from_secs(3600)]))
        .clock(clock.clone())
        .build()
        .unwrap();
    // Seven messages back off for an hour, holding seven prefetch places.
    for i in 0..7 {
        q.try_publish(i).unwrap();
        q.try_receive().unwrap().nack(true).unwrap();
    }
    // Fresh messages keep flowing through the eighth place, far more than
    // the capacity of the fresh ring.
    let mut sum = 0;
    for i in 100..200 {
        q.try_publish(i).unwrap();
        let d = q.try_receive().unwrap();
        sum += *d;
        d.ack().unwrap();
    }
    assert_eq!(sum, (100..200).sum::<u32>());
    clock.advance(Duration::from_secs(3600));
    let mut back: Vec<u32> = std::iter::from_fn(|| {
        q.try_receive().map(|d| {
            let v = *d;
            d.ack().unwrap();
            v
        })
    })
    .collect();
    back.sort_unstable();
    assert_eq!(back, (0..7).collect::<Vec<_>>());
    let s = q.stats();
    assert_eq!(s.published, 107);
    assert_eq!(s.acked, 107);
    assert_eq!(q.settled_below().get(), 107);
}

#[test]
fn jittered_delays_are_the_ones_the_policy_reports() {
    let clock = ManualClock::new();
    let policy = Redelivery::exponential(ms(100), ms(100)).jitter();
    let q = with_policy(&clock, policy.clone());
    let seq = q.try_publish(1).unwrap();
    q.try_receive().unwrap().nack(true).unwrap();
    let d = receive_exactly_at(&q, &clock, policy.delay(1, seq.get()));
    d.ack().unwrap();
}

fn scheduler(clock: &ManualClock, delay_capacity: usize) -> AckQueue<u32> {
    AckQueue::builder()
        .capacity(4)
        .max_in_flight(4)
        .delay_capacity(delay_capacity)
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[test]
fn delayed_publishes_come_in_due_order_never_early_while_due_ones_flow_past() {
    let clock = ManualClock::new();
    // Every delay place taken: due messages still flow.
    let q = scheduler(&clock, 5);
    // Scheduled out of due order; two share a due time (then scheduling
    // order decides).
    for (msg, at) in [(5, 40), (1, 10), (3, 30), (2, 20), (4, 30)] {
        q.try_publish_at(msg, ms(at)).unwrap();
    }
    assert_eq!(q.scheduled(), 5);
    // Far more due messages than the fresh ring holds pass them.
    for i in 100..150 {
        q.try_publish(i).unwrap();
        let d = q.try_receive().unwrap();
        assert_eq!(*d, i);
        d.ack().unwrap();
    }
    // Each exactly at its due time, not a nanosecond before.
    let mut got = Vec::new();
    for at in [10, 20] {
        let d = receive_exactly_at(&q, &clock, ms(at));
        got.push(*d);
        d.ack().unwrap();
    }
    // Several due at one look: published in due order.
    clock.advance(ms(40) - clock_now(&clock));
    while let Some(d) = q.try_receive() {
        got.push(*d);
        d.ack().unwrap();
    }
    assert_eq!(got, [1, 2, 3, 4, 5]);
    assert_eq!(q.scheduled(), 0);
    let s = q.stats();
    assert_eq!((s.published, s.acked), (55, 55));
    assert_eq!(q.settled_below().get(), 55);
}

#[test]
fn a_full_delay_capacity_refuses_with_the_message_and_frees_when_due() {
    let clock = ManualClock::new();
    let q = scheduler(&clock, 2);
    q.try_publish_after(1, ms(5)).unwrap();
    q.try_publish_after(2, ms(5)).unwrap();
    let err = q.try_publish_after(3, ms(5)).unwrap_err();
    assert!(matches!(err, ackring::PushError::Full(3)));
    clock.advance(ms(5));
    assert_eq!(*q.try_receive().unwrap(), 1);
    // Both were published by that receive's scan: two places free.
    q.try_publish_after(3, ms(1)).unwrap();
    q.try_publish_after(4, ms(1)).unwrap();
    q.close();
    let err = q.try_publish_after(5, ms(1)).unwrap_err();
    assert!(matches!(err, ackring::PushError::Closed(5)));
}

#[test]
fn a_due_delayed_publish_waits_for_room_in_the_fresh_ring() {
    let clock = ManualClock::new();
    let q = scheduler(&clock, 2);
    q.try_publish_after(9, ms(1)).unwrap();
    for i in 0..4 {
        q.try_publish(i).unwrap();
    }
    clock.advance(ms(1));
    assert_eq!(q.requeue_expired(), 0, "the fresh ring is full");
    assert_eq!(q.scheduled(), 1);
    let mut got = Vec::new();
    while let Some(d) = q.try_receive() {
        got.push(*d);
        d.ack().unwrap();
    }
    assert_eq!(got, [0, 1, 2, 3, 9]);
}

#[test]
fn close_then_drain_returns_delayed_publishes_and_receivers_finish() {
    let clock = ManualClock::new();
    let q = scheduler(&clock, 4);
    q.try_publish_after(1, ms(10)).unwrap();
    q.try_publish_after(2, ms(1)).unwrap();
    q.try_publish(3).unwrap();
    q.close();
    clock.advance(ms(5));
    // The due one finds the queue closed: never published.
    q.receive().unwrap().ack().unwrap();
    assert!(
        q.receive_timeout(ms(500)).is_err(),
        "a closed queue with only delayed publishes is finished"
    );
    let mut drained = q.drain();
    drained.sort_unstable();
    assert_eq!(drained, [1, 2]);
    assert_eq!(q.scheduled(), 0);
}

#[test]
fn a_blocked_delayed_publisher_gets_the_place_a_due_message_frees() {
    let clock = ManualClock::new();
    let q = scheduler(&clock, 1);
    q.try_publish_after(1, ms(1)).unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| q.publish_after(2, ms(1)));
        std::thread::sleep(ms(20));
        assert!(!waiter.is_finished());
        clock.advance(ms(1));
        let d = q.try_receive().unwrap();
        assert_eq!(*d, 1);
        d.ack().unwrap();
        waiter.join().unwrap().unwrap();
    });
    clock.advance(ms(1));
    let d = q.try_receive().unwrap();
    assert_eq!(*d, 2);
    d.ack().unwrap();
}

fn expiring(clock: &ManualClock, ttl: Option<Duration>, drop: bool) -> AckQueue<u32> {
    let mut b = AckQueue::builder()
        .capacity(8)
        .max_in_flight(4)
        .drop_expired(drop)
        .clock(clock.clone());
    if let Some(ttl) = ttl {
        b = b.ttl(ttl);
    }
    b.build().unwrap()
}

#[test]
fn a_message_waiting_past_its_ttl_is_dead_lettered_as_expired() {
    let clock = ManualClock::new();
    let q = expiring(&clock, Some(ms(100)), false);
    q.try_publish(1).unwrap();
    clock.advance(ms(50));
    q.try_publish(2).unwrap();
    // 1 ns before the first one's end: still delivered.
    clock.advance(ms(50) - NS);
    let d = q.try_receive().unwrap();
    assert_eq!((*d, d.delivery_count()), (1, 1));
    d.ack().unwrap();
    // The second one expires at 150 ms exactly.
    clock.advance(ms(50) + NS);
    assert!(q.try_receive().is_none());
    let dead = q.try_receive_dead_letter().unwrap();
    assert_eq!(dead.reason(), DeadReason::Expired);
    assert_eq!((*dead, dead.delivery_count(), dead.seq().get()), (2, 0, 1));
    let s = q.stats();
    assert_eq!((s.published, s.acked, s.dead_lettered), (2, 1, 1));
    assert_eq!(q.settled_below().get(), 2);
}

#[test]
fn ttl_ends_at_the_first_delivery_so_held_and_requeued_messages_never_expire() {
    let clock = ManualClock::new();
    let q = expiring(&clock, Some(ms(10)), false);
    q.try_publish(1).unwrap();
    let d = q.try_receive().unwrap();
    clock.advance(ms(100));
    // Held past its time to live: still acked by its holder...
    let tag = d.detach();
    q.nack(tag, true).unwrap();
    // ...and requeued past it: delivered again.
    let d = q.try_receive().unwrap();
    assert_eq!((*d, d.delivery_count()), (1, 2));
    d.ack().unwrap();
    assert!(q.try_receive_dead_letter().is_none());
}

#[test]
fn a_messages_own_ttl_replaces_the_queues() {
    let clock = ManualClock::new();
    let q = expiring(&clock, Some(ms(10)), false);
    q.try_publish_with_ttl(1, ms(100)).unwrap();
    q.try_publish_with_ttl(2, ms(5)).unwrap();
    q.try_publish(3).unwrap();
    clock.advance(ms(10));
    let d = q.try_receive().unwrap();
    assert_eq!(*d, 1);
    d.ack().unwrap();
    assert!(q.try_receive().is_none());
    let dead: Vec<u32> = std::iter::from_fn(|| q.try_receive_dead_letter().map(|d| *d)).collect();
    assert_eq!(dead, [2, 3]);
}

#[test]
fn a_per_message_ttl_works_on_a_queue_without_time_settings() {
    let clock = ManualClock::new();
    let q = expiring(&clock, None, false);
    q.try_publish_with_ttl(1, ms(5)).unwrap();
    q.try_publish(2).unwrap();
    clock.advance(ms(5));
    let mut out = Vec::new();
    assert_eq!(
        q.try_receive_batch(4, &mut out),
        1,
        "the batch skips the expired one"
    );
    assert_eq!(*out[0], 2);
    assert_eq!(q.ack_batch(out.drain(..), &mut Vec::new()), 1);
    assert_eq!(
        q.try_receive_dead_letter().unwrap().reason(),
        DeadReason::Expired
    );
}

#[test]
fn dropped_expired_messages_count_as_settled_in_the_accounting() {
    let clock = ManualClock::new();
    let q = expiring(&clock, Some(ms(10)), true);
    let mut seqs = Vec::new();
    for i in 0..6 {
        seqs.push(q.try_publish(i).unwrap());
    }
    let first = q.try_receive().unwrap(); // 0: held past the ttl
    clock.advance(ms(10));
    q.try_publish(6).unwrap();
    let d = q.try_receive().unwrap();
    assert_eq!(*d, 6, "1..=5 expired and were dropped");
    d.ack().unwrap();
    first.ack().unwrap();
    assert!(q.try_receive_dead_letter().is_none());
    assert_eq!(q.dropped_expired(), 5);
    let s = q.stats();
    assert_eq!((s.dropped, s.ttl_expired), (5, 5));
    assert_eq!(
        s.published,
        s.acked + s.dead_taken + s.drained + s.dropped + s.unsettled()
    );
    assert_eq!(s.published, s.acked + q.dropped_expired());
    assert!(seqs.iter().all(|&seq| q.is_settled(seq)));
    assert_eq!(q.settled_below().get(), 7);
}

#[test]
fn expiry_frees_the_prefetch_place_the_receive_took() {
    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .capacity(8)
        .max_in_flight(1)
        .dead_letter_capacity(8)
        .ttl(ms(1))
        .clock(clock.clone())
        .build()
        .unwrap();
    for i in 0..5_u32 {
        q.try_publish(i).unwrap();
    }
    clock.advance(ms(1));
    q.try_publish_with_ttl(9, ms(100)).unwrap();
    let d = q
        .try_receive()
        .expect("five expired messages cost no prefetch place");
    assert_eq!(*d, 9);
    d.ack().unwrap();
    let dead = std::iter::from_fn(|| q.try_receive_dead_letter()).count();
    assert_eq!(dead, 5);
    assert_eq!(q.settled_below().get(), 6);
}

/// A receive task waiting with a timer (as for leases) is reached by a
/// delayed publish coming due and by a redelivery after its backoff, on an
/// otherwise idle queue: nothing notifies it, its timer makes it look.
#[test]
fn a_delayed_publish_and_a_backoff_reach_a_receive_task_waiting_with_a_timer() {
    use std::sync::Arc;
    let clock = ManualClock::new();
    let q = Arc::new(
        AckQueue::<u32>::builder()
            .delay_capacity(1)
            .redelivery(Redelivery::schedule([ms(50)]))
            .clock(clock.clone())
            .build()
            .unwrap(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .unwrap();
    let spawn = |nack: bool| {
        let q = q.clone();
        rt.spawn(async move {
            let d = q
                .receive_async()
                .with_timer(tokio::time::sleep)
                .await
                .unwrap();
            let got = (*d, d.delivery_count());
            if nack {
                d.nack(true).unwrap();
            } else {
                d.ack().unwrap();
            }
            got
        })
    };
    let finish = |task: tokio::task::JoinHandle<(u32, u32)>| {
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the due message never reached the waiting task")
                .unwrap()
        })
    };
    q.try_publish_after(7_u32, ms(20)).unwrap();
    let task = spawn(true);
    std::thread::sleep(ms(30));
    assert!(!task.is_finished(), "delivered before due");
    clock.advance(ms(20));
    assert_eq!(finish(task), (7, 1));
    let task = spawn(false);
    std::thread::sleep(ms(30));
    assert!(!task.is_finished(), "redelivered before its backoff");
    clock.advance(ms(50));
    assert_eq!(finish(task), (7, 2));
    assert_eq!(q.settled_below().get(), 1);
}

/// An async delayed publish waiting for a delay place gets the one a due
/// message gives back, woken by it (no timer needed: the release notifies).
#[test]
fn an_async_delayed_publish_waits_for_a_delay_place() {
    use std::sync::Arc;
    let clock = ManualClock::new();
    let q = Arc::new(scheduler(&clock, 1));
    q.try_publish_after(1, ms(5)).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .unwrap();
    let task = {
        let q = q.clone();
        rt.spawn(async move { q.publish_after_async(2, ms(5)).await })
    };
    std::thread::sleep(ms(30));
    assert!(!task.is_finished(), "scheduled without a place");
    clock.advance(ms(5));
    let d = q.try_receive().unwrap(); // publishes 1, which frees its place
    assert_eq!(*d, 1);
    d.ack().unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the freed place never reached the waiting publish")
            .unwrap()
            .unwrap()
    });
    clock.advance(ms(5));
    let d = q.try_receive().unwrap();
    assert_eq!(*d, 2);
    d.ack().unwrap();
}
