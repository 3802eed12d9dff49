//! A message held for a long time (a slow handler, a hung worker before its
//! lease expires, a long `nack_after`, untaken dead letters) occupies only
//! its own place: every other message keeps flowing past it. Each scenario
//! counts how many other messages were settled while one was held, and
//! accounts for every message at the end.
//!
//! The held message is released when the others have reached a count,
//! never after a sleep. A queue in which the held message blocks the rest
//! would never reach that count; so that such a queue fails the assertion
//! instead of hanging, the wait gives up once the count has not moved for
//! `STALL` (a progressing run never comes near it).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ackring::{AckError, AckQueue, DeadReason, Delivery, ManualClock, Seq, Tag};

mod common;
use common::settles::SettleLedger;
use common::wait::STALL;

/// Waits until `counter` reaches `target`; returns the count reached,
/// which is below `target` only if the counter stood still for `STALL`.
fn wait_for_count(counter: &AtomicU64, target: u64) -> u64 {
    let mut last = counter.load(SeqCst);
    let mut since = Instant::now();
    loop {
        let now = counter.load(SeqCst);
        if now >= target {
            return now;
        }
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() > STALL {
            return now;
        }
        // Polling, not a timing assumption: the loop ends on the count.
        thread::sleep(Duration::from_micros(200));
    }
}

/// Waits until `flag` is set.
fn wait_for_flag(flag: &AtomicBool) {
    while !flag.load(SeqCst) {
        thread::sleep(Duration::from_micros(200));
    }
}

/// A slow handler keeps message 0 unacked while the pool acks 50 000
/// others (far more than `capacity + max_in_flight`), with one producer
/// blocking on `publish`: only the held message's own place is taken.
#[test]
fn slow_message_lets_many_times_capacity_others_flow() {
    const TOTAL: u64 = 200_000;
    const WHILE_HELD: u64 = 50_000;
    // Never advanced: the 30 s lease cannot expire during the run.
    let clock = ManualClock::new();
    let q = AckQueue::<u64>::builder()
        .capacity(1024)
        .max_in_flight(64)
        .lease(Duration::from_secs(30))
        .clock(clock)
        .build()
        .unwrap();
    let ledger = SettleLedger::new(TOTAL);
    let others_acked = AtomicU64::new(0);
    let acked_while_held = AtomicU64::new(0);
    thread::scope(|s| {
        s.spawn(|| {
            for v in 0..TOTAL {
                assert_eq!(q.publish(v).unwrap().get(), v);
            }
            q.close();
        });
        for _ in 0..3 {
            s.spawn(|| {
                while let Ok(d) = q.receive() {
                    let v = *d;
                    assert_eq!(d.delivery_count(), 1, "nothing is redelivered");
                    if v == 0 {
                        let reached = wait_for_count(&others_acked, WHILE_HELD);
                        acked_while_held.store(reached, SeqCst);
                        assert!(!q.is_settled(d.seq()));
                        assert_eq!(q.settled_below().get(), 0, "message 0 holds the watermark");
                        d.ack().unwrap();
                    } else {
                        d.ack().unwrap();
                        others_acked.fetch_add(1, SeqCst);
                    }
                    ledger.settled(v);
                }
            });
        }
    });
    let reached = acked_while_held.load(SeqCst);
    assert!(
        reached >= WHILE_HELD,
        "only {reached} other messages were acked while message 0 was held"
    );
    ledger.assert_each_once();
    let stats = q.stats();
    assert_eq!((stats.published, stats.acked), (TOTAL, TOTAL));
    assert_eq!((stats.in_flight, stats.ready, stats.redelivered), (0, 0, 0));
    assert_eq!(q.settled_below().get(), TOTAL);
}

