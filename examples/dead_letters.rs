//! A poison message that fails every time lands in the dead letters after
//! `max_deliveries` (20 unless set; 3 here), while the good messages flow
//! around it.
//!
//! Run with `cargo run --example dead_letters`.

use ackring::AckQueue;

fn main() {
    let (publisher, worker) = AckQueue::<String>::builder()
        .capacity(16)
        .max_in_flight(2)
        .max_deliveries(3)
        .build_handles()
        .expect("valid configuration");

    for body in ["order 1", "order 2", "POISON", "order 3"] {
        publisher
            .publish(body.to_string())
            .expect("a worker is listening");
    }
    drop(publisher); // the worker's loop ends once nothing is left

    for delivery in &worker {
        if delivery.as_str() == "POISON" {
            println!(
                "failed to process {:?} (delivery {}), nack with requeue",
                *delivery,
                delivery.delivery_count()
            );
            delivery.nack(true).expect("fresh delivery");
        } else {
            println!("processed {:?}", *delivery);
            delivery.ack().expect("fresh delivery");
        }
    }

    let mut dead = Vec::new();
    while let Some(letter) = worker.try_receive_dead_letter() {
        println!(
            "dead letter #{}: {:?} after {} deliveries ({:?})",
            letter.seq(),
            *letter,
            letter.delivery_count(),
            letter.reason()
        );
        dead.push(letter.into_inner());
    }
    let stats = worker.stats();
    println!(
        "published {}, acked {}, nacked {}, dead-lettered {}, settled below #{}",
        stats.published,
        stats.acked,
        stats.nacked,
        stats.dead_lettered,
        worker.queue().settled_below()
    );
    assert_eq!(dead, ["POISON"]);
    assert_eq!(stats.acked + stats.dead_lettered, stats.published);
}
