//! A message whose `Drop` panics, dropped by the queue (an ack, the last
//! holder of an expired delivery letting go, the queue's own `Drop`) or
//! after the queue handed it out (a dead letter taken, a drained `Vec`):
//! the panic propagates to the caller, the message is settled and its
//! places are given back, and every other value is dropped exactly once.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use ackring::{AckError, AckQueue, DeadReason, ManualClock};

/// A message that counts its drops and, if `explode`, panics in `Drop`.
///
/// It does not panic while the thread is already unwinding: a second
/// panic there would abort the process, so a value dropped during another
/// value's panic is dropped quietly (and still counted).
struct Bomb {
    id: usize,
    explode: bool,
    counts: Arc<Counts>,
}

/// Drops by id, and the panics raised.
struct Counts {
    drops: Vec<AtomicU32>,
    raised: AtomicU32,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        self.counts.drops[self.id].fetch_add(1, SeqCst);
        if self.explode && !std::thread::panicking() {
            self.counts.raised.fetch_add(1, SeqCst);
            panic!("message {} panics in drop", self.id);
        }
    }
}

/// Makes bombs and counts their drops.
struct Bombs {
    counts: Arc<Counts>,
}

impl Bombs {
    fn new(n: usize) -> Self {
        Self {
            counts: Arc::new(Counts {
                drops: (0..n).map(|_| AtomicU32::new(0)).collect(),
                raised: AtomicU32::new(0),
            }),
        }
    }

    /// Panics raised so far.
    fn raised(&self) -> u32 {
        self.counts.raised.load(SeqCst)
    }

    /// A message whose drop panics.
    fn live(&self, id: usize) -> Bomb {
        self.make(id, true)
    }

    /// A message whose drop does not.
    fn dud(&self, id: usize) -> Bomb {
        self.make(id, false)
    }

    fn make(&self, id: usize, explode: bool) -> Bomb {
        Bomb {
            id,
            explode,
            counts: Arc::clone(&self.counts),
        }
    }

    fn dropped(&self, id: usize) -> u32 {
        self.counts.drops[id].load(SeqCst)
    }

    /// Every id below `n` dropped exactly once.
    fn assert_each_dropped_once(&self, n: usize) {
        for id in 0..n {
            assert_eq!(self.dropped(id), 1, "message {id}");
        }
    }
}

/// Runs `f`, which must panic.
fn assert_panics<R>(what: &str, f: impl FnOnce() -> R) {
    assert!(
        catch_unwind(AssertUnwindSafe(f)).is_err(),
        "{what}: the drop's panic did not propagate"
    );
}

/// An ack whose message panics in `Drop`, by guard and by tag: the panic
/// reaches the caller, the message is settled and dropped once, and its
/// prefetch place is back (with `max_in_flight(1)`, the next receive
/// works); a second ack of the tag is refused without a second drop.
#[test]
fn panicking_drop_during_ack_settles_the_message_and_gives_its_place_back() {
    let b = Bombs::new(4);
    let q = AckQueue::builder()
        .capacity(4)
        .max_in_flight(1)
        .build()
        .unwrap();
    let seqs: Vec<_> = [b.live(0), b.dud(1), b.live(2), b.dud(3)]
        .into_iter()
        .map(|m| q.try_publish(m).unwrap())
        .collect();

    let d = q.try_receive().unwrap();
    assert_eq!(d.id, 0);
    assert_panics("ack by guard", move || d.ack());
    assert_eq!(b.dropped(0), 1);
    assert!(q.is_settled(seqs[0]));
    assert_eq!(q.stats().acked, 1);

    let d = q.try_receive().expect("the acked message's place is back");
    assert_eq!(d.id, 1);
    d.ack().unwrap();
    assert_eq!(b.dropped(1), 1);

    let d = q.try_receive().expect("place back after a plain ack");
    assert_eq!(d.id, 2);
    let tag = d.detach();
    assert_panics("ack by tag", || q.ack(tag));
    assert_eq!(b.dropped(2), 1);
    assert!(q.is_settled(seqs[2]));
    assert_eq!(q.ack(tag), Err(AckError::AlreadySettled));
    assert_eq!(b.dropped(2), 1, "a refused ack drops nothing");

    let d = q
        .try_receive()
        .expect("the place is back after an ack by tag");
    assert_eq!(d.id, 3);
    d.ack().unwrap();
    assert_eq!(q.settled_below().get(), 4);
    let stats = q.stats();
    assert_eq!((stats.acked, stats.in_flight, stats.ready), (4, 0, 0));
    drop(q);
    b.assert_each_dropped_once(4);
}

