//! What `Ring<T>` offers that users of its peers (crossbeam `ArrayQueue`,
//! `concurrent-queue`, bounded channels) rely on: `force_push`, closing,
//! iteration, the `&mut self` calls, and a `Drop` that survives a
//! panicking item.
//!
//! Concurrent tests account for every item: every item pushed is popped,
//! handed back or left inside, exactly once, and the sums match. Nothing asserts on speed; the
//! watchdog only turns a hang (a waiter never woken) into a failure.

// The deprecated `push` and `pop` stay covered while they exist.
#![allow(deprecated)]

use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use ackring::{Closed, PopError, PushError, Ring};

mod common;
use common::drops::DropLedger;
use common::wait::{watchdog, LONG, STRATEGIES};

// ---------------------------------------------------------------------------
// force_push
// ---------------------------------------------------------------------------

#[test]
fn force_push_keeps_the_newest_capacity_items_in_order() {
    for cap in [1, 2, 3, 5] {
        let ring = Ring::new(cap);
        for i in 0..40_usize {
            let old = ring.force_push(i);
            assert_eq!(old, i.checked_sub(cap), "cap {cap}: force_push({i})");
            assert_eq!(ring.len(), (i + 1).min(cap));
        }
        let left: Vec<_> = ring.try_iter().collect();
        assert_eq!(left, (40 - cap..40).collect::<Vec<_>>(), "cap {cap}");
    }
}

#[test]
fn force_push_mixed_with_pops_is_fifo() {
    let ring = Ring::new(3);
    let mut model = std::collections::VecDeque::new();
    let mut next = 0_u32;
    // A fixed pattern of force pushes and pops over many laps.
    for step in 0..300_u32 {
        if step % 5 == 4 {
            assert_eq!(ring.try_pop(), model.pop_front(), "step {step}");
        } else {
            let expected = if model.len() == 3 {
                model.pop_front()
            } else {
                None
            };
            model.push_back(next);
            assert_eq!(ring.force_push(next), expected, "step {step}");
            next += 1;
        }
    }
    assert_eq!(ring.try_iter().collect::<Vec<_>>(), Vec::from(model));
}

#[test]
fn concurrent_force_push_hands_every_item_out_exactly_once() {
    for strategy in STRATEGIES {
        watchdog("force_push", move || {
            const PRODUCERS: usize = 3;
            const PER: usize = if cfg!(debug_assertions) {
                20_000
            } else {
                200_000
            };
            let ring = Ring::with_wait_strategy(4, strategy);
            let done = AtomicUsize::new(0);
            let (mut seen, popped_count) = thread::scope(|s| {
                let producers: Vec<_> = (0..PRODUCERS)
                    .map(|p| {
                        let (ring, done) = (&ring, &done);
                        s.spawn(move || {
                            let mut back = Vec::new();
                            for i in 0..PER {
                                back.extend(ring.force_push(p * PER + i));
                            }
                            done.fetch_add(1, Ordering::SeqCst);
                            back
                        })
                    })
                    .collect();
                let consumer = s.spawn(|| {
                    let mut got = Vec::new();
                    while done.load(Ordering::SeqCst) < PRODUCERS {
                        match ring.try_pop() {
                            Some(v) => got.push(v),
                            None => thread::yield_now(),
                        }
                    }
                    got
                });
                let mut all = consumer.join().unwrap();
                let popped = all.len();
                for p in producers {
                    all.extend(p.join().unwrap());
                }
                (all, popped)
            });
            let left: Vec<_> = ring.try_iter().collect();
            assert!(left.len() <= 4);
            seen.extend(left);
            let n = PRODUCERS * PER;
            assert_eq!(seen.len(), n, "{strategy:?}: popped {popped_count}");
            let distinct: HashSet<_> = seen.iter().copied().collect();
            assert_eq!(distinct.len(), n, "{strategy:?}: an item came out twice");
            assert_eq!(seen.iter().sum::<usize>(), n * (n - 1) / 2);
        });
    }
}

// ---------------------------------------------------------------------------
// close
// ---------------------------------------------------------------------------

