//! No heap allocation after construction: a counting global allocator
//! (`tests/common/counting.rs`) watches every call of a built ring, on
//! the calling thread only.

// The deprecated `push` and `pop` stay covered while they exist.
#![allow(deprecated)]

use std::time::Duration;

use ackring::Ring;

mod common;
use common::counting::{allocations_in, Counting};
use common::wait::STRATEGIES;

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn the_counter_sees_allocations() {
    // Without this, a broken counter would make every other test pass.
    let (n, v) = allocations_in(|| vec![1_u8; 100]);
    assert!(n >= 1, "the counting allocator missed a Vec allocation");
    drop(v);
    let (n, ring) = allocations_in(|| Ring::<u64>::new(64));
    assert!(n >= 1, "building a ring allocates its slots");
    drop(ring);
    let (n, ()) = allocations_in(|| ());
    assert_eq!(n, 0);
    // `try_pop_batch` reserves room in `out` before it takes anything: with
    // no room reserved up front, that is an allocation the counter sees.
    let ring = Ring::<u64>::new(4);
    ring.try_push(1).unwrap();
    let mut out = Vec::new();
    let (n, moved) = allocations_in(|| ring.try_pop_batch(&mut out, 4));
    assert_eq!(moved, 1);
    assert!(n >= 1, "growing `out` went unseen");
}

#[test]
fn single_thread_calls_do_not_allocate() {
    for s in STRATEGIES {
        for cap in [1, 2, 3, 7, 1024] {
            let ring = Ring::<u64>::with_wait_strategy(cap, s);
            // Pre-reserved buffers: `try_pop_batch` reserves `max` more,
            // so `out` keeps room for that on top of what it holds.
            let mut out: Vec<u64> = Vec::with_capacity(2 * cap + 16);
            let mut items: Vec<u64> = Vec::with_capacity(2 * cap + 16);
            let (n, checksum) = allocations_in(|| {
                let mut checksum = 0_u64;
                for round in 0..200_u64 {
                    // Single calls, wrapping the cursors.
                    ring.try_push(round).unwrap();
                    checksum += ring.try_pop().unwrap();
                    assert!(ring.try_pop().is_none());
                    ring.push(round);
                    checksum += ring.pop();
                    // Full and empty outcomes, including timeouts.
                    while ring.try_push(round).is_ok() {}
                    assert!(ring.is_full());
                    assert_eq!(ring.len(), cap);
                    let back = ring.push_timeout(7, Duration::ZERO).unwrap_err();
                    checksum += back.into_inner();
                    if round % 50 == 0 {
                        let back = ring.push_timeout(7, Duration::from_micros(200));
                        checksum += back.unwrap_err().into_inner();
                    }
                    out.clear();
                    assert_eq!(ring.try_pop_batch(&mut out, cap), cap);
                    checksum += out.iter().sum::<u64>();
                    assert!(ring.pop_timeout(Duration::ZERO).is_none());
                    if round % 50 == 0 {
                        assert!(ring.pop_timeout(Duration::from_micros(200)).is_none());
                    }
                    // Batch calls, moving part of the input.
                    items.clear();
                    items.extend((0..cap as u64 + 3).map(|i| round + i));
                    assert_eq!(ring.try_push_batch(&mut items), cap);
                    assert_eq!(items.len(), 3);
                    assert_eq!(ring.try_push_batch(&mut items), 0);
                    out.clear();
                    assert_eq!(ring.try_pop_batch(&mut out, cap + 5), cap);
                    checksum += out.iter().sum::<u64>();
                    assert!(ring.push_timeout(1, Duration::from_secs(1)).is_ok());
                    checksum += ring.pop_timeout(Duration::from_secs(1)).unwrap();
                    checksum += ring.len() as u64 + u64::from(ring.is_empty());
                }
                checksum
            });
            assert_eq!(n, 0, "{s:?}, capacity {cap}: {n} allocations");
            assert!(checksum > 0);
        }
    }
}

#[test]
fn zero_sized_items_do_not_allocate() {
    let ring = Ring::<()>::new(3);
    let mut out: Vec<()> = Vec::new();
    let mut items = vec![(); 5];
    let (n, ()) = allocations_in(|| {
        for _ in 0..100 {
            ring.try_push(()).unwrap();
            ring.try_pop().unwrap();
            ring.try_push_batch(&mut items);
            ring.try_pop_batch(&mut out, 5);
            items.append(&mut out);
        }
    });
    assert_eq!(n, 0);
}

/// The waiting calls really wait here (another thread makes progress only
/// later), so the wait strategies' slow paths, including parking in the
/// wait list and being woken, run on the counted thread.
#[test]
fn waiting_calls_do_not_allocate() {
    // Fails, rather than hangs, if a wake-up is lost; never a speed check.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let body = std::thread::spawn(move || {
        waiting_calls_body();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(Duration::from_secs(300)) {
        Ok(()) => body.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("a waiting call never returned (lost wake-up)")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = body.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

fn waiting_calls_body() {
    const ROUNDS: u64 = 300;
    for s in STRATEGIES {
        let ring = Ring::<u64>::with_wait_strategy(1, s);
        let back = Ring::<u64>::with_wait_strategy(1, s);
        std::thread::scope(|scope| {
            // The echo thread allocates freely; only this thread counts.
            scope.spawn(|| {
                for _ in 0..ROUNDS {
                    let v = ring.pop();
                    if v % 16 == 0 {
                        std::thread::sleep(Duration::from_micros(300));
                    }
                    back.push(v + 1);
                }
            });
            let mut out = Vec::with_capacity(4);
            let (n, total) = allocations_in(|| {
                let mut total = 0;
                for i in 0..ROUNDS {
                    match i % 4 {
                        0 => {
                            ring.push(i);
                            total += back.pop();
                        }
                        1 => {
                            ring.push_timeout(i, Duration::from_secs(60)).unwrap();
                            total += back.pop_timeout(Duration::from_secs(60)).unwrap();
                        }
                        2 => {
                            let mut v = i;
                            while let Err(full) = ring.try_push(v) {
                                v = full.into_inner();
                            }
                            total += loop {
                                if let Some(v) = back.pop_timeout(Duration::from_micros(50)) {
                                    break v;
                                }
                            };
                        }
                        _ => {
                            ring.push(i);
                            out.clear();
                            while back.try_pop_batch(&mut out, 1) == 0 {
                                std::hint::spin_loop();
                            }
                            total += out[0];
                        }
                    }
                }
                total
            });
            assert_eq!(n, 0, "{s:?}: {n} allocations while waiting");
            assert_eq!(total, (1..=ROUNDS).sum::<u64>());
        });
    }
}
