//! The benchmark report of ackring: `cargo bench --bench report`.
//!
//! Runs every figure of `results/README.md` — throughput by shape,
//! ping-pong round trip against the cache-line floor, one-way latency at a
//! fixed rate, the ack layer against raw queues — in rounds, peers
//! interleaved (the order rotates each round), and writes the report,
//! the raw numbers and the plots to `results/`.
//!
//! - `cargo bench --bench report`: quick mode, a few minutes on 2 cores.
//! - `ACKRING_BENCH=full cargo bench --bench report`: more rounds, longer.
//! - `cargo bench --bench report -- FILTER`: only the figures whose id
//!   contains FILTER (e.g. `1P1C`, `ping-pong`); does not write results/.
//! - `cargo test --benches`: every figure once, tiny, still checked; does
//!   not write results/.
//! - `ACKRING_RESULTS_DIR=DIR`: write the report to DIR instead of
//!   results/ (in test mode too, to preview the report's layout).
//! - `ACKRING_COMMIT`, `ACKRING_RUSTC`: what the report records as the
//!   commit and the toolchain instead of asking git and rustc, for a bench
//!   binary built here and run on another machine (whose tree, if any, is
//!   not the one it was built from).

mod ack;
mod latency;
mod machine;
mod peers;
mod pin;
mod plan;
mod report;
mod svg;
mod throughput;

use criterion::{Criterion, SamplingMode, Throughput};
use hdrhistogram::Histogram;
use latency::{RoundTrip, RoundTrips};
use peers::Peer;
use plan::{Mode, Plan};
use std::time::{Duration, Instant};
use throughput::Shape;

/// One queue (or ack layer) as the suite runs it: the generic bench
/// functions, instantiated for that peer.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// Name in the report.
    pub name: &'static str,
    /// Id in CSV, criterion and filters.
    pub slug: &'static str,
    /// Has batch calls.
    pub batch: bool,
    supports: fn(&Shape) -> bool,
    transfer: fn(&Shape, usize, u64) -> Duration,
    ping_pong: fn(RoundTrips) -> RoundTrip,
    one_way: fn(u64, u64, u64) -> Histogram<u64>,
}

impl Entry {
    fn of<P: Peer>() -> Entry {
        Entry {
            name: P::NAME,
            slug: P::SLUG,
            batch: P::BATCH,
            supports: throughput::supports::<P>,
            transfer: throughput::transfer::<P>,
            ping_pong: latency::ping_pong::<P>,
            one_way: latency::one_way::<P>,
        }
    }
}

/// The queues: ours under each wait strategy, then the peers.
fn queues() -> Vec<Entry> {
    vec![
        Entry::of::<peers::AckRing<0>>(),
        Entry::of::<peers::AckRing<1>>(),
        Entry::of::<peers::AckRing<2>>(),
        Entry::of::<peers::ArrayQueue>(),
        Entry::of::<peers::CrossbeamChannel>(),
        Entry::of::<peers::ConcurrentQueue>(),
        Entry::of::<peers::Flume>(),
        Entry::of::<peers::StdSyncChannel>(),
        Entry::of::<peers::MutexVecDeque>(),
        Entry::of::<peers::Rtrb>(),
        Entry::of::<peers::StampedSpsc>(),
    ]
}

/// The ack layers and the raw queues they are compared with.
fn ack_layers() -> Vec<Entry> {
    vec![
        Entry::of::<ack::AckQueuePeer<false>>(),
        Entry::of::<ack::AckQueuePeer<true>>(),
        Entry::of::<peers::ArrayQueue>(),
        Entry::of::<peers::AckRingDefault>(),
        Entry::of::<ack::HandTracker<false>>(),
        Entry::of::<ack::HandTracker<true>>(),
        Entry::of::<ack::AckFloor>(),
    ]
}

/// Shapes of the ack section.
const ACK_SHAPES: [Shape; 2] = [throughput::SHAPES[0], throughput::SHAPES[1]];

/// Ping-pong uses only the `try_` calls, where the wait strategy plays no
/// part: one ackring row.
fn ping_pong_queues() -> Vec<Entry> {
    queues()
        .into_iter()
        .filter(|e| !matches!(e.slug, "ring-spin" | "ring-park"))
        .map(|e| match e.slug {
            "ring-backoff" => Entry {
                name: "ackring Ring",
                slug: "ring",
                ..e
            },
            _ => e,
        })
        .collect()
}

