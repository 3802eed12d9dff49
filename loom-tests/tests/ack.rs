//! Loom models of `AckQueue<T>`: races between settles, receives, the lease
//! scan (expiry, extension, delayed requeues), dead-lettering and the
//! dead-letter bound, the confirmations (watermark and per message), the
//! fresh ring's room, the prefetch limit, entry reuse, blocked callers,
//! close and drain, and the batch calls.
#![cfg(loom)]

use std::time::Duration;

use ackring::{AckError, AckQueue, DeadReason, ManualClock, PushError, Seq};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

mod util;
use util::{clocked, explore, queue};

const LEASE: Duration = Duration::from_millis(10);

/// A one-slot, one-delivery queue with a lease on a clock the model drives
/// by hand.
fn leased_queue<T: Send + Sync>(clock: &ManualClock, max_deliveries: Option<u32>) -> AckQueue<T> {
    let mut builder = AckQueue::builder()
        .capacity(1)
        .max_in_flight(1)
        .dead_letter_capacity(1)
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
                    assert!(matches!(e, PushError::Closed(4)), "message comes back");
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
        let (q, clock) = clocked(1, 1, |b| b.lease(LEASE));
        // First deliveries leave their (now past) deadlines in both
        // entries.
        for v in 0..2 {
            q.try_publish(v).unwrap();
            q.try_receive().unwrap().ack().unwrap();
        }
        clock.advance(LEASE * 2);
        q.try_publish(2).unwrap(); // its home entry is entry 0 again
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
        assert_eq!(q.stats().delivered, 3, "no redelivery happened");
        ["scan saw 0 in flight", "scan saw 1 in flight"][seen]
    });
}

#[test]
fn ack_by_tag_races_an_old_holders_drop_then_the_entry_is_reused() {
    // The message's first delivery expired and its guard is still alive
    // when the redelivery is acked by tag; whichever of the ack and the old
    // guard's drop comes last frees the entry and gives the prefetch place
    // back, and the next message may take that entry over at once. The ack
    // settles the message it acked, never the next one.
    explore(
        &["second delivered at once", "second waited for the place"],
        || {
            let clock = ManualClock::new();
            let q = Arc::new(leased_queue(&clock, None));
            let first_seq = q.try_publish(0).unwrap();
            let old = q.try_receive().unwrap();
            clock.advance(LEASE * 2);
            assert_eq!(q.requeue_expired(), 1);
            let tag = q.try_receive().unwrap().detach(); // the old guard still holds it
            let acker = {
                let q = q.clone();
                thread::spawn(move || q.ack(tag))
            };
            drop(old); // stale: lets go of the entry, freeing it if acked
            let second_seq = q.try_publish(1).expect("the fresh slot is free");
            let second = q.try_receive().map(|d| d.detach());
            acker.join().unwrap().unwrap();
            assert!(q.is_settled(first_seq));
            assert!(!q.is_settled(second_seq));
            assert_eq!(q.settled_below().get(), 1, "seq 0 acked, seq 1 not yet");
            let outcome = if second.is_some() {
                "second delivered at once"
            } else {
                "second waited for the place"
            };
            let second =
                second.unwrap_or_else(|| q.try_receive().expect("the place is back").detach());
            q.ack(second).unwrap();
            assert!(q.is_settled(second_seq));
            assert_eq!(q.settled_below().get(), 2);
            outcome
        },
    );
}

#[test]
fn try_publish_on_full_queue_races_receive() {
    // One fresh slot, holding a waiting message: a publish finds room once
    // a receive has moved that message into the table, whatever becomes of
    // it there (it stays in flight).
    explore(&["published after the receive", "refused: full"], || {
        let q = Arc::new(queue(1, 1));
        q.try_publish(1).unwrap();
        let receiver = {
            let q = q.clone();
            thread::spawn(move || q.try_receive().map(|d| (*d, d.detach())))
        };
        thread::yield_now(); // let the receive go first at least once
        let published = q.try_publish(2);
        let (value, tag) = receiver.join().unwrap().expect("a message was waiting");
        assert_eq!(value, 1);
        let outcome = match published {
            Ok(seq) => {
                assert_eq!(seq.get(), 1);
                "published after the receive"
            }
            Err(PushError::Full(v)) => {
                assert_eq!(v, 2, "a refused publish hands its message back");
                // The slot is free now that the receive is done, though
                // message 1 is still in flight.
                assert_eq!(q.try_publish(v).unwrap().get(), 1);
                "refused: full"
            }
            Err(e) => panic!("unexpected {e:?}"),
        };
        q.ack(tag).unwrap();
        let d = q.try_receive().expect("the new message");
        assert_eq!((*d, d.seq().get(), d.delivery_count()), (2, 1, 1));
        d.ack().unwrap();
        assert!(q.try_receive().is_none(), "delivered once, not twice");
        assert_eq!(q.settled_below().get(), 2);
        outcome
    });
}

#[test]
fn blocked_publish_is_woken_by_receive_not_by_settles() {
    // A full fresh ring of one slot, and a message in flight. A publisher
    // that finds no room sleeps (under loom the wait goes straight to
    // parking, see `src/sync.rs`) until the receive of the waiting message
    // frees its slot; the in-flight message is never settled, and must not
    // matter. A lost wake-up leaves the publisher asleep: loom reports the
    // deadlock.
    explore(&["room at the first try", "waited for room"], || {
        let q = Arc::new(queue(1, 2));
        let held_seq = q.try_publish(0).unwrap();
        let held = q.try_receive().unwrap().detach();
        q.try_publish(1).unwrap();
        let publisher = {
            let q = q.clone();
            thread::spawn(move || match q.try_publish(2) {
                Ok(seq) => (seq, "room at the first try"),
                Err(PushError::Full(v)) => (q.publish(v).unwrap(), "waited for room"),
                Err(e) => panic!("unexpected {e:?}"),
            })
        };
        let one = q.receive().unwrap();
        assert_eq!(*one, 1);
        let (seq, outcome) = publisher.join().unwrap();
        assert_eq!(seq.get(), 2);
        one.ack().unwrap();
        let d = q.try_receive().expect("the new message");
        assert_eq!(*d, 2);
        d.ack().unwrap();
        assert!(!q.is_settled(held_seq));
        q.ack(held).unwrap();
        assert_eq!(q.settled_below().get(), 3);
        outcome
    });
}

