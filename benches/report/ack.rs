//! publish → receive → ack, seen as a `Peer` whose `recv` is "receive one
//! delivery, ack it, return its value", so the throughput and one-way
//! latency loops measure the ack layers unchanged: `ackring::AckQueue`
//! (with its blocking `publish` / `receive`, under each wait strategy),
//! and the baselines.
//!
//! The baselines are what a user would hand-write: a bounded channel (or a
//! crossbeam `ArrayQueue`) for ready messages plus a `Mutex<HashMap>` of
//! in-flight messages keyed by delivery tag (the message stays there, so
//! it could be redelivered, until it is acked). The channel's form has the
//! channel's blocking calls, which is what a user's pool calls; the
//! `ArrayQueue` form has none. With a lease, `receive` also stamps a
//! deadline from the clock; nothing scans for expired leases (a reaper
//! thread would only slow the baseline down further).
//!
//! In batches (`Peer::BATCH`, the try-loop's batches of 16), a batch
//! `recv` is `AckQueue::try_receive_batch` then one `ack_batch` of the
//! whole batch; the baseline's batch form pops its ready messages, inserts
//! them into the map under one lock and removes them under one more.
//! Publishes stay single calls (`AckQueue` has no batch publish; the
//! baseline's producers push one at a time as well).
//!
//! The *ack floor* bounds any design that acks each message with an atomic
//! operation on the message itself: a bounded ring (per-slot sequences, as
//! `Ring`) whose receive claims a slot without freeing it, and whose ack
//! is one CAS on the slot's state, after which the slot is freed for the
//! next lap. Nothing else: no wake-ups (spinning `try_` calls with
//! backoff), no prefetch limit, no redelivery, no tags, no statistics. What
//! it costs over raw `Ring` is the least an ack costs; `AckQueue` pays
//! that plus its guarantees.

use crate::peers::{shared, Ends, Peer};
use ackring::{AckQueue, Delivery, PushError, WaitStrategy};
use crossbeam_utils::CachePadded;
use std::cell::{Cell, UnsafeCell};
use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The lease used by the "with lease" variants: long enough never to
/// expire during a run, so only its bookkeeping is measured.
pub const LEASE: Duration = Duration::from_secs(60);

/// Ready queue + in-flight map.
pub struct Tracker {
    ready: crossbeam_queue::ArrayQueue<u64>,
    in_flight: Mutex<HashMap<u64, (u64, Option<Instant>)>>,
    next_tag: AtomicU64,
    lease: Option<Duration>,
}

impl Tracker {
    fn new(cap: usize, lease: Option<Duration>) -> Self {
        Tracker {
            ready: crossbeam_queue::ArrayQueue::new(cap),
            in_flight: Mutex::new(HashMap::with_capacity(cap)),
            next_tag: AtomicU64::new(0),
            lease,
        }
    }

    /// Takes a ready message into the in-flight map; returns its tag and
    /// value.
    fn receive(&self) -> Option<(u64, u64)> {
        let msg = self.ready.pop()?;
        // Relaxed: only uniqueness is needed; the map's mutex orders the
        // entry itself.
        let tag = self.next_tag.fetch_add(1, Ordering::Relaxed);
        let deadline = self.lease.map(|lease| Instant::now() + lease);
        let fresh = self
            .in_flight
            .lock()
            .expect("not poisoned")
            .insert(tag, (msg, deadline));
        assert!(fresh.is_none(), "delivery tags are unique");
        Some((tag, msg))
    }

    /// Settles a delivery.
    fn ack(&self, tag: u64) {
        let settled = self.in_flight.lock().expect("not poisoned").remove(&tag);
        assert!(settled.is_some(), "acked an unknown tag");
    }

    /// The batch form: takes up to `max` ready messages into the
    /// in-flight map under one lock, appends them to `out`, then acks them
    /// under one lock; returns how many.
    fn receive_ack_batch(&self, out: &mut Vec<u64>, max: usize) -> usize {
        let start = out.len();
        while out.len() - start < max {
            match self.ready.pop() {
                Some(msg) => out.push(msg),
                None => break,
            }
        }
        let n = out.len() - start;
        if n == 0 {
            return 0;
        }
        // Relaxed: as in `receive`; one range of tags for the batch.
        let first = self.next_tag.fetch_add(n as u64, Ordering::Relaxed);
        let deadline = self.lease.map(|lease| Instant::now() + lease);
        {
            let mut in_flight = self.in_flight.lock().expect("not poisoned");
            for (tag, &msg) in (first..).zip(&out[start..]) {
                let fresh = in_flight.insert(tag, (msg, deadline));
                assert!(fresh.is_none(), "delivery tags are unique");
            }
        }
        let mut in_flight = self.in_flight.lock().expect("not poisoned");
        for tag in first..first + n as u64 {
            assert!(in_flight.remove(&tag).is_some(), "acked an unknown tag");
        }
        n
    }
}

