//! Owned deliveries (`OwnedDelivery`, from `receive_owned` and friends on
//! an `Arc<AckQueue<T>>`) handed to threads spawned with
//! `std::thread::spawn`, which need `'static`: acked there, dropped there,
//! panicking there, detached and acked by tag there, held there past their
//! lease; and an owned delivery outliving every other handle of its queue.
//! Every scenario accounts for every message: each value settled exactly
//! once (count and sum), each value dropped exactly once, and every
//! handle an owned delivery took given back (`Arc::strong_count`).
//!
//! The receiving loops wait for counts, never for a sleep; a queue that
//! loses a message would never reach its count, so the loops give up once
//! the count has not moved for `STALL` (a working run never comes near
//! it), and the assertions after them fail.

use std::collections::VecDeque;
use std::panic;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use ackring::{AckError, AckQueue, Closed, DeadReason, ManualClock, OwnedDelivery, Tag};

mod common;
use common::settles::SettleLedger;
use common::wait::STALL;

/// Receives owned deliveries on the calling thread and hands each to
/// `dispatch`, until `ledger` counts `n` acks or stands still for `STALL`.
fn dispatch_until_acked(
    q: &Arc<AckQueue<u64>>,
    ledger: &SettleLedger,
    n: u64,
    mut dispatch: impl FnMut(OwnedDelivery<u64>),
) {
    let (mut last, mut since) = (ledger.total(), Instant::now());
    while ledger.total() < n {
        match q.receive_owned_timeout(Duration::from_millis(2)) {
            Ok(Some(d)) => dispatch(d),
            Ok(None) => {}
            Err(Closed) => break,
        }
        let now = ledger.total();
        if now != last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() > STALL {
            break;
        }
    }
}

/// A producer thread publishing `0..n` with the blocking `publish`, until
/// done or the queue is closed (which a stalled run does, so that its
/// producer does not wait for room for ever); returns how many it
/// published.
fn produce(q: &Arc<AckQueue<u64>>, n: u64) -> thread::JoinHandle<u64> {
    let q = Arc::clone(q);
    thread::spawn(move || {
        for v in 0..n {
            match q.publish(v) {
                Ok(seq) => assert_eq!(seq.get(), v),
                Err(_) => return v,
            }
        }
        n
    })
}

/// `count` worker threads, each running `handle` on every delivery sent
/// to it; returns their channels and handles.
fn workers(
    count: usize,
    handle: impl Fn(OwnedDelivery<u64>) + Send + Sync + 'static,
) -> (
    Vec<mpsc::Sender<OwnedDelivery<u64>>>,
    Vec<thread::JoinHandle<()>>,
) {
    let handle = Arc::new(handle);
    (0..count)
        .map(|_| {
            let (tx, rx) = mpsc::channel::<OwnedDelivery<u64>>();
            let handle = Arc::clone(&handle);
            (tx, thread::spawn(move || rx.into_iter().for_each(&*handle)))
        })
        .unzip()
}

fn queue(capacity: usize, max_in_flight: usize) -> Arc<AckQueue<u64>> {
    Arc::new(
        AckQueue::builder()
            .capacity(capacity)
            .max_in_flight(max_in_flight)
            .build()
            .unwrap(),
    )
}

/// A message that counts its drops.
struct Counted {
    id: usize,
    drops: Arc<Vec<AtomicU32>>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, SeqCst);
    }
}

/// Makes `Counted` messages `0..n` and reads their drop counts.
struct Drops(Arc<Vec<AtomicU32>>);

impl Drops {
    fn new(n: usize) -> Self {
        Drops(Arc::new((0..n).map(|_| AtomicU32::new(0)).collect()))
    }

    fn make(&self, id: usize) -> Counted {
        Counted {
            id,
            drops: Arc::clone(&self.0),
        }
    }

    fn of(&self, id: usize) -> u32 {
        self.0[id].load(SeqCst)
    }

    /// Every message dropped exactly once.
    fn assert_each_once(&self) {
        for id in 0..self.0.len() {
            assert_eq!(self.of(id), 1, "message {id} dropped wrongly");
        }
    }
}

