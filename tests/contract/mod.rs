//! The contract of the ack API (`ackring::api`), written once and run
//! against every backend: `tests/ack_contract.rs` runs it on the
//! in-process `AckQueue`, `tests/amqp_contract.rs` on a RabbitMQ queue.
//!
//! Each check is a function generic over a [`Fixture`], which makes fresh
//! queues for the backend. `contract_suite!` writes one `#[test]` per
//! check for a fixture. A check reads the backend's capabilities where
//! the backends may differ, and asserts exactly what they say.
//!
//! Messages are `Vec<u8>`: the numbers `0..n` as text, so a payload names
//! its message.

// Each test binary uses every check, but not every helper of a fixture.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use ackring::api::{Acknowledge, Capabilities, Consumer, Error, Producer, Queue, Scope};
use ackring::{AckError, DeadReason};

pub use crate::common::payload::{msg, num};
use crate::common::wait::wait_for;

/// What a check asks of a queue: both sides of the API, shareable across
/// threads.
pub trait Handle:
    Producer<Message = Vec<u8>> + Consumer<Message = Vec<u8>> + Queue<Message = Vec<u8>> + Send + Sync
{
}

impl<H> Handle for H where
    H: Producer<Message = Vec<u8>>
        + Consumer<Message = Vec<u8>>
        + Queue<Message = Vec<u8>>
        + Send
        + Sync
{
}

/// How a check wants its queue.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// The prefetch limit.
    pub prefetch: u16,
    /// Deliveries before a message goes to the dead letters; `None` for
    /// no limit.
    pub max_deliveries: Option<u32>,
    /// The queue's message time to live, if any.
    pub ttl: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            prefetch: 16,
            max_deliveries: None,
            ttl: None,
        }
    }
}

/// Makes queues of one backend for the checks.
pub trait Fixture: Sync {
    /// A handle on a queue.
    type Q: Handle;

    /// A new, empty queue of its own.
    fn queue(&self, config: Config) -> Self::Q;

    /// Another handle on `q`'s queue: in process the same queue, over
    /// AMQP another connection to it.
    fn another(&self, q: &Self::Q) -> Self::Q;

    /// Another handle on `q`'s queue whose connection the returned call
    /// severs abruptly and for good (its socket closed under it, no
    /// goodbye to the broker, no new connection accepted): the handle's
    /// process crashed. In process there is no connection: the call does
    /// nothing, and the crash of the thread that held the deliveries is
    /// what returns them.
    fn killable(&self, q: &Self::Q) -> (Self::Q, Box<dyn Fn() + Send + Sync>);

    /// Another handle on `q`'s queue whose connection the returned call
    /// severs abruptly, each time it is called; the handle may connect
    /// again. In process there is no connection: the call does nothing.
    fn severable(&self, q: &Self::Q) -> (Self::Q, Box<dyn Fn() + Send + Sync>);

    /// How long to wait for something that must come.
    fn patience(&self) -> Duration {
        Duration::from_secs(10)
    }

    /// How long to wait to be sure that something does not come.
    fn quiet(&self) -> Duration {
        Duration::from_millis(300)
    }
}

/// Publishes messages `range`, checking each one is confirmed.
fn publish_all<Q: Handle>(q: &Q, range: std::ops::Range<usize>) {
    for i in range {
        q.publish(msg(i)).expect("publish confirmed");
    }
}

/// Receives one delivery that must come.
fn must_receive<'q, F: Fixture>(fx: &F, q: &'q F::Q) -> <F::Q as Consumer>::Delivery<'q> {
    q.receive_timeout(fx.patience())
        .expect("receive")
        .expect("a delivery within the patience")
}

/// Checks that nothing is delivered for a while.
fn nothing_comes<F: Fixture>(fx: &F, q: &F::Q, what: &str) {
    if let Some(d) = q.receive_timeout(fx.quiet()).expect("receive") {
        panic!(
            "{what}: got message {:?} (delivery {})",
            String::from_utf8_lossy(&d),
            d.delivery_count()
        );
    }
}

/// Drains what is left and closes: the tidy end of a check.
fn finish<Q: Handle>(q: &Q) {
    q.close();
    let _ = q.drain();
}

