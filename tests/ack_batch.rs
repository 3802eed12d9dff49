//! Batch receive and batch settle: the prefetch limit holds exactly for
//! batches racing batches and single receives, every message is accounted
//! for, and a batch settle reports each failing item at its index while
//! settling the others.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use ackring::{AckError, AckQueue, Delivery, ManualClock, PushError, Tag};

mod common;
use common::rng::Rng;

const LEASE: Duration = Duration::from_secs(10);
/// Far more than a run takes (well under a second): a stall is a bug.
const STALLED: Duration = Duration::from_secs(60);

/// Sets its flag if dropped by a panic: the other threads of a test then
/// stop instead of waiting for the one that failed.
struct OnPanic<'a>(&'a AtomicBool);

impl Drop for OnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, SeqCst);
        }
    }
}

/// Consumers receive in batches (one of them also by single calls) from a
/// queue whose prefetch limit binds: they hold what they got for a while,
/// counting it in `out` before they let go. `out` never exceeds
/// `max_in_flight`, and every message is received exactly once (count,
/// sum, no duplicates).
///
/// `out` is changed by RMWs (SeqCst): a consumer's decrement comes before
/// its ack in program order, and a receive that took the place that ack
/// gave back read the give-back before its own increment, so the
/// increment follows the decrement in `out`'s order.
#[test]
fn batch_receives_at_the_prefetch_limit_never_exceed_it_and_lose_nothing() {
    const PRODUCERS: u64 = 2;
    const PER_PRODUCER: u64 = 20_000;
    const TOTAL: u64 = PRODUCERS * PER_PRODUCER;
    const MAX_IN_FLIGHT: usize = 7;
    let q = AckQueue::<u64>::builder()
        .capacity(64)
        .max_in_flight(MAX_IN_FLIGHT)
        .build()
        .unwrap();
    let seen: Vec<AtomicU8> = (0..TOTAL).map(|_| AtomicU8::new(0)).collect();
    let out = AtomicUsize::new(0);
    let most_out = AtomicUsize::new(0);
    let received = AtomicU64::new(0);
    let sum = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let start = Instant::now();

    std::thread::scope(|s| {
        for p in 0..PRODUCERS {
            let (q, failed) = (&q, &failed);
            s.spawn(move || {
                for i in 0..PER_PRODUCER {
                    let mut v = p * PER_PRODUCER + i;
                    while let Err(PushError::Full(back)) = q.try_publish(v) {
                        if failed.load(SeqCst) {
                            return;
                        }
                        v = back;
                        std::thread::yield_now();
                    }
                }
            });
        }
        for c in 0..3_u64 {
            let (q, seen, out, most_out, received, sum, failed, start) =
                (&q, &seen, &out, &most_out, &received, &sum, &failed, &start);
            s.spawn(move || {
                let _failed = OnPanic(failed);
                let mut rng = Rng::new(c + 1);
                let mut batch: Vec<Delivery<'_, u64>> = Vec::with_capacity(MAX_IN_FLIGHT);
                let mut errors = Vec::new();
                while received.load(SeqCst) < TOTAL && !failed.load(SeqCst) {
                    let n = if c == 2 && rng.below(2) == 0 {
                        // A single receive racing the batches.
                        match q.try_receive() {
                            Some(d) => {
                                batch.push(d);
                                1
                            }
                            None => 0,
                        }
                    } else {
                        let max = 1 + rng.below(2 * MAX_IN_FLIGHT as u64) as usize;
                        let n = q.try_receive_batch(max, &mut batch);
                        assert!(n <= max, "asked for {max}, got {n}");
                        n
                    };
                    if n == 0 {
                        assert!(
                            start.elapsed() < STALLED,
                            "no progress: prefetch places were lost"
                        );
                        std::thread::yield_now();
                        continue;
                    }
                    let held = out.fetch_add(n, SeqCst) + n;
                    most_out.fetch_max(held, SeqCst);
                    assert!(
                        held <= MAX_IN_FLIGHT,
                        "{held} deliveries out with max_in_flight {MAX_IN_FLIGHT}"
                    );
                    for d in &batch {
                        assert!(!d.redelivered());
                        let v = **d;
                        assert_eq!(seen[v as usize].fetch_add(1, SeqCst), 0, "{v} twice");
                        sum.fetch_add(v, SeqCst);
                    }
                    // Hold the batch a little, so that the limit binds.
                    for _ in 0..rng.below(3) {
                        std::thread::yield_now();
                    }
                    out.fetch_sub(n, SeqCst);
                    received.fetch_add(n as u64, SeqCst);
                    assert_eq!(q.ack_batch(batch.drain(..), &mut errors), n);
                    assert!(errors.is_empty(), "{errors:?}");
                }
            });
        }
    });
    assert_eq!(received.load(SeqCst), TOTAL);
    assert_eq!(sum.load(SeqCst), TOTAL * (TOTAL - 1) / 2);
    assert!(seen.iter().all(|n| n.load(SeqCst) == 1));
    assert_eq!(
        most_out.load(SeqCst),
        MAX_IN_FLIGHT,
        "the limit was reached (else the test shows nothing)"
    );
    let stats = q.stats();
    assert_eq!(
        (stats.acked, stats.delivered, stats.in_flight),
        (TOTAL, TOTAL, 0)
    );
    assert_eq!(q.settled_below().get(), TOTAL);
}

