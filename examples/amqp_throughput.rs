//! What leaving the process costs: publish → receive → ack through
//! RabbitMQ with the AMQP backend, beside the in-process `AckQueue` on the
//! same workload, run by one generic loop over the ack API's traits: a
//! producer thread with up to 64 publishes awaiting their confirmation,
//! and a consumer that acks each message, or receives batches of up to
//! 100 and acks each batch with one call (over AMQP one `basic.ack` with
//! `multiple`). The prefetch limit is 1 or 100 (`basic.qos` over AMQP,
//! `max_in_flight` in process). The benchmark report's broker section
//! runs these workloads through this loop.
//!
//! ```sh
//! export ACKRING_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/%2f
//! cargo run --release --features amqp --example amqp_throughput -- [rounds [messages]]
//! ```

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ackring::api::{Acknowledge, Consumer, Producer};
use ackring::AckQueue;
use futures::stream::{self, StreamExt};

/// One workload: its label, the prefetch limit, and whether the consumer
/// receives and acks in batches.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// What it is, as the report's rows name it.
    pub label: &'static str,
    /// Unacked deliveries the consumer may hold.
    pub prefetch: u16,
    /// Batch receives of up to [`BATCH`], one ack per batch.
    pub batch: bool,
}

/// Every workload, in report order.
pub const WORKLOADS: [Workload; 3] = [
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
pub const BATCH: usize = 100;
/// Publishes awaiting their confirmation at once.
pub const IN_FLIGHT_PUBLISHES: usize = 64;
/// How long a receive may wait before the run is declared broken.
const STALL: Duration = Duration::from_secs(30);

/// Untimed messages before each timed broker run.
pub fn warm_up(n: u64) -> u64 {
    (n / 10).max(10)
}

/// A fresh in-process queue for `w`.
pub fn in_process(w: &Workload) -> Arc<AckQueue<Vec<u8>>> {
    let q = AckQueue::builder()
        .capacity(1024)
        .max_in_flight(usize::from(w.prefetch))
        .build()
        .expect("valid configuration");
    Arc::new(q)
}

/// A handle on a broker queue.
#[cfg(feature = "amqp")]
pub type Amqp = ackring::amqp::AmqpQueue<Vec<u8>>;

/// A producing and a consuming handle on the broker queue `queue` at
/// `url`, each its own connection, for `w`; warmed up for `n` messages.
#[cfg(feature = "amqp")]
pub fn broker(url: &str, queue: &str, w: &Workload, n: u64) -> (Amqp, Amqp) {
    let connect = || {
        Amqp::builder(url, queue)
            .max_in_flight(w.prefetch)
            .connect()
            .unwrap_or_else(|e| panic!("the broker at {url} cannot be used: {e}"))
    };
    let (p, c) = (connect(), connect());
    run(&p, &c, warm_up(n), w.batch);
    (p, c)
}

/// Closes both handles and deletes their queue.
#[cfg(feature = "amqp")]
pub fn close(p: Amqp, c: Amqp) {
    use ackring::api::Queue;
    p.close();
    c.close();
    drop(c);
    p.delete().expect("delete the benchmark queue");
}

/// Publishes `0..n` from one thread and receives and acks them on this
/// one (in batches if `batch`); returns the time from the first publish
/// to the last ack, and checks that each message came once.
pub fn run<Q>(producer: &Q, consumer: &Q, n: u64, batch: bool) -> Duration
where
    Q: Producer<Message = Vec<u8>> + Consumer<Message = Vec<u8>> + Sync,
{
    let start = Instant::now();
    thread::scope(|s| {
        s.spawn(|| {
            let publishes = stream::iter(0..n)
                .map(|i| producer.publish_async(i.to_le_bytes().to_vec()))
                .buffered(IN_FLIGHT_PUBLISHES);
            futures::executor::block_on(publishes.for_each(|r| {
                r.expect("publish confirmed");
                std::future::ready(())
            }));
        });
        let value = |d: &[u8]| u64::from_le_bytes(d.try_into().expect("8 bytes"));
        let (mut got, mut sum) = (0, 0);
        let (mut out, mut errors) = (Vec::with_capacity(BATCH), Vec::new());
        while got < n {
            if batch {
                let k = consumer
                    .receive_batch_timeout(BATCH, &mut out, STALL)
                    .expect("receive");
                assert!(k > 0, "stalled after {got} messages");
                sum += out.iter().map(|d| value(d)).sum::<u64>();
                got += k as u64;
                assert_eq!(consumer.ack_batch(out.drain(..), &mut errors), k);
            } else {
                let d = consumer.receive_timeout(STALL).expect("receive");
                let d = d.expect("stalled");
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

#[cfg(feature = "amqp")]
fn main() {
    let url = std::env::var("ACKRING_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(3, |r| r.parse().expect("rounds"));
    let n: u64 = args.next().map_or(2_000, |m| m.parse().expect("messages"));
    for (i, w) in WORKLOADS.iter().enumerate() {
        let mut ratios = Vec::new();
        for round in 0..rounds {
            let queue = format!("ackring-throughput-{}-{i}", std::process::id());
            let (p, c) = broker(&url, &queue, w, n);
            let remote = run(&p, &c, n, w.batch);
            close(p, c);
            let q = in_process(w);
            let local = run(&q, &q, n, w.batch);
            let rate = |d: Duration| n as f64 / d.as_secs_f64();
            println!(
                "{} (round {}): RabbitMQ {:.0} msg/s, in process {:.0} msg/s",
                w.label,
                round + 1,
                rate(remote),
                rate(local)
            );
            ratios.push(rate(local) / rate(remote));
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "{}: in process ÷ RabbitMQ {:.0}× (median of {rounds})",
            w.label,
            ratios[ratios.len() / 2]
        );
    }
}