/// A message goes in and comes out once, first delivery, then is settled
/// for good; the async forms and the batch receive do the same.
pub fn round_trip<F: Fixture>(fx: &F) {
    let q = fx.queue(Config::default());
    let seq = q.publish(b"hello".to_vec()).expect("publish");
    let d = must_receive(fx, &q);
    assert_eq!(&**d, b"hello");
    assert_eq!(d.seq(), Some(seq));
    assert_eq!(d.delivery_count(), 1);
    assert!(!d.redelivered());
    d.ack().expect("ack");
    nothing_comes(fx, &q, "an acked message came back");

    futures::executor::block_on(async {
        let seq = q.publish_async(b"async".to_vec()).await.expect("publish");
        let d = q.receive_async().await.expect("receive");
        assert_eq!((&**d, d.seq()), (&b"async"[..], Some(seq)));
        d.ack().expect("ack");
    });

    publish_all(&q, 0..3);
    let mut out = Vec::new();
    let mut got = 0;
    while got < 3 {
        let n = q
            .receive_batch_timeout(8, &mut out, fx.patience())
            .expect("batch receive");
        assert!(n > 0, "the batch receive found nothing");
        got += n;
    }
    let nums: Vec<usize> = out.iter().map(|d| num(d)).collect();
    assert_eq!(nums, [0, 1, 2]);
    assert_eq!(q.ack_batch(out, &mut Vec::new()), 3);

    publish_all(&q, 3..5);
    let mut out = Vec::new();
    futures::executor::block_on(async {
        while out.len() < 2 {
            q.receive_batch_async(8, &mut out).await.expect("receive");
        }
    });
    assert_eq!(out.iter().map(|d| num(d)).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(q.ack_batch(out, &mut Vec::new()), 2);
    nothing_comes(fx, &q, "an acked message came back");
    finish(&q);
}

/// Sequence numbers are consecutive, one per confirmed publish,
/// concurrent async publishes included; one consumer receives the
/// messages in sequence order, each with its sequence number.
pub fn sequence_order<F: Fixture>(fx: &F) {
    let q = fx.queue(Config {
        prefetch: 100,
        ..Config::default()
    });
    let mut published: Vec<(u64, usize)> = (0..20)
        .map(|i| (q.publish(msg(i)).expect("publish").get(), i))
        .collect();
    for pair in published.windows(2) {
        assert_eq!(pair[1].0, pair[0].0 + 1, "one publish after the other");
    }
    // Forty at once: each future resolves at its own confirmation.
    let more = futures::executor::block_on(futures::future::join_all(
        (20..60).map(|i| q.publish_async(msg(i))),
    ));
    published.extend(
        more.into_iter()
            .enumerate()
            .map(|(i, r)| (r.expect("publish").get(), 20 + i)),
    );
    published.sort_unstable();
    let first = published[0].0;
    for (i, (seq, _)) in published.iter().enumerate() {
        assert_eq!(*seq, first + i as u64, "consecutive sequence numbers");
    }
    for (seq, i) in &published {
        let d = must_receive(fx, &q);
        assert_eq!(num(&d), *i, "delivered in sequence order");
        assert_eq!(d.seq().map(|s| s.get()), Some(*seq));
        d.ack().expect("ack");
    }
    finish(&q);
}

/// Each nack with requeue delivers the message again with its count one
/// higher.
pub fn nack_requeue_counts<F: Fixture>(fx: &F) {
    let q = fx.queue(Config::default());
    publish_all(&q, 0..1);
    for count in 1..=4 {
        let d = must_receive(fx, &q);
        assert_eq!(num(&d), 0);
        assert_eq!(d.delivery_count(), count);
        assert_eq!(d.redelivered(), count > 1);
        if count < 4 {
            d.nack(true).expect("nack");
        } else {
            d.ack().expect("ack");
        }
    }
    nothing_comes(fx, &q, "an acked message came back");
    finish(&q);
}

/// A delivery dropped unsettled is delivered again, counted.
pub fn dropped_redelivered<F: Fixture>(fx: &F) {
    let q = fx.queue(Config::default());
    publish_all(&q, 0..2);
    {
        let a = must_receive(fx, &q);
        assert_eq!((num(&a), a.delivery_count()), (0, 1));
        // dropped here, unsettled
    }
    let mut seen = Vec::new();
    for _ in 0..2 {
        let d = must_receive(fx, &q);
        seen.push((num(&d), d.delivery_count(), d.redelivered()));
        d.ack().expect("ack");
    }
    seen.sort();
    assert_eq!(seen, [(0, 2, true), (1, 1, false)]);
    nothing_comes(fx, &q, "an acked message came back");
    finish(&q);
}

/// With `max_deliveries` k, a message nacked with requeue every time is
/// delivered exactly k times, then is a dead letter with reason
/// `MaxDeliveries`; one nacked without requeue is a dead letter at once
/// with reason `Rejected`.
pub fn max_deliveries_then_dead<F: Fixture>(fx: &F) {
    let k = 3;
    let q = fx.queue(Config {
        max_deliveries: Some(k),
        ..Config::default()
    });
    let caps = q.capabilities();
    publish_all(&q, 0..1);
    for count in 1..=k {
        let d = must_receive(fx, &q);
        assert_eq!((num(&d), d.delivery_count()), (0, count));
        d.nack(true).expect("nack");
    }
    nothing_comes(fx, &q, "delivered past max_deliveries");
    let dead = q
        .receive_dead_letter_timeout(fx.patience())
        .expect("dead letters")
        .expect("a dead letter");
    assert_eq!(num(&dead), 0);
    assert_eq!(dead.reason(), DeadReason::MaxDeliveries);
    assert_eq!(dead.delivery_count(), k);

    publish_all(&q, 1..2);
    let d = must_receive(fx, &q);
    assert_eq!((num(&d), d.delivery_count()), (1, 1));
    d.nack(false).expect("reject");
    nothing_comes(fx, &q, "a rejected message came back");
    let dead = q
        .receive_dead_letter_timeout(fx.patience())
        .expect("dead letters")
        .expect("a dead letter");
    assert_eq!(num(&dead), 1);
    assert_eq!(dead.reason(), DeadReason::Rejected);
    let expected = if caps.dead_letter_counts { 1 } else { 0 };
    assert_eq!(dead.delivery_count(), expected);
    assert!(q
        .receive_dead_letter_timeout(fx.quiet())
        .expect("dead letters")
        .is_none());
    finish(&q);
}

/// With a queue-wide time to live, a message nobody received in time goes
/// to the dead letters with reason `Expired`; one received in time is
/// not expired while held (the time to live ends at the first delivery).
/// Prefetch 1, so that over AMQP the broker keeps the later messages
/// while the first is held (a message sent ahead to a consumer counts as
/// delivered).
pub fn ttl_expires_waiting_messages<F: Fixture>(fx: &F) {
    let ttl = Duration::from_millis(300);
    let q = fx.queue(Config {
        prefetch: 1,
        ttl: Some(ttl),
        ..Config::default()
    });
    if !q.capabilities().message_ttl {
        finish(&q);
        return;
    }
    publish_all(&q, 0..1);
    let held = must_receive(fx, &q);
    publish_all(&q, 1..3);
    thread::sleep(ttl * 2);
    assert_eq!(num(&held), 0);
    held.ack()
        .expect("a held message outlives its time to live");
    nothing_comes(fx, &q, "an expired message was delivered");
    let mut dead = BTreeSet::new();
    for _ in 0..2 {
        let d = q
            .receive_dead_letter_timeout(fx.patience())
            .expect("dead letters")
            .expect("an expired dead letter");
        assert_eq!(d.reason(), DeadReason::Expired);
        assert_eq!(d.delivery_count(), 0, "never delivered");
        dead.insert(num(&d));
    }
    assert_eq!(dead, BTreeSet::from([1, 2]));
    finish(&q);
}

/// Acks in any order settle exactly the messages acked; a batch ack of
/// deliveries that are not the handle's oldest settles only them.
pub fn out_of_order_acks<F: Fixture>(fx: &F) {
    let q = fx.queue(Config::default());
    publish_all(&q, 0..5);
    let mut held: Vec<_> = (0..5).map(|_| Some(must_receive(fx, &q))).collect();
    for i in [3, 1, 4, 0, 2] {
        let d = held[i].take().expect("held");
        assert_eq!(num(&d), i);
        d.ack().expect("ack out of order");
    }
    nothing_comes(fx, &q, "an acked message came back");

    // Six held; a batch ack of 1, 3, 5 must not settle 0, 2, 4.
    publish_all(&q, 5..11);
    let mut held: Vec<_> = (0..6).map(|_| must_receive(fx, &q)).collect();
    let odd: Vec<_> = (0..3).map(|i| held.remove(i + 1)).collect();
    assert_eq!(odd.iter().map(|d| num(d)).collect::<Vec<_>>(), [6, 8, 10]);
    assert_eq!(q.ack_batch(odd, &mut Vec::new()), 3);
    drop(held); // requeues 5, 7, 9
    let mut again: Vec<_> = (0..3).map(|_| must_receive(fx, &q)).collect();
    again.sort_by_key(|d| num(d));
    let seen: Vec<_> = again.iter().map(|d| (num(d), d.delivery_count())).collect();
    assert_eq!(seen, [(5, 2), (7, 2), (9, 2)]);
    // A batch of everything held: over AMQP one ack with `multiple`.
    assert_eq!(q.ack_batch(again, &mut Vec::new()), 3);
    nothing_comes(fx, &q, "an acked message came back");
    finish(&q);
}

/// A consumer never holds more unsettled deliveries than the prefetch
/// limit; a settle lets the next one through.
pub fn prefetch_limit<F: Fixture>(fx: &F) {
    let prefetch = 4;
    let q = fx.queue(Config {
        prefetch,
        ..Config::default()
    });
    publish_all(&q, 0..12);
    let mut held: Vec<_> = (0..prefetch).map(|_| must_receive(fx, &q)).collect();
    nothing_comes(fx, &q, "past the prefetch limit");
    let mut out = Vec::new();
    assert_eq!(
        q.receive_batch_timeout(16, &mut out, fx.quiet())
            .expect("receive"),
        0,
        "a batch receive past the prefetch limit"
    );
    held.remove(0).ack().expect("ack");
    held.push(must_receive(fx, &q));
    nothing_comes(fx, &q, "past the prefetch limit after one ack");
    // Settle all and take the rest in batches: never more than the limit.
    let mut taken = held.len() + 1; // and the one acked above
    assert_eq!(q.ack_batch(held, &mut Vec::new()), prefetch as usize);
    while taken < 12 {
        let mut out = Vec::new();
        let n = q
            .receive_batch_timeout(16, &mut out, fx.patience())
            .expect("receive");
        assert!(n > 0, "messages left but none delivered");
        // A batch stops at the limit; what comes next is what the broker
        // (or the queue) let through.
        assert!(n <= prefetch as usize, "a batch of {n} past the limit");
        nothing_comes_while_holding(fx, &q, n, prefetch as usize);
        taken += n;
        assert_eq!(q.ack_batch(out, &mut Vec::new()), n);
    }
    finish(&q);
}

/// With `held` deliveries unsettled, at most `limit - held` more come.
fn nothing_comes_while_holding<F: Fixture>(fx: &F, q: &F::Q, held: usize, limit: usize) {
    let mut extra = Vec::new();
    while let Some(d) = q
        .receive_timeout(Duration::from_millis(50))
        .expect("receive")
    {
        extra.push(d);
        assert!(
            held + extra.len() <= limit,
            "{} unsettled, limit {limit}",
            held + extra.len()
        );
    }
    let _ = fx;
    drop(extra); // requeued
}

/// Two consumers on one queue get distinct messages, and together all of
/// them.
pub fn competing_consumers<F: Fixture>(fx: &F) {
    let n = 200;
    let q = fx.queue(Config {
        prefetch: 8,
        ..Config::default()
    });
    let other = fx.another(&q);
    publish_all(&q, 0..n);
    let done = AtomicUsize::new(0);
    let seen: [Mutex<Vec<usize>>; 2] = Default::default();
    let patience = fx.patience();
    thread::scope(|s| {
        for (handle, seen) in [&q, &other].into_iter().zip(&seen) {
            let done = &done;
            s.spawn(move || {
                let mut last = (done.load(SeqCst), Instant::now());
                while done.load(SeqCst) < n {
                    let Some(d) = handle
                        .receive_timeout(Duration::from_millis(100))
                        .expect("receive")
                    else {
                        // A lost message would leave the count short for
                        // ever: give up once it stood still too long.
                        let now = done.load(SeqCst);
                        if now != last.0 {
                            last = (now, Instant::now());
                        } else if last.1.elapsed() > patience {
                            break;
                        }
                        continue;
                    };
                    assert!(!d.redelivered(), "message {} came twice", num(&d));
                    seen.lock().unwrap().push(num(&d));
                    thread::sleep(Duration::from_micros(200));
                    d.ack().expect("ack");
                    done.fetch_add(1, SeqCst);
                }
            });
        }
    });
    let a = seen[0].lock().unwrap().clone();
    let b = seen[1].lock().unwrap().clone();
    let sa: BTreeSet<_> = a.iter().copied().collect();
    let sb: BTreeSet<_> = b.iter().copied().collect();
    assert_eq!(sa.len(), a.len(), "a consumer got a message twice");
    assert_eq!(sb.len(), b.len(), "a consumer got a message twice");
    assert!(sa.is_disjoint(&sb), "both consumers got the same message");
    assert_eq!(sa.union(&sb).count(), n, "a message was lost");
    assert!(
        !a.is_empty() && !b.is_empty(),
        "one consumer got everything"
    );
    finish(&other);
    finish(&q);
}

/// Close, then drain: every message is acked, handed back by the drain, or
/// still held by a live delivery, whose ack then settles it. Closed
/// handles refuse publishes; receives report the close once nothing is
/// left for them.
pub fn close_and_drain<F: Fixture>(fx: &F) {
    let n = 10;
    let q = fx.queue(Config::default());
    let caps = q.capabilities();
    publish_all(&q, 0..n);
    let acked = must_receive(fx, &q);
    let requeued = must_receive(fx, &q);
    let held = must_receive(fx, &q);
    let acked_num = num(&acked);
    acked.ack().expect("ack");
    requeued.nack(true).expect("nack");
    q.close();
    assert!(q.is_closed());
    let refused = q.publish(msg(99)).expect_err("publish after close");
    assert!(
        matches!(refused.error(), Error::Closed),
        "{:?}",
        refused.error()
    );
    assert_eq!(refused.into_inner(), msg(99));
    let drained = q.drain().expect("drain");
    assert!(
        matches!(q.receive_timeout(fx.quiet()), Err(Error::Closed)),
        "a receive after close and drain"
    );
    let held_num = num(&held);
    held.ack()
        .expect("a held delivery is acked after the close");

    let mut all: Vec<usize> = drained.iter().map(|p| num(p)).collect();
    all.push(acked_num);
    all.push(held_num);
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>(), "lost or doubled");
    if caps.close == Scope::Handle {
        // The queue itself is open and empty.
        let other = fx.another(&q);
        nothing_comes(fx, &other, "a message left after the drain");
        other.publish(msg(100)).expect("publish on another handle");
        assert_eq!(num(&must_receive(fx, &other)), 100);
        finish(&other);
    }
}