/// A worker receives message 0 and hangs, keeping its guard. The other
/// workers ack every other message meanwhile; once the clock passes the
/// lease, message 0 is delivered again (second delivery) to another worker
/// and acked there, and the hung worker's late ack is refused as stale.
#[test]
fn hung_worker_holds_only_its_message_until_lease_expiry_redelivers_it() {
    const TOTAL: u64 = 20_000;
    const LEASE: Duration = Duration::from_secs(30);
    let clock = ManualClock::new();
    let q = AckQueue::<u64>::builder()
        .capacity(64)
        .max_in_flight(16)
        .lease(LEASE)
        .clock(clock.clone())
        .build()
        .unwrap();
    let ledger = SettleLedger::new(TOTAL);
    let others_acked = AtomicU64::new(0);
    let hung = AtomicBool::new(false);
    let hung_worker = AtomicUsize::new(usize::MAX);
    let release_hung = AtomicBool::new(false);
    let late_ack: Mutex<Option<Result<(), AckError>>> = Mutex::new(None);
    // (worker, delivery count, redelivered()) of message 0's redelivery.
    let redelivery: Mutex<Option<(usize, u32, bool)>> = Mutex::new(None);
    let redelivered_acked = AtomicBool::new(false);
    let stale_acks = AtomicU64::new(0);
    let (while_hung, before_expiry) = thread::scope(|s| {
        s.spawn(|| {
            for v in 0..TOTAL {
                q.publish(v).unwrap();
            }
        });
        for worker in 0..3 {
            let (ledger, others_acked, hung, hung_worker) =
                (&ledger, &others_acked, &hung, &hung_worker);
            let (release_hung, late_ack, redelivery) = (&release_hung, &late_ack, &redelivery);
            let (redelivered_acked, stale_acks, q) = (&redelivered_acked, &stale_acks, &q);
            s.spawn(move || {
                while let Ok(d) = q.receive() {
                    let v = *d;
                    if v == 0 && d.delivery_count() == 1 {
                        hung_worker.store(worker, SeqCst);
                        hung.store(true, SeqCst);
                        wait_for_flag(release_hung);
                        *late_ack.lock().unwrap() = Some(d.ack());
                        continue;
                    }
                    if v == 0 {
                        let seen = (worker, d.delivery_count(), d.redelivered());
                        *redelivery.lock().unwrap() = Some(seen);
                    }
                    match d.ack() {
                        Ok(()) => {
                            ledger.settled(v);
                            if v == 0 {
                                redelivered_acked.store(true, SeqCst);
                            } else {
                                others_acked.fetch_add(1, SeqCst);
                            }
                        }
                        Err(AckError::Stale) => {
                            stale_acks.fetch_add(1, SeqCst);
                        }
                        Err(e) => panic!("ack of {v}: {e}"),
                    }
                }
            });
        }
        wait_for_flag(&hung);
        let reached = wait_for_count(&others_acked, TOTAL - 1);
        let before_expiry = q.stats();
        clock.advance(LEASE + Duration::from_secs(1));
        wait_for_flag(&redelivered_acked);
        release_hung.store(true, SeqCst);
        while late_ack.lock().unwrap().is_none() {
            thread::sleep(Duration::from_micros(200));
        }
        // The stragglers a stalled run left behind, if any.
        wait_for_count(&others_acked, TOTAL - 1);
        q.close();
        (reached, before_expiry)
    });
    // Message 0 was the first delivered, so every other ack counted before
    // the clock moved happened while the hung worker held it.
    assert_eq!(
        while_hung,
        TOTAL - 1,
        "only {while_hung} other messages were acked while a worker hung"
    );
    assert_eq!(before_expiry.in_flight, 1, "only the hung delivery was out");
    assert_eq!(before_expiry.expired, 0);
    let (worker, count, redelivered) = redelivery.lock().unwrap().expect("message 0 redelivered");
    assert_ne!(worker, hung_worker.load(SeqCst));
    assert_eq!((count, redelivered), (2, true));
    assert_eq!(*late_ack.lock().unwrap(), Some(Err(AckError::Stale)));
    assert_eq!(stale_acks.load(SeqCst), 0, "no other lease expired");
    ledger.assert_each_once();
    let stats = q.stats();
    assert_eq!((stats.published, stats.acked), (TOTAL, TOTAL));
    assert_eq!((stats.expired, stats.redelivered), (1, 1));
    assert_eq!((stats.in_flight, stats.ready), (0, 0));
    assert_eq!(q.settled_below().get(), TOTAL);
}

