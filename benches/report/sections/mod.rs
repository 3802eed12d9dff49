//! The sections of the report, in the order it prints them. Each is one
//! file: what it measures in a round, the bullet it adds to "How it is
//! measured", its rows of the targets table, and its part of the report.
//!
//! To add a section:
//!
//! 1. Write `sections/NAME.rs` with a unit struct implementing [`Section`]:
//!    `measure` runs each of its figures once per call (one round)
//!    through `Suite::throughput` (criterion, for rates) or
//!    `Suite::latency` (a histogram), which honour the filter and record
//!    the figure with its round and the load; the closure you pass does
//!    the work and checks its own result (count and sum of the messages,
//!    panicking on a mismatch), as `throughput::transfer` does. `write`
//!    turns the records (`results::Rows` / `results::Lats`, ratios
//!    within a round) into tables (the helpers in `tables.rs`) and
//!    plots; `method` says how it is measured; `targets` gives its
//!    rows of the targets table (`figure::Target`, with a `Goal` or `None`
//!    for context).
//! 2. Add it to [`all`] below (and a `pub const` id here if roster entries
//!    should name it).
//! 3. If it measures roster entries, add its id to the `sections` of each
//!    entry in `roster.rs` it should measure. A section that measures its
//!    own setups (say, a pool with one message held, ÷ the same pool
//!    without it) records them under its own slugs and names instead.
//!
//! Nothing else changes: CSV, environment and the targets table pick up
//! every section's records and targets. The headline (the README's block)
//! is a short list of its own, `headline.rs`: a figure users compare
//! crates by joins it there.

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
