//! Loom models of `AckQueue<T>`: races between settles, receives, the lease
//! scan, dead-lettering, the settle watermark, publishes on a full queue,
//! the prefetch limit, blocked callers and close.
#![cfg(loom)]

use std::time::Duration;

use ackring::{AckError, AckQueue, DeadReason, ManualClock, PublishError};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

mod util;
use util::explore;

const LEASE: Duration = Duration::from_millis(10);

/// A queue as small as the models need: `capacity` entries (each holds
/// its message from publish until settle), `max_in_flight` deliveries.
fn queue(capacity: usize, max_in_flight: usize) -> AckQueue<u32> {
    AckQueue::builder()
        .capacity(capacity)
        .max_in_flight(max_in_flight)
        .build()
        .unwrap()
}

/// A one-entry queue with a lease on a clock the model drives by hand.
fn leased_queue(clock: &ManualClock, max_deliveries: Option<u32>) -> AckQueue<u32> {
    let mut builder = AckQueue::builder()
        .capacity(1)
        .max_in_flight(1)
        .lease(LEASE)
        .clock(clock.clone());
    if let Some(k) = max_deliveries {
        builder = builder.max_deliveries(k);
    }
    builder.build().unwrap()
}

#[test]
fn ack_races_lease_expiry() {
    explore(&["ack won", "expiry won"], || {
        let clock = ManualClock::new();
        let q = Arc::new(leased_queue(&clock, None));
        q.try_publish(7).unwrap();
        let tag = q.try_receive().unwrap().detach();
        clock.advance(LEASE * 2); // expired, not yet found by a scan
        let acker = {
            let q = q.clone();
            thread::spawn(move || q.ack(tag))
        };
        let requeued = q.requeue_expired();
        let acked = acker.join().unwrap();
        match acked {
            Ok(()) => {
                assert_eq!(requeued, 0, "an acked message is not requeued");
                assert!(q.try_receive().is_none());
                assert_eq!(q.settled_below().get(), 1);
                "ack won"
            }
            Err(e) => {
                assert_eq!(e, AckError::Stale, "the expired holder's ack is stale");
                assert_eq!(requeued, 1);
                let again = q.try_receive().expect("the message is redelivered");
                assert_eq!((*again, again.delivery_count()), (7, 2));
                assert!(again.redelivered());
                assert_eq!(q.ack(tag), Err(AckError::Stale), "still stale later");
                again.ack().unwrap();
                assert_eq!(q.settled_below().get(), 1);
                "expiry won"
            }
        }
    });
}

#[test]
fn nack_requeue_races_second_consumer_receive() {
    explore(
        &["receive got the requeue", "receive found nothing"],
        || {
            let q = Arc::new(queue(1, 2));
            q.try_publish(5).unwrap();
            let tag = q.try_receive().unwrap().detach();
            let nacker = {
                let q = q.clone();
                thread::spawn(move || q.nack(tag, true))
            };
            thread::yield_now(); // let the nack go first at least once
            let got = q
                .try_receive()
                .map(|d| (*d, d.delivery_count(), d.detach()));
            nacker.join().unwrap().unwrap();
            let outcome = if got.is_some() {
                "receive got the requeue"
            } else {
                "receive found nothing"
            };
            // Whichever way it went, the message is delivered exactly once more.
            let (value, count, tag2) = match got {
                Some(d) => d,
                None => {
                    let d = q.try_receive().expect("the requeued message");
                    (*d, d.delivery_count(), d.detach())
                }
            };
            assert_eq!((value, count), (5, 2));
            assert!(q.try_receive().is_none(), "delivered once, not twice");
            assert_eq!(q.ack(tag), Err(AckError::Stale));
            q.ack(tag2).unwrap();
            assert_eq!(q.settled_below().get(), 1);
            outcome
        },
    );
}

