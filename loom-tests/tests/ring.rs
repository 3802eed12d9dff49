//! Loom models of `Ring<T>`: each explores every interleaving of a tiny
//! program (up to the preemption bound) and checks an accounting invariant.
#![cfg(loom)]

use std::time::Duration;

use ackring::{Ring, WaitStrategy};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

mod util;
use util::{explore, explore_within};

/// Pops until `n` items arrived, yielding while the ring is empty; also
/// says whether it ever found the ring empty.
fn pop_n(ring: &Ring<u32>, n: usize) -> (Vec<u32>, bool) {
    let mut got = Vec::new();
    let mut waited = false;
    while got.len() < n {
        match ring.try_pop() {
            Some(v) => got.push(v),
            None => {
                waited = true;
                thread::yield_now();
            }
        }
    }
    (got, waited)
}

/// Pushes each value, yielding while the ring is full.
fn push_all(ring: &Ring<u32>, values: &[u32]) {
    for &v in values {
        let mut v = v;
        loop {
            match ring.try_push(v) {
                Ok(()) => break,
                Err(full) => {
                    v = full.into_inner();
                    thread::yield_now();
                }
            }
        }
    }
}

fn one_producer_one_consumer_wrap(capacity: usize, expected: &[&'static str]) {
    explore(expected, move || {
        let ring = Arc::new(Ring::new(capacity));
        let producer = {
            let ring = ring.clone();
            thread::spawn(move || push_all(&ring, &[1, 2, 3]))
        };
        // Let the other thread go first at least once: loom's reduction
        // otherwise never schedules it before this thread's first access.
        thread::yield_now();
        // Three items through a ring of one or two slots: at least one wrap.
        let (got, waited) = pop_n(&ring, 3);
        assert_eq!(got, [1, 2, 3], "FIFO, each item once");
        producer.join().unwrap();
        assert!(ring.is_empty());
        if waited {
            "consumer found the ring empty"
        } else {
            "consumer never waited"
        }
    });
}

#[test]
fn one_producer_one_consumer_wrap_capacity_1() {
    // Three items through one slot: the consumer always finds it empty at
    // least once within the preemption bound.
    one_producer_one_consumer_wrap(1, &["consumer found the ring empty"]);
}

#[test]
fn one_producer_one_consumer_wrap_capacity_2() {
    one_producer_one_consumer_wrap(
        2,
        &["consumer found the ring empty", "consumer never waited"],
    );
}

// A try call that meets a thread mid-operation at its slot waits for it.
// Two such waiters in one model can take turns yielding forever under
// loom's scheduler (a yielded thread runs again as soon as another one
// does), which loom reports as an exceeded branch limit: each model below
// has at most one thread that can wait.

#[test]
fn producer_races_pop_on_full_ring() {
    explore(&["producer got in", "producer refused"], || {
        let ring = Arc::new(Ring::new(1));
        ring.try_push(0).unwrap(); // full from the start
        let producer = {
            let ring = ring.clone();
            thread::spawn(move || ring.try_push(10).map_err(|f| f.into_inner()))
        };
        let first = ring.try_pop();
        let result = producer.join().unwrap();
        assert_eq!(first, Some(0), "the item pushed first is popped first");
        let left: Vec<u32> = std::iter::from_fn(|| ring.try_pop()).collect();
        match result {
            Ok(()) => {
                assert_eq!(left, [10], "the push went in");
                "producer got in"
            }
            Err(v) => {
                assert_eq!(v, 10, "a refused push hands its value back");
                assert!(left.is_empty());
                "producer refused"
            }
        }
    });
}

#[test]
fn two_producers_race_for_one_free_slot() {
    explore(&["one producer got in"], || {
        let ring = Arc::new(Ring::new(1));
        ring.try_push(0).unwrap();
        assert_eq!(ring.try_pop(), Some(0)); // one free slot, one lap on
        let producers: Vec<_> = [10, 20]
            .into_iter()
            .map(|v| {
                let ring = ring.clone();
                thread::spawn(move || ring.try_push(v).map_err(|f| f.into_inner()))
            })
            .collect();
        let results: Vec<_> = producers.into_iter().map(|p| p.join().unwrap()).collect();
        let mut all: Vec<u32> = results.iter().filter_map(|r| r.err()).collect();
        assert_eq!(all.len(), 1, "exactly one push fits");
        all.extend(std::iter::from_fn(|| ring.try_pop()));
        all.sort_unstable();
        assert_eq!(all, [10, 20], "every value is in the ring or handed back");
        "one producer got in"
    });
}

#[test]
fn consumer_races_pushes_on_empty_ring() {
    explore(&["consumer got 0 items", "consumer got 1 item"], || {
        let ring = Arc::new(Ring::new(2));
        let consumer = {
            let ring = ring.clone();
            thread::spawn(move || ring.try_pop())
        };
        push_all(&ring, &[1, 2]);
        let popped = consumer.join().unwrap();
        let by_consumer = usize::from(popped.is_some());
        if let Some(v) = popped {
            assert_eq!(v, 1, "FIFO: the first item first");
        }
        let mut got: Vec<u32> = popped.into_iter().collect();
        got.extend(std::iter::from_fn(|| ring.try_pop()));
        got.sort_unstable();
        assert_eq!(got, [1, 2], "each item is popped exactly once");
        ["consumer got 0 items", "consumer got 1 item"][by_consumer]
    });
}

#[test]
fn two_consumers_race_for_one_item() {
    explore(&["one consumer got it"], || {
        let ring = Arc::new(Ring::new(2));
        ring.try_push(1).unwrap();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let ring = ring.clone();
                thread::spawn(move || ring.try_pop())
            })
            .collect();
        let got: Vec<u32> = consumers
            .into_iter()
            .filter_map(|c| c.join().unwrap())
            .collect();
        assert_eq!(got, [1], "exactly one consumer gets the item, once");
        assert_eq!(ring.try_pop(), None);
        "one consumer got it"
    });
}