/// Receives `n` deliveries in one batch and detaches them.
fn receive_tags(q: &AckQueue<u32>, n: usize) -> Vec<Tag> {
    let mut out = Vec::new();
    assert_eq!(q.try_receive_batch(n, &mut out), n);
    out.into_iter().map(Delivery::detach).collect()
}

/// A batch ack by tag with a stale tag (its lease expired and the message
/// was redelivered), a second ack of one tag and a tag of another queue in
/// the middle: each is reported at its index with its error, and every
/// other tag is acked.
#[test]
fn batch_ack_reports_stale_double_and_foreign_tags_at_their_index() {
    let clock = ManualClock::new();
    let q = AckQueue::<u32>::builder()
        .max_in_flight(8)
        .lease(LEASE)
        .clock(clock.clone())
        .build()
        .unwrap();
    let other = AckQueue::<u32>::builder().build().unwrap();
    other.try_publish(99).unwrap();
    let foreign = other.try_receive().unwrap().detach();
    for i in 0..5 {
        q.try_publish(i).unwrap();
    }
    let tags = receive_tags(&q, 5);
    // Message 1's lease expires, and it is delivered again.
    for (i, &t) in tags.iter().enumerate() {
        if i != 1 {
            q.extend_lease(t, LEASE * 3).unwrap();
        }
    }
    clock.advance(LEASE * 2);
    assert_eq!(q.requeue_expired(), 1);
    let again = q.try_receive().unwrap();
    assert_eq!((*again, again.delivery_count()), (1, 2));

    let batch = [
        tags[0], tags[1], tags[2], tags[2], foreign, tags[3], tags[4],
    ];
    let mut errors = Vec::with_capacity(batch.len());
    assert_eq!(q.ack_batch(batch, &mut errors), 4);
    assert_eq!(
        errors,
        [
            (1, AckError::Stale),
            (3, AckError::AlreadySettled),
            (4, AckError::ForeignTag),
        ]
    );
    assert_eq!(q.stats().acked, 4);
    for (i, &t) in tags.iter().enumerate() {
        if i != 1 {
            assert_eq!(q.ack(t), Err(AckError::AlreadySettled), "tag {i}");
        }
    }
    assert_eq!(q.settled_below().get(), 1, "message 1 is still in flight");
    assert_eq!(
        other.ack(foreign),
        Ok(()),
        "the foreign tag was not touched"
    );
    again.ack().unwrap();
    assert_eq!(q.settled_below().get(), 5);
}