#[test]
fn two_consumers_race_for_last_free_in_flight_entry() {
    explore(&["one refused", "both received"], || {
        let q = Arc::new(queue(2, 1));
        q.try_publish(1).unwrap();
        q.try_publish(2).unwrap();
        // How many deliveries are held right now: never above the
        // prefetch limit of 1.
        let holding = Arc::new(AtomicUsize::new(0));
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (q, holding) = (q.clone(), holding.clone());
                thread::spawn(move || {
                    let d = q.try_receive()?;
                    let held = holding.fetch_add(1, Ordering::SeqCst) + 1;
                    assert_eq!(held, 1, "two deliveries in flight with max_in_flight 1");
                    let v = *d;
                    holding.fetch_sub(1, Ordering::SeqCst);
                    d.ack().unwrap();
                    Some(v)
                })
            })
            .collect();
        let got: Vec<Option<u32>> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
        let received: Vec<u32> = got.iter().flatten().copied().collect();
        assert!(!received.is_empty(), "one entry was free: someone received");
        assert!(
            received.windows(2).all(|w| w[0] != w[1]),
            "no message delivered twice"
        );
        let outcome = if received.len() == 2 {
            // Only after the first delivery was acked, giving its prefetch
            // place back.
            "both received"
        } else {
            "one refused"
        };
        // Whatever is left is still there, in order.
        let mut all = received.clone();
        while let Some(d) = q.try_receive() {
            all.push(*d);
            d.ack().unwrap();
        }
        all.sort_unstable();
        assert_eq!(all, [1, 2]);
        assert_eq!(q.settled_below().get(), 2);
        outcome
    });
}

#[test]
fn dropped_delivery_races_receive() {
    explore(
        &[
            "dropper got it, receive got the requeue",
            "dropper got it, receive found nothing",
            "receive got it first",
        ],
        || {
            let q = Arc::new(queue(1, 2));
            q.try_publish(9).unwrap();
            let dropper = {
                let q = q.clone();
                thread::spawn(move || {
                    // Dropping a delivery unsettled is what unwinding out of
                    // a panicking handler does.
                    q.try_receive().map(|d| *d)
                })
            };
            thread::yield_now(); // let the dropper go first at least once
            let got = q
                .try_receive()
                .map(|d| (*d, d.delivery_count(), d.detach()));
            let dropped = dropper.join().unwrap();
            let outcome = match (&dropped, &got) {
                (Some(_), Some(_)) => "dropper got it, receive got the requeue",
                (Some(_), None) => "dropper got it, receive found nothing",
                (None, Some(_)) => "receive got it first",
                (None, None) => panic!("the message was delivered to nobody"),
            };
            let (value, count, tag) = match got {
                Some(d) => d,
                None => {
                    let d = q.try_receive().expect("the dropped delivery is requeued");
                    (*d, d.delivery_count(), d.detach())
                }
            };
            // Exactly one delivery before this one if the dropper had it.
            let expected_count = if dropped.is_some() { 2 } else { 1 };
            assert_eq!((value, count), (9, expected_count));
            q.ack(tag).unwrap();
            assert!(q.try_receive().is_none(), "acked: nothing left");
            assert_eq!(q.settled_below().get(), 1);
            outcome
        },
    );
}

#[test]
fn dead_lettering_at_max_deliveries_races_ack() {
    explore(&["ack won", "dead-lettered"], || {
        let clock = ManualClock::new();
        let q = Arc::new(leased_queue(&clock, Some(1)));
        q.try_publish(3).unwrap();
        let tag = q.try_receive().unwrap().detach();
        let nacker = {
            let q = q.clone();
            // A requeue of the last allowed delivery dead-letters it.
            thread::spawn(move || q.nack(tag, true))
        };
        let acked = q.ack(tag);
        let nacked = nacker.join().unwrap();
        match (acked, nacked) {
            (Ok(()), Err(e)) => {
                assert_eq!(e, AckError::AlreadySettled);
                assert!(q.try_receive_dead_letter().is_none());
                assert_eq!(q.settled_below().get(), 1);
                "ack won"
            }
            (Err(e), Ok(())) => {
                assert_eq!(e, AckError::AlreadySettled);
                assert!(q.try_receive().is_none(), "no delivery past the limit");
                assert_eq!(q.settled_below().get(), 0, "dead, not yet settled");
                let dead = q.try_receive_dead_letter().expect("in the dead letters");
                assert_eq!(dead.reason(), DeadReason::MaxDeliveries);
                assert_eq!((dead.delivery_count(), dead.into_inner()), (1, 3));
                assert_eq!(q.settled_below().get(), 1, "drained: settled");
                "dead-lettered"
            }
            (a, n) => panic!("exactly one settle must win: ack {a:?}, nack {n:?}"),
        }
    });
}