#[test]
fn try_push_races_try_pop_on_last_free_slot() {
    explore(&["pop saw 1 item", "pop saw 2 items"], || {
        let ring = Arc::new(Ring::new(2));
        ring.try_push(1).unwrap(); // one free slot left
        let pusher = {
            let ring = ring.clone();
            thread::spawn(move || ring.try_push(2).is_ok())
        };
        // Let the other thread go first at least once: loom's reduction
        // otherwise never schedules it before this thread's first access.
        thread::yield_now();
        let len = ring.len();
        let popped = ring.try_pop();
        let pushed = pusher.join().unwrap();
        assert_eq!(popped, Some(1), "the old item is always there to pop");
        assert!(pushed, "one slot was free, so the push must succeed");
        assert_eq!(ring.try_pop(), Some(2));
        assert_eq!(ring.try_pop(), None);
        if len == 2 {
            "pop saw 2 items"
        } else {
            "pop saw 1 item"
        }
    });
}

#[test]
fn try_push_races_try_pop_on_full_ring() {
    explore(&["push went in after the pop", "push refused"], || {
        let ring = Arc::new(Ring::new(1));
        ring.try_push(1).unwrap();
        let pusher = {
            let ring = ring.clone();
            thread::spawn(move || ring.try_push(2).map_err(|f| f.into_inner()))
        };
        let popped = ring.try_pop();
        let pushed = pusher.join().unwrap();
        assert_eq!(popped, Some(1));
        // Either the push saw the ring full and got its value back, or it
        // went in after the pop: never lost, never duplicated.
        match pushed {
            Ok(()) => {
                assert_eq!(ring.try_pop(), Some(2));
                "push went in after the pop"
            }
            Err(v) => {
                assert_eq!(v, 2);
                assert_eq!(ring.try_pop(), None);
                "push refused"
            }
        }
    });
}

#[test]
fn batch_push_races_single_push_and_pop() {
    explore(&["batch moved 1", "batch moved 2"], || {
        let ring = Arc::new(Ring::new(2));
        let batcher = {
            let ring = ring.clone();
            thread::spawn(move || {
                let mut items = vec![10, 11];
                let moved = ring.try_push_batch(&mut items);
                (moved, items)
            })
        };
        let single = {
            let ring = ring.clone();
            thread::spawn(move || ring.try_push(20).map_err(|f| f.into_inner()))
        };
        // Let the other threads go first at least once, as in
        // try_push_races_try_pop_on_last_free_slot.
        thread::yield_now();
        let first = ring.try_pop();
        let (moved, left) = batcher.join().unwrap();
        let single = single.join().unwrap();
        // The batch moves a prefix, in order, and keeps the rest.
        assert_eq!(moved + left.len(), 2);
        assert_eq!(&[10, 11][moved..], &left[..]);
        let mut got: Vec<u32> = first.into_iter().collect();
        while let Some(v) = ring.try_pop() {
            got.push(v);
        }
        let mut expected: Vec<u32> = [10, 11][..moved].to_vec();
        if single.is_ok() {
            expected.push(20);
        }
        // The batch's items come out in their order.
        let batch_order: Vec<u32> = got.iter().copied().filter(|&v| v < 20).collect();
        assert_eq!(batch_order, &[10, 11][..moved]);
        got.sort_unstable();
        expected.sort_unstable();
        assert_eq!(got, expected, "every pushed item is popped exactly once");
        ["batch moved 0", "batch moved 1", "batch moved 2"][moved]
    });
}

