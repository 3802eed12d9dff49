//! What leaving the process costs: publish → receive → ack through
//! RabbitMQ on loopback with the AMQP backend, next to the in-process
//! `AckQueue` on the same workload, run by the same generic loop (the ack
//! API's traits): a producer thread publishing with up to 64 publishes
//! awaiting their confirmation, and a consumer that acks each message, or
//! receives batches of up to 100 and acks each batch with one call (over
//! AMQP one `basic.ack` with `multiple`). The prefetch limit is 1 or 100
//! (`basic.qos` over AMQP, `max_in_flight` in process).
//!
//! The broker side needs the crate's `amqp` feature and a server at
//! `ACKRING_AMQP_URL`; `bash .ci/bench` builds the report with the feature
//! and runs a RabbitMQ node on loopback for it. Without either, the
//! section says why it was not measured. With the URL set, a broker that
//! cannot be reached fails the run: a report asked for broker figures
//! does not quietly leave them out.
//!
//! A broker round trip takes milliseconds, so each figure is one timed
//! run per round (`Suite::timed`) rather than criterion's samples.

use std::fmt::Write as _;
use std::io;

use super::{Context, Section, BROKER};
use crate::figure::Target;
use crate::peers::Calls;
use crate::plan::Mode;
use crate::results::{Key, Rows};
use crate::Suite;

/// The broker section.
pub struct Broker;

/// One workload: its label (the figure's shape), the prefetch limit, and
/// whether the consumer acks in batches.
#[derive(Clone, Copy)]
struct Workload {
    label: &'static str,
    prefetch: u16,
    batch: bool,
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        label: "prefetch 1, ack per message",
        prefetch: 1,
        batch: false,
    },
    Workload {
        label: "prefetch 100, ack per message",
        prefetch: 100,
        batch: false,
    },
    Workload {
        label: "prefetch 100, batch receive of ≤ 100, one batch ack",
        prefetch: 100,
        batch: true,
    },
];

/// Messages the consumer asks for per batch receive.
const BATCH: usize = 100;
/// Publishes awaiting their confirmation at once.
const IN_FLIGHT_PUBLISHES: usize = 64;

const RABBITMQ: &str = "rabbitmq";
const IN_PROCESS: &str = "ackqueue-in-process";

impl Workload {
    /// The row of `slug` in this workload.
    fn key(self, slug: &'static str) -> Key {
        Key::new(slug, Calls::Blocking, if self.batch { BATCH } else { 1 })
    }
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

    fn measure(&self, suite: &mut Suite, round: usize) {
        let Ok(url) = broker() else { return };
        #[cfg(feature = "amqp")]
        measure::round(suite, round, &url);
        #[cfg(not(feature = "amqp"))]
        let _ = (suite, round, url);
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
                    .ratio(w.key(IN_PROCESS), w.key(RABBITMQ)),
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
        let _ = writeln!(
            o,
            "| workload | RabbitMQ, AMQP backend (loopback) | AckQueue, in process | in process ÷ RabbitMQ |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|");
        for (w, rows) in &measured {
            let (amqp, local) = (w.key(RABBITMQ), w.key(IN_PROCESS));
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                w.label,
                per_second(&rows.rates(amqp)),
                per_second(&rows.rates(local)),
                rows.ratio(local, amqp).ratio()
            );
        }
        let _ = writeln!(
            o,
            "\nOver the broker a message costs a publish with its confirmation (the quorum \
             queue writes it to its log before it confirms), a delivery and an ack frame on \
             loopback; the prefetch limit of 1 adds a full round trip per message.\n"
        );
        Ok(Vec::new())
    }
}

/// Untimed messages before each timed broker run.
fn warm_up(n: u64) -> u64 {
    (n / 10).max(10)
}

/// A figure of rates as "median (min–max)" in whole messages per second.
fn per_second(rates: &crate::figure::Figure) -> String {
    match rates.spread() {
        Some((lo, med, hi)) => format!("{med:.0} ({lo:.0}–{hi:.0})"),
        None => "–".to_string(),
    }
}

