//! What leaving the process costs: publish → receive → ack through
//! RabbitMQ on loopback with the AMQP backend, next to the in-process
//! `AckQueue` on the same workload, run by the same generic loop (the ack
//! API's traits): a producer thread publishing with up to 64 publishes
//! awaiting their confirmation, and a consumer that acks each message, or
//! receives batches of up to 100 and acks each batch with one call (over
//! AMQP one `basic.ack` with `multiple`). The prefetch limit is 1 or 100
//! (`basic.qos` over AMQP, `max_in_flight` in process).
//!
//! Prints, per workload, the median (min–max) over rounds of messages per
//! second, each round a fresh run of `--messages` messages, the workloads
//! interleaved within each round, after one warm-up round.
//!
//! ```sh
//! export ACKRING_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/%2f
//! cargo run --release --features amqp --example amqp_bench -- --rounds 5 --messages 5000
//! ```

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ackring::amqp::AmqpQueue;
use ackring::api::{Acknowledge, Consumer, Producer, Queue};
use ackring::AckQueue;
use futures::stream::{self, StreamExt};

/// A handle on the broker's queue.
type Broker = AmqpQueue<Vec<u8>>;

/// How long a receive may wait before the run is declared broken.
const STALL: Duration = Duration::from_secs(30);

/// One workload: the prefetch limit, and whether the consumer acks in
/// batches.
#[derive(Clone, Copy)]
struct Workload {
    prefetch: u16,
    batch: bool,
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        prefetch: 1,
        batch: false,
    },
    Workload {
        prefetch: 100,
        batch: false,
    },
    Workload {
        prefetch: 100,
        batch: true,
    },
];

impl Workload {
    fn name(self) -> String {
        let acks = if self.batch {
            "batch receive of ≤ 100, one batch ack"
        } else {
            "ack per message"
        };
        format!("prefetch {}, {acks}", self.prefetch)
    }
}

/// Publishes `n` messages from one thread and receives and acks them on
/// this one; returns the time from the first publish to the last ack, and
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
                    .buffered(64)
                    .for_each(|r| {
                        r.expect("publish confirmed");
                        std::future::ready(())
                    }),
            );
        });
        let value = |d: &[u8]| u64::from_le_bytes(d.try_into().expect("8 bytes"));
        let (mut got, mut sum) = (0, 0);
        if batch {
            let mut out = Vec::with_capacity(100);
            let mut errors = Vec::new();
            while got < n {
                let k = consumer
                    .receive_batch_timeout(100, &mut out, STALL)
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
        assert_eq!(sum, n * (n - 1) / 2, "each message once");
    });
    start.elapsed()
}

/// Median, min and max.
fn summary(mut rates: Vec<f64>) -> (f64, f64, f64) {
    rates.sort_by(f64::total_cmp);
    (rates[rates.len() / 2], rates[0], rates[rates.len() - 1])
}

fn rate(n: u64, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

fn main() {
    let url = std::env::var("ACKRING_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let rounds: usize = flag("--rounds").map_or(5, |r| r.parse().expect("--rounds R"));
    let n: u64 = flag("--messages").map_or(5000, |m| m.parse().expect("--messages N"));
    let queue = format!("ackring-bench-{}", std::process::id());

    // Per workload: a producing handle and a consuming one (each its own
    // connection) on the broker, one in-process queue.
    let brokers: Vec<(Broker, Broker)> = WORKLOADS
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let connect = || {
                AmqpQueue::builder(url.as_str(), format!("{queue}-{i}"))
                    .max_in_flight(w.prefetch)
                    .connect()
                    .expect("connect to RabbitMQ")
            };
            (connect(), connect())
        })
        .collect();
    let local: Vec<Arc<AckQueue<Vec<u8>>>> = WORKLOADS
        .iter()
        .map(|w| {
            Arc::new(
                AckQueue::builder()
                    .capacity(1024)
                    .max_in_flight(usize::from(w.prefetch))
                    .build()
                    .expect("valid configuration"),
            )
        })
        .collect();

    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the start: {}", load().trim());
    let mut amqp = vec![Vec::new(); WORKLOADS.len()];
    let mut inproc = vec![Vec::new(); WORKLOADS.len()];
    for round in 0..=rounds {
        // Round 0 warms up (connections, the quorum queues' first writes).
        let count = if round == 0 { n.min(500) } else { n };
        for (i, w) in WORKLOADS.iter().enumerate() {
            let (p, c) = &brokers[i];
            let a = rate(count, run(p, c, count, w.batch));
            let q = &local[i];
            let b = rate(count, run(q, q, count, w.batch));
            if round > 0 {
                amqp[i].push(a);
                inproc[i].push(b);
            }
        }
    }
    println!("load average at the end: {}", load().trim());
    println!();
    println!(
        "publish → receive → ack, {n} messages a round, {rounds} rounds: median (min–max) messages/s"
    );
    println!();
    println!("| workload | RabbitMQ, AMQP backend (loopback) | AckQueue, in process | in process ÷ RabbitMQ |");
    println!("|---|---:|---:|---:|");
    for (i, w) in WORKLOADS.iter().enumerate() {
        let ratios: Vec<f64> = inproc[i].iter().zip(&amqp[i]).map(|(b, a)| b / a).collect();
        let (am, alo, ahi) = summary(amqp[i].clone());
        let (bm, blo, bhi) = summary(inproc[i].clone());
        let (rm, rlo, rhi) = summary(ratios);
        println!(
            "| {} | {am:.0} ({alo:.0}–{ahi:.0}) | {bm:.0} ({blo:.0}–{bhi:.0}) | {rm:.0}× ({rlo:.0}–{rhi:.0}) |",
            w.name()
        );
    }
    for (p, c) in brokers {
        p.close();
        c.close();
        drop(c);
        p.delete().expect("delete the benchmark queue");
    }
}

/// The value after `name` on the command line.
fn flag(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()
}