/// Message 0 is nacked with a one-hour delay. Every other message flows
/// past it; it stays delayed while the clock is short of the delay (even
/// through a forced scan) and is delivered again once the clock passes it.
#[test]
fn long_nack_after_holds_only_its_message_until_the_delay_passes() {
    const TOTAL: u64 = 20_000;
    const DELAY: Duration = Duration::from_secs(3600);
    let clock = ManualClock::new();
    let q = AckQueue::<u64>::builder()
        .capacity(64)
        .max_in_flight(16)
        .clock(clock.clone())
        .build()
        .unwrap();
    let ledger = SettleLedger::new(TOTAL);
    let others_acked = AtomicU64::new(0);
    let delayed = AtomicBool::new(false);
    let redelivered = AtomicBool::new(false);
    // (delivery count, clock reading in seconds when it was received).
    let redelivery: Mutex<Option<(u32, u64)>> = Mutex::new(None);
    let (while_delayed, early, requeued_early, ready_while_delayed) = thread::scope(|s| {
        s.spawn(|| {
            for v in 0..TOTAL {
                q.publish(v).unwrap();
            }
        });
        for _ in 0..3 {
            s.spawn(|| {
                while let Ok(d) = q.receive() {
                    let v = *d;
                    if v == 0 && d.delivery_count() == 1 {
                        d.nack_after(DELAY).unwrap();
                        delayed.store(true, SeqCst);
                        continue;
                    }
                    if v == 0 {
                        use ackring::Clock;
                        let at = clock.now().as_secs();
                        *redelivery.lock().unwrap() = Some((d.delivery_count(), at));
                    }
                    d.ack().unwrap();
                    ledger.settled(v);
                    if v == 0 {
                        redelivered.store(true, SeqCst);
                    } else {
                        others_acked.fetch_add(1, SeqCst);
                    }
                }
            });
        }
        wait_for_flag(&delayed);
        let reached = wait_for_count(&others_acked, TOTAL - 1);
        clock.advance(DELAY - Duration::from_secs(1));
        let requeued_early = q.requeue_expired();
        let early = redelivered.load(SeqCst);
        let ready = q.stats().ready;
        clock.advance(Duration::from_secs(2));
        wait_for_flag(&redelivered);
        wait_for_count(&others_acked, TOTAL - 1);
        q.close();
        (reached, early, requeued_early, ready)
    });
    // Message 0 was the first delivered and stayed unsettled (in flight,
    // then delayed) until the clock moved: every other ack counted before
    // happened past it.
    assert_eq!(
        while_delayed,
        TOTAL - 1,
        "only {while_delayed} other messages were acked while message 0 was delayed"
    );
    assert!(!early, "delivered again before its delay passed");
    assert_eq!(requeued_early, 0, "a forced scan released it early");
    assert_eq!(
        ready_while_delayed, 1,
        "the delayed message counts as ready"
    );
    let (count, at) = redelivery.lock().unwrap().expect("message 0 redelivered");
    assert_eq!(count, 2);
    assert!(at > DELAY.as_secs());
    ledger.assert_each_once();
    let stats = q.stats();
    assert_eq!(
        (stats.published, stats.acked, stats.nacked),
        (TOTAL, TOTAL, 1)
    );
    assert_eq!(q.settled_below().get(), TOTAL);
}

