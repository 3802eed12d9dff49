//! A/B: this tree's `ackring` (A) against the crate at a git ref (B,
//! linked as `ackring_base`), measured in one process, interleaved, many
//! rounds, beside a peer (crossbeam's `ArrayQueue`, the one to beat; rtrb
//! for batches). Run it with
//! `bash .ci/ab [REF] [FILTER...]`.
//!
//! Each round measures every workload once per contender, in an order that
//! rotates from round to round, so that both builds see the same machine
//! state; ratios are taken within a round and then summarized over rounds
//! as median (min–max). Single-thread cost per message is the steadiest
//! signal of work per operation on a shared machine: read it first.
//!
//! Workloads (the same loop for every contender, calls inlined as a
//! user's loop inlines them):
//!
//! - `st/ring`: one thread, blocks of 64 `try_push` then 64 `try_pop`:
//!   ns per push + pop.
//! - `st/ring-batch16`: the same through `try_push_batch` /
//!   `try_pop_batch` in batches of 16, beside rtrb's chunks (one producer,
//!   one consumer, no per-slot sequences: the bound of a batch).
//! - `st/ack`, `st/ack-batch16`: one thread, blocks of 64 `try_publish`,
//!   then 64 `try_receive` + ack, or 4 × (`try_receive_batch(16)` +
//!   `ack_batch`): ns per message. `st/ack-redelivery`: `st/ack` with
//!   A built with an exponential redelivery policy (nothing is requeued:
//!   the policy's cost where it is not used), B as in `st/ack`.
//! - `st/ack-latency`: `st/ack` with latency recording on (A) against
//!   this tree with it off (B, not the ref): the cost of recording.
//! - `PxC/try-snooze`, `PxC/try-spin1`, `PxC/blocking` (1P1C, 4P4C, 8P1C):
//!   producers and consumers pinned round-robin to the cores, moving
//!   `1..=N` through a ring of 1024; `try-snooze` waits between tries with
//!   `Backoff::snooze` (the report's try-loop), `try-spin1` with one spin
//!   hint and a yield every 64th failure, `blocking` uses the queue's own
//!   `push` / `pop`. Mmsg/s, count and sum checked.
//! - `ack/PxC/blocking` (1P1C, 2P2C, 1P3C, 4P1C): `publish` / `receive` +
//!   ack, capacity 1024, prefetch 256, pinned as above. Mmsg/s, count and
//!   sum checked. `ack/PxC/try-snooze`: the same with the try calls in
//!   the report's try-loop, which the blocking calls must not fall below.
//! - `pool/PxC` (the same shapes): as `ack/PxC/blocking` with the threads
//!   unpinned, as a user's pool, beside crossbeam-channel bounded (bare,
//!   no acks) and the channel plus a `Mutex<HashMap>` of the messages in
//!   flight (insert on receive, remove on ack), each with its own blocking
//!   calls.
//!
//! With `st/ring` and an `st/ack` workload in the run, a second table
//! gives each build's ack cost per message over its ring cost, within
//! each round: the ack layer's targets.
//!
//! A filter word keeps the workloads whose name contains it, or, ending
//! in `$`, the one so named (`st/ack$`). `AB_BLOCKS=N` sets the blocks of
//! 64 of the single-thread workloads: the difference of two callgrind runs
//! with `AB_ONLY` and two values of it is the instruction count per
//! message.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use core_affinity::CoreId;

/// A bounded queue of `u64` as the loops see it.
trait Queue: Send + Sync + Sized + 'static {
    fn open(cap: usize) -> Self;
    fn try_push(&self, v: u64) -> Result<(), u64>;
    fn try_pop(&self) -> Option<u64>;
    fn push(&self, v: u64);
    fn pop(&self) -> u64;
    /// Moves the front of `items` in with one batch call; returns how many.
    fn try_push_batch(&self, items: &mut Vec<u64>) -> usize;
    /// Appends up to `max` items to `out` with one batch call.
    fn try_pop_batch(&self, out: &mut Vec<u64>, max: usize) -> usize;
}