/// Rejected messages that panic in `Drop`: `nack(false)` drops nothing;
/// the taken `DeadLetter` panics when dropped, and the queue is whole:
/// the overflowed letter's prefetch place comes back when it is taken,
/// later messages are delivered, and each value is dropped once.
#[test]
fn panicking_drop_of_a_taken_dead_letter_leaves_the_queue_whole() {
    let b = Bombs::new(4);
    let q = AckQueue::builder()
        .capacity(4)
        .max_in_flight(1)
        .dead_letter_capacity(1)
        .build()
        .unwrap();
    for m in [b.live(0), b.live(1), b.dud(2), b.dud(3)] {
        q.try_publish(m).unwrap();
    }
    q.try_receive().unwrap().nack(false).unwrap();
    // The first dead letter is on the dead-letter place: its prefetch
    // place is back.
    q.try_receive()
        .expect("a place after a dead letter within the bound")
        .nack(false)
        .unwrap();
    assert_eq!((b.dropped(0), b.dropped(1)), (0, 0), "nack drops nothing");
    // The second overflowed and keeps the only prefetch place.
    assert!(q.try_receive().is_none());

    let dead = q.try_receive_dead_letter().unwrap();
    assert_eq!((dead.id, dead.reason()), (0, DeadReason::Rejected));
    assert!(q.is_settled(dead.seq()));
    assert_panics("dropping a dead letter", move || drop(dead));
    assert_eq!(b.dropped(0), 1);
    assert!(
        q.try_receive().is_none(),
        "the overflowed letter keeps its place"
    );

    let dead = q.try_receive_dead_letter().unwrap();
    assert_eq!(dead.id, 1);
    assert_panics("dropping an overflowed dead letter", move || drop(dead));
    assert_eq!(b.dropped(1), 1);
    assert!(q.try_receive_dead_letter().is_none());

    for id in 2..4 {
        let d = q
            .try_receive()
            .expect("the overflowed letter's place is back");
        assert_eq!(d.id, id);
        d.ack().unwrap();
    }
    assert_eq!(q.settled_below().get(), 4);
    assert_eq!(q.stats().dead_letters, 0);
    drop(q);
    b.assert_each_dropped_once(4);
}

/// A message whose lease expired is read by its expired holder and by the
/// new delivery at once. The new delivery's ack does not drop it (the old
/// holder still reads it); the old holder letting go (dropping its guard,
/// or acking late) frees it, and the panic of its `Drop` propagates from
/// there, with the message settled and its place back.
#[test]
fn panicking_drop_by_the_last_expired_holder_frees_the_entry() {
    const LEASE: Duration = Duration::from_secs(10);
    let b = Bombs::new(3);
    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .capacity(4)
        .max_in_flight(1)
        .lease(LEASE)
        .clock(clock.clone())
        .build()
        .unwrap();
    let s0 = q.try_publish(b.live(0)).unwrap();
    let s1 = q.try_publish(b.live(1)).unwrap();
    q.try_publish(b.dud(2)).unwrap();

    // The expired holder drops its guard.
    let old = q.try_receive().unwrap();
    clock.advance(LEASE * 2);
    let new = q.try_receive().expect("redelivered after expiry");
    assert_eq!((new.id, new.delivery_count()), (0, 2));
    new.ack().unwrap();
    assert_eq!(b.dropped(0), 0, "the expired holder still reads it");
    assert_eq!(old.id, 0);
    assert!(q.is_settled(s0));
    assert!(
        q.try_receive().is_none(),
        "the acked entry keeps its place while read"
    );
    assert_panics("dropping the expired guard", move || drop(old));
    assert_eq!(b.dropped(0), 1);

    // The expired holder acks late.
    let old = q.try_receive().expect("the place is back");
    assert_eq!(old.id, 1);
    clock.advance(LEASE * 2);
    let new = q.try_receive().expect("redelivered after expiry");
    assert_eq!((new.id, new.delivery_count()), (1, 2));
    new.ack().unwrap();
    assert_eq!(b.dropped(1), 0);
    assert_panics("a late ack by the expired guard", move || old.ack());
    assert_eq!(b.dropped(1), 1);
    assert!(q.is_settled(s1));

    let d = q.try_receive().expect("the place is back");
    assert_eq!(d.id, 2);
    d.ack().unwrap();
    assert_eq!(q.settled_below().get(), 3);
    let stats = q.stats();
    assert_eq!((stats.acked, stats.expired, stats.in_flight), (3, 2, 0));
    drop(q);
    b.assert_each_dropped_once(3);
}

