//! Multi-threaded accounting: every published message is acked exactly
//! once or ends in the dead letters, with exact delivery counts, whatever
//! mix of acks, nacks, drops, panics and expired leases the consumers
//! produce, consumers that keep expired deliveries alive included; and the
//! settle watermark never passes an unsettled message.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ackring::{AckError, AckQueue, DeadReason, Delivery, ManualClock, Tag};

mod common;
use common::rng::Rng;

const LEASE: Duration = Duration::from_secs(10);

#[test]
fn every_message_acked_once_or_dead_with_exact_delivery_counts() {
    const PRODUCERS: u64 = 2;
    const PER_PRODUCER: u64 = 1500;
    const TOTAL: u64 = PRODUCERS * PER_PRODUCER;
    const MAX_DELIVERIES: u32 = 4;
    let clock = ManualClock::new();
    let q = AckQueue::<u64>::builder()
        .capacity(64)
        .max_in_flight(8)
        .lease(LEASE)
        .max_deliveries(MAX_DELIVERIES)
        .clock(clock.clone())
        .build()
        .unwrap();
    // Per message: the delivery counts seen, how it ended.
    let seen: Mutex<HashMap<u64, Vec<u32>>> = Mutex::new(HashMap::new());
    let acked: Mutex<HashMap<u64, u32>> = Mutex::new(HashMap::new());
    let dead: Mutex<HashMap<u64, (u32, DeadReason)>> = Mutex::new(HashMap::new());
    let finished = AtomicU64::new(0);
    let panics = AtomicUsize::new(0);

    std::thread::scope(|s| {
        for p in 0..PRODUCERS {
            let q = &q;
            s.spawn(move || {
                let mut last = None;
                for i in 0..PER_PRODUCER {
                    let seq = q.publish(p * PER_PRODUCER + i).unwrap();
                    assert!(last < Some(seq), "sequence numbers increase per producer");
                    last = Some(seq);
                }
            });
        }
        for c in 0..3_u64 {
            let (q, clock, seen, acked, dead, finished, panics) =
                (&q, &clock, &seen, &acked, &dead, &finished, &panics);
            s.spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((c + 1) * 0x1234_5678));
                let mut detached: Vec<(Tag, u64, u32)> = Vec::new();
                let ack_tag = |tag: Tag, v: u64, count: u32| match q.ack(tag) {
                    Ok(()) => {
                        assert!(acked.lock().unwrap().insert(v, count).is_none());
                        finished.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(AckError::Stale) | Err(AckError::AlreadySettled) => {}
                    Err(e) => panic!("{e:?}"),
                };
                while finished.load(Ordering::SeqCst) < TOTAL {
                    if let Some(d) = q.try_receive_dead_letter() {
                        let v = *d;
                        let entry = (d.delivery_count(), d.reason());
                        assert!(dead.lock().unwrap().insert(v, entry).is_none());
                        finished.fetch_add(1, Ordering::SeqCst);
                        continue;
                    }
                    let d = match q.receive_timeout(Duration::from_millis(1)).unwrap() {
                        Some(d) => d,
                        None => {
                            // Idle: let detached leases run out, or settle one.
                            if let Some((tag, v, n)) = detached.pop() {
                                ack_tag(tag, v, n);
                            } else {
                                clock.advance(LEASE + Duration::from_secs(1));
                            }
                            continue;
                        }
                    };
                    let v = *d;
                    let count = d.delivery_count();
                    assert_eq!(d.redelivered(), count > 1);
                    seen.lock().unwrap().entry(v).or_default().push(count);
                    match rng.next() % 20 {
                        0..=9 => match d.ack() {
                            Ok(()) => {
                                assert!(acked.lock().unwrap().insert(v, count).is_none());
                                finished.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(e) => assert_eq!(e, AckError::Stale),
                        },
                        10..=11 => {
                            let _ = d.nack(true);
                        }
                        12 => {
                            let _ = d.nack(false);
                        }
                        13..=14 => drop(d),
                        15 => {
                            let r = panic::catch_unwind(AssertUnwindSafe(move || {
                                let _held = d;
                                // resume_unwind skips the panic hook: no noise.
                                panic::resume_unwind(Box::new("consumer failed"));
                            }));
                            assert!(r.is_err());
                            panics.fetch_add(1, Ordering::Relaxed);
                        }
                        16..=17 => {
                            // Let the lease expire; maybe ack it late.
                            detached.push((d.detach(), v, count));
                        }
                        _ => {
                            let _ = d.nack_after(Duration::from_secs(3));
                            clock.advance(Duration::from_secs(1));
                        }
                    }
                    if rng.next() % 64 == 0 {
                        clock.advance(LEASE);
                    }
                }
                for (tag, v, n) in detached {
                    ack_tag(tag, v, n);
                }
            });
        }
    });

    let seen = seen.into_inner().unwrap();
    let acked = acked.into_inner().unwrap();
    let dead = dead.into_inner().unwrap();
    assert!(panics.load(Ordering::Relaxed) > 0);
    assert_eq!(acked.len() + dead.len(), TOTAL as usize);
    for v in 0..TOTAL {
        let mut counts = seen.get(&v).cloned().unwrap_or_default();
        counts.sort_unstable();
        // Deliveries are numbered 1, 2, ..., n: none skipped, none twice.
        let n = counts.len() as u32;
        assert_eq!(counts, (1..=n).collect::<Vec<_>>(), "message {v}");
        match (acked.get(&v), dead.get(&v)) {
            (Some(&at), None) => assert!(at <= n),
            (None, Some(&(count, reason))) => {
                assert_eq!(count, n, "message {v}");
                if reason == DeadReason::MaxDeliveries {
                    assert_eq!(count, MAX_DELIVERIES);
                }
            }
            other => panic!("message {v} ended as {other:?}"),
        }
    }
    let stats = q.stats();
    assert_eq!(stats.published, TOTAL);
    assert_eq!(stats.acked, acked.len() as u64);
    assert_eq!(stats.dead_lettered, dead.len() as u64);
    assert_eq!(
        stats.delivered,
        seen.values().map(|c| c.len() as u64).sum::<u64>()
    );
    assert_eq!(
        (stats.ready, stats.in_flight, stats.dead_letters),
        (0, 0, 0)
    );
    assert_eq!(q.settled_below().get(), TOTAL);
    q.close();
    assert!(q.drain().is_empty());
}