/// An ack layer of `u64` as the loops see it.
trait Acks: Send + Sync + Sized + 'static {
    fn open(cap: usize, prefetch: usize) -> Self;
    fn try_publish(&self, v: u64) -> Result<(), u64>;
    /// Receives one message and acks it.
    fn try_take(&self) -> Option<u64>;
    /// Receives up to `max` messages with one batch call and acks them
    /// with one; adds their values to `sum`, returns how many.
    fn try_take_batch(&self, max: usize, sum: &mut u64) -> usize;
    fn publish(&self, v: u64);
    fn take(&self) -> u64;
}

macro_rules! ring_of {
    ($krate:ident, $name:ident) => {
        struct $name($krate::Ring<u64>);
        impl Queue for $name {
            fn open(cap: usize) -> Self {
                Self($krate::Ring::new(cap))
            }
            #[inline]
            fn try_push(&self, v: u64) -> Result<(), u64> {
                self.0.try_push(v).map_err(|e| e.into_inner())
            }
            #[inline]
            fn try_pop(&self) -> Option<u64> {
                self.0.try_pop()
            }
            // `push` / `pop`: the blocking calls every ref has (a base ref
            // may predate `send` / `recv`); the rings here are never closed.
            #[inline]
            #[allow(deprecated)]
            fn push(&self, v: u64) {
                self.0.push(v)
            }
            #[inline]
            #[allow(deprecated)]
            fn pop(&self) -> u64 {
                self.0.pop()
            }
            #[inline]
            fn try_push_batch(&self, items: &mut Vec<u64>) -> usize {
                self.0.try_push_batch(items)
            }
            #[inline]
            fn try_pop_batch(&self, out: &mut Vec<u64>, max: usize) -> usize {
                self.0.try_pop_batch(out, max)
            }
        }
    };
}

macro_rules! ack_of {
    ($krate:ident, $name:ident) => {
        ack_of!($krate, $name, |b| b);
    };
    ($krate:ident, $name:ident, $configure:expr) => {
        struct $name($krate::AckQueue<u64>);
        impl Acks for $name {
            fn open(cap: usize, prefetch: usize) -> Self {
                let configure: fn(
                    $krate::AckQueueBuilder<u64>,
                ) -> $krate::AckQueueBuilder<u64> = $configure;
                Self(
                    configure(
                        $krate::AckQueue::builder()
                            .capacity(cap)
                            .max_in_flight(prefetch),
                    )
                    .build()
                    .expect("a valid queue"),
                )
            }
            #[inline]
            fn try_publish(&self, v: u64) -> Result<(), u64> {
                self.0.try_publish(v).map(drop).map_err(|e| e.into_inner())
            }
            #[inline]
            fn try_take(&self) -> Option<u64> {
                let d = self.0.try_receive()?;
                let v = *d;
                d.ack().expect("acked once");
                Some(v)
            }
            #[inline]
            fn try_take_batch(&self, max: usize, sum: &mut u64) -> usize {
                thread_local! {
                    /// This thread's delivery buffer between two batch calls,
                    /// empty: a user's loop keeps its buffer too.
                    static SPARE: std::cell::Cell<Vec<$krate::Delivery<'static, u64>>> =
                        const { std::cell::Cell::new(Vec::new()) };
                }
                /// An empty vector of deliveries as one of another lifetime.
                fn relabel<'a, 'b>(
                    v: Vec<$krate::Delivery<'a, u64>>,
                ) -> Vec<$krate::Delivery<'b, u64>> {
                    assert!(v.is_empty(), "no delivery crosses the relabel");
                    let mut v = std::mem::ManuallyDrop::new(v);
                    let (ptr, cap) = (v.as_mut_ptr(), v.capacity());
                    // SAFETY: the vector is empty, and the two element types
                    // differ only in a lifetime, so (ptr, cap) is an
                    // allocation of the same layout, freed once (the
                    // ManuallyDrop keeps the old vector from freeing it).
                    unsafe { Vec::from_raw_parts(ptr.cast(), 0, cap) }
                }
                SPARE.with(|spare| {
                    let mut out = relabel(spare.take());
                    out.reserve(max);
                    let n = self.0.try_receive_batch(max, &mut out);
                    *sum += out.iter().map(|d| **d).sum::<u64>();
                    let mut errors = Vec::new();
                    assert_eq!(self.0.ack_batch(out.drain(..), &mut errors), n);
                    spare.set(relabel(out));
                    n
                })
            }
            #[inline]
            fn publish(&self, v: u64) {
                self.0.publish(v).expect("open");
            }
            #[inline]
            fn take(&self) -> u64 {
                let d = self.0.receive().expect("open");
                let v = *d;
                d.ack().expect("acked once");
                v
            }
        }
    };
}