#[test]
fn settle_watermark_never_passes_unsettled_sequence() {
    explore(&["watermark 0", "watermark 1", "watermark 2"], || {
        let q = Arc::new(queue(2, 2));
        q.try_publish(0).unwrap();
        q.try_publish(1).unwrap();
        let first = q.try_receive().unwrap().detach();
        let second = q.try_receive().unwrap().detach();
        // `acking[s]` is set just before the ack of sequence s starts.
        let acking = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
        let ackers: Vec<_> = [(1, second), (0, first)]
            .into_iter()
            .map(|(s, tag)| {
                let (q, acking) = (q.clone(), acking.clone());
                thread::spawn(move || {
                    acking[s].store(true, Ordering::SeqCst);
                    q.ack(tag).unwrap();
                })
            })
            .collect();
        thread::yield_now(); // let the ackers go first at least once
        let w = q.settled_below().get();
        for s in 0..w as usize {
            assert!(
                acking[s].load(Ordering::SeqCst),
                "watermark {w} passed sequence {s}, whose ack had not begun"
            );
        }
        for a in ackers {
            a.join().unwrap();
        }
        assert_eq!(
            q.settled_below().get(),
            2,
            "all settled: watermark at the end"
        );
        ["watermark 0", "watermark 1", "watermark 2"][w as usize]
    });
}

#[test]
fn close_races_publish_and_receive() {
    explore(
        &[
            "published and acked",
            "published and drained",
            "refused: closed",
        ],
        || {
            let q = Arc::new(queue(1, 1));
            let publisher = {
                let q = q.clone();
                thread::spawn(move || q.try_publish(4))
            };
            let consumer = {
                let q = q.clone();
                thread::spawn(move || {
                    let d = q.try_receive()?;
                    let v = *d;
                    d.ack().unwrap();
                    Some(v)
                })
            };
            q.close();
            let published = publisher.join().unwrap();
            let consumed = consumer.join().unwrap();
            let drained = q.drain();
            match published {
                Ok(seq) => {
                    assert_eq!(seq.get(), 0);
                    match consumed {
                        Some(v) => {
                            assert_eq!(v, 4);
                            assert!(drained.is_empty());
                            "published and acked"
                        }
                        None => {
                            assert_eq!(drained, [4], "drain hands back the unsettled");
                            "published and drained"
                        }
                    }
                }
                Err(e) => {
                    assert!(matches!(e, PublishError::Closed(4)), "message comes back");
                    assert_eq!(consumed, None);
                    assert!(drained.is_empty());
                    "refused: closed"
                }
            }
        },
    );
}

#[test]
fn lease_scan_never_expires_a_live_delivery() {
    explore(&["scan saw 0 in flight", "scan saw 1 in flight"], || {
        let clock = ManualClock::new();
        let q = Arc::new(
            AckQueue::builder()
                .capacity(1) // one entry, reused below
                .max_in_flight(1)
                .lease(LEASE)
                .clock(clock.clone())
                .build()
                .unwrap(),
        );
        // A first delivery leaves its (now past) deadline in the entry.
        q.try_publish(1).unwrap();
        q.try_receive().unwrap().ack().unwrap();
        clock.advance(LEASE * 2);
        q.try_publish(2).unwrap();
        let receiver = {
            let q = q.clone();
            thread::spawn(move || q.try_receive().map(|d| d.detach()))
        };
        // The new delivery's lease runs until 3 × LEASE: a scan now must not
        // mistake the entry's old deadline for the new one. The scan runs on
        // a thread of its own that never yields: after a `yield_now`, loom
        // no longer lets a thread read a store it had seen before the yield,
        // so a scan on this thread (which wrote the old deadline), behind a
        // yield, could never read it and the model passed with the state
        // store in `take_fresh` made Relaxed. The in-flight count the scanner
        // sees afterwards tells that both orders were explored.
        let scanner = {
            let q = q.clone();
            thread::spawn(move || (q.requeue_expired(), q.stats().in_flight))
        };
        let (requeued, seen) = scanner.join().unwrap();
        let tag = receiver.join().unwrap().expect("the message was ready");
        assert_eq!(requeued, 0, "a live lease was expired");
        q.ack(tag).unwrap();
        assert_eq!(q.stats().delivered, 2, "no redelivery happened");
        ["scan saw 0 in flight", "scan saw 1 in flight"][seen]
    });
}

