//! Drop accounting: every item is dropped exactly once, by whoever owns it
//! last. Items left in a ring are dropped by the ring's `Drop`; popped items
//! (single or batch) and rejected items belong to the caller and are never
//! dropped by the ring.

use std::sync::atomic::{AtomicUsize, Ordering};

use std::time::Duration;

use ackring::{Ring, WaitStrategy};

mod common;
use common::drops::{Counted, DropLedger};

#[test]
fn remaining_items_are_dropped_once_by_the_ring() {
    for cap in [1, 2, 3, 7, 1024] {
        for left in [0, 1, cap / 2, cap] {
            let ledger = DropLedger::new(0);
            let ring = Ring::new(cap);
            for id in 0..left {
                ring.try_push(ledger.item(id))
                    .unwrap_or_else(|_| panic!("full"));
            }
            ledger.assert_dropped_exactly(|_| false, "before the ring is dropped");
            drop(ring);
            ledger.assert_dropped_exactly(|id| id < left, "after the ring is dropped");
        }
    }
}

/// Wrap the cursors many laps, pop some items (keeping them alive), leave
/// others in the ring at an arbitrary offset: the ring drops exactly the
/// ones it still holds.
#[test]
fn after_wraps_only_unpopped_items_are_dropped() {
    for cap in [1_usize, 2, 3, 7, 64] {
        for laps in [1, 5, 37] {
            for left in [0, 1, cap.div_ceil(2), cap] {
                let ledger = DropLedger::new(0);
                let ring = Ring::new(cap);
                let mut popped = Vec::new();
                let mut next = 0;
                // Advance the cursors by `laps * cap + 3` positions, one
                // item at a time, so the remaining run starts mid-buffer.
                for _ in 0..laps * cap + 3 {
                    ring.try_push(ledger.item(next))
                        .unwrap_or_else(|_| panic!("full"));
                    next += 1;
                    popped.push(ring.try_pop().unwrap());
                }
                let first_left = next;
                for _ in 0..left {
                    ring.try_push(ledger.item(next))
                        .unwrap_or_else(|_| panic!("full"));
                    next += 1;
                }
                assert_eq!(ring.len(), left);
                drop(ring);
                ledger.assert_dropped_exactly(|id| id >= first_left, "ring dropped after wraps");
                // The popped items were handed out intact, in order, and
                // are dropped only now, by their owner.
                assert!(popped.iter().enumerate().all(|(i, c)| c.id == i));
                drop(popped);
                ledger.assert_dropped_exactly(|_| true, "popped items dropped");
            }
        }
    }
}

#[test]
fn batches_transfer_ownership_exactly() {
    for cap in [1, 3, 7, 16] {
        let ledger = DropLedger::new(0);
        let ring = Ring::new(cap);
        let mut next = 0;
        let mut taken = Vec::new();
        let mut out = Vec::new();
        for round in 0..(10 * cap) {
            let len = 1 + round % (cap + 2);
            let mut items: Vec<Counted> = (0..len).map(|i| ledger.item(next + i)).collect();
            next += len;
            let moved = ring.try_push_batch(&mut items);
            // Items the ring refused stay with the caller; they are dropped
            // here, by the caller, and must not also be in the ring.
            for item in &items {
                assert!(item.id >= next - len + moved);
            }
            let refused: Vec<usize> = items.iter().map(|c| c.id).collect();
            drop(items);
            for id in refused {
                assert_eq!(ledger.drops(id), 1, "refused item {id}");
            }
            out.clear();
            ring.try_pop_batch(&mut out, 1 + round % cap);
            taken.append(&mut out);
        }
        let held = ring.len();
        let held_ids: Vec<usize> = {
            let mut v = Vec::new();
            ring.try_pop_batch(&mut v, usize::MAX);
            let ids = v.iter().map(|c| c.id).collect();
            // Put them back so the ring's Drop has to drop them.
            assert_eq!(ring.try_push_batch(&mut v), held);
            ids
        };
        // Nothing the caller or the ring still owns has been dropped.
        for c in &taken {
            assert_eq!(ledger.drops(c.id), 0, "taken item {}", c.id);
        }
        for &id in &held_ids {
            assert_eq!(ledger.drops(id), 0, "held item {id}");
        }
        drop(ring);
        for &id in &held_ids {
            assert_eq!(ledger.drops(id), 1, "held item {id} after ring drop");
        }
        for c in &taken {
            assert_eq!(ledger.drops(c.id), 0, "taken item {}", c.id);
        }
        drop(taken);
        ledger.assert_dropped_exactly(|_| true, "everything dropped");
    }
}

