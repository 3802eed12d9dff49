//! The queues under test, each seen through one small trait, [`Peer`].
//!
//! A peer hands out per-thread endpoints (`Tx` for producers, `Rx` for
//! consumers), so that queues whose ends are owned handles (channels, rtrb)
//! and queues shared behind an `Arc` (ArrayQueue, Ring, ...) fit the same
//! bench loops (`throughput.rs`, `latency.rs`, once for all peers). How
//! the loops wait for room and values is [`Calls`]: each queue's own
//! blocking calls, or the same try-loop or spin loop for every queue, so
//! that a figure compares either the APIs or the data structures alone.
//!
//! To add a peer: implement [`Peer`] here (a unit struct and a few lines),
//! then add one line for it to the roster in `roster.rs`.

use ackring::{Ring, WaitStrategy};
use crossbeam_utils::Backoff;
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// The producer and consumer ends of one queue.
pub type Ends<Tx, Rx> = (Vec<Tx>, Vec<Rx>);

/// A bounded queue of `u64` as the benches see it.
pub trait Peer: 'static {
    /// Name in the report.
    const NAME: &'static str;
    /// Short name for file names, CSV and criterion ids.
    const SLUG: &'static str;
    /// Supports `try_send_batch` / `try_recv_batch`.
    const BATCH: bool = false;
    /// `send` / `recv` are the queue's own blocking calls (else they are
    /// the try-loop).
    const BLOCKING: bool = false;

    /// A producer's end.
    type Tx: Send;
    /// A consumer's end.
    type Rx: Send;

    /// A queue of capacity `cap` with that many producer and consumer
    /// ends, or `None` when the queue cannot serve that shape.
    fn open(cap: usize, producers: usize, consumers: usize) -> Option<Ends<Self::Tx, Self::Rx>>;

    /// Enqueues without waiting; gives the value back when full.
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64>;

    /// Dequeues without waiting.
    fn try_recv(rx: &mut Self::Rx) -> Option<u64>;

    /// Enqueues, waiting for room: the queue's own blocking call where it
    /// has one (`BLOCKING`), else the try-loop.
    fn send(tx: &mut Self::Tx, v: u64) {
        try_loop_send::<Self>(tx, v);
    }

    /// Dequeues, waiting for a value (as `send` waits for room).
    fn recv(rx: &mut Self::Rx) -> u64 {
        try_loop_recv::<Self>(rx)
    }

    /// Moves as many values as fit from the front of `buf`; returns how
    /// many. Only called when `BATCH`.
    fn try_send_batch(_tx: &mut Self::Tx, _buf: &mut Vec<u64>) -> usize {
        unreachable!("{} has no batch calls", Self::NAME)
    }

    /// Appends up to `max` values to `out`; returns how many. Only called
    /// when `BATCH`.
    fn try_recv_batch(_rx: &mut Self::Rx, _out: &mut Vec<u64>, _max: usize) -> usize {
        unreachable!("{} has no batch calls", Self::NAME)
    }
}

/// How a figure's threads wait for room and for values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Calls {
    /// The queue's own blocking calls (`Peer::send` / `Peer::recv`).
    Blocking,
    /// The same try-loop for every queue ([`try_loop_send`] /
    /// [`try_loop_recv`]): the `try_` call retried after
    /// `crossbeam_utils::Backoff::snooze` (spin 1, 2, 4, ... 64 hints, then
    /// a yield per try); with batches, the batch calls in that loop.
    TryLoop,
    /// The same spin loop for every queue ([`spin_loop_send`] /
    /// [`spin_loop_recv`]): one spin hint per failed try, a yield every
    /// 64th; single calls only.
    SpinLoop,
}

impl Calls {
    /// What the report calls it.
    pub fn label(self) -> &'static str {
        match self {
            Calls::Blocking => "the queue's own blocking calls",
            Calls::TryLoop => "the same try-loop for every queue",
            Calls::SpinLoop => "the same one-hint spin loop for every queue",
        }
    }

    /// Its short name in tables.
    pub fn short(self) -> &'static str {
        match self {
            Calls::Blocking => "own blocking calls",
            Calls::TryLoop => "same try-loop",
            Calls::SpinLoop => "same spin loop",
        }
    }

    /// Its id in CSV, criterion ids and filters.
    pub fn id(self) -> &'static str {
        match self {
            Calls::Blocking => "blocking",
            Calls::TryLoop => "try",
            Calls::SpinLoop => "spin",
        }
    }
}