#[test]
fn batch_pop_races_single_pop_and_push() {
    explore(&["batch took 1", "batch took 2"], || {
        let ring = Arc::new(Ring::new(2));
        ring.try_push(1).unwrap();
        ring.try_push(2).unwrap();
        let batcher = {
            let ring = ring.clone();
            thread::spawn(move || {
                let mut out = Vec::with_capacity(2);
                ring.try_pop_batch(&mut out, 2);
                out
            })
        };
        let single = ring.try_pop();
        // Refill the slot a pop freed, possibly while the batch still reads
        // its neighbour: the next lap's write must wait for the batch's read.
        push_all(&ring, &[3]);
        let batch = batcher.join().unwrap();
        let taken = batch.len();
        let mut got = batch.clone();
        got.extend(single);
        while let Some(v) = ring.try_pop() {
            got.push(v);
        }
        assert!(batch.windows(2).all(|w| w[0] < w[1]), "batch keeps order");
        got.sort_unstable();
        assert_eq!(got, [1, 2, 3], "each item is popped exactly once");
        ["batch took 0", "batch took 1", "batch took 2"][taken]
    });
}

#[test]
fn len_never_out_of_range() {
    explore(&["len 0", "len 1"], || {
        let ring = Arc::new(Ring::new(1));
        let producer = {
            let ring = ring.clone();
            thread::spawn(move || push_all(&ring, &[1, 2]))
        };
        let consumer = {
            let ring = ring.clone();
            thread::spawn(move || pop_n(&ring, 2).0)
        };
        // Let the other thread go first at least once: loom's reduction
        // otherwise never schedules it before this thread's first access.
        thread::yield_now();
        let len = ring.len();
        assert!(len <= ring.capacity(), "len {len} above capacity");
        producer.join().unwrap();
        assert_eq!(consumer.join().unwrap(), [1, 2]);
        assert_eq!(ring.len(), 0);
        ["len 0", "len 1"][len]
    });
}

/// Counts its drops in a shared counter.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn drop_of_non_empty_ring_drops_each_item_once() {
    explore(&["dropped 1 left", "dropped 2 left"], || {
        let drops = Arc::new(AtomicUsize::new(0));
        let ring = Arc::new(Ring::new(2));
        let producer = {
            let (ring, drops) = (ring.clone(), drops.clone());
            thread::spawn(move || {
                for _ in 0..2 {
                    assert!(ring.try_push(Counted(drops.clone())).is_ok());
                }
            })
        };
        // Let the other thread go first at least once: loom's reduction
        // otherwise never schedules it before this thread's first access.
        thread::yield_now();
        let popped = ring.try_pop();
        producer.join().unwrap();
        let popped_count = usize::from(popped.is_some());
        drop(popped);
        let left = ring.len();
        assert_eq!(popped_count + left, 2, "both pushes succeeded");
        assert_eq!(drops.load(Ordering::Relaxed), popped_count);
        drop(ring); // the last Arc: drops the ring and what is left in it
        assert_eq!(
            drops.load(Ordering::Relaxed),
            2,
            "every item left in the ring is dropped exactly once"
        );
        ["dropped 0 left", "dropped 1 left", "dropped 2 left"][left]
    });
}

#[test]
fn park_no_lost_wakeup_for_popper() {
    explore(&["ok"], || {
        let ring = Arc::new(Ring::with_wait_strategy(1, WaitStrategy::Park));
        let popper = {
            let ring = ring.clone();
            thread::spawn(move || ring.recv().unwrap())
        };
        ring.send(7).unwrap();
        // A lost wake-up leaves the popper asleep forever: loom reports the
        // deadlock.
        assert_eq!(popper.join().unwrap(), 7);
        "ok"
    });
}

