//! The roster: every queue, ack layer and floor the report measures, in
//! the order its tables list them, with the sections that measure each
//! and the calls they measure it with. Every part of the suite reads this
//! one list: the sections pick their rows from it, the tables sort by it,
//! the plots take its colours.
//!
//! To add a peer: implement `peers::Peer` for it (or `ack.rs` for an ack
//! layer), then add one `Entry::of` line below, naming the sections that
//! should measure it and the calls (`Blocking` only where it has blocking
//! calls of its own, `Peer::BLOCKING`).

use crate::latency::{self, RoundTrip, RoundTrips};
use crate::peers::{self, Calls, Peer};
use crate::sections::{self, ACK, ACK_ONE_WAY, ONE_WAY, PING_PONG, POOL, THROUGHPUT};
use crate::throughput::{self, Shape};
use crate::{ack, Key};
use hdrhistogram::Histogram;
use std::time::Duration;

use Calls::{Blocking, SpinLoop, TryLoop};

/// One queue (or ack layer, or floor) as the suite runs it: its names, where
/// it appears, and the generic bench functions instantiated for it.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// Name in the report.
    pub name: &'static str,
    /// Id in CSV, criterion and filters.
    pub slug: &'static str,
    /// Its colour in the plots.
    pub color: &'static str,
    /// The ids of the sections that measure it.
    pub sections: &'static [&'static str],
    /// The calls its throughput rows use.
    pub calls: &'static [Calls],
    /// Has batch calls: its try-loop rows also run batches of 16.
    pub batch: bool,
    /// Its `send` / `recv` are blocking calls of its own.
    pub blocking: bool,
    /// Can run a shape.
    pub supports: fn(&Shape) -> bool,
    /// One throughput run (`throughput::transfer`).
    pub transfer: fn(&Shape, Calls, usize, u64) -> Duration,
    /// One ping-pong run.
    pub ping_pong: fn(RoundTrips) -> RoundTrip,
    /// One one-way latency run: rate, count, warm-up.
    pub one_way: fn(u64, u64, u64) -> Histogram<u64>,
    /// One worker-pool run: producers, consumers (unpinned), total.
    pub pool: fn(usize, usize, u64) -> Duration,
}

impl Entry {
    /// `P` as an entry, measured by `sections` with `calls`.
    fn of<P: Peer>(
        color: &'static str,
        sections: &'static [&'static str],
        calls: &'static [Calls],
    ) -> Entry {
        Entry {
            name: P::NAME,
            slug: P::SLUG,
            color,
            sections,
            calls,
            batch: P::BATCH,
            blocking: P::BLOCKING,
            supports: throughput::supports::<P>,
            transfer: throughput::transfer::<P>,
            ping_pong: latency::ping_pong::<P>,
            one_way: latency::one_way::<P>,
            pool: sections::pool::run::<P>,
        }
    }

    /// The same entry under another name and slug (one algorithm whose
    /// variants differ only where a figure does not look).
    const fn named(self, name: &'static str, slug: &'static str) -> Entry {
        Entry { name, slug, ..self }
    }

    /// The ping-pong floor: two bare atomics, no queue.
    fn floor() -> Entry {
        fn none(_: &Shape) -> bool {
            false
        }
        fn no_transfer(_: &Shape, _: Calls, _: usize, _: u64) -> Duration {
            unreachable!("the floor is not a queue")
        }
        fn no_one_way(_: u64, _: u64, _: u64) -> Histogram<u64> {
            unreachable!("the floor is not a queue")
        }
        fn no_pool(_: usize, _: usize, _: u64) -> Duration {
            unreachable!("the floor is not a queue")
        }
        Entry {
            name: "cache-line floor (two atomics)",
            slug: "floor",
            color: "#000000",
            sections: &[PING_PONG],
            calls: &[],
            batch: false,
            blocking: false,
            supports: none,
            transfer: no_transfer,
            ping_pong: latency::cache_line_floor,
            one_way: no_one_way,
            pool: no_pool,
        }
    }

    /// Measured by the section `id`.
    pub fn in_section(&self, id: &str) -> bool {
        self.sections.contains(&id)
    }

    /// The throughput rows of this entry: (key, calls it was measured
    /// with), per batch size it runs.
    pub fn keys(&self) -> Vec<Key> {
        let mut keys: Vec<Key> = self
            .calls
            .iter()
            .map(|&calls| Key::new(self.slug, calls, 1))
            .collect();
        if self.batch && self.calls.contains(&TryLoop) {
            keys.push(Key::new(self.slug, TryLoop, 16));
        }
        keys
    }

    /// The row standing for this entry in a table of `calls` at `batch`:
    /// its own measurement, or for a queue without blocking calls its
    /// try-loop (which is all it has) in a table of blocking calls.
    pub fn row(&self, calls: Calls, batch: usize) -> Option<Key> {
        let measured = |c| self.keys().contains(&Key::new(self.slug, c, batch));
        if measured(calls) {
            Some(Key::new(self.slug, calls, batch))
        } else if calls == Blocking && !self.blocking && measured(TryLoop) {
            Some(Key::new(self.slug, TryLoop, batch))
        } else {
            None
        }
    }
}