#[test]
fn closed_ring_refuses_pushes_and_drains_then_reports_closed() {
    for strategy in STRATEGIES {
        let ring = Ring::with_wait_strategy(4, strategy);
        ring.push(1);
        ring.push(2);
        assert!(!ring.is_closed());
        assert!(ring.close(), "the first close closes");
        assert!(!ring.close(), "the second finds it closed");
        assert!(ring.is_closed());
        assert_eq!(ring.try_push(3).unwrap_err().into_inner(), 3);
        assert_eq!(ring.try_send(4), Err(PushError::Closed(4)));
        assert_eq!(ring.send(5), Err(PushError::Closed(5)));
        assert_eq!(ring.send_timeout(6, LONG), Err(PushError::Closed(6)));
        assert_eq!(ring.push_timeout(7, LONG).unwrap_err().into_inner(), 7);
        assert_eq!(ring.force_push(8), Some(8));
        assert_eq!(ring.try_push_batch(&mut vec![9]), 0);
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.try_recv(), Ok(1));
        assert_eq!(ring.recv(), Ok(2));
        assert_eq!(ring.try_recv(), Err(PopError::Closed));
        assert_eq!(ring.recv(), Err(Closed));
        assert_eq!(ring.recv_timeout(LONG), Err(PopError::Closed));
        assert_eq!(ring.pop_timeout(LONG), None);
        assert_eq!(ring.try_pop(), None);
        assert_eq!(ring.try_pop_batch(&mut Vec::new(), 4), 0);
    }
}

#[test]
fn plain_push_and_pop_panic_on_a_closed_ring() {
    let ring = Ring::new(1);
    ring.close();
    assert!(panic::catch_unwind(AssertUnwindSafe(|| ring.push(1))).is_err());
    assert!(panic::catch_unwind(AssertUnwindSafe(|| ring.pop())).is_err());
}

/// `blocked` threads wait in `call` on `ring` (made full or empty by
/// `setup`); a close must wake every one, each with the expected result.
fn close_wakes<R: Send + 'static>(
    name: &'static str,
    fill: bool,
    call: fn(&Ring<u32>, u32) -> R,
    check: fn(R, u32),
) {
    for strategy in STRATEGIES {
        watchdog(name, move || {
            const WAITERS: usize = 3;
            let ring = Arc::new(Ring::with_wait_strategy(2, strategy));
            if fill {
                ring.push(100);
                ring.push(101);
            }
            let started = Arc::new(Barrier::new(WAITERS + 1));
            let waiters: Vec<_> = (0..WAITERS as u32)
                .map(|i| {
                    let (ring, started) = (Arc::clone(&ring), Arc::clone(&started));
                    thread::spawn(move || {
                        started.wait();
                        call(&ring, i)
                    })
                })
                .collect();
            started.wait();
            // Give the waiters time to go to sleep (not a speed check: the
            // test passes whether or not they did).
            thread::sleep(Duration::from_millis(20));
            assert!(ring.close());
            for (i, w) in waiters.into_iter().enumerate() {
                check(w.join().unwrap(), i as u32);
            }
            if fill {
                assert_eq!(ring.try_iter().collect::<Vec<_>>(), [100, 101]);
            }
            assert_eq!(ring.try_recv(), Err(PopError::Closed));
        });
    }
}

#[test]
fn close_wakes_blocked_senders_with_their_values() {
    close_wakes(
        "send",
        true,
        |r, i| r.send(i),
        |res, i| {
            assert_eq!(res, Err(PushError::Closed(i)));
        },
    );
}

#[test]
fn close_wakes_timed_senders_with_their_values() {
    close_wakes(
        "send_timeout",
        true,
        |r, i| r.send_timeout(i, LONG),
        |res, i| {
            assert_eq!(res, Err(PushError::Closed(i)));
        },
    );
    close_wakes(
        "push_timeout",
        true,
        |r, i| r.push_timeout(i, LONG).map_err(|f| f.into_inner()),
        |res, i| assert_eq!(res, Err(i)),
    );
}

#[test]
fn close_wakes_blocked_receivers() {
    close_wakes(
        "recv",
        false,
        |r, _| r.recv(),
        |res, _| {
            assert_eq!(res, Err(Closed));
        },
    );
    close_wakes(
        "recv_timeout",
        false,
        |r, _| r.recv_timeout(LONG),
        |res, _| {
            assert_eq!(res, Err(PopError::Closed));
        },
    );
    close_wakes(
        "pop_timeout",
        false,
        |r, _| r.pop_timeout(LONG),
        |res, _| {
            assert_eq!(res, None);
        },
    );
}

#[test]
fn close_wakes_blocked_plain_calls_which_panic() {
    close_wakes(
        "push",
        true,
        |r, i| {
            let r = AssertUnwindSafe(r);
            panic::catch_unwind(move || r.push(i)).is_err()
        },
        |panicked, _| assert!(panicked),
    );
    close_wakes(
        "pop",
        false,
        |r, _| {
            let r = AssertUnwindSafe(r);
            panic::catch_unwind(move || r.pop()).is_err()
        },
        |panicked, _| assert!(panicked),
    );
}