fn assert_send_sync_static<X: Send + Sync + 'static>() {}

/// Checked by the compiler: an owned delivery of a `Send + Sync` message
/// is `Send + Sync + 'static`, whatever the message's own lifetime needs
/// are not (`String`, `Vec`, a type with an `Arc` inside).
#[test]
fn owned_delivery_is_send_sync_and_static() {
    assert_send_sync_static::<OwnedDelivery<u64>>();
    assert_send_sync_static::<OwnedDelivery<String>>();
    assert_send_sync_static::<OwnedDelivery<Counted>>();
}

/// The owned receive calls answer as the borrowed ones (nothing ready,
/// the prefetch limit, a timeout, close), and an owned delivery has the
/// borrowed one's API: sequence number, tag, delivery count, nack with and
/// without requeue, `nack_after` on the queue's clock, and the tag checks
/// (a second ack, a tag from another queue).
#[test]
fn owned_receive_calls_and_guards_answer_as_the_borrowed_ones() {
    let clock = ManualClock::new();
    let q = Arc::new(
        AckQueue::<u64>::builder()
            .capacity(4)
            .max_in_flight(1)
            .clock(clock.clone())
            .build()
            .unwrap(),
    );
    let other = queue(4, 4);
    assert!(q.try_receive_owned().is_none(), "nothing published");
    assert!(matches!(
        q.receive_owned_timeout(Duration::from_millis(1)),
        Ok(None)
    ));
    let seqs: Vec<_> = (10..13).map(|v| q.try_publish(v).unwrap()).collect();

    let d = q.try_receive_owned().unwrap();
    assert_eq!((*d, d.seq(), d.delivery_count()), (10, seqs[0], 1));
    assert!(!d.redelivered());
    assert!(q.try_receive_owned().is_none(), "prefetch limit of 1");
    assert!(format!("{d:?}").starts_with("OwnedDelivery"));
    let tag = d.tag();
    assert_eq!(other.ack(tag), Err(AckError::ForeignTag));
    d.nack(true).unwrap();
    let d = q.receive_owned().unwrap();
    assert_eq!((*d, d.delivery_count()), (10, 2));
    assert!(d.redelivered());
    assert_eq!(q.ack(tag), Err(AckError::Stale), "delivered again since");
    let tag = d.tag();
    d.ack().unwrap();
    assert_eq!(q.ack(tag), Err(AckError::AlreadySettled), "a second ack");

    let d = q.receive_owned_timeout(Duration::from_secs(5)).unwrap();
    let d = d.expect("message 11 is ready");
    assert_eq!(*d, 11);
    d.nack(false).unwrap();
    let dead = q.try_receive_dead_letter().unwrap();
    assert_eq!((*dead, dead.reason()), (11, DeadReason::Rejected));

    let d = q.try_receive_owned().unwrap();
    assert_eq!(*d, 12);
    d.nack_after(Duration::from_secs(5)).unwrap();
    assert!(q.try_receive_owned().is_none(), "delayed");
    clock.advance(Duration::from_secs(6));
    let d = q.try_receive_owned().expect("the delay passed");
    assert_eq!((*d, d.delivery_count()), (12, 2));
    d.ack().unwrap();

    q.close();
    assert_eq!(q.receive_owned().err(), Some(Closed));
    assert!(matches!(
        q.receive_owned_timeout(Duration::from_secs(5)),
        Err(Closed)
    ));
    let stats = q.stats();
    assert_eq!(
        (stats.published, stats.acked, stats.dead_lettered),
        (3, 2, 1)
    );
    assert_eq!(q.settled_below().get(), 3);
    assert_eq!(Arc::strong_count(&q), 1, "every handle given back");
}