#[test]
fn expiry_racing_ack_settles_exactly_once() {
    let clock = ManualClock::new();
    let q = AckQueue::<u32>::builder()
        .max_in_flight(2)
        .lease(LEASE)
        .clock(clock.clone())
        .build()
        .unwrap();
    let (mut acks, mut expiries) = (0, 0);
    for i in 0..400 {
        q.try_publish(i).unwrap();
        let d = q.try_receive().unwrap();
        let (ack, moved) = std::thread::scope(|s| {
            let acker = s.spawn(move || d.ack());
            let expirer = s.spawn(|| {
                clock.advance(LEASE);
                q.requeue_expired()
            });
            (acker.join().unwrap(), expirer.join().unwrap())
        });
        match ack {
            Ok(()) => {
                acks += 1;
                assert_eq!(moved, 0, "acked message {i} also expired");
                assert!(q.try_receive().is_none());
            }
            Err(e) => {
                expiries += 1;
                assert_eq!(e, AckError::Stale);
                assert_eq!(moved, 1);
                let again = q.try_receive().unwrap();
                assert_eq!((*again, again.delivery_count()), (i, 2));
                again.ack().unwrap();
            }
        }
        assert_eq!(q.settled_below().get(), u64::from(i) + 1);
    }
    assert_eq!(acks + expiries, 400);
    let stats = q.stats();
    assert_eq!((stats.acked, stats.expired), (400, expiries));
}

#[test]
fn watermark_never_passes_an_unsettled_message() {
    const TOTAL: usize = 4000;
    let q = AckQueue::<usize>::builder()
        .capacity(32)
        .max_in_flight(6)
        .build()
        .unwrap();
    // Set just before the ack, so a settled message always has its flag.
    let acked: Vec<AtomicBool> = (0..TOTAL).map(|_| AtomicBool::new(false)).collect();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut last = None;
            for i in 0..TOTAL {
                let seq = q.publish(i).unwrap();
                assert_eq!(seq.get(), i as u64);
                last = Some(seq);
            }
            q.close();
            // Confirmation: the producer learns its last message was processed.
            assert!(q.wait_settled(last.unwrap(), Duration::from_secs(120)));
            done.store(true, Ordering::SeqCst);
        });
        for c in 0..2_u64 {
            let (q, acked) = (&q, &acked);
            s.spawn(move || {
                let mut rng = Rng(77 + c);
                let mut held = Vec::new();
                loop {
                    match q.receive_timeout(Duration::from_millis(1)) {
                        Ok(Some(d)) => held.push(d),
                        Ok(None) => {}
                        Err(_) => break,
                    }
                    // Ack out of order, sometimes holding a message a while.
                    while held.len() > (rng.next() % 3) as usize {
                        let d = held.swap_remove((rng.next() as usize) % held.len());
                        acked[*d].store(true, Ordering::SeqCst);
                        d.ack().unwrap();
                    }
                }
                for d in held {
                    acked[*d].store(true, Ordering::SeqCst);
                    d.ack().unwrap();
                }
            });
        }
        s.spawn(|| {
            let mut checked = 0;
            while !done.load(Ordering::SeqCst) {
                let below = q.settled_below().get() as usize;
                for (i, flag) in acked.iter().enumerate().take(below).skip(checked) {
                    assert!(flag.load(Ordering::SeqCst), "watermark {below} passed {i}");
                }
                checked = checked.max(below);
                if below == TOTAL {
                    break;
                }
                std::thread::yield_now();
            }
        });
    });
    assert_eq!(q.settled_below().get(), TOTAL as u64);
}

