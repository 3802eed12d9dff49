//! A poison message that fails every time lands in the dead letters after
//! `max_deliveries`, while the good messages flow around it.
//!
//! Run with `cargo run --example dead_letters`.

use ackring::AckQueue;

fn main() {
    let queue = AckQueue::<String>::builder()
        .capacity(16)
        .max_in_flight(2)
        .max_deliveries(3)
        .build()
        .expect("valid configuration");

    for body in ["order 1", "order 2", "POISON", "order 3"] {
        queue.publish(body.to_string()).expect("queue open");
    }
    queue.close();

    queue.consume(|delivery| {
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
    });

    let mut dead = Vec::new();
    while let Some(letter) = queue.try_receive_dead_letter() {
        println!(
            "dead letter #{}: {:?} after {} deliveries ({:?})",
            letter.seq(),
            *letter,
            letter.delivery_count(),
            letter.reason()
        );
        dead.push(letter.into_inner());
    }
    let stats = queue.stats();
    println!(
        "published {}, acked {}, nacked {}, dead-lettered {}, settled below #{}",
        stats.published,
        stats.acked,
        stats.nacked,
        stats.dead_lettered,
        queue.settled_below()
    );
    assert_eq!(dead, ["POISON"]);
    assert_eq!(stats.acked + stats.dead_lettered, stats.published);
}
