//! Single-thread behaviour of `Ring<T>`: FIFO order, exact capacity, exact
//! `len` / `is_empty` / `is_full`, batch calls and wrap-arounds, checked
//! against a `VecDeque` model at capacities 1, 2, 3, 7 and 1024.

// The deprecated `push` and `pop` stay covered while they exist.
#![allow(deprecated)]

use std::collections::VecDeque;
use std::time::Duration;

use ackring::{Full, Ring, WaitStrategy};

mod common;
use common::rng::Rng;
use common::wait::STRATEGIES;

const CAPACITIES: [usize; 5] = [1, 2, 3, 7, 1024];

/// Asserts the ring's size queries against the model's length.
fn assert_len<T>(ring: &Ring<T>, expected: usize, what: &str) {
    let cap = ring.capacity();
    assert_eq!(ring.len(), expected, "len after {what}");
    assert_eq!(ring.is_empty(), expected == 0, "is_empty after {what}");
    assert_eq!(ring.is_full(), expected == cap, "is_full after {what}");
}

#[test]
fn capacity_is_exactly_what_was_asked() {
    for cap in [1, 2, 3, 5, 7, 8, 9, 100, 1000, 1023, 1024, 1025] {
        let ring = Ring::<u32>::new(cap);
        assert_eq!(ring.capacity(), cap);
        assert_eq!(ring.wait_strategy(), WaitStrategy::Park);
        assert_len(&ring, 0, "new");
        // Exactly `cap` pushes fit, whatever power of two is near.
        for i in 0..cap {
            ring.try_push(i as u32).unwrap();
        }
        assert_len(&ring, cap, "filling");
        assert_eq!(ring.try_push(u32::MAX).unwrap_err().into_inner(), u32::MAX);
        for s in STRATEGIES {
            let ring = Ring::<u32>::with_wait_strategy(cap, s);
            assert_eq!(ring.capacity(), cap);
            assert_eq!(ring.wait_strategy(), s);
            let ring = Ring::<u32>::try_with_wait_strategy(cap, s).unwrap();
            assert_eq!(ring.capacity(), cap);
            assert_eq!(ring.wait_strategy(), s);
        }
        assert_eq!(Ring::<u8>::try_new(cap).unwrap().capacity(), cap);
    }
}

/// Fill to capacity, check `Full` hands the exact value back, drain a
/// varying number of items, and repeat, so that the full point visits every
/// index and the cursors wrap many laps.
#[test]
fn fill_drain_rounds_wrap_many_times() {
    for cap in CAPACITIES {
        let ring = Ring::<u64>::new(cap);
        let mut next_in = 0_u64;
        let mut next_out = 0_u64;
        // Each round moves the full point by `k` and advances about half a
        // lap: enough rounds for the full point to visit every index and for
        // the cursors to wrap hundreds of laps.
        let rounds = (2 * cap).max(300);
        for round in 0..rounds {
            while next_in - next_out < cap as u64 {
                assert_eq!(ring.len() as u64, next_in - next_out);
                ring.try_push(next_in).unwrap();
                next_in += 1;
            }
            assert_len(&ring, cap, "filling to capacity");
            let rejected = ring.try_push(u64::MAX - round as u64).unwrap_err();
            assert_eq!(rejected.into_inner(), u64::MAX - round as u64);
            assert_len(&ring, cap, "a rejected push");
            let k = 1 + (round * 7 + round / 3) % cap;
            for _ in 0..k {
                assert_eq!(ring.try_pop(), Some(next_out));
                next_out += 1;
            }
            assert_len(&ring, cap - k, "draining");
        }
        while next_out < next_in {
            assert_eq!(ring.try_pop(), Some(next_out));
            next_out += 1;
        }
        assert_eq!(ring.try_pop(), None);
        assert_len(&ring, 0, "draining all");
        assert!(
            next_in >= 40 * cap as u64,
            "cap {cap}: only {next_in} pushed"
        );
    }
}