#[test]
fn prefetch_limit_holds_under_racing_consumers() {
    const TOTAL: usize = 3000;
    let q = AckQueue::<usize>::builder()
        .capacity(8)
        .max_in_flight(1)
        .build()
        .unwrap();
    let holding = AtomicUsize::new(0);
    let sum = AtomicUsize::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..TOTAL {
                q.publish(i).unwrap();
            }
            q.close();
        });
        for _ in 0..2 {
            s.spawn(|| {
                q.consume(|d| {
                    assert_eq!(holding.fetch_add(1, Ordering::SeqCst), 0, "two in flight");
                    sum.fetch_add(*d, Ordering::SeqCst);
                    holding.fetch_sub(1, Ordering::SeqCst);
                    d.ack().unwrap();
                });
            });
        }
    });
    assert_eq!(sum.into_inner(), TOTAL * (TOTAL - 1) / 2);
    assert_eq!(q.stats().acked, TOTAL as u64);
}

/// The entries are the ring's slots: a publish may reuse an entry only once
/// its message is settled and no guard reads it. Producers race to refill
/// a small queue while consumers keep guards alive across acks by tag and
/// re-read them; every delivery's (seq, value) must be the pair its publish
/// returned, every guard must read the same value until it goes, and every
/// message must be acked exactly once. The run is on threads of its own,
/// so that a broken queue fails the test (a panic, or no result within two
/// minutes) instead of hanging it.
#[test]
fn held_entries_are_not_reused_and_seqs_name_their_messages() {
    const PRODUCERS: u64 = 3;
    const CONSUMERS: u64 = 3;
    const PER_PRODUCER: u64 = 20_000;
    const TOTAL: u64 = PRODUCERS * PER_PRODUCER;
    let q = Arc::new(
        AckQueue::<u64>::builder()
            .capacity(8)
            .max_in_flight(5)
            .build()
            .unwrap(),
    );
    let acked = Arc::new(AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (q, tx) = (q.clone(), tx.clone());
            std::thread::spawn(move || {
                let pairs: Vec<_> = (0..PER_PRODUCER)
                    .map(|k| {
                        let v = p << 32 | k;
                        (q.publish(v).unwrap().get(), v)
                    })
                    .collect();
                let _ = tx.send(Ok(pairs));
            })
        })
        .collect();
    for c in 0..CONSUMERS {
        let (q, acked, tx) = (q.clone(), acked.clone(), tx.clone());
        std::thread::spawn(move || {
            let mut rng = Rng::new(0xC0FFEE + c);
            let mut seen = Vec::new();
            while acked.load(Ordering::Relaxed) < TOTAL {
                let Some(d) = q.receive_timeout(Duration::from_millis(5)).unwrap() else {
                    continue;
                };
                let (seq, v) = (d.seq().get(), *d);
                seen.push((seq, v));
                match rng.below(4) {
                    0 => {
                        // Settled by tag while the guard still reads the
                        // message: its entry must stay put.
                        q.ack(d.tag()).unwrap();
                        acked.fetch_add(1, Ordering::Relaxed);
                        for _ in 0..1 + rng.below(3) {
                            // Let producers at the entry meanwhile.
                            std::thread::yield_now();
                            assert_eq!(*d, v, "entry of seq {seq} reused under its guard");
                        }
                        assert_eq!(d.ack(), Err(AckError::AlreadySettled));
                    }
                    1 => drop(d), // requeued, delivered again later
                    _ => {
                        assert_eq!(*d, v);
                        d.ack().unwrap();
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            let _ = tx.send(Err(seen));
        });
    }
    drop(tx);
    let (mut published, mut seen) = (HashMap::new(), Vec::new());
    for _ in 0..PRODUCERS + CONSUMERS {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Ok(pairs)) => published.extend(pairs),
            Ok(Err(pairs)) => seen.extend(pairs),
            Err(e) => panic!(
                "a worker panicked or hung ({e}); {} of {TOTAL} acked",
                acked.load(Ordering::Relaxed)
            ),
        }
    }
    for h in producers {
        h.join().unwrap();
    }
    assert_eq!(published.len() as u64, TOTAL, "every seq handed out once");
    for (seq, v) in &seen {
        assert_eq!(
            published.get(seq),
            Some(v),
            "seq {seq} delivered another message"
        );
    }
    assert_eq!(acked.load(Ordering::Relaxed), TOTAL);
    assert_eq!(q.settled_below().get(), TOTAL);
    let stats = q.stats();
    assert_eq!((stats.acked, stats.in_flight, stats.ready), (TOTAL, 0, 0));
}

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