/// `v` rotated left by `by`: each round starts with a different peer.
fn rotated<T: Clone>(v: &[T], by: usize) -> Vec<T> {
    let mut v = v.to_vec();
    let n = v.len().max(1);
    v.rotate_left(by % n);
    v
}

/// One throughput figure of one round.
#[derive(Debug)]
pub struct Tput {
    /// `"throughput"` or `"ack"`.
    pub section: &'static str,
    /// Shape name.
    pub shape: &'static str,
    /// The entry measured.
    pub name: &'static str,
    /// Its slug.
    pub slug: &'static str,
    /// Messages per batch call (1 = single calls).
    pub batch: usize,
    /// Round, from 1.
    pub round: usize,
    /// Criterion's measured samples: (messages, seconds).
    pub samples: Vec<(u64, f64)>,
}

impl Tput {
    /// Messages per second over all samples (total / total).
    pub fn rate(&self) -> f64 {
        let (m, s) = self
            .samples
            .iter()
            .fold((0u64, 0f64), |(m, s), &(dm, ds)| (m + dm, s + ds));
        m as f64 / s
    }
}

/// One latency figure of one round.
#[derive(Debug)]
pub struct Lat {
    /// `"ping-pong"`, `"one-way"` or `"ack-one-way"`.
    pub test: &'static str,
    /// The entry measured (or the floor).
    pub name: &'static str,
    /// Its slug.
    pub slug: &'static str,
    /// Round, from 1.
    pub round: usize,
    /// Nanoseconds.
    pub hist: Histogram<u64>,
    /// Ping-pong only: mean of the untimed block, ns.
    pub block_mean_ns: Option<f64>,
}

/// Everything one run measured.
#[derive(Debug)]
pub struct Results {
    /// Throughput figures.
    pub tput: Vec<Tput>,
    /// Latency figures.
    pub lat: Vec<Lat>,
    /// Cost of one `Instant::now()` pair, ns.
    pub timer: Histogram<u64>,
    /// Wall time of the whole run.
    pub wall: Duration,
}

struct Suite {
    criterion: Criterion,
    plan: Plan,
    filter: Option<String>,
    results: Results,
    started: Instant,
}

impl Suite {
    fn wanted(&self, id: &str) -> bool {
        match &self.filter {
            Some(f) => id.contains(f.as_str()),
            None => true,
        }
    }

    fn progress(&self, what: &str) {
        eprintln!(
            "[ackring bench {:>4.0}s] {what}",
            self.started.elapsed().as_secs_f64()
        );
    }