/// `drain` hands back waiting, requeued, delayed, detached and dead
/// messages, some of which panic in `Drop`: dropping the `Vec` panics once
/// and still drops every value once, and the queue holds nothing after
/// (its own `Drop` drops nothing more).
#[test]
fn panicking_drop_of_drained_values_drops_each_once() {
    let b = Bombs::new(8);
    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .capacity(4)
        .max_in_flight(4)
        .dead_letter_capacity(1)
        .clock(clock)
        .build()
        .unwrap();
    let receive = |m| {
        q.try_publish(m).unwrap();
        q.try_receive().unwrap()
    };
    receive(b.live(0)).nack(false).unwrap();
    receive(b.dud(1)).nack(false).unwrap();
    receive(b.live(3))
        .nack_after(Duration::from_secs(3600))
        .unwrap();
    let _tag = receive(b.dud(4)).detach();
    // Last: a requeued message would be the next receive's delivery.
    receive(b.live(2)).nack(true).unwrap();
    for m in [b.live(5), b.dud(6), b.live(7)] {
        q.try_publish(m).unwrap();
    }
    q.close();
    let drained = q.drain();
    assert_eq!(drained.len(), 8);
    assert_eq!((0..8).map(|id| b.dropped(id)).sum::<u32>(), 0);
    assert_panics("dropping the drained values", move || drop(drained));
    assert_eq!(b.raised(), 1);
    b.assert_each_dropped_once(8);
    assert_eq!(q.settled_below().get(), 8);
    let stats = q.stats();
    assert_eq!(
        (stats.ready, stats.in_flight, stats.dead_letters),
        (0, 0, 0)
    );
    drop(q);
    b.assert_each_dropped_once(8);
}

/// The queue's own `Drop`, holding panicking and quiet values in every
/// place (waiting, in flight after detach, requeued, delayed, dead letters
/// within and past their bound): the panic propagates once, and every
/// value is dropped exactly once.
#[test]
fn queue_drop_with_panicking_values_drops_every_value_once() {
    let b = Bombs::new(9);
    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .capacity(4)
        .max_in_flight(4)
        .dead_letter_capacity(1)
        .clock(clock)
        .build()
        .unwrap();
    let receive = |m| {
        q.try_publish(m).unwrap();
        q.try_receive().unwrap()
    };
    receive(b.live(0)).nack(false).unwrap();
    receive(b.dud(1)).nack(false).unwrap();
    receive(b.dud(3))
        .nack_after(Duration::from_secs(3600))
        .unwrap();
    let _tag = receive(b.live(4)).detach();
    // Last: a requeued message would be the next receive's delivery.
    receive(b.live(2)).nack(true).unwrap();
    for m in [b.live(5), b.dud(6), b.live(7), b.dud(8)] {
        q.try_publish(m).unwrap();
    }
    let stats = q.stats();
    assert_eq!(
        (stats.ready, stats.in_flight, stats.dead_letters),
        (6, 1, 2)
    );
    assert_eq!((0..9).map(|id| b.dropped(id)).sum::<u32>(), 0);
    assert_panics("dropping the queue", move || drop(q));
    assert_eq!(
        b.raised(),
        1,
        "one panic, the others dropped during its unwinding"
    );
    b.assert_each_dropped_once(9);
}

/// After a panicking `Drop` on every path that drops or hands out a value
/// (ack by guard, ack by tag, dead letters within and past their bound,
/// the last expired holder), the queue's bounds are whole: `capacity`
/// messages can be published and no more, `max_in_flight` received at
/// once and no more, and every value is dropped once.
#[test]
fn capacity_and_prefetch_places_are_whole_after_panics() {
    const LEASE: Duration = Duration::from_secs(10);
    const CAPACITY: usize = 4;
    const MAX_IN_FLIGHT: usize = 2;
    let b = Bombs::new(16);
    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .capacity(CAPACITY)
        .max_in_flight(MAX_IN_FLIGHT)
        .dead_letter_capacity(1)
        .lease(LEASE)
        .clock(clock.clone())
        .build()
        .unwrap();
    let receive = |m| {
        q.try_publish(m).unwrap();
        q.try_receive().unwrap()
    };
    let d = receive(b.live(0));
    assert_panics("ack by guard", move || d.ack());
    let tag = receive(b.live(1)).detach();
    assert_panics("ack by tag", || q.ack(tag));
    receive(b.live(2)).nack(false).unwrap();
    receive(b.live(3)).nack(false).unwrap();
    for id in [2, 3] {
        let dead = q.try_receive_dead_letter().unwrap();
        assert_eq!(dead.id, id);
        assert_panics("dropping a dead letter", move || drop(dead));
    }
    let old = receive(b.live(4));
    clock.advance(LEASE * 2);
    let new = q.try_receive().expect("redelivered after expiry");
    new.ack().unwrap();
    assert_panics("dropping the expired guard", move || drop(old));
    b.assert_each_dropped_once(5);

    for id in 5..5 + CAPACITY {
        q.try_publish(b.dud(id)).unwrap();
    }
    let refused = q.try_publish(b.dud(15)).unwrap_err();
    assert!(refused.is_full(), "capacity is exactly {CAPACITY}");
    drop(refused);
    let window: Vec<_> = (0..MAX_IN_FLIGHT)
        .map(|_| q.try_receive().expect("a whole prefetch window"))
        .collect();
    assert!(
        q.try_receive().is_none(),
        "max_in_flight is exactly {MAX_IN_FLIGHT}"
    );
    for d in window {
        d.ack().unwrap();
    }
    for _ in MAX_IN_FLIGHT..CAPACITY {
        q.try_receive().unwrap().ack().unwrap();
    }
    assert_eq!(q.settled_below().get(), (5 + CAPACITY) as u64);
    let stats = q.stats();
    assert_eq!(
        (stats.ready, stats.in_flight, stats.dead_letters),
        (0, 0, 0)
    );
    drop(q);
    b.assert_each_dropped_once(5 + CAPACITY);
    assert_eq!(b.dropped(15), 1);
}