/// Push `k` then pop `k`, for every `k` up to the capacity, starting at every
/// offset: FIFO holds whatever the index the run starts at.
#[test]
fn fifo_from_every_start_index() {
    for cap in [1, 2, 3, 7, 64] {
        let ring = Ring::<u32>::new(cap);
        let mut counter = 0_u32;
        for k in 1..=cap {
            for _offset in 0..cap {
                let first = counter;
                for _ in 0..k {
                    ring.try_push(counter).unwrap();
                    counter += 1;
                }
                assert_len(&ring, k, "pushing k");
                for expected in first..counter {
                    assert_eq!(ring.try_pop(), Some(expected));
                }
                assert_len(&ring, 0, "popping k");
                // Shift the start index by one for the next run.
                ring.try_push(0).unwrap();
                assert_eq!(ring.try_pop(), Some(0));
            }
        }
    }
}

#[test]
fn full_holds_the_rejected_value() {
    let ring = Ring::new(1);
    ring.try_push(String::from("kept")).unwrap();
    let full: Full<String> = ring.try_push(String::from("rejected")).unwrap_err();
    assert_eq!(full.0, "rejected");
    assert_eq!(full.into_inner(), "rejected");
    // The rejected push did not disturb the stored item.
    assert_eq!(ring.try_pop().as_deref(), Some("kept"));
    assert_eq!(ring.try_pop(), None);
}

#[test]
fn blocking_calls_without_waiting() {
    for s in STRATEGIES {
        for cap in CAPACITIES {
            let ring = Ring::with_wait_strategy(cap, s);
            for i in 0..cap {
                ring.push(i);
            }
            assert_len(&ring, cap, "push");
            for i in 0..cap {
                assert_eq!(ring.pop(), i);
            }
            assert_len(&ring, 0, "pop");
        }
    }
}

#[test]
fn timeouts_on_full_and_empty_return_at_once_with_the_value() {
    for s in STRATEGIES {
        for cap in [1, 3] {
            let ring = Ring::with_wait_strategy(cap, s);
            assert_eq!(ring.pop_timeout(Duration::ZERO), None);
            assert_eq!(ring.pop_timeout(Duration::from_millis(2)), None);
            for i in 0..cap {
                ring.push_timeout(vec![i], Duration::ZERO).unwrap();
            }
            let back = ring
                .push_timeout(vec![99, 98], Duration::ZERO)
                .unwrap_err()
                .into_inner();
            assert_eq!(back, [99, 98]);
            let back = ring
                .push_timeout(vec![97], Duration::from_millis(2))
                .unwrap_err()
                .into_inner();
            assert_eq!(back, [97]);
            assert_len(&ring, cap, "timed-out pushes");
            for i in 0..cap {
                assert_eq!(ring.pop_timeout(Duration::from_millis(2)), Some(vec![i]));
            }
            assert_len(&ring, 0, "timed pops");
            // A timeout too long to represent waits forever, which here
            // still succeeds at once.
            ring.push_timeout(vec![7], Duration::MAX).unwrap();
            assert_eq!(ring.pop_timeout(Duration::MAX), Some(vec![7]));
        }
    }
}

#[test]
fn push_batch_moves_exactly_what_fits_in_order() {
    for cap in CAPACITIES {
        let ring = Ring::new(cap);
        // Empty input: nothing moves.
        let mut empty: Vec<usize> = Vec::new();
        assert_eq!(ring.try_push_batch(&mut empty), 0);
        assert_len(&ring, 0, "empty batch");

        // More than fits: exactly `cap` move, the rest stay in order.
        let mut items: Vec<usize> = (0..cap + 5).collect();
        assert_eq!(ring.try_push_batch(&mut items), cap);
        assert_eq!(items, (cap..cap + 5).collect::<Vec<_>>());
        assert_len(&ring, cap, "an overfull batch");

        // Full ring: nothing moves, the input is untouched.
        assert_eq!(ring.try_push_batch(&mut items), 0);
        assert_eq!(items, (cap..cap + 5).collect::<Vec<_>>());

        // Free part of it: exactly that much moves.
        let freed = cap.div_ceil(2);
        for i in 0..freed {
            assert_eq!(ring.try_pop(), Some(i));
        }
        assert_eq!(ring.try_push_batch(&mut items), freed.min(5));
        assert_eq!(items, (cap + freed.min(5)..cap + 5).collect::<Vec<_>>());
        assert_len(&ring, cap - freed + freed.min(5), "a partial batch");

        // Order across the wrap.
        let mut expected: Vec<usize> = (freed..cap + freed.min(5)).collect();
        let mut out = Vec::new();
        assert_eq!(ring.try_pop_batch(&mut out, usize::MAX), expected.len());
        assert_eq!(out, expected);
        assert_len(&ring, 0, "popping everything");

        // Fewer than fit: all move, the input is left empty.
        let mut few: Vec<usize> = (0..cap.min(3)).collect();
        expected = few.clone();
        assert_eq!(ring.try_push_batch(&mut few), expected.len());
        assert!(few.is_empty());
        out.clear();
        assert_eq!(ring.try_pop_batch(&mut out, cap), expected.len());
        assert_eq!(out, expected);
    }
}

