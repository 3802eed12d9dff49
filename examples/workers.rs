//! A pool of worker threads fed by one dispatcher: the dispatcher receives
//! owned deliveries from an `AckQueue`'s `Worker` handle and hands each
//! to a pool thread over a channel (`ackring::channel`); the pool threads
//! ack them. One of them panics while holding a delivery: the unwinding
//! drops the delivery, which requeues the job, and the dispatcher hands
//! it out again. Nobody calls `close`: the producer's `Publisher` going
//! ends the dispatcher's loop, and the dispatcher's channel senders going
//! ends the pool's. The accounting at the end shows nothing was lost.
//!
//! Run with `cargo run --release --example workers`.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use ackring::channel::{self, Receiver};
use ackring::{AckQueue, OwnedDelivery};

const JOBS: u64 = 10_000;
const POOL: usize = 4;

/// What the pool did, shared with the main thread.
#[derive(Default)]
struct Tally {
    sum: AtomicU64,
    count: AtomicU64,
    crashes: AtomicU64,
}

fn main() {
    let (publisher, worker) = AckQueue::<u64>::builder()
        .capacity(256)
        .max_in_flight(POOL * 4) // prefetch
        .lease(Duration::from_secs(30))
        .build_handles()
        .expect("valid configuration");
    let tally = Arc::new(Tally::default());

    let producer = thread::spawn(move || {
        let mut last = None;
        for job in 1..=JOBS {
            last = Some(publisher.publish(job).expect("a worker is listening"));
        }
        // Publisher confirms: wait until every job was processed (the
        // watermark passed the last one; `wait_settled` would wait for
        // that one job alone).
        let confirmed =
            publisher.wait_settled_through(last.expect("jobs"), Duration::from_secs(60));
        println!("producer: all {JOBS} jobs confirmed processed: {confirmed}");
        // `publisher`, the only one, is dropped here: the queue closes.
    });

    // Each pool thread owns the receiving end of a channel of owned
    // deliveries: nothing it holds borrows the queue.
    let (senders, pool): (Vec<_>, Vec<_>) = (0..POOL)
        .map(|id| {
            let (tx, rx) = channel::bounded::<OwnedDelivery<u64>>(2);
            let tally = Arc::clone(&tally);
            (tx, thread::spawn(move || work(id, &rx, &tally)))
        })
        .unzip();

    // The dispatcher: owned deliveries, handed round the pool, until the
    // queue is closed and nothing is left.
    for (next, job) in worker.clone().into_iter().enumerate() {
        senders[next % POOL].send(job).expect("pool thread alive");
    }
    drop(senders); // the pool's loops end
    for thread in pool {
        thread
            .join()
            .expect("pool threads recover from their crashes");
    }
    producer.join().expect("producer");

    let stats = worker.stats();
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
    assert!(worker.drain().is_empty(), "nothing left unsettled");
    println!("nothing lost.");
}

/// A pool thread: handles the jobs sent to it until every sender of its
/// channel is gone. Thread 0 crashes on its 100th job; the panic unwinds
/// through the delivery, which requeues the job, and the thread starts
/// over.
fn work(id: usize, jobs: &Receiver<OwnedDelivery<u64>>, tally: &Tally) {
    let mut handled = 0;
    loop {
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            for job in jobs {
                handled += 1;
                if id == 0 && handled == 100 {
                    panic!("pool thread {id} crashed on job {}", *job);
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
                println!("pool thread {id}: restarted after a crash");
            }
        }
    }
}