/// A batch ack whose second message panics in `Drop`: the panic reaches
/// the caller; the two messages acked before it are settled, dropped once
/// and their places given back; the guards not reached are requeued by
/// the unwinding, and the tags not reached stay in flight to be acked
/// later. Afterwards the bounds are whole: `max_in_flight` deliveries at
/// once and no more, `capacity` publishes and no more.
#[test]
fn panicking_drop_in_a_batch_ack_gives_back_every_freed_place() {
    const CAPACITY: usize = 4;
    const MAX_IN_FLIGHT: usize = 4;
    let b = Bombs::new(16);
    let q = AckQueue::builder()
        .capacity(CAPACITY)
        .max_in_flight(MAX_IN_FLIGHT)
        .build()
        .unwrap();
    let seqs: Vec<_> = [b.dud(0), b.live(1), b.dud(2), b.dud(3)]
        .into_iter()
        .map(|m| q.try_publish(m).unwrap())
        .collect();
    let mut out = Vec::with_capacity(MAX_IN_FLIGHT);
    assert_eq!(q.try_receive_batch(16, &mut out), MAX_IN_FLIGHT);
    let mut errors = Vec::new();
    assert_panics("a batch ack of guards", || {
        q.ack_batch(out.drain(..), &mut errors)
    });
    assert!(errors.is_empty());
    assert_eq!((b.dropped(0), b.dropped(1)), (1, 1));
    assert!(q.is_settled(seqs[0]) && q.is_settled(seqs[1]));
    assert_eq!((b.dropped(2), b.dropped(3)), (0, 0));
    assert_eq!(q.stats().acked, 2);

    // The guards not reached were requeued; two places are back.
    for id in 4..6 {
        q.try_publish(b.dud(id)).unwrap();
    }
    assert_eq!(q.try_receive_batch(16, &mut out), MAX_IN_FLIGHT);
    assert_eq!(
        out.iter()
            .map(|d| (d.id, d.redelivered()))
            .collect::<Vec<_>>(),
        [(2, true), (3, true), (4, false), (5, false)]
    );
    assert!(
        q.try_receive().is_none(),
        "max_in_flight is exactly {MAX_IN_FLIGHT}"
    );

    // By tag: the tags after the panicking one stay in flight.
    let mut tags: Vec<_> = out.drain(..).map(|d| d.detach()).collect();
    assert_eq!(q.ack_batch(tags.drain(..1), &mut errors), 1);
    q.try_publish(b.live(6)).unwrap();
    let d = q.try_receive().unwrap();
    assert_eq!(d.id, 6);
    tags.insert(1, d.detach());
    // [3, 6 (panics), 4, 5]
    assert_panics("a batch ack of tags", || {
        q.ack_batch(tags.iter().copied(), &mut errors)
    });
    assert_eq!((b.dropped(3), b.dropped(6)), (1, 1));
    assert_eq!((b.dropped(4), b.dropped(5)), (0, 0));
    assert_eq!(q.ack_batch(tags[2..].iter().copied(), &mut errors), 2);
    assert!(errors.is_empty());
    b.assert_each_dropped_once(7);

    for id in 7..7 + CAPACITY {
        q.try_publish(b.dud(id)).unwrap();
    }
    let refused = q.try_publish(b.dud(15)).unwrap_err();
    assert!(refused.is_full(), "capacity is exactly {CAPACITY}");
    drop(refused);
    assert_eq!(q.try_receive_batch(16, &mut out), MAX_IN_FLIGHT);
    assert!(q.try_receive().is_none());
    assert_eq!(q.ack_batch(out.drain(..), &mut errors), MAX_IN_FLIGHT);
    assert_eq!(q.settled_below().get(), (7 + CAPACITY) as u64);
    let stats = q.stats();
    assert_eq!(
        (stats.ready, stats.in_flight, stats.acked),
        (0, 0, (7 + CAPACITY) as u64)
    );
    drop(out);
    drop(q);
    b.assert_each_dropped_once(7 + CAPACITY);
    assert_eq!(b.dropped(15), 1);
}
