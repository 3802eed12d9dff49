//! The sections of the report, in the order it prints them, one file
//! each: what it measures in a round, its bullet of "How it is measured",
//! its rows of the targets table, and its part of the report.
//!
//! To add one: a unit struct implementing [`Section`] in `sections/NAME.rs`
//! whose `measure` runs each figure once through `Suite::throughput`
//! (criterion, rates), `Suite::timed` (one timed run) or `Suite::latency`
//! (a histogram), the closure checking its own result (count and sum);
//! `write` turns the records (`results::Rows` / `results::Lats`) into
//! tables (`tables.rs`) and plots (`plot.rs`). Then one line in [`all`], and
//! its id in the `sections` of the roster entries it measures. CSV,
//! environment and targets pick up the rest; a figure users compare
//! crates by joins `headline.rs`.

mod ack;
mod ack_one_way;
mod asynch;
mod broker;
mod cost;
mod held;
mod one_way;
mod owned;
mod ping_pong;
pub mod pool;
mod throughput;

pub use asynch::to_best;

use crate::figure::Target;
use crate::machine::Machine;
use crate::plan::Plan;
use crate::results::Results;
use crate::Suite;
use std::io;
use std::path::Path;

/// Id of the single-thread cost section.
pub const COST: &str = "cost";
/// Id of the throughput-by-shape section.
pub const THROUGHPUT: &str = "throughput";
/// Id of the ping-pong round-trip section.
pub const PING_PONG: &str = "ping-pong";
/// Id of the one-way latency section.
pub const ONE_WAY: &str = "one-way";
/// Id of the ack-layer section.
pub const ACK: &str = "ack";
/// Id of the held-message section: a worker pool with one message held.
pub const HELD: &str = "held";
/// Id of the one-way latency through the ack layer.
pub const ACK_ONE_WAY: &str = "ack-one-way";
/// Id of the worker-pool section: the ack layer ÷ channels, unpinned.
pub const POOL: &str = "pool";
/// Id of the owned-delivery section: owned ÷ borrowed deliveries.
pub const OWNED: &str = "owned";
/// Id of the async section: futures on tokio ÷ the best async channel.
pub const ASYNC: &str = "async";
/// Id of the broker section: the in-process queue ÷ RabbitMQ on loopback.
pub const BROKER: &str = "broker";

/// What a section writer reads.
pub struct Context<'a> {
    /// Everything the run measured.
    pub results: &'a Results,
    /// The run's sizes.
    pub plan: &'a Plan,
    /// The machine it ran on.
    pub machine: &'a Machine,
    /// Where the report goes (plots are written here).
    pub dir: &'a Path,
}

/// One section of the report (module docs).
pub trait Section {
    /// Its id: the first part of every figure id it measures, which the
    /// command-line filter matches.
    fn id(&self) -> &'static str;

    /// Measures each of its figures once: one round. `round` counts from
    /// 1; rotate the order of the peers by it (`crate::rotated`).
    fn measure(&self, suite: &mut Suite, round: usize);

    /// Its bullet of "How it is measured" (Markdown, one paragraph).
    fn method(&self, cx: &Context) -> String;

    /// Its rows of the targets table.
    fn targets(&self, _cx: &Context) -> Vec<Target> {
        Vec::new()
    }

    /// Appends its part of README.md to `out` and writes its plots into
    /// `cx.dir`; returns the plot files it wrote, with what each shows.
    fn write(&self, cx: &Context, out: &mut String) -> io::Result<Vec<(String, String)>>;
}

/// Every section, in report order.
pub fn all() -> Vec<Box<dyn Section>> {
    vec![
        Box::new(cost::Cost),
        Box::new(throughput::Throughput),
        Box::new(ping_pong::PingPong),
        Box::new(one_way::OneWay),
        Box::new(ack::Ack),
        Box::new(pool::Pool),
        Box::new(ack_one_way::AckOneWay),
        Box::new(held::Held),
        Box::new(owned::Owned),
        Box::new(asynch::Async),
        Box::new(broker::Broker),
    ]
}

/// Measures one round of a one-way latency section: each of its roster's
/// queues in turn (rotated by round), at the plan's rate.
fn one_way(suite: &mut Suite, section: &'static str, round: usize) {
    for e in crate::rotated(&crate::roster::of_section(section), round - 1) {
        suite.latency(section, round, e.name, e.slug, |p| {
            ((e.one_way)(p.rate, p.one_way, p.one_way_warm_up), None)
        });
    }
}

/// Measures one round of a throughput section: for each of `shapes`, every
/// row (entry and calls) of its roster that can run the shape and that
/// `keep` keeps, in turn (rotated by round).
fn transfers(
    suite: &mut Suite,
    section: &'static str,
    shapes: &[crate::throughput::Shape],
    round: usize,
    keep: impl Fn(&crate::roster::Entry, &crate::Key) -> bool,
) {
    let entries = crate::roster::of_section(section);
    for shape in shapes {
        let runs: Vec<_> = entries
            .iter()
            .filter(|e| (e.supports)(shape))
            .flat_map(|e| e.keys().into_iter().map(move |k| (*e, k)))
            .filter(|(e, k)| keep(e, k))
            .collect();
        for (e, key) in crate::rotated(&runs, round - 1) {
            suite.throughput(section, shape.name, round, e.name, key, |total| {
                (e.transfer)(shape, key.calls, key.batch, total)
            });
        }
    }
}
