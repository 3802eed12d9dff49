//! The RabbitMQ backend's figures against a real server (the URL in
//! `ACKRING_AMQP_URL`, as `tests/amqp_contract.rs`; without it the tests
//! print why and pass, but fail where `CI` is set): the broker's length,
//! dead letters and consumer count from a passive declare, the handle's
//! own counters (published, confirmed, delivered, redelivered, acked,
//! nacked), and the capabilities that say which figures there are.

mod broker;
mod common;

use std::time::Duration;

use ackring::amqp::AmqpQueue;
use ackring::api::{Acknowledge, Consumer, Producer, Queue};
use broker::{delete_queues, required, unique_name, URL_VAR};
use common::wait::wait_for;

#[test]
fn broker_figures_and_the_handles_counters_follow_a_scripted_run() {
    let Some(url) = required(URL_VAR, "the AMQP figures tests") else {
        return;
    };
    let name = unique_name("ackring-figures");
    let q: AmqpQueue<Vec<u8>> = AmqpQueue::builder(url.as_str(), name.as_str())
        .max_in_flight(16)
        .connect()
        .expect("connect to the RabbitMQ server");
    let caps = q.capabilities();
    assert!(caps.figures.waiting && caps.figures.consumers && caps.figures.confirmed);
    assert!(!caps.figures.latency && !caps.figures.queue_wide_counters);

    for i in 0..10u8 {
        Producer::publish(&q, vec![i]).unwrap();
    }
    // Published and confirmed; nobody consumes yet.
    let f = q.broker_figures().unwrap();
    assert_eq!((f.waiting, f.consumers, f.dead_letters), (10, 0, 0));
    let s = q.stats();
    assert_eq!((s.published, s.confirmed), (10, 10));

    // Receive 4: ack 2, reject 1 (a dead letter), requeue 1.
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(q.receive_timeout(Duration::from_secs(5)).unwrap().unwrap());
    }
    got.pop().unwrap().nack(true).unwrap();
    got.pop().unwrap().nack(false).unwrap();
    for d in got {
        d.ack().unwrap();
    }
    // The broker counts what it has been told; wait for the frames.
    assert!(
        wait_for(Duration::from_secs(10), || {
            let f = q.broker_figures().unwrap();
            f.dead_letters == 1 && f.consumers == 1
        }),
        "{:?}",
        q.broker_figures()
    );
    let s = q.stats();
    assert_eq!((s.acked, s.nacked), (2, 2), "{s:?}");
    assert!(s.delivered >= 4, "{s:?}");
    // Everything else: received and acked, the requeued one again.
    let mut acked = 2;
    while let Ok(Some(d)) = q.receive_timeout(Duration::from_secs(2)) {
        d.ack().unwrap();
        acked += 1;
    }
    assert_eq!(acked, 9, "10 published, 1 dead");
    let s = q.stats();
    assert_eq!((s.acked, s.redelivered), (9, 1), "{s:?}");
    assert_eq!(
        s.delivered, 11,
        "10 first deliveries and 1 redelivery: {s:?}"
    );
    let f = q.broker_figures().unwrap();
    assert_eq!(f.waiting, 0);
    drop(q);
    delete_queues(&url, vec![name]);
}