ring_of!(ackring, RingA);
ring_of!(ackring_base, RingB);
ack_of!(ackring, AckA);
ack_of!(ackring_base, AckB);
// This tree with latency recording on (`st/ack-latency`).
ack_of!(ackring, AckLatencyA, |b| b.latency(true));
// This tree's queue with a redelivery policy, for `st/ack-redelivery`.
ack_of!(ackring, AckPolicyA, |b| b.redelivery(
    ackring::Redelivery::exponential(Duration::from_millis(1), Duration::from_secs(1)).jitter()
));

/// crossbeam's `ArrayQueue`, the incumbent; its blocking calls are the
/// report's try-loop (it has none of its own).
struct ArrayQueue(crossbeam_queue::ArrayQueue<u64>);
impl Queue for ArrayQueue {
    fn open(cap: usize) -> Self {
        Self(crossbeam_queue::ArrayQueue::new(cap))
    }
    #[inline]
    fn try_push(&self, v: u64) -> Result<(), u64> {
        self.0.push(v)
    }
    #[inline]
    fn try_pop(&self) -> Option<u64> {
        self.0.pop()
    }
    fn push(&self, mut v: u64) {
        let b = crossbeam_utils::Backoff::new();
        while let Err(back) = self.0.push(v) {
            v = back;
            b.snooze();
        }
    }
    fn pop(&self) -> u64 {
        let b = crossbeam_utils::Backoff::new();
        loop {
            if let Some(v) = self.0.pop() {
                return v;
            }
            b.snooze();
        }
    }
    /// One push each: it has no batch calls.
    fn try_push_batch(&self, items: &mut Vec<u64>) -> usize {
        let mut n = 0;
        while n < items.len() && self.0.push(items[n]).is_ok() {
            n += 1;
        }
        items.drain(..n);
        n
    }
    fn try_pop_batch(&self, out: &mut Vec<u64>, max: usize) -> usize {
        let start = out.len();
        while out.len() - start < max {
            match self.0.pop() {
                Some(v) => out.push(v),
                None => break,
            }
        }
        out.len() - start
    }
}

/// ns per message through rtrb's chunks (one producer, one consumer: the
/// bound of batch calls without per-slot sequences), one thread, blocks of
/// 64 in chunks of `batch`.
fn rtrb_st(blocks: u64, batch: usize) -> f64 {
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(1024);
    let mut items = Vec::with_capacity(BLOCK as usize);
    let mut out = Vec::with_capacity(batch);
    let mut sum = 0u64;
    let t0 = Instant::now();
    for b in 0..blocks {
        items.extend((0..BLOCK).map(|i| black_box(b * BLOCK + i)));
        while !items.is_empty() {
            let n = batch.min(items.len());
            let chunk = tx.write_chunk_uninit(n).expect("room");
            chunk.fill_from_iter(items.drain(..n));
        }
        let mut left = BLOCK as usize;
        while left > 0 {
            out.clear();
            let chunk = rx.read_chunk(batch.min(left)).expect("items");
            let (x, y) = chunk.as_slices();
            out.extend_from_slice(x);
            out.extend_from_slice(y);
            chunk.commit_all();
            sum += out.iter().sum::<u64>();
            left -= out.len();
        }
    }
    let took = t0.elapsed();
    let n = blocks * BLOCK;
    assert_eq!(black_box(sum), n * (n - 1) / 2);
    took.as_nanos() as f64 / n as f64
}

