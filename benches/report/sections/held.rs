//! The held-message figure: a worker pool's throughput while one message
//! is held for the whole run, as a ratio to the same pool without it.
//!
//! One producer publishes `total` messages with `publish`; `WORKERS`
//! threads receive and ack them. In the held run, whichever worker gets
//! message 0 keeps it unsettled (a slow handler, or a hung worker before
//! its lease expires) until every other message is acked, then acks it.
//! A queue that blocks on an old unsettled message stalls there (its
//! producer waits for room that only the held message's settle gives):
//! when no message is acked for `STALL`, the run gives up holding and acks
//! message 0, so such a queue finishes, every stall costing it `STALL`,
//! well below 1; one that isolates the held message reads near 1.
//!
//! Every run checks that each message was acked exactly once (count and
//! sum) and that the watermark reached the publish count.

use std::fmt::Write as _;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use ackring::{AckQueue, Tag};

use super::{Context, Section, HELD};
use crate::figure::{Goal, Target};
use crate::peers::Calls;
use crate::results::{Key, Rows};
use crate::{pin, rotated, tables, Suite};

/// The held-message figure.
pub struct Held;

/// The figure's shape label.
const SHAPE: &str = "1 producer, 3 workers";
/// The pool with nothing held, and with message 0 held for the run.
const FREE: Key = Key::new("pool", Calls::Blocking, 1);
const HOLDING: Key = Key::new("pool-held", Calls::Blocking, 1);

impl Section for Held {
    fn id(&self) -> &'static str {
        HELD
    }

    fn measure(&self, suite: &mut Suite, round: usize) {
        let runs = [
            ("AckQueue pool", FREE, false),
            ("AckQueue pool, message 0 held", HOLDING, true),
        ];
        for (name, key, hold) in rotated(&runs, round - 1) {
            suite.throughput(HELD, SHAPE, round, name, key, |total| {
                pool(total.max(2), hold)
            });
        }
    }

    fn method(&self, _cx: &Context) -> String {
        format!(
            "**One message held.** A pool of {WORKERS} worker threads and one producer on one \
             `AckQueue<u64>` (capacity {CAPACITY}, `max_in_flight({MAX_IN_FLIGHT})`, a lease \
             that never expires during a run), the producer using `publish`, the workers \
             `receive_timeout` and `ack`. In the held run the worker that gets message 0 keeps \
             it unsettled until every other message is acked (a slow handler, or a hung worker \
             before its lease expires); the figure is that pool's throughput ÷ the same pool's \
             without it, in the same round. Each run checks that every message was acked once \
             (count and sum) and that the watermark reached the publish count."
        )
    }

    fn targets(&self, cx: &Context) -> Vec<Target> {
        vec![Target {
            what: "pool throughput with one message held for the run ÷ without".to_string(),
            calls: Calls::Blocking.label(),
            goal: Some(Goal::AtLeast(0.8)),
            got: Rows::of(cx.results, HELD, SHAPE).ratio(HOLDING, FREE),
        }]
    }

    fn write(&self, cx: &Context, o: &mut String) -> io::Result<Vec<(String, String)>> {
        let rows = Rows::of(cx.results, HELD, SHAPE);
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let _ = writeln!(
            o,
            "## One message held: does the rest of the pool keep flowing?\n"
        );
        let _ = writeln!(
            o,
            "{SHAPE}, {}; million messages / s, median (min–max) over rounds, and the ratio to \
             the pool with nothing held taken within each round:\n",
            Calls::Blocking.label()
        );
        let runs = [
            ("nothing held", FREE),
            ("message 0 held for the run", HOLDING),
        ];
        let body = runs.map(|(label, key)| {
            let rate = tables::rate_spread(&rows.rates(key));
            vec![label.into(), rate, rows.ratio(key, FREE).ratio()]
        });
        tables::table(o, &["pool", "Mmsg/s", "÷ nothing held"], 3, body.into());
        Ok(Vec::new())
    }
}

/// Workers in the pool.
pub const WORKERS: usize = 3;
/// The queue's settings: a capacity and prefetch limit a pool would use.
const CAPACITY: usize = 1024;
const MAX_IN_FLIGHT: usize = 64;
/// Long enough never to expire during a run.
const LEASE: Duration = Duration::from_secs(60);
/// How long the pool may make no progress before the held message is let
/// go.
const STALL: Duration = Duration::from_millis(50);

/// Runs the pool once over `total` messages, holding message 0 for the
/// whole run if `hold`; returns the time from the start barrier until the
/// last message is acked.
pub fn pool(total: u64, hold: bool) -> Duration {
    assert!(total >= 2, "the held run needs another message");
    let q = AckQueue::builder()
        .capacity(CAPACITY)
        .max_in_flight(MAX_IN_FLIGHT)
        .lease(LEASE)
        .build()
        .expect("valid configuration");
    let start = Barrier::new(WORKERS + 2);
    // Acked messages other than the held one, and their sum.
    let acked = AtomicU64::new(0);
    let sum = AtomicU64::new(0);
    let held: Mutex<Option<Tag>> = Mutex::new(None);
    let done = AtomicBool::new(false);
    let others = if hold { total - 1 } else { total };
    let elapsed = std::thread::scope(|s| {
        s.spawn(|| {
            pin::pin(0);
            start.wait();
            for i in 0..total {
                q.publish(i).expect("never closed");
            }
        });
        for w in 0..WORKERS {
            let (q, start, acked, sum, held, done) = (&q, &start, &acked, &sum, &held, &done);
            s.spawn(move || {
                pin::pin(1 + w);
                start.wait();
                while !done.load(Ordering::Acquire) {
                    let Ok(Some(d)) = q.receive_timeout(Duration::from_millis(1)) else {
                        continue;
                    };
                    if hold && *d == 0 {
                        *held.lock().expect("not poisoned") = Some(d.detach());
                        continue;
                    }
                    sum.fetch_add(*d, Ordering::Relaxed);
                    d.ack().expect("first ack of a live delivery");
                    if acked.fetch_add(1, Ordering::AcqRel) + 1 == others {
                        done.store(true, Ordering::Release);
                    }
                }
            });
        }
        start.wait();
        let began = Instant::now();
        let release = || {
            let tag = held.lock().expect("not poisoned").take();
            if let Some(tag) = tag {
                q.ack(tag).expect("the held delivery is still current");
            }
        };
        let (mut seen, mut since) = (0, Instant::now());
        while !done.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_micros(200));
            // Acquire: pairs with the workers' AcqRel increments; only a
            // progress reading.
            let now = acked.load(Ordering::Acquire);
            if now != seen {
                (seen, since) = (now, Instant::now());
            } else if hold && since.elapsed() > STALL {
                // Stalled behind the held message: let it go.
                release();
            }
        }
        if hold {
            release();
        }
        began.elapsed()
    });
    assert_eq!(
        acked.load(Ordering::Relaxed),
        others,
        "every message acked once"
    );
    // The held message is 0: the others' sum is the whole sum.
    assert_eq!(
        sum.load(Ordering::Relaxed),
        total * (total - 1) / 2,
        "the acked values"
    );
    assert_eq!(q.settled_below().get(), total, "all settled");
    elapsed
}