/// Moves values from the front of `buf` with `send` until it refuses
/// one; returns how many moved (the batch form of a queue without batch
/// sends).
fn send_each(buf: &mut Vec<u64>, mut send: impl FnMut(u64) -> bool) -> usize {
    let n = buf.iter().take_while(|&&v| send(v)).count();
    buf.drain(..n);
    n
}

/// The hand-written baseline, without (`L = false`) or with (`L = true`) a
/// lease.
pub struct HandTracker<const L: bool>;

impl<const L: bool> Peer for HandTracker<L> {
    const NAME: &'static str = if L {
        "ArrayQueue + Mutex<HashMap> (lease)"
    } else {
        "ArrayQueue + Mutex<HashMap>"
    };
    const SLUG: &'static str = if L { "tracker-lease" } else { "tracker" };
    const BATCH: bool = true;
    type Tx = Arc<Tracker>;
    type Rx = Arc<Tracker>;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        Some(shared(Tracker::new(cap, L.then_some(LEASE)), p, c))
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        tx.ready.push(v)
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        let (tag, msg) = rx.receive()?;
        rx.ack(tag);
        Some(msg)
    }
    fn try_send_batch(tx: &mut Self::Tx, buf: &mut Vec<u64>) -> usize {
        send_each(buf, |v| tx.ready.push(v).is_ok())
    }
    fn try_recv_batch(rx: &mut Self::Rx, out: &mut Vec<u64>, max: usize) -> usize {
        rx.receive_ack_batch(out, max)
    }
}

/// The bounded channel of the channel tracker.
pub struct ChannelTracker {
    ready_tx: crossbeam_channel::Sender<u64>,
    ready_rx: crossbeam_channel::Receiver<u64>,
    in_flight: Mutex<HashMap<u64, u64>>,
    next_tag: AtomicU64,
}

impl ChannelTracker {
    fn new(cap: usize) -> Self {
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(cap);
        ChannelTracker {
            ready_tx,
            ready_rx,
            in_flight: Mutex::new(HashMap::with_capacity(MAX_IN_FLIGHT)),
            next_tag: AtomicU64::new(0),
        }
    }

    /// Tracks a received message until it is acked: inserts it into the
    /// in-flight map under a new tag, then (the handler done) acks it by
    /// removing it; returns it.
    fn track_and_ack(&self, msg: u64) -> u64 {
        // Relaxed: only uniqueness is needed; the map's mutex orders the
        // entry itself.
        let tag = self.next_tag.fetch_add(1, Ordering::Relaxed);
        let fresh = self
            .in_flight
            .lock()
            .expect("not poisoned")
            .insert(tag, msg);
        assert!(fresh.is_none(), "delivery tags are unique");
        let settled = self.in_flight.lock().expect("not poisoned").remove(&tag);
        settled.expect("acked a tracked tag")
    }
}

/// crossbeam-channel bounded + `Mutex<HashMap>`: the tracker users write
/// around a channel, with the channel's blocking `send` / `recv`.
pub struct ChannelTrackerPeer;

impl Peer for ChannelTrackerPeer {
    const NAME: &'static str = "crossbeam-channel + Mutex<HashMap>";
    const SLUG: &'static str = "channel-tracker";
    const BLOCKING: bool = true;
    type Tx = Arc<ChannelTracker>;
    type Rx = Arc<ChannelTracker>;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        Some(shared(ChannelTracker::new(cap), p, c))
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        tx.ready_tx.try_send(v).map_err(|e| e.into_inner())
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        let msg = rx.ready_rx.try_recv().ok()?;
        Some(rx.track_and_ack(msg))
    }
    fn send(tx: &mut Self::Tx, v: u64) {
        tx.ready_tx.send(v).expect("a receiver lives");
    }
    fn recv(rx: &mut Self::Rx) -> u64 {
        let msg = rx.ready_rx.recv().expect("a sender lives");
        rx.track_and_ack(msg)
    }
}

/// Unacked deliveries the ack-layer runs allow at once: the prefetch of a
/// user's pool (each consumer holds one at a time, so this never binds).
pub const MAX_IN_FLIGHT: usize = 256;

/// `ackring::AckQueue`, without (`L = false`) or with (`L = true`) a
/// lease, its blocking calls waiting under one strategy (`W`: 0 = Spin,
/// 1 = Backoff, 2 = Park, the default), recording latency histograms or
/// not (`M`: `AckQueueBuilder::latency`, off by default).
pub struct AckQueuePeer<const L: bool, const W: u8 = 2, const M: bool = false>;