#[test]
fn ack_settles_its_own_seq_when_an_old_holder_frees_the_entry() {
    // One entry. The message's first delivery expired and its guard is
    // still alive when the redelivery is acked by tag; whichever of the ack
    // and the old guard's drop comes last frees the entry, and a new
    // message may take it over at once. The ack must settle the message it
    // acked, not the new one.
    //
    // With the entries as the ring's slots, the publish of the new message
    // itself waits for that settle: it is refused (`Full`) until the ack
    // and the drop are both done, where the old queue (a fresh ring apart
    // from the table) always took it. Hence the outcomes: the entry is
    // reused before the acker is joined, or the publish is refused.
    explore(&["entry reused", "publish refused: full"], || {
        let clock = ManualClock::new();
        let q = Arc::new(
            AckQueue::builder()
                .capacity(1)
                .max_in_flight(1)
                .lease(LEASE)
                .clock(clock.clone())
                .build()
                .unwrap(),
        );
        q.try_publish(0).unwrap();
        let old = q.try_receive().unwrap();
        clock.advance(LEASE * 2);
        assert_eq!(q.requeue_expired(), 1);
        let tag = q.try_receive().unwrap().detach(); // the old guard still holds it
        let acker = {
            let q = q.clone();
            thread::spawn(move || q.ack(tag))
        };
        drop(old); // stale: lets go of the entry, freeing it if acked
        let second = match q.try_publish(1) {
            Ok(seq) => {
                assert_eq!(seq.get(), 1);
                // Delivered at once: with `max_in_flight` equal to the
                // capacity, the prefetch limit cannot bind.
                Some(q.try_receive().expect("the new message").detach())
            }
            Err(PublishError::Full(1)) => None,
            Err(e) => panic!("unexpected {e:?}"),
        };
        acker.join().unwrap().unwrap();
        assert_eq!(
            q.settled_below().get(),
            1,
            "seq 0 acked, seq 1 not yet settled"
        );
        let outcome = if second.is_some() {
            "entry reused"
        } else {
            "publish refused: full"
        };
        let second = second.unwrap_or_else(|| {
            // Acked and let go of by now: the entry is free.
            assert_eq!(q.try_publish(1).unwrap().get(), 1);
            q.try_receive().unwrap().detach()
        });
        q.ack(second).unwrap();
        assert_eq!(q.settled_below().get(), 2);
        outcome
    });
}

#[test]
fn try_publish_on_full_queue_races_ack() {
    // One entry, holding a delivered message: a publish finds room only
    // once the ack has settled that message and freed the entry.
    explore(&["published after the ack", "refused: full"], || {
        let q = Arc::new(queue(1, 1));
        q.try_publish(1).unwrap();
        let tag = q.try_receive().unwrap().detach();
        let acker = {
            let q = q.clone();
            thread::spawn(move || q.ack(tag))
        };
        thread::yield_now(); // let the ack go first at least once
        let published = q.try_publish(2);
        acker.join().unwrap().unwrap();
        assert_eq!(q.settled_below().get(), 1);
        let outcome = match published {
            Ok(seq) => {
                assert_eq!(seq.get(), 1);
                "published after the ack"
            }
            Err(PublishError::Full(v)) => {
                assert_eq!(v, 2, "a refused publish hands its message back");
                assert!(q.try_receive().is_none(), "nothing was published");
                // The entry is free now that the ack is done.
                assert_eq!(q.try_publish(v).unwrap().get(), 1);
                "refused: full"
            }
            Err(e) => panic!("unexpected {e:?}"),
        };
        // Exactly one copy of the new message, in the entry the ack freed.
        let d = q.try_receive().expect("the new message");
        assert_eq!((*d, d.seq().get(), d.delivery_count()), (2, 1, 1));
        d.ack().unwrap();
        assert!(q.try_receive().is_none(), "delivered once, not twice");
        assert_eq!(q.settled_below().get(), 2);
        outcome
    });
}