#[test]
fn close_while_producers_and_consumers_run_loses_nothing() {
    for strategy in STRATEGIES {
        watchdog("close under load", move || {
            const PRODUCERS: u64 = 3;
            const CONSUMERS: usize = 2;
            let ring = Ring::with_wait_strategy(8, strategy);
            let (sent, refused, received) = thread::scope(|s| {
                let producers: Vec<_> = (0..PRODUCERS)
                    .map(|p| {
                        let ring = &ring;
                        s.spawn(move || {
                            let (mut sent, mut refused) = (Vec::new(), None);
                            for i in 0.. {
                                let v = p << 40 | i;
                                match ring.send(v) {
                                    Ok(()) => sent.push(v),
                                    Err(e) => {
                                        refused = Some(e.into_inner());
                                        assert_eq!(refused, Some(v), "the value comes back");
                                        break;
                                    }
                                }
                            }
                            (sent, refused)
                        })
                    })
                    .collect();
                let consumers: Vec<_> = (0..CONSUMERS)
                    .map(|_| {
                        let ring = &ring;
                        s.spawn(move || {
                            let mut got = Vec::new();
                            while let Ok(v) = ring.recv() {
                                got.push(v);
                            }
                            got
                        })
                    })
                    .collect();
                // Let some traffic through, then close mid-stream.
                thread::sleep(Duration::from_millis(5));
                ring.close();
                let mut sent = Vec::new();
                let mut refused = Vec::new();
                for p in producers {
                    let (s, r) = p.join().unwrap();
                    sent.extend(s);
                    refused.extend(r);
                }
                let received: Vec<u64> = consumers
                    .into_iter()
                    .flat_map(|c| c.join().unwrap())
                    .collect();
                (sent, refused, received)
            });
            assert_eq!(
                refused.len(),
                PRODUCERS as usize,
                "every producer refused once"
            );
            assert!(ring.is_empty(), "consumers drained the ring");
            let distinct: HashSet<_> = received.iter().copied().collect();
            assert_eq!(distinct.len(), received.len(), "an item came out twice");
            let mut sent_sorted = sent.clone();
            sent_sorted.sort_unstable();
            let mut received_sorted = received;
            received_sorted.sort_unstable();
            assert_eq!(
                sent_sorted, received_sorted,
                "{strategy:?}: sent = received"
            );
        });
    }
}

// ---------------------------------------------------------------------------
// Iteration, &mut calls, Drop
// ---------------------------------------------------------------------------

#[test]
fn into_iter_yields_in_order_after_wraps_and_drops_the_rest_once() {
    let ring = Ring::new(4);
    for i in 0..10_u32 {
        ring.push(i);
        if i % 3 != 2 {
            ring.pop();
        }
    }
    // Left: the items pushed at i = 2, 5, 8, 9 minus those popped after.
    let expected: Vec<u32> = {
        let ring2 = Ring::new(4);
        for i in 0..10_u32 {
            ring2.push(i);
            if i % 3 != 2 {
                ring2.pop();
            }
        }
        ring2.try_iter().collect()
    };
    let it = ring.into_iter();
    assert_eq!(it.len(), expected.len());
    assert_eq!(it.collect::<Vec<_>>(), expected);

    let drops = DropLedger::new(6);
    let ring = Ring::new(4);
    ring.push(drops.item(0));
    ring.pop(); // dropped here
    for id in 1..5 {
        ring.push(drops.item(id));
    }
    let mut it = ring.into_iter();
    let first = it.next().unwrap();
    assert_eq!(first.id, 1);
    drop(it); // drops 2, 3, 4
    for id in 0..5 {
        let expected = usize::from(id != 1);
        assert_eq!(drops.drops(id), expected, "item {id}");
    }
    drop(first);
    assert_eq!(drops.drops(1), 1);
}

#[test]
fn try_iter_drains_what_is_there() {
    let ring = Ring::new(3);
    assert_eq!(ring.try_iter().next(), None);
    ring.push('a');
    ring.push('b');
    let mut it = ring.try_iter();
    assert_eq!(it.next(), Some('a'));
    ring.push('c'); // pushed while iterating: still taken
    assert_eq!(it.collect::<String>(), "bc");
    assert!(ring.is_empty());
}