#[test]
fn park_no_lost_wakeup_for_pusher() {
    explore(&["ok"], || {
        let ring = Arc::new(Ring::with_wait_strategy(1, WaitStrategy::Park));
        ring.send(1).unwrap(); // full
        let pusher = {
            let ring = ring.clone();
            thread::spawn(move || ring.send(2).unwrap())
        };
        assert_eq!(ring.recv().unwrap(), 1);
        pusher.join().unwrap();
        assert_eq!(ring.try_pop(), Some(2));
        "ok"
    });
}

#[test]
fn pop_timeout_races_push() {
    explore(&["got the item", "timed out"], || {
        let ring = Arc::new(Ring::with_wait_strategy(1, WaitStrategy::Park));
        let pusher = {
            let ring = ring.clone();
            thread::spawn(move || ring.send(5).unwrap())
        };
        // Let the pusher go first at least once (see
        // try_push_races_try_pop_on_last_free_slot).
        thread::yield_now();
        // A zero timeout either finds the item or gives up; either way the
        // item is not lost.
        let got = ring.pop_timeout(Duration::ZERO);
        pusher.join().unwrap();
        let outcome = match got {
            Some(v) => {
                assert_eq!(v, 5);
                "got the item"
            }
            None => {
                assert_eq!(ring.try_pop(), Some(5));
                "timed out"
            }
        };
        assert_eq!(ring.try_pop(), None);
        outcome
    });
}

#[test]
fn push_timeout_races_pop() {
    explore(&["pushed", "timed out"], || {
        let ring = Arc::new(Ring::with_wait_strategy(1, WaitStrategy::Park));
        ring.send(1).unwrap();
        let popper = {
            let ring = ring.clone();
            thread::spawn(move || ring.try_pop())
        };
        // Let the other thread go first at least once: loom's reduction
        // otherwise never schedules it before this thread's first access.
        thread::yield_now();
        let pushed = ring
            .push_timeout(2, Duration::ZERO)
            .map_err(|f| f.into_inner());
        let popped = popper.join().unwrap();
        let mut got: Vec<u32> = popped.into_iter().collect();
        while let Some(v) = ring.try_pop() {
            got.push(v);
        }
        match pushed {
            Ok(()) => {
                // The push saw room, which only the pop could have made.
                assert_eq!(popped, Some(1));
                assert_eq!(got, [1, 2]);
                "pushed"
            }
            Err(v) => {
                assert_eq!(v, 2, "a timed-out push hands its value back");
                assert_eq!(got, [1]);
                "timed out"
            }
        }
    });
}

/// Pushes `v` and returns whether the push succeeded.
fn pushed(ring: &Ring<u32>, v: u32) -> bool {
    ring.try_push(v).is_ok()
}

#[test]
fn try_pop_after_own_push_races_preempted_earlier_producer() {
    // A producer claims a position and may be preempted before it
    // publishes; the main thread then pushes (its push returns) and pops
    // at once: the ring holds its item, so the pop must find one (the old
    // code returned `None` here when the producer held position 0).
    explore(
        &["popped the earlier producer's item", "popped its own item"],
        || {
            let ring = Arc::new(Ring::new(2));
            let producer = {
                let ring = ring.clone();
                thread::spawn(move || assert!(pushed(&ring, 1)))
            };
            thread::yield_now();
            assert!(pushed(&ring, 2));
            let got = ring.try_pop().expect("the ring holds this thread's item");
            producer.join().unwrap();
            let mut all = vec![got];
            all.extend(std::iter::from_fn(|| ring.try_pop()));
            all.sort_unstable();
            assert_eq!(all, [1, 2], "each item once");
            if got == 2 {
                "popped its own item"
            } else {
                "popped the earlier producer's item"
            }
        },
    );
}

#[test]
fn try_push_after_own_pop_races_preempted_earlier_consumer() {
    // The mirror: a full ring; a consumer pops and may be preempted before
    // it frees its slot; the main thread pops (its pop returns) and pushes
    // at once: it holds an item, so the push must find room.
    explore(&["push found room"], || {
        let ring = Arc::new(Ring::new(2));
        for v in [1, 2] {
            assert!(pushed(&ring, v));
        }
        let consumer = {
            let ring = ring.clone();
            thread::spawn(move || ring.try_pop())
        };
        thread::yield_now();
        let mine = ring.try_pop().expect("full, with at most one item taken");
        assert!(pushed(&ring, 3), "this thread holds an item: there is room");
        let mut all = vec![mine];
        all.extend(consumer.join().unwrap());
        all.extend(std::iter::from_fn(|| ring.try_pop()));
        all.sort_unstable();
        assert_eq!(all, [1, 2, 3], "each item once");
        "push found room"
    });
}

