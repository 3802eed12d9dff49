//! The try calls of `Ring<T>` are linearizable: `try_pop` reports empty
//! only if the ring was empty at some instant during the call, `try_push`
//! reports full only if it was full.
//!
//! The scenarios are those of the `linearizable` tests of crossbeam's and
//! concurrent-queue's suites, run on every wait strategy:
//!
//! - each thread pushes an item and at once pops one: the ring holds the
//!   thread's own item (or another one) for the whole pop, so the pop must
//!   get an item;
//! - each thread pops an item from a full ring and at once pushes it back:
//!   the thread holds one item, so the ring has room for the whole push.
//!
//! A thread preempted between claiming a position and completing it is the
//! case that matters; on a 2-core machine with four threads it happens in
//! every run. Every item is accounted for at the end (count, sum, no
//! duplicates).

use std::collections::HashSet;
use std::time::Duration;

use ackring::{Ring, WaitStrategy};

mod common;
use common::wait::STRATEGIES;

const THREADS: usize = 4;
const ROUNDS: usize = if cfg!(debug_assertions) {
    20_000
} else {
    200_000
};

/// Item of thread `t` in round `r`: unique across the test.
fn item(t: usize, r: usize) -> u64 {
    (t * ROUNDS + r) as u64
}

/// Checks that `got` holds every item exactly once.
fn assert_every_item_once(got: Vec<u64>) {
    let n = THREADS * ROUNDS;
    assert_eq!(got.len(), n, "item count");
    let distinct: HashSet<u64> = got.iter().copied().collect();
    assert_eq!(distinct.len(), n, "an item came out twice");
    let sum: u64 = got.iter().sum();
    assert_eq!(sum, (n as u64) * (n as u64 - 1) / 2, "item sum");
}

/// Each thread pushes and at once pops, `ROUNDS` times; `pop` must find an
/// item every time.
fn push_then_pop(strategy: WaitStrategy, pop: fn(&Ring<u64>) -> Option<u64>) {
    // THREADS slots: at most THREADS - 1 other items are inside when a
    // thread pushes, so every push has room too.
    let ring = Ring::with_wait_strategy(THREADS, strategy);
    let got: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let ring = &ring;
                s.spawn(move || {
                    let mut got = Vec::with_capacity(ROUNDS);
                    for r in 0..ROUNDS {
                        assert!(
                            ring.try_push(item(t, r)).is_ok(),
                            "{strategy:?}: try_push reported full with room for it"
                        );
                        match pop(ring) {
                            Some(v) => got.push(v),
                            None => panic!(
                                "{strategy:?}: round {r}: pop reported empty right \
                                 after this thread's push returned (len {})",
                                ring.len()
                            ),
                        }
                    }
                    got
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(ring.is_empty());
    assert_every_item_once(got);
}

/// Each thread pops from a full ring and at once pushes the item back,
/// `ROUNDS` times; `push` must find room every time.
fn pop_then_push(strategy: WaitStrategy, push: fn(&Ring<u64>, u64) -> Result<(), u64>) {
    let ring = Ring::with_wait_strategy(THREADS, strategy);
    for t in 0..THREADS {
        ring.try_push(t as u64).unwrap();
    }
    let got: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let ring = &ring;
                s.spawn(move || {
                    let mut popped = Vec::with_capacity(ROUNDS);
                    for r in 0..ROUNDS {
                        // The others may hold every item at this moment:
                        // wait for one (the pop is not what is checked).
                        let v = loop {
                            if let Some(v) = ring.try_pop() {
                                break v;
                            }
                            std::thread::yield_now();
                        };
                        popped.push(v);
                        if let Err(v) = push(ring, item(t, r) + THREADS as u64) {
                            panic!(
                                "{strategy:?}: round {r}: push of {v} reported full \
                                 while this thread held a popped item (len {})",
                                ring.len()
                            );
                        }
                    }
                    popped
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    // Popped: the THREADS initial items and every pushed one but the last
    // THREADS, which are still inside.
    let mut all = got;
    all.extend(std::iter::from_fn(|| ring.try_pop()));
    assert_eq!(all.len(), THREADS * ROUNDS + THREADS);
    let distinct: HashSet<u64> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "an item came out twice");
    let n = (THREADS * ROUNDS + THREADS) as u64;
    assert_eq!(all.iter().sum::<u64>(), n * (n - 1) / 2, "item sum");
}

#[test]
fn try_pop_after_own_push_never_reports_empty() {
    for s in STRATEGIES {
        push_then_pop(s, Ring::try_pop);
    }
}

#[test]
fn zero_timeout_pop_after_own_push_never_reports_empty() {
    for s in STRATEGIES {
        push_then_pop(s, |ring| ring.pop_timeout(Duration::ZERO));
    }
}

#[test]
fn try_push_after_own_pop_never_reports_full() {
    for s in STRATEGIES {
        pop_then_push(s, |ring, v| ring.try_push(v).map_err(|f| f.into_inner()));
    }
}

#[test]
fn zero_timeout_push_after_own_pop_never_reports_full() {
    for s in STRATEGIES {
        pop_then_push(s, |ring, v| {
            ring.push_timeout(v, Duration::ZERO)
                .map_err(|f| f.into_inner())
        });
    }
}

#[test]
fn batch_pop_after_own_push_never_reports_empty() {
    for s in STRATEGIES {
        push_then_pop(s, |ring| {
            let mut out = Vec::with_capacity(1);
            (ring.try_pop_batch(&mut out, 1) == 1).then(|| out[0])
        });
    }
}
