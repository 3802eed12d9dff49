//! Multi-threaded behaviour of `Ring<T>`.
//!
//! - Accounting: producers send `(producer id, sequence)` messages through
//!   the ring; every message must arrive exactly once (a bitmap per
//!   producer), in each producer's order as seen by each consumer, with the
//!   right count and sum. Shapes 1×1, 4×4 and 8×1, on every wait strategy,
//!   with blocking calls, `try_*` loops, batch calls, timed calls and a mix.
//! - Waiting calls: timeouts give the value back and lose nothing; waiting
//!   calls succeed once the other side makes progress; parked threads are
//!   woken by the opposite operation (a lost wake-up hangs, which the
//!   watchdog turns into a failure).
//! - `len` never exceeds the capacity while other threads push and pop.
//!
//! Nothing here asserts on speed: the watchdog limits are only there so a
//! hang fails instead of blocking the test run forever.
//!
//! Sizes: in debug builds (plain `cargo test` on a 2-core machine) five
//! configurations carry 10^6 messages each (blocking 4×4 on `Backoff` and
//! `Park`, blocking 1×1 on `Park`, `try_*` loops 1×1 and batches 4×4 on
//! `Backoff`) and the others 5·10^4 (10^4 for busy-spinning blocking calls
//! with more threads than cores); `cargo test --release` runs 10^6 messages
//! in every configuration.

// The deprecated `push` and `pop` stay covered while they exist.
#![allow(deprecated)]

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use ackring::{Full, Ring, WaitStrategy};

mod common;
use common::rng::Rng;
use common::wait::{watchdog, STRATEGIES};

const SPIN: WaitStrategy = WaitStrategy::Spin;
const BACKOFF: WaitStrategy = WaitStrategy::Backoff;
const PARK: WaitStrategy = WaitStrategy::Park;

/// Messages per configuration: 10^6 always in release builds; in debug
/// builds only where the test asks for `FULL`.
const FULL: u64 = 1_000_000;
const REDUCED: u64 = if cfg!(debug_assertions) {
    50_000
} else {
    1_000_000
};
/// For busy-spinning blocking calls with more threads than cores.
const OVERSUBSCRIBED_SPIN: u64 = if cfg!(debug_assertions) {
    10_000
} else {
    1_000_000
};

// ---------------------------------------------------------------------------
// Accounting
// ---------------------------------------------------------------------------

/// Message layout: producer id in the high bits, sequence in the low ones.
const SEQ_BITS: u32 = 40;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;
/// Tells a blocking consumer to stop; never a real message.
const SENTINEL: u64 = u64::MAX;

fn message(producer: usize, seq: u64) -> u64 {
    ((producer as u64) << SEQ_BITS) | seq
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// `push` / `pop`; consumers stop at a sentinel.
    Blocking,
    /// `try_push` / `try_pop`, yielding after a failed try.
    TryLoop,
    /// `try_push_if_free` / `try_pop_if_ready` (decided from the slot
    /// alone), yielding after a failed try.
    SlotOnly,
    /// `try_push_batch` / `try_pop_batch` with varying sizes.
    Batch,
    /// `push_timeout` / `pop_timeout` with short and zero timeouts.
    Timeout,
    /// Every thread picks among single, batch and timed calls at random.
    Mixed,
}

#[derive(Clone, Copy, Debug)]
struct Config {
    producers: usize,
    consumers: usize,
    /// Messages in total, split evenly between producers.
    messages: u64,
    capacity: usize,
    strategy: WaitStrategy,
    mode: Mode,
}

/// What every consumer has seen, shared.
struct Tracker {
    per_producer: u64,
    total: u64,
    /// One bit per message: set by the consumer that received it.
    seen: Vec<Vec<AtomicU64>>,
    /// Messages received so far, by all consumers.
    received: AtomicU64,
    /// Set when a thread panics, so the others stop instead of waiting for
    /// messages that will never come.
    aborted: AtomicBool,
}

impl Tracker {
    fn new(producers: usize, per_producer: u64) -> Self {
        let words = per_producer.div_ceil(64) as usize;
        Self {
            per_producer,
            total: per_producer * producers as u64,
            seen: (0..producers)
                .map(|_| (0..words).map(|_| AtomicU64::new(0)).collect())
                .collect(),
            received: AtomicU64::new(0),
            aborted: AtomicBool::new(false),
        }
    }