#[test]
fn try_pop_after_a_later_push_finished_on_another_thread() {
    // Two producers push one item each; the main thread joins the second
    // (its push has returned) and pops at once: a finished push is in the
    // ring, whichever position the other producer holds and however far
    // it got, so the pop finds an item. When the second producer overtook
    // the first, the pop waits for it; when it did not, the first one's
    // publish reaches the pop only through the second producer (the
    // `done` hint or the slot it read). Joining rather than spinning on a
    // flag keeps the main thread from yielding, after which loom would
    // no longer let it read a slot's older `seq`.
    explore(&["popped 1", "popped 2"], || {
        let ring = Arc::new(Ring::new(2));
        let first = {
            let ring = ring.clone();
            thread::spawn(move || assert!(pushed(&ring, 1)))
        };
        let second = {
            let ring = ring.clone();
            thread::spawn(move || assert!(pushed(&ring, 2)))
        };
        second.join().unwrap();
        let got = ring.try_pop().expect("a finished push is in the ring");
        first.join().unwrap();
        let mut all = vec![got];
        all.extend(std::iter::from_fn(|| ring.try_pop()));
        all.sort_unstable();
        assert_eq!(all, [1, 2], "each item once");
        if got == 1 {
            "popped 1"
        } else {
            "popped 2"
        }
    });
}

#[test]
fn try_push_after_a_later_pop_finished_on_another_thread() {
    // The mirror: a full ring, two consumers pop one item each; the main
    // thread joins the second and pushes: a slot is free, so the push
    // finds room.
    explore(&["push found room"], || {
        let ring = Arc::new(Ring::new(2));
        for v in [1, 2] {
            assert!(pushed(&ring, v));
        }
        let first = {
            let ring = ring.clone();
            thread::spawn(move || ring.try_pop())
        };
        let second = {
            let ring = ring.clone();
            thread::spawn(move || ring.try_pop())
        };
        let mut all: Vec<u32> = second.join().unwrap().into_iter().collect();
        assert!(pushed(&ring, 3), "a pop has returned: there is room");
        all.extend(first.join().unwrap());
        all.extend(std::iter::from_fn(|| ring.try_pop()));
        all.sort_unstable();
        assert_eq!(all, [1, 2, 3], "each item once");
        "push found room"
    });
}

#[test]
fn force_push_races_pop_on_full_ring() {
    explore(
        &[
            "force_push overwrote the oldest",
            "pop took the oldest, force_push found room",
        ],
        || {
            let ring = Arc::new(Ring::new(1));
            assert!(pushed(&ring, 1)); // full
            let popper = {
                let ring = ring.clone();
                thread::spawn(move || ring.try_pop())
            };
            thread::yield_now();
            let overwritten = ring.force_push(2);
            // The ring is never empty: it holds 1, then 2 (or 1 and 2).
            let popped = popper.join().unwrap();
            assert!(popped.is_some(), "the pop reported empty on a full ring");
            // Every item is handed out exactly once: overwritten, popped
            // or still inside.
            let mut all: Vec<u32> = overwritten.into_iter().chain(popped).collect();
            all.extend(std::iter::from_fn(|| ring.try_pop()));
            all.sort_unstable();
            assert_eq!(all, [1, 2], "each item once");
            match (overwritten, popped) {
                (Some(1), Some(2)) => "force_push overwrote the oldest",
                (None, Some(1)) => "pop took the oldest, force_push found room",
                other => panic!("impossible outcome {other:?}"),
            }
        },
    );
}

