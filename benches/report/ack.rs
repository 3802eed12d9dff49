//! publish → receive → ack, seen as a `Peer` whose `recv` is "receive one
//! delivery, ack it, return its value", so the throughput and one-way
//! latency loops measure the ack layers unchanged: `ackring::AckQueue`
//! (with its blocking `publish` / `receive`), and the baselines.
//!
//! The baseline is what a user would hand-write: a crossbeam `ArrayQueue`
//! for ready messages plus a `Mutex<HashMap>` of in-flight messages keyed
//! by delivery tag (the message stays there, so it could be redelivered,
//! until it is acked). With a lease, `receive` also stamps a deadline from
//! the clock; nothing scans for expired leases (a reaper thread would only
//! slow the baseline down further).

use crate::peers::{shared, Ends, Peer};
use ackring::{AckQueue, PublishError};
use std::collections::HashMap;
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
}

/// Unacked deliveries the ack-layer runs allow at once (each consumer
/// holds one at a time, so this never binds).
const MAX_IN_FLIGHT: usize = 256;

/// `ackring::AckQueue`, without (`L = false`) or with (`L = true`) a
/// lease.
pub struct AckQueuePeer<const L: bool>;

impl<const L: bool> Peer for AckQueuePeer<L> {
    const NAME: &'static str = if L {
        "ackring AckQueue (lease)"
    } else {
        "ackring AckQueue"
    };
    const SLUG: &'static str = if L { "ackqueue-lease" } else { "ackqueue" };
    type Tx = Arc<AckQueue<u64>>;
    type Rx = Arc<AckQueue<u64>>;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        let builder = AckQueue::builder()
            .capacity(cap)
            .max_in_flight(MAX_IN_FLIGHT);
        let builder = if L { builder.lease(LEASE) } else { builder };
        Some(shared(builder.build().expect("valid configuration"), p, c))
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        match tx.try_publish(v) {
            Ok(_) => Ok(()),
            Err(PublishError::Full(v)) => Err(v),
            Err(PublishError::Closed(_)) => panic!("never closed"),
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
}
