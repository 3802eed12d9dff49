//! A pool of worker threads fed by one dispatcher: the dispatcher receives
//! owned deliveries (`receive_owned` on an `Arc<AckQueue>`) and hands each
//! to a worker over a channel; the workers ack them. One worker panics
//! while holding a delivery: the unwinding drops the delivery, which
//! requeues the job, and the dispatcher hands it out again. The accounting
//! at the end shows nothing was lost.
//!
//! Run with `cargo run --release --example workers`.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use ackring::{AckQueue, OwnedDelivery};

const JOBS: u64 = 10_000;
const WORKERS: usize = 4;

/// What the workers did, shared with the main thread.
#[derive(Default)]
struct Tally {
    sum: AtomicU64,
    count: AtomicU64,
    crashes: AtomicU64,
}

fn main() {
    let queue = Arc::new(
        AckQueue::<u64>::builder()
            .capacity(256)
            .max_in_flight(WORKERS * 4) // prefetch
            .lease(Duration::from_secs(30))
            .build()
            .expect("valid configuration"),
    );
    let tally = Arc::new(Tally::default());

    let producer = {
        let queue = Arc::clone(&queue);
        thread::spawn(move || {
            let mut last = None;
            for job in 1..=JOBS {
                last = Some(queue.publish(job).expect("queue open"));
            }
            // Publisher confirms: wait until every job was processed (the
            // watermark passed the last one; `wait_settled` would wait for
            // that one job alone).
            let confirmed =
                queue.wait_settled_through(last.expect("jobs"), Duration::from_secs(60));
            println!("producer: all {JOBS} jobs confirmed processed: {confirmed}");
            queue.close();
        })
    };

    // Each worker owns its end of a channel of owned deliveries: nothing it
    // holds borrows the queue, so it is a plain `thread::spawn`.
    let (senders, workers): (Vec<_>, Vec<_>) = (0..WORKERS)
        .map(|id| {
            let (tx, rx) = mpsc::sync_channel::<OwnedDelivery<u64>>(2);
            let tally = Arc::clone(&tally);
            (tx, thread::spawn(move || work(id, &rx, &tally)))
        })
        .unzip();

    // The dispatcher: receive owned deliveries, hand them round the pool,
    // until the queue is closed and nothing is left.
    let mut next = 0;
    while let Ok(job) = queue.receive_owned() {
        senders[next % WORKERS].send(job).expect("worker alive");
        next += 1;
    }
    drop(senders);
    for worker in workers {
        worker.join().expect("workers recover from their crashes");
    }
    producer.join().expect("producer");

    let stats = queue.stats();
    let expected_sum = JOBS * (JOBS + 1) / 2;
    let crashes = tally.crashes.load(Ordering::Relaxed);
    let done_sum = tally.sum.load(Ordering::Relaxed);
    println!("published     {}", stats.published);
    println!("delivered     {}", stats.delivered);
    println!("redelivered   {}", stats.redelivered);
    println!("acked         {}", stats.acked);
    println!("nacked        {} (the crashed delivery)", stats.nacked);
    println!("crashes       {crashes}");
    println!("sum of jobs   {done_sum} (expected {expected_sum})");
    assert_eq!(tally.count.load(Ordering::Relaxed), JOBS);
    assert_eq!(done_sum, expected_sum);
    assert_eq!(stats.acked, JOBS);
    assert_eq!(stats.redelivered, crashes);
    println!("nothing lost.");
}

/// A worker: handles the jobs sent to it until its channel closes. Worker
/// 0 crashes on its 100th job; the panic unwinds through the delivery,
/// which requeues the job, and the worker starts over.
fn work(id: usize, jobs: &mpsc::Receiver<OwnedDelivery<u64>>, tally: &Tally) {
    let mut handled = 0;
    loop {
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            for job in jobs.iter() {
                handled += 1;
                if id == 0 && handled == 100 {
                    panic!("worker {id} crashed on job {}", *job);
                }
                tally.sum.fetch_add(*job, Ordering::Relaxed);
                tally.count.fetch_add(1, Ordering::Relaxed);
                job.ack().expect("lease still held");
            }
        }));
        match outcome {
            Ok(()) => return, // the dispatcher is done
            Err(_) => {
                tally.crashes.fetch_add(1, Ordering::Relaxed);
                println!("worker {id}: restarted after a crash");
            }
        }
    }
}