#[test]
fn close_races_parked_pusher() {
    // The ring is full: the pusher's send waits for room (parked); the
    // close must wake it with its value (a waiter never woken is loom's
    // deadlock), or the send got in before the close.
    explore(&["refused", "sent"], || {
        let ring = Arc::new(Ring::with_wait_strategy(1, WaitStrategy::Park));
        assert!(pushed(&ring, 1));
        let pusher = {
            let ring = ring.clone();
            thread::spawn(move || ring.send(2).map_err(|e| e.into_inner()))
        };
        let popped = ring.try_pop();
        assert!(ring.close());
        let sent = pusher.join().unwrap();
        let mut got: Vec<u32> = popped.into_iter().collect();
        while let Ok(v) = ring.try_recv() {
            got.push(v);
        }
        match sent {
            Ok(()) => {
                assert_eq!(got, [1, 2], "an item sent before the close is kept");
                "sent"
            }
            Err(v) => {
                assert_eq!(v, 2, "the value comes back");
                assert_eq!(got, [1]);
                "refused"
            }
        }
    });
}

#[test]
fn close_races_parked_popper() {
    // The ring is empty: the popper's recv waits (parked) for the item the
    // main thread sends, then again; the close must wake it, and it
    // reports closed only once the ring is drained.
    explore(&["got the item, then closed"], || {
        let ring = Arc::new(Ring::with_wait_strategy(1, WaitStrategy::Park));
        let popper = {
            let ring = ring.clone();
            thread::spawn(move || (ring.recv().ok(), ring.recv().ok()))
        };
        thread::yield_now();
        assert!(ring.send(7).is_ok());
        assert!(ring.close());
        assert_eq!(popper.join().unwrap(), (Some(7), None));
        "got the item, then closed"
    });
}

/// A batch push wakes a popper parked on the empty ring: the run's claim
/// of `tail` is the key of the push's wake-up, as a single push's is.
#[test]
fn batch_push_wakes_a_parked_popper() {
    explore(&["ok"], || {
        let ring = Arc::new(Ring::with_wait_strategy(2, WaitStrategy::Park));
        let popper = {
            let ring = ring.clone();
            thread::spawn(move || ring.recv())
        };
        assert_eq!(ring.try_push_batch(&mut vec![7]), 1);
        // A lost wake-up leaves the popper asleep forever: a deadlock.
        assert_eq!(popper.join().unwrap(), Ok(7));
        "ok"
    });
}

/// A force push wakes a popper parked on the empty ring.
#[test]
fn force_push_wakes_a_parked_popper() {
    explore(&["ok"], || {
        let ring = Arc::new(Ring::with_wait_strategy(1, WaitStrategy::Park));
        let popper = {
            let ring = ring.clone();
            thread::spawn(move || ring.recv())
        };
        assert_eq!(ring.force_push(7), None);
        assert_eq!(popper.join().unwrap(), Ok(7));
        "ok"
    });
}

/// Two producers race for the tail while a popper waits for both items:
/// the push that loses its first look claims in the slow path, whose CAS
/// is the key of its wake-up too.
#[test]
fn push_that_loses_the_race_for_tail_wakes_a_parked_popper() {
    explore_within(2, &["ok"], || {
        let ring = Arc::new(Ring::with_wait_strategy(2, WaitStrategy::Park));
        let popper = {
            let ring = ring.clone();
            thread::spawn(move || ring.recv().unwrap() + ring.recv().unwrap())
        };
        let producer = {
            let ring = ring.clone();
            thread::spawn(move || ring.send(1).unwrap())
        };
        ring.send(2).unwrap();
        producer.join().unwrap();
        assert_eq!(popper.join().unwrap(), 3);
        "ok"
    });
}

/// Two consumers race for the head of a full ring while a pusher waits to
/// push two more: the pop that loses its first look claims in the slow
/// path, whose CAS is the key of the wake-up of the pusher's second send.
#[test]
fn pop_that_loses_the_race_for_head_wakes_a_parked_pusher() {
    explore_within(2, &["ok"], || {
        let ring = Arc::new(Ring::with_wait_strategy(2, WaitStrategy::Park));
        ring.send(1).unwrap();
        ring.send(2).unwrap();
        let pusher = {
            let ring = ring.clone();
            thread::spawn(move || {
                ring.send(3).unwrap();
                ring.send(4).unwrap();
            })
        };
        let consumer = {
            let ring = ring.clone();
            thread::spawn(move || ring.recv().unwrap())
        };
        let mine = ring.recv().unwrap();
        let theirs = consumer.join().unwrap();
        pusher.join().unwrap();
        assert_eq!(mine + theirs, 3);
        assert_eq!((ring.try_pop(), ring.try_pop()), (Some(3), Some(4)));
        "ok"
    });
}