/// Messages 0..12 are rejected and left in the dead letters, below their
/// bound (32) but more than the capacity (8). Every other message flows at
/// full count, `max_in_flight` deliveries still fit at once, and the dead
/// letters are then all taken, with their reason and delivery count.
#[test]
fn untaken_dead_letters_below_their_bound_hold_back_nothing() {
    const TOTAL: u64 = 20_000;
    const DEAD: u64 = 12;
    const MAX_IN_FLIGHT: usize = 16;
    let q = AckQueue::<u64>::builder()
        .capacity(8)
        .max_in_flight(MAX_IN_FLIGHT)
        .dead_letter_capacity(32)
        .build()
        .unwrap();
    assert!(q.dead_letter_capacity() >= DEAD as usize);
    assert!(q.capacity() < DEAD as usize);
    let extra = MAX_IN_FLIGHT as u64 + 1;
    let ledger = SettleLedger::new(TOTAL + extra);
    let others_acked = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let reached = thread::scope(|s| {
        s.spawn(|| {
            for v in 0..TOTAL {
                q.publish(v).unwrap();
            }
        });
        for _ in 0..3 {
            s.spawn(|| {
                while !stop.load(SeqCst) {
                    let Some(d) = q.receive_timeout(Duration::from_millis(1)).unwrap() else {
                        continue;
                    };
                    let v = *d;
                    assert_eq!(d.delivery_count(), 1);
                    if v < DEAD {
                        d.nack(false).unwrap();
                    } else {
                        d.ack().unwrap();
                        ledger.settled(v);
                        others_acked.fetch_add(1, SeqCst);
                    }
                }
            });
        }
        let reached = wait_for_count(&others_acked, TOTAL - DEAD);
        if reached < TOTAL - DEAD {
            // Stalled: take the dead letters so that the run ends; the
            // assertion below fails on `reached`.
            while others_acked.load(SeqCst) < TOTAL - DEAD {
                if let Some(dead) = q.try_receive_dead_letter() {
                    ledger.settled(dead.into_inner());
                }
                thread::sleep(Duration::from_micros(200));
            }
        }
        stop.store(true, SeqCst);
        reached
    });
    assert_eq!(
        reached,
        TOTAL - DEAD,
        "not every other message flowed past {DEAD} untaken dead letters"
    );
    let stats = q.stats();
    assert_eq!(
        (stats.dead_letters, stats.dead_lettered),
        (DEAD as usize, DEAD)
    );
    // Below their bound, the dead letters hold no prefetch place: a whole
    // window of deliveries fits at once, and not one more.
    // (The capacity is less than the window: publish as we receive.)
    let window: Vec<Delivery<'_, u64>> = (TOTAL..TOTAL + MAX_IN_FLIGHT as u64)
        .map(|v| {
            q.try_publish(v).unwrap();
            q.try_receive().expect("a whole prefetch window")
        })
        .collect();
    q.try_publish(TOTAL + MAX_IN_FLIGHT as u64).unwrap();
    assert!(q.try_receive().is_none(), "one past the prefetch window");
    for d in window {
        ledger.settled(*d);
        d.ack().unwrap();
    }
    let last = q
        .try_receive()
        .expect("the last one, once the window is free");
    ledger.settled(*last);
    last.ack().unwrap();
    // Three workers rejected them concurrently, so the order they died in
    // is not known here: check the set.
    let mut dead_seqs: Vec<u64> = (0..DEAD)
        .map(|_| {
            let dead = q.try_receive_dead_letter().expect("dead letter kept");
            assert_eq!(dead.reason(), DeadReason::Rejected);
            assert_eq!(dead.delivery_count(), 1);
            let seq = dead.seq().get();
            assert_eq!(*dead, seq);
            ledger.settled(dead.into_inner());
            seq
        })
        .collect();
    assert!(q.try_receive_dead_letter().is_none());
    dead_seqs.sort_unstable();
    assert_eq!(dead_seqs, (0..DEAD).collect::<Vec<_>>());
    ledger.assert_each_once();
    let stats = q.stats();
    let all = TOTAL + extra;
    assert_eq!((stats.published, stats.acked), (all, all - DEAD));
    assert_eq!((stats.dead_lettered, stats.dead_letters), (DEAD, 0));
    assert_eq!(q.settled_below().get(), all);
}

/// How many deliveries can be out at once now: receives until refused
/// (topping the waiting messages up to `max_in_flight` first), then acks
/// them all, settling their values in `ledger`.
fn deliverable_at_once(q: &AckQueue<u64>, next: &mut u64, ledger: &SettleLedger) -> usize {
    while q.stats().ready < q.max_in_flight() {
        q.try_publish(*next).unwrap();
        *next += 1;
    }
    let mut held = Vec::new();
    while let Some(d) = q.try_receive() {
        held.push(d);
    }
    let n = held.len();
    for d in held {
        ledger.settled(*d);
        d.ack().unwrap();
    }
    n
}