/// A consumer whose connection dies while it holds deliveries (in
/// process: whose thread crashes) loses none of them: another consumer
/// gets each again, marked redelivered.
pub fn killed_connection_redelivers<F: Fixture>(fx: &F) {
    let q = fx.queue(Config::default());
    publish_all(&q, 0..3);
    let (victim, kill) = fx.killable(&q);
    let crashed = thread::scope(|s| {
        s.spawn(|| {
            let held: Vec<_> = (0..3).map(|_| must_receive(fx, &victim)).collect();
            assert_eq!(held.iter().map(|d| num(d)).collect::<Vec<_>>(), [0, 1, 2]);
            kill();
            // The crash: unwinding drops the deliveries (over AMQP their
            // requeue has no connection left to go through).
            panic::resume_unwind(Box::new("consumer crashed"));
        })
        .join()
    });
    assert!(crashed.is_err());
    drop(victim);
    let mut again: Vec<_> = (0..3)
        .map(|_| {
            let d = must_receive(fx, &q);
            (num(&d), d.delivery_count(), d.redelivered(), d)
        })
        .collect();
    again.sort_by_key(|t| t.0);
    let seen: Vec<_> = again.iter().map(|t| (t.0, t.1, t.2)).collect();
    assert_eq!(seen, [(0, 2, true), (1, 2, true), (2, 2, true)]);
    for (.., d) in again {
        d.ack().expect("ack");
    }
    nothing_comes(fx, &q, "an acked message came back");
    finish(&q);
}

