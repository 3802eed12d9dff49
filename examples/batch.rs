//! Batch receive and batch ack: a producer publishes jobs, two consumers
//! take them up to 16 at a time (`receive_batch`, within the prefetch
//! limit) and settle each batch with one call (`ack_batch`, or
//! `nack_batch` to retry a batch once), then the accounting: every job
//! processed once, nothing lost.
//!
//! Run with `cargo run --release --example batch`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ackring::AckQueue;

const JOBS: u64 = 200_000;
const BATCH: usize = 16;

fn main() {
    let (publisher, worker) = AckQueue::<u64>::builder()
        .capacity(1024)
        .max_in_flight(64) // prefetch: at most 64 unacked jobs across consumers
        .build_handles()
        .expect("valid configuration");
    let batches = AtomicU64::new(0);
    let retried = AtomicU64::new(0);
    let start = Instant::now();

    let done: Vec<(u64, u64)> = std::thread::scope(|s| {
        s.spawn(move || {
            for job in 1..=JOBS {
                publisher.publish(job).expect("a worker is listening");
            }
            // `publisher` dropped: consumers stop once everything is taken
        });
        let consumers: Vec<_> = (0..2)
            .map(|id| {
                let (queue, batches, retried) = (worker.clone(), &batches, &retried);
                s.spawn(move || {
                    let mut received = Vec::with_capacity(BATCH);
                    let mut errors = Vec::with_capacity(BATCH);
                    let (mut count, mut sum) = (0, 0);
                    // Waits for one, then takes what is ready, up to 16.
                    while queue.receive_batch(BATCH, &mut received).is_ok() {
                        batches.fetch_add(1, Ordering::Relaxed);
                        // Once in a while a consumer gives a whole batch
                        // back, to be delivered again (maybe to the other).
                        let first_try = received.iter().all(|d| !d.redelivered());
                        if id == 1 && first_try && received[0].seq().get() % 97 == 0 {
                            retried.fetch_add(received.len() as u64, Ordering::Relaxed);
                            queue.nack_batch(received.drain(..), true, &mut errors);
                            continue;
                        }
                        for job in &received {
                            count += 1;
                            sum += **job; // the work
                        }
                        let acked = queue.ack_batch(received.drain(..), &mut errors);
                        assert!(errors.is_empty(), "fresh deliveries ack: {errors:?}");
                        assert!(acked > 0);
                    }
                    (count, sum)
                })
            })
            .collect();
        consumers
            .into_iter()
            .map(|c| c.join().expect("consumer"))
            .collect()
    });

    let elapsed = start.elapsed();
    let stats = worker.stats();
    let queue = worker.queue();
    let (count, sum): (u64, u64) = done
        .iter()
        .fold((0, 0), |(c, s), &(dc, ds)| (c + dc, s + ds));
    for (id, (c, _)) in done.iter().enumerate() {
        println!("consumer {id}: processed {c} jobs");
    }
    println!(
        "{} batches, {:.1} jobs a batch on average, {} jobs handed back once by nack_batch",
        batches.load(Ordering::Relaxed),
        stats.delivered as f64 / batches.load(Ordering::Relaxed) as f64,
        retried.load(Ordering::Relaxed)
    );
    println!(
        "published {}, delivered {} ({} redelivered), acked {}; processed {count} jobs, sum {sum}",
        stats.published, stats.delivered, stats.redelivered, stats.acked
    );
    println!(
        "every job below #{} is settled; {:.0} jobs/s",
        queue.settled_below(),
        JOBS as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(count, JOBS, "every job processed once");
    assert_eq!(sum, JOBS * (JOBS + 1) / 2);
    assert_eq!(stats.acked, JOBS);
    assert_eq!(stats.delivered, JOBS + stats.redelivered);
    assert_eq!(stats.redelivered, retried.load(Ordering::Relaxed));
    assert_eq!(queue.settled_below().get(), JOBS);
}
