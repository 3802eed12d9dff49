//! The worker half of the worker pool across processes: takes jobs from a
//! RabbitMQ quorum queue (prefetch 16), "processes" each, acks it, and
//! exits once no job came for `--idle-secs` while connected, printing what
//! it did. The work loop is written against the ack API's traits only, so
//! it is the same loop an in-process `AckQueue` runs (the `workers`
//! example).
//!
//! The broker may restart under it: the handle reconnects by itself, the
//! receive waits meanwhile, and a job it held when the connection dropped
//! is delivered again (its ack reports it stale). Delivery is at least
//! once: a job whose ack was lost with the connection comes again, so a
//! job may be processed twice, never lost. With `--acked FILE` the worker
//! writes the number of every job it acked to FILE, one a line, so that
//! the jobs of all workers can be counted, duplicates apart.
//!
//! With `--crash-after K` the worker exits abruptly (no ack, no goodbye to
//! the broker) while holding its K-th job: the broker requeues every job
//! its connection held, and the other workers get them again, marked
//! redelivered.
//!
//! ```sh
//! export ACKRING_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/%2f
//! cargo run --features amqp,json --example amqp_worker -- --id 0 --crash-after 100 &
//! cargo run --features amqp,json --example amqp_worker -- --id 1 &
//! cargo run --features amqp,json --example amqp_producer -- --jobs 10000
//! wait   # each worker prints: worker ID: acked N jobs, sum S, R redelivered, ...
//! ```
//!
//! Flags: `--queue NAME` (default `ackring-jobs`), `--id N`,
//! `--crash-after K`, `--idle-secs S` (default 3), `--acked FILE`.

use std::fs::File;
use std::io::Write;
use std::time::Duration;

use ackring::amqp::{AmqpQueue, Json};
use ackring::api::{Acknowledge, Consumer, Error};
use ackring::AckError;

/// What one worker did.
#[derive(Debug, Default)]
struct Tally {
    acked: u64,
    sum: u64,
    redelivered: u64,
    stale: u64,
}

/// The work loop: any backend of the ack API. `interrupted` says whether
/// the connection was down during the last wait, so that an outage is not
/// taken for an empty queue.
fn work<Q: Consumer<Message = u64>>(
    queue: &Q,
    idle: Duration,
    crash_after: Option<u64>,
    id: &str,
    acked: &mut Option<File>,
    mut interrupted: impl FnMut() -> bool,
) -> Tally {
    let mut tally = Tally::default();
    let mut handled = 0;
    loop {
        let job = match queue.receive_timeout(idle) {
            Ok(Some(job)) => job,
            Ok(None) if interrupted() => continue,
            Ok(None) => break,
            Err(e) => {
                println!("worker {id}: {e}");
                break;
            }
        };
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
        let (n, redelivered) = (*job, job.redelivered());
        match job.ack() {
            Ok(()) => {}
            // Held when the connection dropped: the broker delivers it
            // again, to this worker or another.
            Err(Error::Ack(AckError::Stale)) => {
                tally.stale += 1;
                continue;
            }
            Err(e) => panic!("ack of job {n}: {e}"),
        }
        tally.acked += 1;
        tally.sum += n;
        tally.redelivered += u64::from(redelivered);
        if let Some(file) = acked {
            writeln!(file, "{n}").expect("write the acked job");
        }
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
    // Unbuffered: a crash loses no line of a job it acked.
    let mut acked = flag("--acked").map(|path| File::create(path).expect("--acked FILE"));

    let queue: AmqpQueue<u64, Json> = AmqpQueue::builder(url, queue_name.as_str())
        .max_in_flight(16)
        .max_deliveries(5)
        .max_backoff(Duration::from_secs(1))
        .codec(Json)
        .connect()
        .expect("connect to RabbitMQ");
    let mut recoveries = 0;
    let interrupted = || {
        let stats = queue.stats();
        let was = recoveries;
        recoveries = stats.recoveries;
        !stats.connected || stats.recoveries != was
    };
    let tally = work(&queue, idle, crash_after, &id, &mut acked, interrupted);
    let stats = queue.stats();
    println!(
        "worker {id}: acked {} jobs, sum {}, {} redelivered, {} stale acks, {} recoveries",
        tally.acked, tally.sum, tally.redelivered, tally.stale, stats.recoveries
    );
}

/// The value after `name` on the command line.
fn flag(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()
}