#[test]
fn pop_batch_moves_at_most_max_and_appends() {
    for cap in CAPACITIES {
        let ring = Ring::new(cap);
        let mut out = vec![usize::MAX];
        // Empty ring, or max 0: nothing moves, `out` is untouched.
        assert_eq!(ring.try_pop_batch(&mut out, 5), 0);
        for i in 0..cap {
            ring.try_push(i).unwrap();
        }
        assert_eq!(ring.try_pop_batch(&mut out, 0), 0);
        assert_eq!(out, [usize::MAX]);
        assert_len(&ring, cap, "max 0");

        // `max` below what is there: exactly `max`, oldest first, appended.
        let max = cap.div_ceil(2);
        assert_eq!(ring.try_pop_batch(&mut out, max), max);
        let mut expected = vec![usize::MAX];
        expected.extend(0..max);
        assert_eq!(out, expected);
        assert_len(&ring, cap - max, "a partial pop batch");

        // `max` above what is there: what is there.
        assert_eq!(ring.try_pop_batch(&mut out, cap + 10), cap - max);
        expected.extend(max..cap);
        assert_eq!(out, expected);
        assert_len(&ring, 0, "an overlong pop batch");
        assert_eq!(ring.try_pop_batch(&mut out, cap + 10), 0);
        assert_eq!(out, expected);
    }
}

/// Random interleavings of every call, checked step by step against a
/// `VecDeque`, until the cursors have wrapped many laps.
#[test]
fn random_interleavings_match_a_model() {
    for (seed, cap) in CAPACITIES.into_iter().enumerate() {
        for s in STRATEGIES {
            model_run(cap, s, seed as u64 + 1);
        }
    }
}

fn model_run(cap: usize, strategy: WaitStrategy, seed: u64) {
    let mut rng = Rng::new(seed);
    let ring = Ring::with_wait_strategy(cap, strategy);
    let mut model: VecDeque<u64> = VecDeque::new();
    let mut next = 0_u64;
    let mut out = Vec::with_capacity(cap + 8);
    let mut steps = 0_u64;
    // At least 50 laps, and at least 2000 steps for the small rings.
    while next < 50 * cap as u64 || steps < 2000 {
        steps += 1;
        let what;
        match rng.below(10) {
            k @ (0 | 8) => {
                // On one thread the slot alone decides as the cursors do.
                what = if k == 8 {
                    "try_push_if_free"
                } else {
                    "try_push"
                };
                let pushed = if k == 8 {
                    ring.try_push_if_free(next)
                } else {
                    ring.try_push(next)
                };
                match pushed {
                    Ok(()) => {
                        assert!(model.len() < cap, "push accepted on a full ring");
                        model.push_back(next);
                    }
                    Err(full) => {
                        assert_eq!(model.len(), cap, "push refused on a ring with room");
                        assert_eq!(full.into_inner(), next);
                    }
                }
                next += 1;
            }
            1 => {
                what = "try_pop";
                assert_eq!(ring.try_pop(), model.pop_front());
            }
            9 => {
                what = "try_pop_if_ready";
                assert_eq!(ring.try_pop_if_ready(), model.pop_front());
            }
            2 => {
                what = "push";
                if model.len() < cap {
                    ring.push(next);
                    model.push_back(next);
                    next += 1;
                }
            }
            3 => {
                what = "pop";
                if let Some(expected) = model.pop_front() {
                    assert_eq!(ring.pop(), expected);
                }
            }
            4 => {
                what = "push_timeout";
                match ring.push_timeout(next, Duration::ZERO) {
                    Ok(()) => {
                        assert!(model.len() < cap);
                        model.push_back(next);
                    }
                    Err(full) => {
                        assert_eq!(model.len(), cap);
                        assert_eq!(full.into_inner(), next);
                    }
                }
                next += 1;
            }
            5 => {
                what = "pop_timeout";
                assert_eq!(ring.pop_timeout(Duration::ZERO), model.pop_front());
            }
            6 => {
                what = "try_push_batch";
                let len = rng.below(cap as u64 + 3) as usize;
                let mut items: Vec<u64> = (next..next + len as u64).collect();
                next += len as u64;
                let moved = ring.try_push_batch(&mut items);
                let expected = len.min(cap - model.len());
                assert_eq!(moved, expected, "batch push moved the wrong count");
                let first_left = items.first().copied();
                for v in (next - len as u64)..(next - len as u64 + moved as u64) {
                    model.push_back(v);
                }
                assert_eq!(items.len(), len - moved);
                if moved < len {
                    assert_eq!(first_left, Some(next - len as u64 + moved as u64));
                    assert!(items.windows(2).all(|w| w[1] == w[0] + 1));
                }
            }
            7 => {
                what = "try_pop_batch";
                let max = rng.below(cap as u64 + 3) as usize;
                out.clear();
                out.push(u64::MAX);
                let moved = ring.try_pop_batch(&mut out, max);
                assert_eq!(moved, max.min(model.len()));
                assert_eq!(out.len(), moved + 1);
                assert_eq!(out[0], u64::MAX, "pop batch overwrote `out`");
                for v in &out[1..] {
                    assert_eq!(Some(*v), model.pop_front());
                }
            }
            _ => unreachable!("below(10)"),
        }
        assert_len(&ring, model.len(), what);
    }
    while let Some(expected) = model.pop_front() {
        assert_eq!(ring.try_pop(), Some(expected));
    }
    assert_eq!(ring.try_pop(), None);
}

