//! Producer and consumer in one process: publish `{name, message}`
//! messages, consume them with prefetch 1, ack each, print as they arrive.
//!
//! Run with `cargo run --example hello`.

use ackring::AckQueue;

#[derive(Debug)]
struct Greeting {
    name: String,
    message: String,
}

fn main() {
    let queue = AckQueue::<Greeting>::builder()
        .capacity(16)
        .max_in_flight(1) // prefetch 1: one unacked message at a time
        .build()
        .expect("valid configuration");

    std::thread::scope(|s| {
        s.spawn(|| {
            for (name, message) in [
                ("alice", "Hello World!"),
                ("bob", "hi there"),
                ("carol", "good morning"),
            ] {
                let seq = queue
                    .publish(Greeting {
                        name: name.into(),
                        message: message.into(),
                    })
                    .expect("queue open");
                println!(" [x] Sent #{seq} {{name: {name:?}, message: {message:?}}}");
            }
            queue.close(); // no more messages: the consumer stops once drained
        });

        println!(" [*] Waiting for messages.");
        queue.consume(|delivery| {
            println!(
                " [x] Received #{} {{name: {:?}, message: {:?}}}",
                delivery.seq(),
                delivery.name,
                delivery.message
            );
            delivery.ack().expect("fresh delivery");
        });
    });

    let stats = queue.stats();
    println!(
        "published {}, delivered {}, acked {}; every message below #{} is settled",
        stats.published,
        stats.delivered,
        stats.acked,
        queue.settled_below()
    );
    assert_eq!(stats.acked, stats.published);
}