/// A producer and a consumer whose connections are severed twice while
/// messages flow both ways (in process there is no connection, and the
/// flow goes on): every publish is confirmed, and every message is
/// consumed at least once, none lost. A message may come twice (its
/// confirmation or its ack lost with the connection); the duplicates are
/// counted and printed.
pub fn severed_under_load_loses_nothing<F: Fixture>(fx: &F) {
    let n = 400;
    let q = fx.queue(Config {
        prefetch: 8,
        ..Config::default()
    });
    let (producer, sever_producer) = fx.severable(&q);
    let (consumer, sever_consumer) = fx.severable(&q);
    let published = AtomicUsize::new(0);
    let distinct = AtomicUsize::new(0);
    let stale = AtomicUsize::new(0);
    let received = Mutex::new(Vec::new());
    let patience = fx.patience();
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..n {
                producer
                    .publish(msg(i))
                    .expect("a publish is confirmed across severed connections");
                published.fetch_add(1, SeqCst);
            }
        });
        s.spawn(|| {
            let mut seen = BTreeSet::new();
            let mut last = Instant::now();
            // A lost message would leave the count short for ever: give
            // up once it stood still too long.
            while seen.len() < n && last.elapsed() < patience * 3 {
                let Some(d) = consumer
                    .receive_timeout(Duration::from_millis(100))
                    .expect("a receive waits through severed connections")
                else {
                    continue;
                };
                let i = num(&d);
                received.lock().unwrap().push(i);
                if seen.insert(i) {
                    distinct.fetch_add(1, SeqCst);
                    last = Instant::now();
                }
                match d.ack() {
                    Ok(()) => {}
                    // Its connection was severed: it comes again.
                    Err(Error::Ack(AckError::Stale)) => {
                        stale.fetch_add(1, SeqCst);
                    }
                    Err(e) => panic!("ack of message {i}: {e}"),
                }
            }
        });
        // Each time while messages are being published and consumed.
        for round in 1..=2 {
            let progressed = wait_for(patience * 3, || {
                published.load(SeqCst) >= round * n / 3 && distinct.load(SeqCst) >= round * n / 4
            });
            assert!(progressed, "no progress before severing round {round}");
            sever_producer();
            sever_consumer();
        }
    });
    // Copies still in the queue are duplicates too.
    producer.close();
    consumer.close();
    let left = consumer.drain().expect("drain");
    let mut all = received.into_inner().unwrap();
    all.extend(left.iter().map(|p| num(p)));
    let distinct: BTreeSet<usize> = all.iter().copied().collect();
    let missing: Vec<usize> = (0..n).filter(|i| !distinct.contains(i)).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert_eq!(distinct.len(), n, "a message that was never published");
    eprintln!(
        "severed twice under load: published {n}, consumed {} distinct, {} duplicates ({} stale acks)",
        distinct.len(),
        all.len() - distinct.len(),
        stale.load(SeqCst)
    );
    finish(&q);
}