/// The try-loop's send: `try_send` until it succeeds, with the try-loop's
/// wait ([`Calls::TryLoop`]) between tries.
pub fn try_loop_send<P: Peer + ?Sized>(tx: &mut P::Tx, mut v: u64) {
    let backoff = Backoff::new();
    while let Err(back) = P::try_send(tx, v) {
        v = back;
        backoff.snooze();
    }
}

/// The try-loop's receive: `try_recv` until it gives a value, with the
/// try-loop's wait between tries.
pub fn try_loop_recv<P: Peer + ?Sized>(rx: &mut P::Rx) -> u64 {
    let backoff = Backoff::new();
    loop {
        if let Some(v) = P::try_recv(rx) {
            return v;
        }
        backoff.snooze();
    }
}

/// How many failed tries in a row the spin loop makes between two yields.
const SPINS_PER_YIELD: u32 = 64;

/// The spin loop's wait after a failed try: a spin hint, or a yield on
/// every [`SPINS_PER_YIELD`]th failure in a row (another thread may need
/// this core).
fn spin_wait(fails: &mut u32) {
    *fails += 1;
    if *fails % SPINS_PER_YIELD == 0 {
        std::thread::yield_now();
    } else {
        std::hint::spin_loop();
    }
}

/// The spin loop's send: `try_send` until it succeeds, with the spin
/// loop's wait between tries. When the queue streams, a loop that waits
/// little lets the per-operation work decide.
pub fn spin_loop_send<P: Peer + ?Sized>(tx: &mut P::Tx, mut v: u64) {
    let mut fails = 0;
    while let Err(back) = P::try_send(tx, v) {
        v = back;
        spin_wait(&mut fails);
    }
}

/// The spin loop's receive.
pub fn spin_loop_recv<P: Peer + ?Sized>(rx: &mut P::Rx) -> u64 {
    let mut fails = 0;
    loop {
        if let Some(v) = P::try_recv(rx) {
            return v;
        }
        spin_wait(&mut fails);
    }
}

/// One shared queue handed to every thread.
pub fn shared<Q>(q: Q, producers: usize, consumers: usize) -> (Vec<Arc<Q>>, Vec<Arc<Q>>) {
    let q = Arc::new(q);
    let txs = (0..producers).map(|_| Arc::clone(&q)).collect();
    let rxs = (0..consumers).map(|_| Arc::clone(&q)).collect();
    (txs, rxs)
}

/// Cloned channel ends.
fn cloned<S: Clone, R: Clone>(s: S, r: R, producers: usize, consumers: usize) -> (Vec<S>, Vec<R>) {
    (vec![s; producers], vec![r; consumers])
}

/// `ackring::Ring` under one wait strategy (0 = Spin, 1 = Backoff, 2 =
/// Park); the strategy matters only to the blocking `send`/`recv`.
pub struct AckRing<const W: u8>;

impl<const W: u8> AckRing<W> {
    const STRATEGY: WaitStrategy = match W {
        0 => WaitStrategy::Spin,
        1 => WaitStrategy::Backoff,
        _ => WaitStrategy::Park,
    };
}

impl<const W: u8> Peer for AckRing<W> {
    const NAME: &'static str = match W {
        0 => "ackring Ring (spin)",
        1 => "ackring Ring (backoff)",
        _ => "ackring Ring (park)",
    };
    const SLUG: &'static str = match W {
        0 => "ring-spin",
        1 => "ring-backoff",
        _ => "ring-park",
    };
    const BATCH: bool = true;
    const BLOCKING: bool = true;
    type Tx = Arc<Ring<u64>>;
    type Rx = Arc<Ring<u64>>;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        Some(shared(Ring::with_wait_strategy(cap, Self::STRATEGY), p, c))
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        tx.try_push(v).map_err(|full| full.0)
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.try_pop()
    }
    fn send(tx: &mut Self::Tx, v: u64) {
        tx.send(v).expect("never closed");
    }
    fn recv(rx: &mut Self::Rx) -> u64 {
        rx.recv().expect("never closed")
    }
    fn try_send_batch(tx: &mut Self::Tx, buf: &mut Vec<u64>) -> usize {
        tx.try_push_batch(buf)
    }
    fn try_recv_batch(rx: &mut Self::Rx, out: &mut Vec<u64>, max: usize) -> usize {
        rx.try_pop_batch(out, max)
    }
}

