//! The worker half of the worker pool across processes: takes jobs from a
//! RabbitMQ quorum queue (prefetch 16), "processes" each, acks it, and
//! exits once no job came for `--idle-secs`, printing what it did. The
//! work loop is written against the ack API's traits only, so it is the
//! same loop an in-process `AckQueue` runs (the `workers` example).
//!
//! With `--crash-after K` the worker exits abruptly (no ack, no goodbye to
//! the broker) while holding its K-th job: the broker requeues every job
//! its connection held, and the other workers get them again, marked
//! redelivered. Nothing is lost.
//!
//! ```sh
//! export ACKRING_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/%2f
//! cargo run --features amqp,json --example amqp_worker -- --id 0 --crash-after 100 &
//! cargo run --features amqp,json --example amqp_worker -- --id 1 &
//! cargo run --features amqp,json --example amqp_producer -- --jobs 10000
//! wait   # each worker prints: worker ID: acked N jobs, sum S, R redelivered
//! ```
//!
//! Flags: `--queue NAME` (default `ackring-jobs`), `--id N`,
//! `--crash-after K`, `--idle-secs S` (default 3).

use std::io::Write;
use std::time::Duration;

use ackring::amqp::{AmqpQueue, Json};
use ackring::api::{Acknowledge, Consumer};

/// What one worker did.
#[derive(Debug, Default)]
struct Tally {
    acked: u64,
    sum: u64,
    redelivered: u64,
}

/// The work loop: any backend of the ack API.
fn work<Q: Consumer<Message = u64>>(
    queue: &Q,
    idle: Duration,
    crash_after: Option<u64>,
    id: &str,
) -> Tally {
    let mut tally = Tally::default();
    let mut handled = 0;
    while let Ok(Some(job)) = queue.receive_timeout(idle) {
        handled += 1;
        if crash_after == Some(handled) {
            println!(
                "worker {id}: acked {} jobs, sum {}, {} redelivered; crashing while holding job {}",
                tally.acked, tally.sum, tally.redelivered, *job
            );
            let _ = std::io::stdout().flush();
            // No destructors, no goodbye: the connection just drops.
            std::process::exit(3);
        }
        tally.sum += *job;
        tally.redelivered += u64::from(job.redelivered());
        job.ack().expect("ack");
        tally.acked += 1;
    }
    tally
}

fn main() {
    let url = std::env::var("ACKRING_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let queue_name = flag("--queue").unwrap_or_else(|| "ackring-jobs".into());
    let id = flag("--id").unwrap_or_else(|| std::process::id().to_string());
    let crash_after = flag("--crash-after").map(|k| k.parse().expect("--crash-after K"));
    let idle =
        Duration::from_secs(flag("--idle-secs").map_or(3, |s| s.parse().expect("--idle-secs S")));

    let queue: AmqpQueue<u64, Json> = AmqpQueue::builder(url, queue_name.as_str())
        .max_in_flight(16)
        .max_deliveries(5)
        .codec(Json)
        .connect()
        .expect("connect to RabbitMQ");
    let tally = work(&queue, idle, crash_after, &id);
    println!(
        "worker {id}: acked {} jobs, sum {}, {} redelivered",
        tally.acked, tally.sum, tally.redelivered
    );
}

/// The value after `name` on the command line.
fn flag(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()
}