/// One receiving thread hands owned deliveries to three worker threads
/// over channels; the workers ack them. Every message is acked exactly
/// once, on its first delivery, and every handle the deliveries took is
/// given back.
#[test]
fn owned_deliveries_handed_to_worker_threads_are_acked_there_each_once() {
    const TOTAL: u64 = 20_000;
    let q = queue(64, 16);
    let ledger = SettleLedger::new(TOTAL);
    let producer = produce(&q, TOTAL);
    let (txs, pool) = workers(3, {
        let ledger = Arc::clone(&ledger);
        move |d| {
            let (v, count) = (*d, d.delivery_count());
            d.ack().unwrap();
            ledger.settled_on(v, count);
        }
    });
    let mut next = 0;
    dispatch_until_acked(&q, &ledger, TOTAL, |d| {
        txs[next % txs.len()].send(d).unwrap();
        next += 1;
    });
    drop(txs);
    pool.into_iter().for_each(|w| w.join().unwrap());
    q.close();
    assert_eq!(producer.join().unwrap(), TOTAL, "every message published");
    ledger.assert_each_once();
    assert!((0..TOTAL).all(|v| ledger.count_of(v) == 1));
    let stats = q.stats();
    assert_eq!((stats.published, stats.acked), (TOTAL, TOTAL));
    assert_eq!((stats.redelivered, stats.in_flight, stats.ready), (0, 0, 0));
    assert_eq!(q.settled_below().get(), TOTAL);
    assert_eq!(Arc::strong_count(&q), 1, "every handle given back");
}

/// Worker threads drop every first delivery unsettled: each is requeued,
/// delivered again with delivery count 2, and acked then. Nothing is lost
/// and nothing acked twice.
#[test]
fn owned_deliveries_dropped_on_worker_threads_are_redelivered_with_count_two() {
    const TOTAL: u64 = 5_000;
    let q = queue(64, 16);
    let ledger = SettleLedger::new(TOTAL);
    let dropped = Arc::new(AtomicU64::new(0));
    let producer = produce(&q, TOTAL);
    let (txs, pool) = workers(3, {
        let (ledger, dropped) = (Arc::clone(&ledger), Arc::clone(&dropped));
        move |d| {
            if d.delivery_count() == 1 {
                dropped.fetch_add(1, SeqCst);
                drop(d);
            } else {
                let (v, count, again) = (*d, d.delivery_count(), d.redelivered());
                assert!(again);
                d.ack().unwrap();
                ledger.settled_on(v, count);
            }
        }
    });
    let mut next = 0;
    dispatch_until_acked(&q, &ledger, TOTAL, |d| {
        txs[next % txs.len()].send(d).unwrap();
        next += 1;
    });
    drop(txs);
    pool.into_iter().for_each(|w| w.join().unwrap());
    q.close();
    assert_eq!(producer.join().unwrap(), TOTAL, "every message published");
    ledger.assert_each_once();
    assert!((0..TOTAL).all(|v| ledger.count_of(v) == 2));
    assert_eq!(dropped.load(SeqCst), TOTAL);
    let stats = q.stats();
    assert_eq!(
        (stats.acked, stats.redelivered, stats.nacked),
        (TOTAL, TOTAL, TOTAL)
    );
    assert_eq!((stats.in_flight, stats.ready), (0, 0));
    assert_eq!(q.settled_below().get(), TOTAL);
    assert_eq!(Arc::strong_count(&q), 1, "every handle given back");
}

/// The payload of the handlers' deliberate panics (the panic hook keeps
/// them quiet).
struct Crash(u64);

