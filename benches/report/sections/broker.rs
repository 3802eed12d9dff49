//! What leaving the process costs: the workloads and the loop of
//! `examples/amqp_throughput.rs` (publish → receive → ack through RabbitMQ
//! on loopback with the AMQP backend, beside the in-process `AckQueue`),
//! one timed run per workload, side and round (`Suite::timed`: a broker
//! round trip takes milliseconds).
//!
//! The broker side needs the crate's `amqp` feature and a server at
//! `ACKRING_AMQP_URL`; `bash .ci/bench` builds the report with the feature
//! and runs a RabbitMQ node on loopback for it. Without either, the
//! section says why it was not measured. With the URL set, a broker that
//! cannot be reached fails the run: a report asked for broker figures
//! does not quietly leave them out.

#[path = "../../../examples/amqp_throughput.rs"]
#[allow(dead_code)]
mod amqp_throughput;

use std::fmt::Write as _;
use std::io;
use std::time::Duration;

use super::{Context, Section, BROKER};
use crate::figure::{Figure, Target};
use crate::peers::Calls;
use crate::plan::Mode;
use crate::results::{Key, Rows};
use crate::{rotated, tables, Suite};
use amqp_throughput::{warm_up, Workload, BATCH, IN_FLIGHT_PUBLISHES, WORKLOADS};

/// The broker section.
pub struct Broker;

const RABBITMQ: &str = "rabbitmq";
const IN_PROCESS: &str = "ackqueue-in-process";

/// The row of `slug` in `w`.
fn key(w: &Workload, slug: &'static str) -> Key {
    Key::new(slug, Calls::Blocking, if w.batch { BATCH } else { 1 })
}

/// What the figures use, as the targets table names it.
const CALLS: &str = "the ack API's traits, the same loop on both";

/// Messages per run, by mode.
fn messages(mode: Mode) -> u64 {
    match mode {
        Mode::Test => 100,
        Mode::Quick => 2_000,
        Mode::Full => 5_000,
    }
}

/// The broker's URL, or why the section is not measured.
fn broker() -> Result<String, &'static str> {
    if !cfg!(feature = "amqp") {
        return Err("the report was built without the crate's `amqp` feature");
    }
    std::env::var("ACKRING_AMQP_URL").map_err(|_| "`ACKRING_AMQP_URL` is not set")
}

impl Section for Broker {
    fn id(&self) -> &'static str {
        BROKER
    }

    /// Each workload on a fresh broker queue and a fresh in-process
    /// queue, the two sides' order rotating by round.
    fn measure(&self, suite: &mut Suite, round: usize) {
        let Ok(url) = broker() else { return };
        let n = messages(suite.plan.mode);
        for (i, w) in WORKLOADS.iter().enumerate() {
            let sides = [
                (RABBITMQ, "RabbitMQ, AMQP backend"),
                (IN_PROCESS, "AckQueue"),
            ];
            for (slug, name) in rotated(&sides, round + i) {
                let key = key(w, slug);
                let timed = |suite: &mut Suite, run: &mut dyn FnMut(u64) -> Duration| {
                    suite.timed(BROKER, w.label, round, name, key, n, run)
                };
                if slug == IN_PROCESS {
                    let q = amqp_throughput::in_process(w);
                    timed(suite, &mut |n| amqp_throughput::run(&q, &q, n, w.batch));
                    continue;
                }
                #[cfg(feature = "amqp")]
                {
                    let queue = format!("ackring-report-{}-{i}", std::process::id());
                    let (p, c) = amqp_throughput::broker(&url, &queue, w, n);
                    timed(suite, &mut |n| amqp_throughput::run(&p, &c, n, w.batch));
                    amqp_throughput::close(p, c);
                }
            }
        }
        let _ = url;
    }

    fn method(&self, cx: &Context) -> String {
        let n = messages(cx.plan.mode);
        let mut prefetch: Vec<String> = WORKLOADS.iter().map(|w| w.prefetch.to_string()).collect();
        prefetch.dedup();
        let prefetch = prefetch.join(" or ");
        format!(
            "**Leaving the process.** publish → receive → ack of {n} messages a round through \
             RabbitMQ on loopback with the AMQP backend (`AmqpQueue`: a quorum queue, \
             publisher confirms, `basic.qos`) and through an in-process `AckQueue`, the same \
             generic loop on both (the `ackring::api` traits): a producer thread with up to \
             {IN_FLIGHT_PUBLISHES} publishes awaiting their confirmation, a consumer that acks \
             each message or receives up to {BATCH} and acks them with one call (one \
             `basic.ack` with `multiple` over AMQP), prefetch {prefetch}. One timed run per \
             workload and round, after {} untimed messages on a fresh broker queue; the run \
             includes starting the producer thread, which weighs on the in-process figures \
             only. Each run checks the count and sum of what the consumer got.",
            warm_up(n)
        )
    }

    fn targets(&self, cx: &Context) -> Vec<Target> {
        WORKLOADS
            .iter()
            .map(|w| Target {
                what: format!(
                    "{}: `AckQueue` in process ÷ RabbitMQ on loopback (AMQP backend)",
                    w.label
                ),
                calls: CALLS,
                goal: None,
                got: Rows::of(cx.results, BROKER, w.label)
                    .ratio(key(w, IN_PROCESS), key(w, RABBITMQ)),
            })
            .filter(|t| broker().is_ok() || t.got.median().is_some())
            .collect()
    }

    fn write(&self, cx: &Context, o: &mut String) -> io::Result<Vec<(String, String)>> {
        let measured: Vec<(Workload, Rows)> = WORKLOADS
            .iter()
            .map(|&w| (w, Rows::of(cx.results, BROKER, w.label)))
            .filter(|(_, rows)| !rows.is_empty())
            .collect();
        let _ = writeln!(o, "## Leaving the process: RabbitMQ on loopback\n");
        if measured.is_empty() {
            let why = broker()
                .err()
                .unwrap_or("no broker figure matched the filter");
            let _ = writeln!(
                o,
                "Not measured in this run: {why}. `bash .ci/bench` builds the report with \
                 the feature and runs a RabbitMQ node on loopback for it.\n"
            );
            return Ok(Vec::new());
        }
        let _ = writeln!(
            o,
            "Messages / s, median (min–max) over rounds, and the in-process ÷ broker ratio \
             taken within each round:\n"
        );
        let body = measured.iter().map(|(w, rows)| {
            let (amqp, local) = (key(w, RABBITMQ), key(w, IN_PROCESS));
            let (remote, here) = (
                per_second(&rows.rates(amqp)),
                per_second(&rows.rates(local)),
            );
            vec![
                w.label.into(),
                remote,
                here,
                rows.ratio(local, amqp).ratio(),
            ]
        });
        let head = [
            "workload",
            "RabbitMQ, AMQP backend (loopback)",
            "AckQueue, in process",
            "in process ÷ RabbitMQ",
        ];
        tables::table(o, &head, 1, body.collect());
        let _ = writeln!(
            o,
            "Over the broker a message costs a publish with its confirmation (the quorum \
             queue writes it to its log before it confirms), a delivery and an ack frame on \
             loopback; the prefetch limit of 1 adds a full round trip per message.\n"
        );
        Ok(Vec::new())
    }
}

/// A figure of rates as "median (min–max)" in whole messages per second.
fn per_second(rates: &Figure) -> String {
    match rates.spread() {
        Some((lo, med, hi)) => format!("{med:.0} ({lo:.0}–{hi:.0})"),
        None => "–".to_string(),
    }
}