impl<const L: bool, const W: u8, const M: bool> AckQueuePeer<L, W, M> {
    const STRATEGY: WaitStrategy = match W {
        0 => WaitStrategy::Spin,
        1 => WaitStrategy::Backoff,
        _ => WaitStrategy::Park,
    };
}

impl<const L: bool, const W: u8, const M: bool> Peer for AckQueuePeer<L, W, M> {
    const NAME: &'static str = match (L, W) {
        _ if M => "ackring AckQueue (latency recorded)",
        (false, 0) => "ackring AckQueue (spin)",
        (false, 1) => "ackring AckQueue (backoff)",
        (false, _) => "ackring AckQueue",
        (true, 0) => "ackring AckQueue (lease, spin)",
        (true, 1) => "ackring AckQueue (lease, backoff)",
        (true, _) => "ackring AckQueue (lease)",
    };
    const SLUG: &'static str = match (L, W) {
        _ if M => "ackqueue-latency",
        (false, 0) => "ackqueue-spin",
        (false, 1) => "ackqueue-backoff",
        (false, _) => "ackqueue",
        (true, 0) => "ackqueue-lease-spin",
        (true, 1) => "ackqueue-lease-backoff",
        (true, _) => "ackqueue-lease",
    };
    const BATCH: bool = true;
    const BLOCKING: bool = true;
    type Tx = Arc<AckQueue<u64>>;
    type Rx = Arc<AckQueue<u64>>;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        let builder = AckQueue::builder()
            .capacity(cap)
            .max_in_flight(MAX_IN_FLIGHT)
            .wait_strategy(Self::STRATEGY)
            .latency(M);
        let builder = if L { builder.lease(LEASE) } else { builder };
        Some(shared(builder.build().expect("valid configuration"), p, c))
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        match tx.try_publish(v) {
            Ok(_) => Ok(()),
            Err(PushError::Full(v)) => Err(v),
            Err(PushError::Closed(_)) => panic!("never closed"),
        }
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        let delivery = rx.try_receive()?;
        let v = *delivery;
        delivery.ack().expect("first ack of a live delivery");
        Some(v)
    }
    fn send(tx: &mut Self::Tx, v: u64) {
        tx.publish(v).expect("never closed");
    }
    fn recv(rx: &mut Self::Rx) -> u64 {
        let delivery = rx.receive().expect("never closed");
        let v = *delivery;
        delivery.ack().expect("first ack of a live delivery");
        v
    }
    /// `try_publish` each: the queue has no batch publish.
    fn try_send_batch(tx: &mut Self::Tx, buf: &mut Vec<u64>) -> usize {
        send_each(buf, |v| match tx.try_publish(v) {
            Ok(_) => true,
            Err(PushError::Full(_)) => false,
            Err(PushError::Closed(_)) => panic!("never closed"),
        })
    }
    /// `try_receive_batch`, then `ack_batch` of the whole batch.
    fn try_recv_batch(rx: &mut Self::Rx, out: &mut Vec<u64>, max: usize) -> usize {
        SPARE.with(|spare| {
            let mut batch = relabel(spare.take());
            let n = rx.try_receive_batch(max, &mut batch);
            out.extend(batch.iter().map(|d| **d));
            let acked = rx.ack_batch(batch.drain(..), &mut Vec::new());
            assert_eq!(acked, n, "first acks of live deliveries");
            spare.set(relabel(batch));
            n
        })
    }
}

thread_local! {
    /// Each consumer thread's delivery buffer between two batch calls,
    /// empty, so that the calls allocate nothing (`relabel`).
    static SPARE: Cell<Vec<Delivery<'static, u64>>> = const { Cell::new(Vec::new()) };
}

