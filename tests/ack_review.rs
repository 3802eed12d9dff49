//! Edge cases at the limits of the entry state word, and a stress run that
//! accounts for every message while consumers keep expired deliveries
//! alive, settle by tag, delay, reject and extend leases.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use ackring::{AckError, AckQueue, Delivery, ManualClock, Tag};

const LEASE: Duration = Duration::from_secs(1);

fn leased(clock: &ManualClock) -> AckQueue<u32> {
    AckQueue::builder()
        .capacity(1)
        .max_in_flight(1)
        .lease(LEASE)
        .max_deliveries(u32::MAX) // redelivered for as long as it expires
        .clock(clock.clone())
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
    let q = leased(&clock);
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
    let q = leased(&clock);
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

mod common;
use common::Rng;

/// Consumers keep some deliveries alive past their lease (so that an ack
/// of the redelivery and the old guard's drop race to free the entry),
/// settle by guard and by tag, nack with and without requeue and with a
/// delay, extend leases and drop deliveries; a ticker drives the clock and
/// a taker empties the dead letters. At the end, after `close` and
/// `drain`: every message was acked, taken from the dead letters or
/// drained exactly once, and the watermark is at the end.
#[test]
fn every_message_settled_exactly_once_with_expired_holders_alive() {
    const PRODUCERS: u32 = 2;
    const PER_PRODUCER: u32 = 2000;
    const TOTAL: u32 = PRODUCERS * PER_PRODUCER;
    let clock = ManualClock::new();
    let q = AckQueue::<u32>::builder()
        .capacity(8)
        .max_in_flight(4)
        .max_deliveries(6)
        .lease(Duration::from_millis(10))
        .clock(clock.clone())
        .build()
        .unwrap();
    let settled: Mutex<HashMap<u32, u32>> = Mutex::new(HashMap::new());
    let settled_count = AtomicU64::new(0);
    let record = |v: u32| {
        *settled.lock().unwrap().entry(v).or_insert(0) += 1;
        settled_count.fetch_add(1, Ordering::SeqCst);
    };
    let stop = AtomicBool::new(false);
    let producers_done = AtomicU64::new(0);

    std::thread::scope(|s| {
        for p in 0..PRODUCERS {
            let (q, producers_done) = (&q, &producers_done);
            s.spawn(move || {
                for i in 0..PER_PRODUCER {
                    q.publish(p * PER_PRODUCER + i).unwrap();
                }
                producers_done.fetch_add(1, Ordering::SeqCst);
            });
        }
        // The clock.
        s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                clock.advance(Duration::from_millis(3));
                std::thread::yield_now();
            }
        });
        // The dead-letter taker.
        s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                match q.try_receive_dead_letter() {
                    Some(dead) => record(dead.into_inner()),
                    None => std::thread::yield_now(),
                }
            }
        });
        for c in 0..3_u64 {
            let (q, record, stop) = (&q, &record, &stop);
            s.spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (c + 1));
                let mut held: Vec<Delivery<'_, u32>> = Vec::new();
                let mut tags: Vec<(Tag, u32)> = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let Some(d) = q.try_receive() else {
                        // Let go of something so that the prefetch limit
                        // never starves everyone.
                        if let Some(old) = held.pop() {
                            let v = *old;
                            if old.ack().is_ok() {
                                record(v);
                            }
                        } else if let Some((tag, v)) = tags.pop() {
                            if q.ack(tag).is_ok() {
                                record(v);
                            }
                        }
                        std::thread::yield_now();
                        continue;
                    };
                    let v = *d;
                    match rng.next() % 10 {
                        0..=2 => {
                            if d.ack().is_ok() {
                                record(v);
                            }
                        }
                        3 => {
                            let _ = d.nack(true);
                        }
                        4 => {
                            let _ = d.nack(rng.next() % 8 != 0);
                        }
                        5 => {
                            let _ = d.nack_after(Duration::from_millis(rng.next() % 8));
                        }
                        6 => drop(d),
                        7 => {
                            let _ = d.extend_lease(Duration::from_millis(20));
                            tags.push((d.detach(), v));
                        }
                        _ => held.push(d),
                    }
                    // Old guards: maybe stale by now; ack or drop them.
                    if held.len() > 2 {
                        let old = held.remove(0);
                        let v = *old;
                        if rng.next() % 2 == 0 {
                            if old.ack().is_ok() {
                                record(v);
                            }
                        } else {
                            drop(old);
                        }
                    }
                    if tags.len() > 2 {
                        let (tag, v) = tags.remove(0);
                        if q.ack(tag).is_ok() {
                            record(v);
                        }
                    }
                }
                // Whatever is still held goes back (or is stale).
                drop(held);
                for (tag, v) in tags {
                    if rng.next() % 2 == 0 && q.ack(tag).is_ok() {
                        record(v);
                    }
                }
            });
        }
        // Stop once producers are done and most messages are settled, so
        // that `drain` has something left to hand back.
        while producers_done.load(Ordering::SeqCst) < u64::from(PRODUCERS)
            || settled_count.load(Ordering::SeqCst) < u64::from(TOTAL - 40)
        {
            std::thread::yield_now();
        }
        stop.store(true, Ordering::SeqCst);
    });
    q.close();
    for v in q.drain() {
        record(v);
    }
    while let Some(dead) = q.try_receive_dead_letter() {
        record(dead.into_inner());
    }
    let settled = settled.into_inner().unwrap();
    for v in 0..TOTAL {
        assert_eq!(settled.get(&v), Some(&1), "message {v} settled once");
    }
    assert_eq!(settled.len(), TOTAL as usize);
    assert_eq!(q.settled_below().get(), u64::from(TOTAL));
    let stats = q.stats();
    assert_eq!(
        (stats.ready, stats.in_flight, stats.dead_letters),
        (0, 0, 0)
    );
    assert_eq!(stats.published, u64::from(TOTAL));
}