    /// Whether consumers that do not stop at a sentinel should stop.
    fn finished(&self) -> bool {
        self.received.load(Ordering::SeqCst) >= self.total || self.aborted.load(Ordering::SeqCst)
    }

    fn expected_sum(&self) -> u128 {
        let n = u128::from(self.per_producer);
        (0..self.seen.len())
            .map(|p| n * u128::from(message(p, 0)) + n * (n - 1) / 2)
            .sum()
    }
}

/// Sets `aborted` if the thread holding it unwinds.
struct AbortOnPanic<'a>(&'a Tracker);

impl Drop for AbortOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.aborted.store(true, Ordering::SeqCst);
        }
    }
}

/// One consumer's view: the last sequence it saw from each producer.
struct Receiver<'a> {
    tracker: &'a Tracker,
    last: Vec<Option<u64>>,
    count: u64,
    sum: u128,
}

impl<'a> Receiver<'a> {
    fn new(tracker: &'a Tracker) -> Self {
        Self {
            tracker,
            last: vec![None; tracker.seen.len()],
            count: 0,
            sum: 0,
        }
    }

    fn take(&mut self, msg: u64) {
        let producer = (msg >> SEQ_BITS) as usize;
        let seq = msg & SEQ_MASK;
        assert!(
            producer < self.last.len() && seq < self.tracker.per_producer,
            "received a message nobody sent: {msg:#x}"
        );
        if let Some(prev) = self.last[producer] {
            assert!(
                seq > prev,
                "producer {producer}: sequence {seq} received after {prev}"
            );
        }
        self.last[producer] = Some(seq);
        let bit = 1 << (seq % 64);
        let word = &self.tracker.seen[producer][(seq / 64) as usize];
        let before = word.fetch_or(bit, Ordering::Relaxed);
        assert_eq!(
            before & bit,
            0,
            "producer {producer}: sequence {seq} received twice"
        );
        self.count += 1;
        self.sum += u128::from(msg);
        self.tracker.received.fetch_add(1, Ordering::SeqCst);
    }
}

fn produce(ring: &Ring<u64>, tracker: &Tracker, cfg: Config, id: usize) {
    let _guard = AbortOnPanic(tracker);
    let n = tracker.per_producer;
    let mut rng = Rng::new(id as u64 + 101);
    let timeouts = [
        Duration::ZERO,
        Duration::from_micros(20),
        Duration::from_millis(1),
    ];
    let mut batch: Vec<u64> = Vec::with_capacity(32);
    let mut seq = 0;
    while seq < n {
        if tracker.aborted.load(Ordering::Relaxed) {
            return;
        }
        let mode = match cfg.mode {
            Mode::Mixed => [
                Mode::Blocking,
                Mode::TryLoop,
                Mode::SlotOnly,
                Mode::Batch,
                Mode::Timeout,
            ][rng.below(5) as usize],
            m => m,
        };
        match mode {
            Mode::Blocking => {
                ring.push(message(id, seq));
                seq += 1;
            }
            Mode::TryLoop | Mode::SlotOnly => {
                let mut msg = message(id, seq);
                loop {
                    let tried = if mode == Mode::TryLoop {
                        ring.try_push(msg)
                    } else {
                        ring.try_push_if_free(msg)
                    };
                    let Err(Full(back)) = tried else { break };
                    assert_eq!(back, msg, "{mode:?}: the push handed back another value");
                    msg = back;
                    if tracker.aborted.load(Ordering::Relaxed) {
                        return;
                    }
                    thread::yield_now();
                }
                seq += 1;
            }
            Mode::Batch => {
                let len = (1 + rng.below(24)).min(n - seq);
                batch.clear();
                batch.extend((seq..seq + len).map(|s| message(id, s)));
                let mut sent = 0;
                while !batch.is_empty() {
                    let moved = ring.try_push_batch(&mut batch) as u64;
                    sent += moved;
                    assert_eq!(batch.len() as u64, len - sent);
                    // What is left is exactly the unsent tail, in order.
                    if let Some(&first) = batch.first() {
                        assert_eq!(first, message(id, seq + sent));
                    }
                    if moved == 0 {
                        if tracker.aborted.load(Ordering::Relaxed) {
                            return;
                        }
                        thread::yield_now();
                    }
                }
                seq += len;
            }
            Mode::Timeout | Mode::Mixed => {
                let mut msg = message(id, seq);
                loop {
                    let timeout = timeouts[rng.below(3) as usize];
                    match ring.push_timeout(msg, timeout) {
                        Ok(()) => break,
                        Err(full) => {
                            let back = full.into_inner();
                            assert_eq!(back, msg, "push_timeout handed back another value");
                            msg = back;
                            if tracker.aborted.load(Ordering::Relaxed) {
                                return;
                            }
                        }
                    }
                }
                seq += 1;
            }
        }
    }
}