/// Consumers iterate from the start, while the ring is still empty: an
/// iterator that ended at an empty ring, rather than at a closed and
/// drained one, would end before the producers have pushed everything.
#[test]
fn iter_waits_for_items_until_closed_and_drained() {
    for strategy in STRATEGIES {
        watchdog("iter until closed", move || {
            const PRODUCERS: u64 = 3;
            const PER_PRODUCER: u64 = 2_000;
            let ring = Ring::with_wait_strategy(8, strategy);
            let got: Vec<Vec<u64>> = thread::scope(|s| {
                let consumers: Vec<_> = (0..2)
                    .map(|c| {
                        let ring = &ring;
                        s.spawn(move || {
                            if c == 0 {
                                ring.iter().collect::<Vec<_>>()
                            } else {
                                let mut got = Vec::new();
                                for v in ring {
                                    got.push(v);
                                }
                                got
                            }
                        })
                    })
                    .collect();
                let producers: Vec<_> = (0..PRODUCERS)
                    .map(|p| {
                        let ring = &ring;
                        s.spawn(move || {
                            for i in 0..PER_PRODUCER {
                                ring.push(p << 32 | i);
                            }
                        })
                    })
                    .collect();
                for p in producers {
                    p.join().unwrap();
                }
                ring.close();
                consumers.into_iter().map(|c| c.join().unwrap()).collect()
            });
            for items in &got {
                // Each producer's items reach each consumer in push order.
                for p in 0..PRODUCERS {
                    let mine: Vec<u64> = items.iter().copied().filter(|v| v >> 32 == p).collect();
                    assert!(mine.windows(2).all(|w| w[0] < w[1]), "{strategy:?}: order");
                }
            }
            let mut all: Vec<u64> = got.concat();
            all.sort_unstable();
            let sent: Vec<u64> = (0..PRODUCERS)
                .flat_map(|p| (0..PER_PRODUCER).map(move |i| p << 32 | i))
                .collect();
            assert_eq!(all, sent, "{strategy:?}: every item exactly once");
            assert_eq!(ring.iter().next(), None, "drained and closed stays so");
        });
    }
}

#[test]
fn push_mut_and_pop_mut_are_fifo_with_the_shared_calls() {
    let mut ring = Ring::new(3);
    for lap in 0..5_u32 {
        ring.push_mut(lap * 10).unwrap();
        ring.try_push(lap * 10 + 1).unwrap();
        ring.push_mut(lap * 10 + 2).unwrap();
        assert_eq!(ring.push_mut(99).unwrap_err().into_inner(), 99, "full");
        assert_eq!(ring.pop_mut(), Some(lap * 10));
        assert_eq!(ring.try_pop(), Some(lap * 10 + 1));
        assert_eq!(ring.pop_mut(), Some(lap * 10 + 2));
        assert_eq!(ring.pop_mut(), None);
    }
    ring.push_mut(7).unwrap();
    ring.close();
    assert_eq!(ring.push_mut(8).unwrap_err().into_inner(), 8, "closed");
    assert_eq!(ring.pop_mut(), Some(7));
    assert_eq!(ring.try_recv(), Err(PopError::Closed));
}

#[test]
fn drop_keeps_dropping_after_an_item_panics() {
    for (cap, panicking) in [(5, 0), (5, 2), (5, 4), (3, 1)] {
        let drops = DropLedger::new(cap + 2);
        let ring = Ring::new(cap);
        // Wrap once so the items straddle the end of the buffer.
        ring.push(drops.item(cap));
        ring.push(drops.item(cap + 1));
        drop(ring.pop());
        drop(ring.pop());
        for id in 0..cap {
            ring.push(if id == panicking {
                drops.panicking_item(id)
            } else {
                drops.item(id)
            });
        }
        let result = panic::catch_unwind(AssertUnwindSafe(move || drop(ring)));
        assert!(result.is_err(), "the item's panic propagates");
        drops.assert_each_dropped_once(&format!("cap {cap}"));
    }
}

#[test]
fn into_iter_drop_keeps_dropping_after_an_item_panics() {
    let drops = DropLedger::new(4);
    let ring = Ring::new(4);
    for id in 0..4 {
        ring.push(if id == 1 {
            drops.panicking_item(id)
        } else {
            drops.item(id)
        });
    }
    let mut it = ring.into_iter();
    drop(it.next());
    let result = panic::catch_unwind(AssertUnwindSafe(move || drop(it)));
    assert!(result.is_err());
    drops.assert_each_dropped_once("into_iter's drop");
}