/// A thread is spawned per delivery; on the first delivery of every fifth
/// message the handler panics, and the unwinding drops the owned delivery,
/// which requeues it. Each crashed message is delivered again (count 2)
/// and acked; the others are acked on their first delivery.
#[test]
fn handler_panicking_on_its_own_thread_requeues_the_owned_delivery() {
    const TOTAL: u64 = 1_000;
    let quiet = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !info.payload().is::<Crash>() {
            quiet(info);
        }
    }));
    let q = queue(64, 16);
    let ledger = SettleLedger::new(TOTAL);
    let producer = produce(&q, TOTAL);
    let mut running = VecDeque::new();
    let mut crashed = Vec::new();
    let mut join = |h: thread::JoinHandle<()>| {
        if let Err(payload) = h.join() {
            let Crash(v) = *payload.downcast::<Crash>().expect("only deliberate panics");
            crashed.push(v);
        }
    };
    dispatch_until_acked(&q, &ledger, TOTAL, |d| {
        let ledger = Arc::clone(&ledger);
        running.push_back(thread::spawn(move || {
            let (v, count) = (*d, d.delivery_count());
            if v % 5 == 0 && count == 1 {
                panic::panic_any(Crash(v));
            }
            d.ack().unwrap();
            ledger.settled_on(v, count);
        }));
        if running.len() > 8 {
            join(running.pop_front().unwrap());
        }
    });
    running.into_iter().for_each(&mut join);
    q.close();
    assert_eq!(producer.join().unwrap(), TOTAL, "every message published");
    crashed.sort_unstable();
    let expected: Vec<u64> = (0..TOTAL).filter(|v| v % 5 == 0).collect();
    assert_eq!(crashed, expected, "each fifth message crashed once");
    ledger.assert_each_once();
    for v in 0..TOTAL {
        let want = if v % 5 == 0 { 2 } else { 1 };
        assert_eq!(ledger.count_of(v), want, "delivery count of message {v}");
    }
    let stats = q.stats();
    assert_eq!((stats.acked, stats.redelivered), (TOTAL, TOTAL / 5));
    assert_eq!((stats.in_flight, stats.ready), (0, 0));
    assert_eq!(q.settled_below().get(), TOTAL);
    assert_eq!(Arc::strong_count(&q), 1, "every handle given back");
}

/// Owned deliveries are detached on the receiving thread and their tags
/// acked on another. With a prefetch limit of 2, the run finishes only if
/// each detach lets go of its entry and each ack by tag frees it; a
/// second ack of each tag is refused.
#[test]
fn detached_owned_deliveries_are_acked_by_tag_from_another_thread() {
    const TOTAL: u64 = 2_000;
    let q = queue(8, 2);
    let ledger = SettleLedger::new(TOTAL);
    let refused = Arc::new(AtomicU64::new(0));
    let producer = produce(&q, TOTAL);
    let (tx, rx) = mpsc::channel::<(Tag, u64)>();
    let acker = {
        let (q, ledger, refused) = (Arc::clone(&q), Arc::clone(&ledger), Arc::clone(&refused));
        thread::spawn(move || {
            for (tag, v) in rx {
                q.ack(tag).unwrap();
                ledger.settled_on(v, 1);
                if q.ack(tag) == Err(AckError::AlreadySettled) {
                    refused.fetch_add(1, SeqCst);
                }
            }
        })
    };
    dispatch_until_acked(&q, &ledger, TOTAL, |d| {
        assert_eq!(d.delivery_count(), 1);
        let v = *d;
        tx.send((d.detach(), v)).unwrap();
    });
    drop(tx);
    acker.join().unwrap();
    q.close();
    assert_eq!(producer.join().unwrap(), TOTAL, "every message published");
    ledger.assert_each_once();
    assert_eq!(refused.load(SeqCst), TOTAL, "every second ack refused");
    let stats = q.stats();
    assert_eq!((stats.acked, stats.redelivered), (TOTAL, 0));
    assert_eq!((stats.in_flight, stats.ready), (0, 0));
    assert_eq!(q.settled_below().get(), TOTAL);
    assert_eq!(Arc::strong_count(&q), 1, "every handle given back");
}

/// What the thread holding an owned delivery did, in order.
#[derive(Debug, PartialEq)]
struct HolderReport {
    /// The message as read after its lease expired and it was redelivered.
    value_after_expiry: usize,
    /// A heartbeat after that.
    late_extension: Result<(), AckError>,
    /// The late ack.
    late_ack: Result<(), AckError>,
}