fn consume(ring: &Ring<u64>, tracker: &Tracker, cfg: Config, id: usize) -> (u64, u128) {
    let _guard = AbortOnPanic(tracker);
    let mut rx = Receiver::new(tracker);
    let mut rng = Rng::new(id as u64 + 7);
    let mut out: Vec<u64> = Vec::with_capacity(64);
    let timeouts = [
        Duration::ZERO,
        Duration::from_micros(20),
        Duration::from_millis(1),
    ];
    loop {
        let mode = match cfg.mode {
            // A blocking pop cannot be mixed in without a sentinel.
            Mode::Mixed => {
                [Mode::TryLoop, Mode::SlotOnly, Mode::Batch, Mode::Timeout][rng.below(4) as usize]
            }
            m => m,
        };
        match mode {
            Mode::Blocking => {
                let msg = ring.pop();
                if msg == SENTINEL {
                    break;
                }
                rx.take(msg);
            }
            Mode::TryLoop | Mode::SlotOnly => match if mode == Mode::TryLoop {
                ring.try_pop()
            } else {
                ring.try_pop_if_ready()
            } {
                Some(msg) => rx.take(msg),
                None => {
                    if tracker.finished() {
                        break;
                    }
                    thread::yield_now();
                }
            },
            Mode::Batch => {
                out.clear();
                let max = 1 + rng.below(40) as usize;
                let moved = ring.try_pop_batch(&mut out, max);
                assert_eq!(moved, out.len());
                assert!(moved <= max && moved <= cfg.capacity);
                for &msg in &out {
                    rx.take(msg);
                }
                if moved == 0 {
                    if tracker.finished() {
                        break;
                    }
                    thread::yield_now();
                }
            }
            Mode::Timeout | Mode::Mixed => {
                match ring.pop_timeout(timeouts[rng.below(3) as usize]) {
                    Some(msg) => rx.take(msg),
                    None => {
                        if tracker.finished() {
                            break;
                        }
                    }
                }
            }
        }
    }
    (rx.count, rx.sum)
}