#[test]
fn blocked_publish_is_woken_by_ack() {
    // A full queue of two entries. A publisher that finds no room sleeps
    // (under loom the wait goes straight to parking, see `src/sync.rs`)
    // until an ack frees the entry it needs, seq 0's. The acks come out of
    // order: seq 1's wakes the publisher (if asleep) to find no room yet,
    // so it sleeps again, and seq 0's must wake it a second time. A lost
    // wake-up leaves it asleep forever: loom reports the deadlock.
    explore(&["room at the first try", "waited for room"], || {
        let q = Arc::new(queue(2, 2));
        q.try_publish(0).unwrap();
        q.try_publish(1).unwrap();
        let first = q.try_receive().unwrap().detach();
        let second = q.try_receive().unwrap().detach();
        let publisher = {
            let q = q.clone();
            thread::spawn(move || match q.try_publish(2) {
                Ok(seq) => (seq, "room at the first try"),
                Err(PublishError::Full(v)) => (q.publish(v).unwrap(), "waited for room"),
                Err(e) => panic!("unexpected {e:?}"),
            })
        };
        q.ack(second).unwrap();
        q.ack(first).unwrap();
        let (seq, outcome) = publisher.join().unwrap();
        assert_eq!(seq.get(), 2);
        let d = q.try_receive().expect("the new message");
        assert_eq!(*d, 2);
        d.ack().unwrap();
        assert!(q.try_receive().is_none(), "published once");
        assert_eq!(q.settled_below().get(), 3);
        outcome
    });
}

#[test]
fn two_receivers_race_for_last_prefetch_place() {
    // Two messages ready, one prefetch place. Then the loser waits in a
    // blocking receive for the place the winner's ack gives back.
    explore(&["first receiver won", "second receiver won"], || {
        let q = Arc::new(queue(2, 1));
        q.try_publish(1).unwrap();
        q.try_publish(2).unwrap();
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || q.try_receive().map(|d| (*d, d.detach())))
            })
            .collect();
        let got: Vec<Option<(u32, _)>> = receivers.into_iter().map(|r| r.join().unwrap()).collect();
        let (winner, (value, tag)) = match (got[0], got[1]) {
            (Some(w), None) => (0, w),
            (None, Some(w)) => (1, w),
            (None, None) => panic!("a place was free: someone must receive"),
            (Some(_), Some(_)) => panic!("two deliveries in flight with max_in_flight 1"),
        };
        assert_eq!(value, 1, "fresh messages are delivered in order");
        assert!(q.try_receive().is_none(), "the place is still taken");
        let loser = {
            let q = q.clone();
            thread::spawn(move || {
                let d = q.receive().expect("not closed");
                let v = *d;
                d.ack().unwrap();
                v
            })
        };
        // A lost wake-up leaves the loser asleep: loom reports the deadlock.
        q.ack(tag).unwrap();
        assert_eq!(loser.join().unwrap(), 2, "the ack gave the place back");
        assert!(q.try_receive().is_none());
        assert_eq!(q.settled_below().get(), 2);
        ["first receiver won", "second receiver won"][winner]
    });
}

/// What the acker did before each ack: the reader reads entry `s` only
/// once the watermark has passed seq `s`, so loom reports a causality
/// violation unless that settle happens-before the watermark's return.
/// (A cell rather than a Relaxed flag: after the reader's `yield_now`, loom
/// no longer lets it read a store it had seen before the yield, here the
/// flag's initial `false`, so a stale flag would go unnoticed.)
struct Work([UnsafeCell<u32>; 3]);
// SAFETY: loom checks every access to the cells; that is the point.
unsafe impl Sync for Work {}
// SAFETY: as above.
unsafe impl Send for Work {}