#[test]
fn blocked_receive_is_woken_by_a_publish_in_transit() {
    // A receiver on an empty queue sleeps until a publish wakes it. The
    // publish notifies without a fence, keyed by its `tail` CAS: a
    // receiver that arms after that CAS but before the slot's stamp store
    // must see the publish under way and wait awake (`wait/mod.rs`, "Keyed
    // notifications"). A lost wake-up leaves it asleep: loom reports the
    // deadlock.
    explore(
        &["message at the first try", "waited for the message"],
        || {
            let q = Arc::new(queue(1, 1));
            let receiver = {
                let q = q.clone();
                thread::spawn(move || match q.try_receive() {
                    Some(d) => (d.detach(), "message at the first try"),
                    None => (q.receive().unwrap().detach(), "waited for the message"),
                })
            };
            let seq = q.try_publish(7).unwrap();
            let (tag, outcome) = receiver.join().unwrap();
            q.ack(tag).unwrap();
            assert!(q.is_settled(seq));
            assert!(q.try_receive().is_none(), "delivered once, not twice");
            outcome
        },
    );
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

/// The index of the table entry a delivery's tag names, read from its
/// `Debug` output (the tag's fields are private): which entry a receive
/// claimed.
fn entry_of(debug: String) -> u32 {
    let at = debug.find("index: ").expect("a tag in the output") + "index: ".len();
    debug[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("an index")
}

#[test]
fn receive_claims_the_spare_entry_an_ack_by_tag_is_freeing() {
    // One fresh slot (so one home entry, 0), two prefetch places, one
    // dead-letter place: three spare entries, 1 to 3, a receive of seq `s`
    // whose home is busy looking from spare `1 + s % 3` on. Seq 0 is a
    // dead letter in the home entry; seq 1 is in flight in spare 2 and is
    // acked by tag on another thread; seqs 2 and 3 went through spares 3
    // and 1. Seq 4's receive has a place whatever the ack does, and looks
    // at spare 2 first: the ack's move of seq 1 out of it must
    // happen-before the receive's write of seq 4 (the free's Release
    // store, the spare claim's Acquire CAS), which loom's cells report
    // otherwise. Nothing else orders the two: the receive reads no count
    // the ack writes before it frees the entry.
    explore(
        &["took the spare the ack freed", "took the next spare"],
        || {
            let q = Arc::new(queue(1, 2));
            q.try_publish(0).unwrap();
            q.try_receive().unwrap().nack(false).unwrap();
            q.try_publish(1).unwrap();
            let one = q.try_receive().unwrap();
            assert_eq!(entry_of(format!("{one:?}")), 2);
            let one = one.detach();
            for seq in 2..4 {
                q.try_publish(seq).unwrap();
                q.try_receive().unwrap().ack().unwrap();
            }
            q.try_publish(4).unwrap();
            let acker = {
                let q = q.clone();
                thread::spawn(move || q.ack(one))
            };
            let four = q.try_receive().expect("a place is free");
            assert_eq!((*four, four.seq().get()), (4, 4));
            let outcome = match entry_of(format!("{four:?}")) {
                2 => "took the spare the ack freed",
                3 => "took the next spare",
                other => panic!("seq 4 in entry {other}"),
            };
            acker.join().unwrap().unwrap();
            four.ack().unwrap();
            assert_eq!(q.try_receive_dead_letter().unwrap().into_inner(), 0);
            assert_eq!(q.settled_below().get(), 5);
            outcome
        },
    );
}

#[test]
fn receive_claims_its_home_entry_a_guard_ack_is_freeing() {
    // One fresh slot, two prefetch places. Seq 0, in home entry 0, is
    // acked by its guard on another thread, by plain stores (the guard is
    // the entry's sole mover); seq 1's receive, which has a place either
    // way, claims home entry 0 without a CAS if it sees it free, else a
    // spare. The guard's move of seq 0 out must happen-before the
    // receive's write of seq 1 (the ack's Release store of `Free`, the home
    // claim's Acquire load): loom's cells report it otherwise.
    explore(&["took the home entry", "took a spare"], || {
        let q = Arc::new(queue(1, 2));
        q.try_publish(0).unwrap();
        let zero = AckQueue::try_receive_owned(&q).unwrap();
        assert_eq!(entry_of(format!("{zero:?}")), 0);
        let acker = thread::spawn(move || zero.ack());
        thread::yield_now(); // let the ack go first at least once
        q.try_publish(1).unwrap();
        let one = q.try_receive().expect("a place is free");
        assert_eq!(*one, 1);
        let outcome = if entry_of(format!("{one:?}")) == 0 {
            "took the home entry"
        } else {
            "took a spare"
        };
        acker.join().unwrap().unwrap();
        one.ack().unwrap();
        assert!(q.try_receive().is_none());
        assert_eq!(q.settled_below().get(), 2);
        outcome
    });
}

#[test]
fn older_guard_reads_while_its_messages_redelivery_is_acked() {
    // A message requeued by tag while its guard lives is delivered again,
    // so two guards hold it: the older one still reads it on another
    // thread while the newer one acks. That ack is not its entry's sole
    // mover (two holders): it settles by CAS, and the entry is freed, and
    // taken by the next message, only once the older guard lets go. loom's
    // cells report the next message's write racing the older guard's read
    // otherwise.
    explore(
        &["next message in the home entry", "next message in a spare"],
        || {
            let q = Arc::new(queue(1, 2));
            q.try_publish(7).unwrap();
            let older = AckQueue::try_receive_owned(&q).unwrap();
            q.nack(older.tag(), true).unwrap();
            let newer = q.try_receive().expect("delivered again");
            assert_eq!((*newer, newer.delivery_count()), (7, 2));
            let reader = thread::spawn(move || {
                let v = *older;
                drop(older); // lets go: stale, nothing to requeue
                v
            });
            newer.ack().unwrap();
            q.try_publish(8).unwrap();
            let next = q.try_receive().expect("a place is free");
            assert_eq!(*next, 8);
            let outcome = if entry_of(format!("{next:?}")) == 0 {
                "next message in the home entry"
            } else {
                "next message in a spare"
            };
            assert_eq!(reader.join().unwrap(), 7);
            next.ack().unwrap();
            assert_eq!(q.settled_below().get(), 2);
            assert_eq!(q.stats().acked, 2);
            outcome
        },
    );
}

#[test]
fn guard_ack_races_an_ack_by_its_handed_out_tag() {
    // A guard hands its tag out, and acks while another thread acks by
    // that tag. A guard whose tag is out settles by CAS, as the tag's
    // settle does: exactly one wins, the other is told the delivery is
    // settled, and the place comes back once.
    explore(&["the guard won", "the tag won"], || {
        let q = Arc::new(queue(1, 1));
        q.try_publish(7).unwrap();
        let d = AckQueue::try_receive_owned(&q).unwrap();
        let tag = d.tag();
        let by_tag = {
            let q = q.clone();
            thread::spawn(move || q.ack(tag))
        };
        let by_guard = d.ack();
        let outcome = match (by_guard, by_tag.join().unwrap()) {
            (Ok(()), Err(AckError::AlreadySettled)) => "the guard won",
            (Err(AckError::AlreadySettled), Ok(())) => "the tag won",
            other => panic!("one ack wins, the other is refused: {other:?}"),
        };
        assert_eq!(q.stats().acked, 1, "acked once");
        assert_eq!(q.settled_below().get(), 1);
        q.try_publish(8).unwrap();
        let next = q.try_receive().expect("the place came back");
        assert_eq!(*next, 8);
        next.ack().unwrap();
        assert_eq!(q.stats().acked, 2);
        outcome
    });
}

#[test]
fn lease_scan_never_expires_a_live_redelivery() {
    // A delivery expires and is delivered again on another thread, whose
    // redelivery writes the new deadline before its CAS into `InFlight`
    // (Release). A scan on a third thread that sees the redelivery must
    // see its deadline, not the expired one.
    explore(&["scan saw it in flight", "scan saw it waiting"], || {
        let clock = ManualClock::new();
        let q = Arc::new(leased_queue(&clock, None));
        q.try_publish(1).unwrap();
        let old = q.try_receive().unwrap().detach();
        clock.advance(LEASE * 2);
        assert_eq!(q.requeue_expired(), 1);
        let receiver = {
            let q = q.clone();
            thread::spawn(move || q.try_receive().map(|d| d.detach()))
        };
        let scanner = {
            let q = q.clone();
            thread::spawn(move || (q.requeue_expired(), q.stats().in_flight))
        };
        let (requeued, seen) = scanner.join().unwrap();
        let tag = receiver.join().unwrap().expect("the requeued message");
        assert_eq!(requeued, 0, "a live lease was expired");
        assert_eq!(q.ack(old), Err(AckError::Stale));
        q.ack(tag).unwrap();
        assert_eq!(q.stats().redelivered, 1, "delivered twice, no more");
        ["scan saw it waiting", "scan saw it in flight"][seen]
    });
}

/// What a thread did before a settle: the reader reads cell `s` only once
/// a confirmation said seq `s` is settled, so loom reports a causality
/// violation unless that settle happens-before the confirmation's return.
/// (A cell rather than a Relaxed flag: after the reader's `yield_now`, loom
/// no longer lets it read a store it had seen before the yield, here the
/// flag's initial `false`, so a stale flag would go unnoticed.)
struct Work([UnsafeCell<u32>; 3]);
// SAFETY: loom checks every access to the cells; that is the point.
unsafe impl Sync for Work {}
// SAFETY: as above.
unsafe impl Send for Work {}

impl Work {
    fn new() -> Arc<Self> {
        Arc::new(Work([
            UnsafeCell::new(0),
            UnsafeCell::new(0),
            UnsafeCell::new(0),
        ]))
    }
    fn mark(&self, s: usize) {
        // SAFETY: checked by loom (see `Work`).
        self.0[s].with_mut(|p| unsafe { *p = 1 });
    }
    fn done(&self, s: usize) -> bool {
        // SAFETY: checked by loom (see `Work`).
        self.0[s].with(|p| unsafe { *p }) == 1
    }
}

#[test]
fn settled_below_races_out_of_order_acks() {
    // Seq 0 settled before the race; one thread acks seq 2, then seq 1;
    // the reader computes the watermark (nothing cached yet) while they
    // change, twice.
    explore(&["watermark 1", "watermark 3"], || {
        let q = Arc::new(queue(3, 2));
        for v in 0..3 {
            q.try_publish(v).unwrap();
        }
        q.try_receive().unwrap().ack().unwrap();
        let one = q.try_receive().unwrap().detach();
        let two = q.try_receive().unwrap().detach();
        let work = Work::new();
        work.mark(0); // seq 0, acked above
        let acker = {
            let (q, work) = (q.clone(), work.clone());
            thread::spawn(move || {
                for (s, tag) in [(2, two), (1, one)] {
                    work.mark(s);
                    q.ack(tag).unwrap();
                }
            })
        };
        thread::yield_now(); // let the acker go first at least once
        let w = q.settled_below().get();
        let again = q.settled_below().get();
        assert!(w >= 1, "seq 0 was settled before the race");
        assert!(w <= again, "the watermark went back from {w} to {again}");
        for s in 0..again as usize {
            assert!(
                work.done(s),
                "watermark {again} passed seq {s} before its ack"
            );
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

/// A one-message queue and a consumer thread that receives seq 0, marks
/// `Work` cell 0, then acks it: the confirmation models' race.
fn one_message_in_transit() -> (Arc<AckQueue<u32>>, Seq, Arc<Work>, thread::JoinHandle<()>) {
    let q = Arc::new(queue(1, 1));
    let seq = q.try_publish(0).unwrap();
    let work = Work::new();
    let consumer = {
        let (q, work) = (q.clone(), work.clone());
        thread::spawn(move || {
            let d = q.try_receive().expect("published");
            work.mark(0);
            d.ack().unwrap();
        })
    };
    (q, seq, work, consumer)
}

#[test]
fn confirmations_race_a_receive_in_transit() {
    // A receive moves seq 0 from its fresh slot into the table, and an ack
    // settles it, while the reader asks about it: neither `is_settled` nor
    // the watermark may call it settled in between (in the slot, freed,
    // found in the table), and what the acker did before the ack is
    // visible to a reader told it is settled.
    explore(&["not settled yet", "settled"], || {
        let (q, seq, work, consumer) = one_message_in_transit();
        thread::yield_now(); // let the consumer go first at least once
        let settled = q.is_settled(seq);
        let below = q.settled_below().get();
        if settled || below > 0 {
            assert!(work.done(0), "confirmed before the ack");
        }
        consumer.join().unwrap();
        assert!(q.is_settled(seq));
        assert_eq!(q.settled_below().get(), 1);
        if settled {
            "settled"
        } else {
            "not settled yet"
        }
    });
}

#[test]
fn wait_settled_is_woken_by_acks() {
    // The waiter wants seq 1 and everything before it settled; the acker
    // settles seq 1 first (which wakes the waiter, if asleep, to find seq
    // 0 still unsettled), then seq 0, whose ack must wake it again. A
    // second waiter waits for seq 1 alone, which the first ack settles.
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
                assert!(q.wait_settled_through(last, Duration::from_secs(60)));
                "waited for the acks"
            })
        };
        q.ack(second).unwrap();
        assert!(q.wait_settled(last, Duration::from_secs(60)));
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
    // entry's `Settled` state), but the entry and its prefetch place are
    // kept until the guard goes.
    explore(&["watermark 0", "watermark 1", "watermark 2"], || {
        let q = Arc::new(queue(2, 2));
        q.try_publish(0).unwrap();
        let guard = q.try_receive().unwrap();
        q.try_publish(1).unwrap();
        let one = q.try_receive().unwrap().detach();
        let work = Work::new();
        let acker = {
            let (q, work, zero) = (q.clone(), work.clone(), guard.tag());
            thread::spawn(move || {
                for (s, tag) in [(0, zero), (1, one)] {
                    work.mark(s);
                    q.ack(tag).unwrap();
                }
            })
        };
        thread::yield_now(); // let the acker go first at least once
        let w = q.settled_below().get();
        for s in 0..w as usize {
            assert!(work.done(s), "watermark {w} passed seq {s} before its ack");
        }
        acker.join().unwrap();
        assert_eq!(q.settled_below().get(), 2, "both acked, one still held");
        assert_eq!(*guard, 0, "the guard still reads its message");
        q.try_publish(2).unwrap();
        q.try_publish(3).unwrap();
        let two = q.try_receive().expect("one place is free");
        assert!(q.try_receive().is_none(), "the held entry keeps its place");
        drop(guard); // already settled: just lets go
        let three = q.try_receive().expect("the guard gave the place back");
        assert_eq!((*two, *three), (2, 3));
        two.ack().unwrap();
        three.ack().unwrap();
        match w {
            0 => "watermark 0",
            1 => "watermark 1",
            _ => "watermark 2",
        }
    });
}

#[test]
fn extend_lease_races_expiry_and_ack() {
    // The lease has run out and nobody has noticed yet. A heartbeat, the
    // scan and an ack race: exactly one of "extended (and then acked)",
    // "acked first" and "expired first" happens, and the message is
    // settled once, or delivered again.
    explore(
        &[
            "acked before the extension",
            "expired first",
            "extended, then acked",
        ],
        || {
            let clock = ManualClock::new();
            let q = Arc::new(leased_queue(&clock, None));
            q.try_publish(7).unwrap();
            let tag = q.try_receive().unwrap().detach();
            clock.advance(LEASE * 2);
            let extender = {
                let q = q.clone();
                thread::spawn(move || q.extend_lease(tag, LEASE * 100))
            };
            let scanner = {
                let q = q.clone();
                thread::spawn(move || q.requeue_expired())
            };
            let acked = q.ack(tag);
            let extended = extender.join().unwrap();
            let requeued = scanner.join().unwrap();
            match (extended, acked, requeued) {
                (Err(AckError::AlreadySettled), Ok(()), 0) => {
                    assert_eq!(q.settled_below().get(), 1);
                    "acked before the extension"
                }
                (Err(AckError::Stale), Err(AckError::Stale), 1) => {
                    let again = q.try_receive().expect("redelivered");
                    assert_eq!((*again, again.delivery_count()), (7, 2));
                    again.ack().unwrap();
                    "expired first"
                }
                (Ok(()), Ok(()), 0) => {
                    assert_eq!(q.settled_below().get(), 1);
                    assert_eq!(q.requeue_expired(), 0);
                    "extended, then acked"
                }
                other => panic!("settled twice or lost: {other:?}"),
            }
        },
    );
}

#[test]
fn nack_after_races_the_scan() {
    // A delivery is nacked with a delay far longer than its lease while
    // the clock passes the lease and the scan runs: the scan either
    // expires the lease first (the nack is then stale) or sees the delay,
    // never the delivery's old deadline as the delay's.
    explore(&["expired before the nack", "delayed"], || {
        let clock = ManualClock::new();
        let q = Arc::new(leased_queue(&clock, None));
        q.try_publish(5).unwrap();
        let tag = q.try_receive().unwrap().detach();
        let nacker = {
            let q = q.clone();
            thread::spawn(move || q.nack_after(tag, LEASE * 100))
        };
        clock.advance(LEASE * 2);
        let scanner = {
            let q = q.clone();
            thread::spawn(move || q.requeue_expired())
        };
        let requeued = scanner.join().unwrap();
        let nacked = nacker.join().unwrap();
        let outcome = match nacked {
            Err(AckError::Stale) => {
                assert_eq!(requeued, 1);
                "expired before the nack"
            }
            Ok(()) => {
                assert_eq!(requeued, 0, "released before its delay");
                assert!(q.try_receive().is_none(), "delayed");
                clock.advance(LEASE * 200);
                assert_eq!(q.requeue_expired(), 1);
                "delayed"
            }
            Err(e) => panic!("unexpected {e:?}"),
        };
        let again = q.try_receive().expect("delivered again");
        assert_eq!((*again, again.delivery_count()), (5, 2));
        again.ack().unwrap();
        assert_eq!(q.stats().ready, 0, "nothing left delayed");
        outcome
    });
}

#[test]
fn drain_races_a_receive_and_a_holders_drop() {
    // Closed queue: seq 0 is held by a guard that is dropped (a requeue)
    // while a receiver takes what it can and `drain` hands back the rest.
    // Every message ends exactly once: acked by the receiver, drained, or
    // left for a second drain.
    explore(
        &[
            "receive got seq 0",
            "receive got seq 1",
            "receive got nothing",
        ],
        || {
            let q = Arc::new(queue(2, 2));
            q.try_publish(0).unwrap();
            q.try_publish(1).unwrap();
            let guard = q.try_receive().unwrap();
            q.close();
            let receiver = {
                let q = q.clone();
                thread::spawn(move || {
                    let d = q.try_receive()?;
                    let v = *d;
                    d.ack().unwrap();
                    Some(v)
                })
            };
            let drainer = {
                let q = q.clone();
                thread::spawn(move || q.drain())
            };
            drop(guard); // requeues seq 0
            let got = receiver.join().unwrap();
            let mut all = drainer.join().unwrap();
            all.extend(q.drain());
            all.extend(got);
            all.sort_unstable();
            assert_eq!(all, [0, 1], "each message exactly once");
            assert_eq!(q.settled_below().get(), 2);
            match got {
                Some(0) => "receive got seq 0",
                Some(_) => "receive got seq 1",
                None => "receive got nothing",
            }
        },
    );
}

#[test]
fn dead_pending_becomes_dead_when_the_last_holder_leaves() {
    // The first delivery expired and its guard is alive when the
    // redelivery is rejected: the message waits (`DeadPending`) for the old
    // guard, whose drop races the nack. Whichever comes last puts it in the
    // dead letters, once.
    explore(&["nack returned first", "drop returned first"], || {
        let clock = ManualClock::new();
        let q = Arc::new(leased_queue(&clock, None));
        q.try_publish(3).unwrap();
        let old = q.try_receive().unwrap();
        clock.advance(LEASE * 2);
        assert_eq!(q.requeue_expired(), 1);
        let tag = q.try_receive().unwrap().detach();
        let order = Arc::new(AtomicUsize::new(0));
        let nacker = {
            let (q, order) = (q.clone(), order.clone());
            thread::spawn(move || {
                q.nack(tag, false).unwrap();
                order.fetch_add(1, Ordering::SeqCst)
            })
        };
        drop(old);
        let dropped_at = order.fetch_add(1, Ordering::SeqCst);
        let nacked_at = nacker.join().unwrap();
        let dead = q.try_receive_dead_letter().expect("dead-lettered once");
        assert_eq!(
            (dead.reason(), dead.delivery_count()),
            (DeadReason::Rejected, 2)
        );
        assert_eq!(dead.into_inner(), 3);
        assert!(q.try_receive_dead_letter().is_none(), "only once");
        assert_eq!(q.settled_below().get(), 1);
        // Both places are whole again: the prefetch place went back when it
        // entered the dead letters, the dead-letter place when it was taken.
        q.try_publish(4).unwrap();
        q.try_receive()
            .expect("the prefetch place is back")
            .ack()
            .unwrap();
        if nacked_at < dropped_at {
            "nack returned first"
        } else {
            "drop returned first"
        }
    });
}

#[test]
fn two_dead_letters_race_for_the_last_dead_letter_place() {
    // One dead-letter place, two prefetch places, two rejects at once: one
    // dead letter takes the place and gives its prefetch place back, the
    // other keeps its prefetch place until taken. Nothing is lost, and
    // after both are taken every place is free again.
    explore(&["seq 0 died first", "seq 1 died first"], || {
        let q = Arc::new(queue(2, 2));
        q.try_publish(0).unwrap();
        q.try_publish(1).unwrap();
        let nackers: Vec<_> = (0..2)
            .map(|_| q.try_receive().unwrap().detach())
            .map(|tag| {
                let q = q.clone();
                thread::spawn(move || q.nack(tag, false).unwrap())
            })
            .collect();
        for n in nackers {
            n.join().unwrap();
        }
        q.try_publish(2).unwrap();
        q.try_publish(3).unwrap();
        let two = q.try_receive().expect("one prefetch place is free");
        assert!(
            q.try_receive().is_none(),
            "the overflowed dead letter keeps its place"
        );
        let first = q.try_receive_dead_letter().unwrap().into_inner();
        let second = q.try_receive_dead_letter().unwrap().into_inner();
        assert_eq!(first + second, 1, "both dead letters, once each");
        let three = q
            .try_receive()
            .expect("the overflowed letter gave its place back");
        two.ack().unwrap();
        three.ack().unwrap();
        assert_eq!(q.settled_below().get(), 4);
        ["seq 0 died first", "seq 1 died first"][first as usize]
    });
}

#[test]
fn watermark_caches_carry_what_their_writer_saw() {
    // One thread computes the watermark while a consumer receives and acks
    // seq 0, caching the fresh ring's freed frontier and the watermark;
    // the main thread then asks again, starting from those caches. What it
    // is told is settled must have been settled (and what the consumer did
    // before the ack visible), though it skips what the caches cover.
    explore(&["settled", "not settled yet"], || {
        let (q, seq, work, consumer) = one_message_in_transit();
        let cacher = {
            let q = q.clone();
            thread::spawn(move || q.settled_below().get())
        };
        thread::yield_now(); // let the others go first at least once
        let below = q.settled_below().get();
        let settled = q.is_settled(seq);
        if below > 0 || settled {
            assert!(work.done(0), "confirmed before the ack");
        }
        // Joined only now: until here nothing but the caches orders what
        // the cacher saw before what this thread reads.
        cacher.join().unwrap();
        consumer.join().unwrap();
        assert_eq!(q.settled_below().get(), 1);
        if settled {
            "settled"
        } else {
            "not settled yet"
        }
    });
}

/// A message whose reads and drop loom checks: holders read the cell, and
/// `Drop` writes it, so a drop that does not happen-after every holder's
/// read is reported.
struct Probe(UnsafeCell<u32>);
// SAFETY: loom checks every access to the cell; that is the point.
unsafe impl Sync for Probe {}

impl Probe {
    fn read(&self) -> u32 {
        // SAFETY: checked by loom (see `Probe`).
        self.0.with(|p| unsafe { *p })
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        // SAFETY: checked by loom (see `Probe`).
        self.0.with_mut(|p| unsafe { *p = 0 });
    }
}

#[test]
fn last_holder_drops_the_value_after_every_holders_read() {
    // The first delivery expired and its guard lives on the main thread
    // while the redelivery is read and acked on another: whichever of the
    // ack and the old guard's drop comes last drops the message, after
    // both holders' reads.
    explore(&["ack came last", "drop came last"], || {
        let clock = ManualClock::new();
        let q = probe_queue(&clock);
        q.try_publish(Probe(UnsafeCell::new(7)))
            .map_err(|_| ())
            .unwrap();
        let old = q.try_receive().unwrap();
        clock.advance(LEASE * 2);
        assert_eq!(q.requeue_expired(), 1);
        let order = Arc::new(AtomicUsize::new(0));
        let acker = {
            let (q, order) = (q.clone(), order.clone());
            thread::spawn(move || {
                let again = q.try_receive().expect("redelivered");
                assert_eq!(again.read(), 7);
                again.ack().unwrap();
                order.fetch_add(1, Ordering::SeqCst)
            })
        };
        assert_eq!(old.read(), 7, "the expired holder still reads its message");
        drop(old);
        let dropped_at = order.fetch_add(1, Ordering::SeqCst);
        let acked_at = acker.join().unwrap();
        assert_eq!(q.settled_below().get(), 1);
        assert_eq!(q.stats().acked, 1);
        if acked_at > dropped_at {
            "ack came last"
        } else {
            "drop came last"
        }
    });
}

#[test]
fn two_heartbeats_never_shorten_a_lease() {
    // Two threads extend one delivery's lease at once, one far and one a
    // little: whichever comes second sees the first's deadline and keeps
    // the later one, so the lease outlives both promises.
    explore(&["far one first", "near one first"], || {
        let clock = ManualClock::new();
        let q = Arc::new(leased_queue(&clock, None));
        q.try_publish(1).unwrap();
        let tag = q.try_receive().unwrap().detach();
        let order = Arc::new(AtomicUsize::new(0));
        let far = {
            let (q, order) = (q.clone(), order.clone());
            thread::spawn(move || {
                q.extend_lease(tag, LEASE * 100).unwrap();
                order.fetch_add(1, Ordering::SeqCst)
            })
        };
        q.extend_lease(tag, LEASE * 2).unwrap();
        let near_at = order.fetch_add(1, Ordering::SeqCst);
        let far_at = far.join().unwrap();
        clock.advance(LEASE * 50);
        assert_eq!(q.requeue_expired(), 0, "a heartbeat shortened the lease");
        q.ack(tag).unwrap();
        if far_at < near_at {
            "far one first"
        } else {
            "near one first"
        }
    });
}

/// A one-slot, one-delivery queue of `Probe`s with a lease on `clock`.
fn probe_queue(clock: &ManualClock) -> Arc<AckQueue<Probe>> {
    Arc::new(leased_queue(clock, None))
}

#[test]
fn drain_takes_a_requeued_message_after_its_old_holder_left() {
    // Closed queue: an expired delivery's guard still reads the requeued
    // message while `drain` runs on another thread and drops what it
    // returns. It takes the message only once the guard has left, exactly
    // once, and loom checks the drop against the guard's read.
    explore(&["drained", "left for the guard"], || {
        let clock = ManualClock::new();
        let q = probe_queue(&clock);
        q.try_publish(Probe(UnsafeCell::new(7)))
            .map_err(|_| ())
            .unwrap();
        let old = q.try_receive().unwrap();
        clock.advance(LEASE * 2);
        assert_eq!(q.requeue_expired(), 1);
        q.close();
        let drainer = {
            let q = q.clone();
            thread::spawn(move || q.drain().len())
        };
        assert_eq!(old.read(), 7);
        drop(old); // stale: lets go
        let drained = drainer.join().unwrap();
        let rest = q.drain().len();
        assert_eq!(drained + rest, 1, "drained exactly once");
        ["left for the guard", "drained"][drained]
    });
}

#[test]
fn drain_takes_a_detached_delivery_after_its_guard_let_go() {
    // Closed queue: a delivery is read and detached while `drain` runs on
    // another thread and drops what it returns; it takes the message from
    // the table only once detached, exactly once, and loom checks the drop
    // against the guard's read.
    explore(&["drained", "left for the guard"], || {
        let clock = ManualClock::new();
        let q = probe_queue(&clock);
        q.try_publish(Probe(UnsafeCell::new(7)))
            .map_err(|_| ())
            .unwrap();
        let guard = q.try_receive().unwrap();
        q.close();
        let drainer = {
            let q = q.clone();
            thread::spawn(move || q.drain().len())
        };
        assert_eq!(guard.read(), 7);
        let tag = guard.detach();
        let drained = drainer.join().unwrap();
        let rest = q.drain().len();
        assert_eq!(drained + rest, 1, "drained exactly once");
        assert_eq!(q.ack(tag), Err(AckError::AlreadySettled));
        ["left for the guard", "drained"][drained]
    });
}

/// Which message was dropped on which thread, in the order of the drops.
type DropRecord = Arc<std::sync::Mutex<Vec<(u32, thread::ThreadId)>>>;

/// A `Probe` (holding its id) that records each of its drops and the
/// thread it ran on.
struct Witnessed {
    probe: Probe,
    record: DropRecord,
}

impl Drop for Witnessed {
    fn drop(&mut self) {
        let id = self.probe.read();
        self.record
            .lock()
            .unwrap()
            .push((id, thread::current().id()));
    }
}

/// A two-slot, one-delivery queue holding messages 0 and 1, and the
/// record of their drops.
fn witnessed_queue() -> (Arc<AckQueue<Witnessed>>, DropRecord) {
    let record = DropRecord::default();
    let q = Arc::new(
        AckQueue::builder()
            .capacity(2)
            .max_in_flight(1)
            .dead_letter_capacity(1)
            .build()
            .unwrap(),
    );
    for id in 0..2 {
        let msg = Witnessed {
            probe: Probe(UnsafeCell::new(id)),
            record: record.clone(),
        };
        q.try_publish(msg).map_err(|_| ()).unwrap();
    }
    (q, record)
}

/// The thread each message was dropped on, checking that each was
/// dropped exactly once.
fn dropped_once_each(record: &DropRecord) -> [thread::ThreadId; 2] {
    let record = record.lock().unwrap();
    assert_eq!(record.len(), 2, "drops: {record:?}");
    let on = |id| {
        let drops: Vec<_> = record.iter().filter(|r| r.0 == id).collect();
        assert_eq!(drops.len(), 1, "message {id} dropped once: {record:?}");
        drops[0].1
    };
    [on(0), on(1)]
}

#[test]
fn owned_delivery_dropped_on_another_thread_races_the_last_handle() {
    // An owned delivery of message 0 is read and dropped unsettled (a
    // requeue) on a thread of its own while the main thread drops the
    // queue's other handle. Whichever handle is the last drops the queue,
    // and with it the requeued message and the never-delivered one, each
    // exactly once, after the holder's read.
    explore(
        &["the other handle was last", "the delivery was last"],
        || {
            let (q, record) = witnessed_queue();
            let d = AckQueue::try_receive_owned(&q).unwrap();
            let holder = thread::spawn(move || {
                assert_eq!(d.probe.read(), 0);
                drop(d);
                thread::current().id()
            });
            thread::yield_now(); // let the holder go first at least once
            drop(q);
            let main = thread::current().id();
            let holder = holder.join().unwrap();
            let [requeued, fresh] = dropped_once_each(&record);
            assert_eq!(requeued, fresh, "both dropped with the queue");
            if fresh == main {
                "the other handle was last"
            } else {
                assert_eq!(fresh, holder);
                "the delivery was last"
            }
        },
    );
}

#[test]
fn owned_delivery_acked_on_another_thread_races_the_last_handle() {
    // An owned delivery of message 0 is read and acked on a thread of its
    // own, which drops the message, while the main thread drops the
    // queue's other handle. Whichever handle is the last drops the queue
    // and with it message 1, and finds message 0's entry free: message 0
    // is not dropped again.
    explore(
        &["the other handle was last", "the delivery was last"],
        || {
            let (q, record) = witnessed_queue();
            let d = AckQueue::try_receive_owned(&q).unwrap();
            let holder = thread::spawn(move || {
                assert_eq!(d.probe.read(), 0);
                d.ack().unwrap();
                thread::current().id()
            });
            thread::yield_now(); // let the holder go first at least once
            drop(q);
            let main = thread::current().id();
            let holder = holder.join().unwrap();
            let [acked, fresh] = dropped_once_each(&record);
            assert_eq!(acked, holder, "the ack drops its message");
            if fresh == main {
                "the other handle was last"
            } else {
                assert_eq!(fresh, holder);
                "the delivery was last"
            }
        },
    );
}

#[test]
fn batch_receive_races_single_receive_for_the_last_prefetch_places() {
    // Three messages ready, two prefetch places: a batch receive of two
    // (one CAS on `head` for its run) races a single receive. Between
    // them they take exactly the two places, never three, each message
    // once, in publish order; the third is delivered once a place is back.
    explore(&["batch took both", "each took one"], || {
        let q = Arc::new(queue(3, 2));
        for i in 1..=3 {
            q.try_publish(i).unwrap();
        }
        let batcher = {
            let q = q.clone();
            thread::spawn(move || {
                let mut out = Vec::new();
                q.try_receive_batch(2, &mut out);
                out.into_iter()
                    .map(|d| (*d, d.detach()))
                    .collect::<Vec<_>>()
            })
        };
        thread::yield_now(); // let the batch go first at least once
        let single = q.try_receive().map(|d| (*d, d.detach()));
        let batch = batcher.join().unwrap();
        assert!(!batch.is_empty(), "two places were free: the batch got one");
        let mut got: Vec<_> = batch.iter().chain(&single).copied().collect();
        assert_eq!(got.len(), 2, "two places, both taken, never three");
        assert!(
            batch.windows(2).all(|w| w[0].0 + 1 == w[1].0),
            "a batch is a run of consecutive messages"
        );
        got.sort_unstable_by_key(|&(v, _)| v);
        assert_eq!(got.iter().map(|&(v, _)| v).collect::<Vec<_>>(), [1, 2]);
        let outcome = if single.is_none() {
            "batch took both"
        } else {
            "each took one"
        };
        assert!(q.try_receive().is_none(), "the places are taken");
        let mut errors = Vec::new();
        assert_eq!(q.ack_batch(got.iter().map(|&(_, t)| t), &mut errors), 2);
        assert!(errors.is_empty());
        let last = q.try_receive().expect("a place is back");
        assert_eq!(*last, 3);
        last.ack().unwrap();
        assert_eq!(q.settled_below().get(), 3);
        outcome
    });
}

#[test]
fn batch_receive_claims_only_published_slots() {
    // A batch receive of two races the publish of the second message: its
    // run stops at a slot not published yet (each slot's stamp, Acquire,
    // before the one CAS), so it never reads a message being written. Loom
    // reports a read of the slot that races the publisher's write.
    explore(&["batch took both", "batch took the first"], || {
        let q = Arc::new(queue(2, 2));
        q.try_publish(1).unwrap();
        let batcher = {
            let q = q.clone();
            thread::spawn(move || {
                let mut out = Vec::new();
                q.try_receive_batch(2, &mut out);
                out.into_iter()
                    .map(|d| (*d, d.detach()))
                    .collect::<Vec<_>>()
            })
        };
        q.try_publish(2).unwrap();
        let batch = batcher.join().unwrap();
        let values: Vec<u32> = batch.iter().map(|&(v, _)| v).collect();
        let mut tags: Vec<_> = batch.iter().map(|&(_, t)| t).collect();
        let outcome = match values[..] {
            [1, 2] => "batch took both",
            [1] => {
                let d = q.try_receive().expect("the second message");
                assert_eq!(*d, 2);
                tags.push(d.detach());
                "batch took the first"
            }
            _ => panic!("batch got {values:?}"),
        };
        assert!(q.try_receive().is_none(), "delivered once, not twice");
        assert_eq!(q.ack_batch(tags, &mut Vec::new()), 2);
        assert_eq!(q.settled_below().get(), 2);
        outcome
    });
}

#[test]
fn batch_ack_races_lease_expiry_of_one_member() {
    // Two deliveries acked in one batch while the lease scan expires the
    // first of them: exactly one of the batch's CAS and the scan's wins
    // for that entry. If the scan wins, the batch reports that item stale
    // (and only that one: the second is acked all the same) and the
    // message is delivered again; either way both prefetch places come
    // back and nothing is settled twice.
    explore(&["batch ack won", "expiry won"], || {
        let (q, clock) = clocked(2, 2, |b| b.lease(LEASE));
        q.try_publish(1).unwrap();
        q.try_publish(2).unwrap();
        let mut out = Vec::new();
        assert_eq!(q.try_receive_batch(2, &mut out), 2);
        let tags: Vec<_> = out.into_iter().map(|d| d.detach()).collect();
        q.extend_lease(tags[1], LEASE * 4).unwrap();
        clock.advance(LEASE * 2); // the first expired, not yet found
        let acker = {
            let (q, tags) = (q.clone(), tags.clone());
            thread::spawn(move || {
                let mut errors = Vec::new();
                let acked = q.ack_batch(tags, &mut errors);
                (acked, errors)
            })
        };
        let requeued = q.requeue_expired();
        let (acked, errors) = acker.join().unwrap();
        let outcome = match (acked, &errors[..]) {
            (2, []) => {
                assert_eq!(requeued, 0, "an acked message is not requeued");
                assert!(q.try_receive().is_none());
                "batch ack won"
            }
            (1, [(0, AckError::Stale)]) => {
                assert_eq!(requeued, 1);
                let again = q.try_receive().expect("the expired message again");
                assert_eq!((*again, again.delivery_count()), (1, 2));
                assert_eq!(q.ack(tags[0]), Err(AckError::Stale));
                again.ack().unwrap();
                "expiry won"
            }
            other => panic!("batch ack: {other:?}"),
        };
        assert_eq!(q.settled_below().get(), 2);
        // Both places are back.
        q.try_publish(3).unwrap();
        q.try_publish(4).unwrap();
        let mut out = Vec::new();
        assert_eq!(q.try_receive_batch(2, &mut out), 2);
        assert_eq!(q.ack_batch(out, &mut Vec::new()), 2);
        outcome
    });
}

#[test]
fn blocked_publish_is_woken_by_a_batch_receive() {
    // A full fresh ring of two slots. A publisher that finds no room
    // sleeps until the batch receive that takes both messages frees their
    // slots: one keyed notification for the run, keyed by its CAS on
    // `head`. A lost wake-up leaves the publisher asleep: loom reports the
    // deadlock.
    explore(&["room at the first try", "waited for room"], || {
        let q = Arc::new(queue(2, 2));
        q.try_publish(1).unwrap();
        q.try_publish(2).unwrap();
        let publisher = {
            let q = q.clone();
            thread::spawn(move || match q.try_publish(3) {
                Ok(seq) => (seq, "room at the first try"),
                Err(PushError::Full(v)) => (q.publish(v).unwrap(), "waited for room"),
                Err(e) => panic!("unexpected {e:?}"),
            })
        };
        let mut out = Vec::new();
        assert_eq!(q.try_receive_batch(2, &mut out), 2);
        let (seq, outcome) = publisher.join().unwrap();
        assert_eq!(seq.get(), 2);
        assert_eq!(q.ack_batch(out.drain(..), &mut Vec::new()), 2);
        let d = q.try_receive().expect("the new message");
        assert_eq!(*d, 3);
        d.ack().unwrap();
        assert_eq!(q.settled_below().get(), 3);
        outcome
    });
}

#[test]
fn blocked_receive_is_woken_by_a_batch_ack() {
    // Both prefetch places held; a receiver that finds the limit reached
    // sleeps until the batch ack gives both places back: one RMW on
    // `acked` and one keyed notification for the batch. A lost wake-up
    // leaves the receiver asleep: loom reports the deadlock.
    explore(&["place at the first try", "waited for a place"], || {
        let q = Arc::new(queue(3, 2));
        for i in 1..=3 {
            q.try_publish(i).unwrap();
        }
        let mut out = Vec::new();
        assert_eq!(q.try_receive_batch(2, &mut out), 2);
        let tags: Vec<_> = out.into_iter().map(|d| d.detach()).collect();
        let receiver = {
            let q = q.clone();
            thread::spawn(move || match q.try_receive() {
                Some(d) => (d.detach(), "place at the first try"),
                None => (q.receive().unwrap().detach(), "waited for a place"),
            })
        };
        assert_eq!(q.ack_batch(tags, &mut Vec::new()), 2);
        let (tag, outcome) = receiver.join().unwrap();
        q.ack(tag).unwrap();
        assert_eq!(q.settled_below().get(), 3);
        outcome
    });
}