/// `ackring::Ring` through the try calls that decide from their slot
/// alone (`try_push_if_free` / `try_pop_if_ready`, not linearizable):
/// beside the plain `Ring` row, what linearizability costs.
pub struct AckRingSlotOnly;

impl Peer for AckRingSlotOnly {
    const NAME: &'static str = "ackring Ring, slot-only try calls (not linearizable)";
    const SLUG: &'static str = "ring-slot-only";
    type Tx = Arc<Ring<u64>>;
    type Rx = Arc<Ring<u64>>;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        Some(shared(Ring::new(cap), p, c))
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        tx.try_push_if_free(v).map_err(|full| full.0)
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.try_pop_if_ready()
    }
}

/// `crossbeam_queue::ArrayQueue`: the baseline every ratio is taken to.
pub struct ArrayQueue;

impl Peer for ArrayQueue {
    const NAME: &'static str = "crossbeam ArrayQueue";
    const SLUG: &'static str = "arrayqueue";
    type Tx = Arc<crossbeam_queue::ArrayQueue<u64>>;
    type Rx = Arc<crossbeam_queue::ArrayQueue<u64>>;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        Some(shared(crossbeam_queue::ArrayQueue::new(cap), p, c))
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        tx.push(v)
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.pop()
    }
}

/// A [`Peer`] for a bounded MPMC channel of the crossbeam-channel API
/// (`bounded(cap)`, cloned ends, `try_send` / `try_recv` and the blocking
/// `send` / `recv`), as crate `$c` names it.
macro_rules! blocking_channel {
    ($(#[$doc:meta])* $peer:ident, $c:ident, $name:literal, $slug:literal) => {
        $(#[$doc])*
        pub struct $peer;

        impl Peer for $peer {
            const NAME: &'static str = $name;
            const SLUG: &'static str = $slug;
            const BLOCKING: bool = true;
            type Tx = $c::Sender<u64>;
            type Rx = $c::Receiver<u64>;
            fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
                let (s, r) = $c::bounded(cap);
                Some(cloned(s, r, p, c))
            }
            fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
                tx.try_send(v).map_err(|e| e.into_inner())
            }
            fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
                rx.try_recv().ok()
            }
            fn send(tx: &mut Self::Tx, v: u64) {
                tx.send(v).expect("receivers alive");
            }
            fn recv(rx: &mut Self::Rx) -> u64 {
                rx.recv().expect("senders alive")
            }
        }
    };
}

blocking_channel!(
    /// `crossbeam_channel::bounded`.
    CrossbeamChannel, crossbeam_channel, "crossbeam-channel bounded", "crossbeam-channel"
);
blocking_channel!(
    /// `flume::bounded`.
    Flume, flume, "flume bounded", "flume"
);

/// `concurrent_queue::ConcurrentQueue::bounded`.
pub struct ConcurrentQueue;

impl Peer for ConcurrentQueue {
    const NAME: &'static str = "concurrent-queue bounded";
    const SLUG: &'static str = "concurrent-queue";
    type Tx = Arc<concurrent_queue::ConcurrentQueue<u64>>;
    type Rx = Arc<concurrent_queue::ConcurrentQueue<u64>>;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        Some(shared(
            concurrent_queue::ConcurrentQueue::bounded(cap),
            p,
            c,
        ))
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        tx.push(v).map_err(|e| e.into_inner())
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.pop().ok()
    }
}

/// `std::sync::mpsc::sync_channel`. Its receiver is single-consumer: with
/// several consumers they share it behind a `Mutex`, as a user would.
pub struct StdSyncChannel;

/// A std receiver: owned by the only consumer, or shared by several.
pub enum StdRx {
    /// One consumer.
    Own(mpsc::Receiver<u64>),
    /// Several consumers.
    Shared(Arc<Mutex<mpsc::Receiver<u64>>>),
}

