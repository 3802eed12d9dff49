//! Producer and consumer in one process: publish `{name, message}`
//! messages, consume them with prefetch 1, ack each, print as they arrive.
//! The consumer's loop ends by itself once the producer is done: its
//! `Publisher` handle, the last, is dropped.
//!
//! Run with `cargo run --example hello`.

use ackring::AckQueue;

#[derive(Debug)]
struct Greeting {
    name: String,
    message: String,
}

fn main() {
    let (publisher, worker) = AckQueue::<Greeting>::builder()
        .capacity(16)
        .max_in_flight(1) // prefetch 1: one unacked message at a time
        .build_handles()
        .expect("valid configuration");

    let producer = std::thread::spawn(move || {
        for (name, message) in [
            ("alice", "Hello World!"),
            ("bob", "hi there"),
            ("carol", "good morning"),
        ] {
            let seq = publisher
                .publish(Greeting {
                    name: name.into(),
                    message: message.into(),
                })
                .expect("a worker is listening");
            println!(" [x] Sent #{seq} {{name: {name:?}, message: {message:?}}}");
        }
        // `publisher` is dropped here: no more messages, and the worker's
        // loop ends once it has taken the ones sent.
    });

    println!(" [*] Waiting for messages.");
    for delivery in &worker {
        println!(
            " [x] Received #{} {{name: {:?}, message: {:?}}}",
            delivery.seq(),
            delivery.name,
            delivery.message
        );
        delivery.ack().expect("fresh delivery");
    }
    producer.join().expect("producer");

    let stats = worker.stats();
    println!(
        "published {}, delivered {}, acked {}; every message below #{} is settled",
        stats.published,
        stats.delivered,
        stats.acked,
        worker.queue().settled_below()
    );
    assert_eq!(stats.acked, stats.published);
}
