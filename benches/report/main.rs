//! The benchmark report of ackring: `cargo bench --bench report`.
//!
//! Measures every figure of `results/README.md` in rounds, peers
//! interleaved (the order rotates each round), and writes the report, the
//! raw numbers and the plots to `results/`, and the headline table between
//! the `<!-- report:headline:begin ... -->` and `<!-- report:headline:end -->`
//! lines of the top-level README.md (a run that finds no such lines fails,
//! naming them, after writing results/).
//!
//! - `bash .ci/bench`: this report built with the `amqp` feature, with a
//!   RabbitMQ node on loopback for the broker section; same arguments.
//! - `cargo bench --bench report`: quick mode, a few minutes on 2 cores;
//!   `ACKRING_BENCH=full` runs more rounds, longer.
//! - `cargo bench --bench report -- FILTER`: only the figures whose id
//!   (`section/shape/slug/calls/batchN/roundN` for throughput,
//!   `section/slug/roundN` for latency) contains FILTER.
//! - `cargo test --benches`: every figure once, tiny, still checked (count
//!   and sum), and every target row measured.
//! - `ACKRING_RESULTS_DIR=DIR`: the report goes to DIR, in every mode and
//!   with a filter too; otherwise only an unfiltered bench run writes
//!   (results/ and the README's headline block).
//! - `ACKRING_COMMIT`, `ACKRING_RUSTC`: what the report records as the
//!   commit and the toolchain, for a binary run on another machine.
//!
//! # Layout
//!
//! - `peers.rs`, `ack.rs`: one adapter per queue or ack layer behind the
//!   `Peer` trait. To add a peer: `impl Peer` for a unit struct, then one
//!   `Entry::of` line in `roster.rs`, the one list of entries (colour,
//!   sections, calls); every table, plot, CSV and filter picks it up.
//! - `sections/`: the one list of sections (`sections::all`), a file per
//!   section (`sections/mod.rs` says how to add one).
//! - `throughput.rs`, `latency.rs`: the bench loops, once for all peers.
//! - `results.rs` (records, queries), `figure.rs` (median, spread, load,
//!   verdict), `tables.rs` (the table writer, shared tables), `plot.rs`
//!   (charts), `headline.rs` (the rows for users, ackring ÷ what they
//!   would use instead), `report.rs` (the frame, CSV, environment, the
//!   README block), `machine.rs`, `pin.rs`, `plan.rs`.

mod ack;
mod figure;
mod headline;
mod latency;
mod machine;
mod peers;
mod pin;
mod plan;
mod plot;
mod report;
mod results;
mod roster;
mod sections;
mod tables;
mod throughput;

use criterion::{Criterion, SamplingMode, Throughput};
use hdrhistogram::Histogram;
use plan::{Mode, Plan};
pub use results::{Key, Lat, Results, Tput};
use std::time::{Duration, Instant};

/// `v` rotated left by `by`: each round starts with a different peer.
pub fn rotated<T: Clone>(v: &[T], by: usize) -> Vec<T> {
    let mut v = v.to_vec();
    let n = v.len().max(1);
    v.rotate_left(by % n);
    v
}

/// The run in progress: what the sections measure through, and what they
/// measured.
pub struct Suite {
    criterion: Criterion,
    plan: Plan,
    filter: Option<String>,
    results: Results,
    started: Instant,
}

impl std::fmt::Debug for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad("Suite { .. }")
    }
}

impl Suite {
    fn progress(&self, what: &str) {
        let secs = self.started.elapsed().as_secs_f64();
        eprintln!("[ackring bench {secs:>4.0}s] {what}");
    }

    /// Whether the figure `id` of `round` runs (the filter); if so, says so
    /// and gives the load before it.
    fn start(&self, id: &str, round: usize) -> Option<f64> {
        if self
            .filter
            .as_ref()
            .is_some_and(|f| !id.contains(f.as_str()))
        {
            return None;
        }
        self.progress(&format!("round {round}/{}: {id}", self.plan.rounds));
        Some(machine::load1())
    }

    fn id(section: &str, shape: &str, key: Key, round: usize) -> String {
        let (slug, calls, batch) = (key.slug, key.calls.id(), key.batch);
        format!("{section}/{shape}/{slug}/{calls}/batch{batch}/round{round}")
    }