impl Peer for StdSyncChannel {
    const NAME: &'static str = "std sync_channel";
    const SLUG: &'static str = "std-sync-channel";
    const BLOCKING: bool = true;
    type Tx = mpsc::SyncSender<u64>;
    type Rx = StdRx;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        let (s, r) = mpsc::sync_channel(cap);
        let rxs = if c == 1 {
            vec![StdRx::Own(r)]
        } else {
            let r = Arc::new(Mutex::new(r));
            (0..c).map(|_| StdRx::Shared(Arc::clone(&r))).collect()
        };
        Some((vec![s; p], rxs))
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        tx.try_send(v).map_err(|e| match e {
            mpsc::TrySendError::Full(v) => v,
            mpsc::TrySendError::Disconnected(_) => panic!("receiver dropped"),
        })
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        match rx {
            StdRx::Own(r) => r.try_recv().ok(),
            StdRx::Shared(r) => r.lock().expect("not poisoned").try_recv().ok(),
        }
    }
    fn send(tx: &mut Self::Tx, v: u64) {
        tx.send(v).expect("receiver alive");
    }
    fn recv(rx: &mut Self::Rx) -> u64 {
        match rx {
            StdRx::Own(r) => r.recv(),
            StdRx::Shared(r) => r.lock().expect("not poisoned").recv(),
        }
        .expect("senders alive")
    }
}

/// `Mutex<VecDeque>` bounded by a length check: the queue people write
/// first.
pub struct MutexVecDeque;

/// A `VecDeque` behind a `Mutex`, with its bound.
pub struct Locked {
    q: Mutex<VecDeque<u64>>,
    cap: usize,
}

impl Peer for MutexVecDeque {
    const NAME: &'static str = "Mutex<VecDeque>";
    const SLUG: &'static str = "mutex-vecdeque";
    type Tx = Arc<Locked>;
    type Rx = Arc<Locked>;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        let q = Mutex::new(VecDeque::with_capacity(cap));
        Some(shared(Locked { q, cap }, p, c))
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        let mut q = tx.q.lock().expect("not poisoned");
        if q.len() < tx.cap {
            q.push_back(v);
            Ok(())
        } else {
            Err(v)
        }
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.q.lock().expect("not poisoned").pop_front()
    }
}

/// `rtrb`: single-producer single-consumer only, with cached indices and
/// chunk (batch) calls.
pub struct Rtrb;

impl Peer for Rtrb {
    const NAME: &'static str = "rtrb (SPSC)";
    const SLUG: &'static str = "rtrb";
    const BATCH: bool = true;
    type Tx = rtrb::Producer<u64>;
    type Rx = rtrb::Consumer<u64>;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        if p != 1 || c != 1 {
            return None;
        }
        let (tx, rx) = rtrb::RingBuffer::new(cap);
        Some((vec![tx], vec![rx]))
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        tx.push(v).map_err(|rtrb::PushError::Full(v)| v)
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.pop().ok()
    }
    fn try_send_batch(tx: &mut Self::Tx, buf: &mut Vec<u64>) -> usize {
        let n = buf.len().min(tx.slots());
        if n == 0 {
            return 0;
        }
        let chunk = tx.write_chunk_uninit(n).expect("n <= slots");
        chunk.fill_from_iter(buf.drain(..n))
    }
    fn try_recv_batch(rx: &mut Self::Rx, out: &mut Vec<u64>, max: usize) -> usize {
        let n = max.min(rx.slots());
        if n == 0 {
            return 0;
        }
        let chunk = rx.read_chunk(n).expect("n <= slots");
        let (a, b) = chunk.as_slices();
        out.extend_from_slice(a);
        out.extend_from_slice(b);
        chunk.commit_all();
        n
    }
}

/// rtrb's algorithm (one producer, one consumer, each caching the other's
/// index) plus the one write an MPMC ring with per-slot sequences cannot
/// avoid: on pop, the consumer stores each slot's next-lap sequence, in the
/// data's cache line, where the producer will write next. The producer
/// never reads those stamps; the figure shows what that write alone costs
/// batches, next to rtrb.
pub struct StampedSpsc;