/// ns per push + pop through the batch calls, one thread, blocks of 64 in
/// batches of `batch`.
fn ring_st_batch<Q: Queue>(blocks: u64, batch: usize) -> f64 {
    let q = Q::open(1024);
    let mut items = Vec::with_capacity(BLOCK as usize);
    let mut chunk = Vec::with_capacity(batch);
    let mut out = Vec::with_capacity(batch);
    let mut sum = 0u64;
    let t0 = Instant::now();
    for b in 0..blocks {
        items.extend((0..BLOCK).map(|i| black_box(b * BLOCK + i)));
        for part in items.chunks(batch) {
            chunk.clear();
            chunk.extend_from_slice(part);
            assert_eq!(q.try_push_batch(&mut chunk), part.len(), "room");
        }
        items.clear();
        let mut left = BLOCK as usize;
        while left > 0 {
            out.clear();
            let n = q.try_pop_batch(&mut out, batch.min(left));
            assert!(n > 0, "items");
            sum += out.iter().sum::<u64>();
            left -= n;
        }
    }
    let took = t0.elapsed();
    let n = blocks * BLOCK;
    assert_eq!(black_box(sum), n * (n - 1) / 2);
    took.as_nanos() as f64 / n as f64
}

/// How a try-loop waits after a failed try.
#[derive(Clone, Copy)]
enum Wait {
    /// `Backoff::snooze`: the report's try-loop.
    Snooze,
    /// One spin hint; a yield every 64th failure in a row.
    Spin1,
    /// The queue's own blocking calls.
    Blocking,
}

struct Waiting {
    backoff: crossbeam_utils::Backoff,
    fails: u32,
}