#[test]
fn settled_below_races_out_of_order_acks() {
    // Capacity 2 with a wrap: seq 0 is settled and its entry holds seq 2
    // (position one lap on). One thread acks seq 2, then seq 1; the reader
    // scans the stamps from the start (nothing cached yet) while they
    // change, twice.
    explore(&["watermark 1", "watermark 3"], || {
        let q = Arc::new(queue(2, 2));
        for v in 0..2 {
            q.try_publish(v).unwrap();
        }
        q.try_receive().unwrap().ack().unwrap();
        assert_eq!(q.try_publish(2).unwrap().get(), 2);
        let one = q.try_receive().unwrap().detach();
        let two = q.try_receive().unwrap().detach();
        let work = Arc::new(Work([
            UnsafeCell::new(1), // seq 0, acked above
            UnsafeCell::new(0),
            UnsafeCell::new(0),
        ]));
        let acker = {
            let (q, work) = (q.clone(), work.clone());
            thread::spawn(move || {
                for (s, tag) in [(2, two), (1, one)] {
                    // SAFETY: checked by loom (see `Work`).
                    work.0[s].with_mut(|p| unsafe { *p = 1 });
                    q.ack(tag).unwrap();
                }
            })
        };
        thread::yield_now(); // let the acker go first at least once
        let w = q.settled_below().get();
        let again = q.settled_below().get();
        assert!(
            w >= 1,
            "seq 0 was settled before the race, its entry reused"
        );
        assert!(w <= again, "the watermark went back from {w} to {again}");
        for s in 0..again as usize {
            // SAFETY: checked by loom (see `Work`).
            let done = work.0[s].with(|p| unsafe { *p });
            assert_eq!(done, 1, "watermark {again} passed seq {s} before its ack");
        }
        // Seq 2 is acked before seq 1: it is settled whenever seq 1 is.
        assert_ne!(w, 2, "watermark stopped at the settled seq 2");
        acker.join().unwrap();
        assert_eq!(
            q.settled_below().get(),
            3,
            "all settled: the published count"
        );
        if w == 1 {
            "watermark 1"
        } else {
            "watermark 3"
        }
    });
}

#[test]
fn wait_settled_is_woken_by_acks() {
    // The waiter wants seq 1 settled; the acker settles it first (which
    // wakes the waiter, if asleep, to find seq 0 still unsettled), then
    // seq 0, whose ack must wake it again.
    explore(&["settled before the wait", "waited for the acks"], || {
        let q = Arc::new(queue(2, 2));
        q.try_publish(0).unwrap();
        let last = q.try_publish(1).unwrap();
        let first = q.try_receive().unwrap().detach();
        let second = q.try_receive().unwrap().detach();
        let waiter = {
            let q = q.clone();
            thread::spawn(move || {
                if q.settled_below() > last {
                    return "settled before the wait";
                }
                // Any timeout above zero: under loom a timed wait never
                // times out, so a lost wake-up is a deadlock.
                assert!(q.wait_settled(last, Duration::from_secs(60)));
                "waited for the acks"
            })
        };
        q.ack(second).unwrap();
        q.ack(first).unwrap();
        let outcome = waiter.join().unwrap();
        assert_eq!(q.settled_below().get(), 2);
        outcome
    });
}

#[test]
fn watermark_passes_a_message_acked_while_its_guard_lives() {
    // Seq 0 is acked by tag while its guard stays alive on the main
    // thread: settled at once (the watermark may pass it, reading the
    // entry's `Settled` state, not a freed stamp), but its entry is not
    // reused until the guard goes.
    explore(&["watermark 0", "watermark 1", "watermark 2"], || {
        let q = Arc::new(queue(2, 2));
        q.try_publish(0).unwrap();
        let guard = q.try_receive().unwrap();
        q.try_publish(1).unwrap();
        let one = q.try_receive().unwrap().detach();
        let work = Arc::new(Work([
            UnsafeCell::new(0),
            UnsafeCell::new(0),
            UnsafeCell::new(0),
        ]));
        let acker = {
            let (q, work, zero) = (q.clone(), work.clone(), guard.tag());
            thread::spawn(move || {
                for (s, tag) in [(0, zero), (1, one)] {
                    // SAFETY: checked by loom (see `Work`).
                    work.0[s].with_mut(|p| unsafe { *p = 1 });
                    q.ack(tag).unwrap();
                }
            })
        };
        thread::yield_now(); // let the acker go first at least once
        let w = q.settled_below().get();
        for s in 0..w as usize {
            // SAFETY: checked by loom (see `Work`).
            let done = work.0[s].with(|p| unsafe { *p });
            assert_eq!(done, 1, "watermark {w} passed seq {s} before its ack");
        }
        acker.join().unwrap();
        assert_eq!(q.settled_below().get(), 2, "both acked, one still held");
        assert_eq!(*guard, 0, "the guard still reads its message");
        assert!(
            q.try_publish(2).unwrap_err().is_full(),
            "seq 2 would reuse the entry the guard reads"
        );
        drop(guard); // already settled: just lets go
        assert_eq!(q.try_publish(2).unwrap().get(), 2);
        match w {
            0 => "watermark 0",
            1 => "watermark 1",
            _ => "watermark 2",
        }
    });
}