    /// One criterion benchmark of `entry` moving messages in `shape`;
    /// records the samples criterion measured.
    fn throughput(
        &mut self,
        section: &'static str,
        round: usize,
        shape: &Shape,
        e: &Entry,
        batch: usize,
    ) {
        let (group, id) = (
            format!("{section}/{}", shape.name),
            format!("{}/batch{batch}/round{round}", e.slug),
        );
        if !(e.supports)(shape) || !self.wanted(&format!("{group}/{id}")) {
            return;
        }
        self.progress(&format!("round {round}/{}: {group}/{id}", self.plan.rounds));
        let (plan, transfer) = (self.plan, e.transfer);
        let mut calls: Vec<(u64, Duration)> = Vec::new();
        let mut g = self.criterion.benchmark_group(group);
        g.sample_size(plan.samples)
            .warm_up_time(plan.warm_up)
            .measurement_time(plan.measurement)
            .nresamples(plan.resamples)
            .sampling_mode(SamplingMode::Flat)
            .throughput(Throughput::Elements(plan.messages));
        g.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let elapsed = transfer(shape, batch, iters * plan.messages);
                calls.push((iters * plan.messages, elapsed));
                elapsed
            })
        });
        g.finish();
        // The warm-up calls come first; the last `samples` calls are the
        // measurement (one call per sample).
        let measured = &calls[calls.len().saturating_sub(plan.samples)..];
        if !measured.is_empty() {
            self.results.tput.push(Tput {
                section,
                shape: shape.name,
                name: e.name,
                slug: e.slug,
                batch,
                round,
                samples: measured
                    .iter()
                    .map(|&(m, d)| (m, d.as_secs_f64()))
                    .collect(),
            });
        }
    }

    fn latency(
        &mut self,
        test: &'static str,
        round: usize,
        name: &'static str,
        slug: &'static str,
        run: impl FnOnce(&Plan) -> (Histogram<u64>, Option<f64>),
    ) {
        let id = format!("{test}/{slug}/round{round}");
        if !self.wanted(&id) {
            return;
        }
        self.progress(&format!("round {round}/{}: {id}", self.plan.rounds));
        let (hist, block_mean_ns) = run(&self.plan);
        println!(
            "{id:<40} p50 {:>8} ns  p99 {:>8} ns  p99.99 {:>8} ns  max {:>9} ns  ({} samples)",
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99),
            hist.value_at_quantile(0.9999),
            hist.max(),
            hist.len()
        );
        self.results.lat.push(Lat {
            test,
            name,
            slug,
            round,
            hist,
            block_mean_ns,
        });
    }

    fn round(&mut self, round: usize) {
        let turn = round - 1;
        for shape in &throughput::SHAPES {
            for e in rotated(&queues(), turn) {
                self.throughput("throughput", round, shape, &e, 1);
                if e.batch && e.slug != "ring-spin" && e.slug != "ring-park" {
                    self.throughput("throughput", round, shape, &e, 16);
                }
            }
        }
        for shape in &ACK_SHAPES {
            for e in rotated(&ack_layers(), turn) {
                self.throughput("ack", round, shape, &e, 1);
            }
        }
        self.latency(
            "ping-pong",
            round,
            "cache-line floor (two atomics)",
            "floor",
            |p| {
                let r = latency::cache_line_floor(p.round_trips);
                (r.hist, Some(r.block_mean_ns))
            },
        );
        for e in rotated(&ping_pong_queues(), turn) {
            self.latency("ping-pong", round, e.name, e.slug, |p| {
                let r = (e.ping_pong)(p.round_trips);
                (r.hist, Some(r.block_mean_ns))
            });
        }
        for e in rotated(&queues(), turn) {
            self.latency("one-way", round, e.name, e.slug, |p| {
                ((e.one_way)(p.rate, p.one_way, p.one_way_warm_up), None)
            });
        }
        for e in rotated(&ack_layers(), turn) {
            self.latency("ack-one-way", round, e.name, e.slug, |p| {
                ((e.one_way)(p.rate, p.one_way, p.one_way_warm_up), None)
            });
        }
    }
}

fn main() {
    // Before any thread is pinned (see pin.rs); main itself stays unpinned.
    let cores = pin::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let benching = args.iter().any(|a| a == "--bench");
    let mode = match (benching, std::env::var("ACKRING_BENCH").as_deref()) {
        (false, _) => Mode::Test,
        (true, Ok("full")) => Mode::Full,
        (true, _) => Mode::Quick,
    };
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned();
    // ACKRING_RESULTS_DIR sends the report elsewhere (e.g. another
    // machine's, labelled); it is also the only way a test-mode run writes.
    let dir = std::env::var("ACKRING_RESULTS_DIR")
        .ok()
        .map(std::path::PathBuf::from);
    let write = filter.is_none() && (mode != Mode::Test || dir.is_some());
    let dir = dir.unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/results").into());
    let plan = Plan::new(mode);
    let machine = machine::Machine::detect(cores);
    eprintln!(
        "ackring bench: {mode:?} mode, {} round(s), {cores} core(s) to pin to; {}",
        plan.rounds,
        if write {
            "writes results/ at the end"
        } else {
            "results/ is left alone"
        }
    );
    let mut suite = Suite {
        criterion: Criterion::default().configure_from_args(),
        plan,
        filter,
        results: Results {
            tput: Vec::new(),
            lat: Vec::new(),
            timer: latency::timer_cost(plan.timer_samples),
            wall: Duration::ZERO,
        },
        started: Instant::now(),
    };
    for round in 1..=plan.rounds {
        suite.round(round);
    }
    suite.criterion.final_summary();
    suite.results.wall = suite.started.elapsed();
    if write {
        report::write(&dir, &suite.results, &plan, &machine).expect("results/ written");
        eprintln!(
            "ackring bench: done in {:.0} s; wrote {}",
            suite.results.wall.as_secs_f64(),
            dir.join("README.md").display()
        );
    } else {
        eprintln!(
            "ackring bench: done in {:.1} s; every run's count and sum checked",
            suite.results.wall.as_secs_f64()
        );
    }
}