/// The shared part of [`StampedSpsc`].
pub struct StampedRing {
    head: crossbeam_utils::CachePadded<AtomicUsize>,
    tail: crossbeam_utils::CachePadded<AtomicUsize>,
    slots: Box<[StampedSlot]>,
    mask: usize,
}

struct StampedSlot {
    stamp: AtomicUsize,
    value: UnsafeCell<u64>,
}

// SAFETY: slot values are written only by the one producer, in slots the
// consumer released (its Release store of `head`, read with Acquire), and
// read only by the one consumer, in slots the producer published (its
// Release store of `tail`, read with Acquire).
unsafe impl Sync for StampedRing {}

/// One end of a [`StampedRing`]: its own index and a cache of the other's.
pub struct StampedEnd {
    ring: Arc<StampedRing>,
    mine: usize,
    theirs: usize,
}

impl StampedEnd {
    /// Free slots (producer) from the cached head, refreshed when short.
    fn room(&mut self, want: usize) -> usize {
        let cap = self.ring.mask + 1;
        if cap - (self.mine - self.theirs) < want {
            // Acquire: the consumer's reads of these slots are done.
            self.theirs = self.ring.head.load(Ordering::Acquire);
        }
        cap - (self.mine - self.theirs)
    }

    /// Published slots (consumer) from the cached tail, refreshed when
    /// short.
    fn ready(&mut self, want: usize) -> usize {
        if self.theirs - self.mine < want {
            // Acquire: the producer's writes of these slots are visible.
            self.theirs = self.ring.tail.load(Ordering::Acquire);
        }
        self.theirs - self.mine
    }

    fn push(&mut self, values: impl Iterator<Item = u64>) {
        for v in values {
            let slot = &self.ring.slots[self.mine & self.ring.mask];
            // SAFETY: `room` said the slot is released by the consumer, and
            // only this producer writes.
            unsafe { *slot.value.get() = v };
            self.mine += 1;
        }
        // Release: publishes the values to the consumer.
        self.ring.tail.store(self.mine, Ordering::Release);
    }

    fn pop(&mut self, n: usize, out: &mut Vec<u64>) {
        for _ in 0..n {
            let slot = &self.ring.slots[self.mine & self.ring.mask];
            // SAFETY: `ready` said the producer published the slot.
            out.push(unsafe { *slot.value.get() });
            // Relaxed: nobody reads it, so it needs no edge; the write
            // itself (its cache-line traffic) is what the figure measures.
            slot.stamp
                .store(self.mine + self.ring.mask + 1, Ordering::Relaxed);
            self.mine += 1;
        }
        // Release: the slots are free for the producer again.
        self.ring.head.store(self.mine, Ordering::Release);
    }
}

impl Peer for StampedSpsc {
    const NAME: &'static str = "SPSC + per-slot stamp";
    const SLUG: &'static str = "spsc-stamped";
    const BATCH: bool = true;
    type Tx = StampedEnd;
    type Rx = StampedEnd;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        if p != 1 || c != 1 {
            return None;
        }
        let len = cap.next_power_of_two();
        let ring = Arc::new(StampedRing {
            head: Default::default(),
            tail: Default::default(),
            slots: (0..len)
                .map(|i| StampedSlot {
                    stamp: AtomicUsize::new(i),
                    value: UnsafeCell::new(0),
                })
                .collect(),
            mask: len - 1,
        });
        let end = |ring: &Arc<StampedRing>| StampedEnd {
            ring: Arc::clone(ring),
            mine: 0,
            theirs: 0,
        };
        Some((vec![end(&ring)], vec![end(&ring)]))
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        if tx.room(1) == 0 {
            return Err(v);
        }
        tx.push(std::iter::once(v));
        Ok(())
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        if rx.ready(1) == 0 {
            return None;
        }
        let mut out = Vec::with_capacity(1);
        rx.pop(1, &mut out);
        out.pop()
    }
    fn try_send_batch(tx: &mut Self::Tx, buf: &mut Vec<u64>) -> usize {
        let n = buf.len().min(tx.room(buf.len()));
        tx.push(buf.drain(..n));
        n
    }
    fn try_recv_batch(rx: &mut Self::Rx, out: &mut Vec<u64>, max: usize) -> usize {
        let n = max.min(rx.ready(max));
        rx.pop(n, out);
        n
    }
}