/// With `dead_letter_capacity(k)` and `max_in_flight(m)`, the `k + j`th
/// untaken dead letter keeps its delivery's prefetch place: only `m - j`
/// deliveries fit at once, none once `k + m` wait, and publishes still
/// succeed. Nothing is lost: the letters come out in the order they died,
/// and taking the overflowed ones gives their places back one by one.
#[test]
fn dead_letters_past_their_bound_keep_their_prefetch_place_until_taken() {
    const K: usize = 3;
    const M: usize = 4;
    let q = AckQueue::<u64>::builder()
        .capacity(64)
        .max_in_flight(M)
        .dead_letter_capacity(K)
        .build()
        .unwrap();
    let ledger = SettleLedger::new(1000);
    let mut next = 0;
    let mut died = Vec::new();
    for dead in 1..=K + M {
        // The next delivery dies, whichever message it is.
        q.try_publish(next).unwrap();
        next += 1;
        let d = q.try_receive().expect("a place is left for it");
        died.push(d.seq());
        d.nack(false).unwrap();
        let expected = M - dead.saturating_sub(K);
        assert_eq!(
            deliverable_at_once(&q, &mut next, &ledger),
            expected,
            "with {dead} untaken dead letters"
        );
    }
    // Every prefetch place is held by an overflowed dead letter; publishes
    // are bounded by the capacity only.
    assert!(q.try_receive().is_none());
    q.try_publish(next).unwrap();
    next += 1;
    let stats = q.stats();
    assert_eq!(
        (stats.dead_letters, stats.dead_lettered),
        (K + M, (K + M) as u64)
    );
    for (taken, seq) in died.iter().enumerate() {
        let dead = q.try_receive_dead_letter().expect("no dead letter is lost");
        assert_eq!(dead.seq(), *seq, "taken in the order they died");
        assert_eq!(
            (dead.reason(), dead.delivery_count()),
            (DeadReason::Rejected, 1)
        );
        ledger.settled(dead.into_inner());
        // Taking one of the first K frees a dead-letter place, which the
        // overflowed letters do not move to; taking an overflowed one frees
        // its prefetch place.
        let expected = (taken + 1).saturating_sub(K);
        assert_eq!(
            deliverable_at_once(&q, &mut next, &ledger),
            expected,
            "after taking {} dead letters",
            taken + 1
        );
    }
    assert!(q.try_receive_dead_letter().is_none());
    q.close();
    for v in q.drain() {
        ledger.settled(v);
    }
    for v in next..1000 {
        ledger.settled(v);
    }
    ledger.assert_each_once();
}

