//! The producer half of the worker pool across processes: publishes jobs
//! `1..=N` to a RabbitMQ quorum queue, each confirmed by the broker
//! (publisher confirms), up to 64 awaiting their confirmation at once.
//! Start workers (`amqp_worker`) before or after it, in other processes
//! or on other machines; they share the jobs.
//!
//! ```sh
//! export ACKRING_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/%2f
//! cargo run --features amqp,json --example amqp_producer -- --jobs 10000
//! ```
//!
//! Flags: `--queue NAME` (default `ackring-jobs`), `--jobs N` (10000).

use std::time::Instant;

use ackring::amqp::{AmqpQueue, Json};
use ackring::api::{Producer, Queue};
use futures::stream::{self, StreamExt};

fn main() {
    let url = std::env::var("ACKRING_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let queue_name = flag("--queue").unwrap_or_else(|| "ackring-jobs".into());
    let jobs: u64 = flag("--jobs").map_or(10_000, |n| n.parse().expect("--jobs N"));

    // The same settings as the workers': a queue's declaration must agree.
    let queue: AmqpQueue<u64, Json> = AmqpQueue::builder(url, queue_name.as_str())
        .max_deliveries(5)
        .codec(Json)
        .connect()
        .expect("connect to RabbitMQ");

    let start = Instant::now();
    // Publisher confirms, pipelined: each future resolves at its own
    // confirmation; a failed one hands its job back.
    let confirmed = futures::executor::block_on(
        stream::iter(1..=jobs)
            .map(|job| queue.publish_async(job))
            .buffer_unordered(64)
            .filter(|r| std::future::ready(r.is_ok()))
            .count(),
    );
    let secs = start.elapsed().as_secs_f64();
    println!(
        "producer: {confirmed} of {jobs} jobs confirmed by the broker in {secs:.2} s ({:.0}/s) on {queue_name}",
        confirmed as f64 / secs
    );
    queue.close();
    assert_eq!(confirmed as u64, jobs, "every job confirmed");
}

/// The value after `name` on the command line.
fn flag(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()
}
