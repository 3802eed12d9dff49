//! Single-thread cost per message: one thread, no contention, blocks of 64
//! sends then 64 receives through each queue (single calls, or the batch
//! calls 16 at a time where the queue has them), ns per message, beside
//! crossbeam's `ArrayQueue` and, for the ack layer, beside `Ring` itself.
//!
//! On a shared machine this is the steadiest figure of the work a queue
//! does per operation: nothing waits, no cache line moves between cores,
//! and a disturbance costs a few rounds, not the ratio within one. The
//! calls are the peers' try calls (and batch calls), inlined into the
//! loop as a user's loop inlines them.

use std::fmt::Write as _;
use std::io;
use std::time::{Duration, Instant};

use super::{Context, Section, COST};
use crate::ack::AckQueuePeer;
use crate::figure::{Figure, Goal, Target};
use crate::peers::{AckRing, ArrayQueue, Calls, Peer};
use crate::results::{Key, Rows};
use crate::{rotated, tables, Suite};

/// The single-thread cost figure.
pub struct Cost;

/// Messages per block: sent, then received.
const BLOCK: u64 = 64;

/// Its label in the records' shape column.
const SHAPE: &str = "1thread";

/// One row: a queue through single or batch calls.
#[derive(Clone, Copy)]
struct Row {
    name: &'static str,
    slug: &'static str,
    /// Messages per receive call (1 = single calls).
    batch: usize,
    /// What a message costs there: sends, receives, acks.
    does: &'static str,
    run: fn(u64, usize) -> Duration,
}

impl Row {
    const fn of<P: Peer>(batch: usize, does: &'static str) -> Row {
        Row {
            name: P::NAME,
            slug: P::SLUG,
            batch,
            does,
            run: one_thread::<P>,
        }
    }

    fn key(&self) -> Key {
        Key::new(self.slug, Calls::TryLoop, self.batch)
    }
}

type Ring = AckRing<1>;
type Acks = AckQueuePeer<false>;

const ROWS: [Row; 6] = [
    Row::of::<ArrayQueue>(1, "push + pop"),
    Row::of::<Ring>(1, "push + pop"),
    Row::of::<Ring>(16, "push + pop, batches of 16"),
    Row::of::<Acks>(1, "publish + receive + ack"),
    Row::of::<Acks>(16, "publish, then receive + ack in batches of 16"),
    Row::of::<AckQueuePeer<false, 2, true>>(1, "publish + receive + ack, latency recorded"),
];

/// Moves `total` messages through a fresh `P` of 1024 on this thread:
/// blocks of 64 sends, then 64 receives (`batch` at a time with the batch
/// calls when more than 1); checks the count and sum, returns the time.
fn one_thread<P: Peer>(total: u64, batch: usize) -> Duration {
    let (mut txs, mut rxs) = P::open(1024, 1, 1).expect("every peer serves 1P1C");
    let (mut tx, mut rx) = (txs.pop().expect("one"), rxs.pop().expect("one"));
    let blocks = total.div_ceil(BLOCK);
    let mut out = Vec::with_capacity(batch);
    let mut buf = Vec::with_capacity(batch);
    let (mut got, mut sum) = (0u64, 0u64);
    let t0 = Instant::now();
    for b in 0..blocks {
        if batch > 1 {
            for part in (0..BLOCK).step_by(batch) {
                let last = (part + batch as u64).min(BLOCK);
                buf.extend((part..last).map(|i| std::hint::black_box(b * BLOCK + i)));
                while !buf.is_empty() {
                    assert!(P::try_send_batch(&mut tx, &mut buf) > 0, "room for a block");
                }
            }
        } else {
            for i in 0..BLOCK {
                P::try_send(&mut tx, std::hint::black_box(b * BLOCK + i))
                    .expect("room for a block");
            }
        }
        let mut left = BLOCK;
        while left > 0 {
            if batch > 1 {
                out.clear();
                let n = P::try_recv_batch(&mut rx, &mut out, batch) as u64;
                assert!(n > 0, "{}: a block's messages are there", P::NAME);
                sum = sum.wrapping_add(out.iter().sum::<u64>());
                left -= n;
                got += n;
            } else {
                let v = P::try_recv(&mut rx).expect("a block's messages are there");
                sum = sum.wrapping_add(v);
                left -= 1;
                got += 1;
            }
        }
    }
    let took = t0.elapsed();
    let n = blocks * BLOCK;
    assert_eq!(
        (got, std::hint::black_box(sum)),
        (n, n * (n - 1) / 2),
        "{}: every message once",
        P::NAME
    );
    took
}