/// The same with guards: a stale guard (lease expired, redelivered) and a
/// guard of another queue in the middle of a batch of guards. The stale
/// one is refused and lets go of its message, the foreign one is reported
/// and requeued in its own queue, the others are acked.
#[test]
fn batch_ack_of_guards_reports_stale_and_foreign_guards_at_their_index() {
    let clock = ManualClock::new();
    let q = AckQueue::<u32>::builder()
        .max_in_flight(8)
        .lease(LEASE)
        .clock(clock.clone())
        .build()
        .unwrap();
    let other = AckQueue::<u32>::builder().build().unwrap();
    other.try_publish(99).unwrap();
    for i in 0..4 {
        q.try_publish(i).unwrap();
    }
    let mut batch = Vec::new();
    assert_eq!(q.try_receive_batch(2, &mut batch), 2);
    clock.advance(LEASE * 2);
    assert_eq!(q.requeue_expired(), 2);
    // The two expired guards stay in the batch; their messages come again,
    // with the two fresh ones.
    let mut again = Vec::new();
    assert_eq!(q.try_receive_batch(8, &mut again), 4);
    assert_eq!(
        again
            .iter()
            .map(|d| (**d, d.delivery_count()))
            .collect::<Vec<_>>(),
        [(0, 2), (1, 2), (2, 1), (3, 1)]
    );
    batch.push(other.try_receive().unwrap());
    batch.extend(again.drain(2..));
    // [stale 0, stale 1, foreign, 2, 3]
    let mut errors = Vec::new();
    assert_eq!(q.ack_batch(batch.drain(..), &mut errors), 2);
    assert_eq!(
        errors,
        [
            (0, AckError::Stale),
            (1, AckError::Stale),
            (2, AckError::ForeignTag),
        ]
    );
    let requeued = other
        .try_receive()
        .expect("the foreign guard requeued its message");
    assert_eq!((*requeued, requeued.delivery_count()), (99, 2));
    requeued.ack().unwrap();
    assert_eq!(q.stats().acked, 2);
    assert_eq!(q.ack_batch(again.drain(..), &mut errors), 2);
    assert_eq!(errors.len(), 3);
    assert_eq!(q.settled_below().get(), 4);
    assert_eq!(q.stats().in_flight, 0);
}

/// `nack_batch` requeues (or dead-letters) each item, refusing the ones
/// already settled; the requeued ones come back before fresh messages.
#[test]
fn batch_nack_requeues_or_dead_letters_each_item() {
    let q = AckQueue::<u32>::builder().max_in_flight(4).build().unwrap();
    for i in 0..6 {
        q.try_publish(i).unwrap();
    }
    let mut out = Vec::new();
    assert_eq!(q.try_receive_batch(3, &mut out), 3);
    let tags: Vec<Tag> = out.drain(..).map(|d| d.detach()).collect();
    q.ack(tags[1]).unwrap();
    let mut errors = Vec::new();
    assert_eq!(q.nack_batch(tags.iter().copied(), true, &mut errors), 2);
    assert_eq!(errors, [(1, AckError::AlreadySettled)]);
    assert_eq!(
        q.try_receive_batch(8, &mut out),
        4,
        "two requeued, two fresh"
    );
    assert_eq!(
        out.iter()
            .map(|d| (**d, d.redelivered()))
            .collect::<Vec<_>>(),
        [(0, true), (2, true), (3, false), (4, false)]
    );
    errors.clear();
    assert_eq!(q.nack_batch(out.drain(..), false, &mut errors), 4);
    assert!(errors.is_empty());
    let dead: Vec<u32> = std::iter::from_fn(|| q.try_receive_dead_letter())
        .map(|d| d.into_inner())
        .collect();
    assert_eq!(dead, [0, 2, 3, 4]);
    let last = q.try_receive().unwrap();
    assert_eq!(*last, 5);
    last.ack().unwrap();
    assert_eq!(q.settled_below().get(), 6);
}

/// The waiting form waits for the first delivery, then takes what is
/// ready; it reports `Closed` once nothing is left.
#[test]
fn receive_batch_waits_for_one_then_takes_what_is_ready() {
    let q = AckQueue::<u32>::builder()
        .max_in_flight(16)
        .build()
        .unwrap();
    let mut out = Vec::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(20));
            for i in 0..3 {
                q.try_publish(i).unwrap();
            }
        });
        let mut got = 0;
        while got < 3 {
            got += q.receive_batch(8, &mut out).unwrap();
        }
    });
    assert_eq!(out.iter().map(|d| **d).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(q.ack_batch(out.drain(..), &mut Vec::new()), 3);
    assert_eq!(
        q.receive_batch_timeout(8, &mut out, Duration::from_millis(5)),
        Ok(0)
    );
    q.close();
    assert!(q.receive_batch(8, &mut out).is_err());
    assert!(out.is_empty());
}