/// A delivery held while its handle's connection is severed: once the
/// handle works again, its ack is either refused as stale, and the
/// message comes again marked redelivered, or (in process, where there is
/// no connection) it settles the message, which then never comes again.
pub fn held_across_a_severed_connection<F: Fixture>(fx: &F) {
    let q = fx.queue(Config::default());
    let (h, sever) = fx.severable(&q);
    publish_all(&q, 0..1);
    let d = must_receive(fx, &h);
    assert_eq!((num(&d), d.delivery_count()), (0, 1));
    sever();
    // The handle works again: a publish through it is confirmed.
    h.publish(msg(1))
        .expect("a publish after the connection was severed");
    match d.ack() {
        Ok(()) => {
            let d = must_receive(fx, &h);
            assert_eq!((num(&d), d.redelivered()), (1, false));
            d.ack().expect("ack");
        }
        Err(Error::Ack(AckError::Stale)) => {
            let mut again: Vec<_> = (0..2)
                .map(|_| {
                    let d = must_receive(fx, &h);
                    let seen = (num(&d), d.redelivered());
                    d.ack().expect("ack on the new connection");
                    seen
                })
                .collect();
            again.sort_unstable();
            assert_eq!(again, [(0, true), (1, false)]);
        }
        Err(e) => panic!("ack of a delivery held across the severed connection: {e}"),
    }
    nothing_comes(fx, &h, "a settled message came back");
    finish(&h);
    finish(&q);
}

/// The capabilities are self-consistent.
pub fn capabilities_consistent<F: Fixture>(fx: &F) {
    let q = fx.queue(Config::default());
    let caps: Capabilities = q.capabilities();
    // A watermark implies per-message confirmations.
    assert!(!caps.settle_watermark || caps.settle_confirmations);
    finish(&q);
}

/// One `#[test]` per check, for the fixture that `$fixture` makes (an
/// expression evaluated in each test; it may return early, after a
/// message, when it has no server to test against).
#[macro_export]
macro_rules! contract_suite {
    ($fixture:expr) => {
        $crate::contract_suite!(@tests $fixture;
            round_trip,
            sequence_order,
            nack_requeue_counts,
            dropped_redelivered,
            max_deliveries_then_dead,
            ttl_expires_waiting_messages,
            out_of_order_acks,
            prefetch_limit,
            competing_consumers,
            close_and_drain,
            killed_connection_redelivers,
            severed_under_load_loses_nothing,
            held_across_a_severed_connection,
            capabilities_consistent,
        );
    };
    (@tests $fixture:expr; $($check:ident,)*) => {
        $(
            #[test]
            fn $check() {
                let Some(fixture) = $fixture else { return };
                contract::$check(&fixture);
            }
        )*
    };
}