/// A thread holds an owned delivery under a 10 s lease on a `ManualClock`
/// and extends it to 20 s: 15 s on, a forced scan requeues nothing; 25 s
/// on, the lease has expired and the message is delivered again (count 2)
/// and acked on a third thread. The expired holder can still read the
/// message, its heartbeat and ack are refused as stale, and the message is
/// dropped once, only after that holder let go.
#[test]
fn owned_delivery_held_on_another_thread_expires_and_is_redelivered() {
    const LEASE: Duration = Duration::from_secs(10);
    let clock = ManualClock::new();
    let drops = Drops::new(1);
    let q = Arc::new(
        AckQueue::builder()
            .capacity(2)
            .max_in_flight(2)
            .lease(LEASE)
            .clock(clock.clone())
            .build()
            .unwrap(),
    );
    q.try_publish(drops.make(0)).unwrap();
    let d = q.try_receive_owned().unwrap();
    assert_eq!(d.delivery_count(), 1);
    let (extended_tx, extended_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        extended_tx.send(d.extend_lease(2 * LEASE)).unwrap();
        go_rx.recv().unwrap();
        HolderReport {
            value_after_expiry: d.id,
            late_extension: d.extend_lease(LEASE),
            late_ack: d.ack(),
        }
    });
    assert_eq!(extended_rx.recv().unwrap(), Ok(()));
    clock.advance(LEASE + LEASE / 2);
    assert_eq!(q.requeue_expired(), 0, "the extension holds the lease");
    clock.advance(LEASE);
    assert_eq!(q.requeue_expired(), 1, "the extended lease expired");
    let again = q.try_receive_owned().expect("the expired message");
    assert_eq!((again.id, again.delivery_count()), (0, 2));
    assert!(again.redelivered());
    thread::spawn(move || again.ack()).join().unwrap().unwrap();
    assert_eq!(drops.of(0), 0, "the expired holder still reads the message");
    go_tx.send(()).unwrap();
    let report = holder.join().unwrap();
    assert_eq!(
        report,
        HolderReport {
            value_after_expiry: 0,
            late_extension: Err(AckError::Stale),
            late_ack: Err(AckError::Stale),
        }
    );
    drops.assert_each_once();
    let stats = q.stats();
    assert_eq!((stats.expired, stats.redelivered, stats.acked), (1, 1, 1));
    assert_eq!((stats.in_flight, stats.ready), (0, 0));
    assert_eq!(q.settled_below().get(), 1);
    assert_eq!(Arc::strong_count(&q), 1, "every handle given back");
}

/// An owned delivery outlives every other handle of its queue, on a thread
/// of its own. When it is dropped unsettled it requeues its message, and
/// its handle, the last one, drops the queue: every message left in it
/// (never delivered, requeued, delayed, dead-lettered and untaken, in
/// flight by a detached tag, and the requeued one itself) is dropped
/// exactly once, and the acked one is not dropped again.
#[test]
fn last_handle_dropped_by_an_owned_delivery_drops_every_message_once() {
    const N: usize = 8;
    let drops = Drops::new(N);
    let clock = ManualClock::new();
    let q = Arc::new(
        AckQueue::builder()
            .capacity(N)
            .max_in_flight(N)
            .clock(clock)
            .build()
            .unwrap(),
    );
    for id in 0..N {
        q.try_publish(drops.make(id)).unwrap();
    }
    // 0: acked (dropped now). 1: requeued. 2: delayed for an hour. 3:
    // dead-lettered, never taken. 4: detached, in flight. 5: the owned
    // delivery that outlives the queue's other handles. 6, 7: never
    // delivered.
    q.try_receive_owned().unwrap().ack().unwrap();
    assert_eq!(drops.of(0), 1);
    let requeued = q.try_receive_owned().unwrap();
    q.try_receive_owned()
        .unwrap()
        .nack_after(Duration::from_secs(3600))
        .unwrap();
    q.try_receive_owned().unwrap().nack(false).unwrap();
    let _tag = q.try_receive_owned().unwrap().detach();
    let last = q.try_receive_owned().unwrap();
    assert_eq!((requeued.id, last.id), (1, 5));
    requeued.nack(true).unwrap();
    let stats = q.stats();
    assert_eq!(
        (stats.in_flight, stats.ready, stats.dead_letters),
        (2, 4, 1),
        "4 and 5 in flight; 1, 2, 6, 7 ready; 3 dead"
    );
    assert!((1..N).all(|id| drops.of(id) == 0));

    let weak = Arc::downgrade(&q);
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        go_rx.recv().unwrap();
        drop(last);
    });
    drop(q);
    assert!(
        weak.upgrade().is_some(),
        "the owned delivery keeps the queue"
    );
    assert!((1..N).all(|id| drops.of(id) == 0), "nothing dropped yet");
    go_tx.send(()).unwrap();
    holder.join().unwrap();
    assert!(
        weak.upgrade().is_none(),
        "the last handle dropped the queue"
    );
    drops.assert_each_once();
}