#[cfg(feature = "amqp")]
mod measure {
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    use ackring::amqp::AmqpQueue;
    use ackring::api::{Acknowledge, Consumer, Producer, Queue};
    use ackring::AckQueue;
    use futures::stream::{self, StreamExt};

    use super::{messages, warm_up, BATCH, BROKER, IN_FLIGHT_PUBLISHES};
    use super::{IN_PROCESS, RABBITMQ, WORKLOADS};
    use crate::{rotated, Suite};

    /// How long a receive may wait before the run is declared broken.
    const STALL: Duration = Duration::from_secs(30);

    /// A handle on the broker's queue.
    type Amqp = AmqpQueue<Vec<u8>>;

    /// One round: each workload on a fresh broker queue (a producing and
    /// a consuming handle, each its own connection) and a fresh
    /// in-process queue, the two sides' order rotating by round.
    pub fn round(suite: &mut Suite, round: usize, url: &str) {
        let n = messages(suite.plan.mode);
        for (i, w) in WORKLOADS.iter().enumerate() {
            let sides = [
                (RABBITMQ, "RabbitMQ, AMQP backend"),
                (IN_PROCESS, "AckQueue"),
            ];
            for (slug, name) in rotated(&sides, round + i) {
                if slug == RABBITMQ {
                    let queue = format!("ackring-report-{}-{i}", std::process::id());
                    let connect = || {
                        AmqpQueue::builder(url, queue.as_str())
                            .max_in_flight(w.prefetch)
                            .connect()
                            .unwrap_or_else(|e| {
                                panic!("ACKRING_AMQP_URL is set, but {url} cannot be used: {e}")
                            })
                    };
                    let (p, c): (Amqp, Amqp) = (connect(), connect());
                    run(&p, &c, warm_up(n), w.batch);
                    suite.timed(BROKER, w.label, round, name, w.key(slug), n, |n| {
                        run(&p, &c, n, w.batch)
                    });
                    p.close();
                    c.close();
                    drop(c);
                    p.delete().expect("delete the benchmark queue");
                } else {
                    let q = Arc::new(
                        AckQueue::builder()
                            .capacity(1024)
                            .max_in_flight(usize::from(w.prefetch))
                            .build()
                            .expect("valid configuration"),
                    );
                    suite.timed(BROKER, w.label, round, name, w.key(slug), n, |n| {
                        run(&q, &q, n, w.batch)
                    });
                }
            }
        }
    }

    /// Publishes `0..n` from one thread and receives and acks them on this
    /// one; returns the time from the first publish to the last ack, and
    /// checks that each message came once.
    fn run<Q>(producer: &Q, consumer: &Q, n: u64, batch: bool) -> Duration
    where
        Q: Producer<Message = Vec<u8>> + Consumer<Message = Vec<u8>> + Sync,
    {
        let start = Instant::now();
        thread::scope(|s| {
            s.spawn(|| {
                futures::executor::block_on(
                    stream::iter(0..n)
                        .map(|i| producer.publish_async(i.to_le_bytes().to_vec()))
                        .buffered(IN_FLIGHT_PUBLISHES)
                        .for_each(|r| {
                            r.expect("publish confirmed");
                            std::future::ready(())
                        }),
                );
            });
            let value = |d: &[u8]| u64::from_le_bytes(d.try_into().expect("8 bytes"));
            let (mut got, mut sum) = (0, 0);
            if batch {
                let mut out = Vec::with_capacity(BATCH);
                let mut errors = Vec::new();
                while got < n {
                    let k = consumer
                        .receive_batch_timeout(BATCH, &mut out, STALL)
                        .expect("receive");
                    assert!(k > 0, "stalled after {got} messages");
                    sum += out.iter().map(|d| value(d)).sum::<u64>();
                    got += k as u64;
                    assert_eq!(consumer.ack_batch(out.drain(..), &mut errors), k);
                }
            } else {
                while got < n {
                    let d = consumer
                        .receive_timeout(STALL)
                        .expect("receive")
                        .expect("stalled");
                    sum += value(&d);
                    got += 1;
                    d.ack().expect("ack");
                }
            }
            assert_eq!(got, n, "as many messages as published");
            assert_eq!(sum, n * (n - 1) / 2, "each message once");
        });
        start.elapsed()
    }
}