/// The slug of the entry every ratio of the queue tables is taken to.
pub const BASE: &str = "arrayqueue";

/// Every entry, in report order: ours first, then the peers, then the ack
/// layers and their baselines. One line per entry: colour, the sections
/// that measure it, the calls its throughput rows use.
pub fn all() -> Vec<Entry> {
    const QUEUE: &[&str] = &[THROUGHPUT, ONE_WAY];
    const QUEUE_ACK: &[&str] = &[THROUGHPUT, ONE_WAY, ACK];
    const QUEUE_ACK_LATENCY: &[&str] = &[THROUGHPUT, ONE_WAY, ACK_ONE_WAY];
    const TRY_ROW: &[&str] = &[THROUGHPUT, PING_PONG, ACK];
    const PEER: &[&str] = &[THROUGHPUT, PING_PONG, ONE_WAY];
    const PEER_POOL: &[&str] = &[THROUGHPUT, PING_PONG, ONE_WAY, POOL];
    const PEER_ACK: &[&str] = &[THROUGHPUT, PING_PONG, ONE_WAY, ACK];
    const ACK_LAYER: &[&str] = &[ACK, ACK_ONE_WAY];
    const ACK_LAYER_POOL: &[&str] = &[ACK, ACK_ONE_WAY, POOL];
    const ACK_LATENCY: &[&str] = &[ACK_ONE_WAY];
    const POOL_LATENCY: &[&str] = &[ACK_ONE_WAY, POOL];
    const BOTH: &[Calls] = &[Blocking, TryLoop];
    const OWN: &[Calls] = &[Blocking];
    const TRY: &[Calls] = &[TryLoop];
    // The queues the throughput targets compare, also in the spin loop.
    const TRY_SPIN: &[Calls] = &[TryLoop, SpinLoop];
    vec![
        Entry::floor(),
        // The wait strategy matters only to the blocking calls: one row per
        // strategy there, one "ackring Ring" row for the try calls.
        Entry::of::<peers::AckRing<0>>("#ff7f0e", QUEUE_ACK_LATENCY, OWN),
        Entry::of::<peers::AckRing<1>>("#d62728", QUEUE, OWN),
        // The default strategy: the ack section's raw `Ring` with blocking
        // calls, beside `AckQueue`'s default.
        Entry::of::<peers::AckRing<2>>("#8c564b", QUEUE_ACK, OWN),
        Entry::of::<peers::AckRing<1>>("#d62728", TRY_ROW, TRY_SPIN).named("ackring Ring", "ring"),
        Entry::of::<peers::AckRingSlotOnly>("#ffbb78", &[THROUGHPUT, PING_PONG], TRY),
        Entry::of::<peers::ArrayQueue>("#1f77b4", PEER_ACK, TRY_SPIN),
        Entry::of::<peers::CrossbeamChannel>("#17becf", PEER_POOL, BOTH),
        Entry::of::<peers::ConcurrentQueue>("#2ca02c", PEER, TRY),
        Entry::of::<peers::Flume>("#9467bd", PEER, BOTH),
        Entry::of::<peers::StdSyncChannel>("#7f7f7f", PEER, BOTH),
        Entry::of::<peers::MutexVecDeque>("#bcbd22", PEER, TRY),
        Entry::of::<peers::Rtrb>("#e377c2", PEER, TRY),
        Entry::of::<peers::StampedSpsc>("#f7b6d2", PEER, TRY),
        Entry::of::<ack::AckQueuePeer<false, 0>>("#e7969c", ACK_LATENCY, OWN),
        Entry::of::<ack::AckQueuePeer<false, 1>>("#ad494a", ACK_LATENCY, OWN),
        Entry::of::<ack::AckQueuePeer<false>>("#ff9896", ACK_LAYER_POOL, BOTH),
        Entry::of::<ack::AckQueuePeer<true>>("#c5b0d5", ACK_LAYER, BOTH),
        Entry::of::<ack::ChannelTrackerPeer>("#9edae5", POOL_LATENCY, OWN),
        Entry::of::<ack::HandTracker<false>>("#aec7e8", ACK_LAYER, TRY),
        Entry::of::<ack::HandTracker<true>>("#98df8a", &[ACK], TRY),
        Entry::of::<ack::AckFloor>("#c49c94", &[ACK], TRY),
    ]
}

/// The entries the section `id` measures, in report order.
pub fn of_section(id: &str) -> Vec<Entry> {
    all().into_iter().filter(|e| e.in_section(id)).collect()
}

/// The entry with `slug`.
pub fn by_slug(slug: &str) -> Option<Entry> {
    all().into_iter().find(|e| e.slug == slug)
}

/// Position of `slug` in report order (unknown slugs last).
pub fn rank(slug: &str) -> usize {
    let all = all();
    all.iter().position(|e| e.slug == slug).unwrap_or(all.len())
}

/// The colour of `slug` in the plots.
pub fn color(slug: &str) -> &'static str {
    by_slug(slug).map_or("#555555", |e| e.color)
}