#[test]
fn zero_sized_items_obey_capacity_and_wrap() {
    for cap in CAPACITIES {
        let ring = Ring::<()>::new(cap);
        assert_eq!(ring.capacity(), cap);
        for round in 0..(20 * cap).max(100) {
            let k = 1 + round % cap;
            for i in 0..k {
                ring.try_push(()).unwrap();
                assert_len(&ring, i + 1, "pushing ()");
            }
            if k == cap {
                assert!(ring.try_push(()).is_err());
                assert_eq!(ring.try_push_batch(&mut vec![(); 3]), 0);
            }
            for i in 0..k {
                assert_eq!(ring.try_pop(), Some(()));
                assert_len(&ring, k - i - 1, "popping ()");
            }
            assert_eq!(ring.try_pop(), None);
        }
        let mut units = vec![(); cap + 2];
        assert_eq!(ring.try_push_batch(&mut units), cap);
        assert_eq!(units.len(), 2);
        assert_len(&ring, cap, "a batch of ()");
        assert!(ring.try_push(()).is_err());
        let mut out = Vec::new();
        assert_eq!(ring.try_pop_batch(&mut out, cap + 2), cap);
        assert_eq!(out.len(), cap);
        assert_len(&ring, 0, "a pop batch of ()");
        // Blocking and timed calls on a ZST ring.
        ring.push(());
        assert_eq!(ring.pop_timeout(Duration::ZERO), Some(()));
        assert_eq!(ring.pop_timeout(Duration::ZERO), None);
    }
}

#[test]
fn zero_sized_items_with_other_zst_types() {
    #[derive(Debug, PartialEq)]
    struct Marker;
    let ring = Ring::<Marker>::new(2);
    ring.try_push(Marker).unwrap();
    ring.try_push(Marker).unwrap();
    assert_eq!(ring.try_push(Marker).unwrap_err().into_inner(), Marker);
    assert_eq!(ring.try_pop(), Some(Marker));
    let ring = Ring::<[u64; 0]>::new(3);
    for _ in 0..10 {
        ring.try_push([]).unwrap();
        assert_eq!(ring.try_pop(), Some([]));
    }
}

#[test]
fn large_items_move_intact() {
    let ring = Ring::new(3);
    for round in 0..20_u64 {
        let item = [round; 64];
        ring.try_push(Box::new(item)).unwrap();
        ring.try_push(Box::new([round + 1000; 64])).unwrap();
        assert_eq!(*ring.try_pop().unwrap(), item);
        assert_eq!(*ring.try_pop().unwrap(), [round + 1000; 64]);
    }
}
