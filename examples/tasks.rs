//! Tokio tasks and a blocking thread on one `AckQueue`, through its
//! handles: producers publish with `publish_async` (and a plain thread with
//! `publish`), consumer tasks read owned deliveries from a `Worker`'s
//! `deliveries()` stream and ack them, until the last `Publisher` is gone.
//! One
//! consumer hangs on its first message past the lease: the lease expires
//! while the other consumers sleep on an idle queue, the stream's timer
//! makes one of them look again, and it takes the message over. The
//! accounting at the end shows every job acked once.
//!
//! Run with `cargo run --release --features stream --example tasks`.

use std::collections::HashSet;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ackring::AckQueue;
use futures::StreamExt;

const JOBS_PER_PRODUCER: u64 = 2_000;
const PRODUCERS: u64 = 3;
const CONSUMERS: usize = 3;
const LEASE: Duration = Duration::from_millis(50);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (publisher, worker) = AckQueue::<u64>::builder()
        .capacity(64)
        .max_in_flight(16)
        .lease(LEASE)
        .build_handles()
        .expect("valid configuration");
    let acked = Arc::new(Mutex::new(HashSet::new()));

    // The job the hung consumer takes; everyone else waits for the rest.
    let hung = {
        publisher.publish_async(u64::MAX).await.expect("open");
        let d = worker.receive_owned_async().await.expect("open");
        tokio::spawn(async move {
            tokio::time::sleep(LEASE * 4).await;
            // Too late: the lease expired and another consumer took it.
            d.ack().expect_err("the lease expired while this task hung");
        })
    };

    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let publisher = publisher.clone();
            tokio::spawn(async move {
                for i in 0..JOBS_PER_PRODUCER {
                    publisher
                        .publish_async(p * JOBS_PER_PRODUCER + i)
                        .await
                        .expect("open");
                }
            })
        })
        .collect();
    let thread_publisher = publisher.clone();
    let thread_producer = std::thread::spawn(move || {
        for i in 0..JOBS_PER_PRODUCER {
            thread_publisher
                .publish(PRODUCERS * JOBS_PER_PRODUCER + i)
                .expect("open");
        }
    });

    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let deliveries = worker.deliveries().with_timer(tokio::time::sleep);
            let acked = acked.clone();
            tokio::spawn(async move {
                // The stream holds its wait-list node inline: pin it.
                let mut deliveries = pin!(deliveries);
                while let Some(d) = deliveries.next().await {
                    let job = *d;
                    d.ack().expect("acked within its lease");
                    assert!(acked.lock().unwrap().insert(job), "{job} acked twice");
                }
            })
        })
        .collect();

    for p in producers {
        p.await.expect("producer");
    }
    thread_producer.join().expect("thread producer");
    hung.await.expect("hung consumer");
    let total = (PRODUCERS + 1) * JOBS_PER_PRODUCER + 1;
    // The hung job is requeued only when its lease expires, after the
    // producers are done: the last publisher stays until it is acked, so
    // that the consumers' streams do not end before it is delivered again.
    while (acked.lock().unwrap().len() as u64) < total {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(publisher); // the last: the streams end
    drop(worker);
    for c in consumers {
        c.await.expect("consumer");
    }
    let acked = acked.lock().unwrap();
    assert!(acked.contains(&u64::MAX), "the hung job was taken over");
    println!(
        "{} jobs acked once each, the hung one taken over after its lease",
        acked.len()
    );
}