#[test]
fn rejected_and_timed_out_values_are_handed_back_not_dropped() {
    for s in [
        WaitStrategy::Spin,
        WaitStrategy::Backoff,
        WaitStrategy::Park,
    ] {
        let ledger = DropLedger::new(0);
        let ring = Ring::with_wait_strategy(1, s);
        ring.try_push(ledger.item(0))
            .unwrap_or_else(|_| panic!("full"));
        let back = ring.try_push(ledger.item(1)).unwrap_err().into_inner();
        assert_eq!(back.id, 1);
        let back2 = ring
            .push_timeout(ledger.item(2), Duration::from_millis(1))
            .unwrap_err()
            .into_inner();
        assert_eq!(back2.id, 2);
        ledger.assert_dropped_exactly(|_| false, "rejections");
        drop((back, back2));
        ledger.assert_dropped_exactly(|id| id != 0, "dropping the rejected values");
        drop(ring);
        ledger.assert_dropped_exactly(|_| true, "dropping the ring");
    }
}

static ZST_DROPS: AtomicUsize = AtomicUsize::new(0);

/// A zero-sized item with a drop side effect.
struct ZstCounted;

impl Drop for ZstCounted {
    fn drop(&mut self) {
        ZST_DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn zero_sized_items_are_dropped_exactly_once() {
    assert_eq!(size_of::<ZstCounted>(), 0);
    let drops = || ZST_DROPS.load(Ordering::SeqCst);
    let start = drops();
    let ring = Ring::new(5);
    // Wrap a few laps; each popped item is dropped by us.
    for _ in 0..23 {
        ring.try_push(ZstCounted).unwrap_or_else(|_| panic!("full"));
        drop(ring.try_pop().unwrap());
    }
    assert_eq!(drops() - start, 23);
    for _ in 0..3 {
        ring.try_push(ZstCounted).unwrap_or_else(|_| panic!("full"));
    }
    let mut batch: Vec<ZstCounted> = (0..4).map(|_| ZstCounted).collect();
    assert_eq!(ring.try_push_batch(&mut batch), 2);
    assert_eq!(batch.len(), 2);
    drop(batch);
    assert_eq!(drops() - start, 25, "the two refused items");
    let mut out = Vec::new();
    assert_eq!(ring.try_pop_batch(&mut out, 1), 1);
    assert_eq!(
        drops() - start,
        25,
        "a popped item is not dropped by the ring"
    );
    drop(out);
    assert_eq!(drops() - start, 26);
    drop(ring);
    assert_eq!(drops() - start, 30, "the four items left in the ring");
}

#[test]
fn items_left_after_threaded_use_are_dropped_once() {
    for s in [
        WaitStrategy::Spin,
        WaitStrategy::Backoff,
        WaitStrategy::Park,
    ] {
        let ledger = DropLedger::new(0);
        let ring = Ring::with_wait_strategy(8, s);
        let per_thread = 500;
        let popped = std::thread::scope(|scope| {
            for t in 0..2 {
                let ring = &ring;
                let ledger = &ledger;
                scope.spawn(move || {
                    for i in 0..per_thread {
                        let mut item = ledger.item(t * per_thread + i);
                        loop {
                            match ring.try_push(item) {
                                Ok(()) => break,
                                Err(full) => {
                                    item = full.into_inner();
                                    std::thread::yield_now();
                                }
                            }
                        }
                    }
                });
            }
            let consumer = scope.spawn(|| {
                let mut got = Vec::new();
                while got.len() < 2 * per_thread - 5 {
                    match ring.try_pop() {
                        Some(c) => got.push(c),
                        None => std::thread::yield_now(),
                    }
                }
                got
            });
            consumer.join().unwrap()
        });
        assert_eq!(ring.len(), 5);
        let popped_ids: std::collections::HashSet<usize> = popped.iter().map(|c| c.id).collect();
        assert_eq!(popped_ids.len(), popped.len(), "an item was popped twice");
        ledger.assert_dropped_exactly(|_| false, "before dropping the ring");
        drop(ring);
        ledger.assert_dropped_exactly(|id| !popped_ids.contains(&id), "the ring's leftovers");
        drop(popped);
        ledger.assert_dropped_exactly(|_| true, "everything");
    }
}
