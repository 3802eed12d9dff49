//! The producer half of the worker pool across processes: publishes jobs
//! `1..=N` to a RabbitMQ quorum queue, each confirmed by the broker
//! (publisher confirms), up to 64 awaiting their confirmation at once.
//! Start workers (`amqp_worker`) before or after it, in other processes
//! or on other machines; they share the jobs.
//!
//! The broker may restart while it publishes: each publish waits for the
//! connection to be restored (up to the handle's call timeout, 30 s) and
//! is confirmed then; one whose confirmation was lost with the connection
//! is published again, so a job may be in the queue twice, never missing.
//!
//! ```sh
//! export ACKRING_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/%2f
//! cargo run --features amqp,json --example amqp_producer -- --jobs 10000
//! ```
//!
//! Flags: `--queue NAME` (default `ackring-jobs`), `--jobs N` (10000),
//! `--rate R` (at most R jobs a second; unlimited by default).

use std::time::{Duration, Instant};

use ackring::amqp::{AmqpQueue, Json};
use ackring::api::{Producer, Queue};
use futures::future::join_all;

/// Publishes awaiting their confirmation at once.
const WINDOW: u64 = 64;

fn main() {
    let url = std::env::var("ACKRING_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let queue_name = flag("--queue").unwrap_or_else(|| "ackring-jobs".into());
    let jobs: u64 = flag("--jobs").map_or(10_000, |n| n.parse().expect("--jobs N"));
    let rate: Option<f64> = flag("--rate").map(|r| r.parse().expect("--rate R"));

    // The same settings as the workers': a queue's declaration must agree.
    let queue: AmqpQueue<u64, Json> = AmqpQueue::builder(url, queue_name.as_str())
        .max_deliveries(5)
        .max_backoff(Duration::from_secs(1))
        .codec(Json)
        .connect()
        .expect("connect to RabbitMQ");

    let start = Instant::now();
    let mut confirmed = 0;
    let mut next = 1;
    while next <= jobs {
        let end = (next + WINDOW).min(jobs + 1);
        // Publisher confirms, pipelined: each future resolves at its own
        // confirmation; a failed one hands its job back.
        let results =
            futures::executor::block_on(join_all((next..end).map(|job| queue.publish_async(job))));
        for r in results {
            match r {
                Ok(_) => confirmed += 1,
                Err(e) => {
                    let (error, job) = e.into_parts();
                    eprintln!("producer: job {job} not confirmed: {error}");
                }
            }
        }
        next = end;
        if let Some(rate) = rate {
            let due = Duration::from_secs_f64((next - 1) as f64 / rate);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let stats = queue.stats();
    println!(
        "producer: {confirmed} of {jobs} jobs confirmed by the broker in {secs:.2} s ({:.0}/s) on {queue_name}; \
         {} recoveries, {} published again",
        confirmed as f64 / secs,
        stats.recoveries,
        stats.republished
    );
    queue.close();
    assert_eq!(confirmed, jobs, "every job confirmed");
}

/// The value after `name` on the command line.
fn flag(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()
}
