//! Async throughput: sender and receiver tasks on a tokio runtime, through
//! ackring's futures (`Ring`: `send_async` / `recv_async`; `AckQueue`:
//! `publish_async` / `receive_async` + ack) and the async channels users
//! pick today (tokio `mpsc`, async-channel, flume, kanal, thingbuf), in
//! thingbuf's published shape (capacity 100; 1, 10, 50, 100 senders, one
//! receiver) and with 4 senders and 4 receivers for the queues that serve
//! several. Each of ours is a ratio to the best peer of the same round.

mod peers;

use std::fmt::Write as _;
use std::io;

use super::{Context, Section, ASYNC};
use crate::figure::{Figure, Goal, Target};
use crate::peers::Calls;
use crate::results::{Key, Results, Rows};
use crate::{rotated, tables, Suite};
use peers::{Shape, Side, CAPACITY, SHAPES, SIDES};

/// The async section.
pub struct Async;

/// What the figures use, as the targets table names it.
const CALLS: &str = "each queue's own futures, on tokio";

/// `Ring`'s futures ÷ the best peer: the target.
const RING_GOAL: f64 = 1.2;
/// `AckQueue`'s futures ÷ the best peer: the target.
const ACK_GOAL: f64 = 0.5;
/// `AckQueue`'s futures ÷ tokio `mpsc`: the target.
const ACK_MPSC_GOAL: f64 = 1.0;

/// A side's row: its own calls (here, its futures) and single messages.
const fn key(slug: &'static str) -> Key {
    Key::new(slug, Calls::Blocking, 1)
}

/// The sides that run `shape`.
fn sides(shape: &Shape) -> impl Iterator<Item = &'static Side> + '_ {
    SIDES.iter().filter(|s| shape.receivers == 1 || s.mpmc)
}

/// `ours` ÷ the fastest peer of each round in `shape`, and the name of
/// the peer that was fastest most often.
pub fn to_best(r: &Results, shape: &str, ours: &str) -> (Figure, Option<&'static str>) {
    let records: Vec<_> = (r.tput.iter())
        .filter(|t| t.section == ASYNC && t.shape == shape)
        .collect();
    let mut wins: Vec<(&'static str, usize)> = Vec::new();
    let ratios = records
        .iter()
        .filter(|t| t.key.slug == ours)
        .filter_map(|t| {
            let best = (records.iter())
                .filter(|p| {
                    p.round == t.round && !SIDES.iter().any(|s| s.ours && s.slug == p.key.slug)
                })
                .max_by(|a, b| a.rate().total_cmp(&b.rate()))?;
            match wins.iter_mut().find(|w| w.0 == best.name) {
                Some(w) => w.1 += 1,
                None => wins.push((best.name, 1)),
            }
            Some((t.rate() / best.rate(), t.load))
        });
    let figure = Figure::new(ratios.collect::<Vec<_>>());
    (figure, wins.iter().max_by_key(|w| w.1).map(|w| w.0))
}

impl Section for Async {
    fn id(&self) -> &'static str {
        ASYNC
    }

    fn measure(&self, suite: &mut Suite, round: usize) {
        let rt = peers::runtime();
        for shape in &SHAPES {
            let sides: Vec<Side> = sides(shape).copied().collect();
            for side in rotated(&sides, round - 1) {
                suite.throughput(
                    ASYNC,
                    shape.name,
                    round,
                    side.name,
                    key(side.slug),
                    |total| (side.run)(&rt, CAPACITY, shape.senders, shape.receivers, total),
                );
            }
        }
    }

    fn method(&self, _cx: &Context) -> String {
        format!(
            "**Async.** thingbuf's published shape: sender tasks send their share of `1..=N` \
             into a queue of capacity {CAPACITY} and receiver tasks receive until every sender \
             is gone and the queue drained, on a tokio multi-threaded runtime with one worker \
             per core (tasks not pinned: the runtime places them); 1, 10, 50 and 100 senders \
             with one receiver, and 4 senders with 4 receivers for the queues that serve \
             several (not tokio `mpsc` nor thingbuf). Ours: a `Ring` of the default wait \
             strategy with `send_async` / `recv_async`, and an `AckQueue` (prefetch \
             {CAPACITY}) with `publish_async` / `receive_async`, then the ack. Peers: tokio \
             `mpsc`, async-channel, flume (async calls), kanal (async), thingbuf `mpsc`. One \
             loop for every queue (`sections/asynch/peers.rs`), interleaved in each round; \
             each sample checks the count and the sum. Throughput as in the throughput \
             section; each of ours is a ratio to the best peer of the same round (and the \
             `AckQueue` also to tokio `mpsc`)."
        )
    }

    fn targets(&self, cx: &Context) -> Vec<Target> {
        let mut targets = Vec::new();
        for shape in &SHAPES {
            for (ours, slug, goal) in [
                ("Ring", "ring-async", RING_GOAL),
                ("AckQueue", "ackqueue-async", ACK_GOAL),
            ] {
                targets.push(Target {
                    what: format!("{} async, `{ours}` futures ÷ the best peer", shape.name),
                    calls: CALLS,
                    goal: Some(Goal::AtLeast(goal)),
                    got: to_best(cx.results, shape.name, slug).0,
                });
            }
            if shape.receivers == 1 {
                let rows = Rows::of(cx.results, ASYNC, shape.name);
                targets.push(Target {
                    what: format!("{} async, `AckQueue` futures ÷ tokio `mpsc`", shape.name),
                    calls: CALLS,
                    goal: Some(Goal::AtLeast(ACK_MPSC_GOAL)),
                    got: rows.ratio(key("ackqueue-async"), key("tokio-mpsc")),
                });
            }
        }
        targets
    }

    fn write(&self, cx: &Context, o: &mut String) -> io::Result<Vec<(String, String)>> {
        let shapes: Vec<(&Shape, Rows)> = SHAPES
            .iter()
            .map(|s| (s, Rows::of(cx.results, ASYNC, s.name)))
            .filter(|(_, rows)| !rows.is_empty())
            .collect();
        if shapes.is_empty() {
            return Ok(Vec::new());
        }
        let _ = writeln!(o, "## Async: futures on tokio ÷ the best async channel\n");
        let _ = writeln!(
            o,
            "Million messages / s, median (min–max) over rounds; for ours, the ratio to the \
             best peer of each round (and which peer was best most often), and to tokio \
             `mpsc`:\n"
        );
        let mut rows = Vec::new();
        for (shape, shape_rows) in &shapes {
            for side in sides(shape) {
                let k = key(side.slug);
                let (best, over_mpsc) = if side.ours {
                    let (figure, best) = to_best(cx.results, shape.name, side.slug);
                    let best = best.map_or(String::new(), |b| format!(" (best: {b})"));
                    let over_mpsc = shape_rows.ratio(k, key("tokio-mpsc")).ratio();
                    (format!("{}{best}", figure.ratio()), over_mpsc)
                } else {
                    (String::new(), String::new())
                };
                let rate = tables::rate_spread(&shape_rows.rates(k));
                rows.push(vec![
                    shape.name.into(),
                    side.name.into(),
                    rate,
                    best,
                    over_mpsc,
                ]);
            }
        }
        let head = ["shape", "queue", "Mmsg/s", "÷ best peer", "÷ tokio mpsc"];
        tables::table(o, &head, head.len(), rows);
        Ok(Vec::new())
    }
}