    /// One criterion throughput benchmark: `run(total)` moves `total`
    /// messages, checks them (count and sum) and returns the time it took
    /// (thread spawn and pinning outside it). Recorded under `section`,
    /// `shape`, `name` and `key`, with the round and the load.
    pub fn throughput(
        &mut self,
        section: &'static str,
        shape: &'static str,
        round: usize,
        name: &'static str,
        key: Key,
        mut run: impl FnMut(u64) -> Duration,
    ) {
        let Some(load) = self.start(&Self::id(section, shape, key, round), round) else {
            return;
        };
        let plan = self.plan;
        let mut calls: Vec<(u64, Duration)> = Vec::new();
        let mut g = self.criterion.benchmark_group(format!("{section}/{shape}"));
        g.sample_size(plan.samples)
            .warm_up_time(plan.warm_up)
            .measurement_time(plan.measurement)
            .nresamples(plan.resamples)
            .sampling_mode(SamplingMode::Flat)
            .throughput(Throughput::Elements(plan.messages));
        let (slug, calls_id, batch) = (key.slug, key.calls.id(), key.batch);
        g.bench_function(
            format!("{slug}/{calls_id}/batch{batch}/round{round}"),
            |b| {
                b.iter_custom(|iters| {
                    let elapsed = run(iters * plan.messages);
                    calls.push((iters * plan.messages, elapsed));
                    elapsed
                })
            },
        );
        g.finish();
        // The warm-up calls come first; the last `samples` calls are the
        // measurement (one call per sample).
        let measured = &calls[calls.len().saturating_sub(plan.samples)..];
        if !measured.is_empty() {
            let samples = measured
                .iter()
                .map(|&(m, d)| (m, d.as_secs_f64()))
                .collect();
            self.results.tput.push(Tput {
                section,
                shape,
                name,
                key,
                round,
                load,
                samples,
            });
        }
    }

    /// One throughput figure timed once per round rather than sampled by
    /// criterion, for runs that take seconds (a broker's round trips):
    /// `run(messages)` moves `messages` messages, checks them (count and
    /// sum) and returns the time it took. Recorded as [`Suite::throughput`]
    /// records its figures, with one sample.
    #[allow(clippy::too_many_arguments)]
    pub fn timed(
        &mut self,
        section: &'static str,
        shape: &'static str,
        round: usize,
        name: &'static str,
        key: Key,
        messages: u64,
        run: impl FnOnce(u64) -> Duration,
    ) {
        let id = Self::id(section, shape, key, round);
        let Some(load) = self.start(&id, round) else {
            return;
        };
        let took = run(messages).as_secs_f64();
        println!("{id:<60} {:>12.0} messages/s", messages as f64 / took);
        let samples = vec![(messages, took)];
        self.results.tput.push(Tput {
            section,
            shape,
            name,
            key,
            round,
            load,
            samples,
        });
    }

    /// One latency figure: `run` measures it (checking its own result) and
    /// returns the histogram in ns, and for a ping-pong the untimed mean.
    pub fn latency(
        &mut self,
        test: &'static str,
        round: usize,
        name: &'static str,
        slug: &'static str,
        run: impl FnOnce(&Plan) -> (Histogram<u64>, Option<f64>),
    ) {
        let id = format!("{test}/{slug}/round{round}");
        let Some(load) = self.start(&id, round) else {
            return;
        };
        let (hist, block_mean_ns) = run(&self.plan);
        let q = |q| hist.value_at_quantile(q);
        println!(
            "{id:<40} p50 {:>8} ns  p99 {:>8} ns  p99.99 {:>8} ns  max {:>9} ns  ({} samples)",
            q(0.5),
            q(0.99),
            q(0.9999),
            hist.max(),
            hist.len()
        );
        self.results.lat.push(Lat {
            test,
            name,
            slug,
            round,
            load,
            hist,
            block_mean_ns,
        });
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
    let write = dir.is_some() || (filter.is_none() && mode != Mode::Test);
    let default_dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/results"));
    let dir = dir.unwrap_or_else(|| default_dir.clone());
    let plan = Plan::new(mode);
    let machine = machine::Machine::detect(cores);
    eprintln!(
        "ackring bench: {mode:?} mode, {} round(s), {cores} core(s) to pin to; {}",
        plan.rounds,
        if write {
            "writes the report at the end"
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
    let sections = sections::all();
    for round in 1..=plan.rounds {
        for section in &sections {
            suite.progress(&format!("round {round}/{}: {}", plan.rounds, section.id()));
            section.measure(&mut suite, round);
        }
    }
    suite.criterion.final_summary();
    suite.results.wall = suite.started.elapsed();
    if write {
        let readme = (dir == default_dir && suite.filter.is_none() && mode != Mode::Test)
            .then(|| std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")));
        report::write(
            &dir,
            readme.as_deref(),
            &suite.results,
            &plan,
            &machine,
            &sections,
        )
        .expect("results/ written");
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
        if suite.filter.is_none() {
            every_target_measured(&suite.results, &plan, &machine, &dir, &sections);
        }
    }
}

/// Panics unless every target row of an unfiltered run has rounds: a row
/// "not measured" in a full run is a roster or key mistake (the broker's
/// rows leave themselves out without a broker).
fn every_target_measured(
    results: &Results,
    plan: &Plan,
    machine: &machine::Machine,
    dir: &std::path::Path,
    sections: &[Box<dyn sections::Section>],
) {
    let cx = sections::Context {
        results,
        plan,
        machine,
        dir,
    };
    let missing: Vec<String> = sections
        .iter()
        .flat_map(|s| s.targets(&cx))
        .filter(|t| t.got.median().is_none())
        .map(|t| format!("{} ({})", t.what, t.calls))
        .collect();
    assert!(missing.is_empty(), "targets not measured: {missing:#?}");
}
