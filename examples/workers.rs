//! A pool of worker threads with prefetch; one worker panics while holding
//! a delivery. The accounting at the end shows nothing was lost.
//!
//! Run with `cargo run --example workers`.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ackring::AckQueue;

const JOBS: u64 = 10_000;
const WORKERS: usize = 4;

fn main() {
    let queue = AckQueue::<u64>::builder()
        .capacity(256)
        .max_in_flight(WORKERS * 4) // prefetch
        .lease(Duration::from_secs(30))
        .build()
        .expect("valid configuration");
    let done_sum = AtomicU64::new(0);
    let done_count = AtomicU64::new(0);
    let crashes = AtomicU64::new(0);

    std::thread::scope(|s| {
        s.spawn(|| {
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
        });
        for id in 0..WORKERS {
            let (queue, done_sum, done_count, crashes) = (&queue, &done_sum, &done_count, &crashes);
            s.spawn(move || {
                // Worker 0 crashes on its 100th job; the panic unwinds
                // through the delivery, which requeues the job.
                let mut handled = 0;
                loop {
                    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                        queue.consume(|job| {
                            handled += 1;
                            if id == 0 && handled == 100 {
                                panic!("worker {id} crashed on job {}", *job);
                            }
                            done_sum.fetch_add(*job, Ordering::Relaxed);
                            done_count.fetch_add(1, Ordering::Relaxed);
                            job.ack().expect("lease still held");
                        })
                    }));
                    match outcome {
                        Ok(()) => break, // closed and drained
                        Err(_) => {
                            crashes.fetch_add(1, Ordering::Relaxed);
                            println!("worker {id}: restarted after a crash");
                        }
                    }
                }
            });
        }
    });

    let stats = queue.stats();
    let expected_sum = JOBS * (JOBS + 1) / 2;
    println!("published     {}", stats.published);
    println!("delivered     {}", stats.delivered);
    println!("redelivered   {}", stats.redelivered);
    println!("acked         {}", stats.acked);
    println!("nacked        {} (the crashed delivery)", stats.nacked);
    println!("crashes       {}", crashes.load(Ordering::Relaxed));
    println!(
        "sum of jobs   {} (expected {expected_sum})",
        done_sum.load(Ordering::Relaxed)
    );
    assert_eq!(done_count.load(Ordering::Relaxed), JOBS);
    assert_eq!(done_sum.load(Ordering::Relaxed), expected_sum);
    assert_eq!(stats.acked, JOBS);
    assert_eq!(stats.redelivered, crashes.load(Ordering::Relaxed));
    println!("nothing lost.");
}