fn run_accounting(cfg: Config) {
    let ring = Ring::with_wait_strategy(cfg.capacity, cfg.strategy);
    let per_producer = cfg.messages / cfg.producers as u64;
    let tracker = Tracker::new(cfg.producers, per_producer);
    let (received, sum) = thread::scope(|s| {
        let consumers: Vec<_> = (0..cfg.consumers)
            .map(|id| {
                let (ring, tracker) = (&ring, &tracker);
                s.spawn(move || consume(ring, tracker, cfg, id))
            })
            .collect();
        let producers: Vec<_> = (0..cfg.producers)
            .map(|id| {
                let (ring, tracker) = (&ring, &tracker);
                s.spawn(move || produce(ring, tracker, cfg, id))
            })
            .collect();
        let producer_results: Vec<_> = producers.into_iter().map(|h| h.join()).collect();
        if cfg.mode == Mode::Blocking {
            // Every real message is ahead of the sentinels, and each
            // consumer stops at the first sentinel it takes.
            for _ in 0..cfg.consumers {
                ring.push(SENTINEL);
            }
        }
        let consumer_results: Vec<_> = consumers.into_iter().map(|h| h.join()).collect();
        for r in producer_results {
            if let Err(panic) = r {
                std::panic::resume_unwind(panic);
            }
        }
        let mut received = 0;
        let mut sum = 0;
        for r in consumer_results {
            match r {
                Ok((count, s)) => {
                    received += count;
                    sum += s;
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        (received, sum)
    });
    assert_eq!(received, tracker.total, "{cfg:?}: messages received");
    assert_eq!(
        tracker.received.load(Ordering::SeqCst),
        tracker.total,
        "{cfg:?}"
    );
    assert_eq!(sum, tracker.expected_sum(), "{cfg:?}: sum of messages");
    for (p, words) in tracker.seen.iter().enumerate() {
        for (w, word) in words.iter().enumerate() {
            let bits_here = (per_producer - 64 * w as u64).min(64);
            let full = if bits_here == 64 {
                u64::MAX
            } else {
                (1 << bits_here) - 1
            };
            assert_eq!(
                word.load(Ordering::Relaxed),
                full,
                "{cfg:?}: producer {p} lost messages in word {w}"
            );
        }
    }
    assert!(ring.is_empty(), "{cfg:?}: ring not empty at the end");
    assert_eq!(ring.try_pop(), None);
}

/// Runs the three shapes (1×1, 4×4, 8×1) for one strategy and mode, each
/// under the watchdog. `messages` gives the totals for each shape.
fn accounting(strategy: WaitStrategy, mode: Mode, messages: [u64; 3]) {
    let shapes = [(1, 1), (4, 4), (8, 1)];
    for ((producers, consumers), messages) in shapes.into_iter().zip(messages) {
        // Small rings wrap often and keep both sides contending; the
        // busy-spinning blocking runs get more room, or a spinning thread
        // that holds a core would wait a whole time slice per handful of
        // messages.
        let capacity = match (strategy, mode) {
            (WaitStrategy::Spin, Mode::Blocking) => 1024,
            _ => match (producers, consumers) {
                (1, 1) => 7,
                (8, 1) => 3,
                _ => 64,
            },
        };
        let cfg = Config {
            producers,
            consumers,
            messages,
            capacity,
            strategy,
            mode,
        };
        watchdog(&format!("{cfg:?}"), move || run_accounting(cfg));
    }
}

#[test]
fn accounting_blocking_backoff() {
    accounting(BACKOFF, Mode::Blocking, [REDUCED, FULL, REDUCED]);
}

#[test]
fn accounting_blocking_park() {
    accounting(PARK, Mode::Blocking, [FULL, FULL, REDUCED]);
}

#[test]
fn accounting_blocking_spin() {
    accounting(
        SPIN,
        Mode::Blocking,
        [REDUCED, OVERSUBSCRIBED_SPIN, OVERSUBSCRIBED_SPIN],
    );
}

#[test]
fn accounting_try_loops() {
    accounting(BACKOFF, Mode::TryLoop, [FULL, REDUCED, REDUCED]);
    accounting(SPIN, Mode::TryLoop, [REDUCED; 3]);
    accounting(PARK, Mode::TryLoop, [REDUCED; 3]);
}

#[test]
fn accounting_slot_only_try_loops() {
    accounting(BACKOFF, Mode::SlotOnly, [FULL, REDUCED, REDUCED]);
    accounting(SPIN, Mode::SlotOnly, [REDUCED; 3]);
}

#[test]
fn accounting_batches() {
    accounting(BACKOFF, Mode::Batch, [REDUCED, FULL, REDUCED]);
    accounting(SPIN, Mode::Batch, [REDUCED; 3]);
    accounting(PARK, Mode::Batch, [REDUCED; 3]);
}

#[test]
fn accounting_timeouts() {
    for s in STRATEGIES {
        accounting(s, Mode::Timeout, [REDUCED; 3]);
    }
}

#[test]
fn accounting_mixed_calls() {
    // Mixed producers also use the blocking `push`: with busy-spinning and
    // eight producers on fewer cores, keep that shape small.
    accounting(SPIN, Mode::Mixed, [REDUCED, REDUCED, OVERSUBSCRIBED_SPIN]);
    accounting(BACKOFF, Mode::Mixed, [REDUCED; 3]);
    accounting(PARK, Mode::Mixed, [REDUCED; 3]);
}

// ---------------------------------------------------------------------------
// Waiting calls, timeouts and wake-ups
// ---------------------------------------------------------------------------

/// Rounds of a single item handed back and forth between two threads
/// through two capacity-1 rings; every round needs the other thread to
/// wake up, so a lost wake-up under `Park` hangs here.
#[test]
fn ping_pong_never_loses_a_wake_up() {
    for strategy in STRATEGIES {
        let rounds: u64 = match strategy {
            WaitStrategy::Park => 20_000,
            _ => 5_000,
        };
        watchdog(&format!("ping-pong {strategy:?}"), move || {
            let ping = Ring::with_wait_strategy(1, strategy);
            let pong = Ring::with_wait_strategy(1, strategy);
            thread::scope(|s| {
                s.spawn(|| {
                    for _ in 0..rounds {
                        let v: u64 = ping.pop();
                        pong.push(v + 1);
                    }
                });
                let mut v = 0;
                for round in 0..rounds {
                    ping.push(v);
                    v = pong.pop();
                    assert_eq!(v, 2 * round + 1);
                    v += 1;
                }
                assert_eq!(v, 2 * rounds);
            });
            assert!(ping.is_empty() && pong.is_empty());
        });
    }
}

/// A producer and a consumer through one capacity-1 ring: each push waits
/// for the previous pop, each pop for the next push, so both sides park
/// over and over (parked pushers woken by pops, parked poppers by pushes).
#[test]
fn capacity_one_handoff_in_order() {
    for strategy in STRATEGIES {
        let n: u64 = match strategy {
            WaitStrategy::Park => 50_000,
            _ => 10_000,
        };
        watchdog(&format!("handoff {strategy:?}"), move || {
            let ring = Ring::with_wait_strategy(1, strategy);
            thread::scope(|s| {
                s.spawn(|| {
                    for i in 0..n {
                        ring.push(i);
                    }
                });
                for i in 0..n {
                    assert_eq!(ring.pop(), i);
                }
            });
            assert!(ring.is_empty());
        });
    }
}

/// Waits until `count` reads `target` (or fails after the watchdog; never a
/// speed check).
fn wait_for(count: &AtomicUsize, target: usize) {
    while count.load(Ordering::SeqCst) < target {
        thread::sleep(Duration::from_millis(1));
    }
}

/// Several poppers asleep on an empty ring; one batch push of as many items
/// must wake all of them (each takes one item), and one batch pop must wake
/// every pusher asleep on a full ring.
#[test]
fn batch_calls_wake_every_parked_thread() {
    const WAITERS: usize = 3;
    watchdog("batch wake-ups", || {
        for round in 0..20 {
            let ring = Arc::new(Ring::<usize>::with_wait_strategy(WAITERS, PARK));
            let started = Arc::new(AtomicUsize::new(0));
            let poppers: Vec<_> = (0..WAITERS)
                .map(|_| {
                    let (ring, started) = (Arc::clone(&ring), Arc::clone(&started));
                    thread::spawn(move || {
                        started.fetch_add(1, Ordering::SeqCst);
                        ring.pop()
                    })
                })
                .collect();
            wait_for(&started, WAITERS);
            // Give them time to go to sleep (not required for correctness).
            thread::sleep(Duration::from_millis(round % 3));
            let mut items: Vec<usize> = (0..WAITERS).collect();
            // The ring is empty, so the whole batch fits.
            assert_eq!(ring.try_push_batch(&mut items), WAITERS);
            let mut got: Vec<usize> = poppers.into_iter().map(|h| h.join().unwrap()).collect();
            got.sort_unstable();
            assert_eq!(got, (0..WAITERS).collect::<Vec<_>>());
            assert!(ring.is_empty());

            // Now the other direction: pushers asleep on a full ring.
            for i in 0..WAITERS {
                ring.try_push(100 + i).unwrap();
            }
            let started = Arc::new(AtomicUsize::new(0));
            let pushers: Vec<_> = (0..WAITERS)
                .map(|i| {
                    let (ring, started) = (Arc::clone(&ring), Arc::clone(&started));
                    thread::spawn(move || {
                        started.fetch_add(1, Ordering::SeqCst);
                        ring.push(200 + i);
                    })
                })
                .collect();
            wait_for(&started, WAITERS);
            thread::sleep(Duration::from_millis(round % 3));
            let mut out = Vec::new();
            assert_eq!(ring.try_pop_batch(&mut out, WAITERS), WAITERS);
            assert_eq!(out, (100..100 + WAITERS).collect::<Vec<_>>());
            for h in pushers {
                h.join().unwrap();
            }
            out.clear();
            assert_eq!(ring.try_pop_batch(&mut out, WAITERS), WAITERS);
            out.sort_unstable();
            assert_eq!(out, (200..200 + WAITERS).collect::<Vec<_>>());
        }
    });
}

/// Many parked poppers and pushers on a tiny ring: everything pushed is
/// popped, nobody stays asleep.
#[test]
fn many_parked_pushers_and_poppers_all_finish() {
    watchdog("many parked", || {
        const THREADS: usize = 4;
        const EACH: u64 = 5_000;
        let ring = Ring::with_wait_strategy(1, PARK);
        let tracker = Tracker::new(THREADS, EACH);
        let cfg = Config {
            producers: THREADS,
            consumers: THREADS,
            messages: EACH * THREADS as u64,
            capacity: 1,
            strategy: PARK,
            mode: Mode::Blocking,
        };
        thread::scope(|s| {
            let consumers: Vec<_> = (0..THREADS)
                .map(|id| {
                    let (ring, tracker) = (&ring, &tracker);
                    s.spawn(move || consume(ring, tracker, cfg, id))
                })
                .collect();
            let producers: Vec<_> = (0..THREADS)
                .map(|id| {
                    let (ring, tracker) = (&ring, &tracker);
                    s.spawn(move || produce(ring, tracker, cfg, id))
                })
                .collect();
            for h in producers {
                h.join().unwrap();
            }
            for _ in 0..THREADS {
                ring.push(SENTINEL);
            }
            let total: u64 = consumers.into_iter().map(|h| h.join().unwrap().0).sum();
            assert_eq!(total, EACH * THREADS as u64);
        });
        assert_eq!(tracker.received.load(Ordering::SeqCst), tracker.total);
    });
}

/// Timed calls that cannot succeed give the value back (push) or nothing
/// (pop), while other threads wait on the same ring, and leave its
/// contents untouched.
#[test]
fn timeouts_under_contention_lose_nothing() {
    for strategy in STRATEGIES {
        watchdog(&format!("timeouts {strategy:?}"), move || {
            const THREADS: usize = 4;
            const TRIES: usize = 25;
            let ring = Ring::with_wait_strategy(3, strategy);
            for i in 0..3 {
                ring.try_push(i).unwrap();
            }
            // Full ring: every timed push comes back with its own value.
            thread::scope(|s| {
                for t in 0..THREADS {
                    let ring = &ring;
                    s.spawn(move || {
                        for i in 0..TRIES {
                            let v = 1000 * (t + 1) + i;
                            let timeout = Duration::from_micros(200 * (i as u64 % 3));
                            let back = ring.push_timeout(v, timeout).unwrap_err();
                            assert_eq!(back.into_inner(), v);
                        }
                    });
                }
            });
            assert!(ring.is_full());
            for i in 0..3 {
                assert_eq!(ring.try_pop(), Some(i));
            }
            // Empty ring: every timed pop comes back empty-handed.
            thread::scope(|s| {
                for _ in 0..THREADS {
                    let ring = &ring;
                    s.spawn(move || {
                        for i in 0..TRIES {
                            let timeout = Duration::from_micros(200 * (i as u64 % 3));
                            assert_eq!(ring.pop_timeout(timeout), None);
                        }
                    });
                }
            });
            assert!(ring.is_empty());
        });
    }
}

/// Timed pops racing for items that arrive slowly: exactly the items pushed
/// are received, each once, whatever number of timeouts happen on the way.
#[test]
fn timed_pops_share_slowly_arriving_items() {
    for strategy in STRATEGIES {
        watchdog(&format!("slow items {strategy:?}"), move || {
            const ITEMS: usize = 300;
            let ring = Ring::<usize>::with_wait_strategy(2, strategy);
            let taken = AtomicUsize::new(0);
            let seen: Vec<AtomicBool> = (0..ITEMS).map(|_| AtomicBool::new(false)).collect();
            thread::scope(|s| {
                for _ in 0..3 {
                    let (ring, taken, seen) = (&ring, &taken, &seen);
                    s.spawn(move || {
                        while taken.load(Ordering::SeqCst) < ITEMS {
                            if let Some(i) = ring.pop_timeout(Duration::from_micros(300)) {
                                assert!(!seen[i].swap(true, Ordering::SeqCst), "{i} twice");
                                taken.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    });
                }
                for i in 0..ITEMS {
                    if i % 10 == 0 {
                        thread::sleep(Duration::from_micros(500));
                    }
                    let mut v = i;
                    // Timed pushes too: whatever times out is retried.
                    while let Err(full) = ring.push_timeout(v, Duration::from_micros(100)) {
                        v = full.into_inner();
                    }
                }
            });
            assert!(seen.iter().all(|b| b.load(Ordering::SeqCst)));
            assert!(ring.is_empty());
        });
    }
}

/// A waiting call succeeds once the other side makes progress, for short,
/// long and unrepresentably long (`Duration::MAX`: wait forever) timeouts.
#[test]
fn waiting_calls_succeed_when_the_other_side_moves() {
    for strategy in STRATEGIES {
        watchdog(&format!("progress {strategy:?}"), move || {
            for timeout in [Duration::from_secs(120), Duration::MAX] {
                let ring = Ring::with_wait_strategy(2, strategy);
                ring.try_push(1).unwrap();
                ring.try_push(2).unwrap();
                let barrier = Barrier::new(2);
                thread::scope(|s| {
                    s.spawn(|| {
                        barrier.wait();
                        thread::sleep(Duration::from_millis(20));
                        assert_eq!(ring.pop(), 1);
                    });
                    barrier.wait();
                    // Full now; room appears only when the thread pops.
                    ring.push_timeout(3, timeout).unwrap();
                });
                assert_eq!(ring.try_pop(), Some(2));
                assert_eq!(ring.try_pop(), Some(3));
                // Empty now; an item appears only when the thread pushes.
                thread::scope(|s| {
                    s.spawn(|| {
                        barrier.wait();
                        thread::sleep(Duration::from_millis(20));
                        ring.push(4);
                    });
                    barrier.wait();
                    assert_eq!(ring.pop_timeout(timeout), Some(4));
                });
                // And the plain blocking calls, on the same pattern.
                thread::scope(|s| {
                    s.spawn(|| {
                        barrier.wait();
                        thread::sleep(Duration::from_millis(20));
                        ring.push(5);
                    });
                    barrier.wait();
                    assert_eq!(ring.pop(), 5);
                });
                assert!(ring.is_empty());
            }
        });
    }
}

// ---------------------------------------------------------------------------
// len under concurrency
// ---------------------------------------------------------------------------

/// A thread samples `len`, `is_empty` and `is_full` while two producers and
/// two consumers keep the ring churning around full and empty: `len` never
/// exceeds the capacity.
#[test]
fn len_never_exceeds_capacity_under_churn() {
    for (capacity, strategy) in [(1, BACKOFF), (3, PARK), (7, BACKOFF), (64, PARK)] {
        watchdog(&format!("len sampler cap {capacity}"), move || {
            const PER_PRODUCER: u64 = 10_000;
            let ring = Ring::with_wait_strategy(capacity, strategy);
            let tracker = Tracker::new(2, PER_PRODUCER);
            let done = AtomicBool::new(false);
            let cfg = Config {
                producers: 2,
                consumers: 2,
                messages: 2 * PER_PRODUCER,
                capacity,
                strategy,
                mode: Mode::Mixed,
            };
            let (samples, max_seen) = thread::scope(|s| {
                let sampler = s.spawn(|| {
                    let mut samples = 0_u64;
                    let mut max_seen = 0;
                    while !done.load(Ordering::SeqCst) {
                        let len = ring.len();
                        assert!(len <= capacity, "len {len} > capacity {capacity}");
                        max_seen = max_seen.max(len);
                        samples += 1;
                        if samples % 64 == 0 {
                            // Leave the cores to the workers now and then.
                            thread::yield_now();
                        }
                    }
                    (samples, max_seen)
                });
                let workers: Vec<_> = (0..2)
                    .flat_map(|id| {
                        let (ring, tracker) = (&ring, &tracker);
                        [
                            s.spawn(move || {
                                produce(ring, tracker, cfg, id);
                            }),
                            s.spawn(move || {
                                consume(ring, tracker, cfg, id);
                            }),
                        ]
                    })
                    .collect();
                // Stop the sampler even if a worker failed, then report.
                let results: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
                done.store(true, Ordering::SeqCst);
                for r in results {
                    if let Err(panic) = r {
                        std::panic::resume_unwind(panic);
                    }
                }
                sampler.join().unwrap()
            });
            assert_eq!(tracker.received.load(Ordering::SeqCst), tracker.total);
            assert!(samples > 0);
            assert!(max_seen <= capacity);
            assert_eq!(ring.len(), 0);
        });
    }
}