/// The last handle is an expired holder of a message that was redelivered
/// and acked meanwhile: the ack settles it but cannot drop it while the
/// expired holder reads it; that holder's drop, on another thread, lets
/// go of it (dropping it once) and then drops the queue.
#[test]
fn last_handle_an_expired_holder_of_an_acked_message_drops_it_once() {
    const LEASE: Duration = Duration::from_secs(1);
    let drops = Drops::new(2);
    let clock = ManualClock::new();
    let q = Arc::new(
        AckQueue::builder()
            .capacity(2)
            .max_in_flight(2)
            .lease(LEASE)
            .clock(clock.clone())
            .build()
            .unwrap(),
    );
    q.try_publish(drops.make(0)).unwrap();
    q.try_publish(drops.make(1)).unwrap();
    let expired = q.try_receive_owned().unwrap();
    assert_eq!(expired.id, 0);
    clock.advance(2 * LEASE);
    assert_eq!(q.requeue_expired(), 1);
    let again = q.try_receive_owned().unwrap();
    assert_eq!((again.id, again.delivery_count()), (0, 2));
    again.ack().unwrap();
    assert_eq!(drops.of(0), 0, "the expired holder still reads it");
    let weak = Arc::downgrade(&q);
    drop(q);
    thread::spawn(move || {
        assert_eq!(expired.id, 0);
        drop(expired);
    })
    .join()
    .unwrap();
    assert!(
        weak.upgrade().is_none(),
        "the last handle dropped the queue"
    );
    drops.assert_each_once();
}

/// The queue's other handle and an owned delivery (unsettled, so its drop
/// requeues) are dropped at once on two threads, many times over, so that
/// either may be the last: every message is dropped exactly once either
/// way.
#[test]
fn owned_delivery_drop_racing_the_other_handles_drop_drops_every_message_once() {
    const ROUNDS: usize = 300;
    for _ in 0..ROUNDS {
        let drops = Drops::new(3);
        let q = Arc::new(
            AckQueue::builder()
                .capacity(4)
                .max_in_flight(4)
                .build()
                .unwrap(),
        );
        for id in 0..3 {
            q.try_publish(drops.make(id)).unwrap();
        }
        let a = q.try_receive_owned().unwrap();
        let b = q.try_receive_owned().unwrap();
        b.nack(true).unwrap();
        let start = Arc::new(Barrier::new(2));
        let holder = {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                drop(a);
            })
        };
        start.wait();
        drop(q);
        holder.join().unwrap();
        drops.assert_each_once();
    }
}

#[test]
fn owned_deliveries_are_batch_acked_on_another_thread() {
    // Owned deliveries received here are acked as one batch on another
    // thread, with a tag acked on its own beforehand in the middle: that
    // one is refused at its index, every other one is acked once, and no
    // guard requeues anything when the batch drops it.
    let q = Arc::new(
        AckQueue::builder()
            .capacity(8)
            .max_in_flight(8)
            .build()
            .unwrap(),
    );
    for i in 1..=5_u64 {
        q.try_publish(i).unwrap();
    }
    let deliveries: Vec<OwnedDelivery<u64>> =
        (0..5).map(|_| q.try_receive_owned().unwrap()).collect();
    q.ack(deliveries[2].tag()).unwrap();
    let queue = q.clone();
    let acked = thread::spawn(move || {
        let mut errors = Vec::with_capacity(5);
        let sum: u64 = deliveries.iter().map(|d| **d).sum();
        let n = queue.ack_batch(deliveries, &mut errors);
        (n, errors, sum)
    });
    let (n, errors, sum) = acked.join().unwrap();
    assert_eq!(sum, 15);
    assert_eq!(n, 4);
    assert_eq!(errors, [(2, AckError::AlreadySettled)]);
    let stats = q.stats();
    assert_eq!((stats.acked, stats.redelivered), (5, 0));
    assert!(q.try_receive().is_none(), "nothing requeued");
    assert_eq!(q.settled_below().get(), 5);
}