/// ns per message from a rate figure.
fn ns_per_message(rates: &Figure) -> String {
    match rates.spread() {
        Some((lo, med, hi)) => format!("{:.1} ({:.1}–{:.1})", 1e9 / med, 1e9 / hi, 1e9 / lo),
        None => "–".into(),
    }
}

impl Section for Cost {
    fn id(&self) -> &'static str {
        COST
    }

    fn measure(&self, suite: &mut Suite, round: usize) {
        for row in rotated(&ROWS, round - 1) {
            suite.throughput(COST, SHAPE, round, row.name, row.key(), |total| {
                (row.run)(total, row.batch)
            });
        }
    }

    fn method(&self, _cx: &Context) -> String {
        format!(
            "**Single-thread cost per message.** One thread, no contention: blocks of {BLOCK} \
             sends, then {BLOCK} receives (single or batch calls), through a queue of 1024; ns \
             per message, and cost ratios taken within each round. For the ack layer a message \
             is a publish, a receive and an ack. The steadiest figure of work per operation on \
             a shared machine: read it first."
        )
    }

    fn targets(&self, cx: &Context) -> Vec<Target> {
        let rows = Rows::of(cx.results, COST, SHAPE);
        // A cost ratio X ÷ Y is the rate ratio Y ÷ X.
        let cost = |x: Row, y: Row| rows.ratio(y.key(), x.key());
        let [aq, ring, ring16, acks, acks16, _] = ROWS;
        vec![
            Target {
                what: "Single thread, ns per push + pop, `Ring` ÷ ArrayQueue".into(),
                calls: "the try calls",
                goal: Some(Goal::AtMost(1.0)),
                got: cost(ring, aq),
            },
            Target {
                what: "Single thread, ns per message, `AckQueue` publish + receive + ack ÷ `Ring` \
                       push + pop"
                    .into(),
                calls: "the try calls",
                goal: Some(Goal::AtMost(2.0)),
                got: cost(acks, ring),
            },
            Target {
                what: "Single thread, ns per message, `AckQueue` with batch receive + ack of 16 ÷ \
                       `Ring` push + pop"
                    .into(),
                calls: "the try calls, batch receive and ack",
                goal: Some(Goal::AtMost(1.3)),
                got: cost(acks16, ring),
            },
            Target {
                what: "Single thread, ns per push + pop, `Ring` batches of 16 ÷ single calls"
                    .into(),
                calls: "the batch calls",
                goal: None,
                got: cost(ring16, ring),
            },
        ]
    }

    fn write(&self, cx: &Context, o: &mut String) -> io::Result<Vec<(String, String)>> {
        let rows = Rows::of(cx.results, COST, SHAPE);
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let _ = writeln!(o, "## Single-thread cost per message\n");
        let _ = writeln!(
            o,
            "One thread, no contention; ns per message, median (min–max) over rounds, and cost \
             ratios taken within each round (lower is cheaper):\n"
        );
        let (aq, ring) = (ROWS[0].key(), ROWS[1].key());
        let body = ROWS.iter().map(|row| {
            let k = row.key();
            let ns = ns_per_message(&rows.rates(k));
            let (to_aq, to_ring) = (rows.ratio(aq, k).ratio(), rows.ratio(ring, k).ratio());
            vec![row.name.into(), row.does.into(), ns, to_aq, to_ring]
        });
        let head = [
            "queue",
            "a message is",
            "ns / message",
            "÷ ArrayQueue",
            "÷ `Ring` push + pop",
        ];
        tables::table(o, &head, head.len(), body.collect());
        Ok(Vec::new())
    }
}