impl Waiting {
    fn new() -> Self {
        Self {
            backoff: crossbeam_utils::Backoff::new(),
            fails: 0,
        }
    }
    #[inline]
    fn wait(&mut self, how: Wait) {
        match how {
            Wait::Snooze => self.backoff.snooze(),
            _ => {
                self.fails += 1;
                if self.fails.is_multiple_of(64) {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
    }
    #[inline]
    fn reset(&mut self) {
        self.backoff.reset();
        self.fails = 0;
    }
}

/// crossbeam-channel bounded, bare: no acks. Its blocking calls are its
/// own; `try_take` is `try_recv`.
struct Channel(
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
);
impl Acks for Channel {
    fn open(cap: usize, _prefetch: usize) -> Self {
        let (s, r) = crossbeam_channel::bounded(cap);
        Self(s, r)
    }
    fn try_publish(&self, v: u64) -> Result<(), u64> {
        self.0.try_send(v).map_err(|e| e.into_inner())
    }
    fn try_take(&self) -> Option<u64> {
        self.1.try_recv().ok()
    }
    fn try_take_batch(&self, _max: usize, _sum: &mut u64) -> usize {
        unreachable!("no batch workload runs the channel")
    }
    fn publish(&self, v: u64) {
        self.0.send(v).expect("open");
    }
    fn take(&self) -> u64 {
        self.1.recv().expect("open")
    }
}

/// What a user writes by hand: crossbeam-channel bounded, and a
/// `Mutex<HashMap>` of the messages in flight (insert on receive, remove
/// on ack), keyed by a delivery tag.
struct ChannelTracker {
    channel: Channel,
    in_flight: std::sync::Mutex<std::collections::HashMap<u64, u64>>,
    next_tag: std::sync::atomic::AtomicU64,
}
impl ChannelTracker {
    fn track(&self, v: u64) -> u64 {
        // Relaxed: only uniqueness; the mutex orders the map.
        let tag = self
            .next_tag
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut map = self.in_flight.lock().expect("not poisoned");
        assert!(map.insert(tag, v).is_none(), "unique tags");
        drop(map);
        let acked = self.in_flight.lock().expect("not poisoned").remove(&tag);
        acked.expect("tracked")
    }
}
impl Acks for ChannelTracker {
    fn open(cap: usize, prefetch: usize) -> Self {
        Self {
            channel: Channel::open(cap, prefetch),
            in_flight: std::sync::Mutex::new(std::collections::HashMap::with_capacity(prefetch)),
            next_tag: std::sync::atomic::AtomicU64::new(0),
        }
    }
    fn try_publish(&self, v: u64) -> Result<(), u64> {
        self.channel.try_publish(v)
    }
    fn try_take(&self) -> Option<u64> {
        self.channel.try_take().map(|v| self.track(v))
    }
    fn try_take_batch(&self, _max: usize, _sum: &mut u64) -> usize {
        unreachable!("no batch workload runs the tracker")
    }
    fn publish(&self, v: u64) {
        self.channel.publish(v);
    }
    fn take(&self) -> u64 {
        let v = self.channel.take();
        self.track(v)
    }
}

static CORES: std::sync::OnceLock<Vec<CoreId>> = std::sync::OnceLock::new();

/// Whether the threads of the multi-threaded runs are pinned (off for
/// the pool workloads: a user's pool is not).
static PINNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

fn pin(slot: usize) {
    if !PINNED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let cores = CORES.get().expect("read in main");
    if let Some(&c) = cores.get(slot % cores.len().max(1)) {
        let _ = core_affinity::set_for_current(c);
    }
}

/// Runs `producers` threads calling `produce(id, first, count)` and
/// `consumers` threads calling `consume(count) -> sum`, pinned round-robin,
/// started together; checks that the consumers got `1..=total`; returns
/// the time from the start to the last thread's end.
fn run_threads(
    producers: usize,
    consumers: usize,
    total: u64,
    produce: impl Fn(u64, u64) + Sync,
    consume: impl Fn(u64) -> u64 + Sync,
) -> Duration {
    let per_p = total / producers as u64;
    let per_c = total / consumers as u64;
    assert_eq!(per_p * producers as u64, total);
    assert_eq!(per_c * consumers as u64, total);
    let start = Barrier::new(producers + consumers);
    // Each thread times itself from the barrier to its last message: the
    // run is the first start to the last finish, whatever the spawning
    // thread was doing meanwhile.
    let (spans, sum) = std::thread::scope(|s| {
        let spawned: Vec<_> = (0..producers)
            .map(|p| {
                let (start, produce) = (&start, &produce);
                s.spawn(move || {
                    pin(p);
                    start.wait();
                    let t0 = Instant::now();
                    produce(p as u64 * per_p + 1, per_p);
                    (t0, Instant::now())
                })
            })
            .collect();
        let consumers: Vec<_> = (0..consumers)
            .map(|c| {
                let (start, consume) = (&start, &consume);
                s.spawn(move || {
                    pin(producers + c);
                    start.wait();
                    let t0 = Instant::now();
                    let sum = consume(per_c);
                    (t0, Instant::now(), sum)
                })
            })
            .collect();
        let mut spans: Vec<_> = spawned.into_iter().map(|h| h.join().unwrap()).collect();
        let mut sum = 0;
        for h in consumers {
            let (t0, t1, part) = h.join().unwrap();
            spans.push((t0, t1));
            sum += part;
        }
        (spans, sum)
    });
    assert_eq!(sum, total * (total + 1) / 2, "every message, once");
    let first = spans.iter().map(|s| s.0).min().expect("a thread");
    let last = spans.iter().map(|s| s.1).max().expect("a thread");
    last - first
}

/// Mmsg/s of `total` messages through a fresh `Q` of 1024.
fn ring_mt<Q: Queue>(p: usize, c: usize, how: Wait, total: u64) -> f64 {
    let q = Q::open(1024);
    let took = run_threads(
        p,
        c,
        total,
        |first, n| {
            let mut w = Waiting::new();
            for v in first..first + n {
                if let Wait::Blocking = how {
                    q.push(v);
                    continue;
                }
                let mut v = v;
                while let Err(back) = q.try_push(v) {
                    v = back;
                    w.wait(how);
                }
                w.reset();
            }
        },
        |n| {
            let mut w = Waiting::new();
            let mut sum = 0;
            for _ in 0..n {
                if let Wait::Blocking = how {
                    sum += q.pop();
                    continue;
                }
                loop {
                    if let Some(v) = q.try_pop() {
                        sum += v;
                        break;
                    }
                    w.wait(how);
                }
                w.reset();
            }
            sum
        },
    );
    total as f64 / took.as_secs_f64() / 1e6
}

/// Mmsg/s of `total` messages through a fresh `A` (capacity 1024,
/// prefetch 256) with its blocking calls; threads pinned or not.
fn ack_mt<A: Acks>(p: usize, c: usize, total: u64, pinned: bool) -> f64 {
    PINNED.store(pinned, std::sync::atomic::Ordering::Relaxed);
    let q = A::open(1024, 256);
    let took = run_threads(
        p,
        c,
        total,
        |first, n| (first..first + n).for_each(|v| q.publish(v)),
        |n| (0..n).map(|_| q.take()).sum(),
    );
    total as f64 / took.as_secs_f64() / 1e6
}

/// As `ack_mt`, pinned, with the try calls in the report's try-loop
/// (`Backoff::snooze` between tries) instead of the blocking calls.
fn ack_mt_try<A: Acks>(p: usize, c: usize, total: u64) -> f64 {
    PINNED.store(true, std::sync::atomic::Ordering::Relaxed);
    let q = A::open(1024, 256);
    let took = run_threads(
        p,
        c,
        total,
        |first, n| {
            let mut w = Waiting::new();
            for v in first..first + n {
                let mut v = v;
                while let Err(back) = q.try_publish(v) {
                    v = back;
                    w.wait(Wait::Snooze);
                }
                w.reset();
            }
        },
        |n| {
            let mut w = Waiting::new();
            let mut sum = 0;
            for _ in 0..n {
                loop {
                    if let Some(v) = q.try_take() {
                        sum += v;
                        break;
                    }
                    w.wait(Wait::Snooze);
                }
                w.reset();
            }
            sum
        },
    );
    total as f64 / took.as_secs_f64() / 1e6
}

const BLOCK: u64 = 64;

/// ns per push + pop, one thread, blocks of 64.
fn ring_st<Q: Queue>(blocks: u64) -> f64 {
    let q = Q::open(1024);
    let mut sum = 0;
    let t0 = Instant::now();
    for b in 0..blocks {
        for i in 0..BLOCK {
            q.try_push(black_box(b * BLOCK + i)).expect("room");
        }
        for _ in 0..BLOCK {
            sum += q.try_pop().expect("an item");
        }
    }
    let took = t0.elapsed();
    let n = blocks * BLOCK;
    assert_eq!(black_box(sum), n * (n - 1) / 2);
    took.as_nanos() as f64 / n as f64
}

/// ns per publish + receive + ack, one thread, blocks of 64; `batch` > 1
/// receives and acks with the batch calls.
fn ack_st<A: Acks>(blocks: u64, batch: usize) -> f64 {
    let q = A::open(1024, 1024);
    let mut sum = 0;
    let t0 = Instant::now();
    for b in 0..blocks {
        for i in 0..BLOCK {
            q.try_publish(black_box(b * BLOCK + i)).expect("room");
        }
        if batch <= 1 {
            for _ in 0..BLOCK {
                sum += q.try_take().expect("a message");
            }
        } else {
            let mut got = 0;
            while got < BLOCK as usize {
                got += q.try_take_batch(batch, &mut sum);
            }
        }
    }
    let took = t0.elapsed();
    let n = blocks * BLOCK;
    assert_eq!(black_box(sum), n * (n - 1) / 2);
    took.as_nanos() as f64 / n as f64
}

/// What a figure is, for its column heading.
#[derive(Clone, Copy, PartialEq)]
enum Unit {
    NsPerMsg,
    Mmsgs,
}

/// One contender's run of a workload: its figure.
type Run = Box<dyn Fn() -> f64>;

struct Workload {
    name: String,
    unit: Unit,
    /// One run per contender: A, B, and the peer when there is one.
    runs: Vec<(&'static str, Run)>,
}

fn workloads(quick: bool) -> Vec<Workload> {
    // AB_BLOCKS sets the single-thread workloads' blocks of 64 (for
    // instruction counts per message: the difference of two runs).
    let st_blocks = std::env::var("AB_BLOCKS")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(if quick { 200 } else { 4_000 });
    let mt = if quick { 24_000 } else { 1_008_000 };
    let ack_mt_n = if quick { 24_000 } else { 240_000 };
    let mut w = vec![
        Workload {
            name: "st/ring".into(),
            unit: Unit::NsPerMsg,
            runs: vec![
                ("A", Box::new(move || ring_st::<RingA>(st_blocks))),
                ("B", Box::new(move || ring_st::<RingB>(st_blocks))),
                (
                    "ArrayQueue",
                    Box::new(move || ring_st::<ArrayQueue>(st_blocks)),
                ),
            ],
        },
        Workload {
            name: "st/ring-batch16".into(),
            unit: Unit::NsPerMsg,
            runs: vec![
                ("A", Box::new(move || ring_st_batch::<RingA>(st_blocks, 16))),
                ("B", Box::new(move || ring_st_batch::<RingB>(st_blocks, 16))),
                ("rtrb", Box::new(move || rtrb_st(st_blocks, 16))),
            ],
        },
        Workload {
            name: "st/ack".into(),
            unit: Unit::NsPerMsg,
            runs: vec![
                ("A", Box::new(move || ack_st::<AckA>(st_blocks, 1))),
                ("B", Box::new(move || ack_st::<AckB>(st_blocks, 1))),
            ],
        },
        // B here is this tree with latency off: the cost of recording.
        Workload {
            name: "st/ack-latency".into(),
            unit: Unit::NsPerMsg,
            runs: vec![
                ("A", Box::new(move || ack_st::<AckLatencyA>(st_blocks, 1))),
                ("B", Box::new(move || ack_st::<AckA>(st_blocks, 1))),
            ],
        },
        Workload {
            name: "st/ack-redelivery".into(),
            unit: Unit::NsPerMsg,
            runs: vec![
                ("A", Box::new(move || ack_st::<AckPolicyA>(st_blocks, 1))),
                ("B", Box::new(move || ack_st::<AckB>(st_blocks, 1))),
            ],
        },
        Workload {
            name: "st/ack-batch16".into(),
            unit: Unit::NsPerMsg,
            runs: vec![
                ("A", Box::new(move || ack_st::<AckA>(st_blocks, 16))),
                ("B", Box::new(move || ack_st::<AckB>(st_blocks, 16))),
            ],
        },
    ];
    for (shape, p, c) in [("1P1C", 1, 1), ("4P4C", 4, 4), ("8P1C", 8, 1)] {
        for (loop_name, how) in [
            ("try-snooze", Wait::Snooze),
            ("try-spin1", Wait::Spin1),
            ("blocking", Wait::Blocking),
        ] {
            w.push(Workload {
                name: format!("{shape}/{loop_name}"),
                unit: Unit::Mmsgs,
                runs: vec![
                    ("A", Box::new(move || ring_mt::<RingA>(p, c, how, mt))),
                    ("B", Box::new(move || ring_mt::<RingB>(p, c, how, mt))),
                    (
                        "ArrayQueue",
                        Box::new(move || ring_mt::<ArrayQueue>(p, c, how, mt)),
                    ),
                ],
            });
        }
    }
    for (shape, p, c) in [
        ("1P1C", 1, 1),
        ("2P2C", 2, 2),
        ("1P3C", 1, 3),
        ("4P1C", 4, 1),
    ] {
        w.push(Workload {
            name: format!("ack/{shape}/try-snooze"),
            unit: Unit::Mmsgs,
            runs: vec![
                ("A", Box::new(move || ack_mt_try::<AckA>(p, c, ack_mt_n))),
                ("B", Box::new(move || ack_mt_try::<AckB>(p, c, ack_mt_n))),
            ],
        });
        w.push(Workload {
            name: format!("ack/{shape}/blocking"),
            unit: Unit::Mmsgs,
            runs: vec![
                ("A", Box::new(move || ack_mt::<AckA>(p, c, ack_mt_n, true))),
                ("B", Box::new(move || ack_mt::<AckB>(p, c, ack_mt_n, true))),
            ],
        });
    }
    for (shape, p, c) in [
        ("1P1C", 1, 1),
        ("2P2C", 2, 2),
        ("1P3C", 1, 3),
        ("4P1C", 4, 1),
    ] {
        w.push(Workload {
            name: format!("pool/{shape}"),
            unit: Unit::Mmsgs,
            runs: vec![
                ("A", Box::new(move || ack_mt::<AckA>(p, c, ack_mt_n, false))),
                ("B", Box::new(move || ack_mt::<AckB>(p, c, ack_mt_n, false))),
                (
                    "channel",
                    Box::new(move || ack_mt::<Channel>(p, c, ack_mt_n, false)),
                ),
                (
                    "channel+map",
                    Box::new(move || ack_mt::<ChannelTracker>(p, c, ack_mt_n, false)),
                ),
            ],
        });
    }
    w
}

/// Median, min and max.
fn summary(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn fmt3((m, lo, hi): (f64, f64, f64)) -> String {
    format!("{m:.2} ({lo:.2}–{hi:.2})")
}

/// Whether workload `name` matches `filter`: contains it, or equals it
/// without its trailing `$` (`st/ack$` is `st/ack` alone).
fn matches(name: &str, filter: &str) -> bool {
    match filter.strip_suffix('$') {
        Some(exact) => name == exact,
        None => name.contains(filter),
    }
}

fn main() {
    CORES.get_or_init(|| core_affinity::get_core_ids().unwrap_or_default());
    let filters: Vec<String> = std::env::args().skip(1).collect();
    let quick = std::env::var("AB_QUICK").is_ok();
    let rounds: usize = std::env::var("AB_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if quick { 3 } else { 21 });
    let mut all = workloads(quick);
    // AB_ONLY=NAME keeps one contender (A, B, ArrayQueue): for profiling
    // one build under callgrind or perf.
    if let Ok(only) = std::env::var("AB_ONLY") {
        for w in &mut all {
            w.runs.retain(|(name, _)| *name == only);
        }
        all.retain(|w| !w.runs.is_empty());
        let wanted =
            |w: &&Workload| filters.is_empty() || filters.iter().any(|f| matches(&w.name, f));
        for w in all.iter().filter(wanted) {
            for (_, run) in &w.runs {
                println!("{} {}: {:.2}", w.name, only, run());
            }
        }
        return;
    }
    let chosen: Vec<&Workload> = all
        .iter()
        .filter(|w| filters.is_empty() || filters.iter().any(|f| matches(&w.name, f)))
        .collect();
    println!(
        "{} workload(s), {rounds} rounds, {} core(s); figures: median (min–max) over rounds; \
         ratios taken within each round",
        chosen.len(),
        CORES.get().unwrap().len()
    );
    // figures[w][contender][round]
    let mut figures: Vec<Vec<Vec<f64>>> = chosen
        .iter()
        .map(|w| vec![Vec::new(); w.runs.len()])
        .collect();
    for round in 0..rounds {
        for (wi, w) in chosen.iter().enumerate() {
            // Warm the code and the allocator once before the first round.
            if round == 0 {
                for (_, run) in &w.runs {
                    run();
                }
            }
            let n = w.runs.len();
            for k in 0..n {
                let ci = (k + round) % n;
                figures[wi][ci].push((w.runs[ci].1)());
            }
        }
        eprintln!("round {}/{rounds} done", round + 1);
    }
    println!();
    println!("| workload | unit | A | B | A ÷ B (better > 1) | A ÷ each peer (better > 1) (peer) |");
    println!("|---|---|---|---|---|---|");
    for (w, f) in chosen.iter().zip(&figures) {
        // "Better" ratios: throughput A/B, cost B/A.
        let better = |x: f64, y: f64| match w.unit {
            Unit::Mmsgs => x / y,
            Unit::NsPerMsg => y / x,
        };
        let ratio = |i: usize, j: usize| -> String {
            fmt3(summary(
                f[i].iter()
                    .zip(&f[j])
                    .map(|(&x, &y)| better(x, y))
                    .collect(),
            ))
        };
        let peers: Vec<String> = (2..w.runs.len())
            .map(|j| {
                format!(
                    "{}: {} ({})",
                    w.runs[j].0,
                    ratio(0, j),
                    fmt3(summary(f[j].clone()))
                )
            })
            .collect();
        let peer = if peers.is_empty() {
            "–".to_string()
        } else {
            peers.join("; ")
        };
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            w.name,
            match w.unit {
                Unit::NsPerMsg => "ns/msg",
                Unit::Mmsgs => "Mmsg/s",
            },
            fmt3(summary(f[0].clone())),
            fmt3(summary(f[1].clone())),
            ratio(0, 1),
            peer
        );
    }
    // The ack layer's single-thread cost in units of the ring's, within
    // each round, for each build: the targets' measure.
    let ring = chosen.iter().position(|w| w.name == "st/ring");
    let acks = chosen
        .iter()
        .enumerate()
        .filter(|(_, w)| w.name.starts_with("st/ack"));
    if let Some(r) = ring {
        println!();
        println!("| cost ÷ `st/ring`, same build, same round | A | B |");
        println!("|---|---|---|");
        for (i, w) in acks {
            let cost = |c: usize| {
                fmt3(summary(
                    figures[i][c]
                        .iter()
                        .zip(&figures[r][c])
                        .map(|(&a, &r)| a / r)
                        .collect(),
                ))
            };
            println!("| {} | {} | {} |", w.name, cost(0), cost(1));
        }
    }
}