/// The allocation of an empty vector of deliveries, as a vector of
/// deliveries of another lifetime: the consumers' buffer outlives each
/// batch call's borrow of the queue.
fn relabel<'a, 'b>(batch: Vec<Delivery<'a, u64>>) -> Vec<Delivery<'b, u64>> {
    assert!(batch.is_empty(), "no delivery crosses the relabel");
    let mut batch = ManuallyDrop::new(batch);
    let (ptr, capacity) = (batch.as_mut_ptr(), batch.capacity());
    // SAFETY: the vector is empty, so no delivery of lifetime 'a is
    // turned into one of 'b; the two types differ only in a lifetime, so
    // they have one layout, and (ptr, capacity) is the allocation of a
    // vector of that layout, which the ManuallyDrop keeps from being
    // freed twice.
    unsafe { Vec::from_raw_parts(ptr.cast::<Delivery<'b, u64>>(), 0, capacity) }
}

/// The ack floor's ring (module docs).
pub struct FloorRing {
    head: CachePadded<AtomicU64>,
    tail: CachePadded<AtomicU64>,
    slots: Box<[FloorSlot]>,
    /// `slots.len() - 1`, the length a power of two.
    mask: u64,
}

struct FloorSlot {
    /// `pos`: free for the push at `pos`; `pos + 1`: holds its message,
    /// until acked; then `pos + len`.
    seq: AtomicU64,
    /// 1 while delivered and unacked, 2 once acked.
    state: AtomicU64,
    value: UnsafeCell<u64>,
}

// SAFETY: a slot's value is written only by the producer that claimed its
// position while the slot was free, and read only by the consumer that
// claimed it after the producer's Release store of `seq`; the seq/state
// protocol orders every access, as in `ackring::Ring`.
unsafe impl Sync for FloorRing {}

impl FloorRing {
    fn new(cap: usize) -> Self {
        let len = cap.next_power_of_two();
        FloorRing {
            head: CachePadded::new(AtomicU64::new(0)),
            tail: CachePadded::new(AtomicU64::new(0)),
            slots: (0..len as u64)
                .map(|i| FloorSlot {
                    seq: AtomicU64::new(i),
                    state: AtomicU64::new(0),
                    value: UnsafeCell::new(0),
                })
                .collect(),
            mask: len as u64 - 1,
        }
    }

    fn slot(&self, pos: u64) -> &FloorSlot {
        &self.slots[(pos & self.mask) as usize]
    }

    fn try_push(&self, v: u64) -> Result<(), u64> {
        // Relaxed: a guess at the next position, checked against the
        // slot's seq (Acquire) and claimed by the CAS.
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(tail);
            // Acquire: pairs with the ack's Release free of the slot.
            let diff = slot.seq.load(Ordering::Acquire).wrapping_sub(tail) as i64;
            if diff < 0 {
                return Err(v);
            }
            if diff > 0 {
                // Relaxed: another producer took `tail`; a fresh guess.
                tail = self.tail.load(Ordering::Relaxed);
                continue;
            }
            // Relaxed: the CAS only decides who owns `tail`.
            match self.tail.compare_exchange_weak(
                tail,
                tail + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    // SAFETY: we own position `tail` and its slot is free.
                    unsafe { *slot.value.get() = v };
                    // Release: publishes the value to the consumer.
                    slot.seq.store(tail + 1, Ordering::Release);
                    return Ok(());
                }
                Err(current) => tail = current,
            }
        }
    }

    /// Receives and acks one message.
    fn try_recv_ack(&self) -> Option<u64> {
        // Relaxed: as `tail` in `try_push`.
        let mut head = self.head.load(Ordering::Relaxed);
        let (slot, pos) = loop {
            let slot = self.slot(head);
            // Acquire: pairs with the producer's Release store.
            let diff = slot.seq.load(Ordering::Acquire).wrapping_sub(head + 1) as i64;
            if diff < 0 {
                return None;
            }
            if diff > 0 {
                // Relaxed: another consumer took `head`; a fresh guess.
                head = self.head.load(Ordering::Relaxed);
                continue;
            }
            // Relaxed: as in `try_push`.
            match self.head.compare_exchange_weak(
                head,
                head + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break (slot, head),
                Err(current) => head = current,
            }
        };
        // The delivery: the slot is ours and keeps the message.
        // Release: as `AckQueue`'s first-delivery state store.
        slot.state.store(1, Ordering::Release);
        // SAFETY: we claimed the position after the producer's Release.
        let v = unsafe { *slot.value.get() };
        // The ack: one CAS on the message's state, as `AckQueue`'s.
        // AcqRel: as `AckQueue`'s ack CAS, whose Acquire pairs with a
        // delivery's Release state store made by another thread (here the
        // same one). The value's read is ordered before the next lap's
        // write by the free's Release store below.
        let acked = slot
            .state
            .compare_exchange(1, 2, Ordering::AcqRel, Ordering::Acquire);
        assert!(acked.is_ok(), "nobody else settles");
        // Release: frees the slot for the next lap's producer.
        slot.seq.store(pos + self.mask + 1, Ordering::Release);
        Some(v)
    }
}

/// The ack floor (module docs).
pub struct AckFloor;

impl Peer for AckFloor {
    const NAME: &'static str = "ack floor (claim + ack CAS only)";
    const SLUG: &'static str = "ack-floor";
    type Tx = Arc<FloorRing>;
    type Rx = Arc<FloorRing>;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        Some(shared(FloorRing::new(cap), p, c))
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        tx.try_push(v)
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.try_recv_ack()
    }
}