/// Messages acked out of order from several threads: `is_settled` answers
/// for each message exactly (true for the acked ones, false for the rest)
/// while the watermark stays at the oldest unsettled one; a wait for a
/// late message returns once it is acked although an older one is held,
/// and the wait for everything through it returns only after that one.
#[test]
fn per_message_confirmation_answers_for_each_message_acked_out_of_order() {
    const N: usize = 400;
    const HELD: usize = 10;
    const THREADS: usize = 4;
    const LATE: usize = N - 1;
    let q = AckQueue::<u64>::builder()
        .capacity(N)
        .max_in_flight(N)
        .build()
        .unwrap();
    let seqs: Vec<Seq> = (0..N as u64).map(|v| q.try_publish(v).unwrap()).collect();
    let tags: Vec<Tag> = (0..N)
        .map(|i| {
            let d = q.try_receive().unwrap();
            assert_eq!(d.seq(), seqs[i]);
            d.detach()
        })
        .collect();
    for tag in &tags[..HELD] {
        q.ack(*tag).unwrap();
    }
    assert_eq!(q.settled_below(), seqs[HELD]);
    let mut rng = common::rng::Rng::new(6);
    let mut rest: Vec<usize> = (HELD + 1..LATE).collect();
    for i in (1..rest.len()).rev() {
        rest.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let (first, second) = rest.split_at(rest.len() / 2);
    let mut second = second.to_vec();
    second.push(LATE);
    for i in (1..second.len()).rev() {
        second.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let acked = |i: usize, phase: &[&[usize]]| i < HELD || phase.iter().any(|p| p.contains(&i));

    // Phase one: the first half, acked from several threads while an
    // observer checks that nothing unacked reads settled and nothing acked
    // reads unsettled again.
    let done = AtomicBool::new(false);
    let acks = AtomicUsize::new(0);
    thread::scope(|s| {
        for chunk in first.chunks(first.len().div_ceil(THREADS)) {
            let (q, tags, acks) = (&q, &tags, &acks);
            s.spawn(move || {
                for &i in chunk {
                    q.ack(tags[i]).unwrap();
                    acks.fetch_add(1, SeqCst);
                }
            });
        }
        s.spawn(|| {
            let mut rng = common::rng::Rng::new(7);
            let mut seen = vec![false; N];
            while !done.load(SeqCst) {
                assert_eq!(q.settled_below(), seqs[HELD], "the held message holds it");
                let i = rng.below(N as u64) as usize;
                let settled = q.is_settled(seqs[i]);
                assert!(!seen[i] || settled, "message {i} became unsettled");
                assert!(
                    !settled || acked(i, &[first]),
                    "message {i} settled unacked"
                );
                seen[i] |= settled;
            }
        });
        // The observer stops once the ackers are done (the scope joins them
        // after this closure, so stop it from a thread that waits for them).
        s.spawn(|| {
            while acks.load(SeqCst) < first.len() {
                thread::yield_now();
            }
            done.store(true, SeqCst);
        });
    });
    for (i, &seq) in seqs.iter().enumerate() {
        assert_eq!(q.is_settled(seq), acked(i, &[first]), "message {i}");
    }
    assert_eq!(q.settled_below(), seqs[HELD]);

    // Phase two: the second half, the late message among it, acked from
    // other threads while one waits for the late message alone.
    let late_settled = thread::scope(|s| {
        let waiter = s.spawn(|| q.wait_settled(seqs[LATE], Duration::from_secs(60)));
        for chunk in second.chunks(second.len().div_ceil(THREADS)) {
            let (q, tags) = (&q, &tags);
            s.spawn(move || {
                for &i in chunk {
                    q.ack(tags[i]).unwrap();
                }
            });
        }
        waiter.join().unwrap()
    });
    assert!(late_settled, "the late message's own wait returned");
    assert!(!q.is_settled(seqs[HELD]));
    assert!(!q.wait_settled(seqs[HELD], Duration::from_millis(1)));
    assert!(!q.wait_settled_through(seqs[LATE], Duration::from_millis(1)));
    assert!(!q.wait_settled_through(seqs[HELD + 1], Duration::from_millis(1)));
    for (i, &seq) in seqs.iter().enumerate() {
        assert_eq!(q.is_settled(seq), i != HELD, "message {i}");
    }
    assert_eq!(q.settled_below(), seqs[HELD]);

    // The held message acked by another thread: the wait through the last
    // message returns.
    let through = thread::scope(|s| {
        let waiter = s.spawn(|| q.wait_settled_through(seqs[LATE], Duration::from_secs(60)));
        s.spawn(|| q.ack(tags[HELD]).unwrap());
        waiter.join().unwrap()
    });
    assert!(through);
    assert!(q.is_settled(seqs[HELD]));
    assert_eq!(q.settled_below().get(), N as u64);
    assert_eq!(q.stats().acked, N as u64);
}

/// Where each message ended: acked, taken from the dead letters, drained
/// (and whether it was published at all).
struct Outcomes {
    published: Vec<AtomicU32>,
    acked: Vec<AtomicU32>,
    dead: Vec<AtomicU32>,
    drained: Vec<AtomicU32>,
    acks: AtomicU64,
}

impl Outcomes {
    fn new(n: u64) -> Self {
        let v = || (0..n).map(|_| AtomicU32::new(0)).collect();
        Self {
            published: v(),
            acked: v(),
            dead: v(),
            drained: v(),
            acks: AtomicU64::new(0),
        }
    }

    fn ack(&self, v: u64) {
        self.acked[v as usize].fetch_add(1, SeqCst);
        self.acks.fetch_add(1, SeqCst);
    }

    fn total(v: &[AtomicU32]) -> u64 {
        v.iter().map(|c| u64::from(c.load(SeqCst))).sum()
    }
}

/// Producers and consumers race on a queue with room for two waiting
/// messages, two deliveries and one dead letter, settling with a random
/// mix of ack, nack with and without requeue, `nack_after`, a dropped
/// guard, and detach with an ack by tag on another thread. The consumers
/// stop halfway, with messages left in every state; then the queue is
/// closed (refusing the producers' blocked publishes), the dead letters
/// are taken and the rest drained while acks by tag may still run. Every
/// published message ends exactly once, acked, dead or drained, and the
/// statistics agree.
#[test]
fn tiny_queue_mixed_settles_account_for_every_message_exactly_once() {
    const PRODUCERS: u64 = 2;
    const PER_PRODUCER: u64 = 2000;
    const CONSUMERS: u64 = 3;
    const TOTAL: u64 = PRODUCERS * PER_PRODUCER;
    let clock = ManualClock::new();
    let q = AckQueue::<u64>::builder()
        .capacity(2)
        .max_in_flight(2)
        .dead_letter_capacity(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    let out = Outcomes::new(TOTAL);
    let stop = AtomicBool::new(false);
    let take_dead = |q: &AckQueue<u64>| {
        if let Some(dead) = q.try_receive_dead_letter() {
            assert_eq!(dead.reason(), DeadReason::Rejected);
            out.dead[*dead as usize].fetch_add(1, SeqCst);
        }
    };
    thread::scope(|s| {
        let (tx, rx) = mpsc::channel::<(Tag, u64)>();
        let acker = s.spawn(|| {
            for (tag, v) in rx {
                match q.ack(tag) {
                    Ok(()) => out.ack(v),
                    // Drained before this ack.
                    Err(AckError::AlreadySettled) => {}
                    Err(e) => panic!("ack by tag of {v}: {e}"),
                }
            }
        });
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (q, out) = (&q, &out);
                s.spawn(move || {
                    for v in p * PER_PRODUCER..(p + 1) * PER_PRODUCER {
                        match q.publish(v) {
                            Ok(_) => out.published[v as usize].store(1, SeqCst),
                            Err(e) => {
                                assert!(e.is_closed());
                                assert_eq!(e.into_inner(), v, "a refused message comes back");
                                return;
                            }
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|c| {
                let (q, out, stop, clock, tx) = (&q, &out, &stop, &clock, tx.clone());
                s.spawn(move || {
                    let mut rng = common::rng::Rng::new(c);
                    while !stop.load(SeqCst) {
                        // Delays (3 ms) come due as the consumers run.
                        clock.advance(Duration::from_millis(1));
                        if rng.below(4) == 0 {
                            take_dead(q);
                        }
                        let Some(d) = q.receive_timeout(Duration::from_millis(1)).unwrap() else {
                            // Nothing deliverable: perhaps overflowed dead
                            // letters hold every prefetch place.
                            take_dead(q);
                            continue;
                        };
                        let v = *d;
                        let action = if d.delivery_count() >= 4 {
                            0
                        } else {
                            rng.below(6)
                        };
                        match action {
                            0 => {
                                d.ack().unwrap();
                                out.ack(v);
                            }
                            1 => d.nack(true).unwrap(),
                            2 => d.nack(false).unwrap(),
                            3 => d.nack_after(Duration::from_millis(3)).unwrap(),
                            4 => drop(d),
                            _ => tx.send((d.detach(), v)).unwrap(),
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        wait_for_count(&out.acks, TOTAL / 2);
        stop.store(true, SeqCst);
        for c in consumers {
            c.join().unwrap();
        }
        q.close();
        for p in producers {
            p.join().unwrap();
        }
        while q.stats().dead_letters > 0 {
            take_dead(&q);
        }
        // The acker may still be acking detached deliveries: each is either
        // acked or drained, never both.
        for v in q.drain() {
            out.drained[v as usize].fetch_add(1, SeqCst);
        }
        acker.join().unwrap();
    });
    for v in 0..TOTAL as usize {
        let ends = [&out.acked[v], &out.dead[v], &out.drained[v]].map(|c| c.load(SeqCst));
        let published = out.published[v].load(SeqCst);
        assert_eq!(ends.iter().sum::<u32>(), published, "message {v}: {ends:?}");
    }
    let stats = q.stats();
    assert_eq!(stats.published, Outcomes::total(&out.published));
    assert!(stats.published >= TOTAL / 2);
    assert_eq!(stats.acked, Outcomes::total(&out.acked));
    assert_eq!(stats.dead_lettered, Outcomes::total(&out.dead));
    assert_eq!(
        (stats.dead_letters, stats.ready, stats.in_flight),
        (0, 0, 0)
    );
    assert_eq!(q.settled_below().get(), stats.published);
    assert!(Outcomes::total(&out.dead) > 0 && Outcomes::total(&out.acked) > 0);
}
