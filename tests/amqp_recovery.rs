//! The AMQP backend across broker restarts, against the RabbitMQ node that
//! `.ci/run` starts: the broker application stopped and started
//! (`rabbitmqctl -n $ACKRING_RABBIT_NODE stop_app`, then `start_app`)
//! under a producer and a consumer, with every message accounted for; a
//! publish during a long outage; a delivery from before the restart.
//!
//! The tests stop the broker every other test of the server uses, so they
//! live in a test binary of their own and run one at a time. Without the
//! variables they print why and pass; where `CI` is set they fail instead.

mod broker;
mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use ackring::amqp::AmqpQueue;
use ackring::api::{Acknowledge, Consumer, Error, Producer, Queue};
use ackring::AckError;
use broker::{delete_queues, required, unique_name, Node, URL_VAR};
use common::payload::{msg, num};
use common::wait::wait_for;

/// One broker restart at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// How long the broker stays stopped.
const OUTAGE: Duration = Duration::from_secs(3);

/// The server and its node, if both are named.
fn server() -> Option<(String, Node)> {
    let url = required(URL_VAR, "the broker restart tests")?;
    Some((url, Node::from_env()?))
}

/// A handle on queue `name` that reconnects quickly.
fn handle(url: &str, name: &str, prefetch: u16) -> AmqpQueue<Vec<u8>> {
    AmqpQueue::builder(url, name)
        .max_in_flight(prefetch)
        .max_backoff(Duration::from_millis(500))
        .call_timeout(Duration::from_secs(60))
        .connect()
        .expect("connect to the RabbitMQ server")
}

/// Deletes the queue when the test ends, passed or failed.
struct Cleanup(String, String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        delete_queues(&self.0, vec![self.1.clone()]);
    }
}

/// The broker is stopped and started twice while a producer publishes and
/// a consumer (another handle, another connection) receives and acks:
/// every publish is confirmed, every message consumed at least once, the
/// duplicates counted and printed, and both handles recovered each time.
#[test]
fn broker_restarted_twice_under_a_producer_and_a_consumer() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Some((url, node)) = server() else { return };
    let name = unique_name("ackring-restart");
    let _cleanup = Cleanup(url.clone(), name.clone());
    let producer = handle(&url, &name, 16);
    let consumer = handle(&url, &name, 16);
    let n = 1500;
    let published = AtomicUsize::new(0);
    let distinct = AtomicUsize::new(0);
    let stale = AtomicUsize::new(0);
    let received = Mutex::new(Vec::new());
    let started = Instant::now();
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..n {
                producer
                    .publish(msg(i))
                    .unwrap_or_else(|e| panic!("publish {i}: {}", e.error()));
                published.fetch_add(1, SeqCst);
            }
        });
        s.spawn(|| {
            let mut seen = BTreeSet::new();
            let mut last = Instant::now();
            while seen.len() < n && last.elapsed() < Duration::from_secs(60) {
                let Some(d) = consumer
                    .receive_timeout(Duration::from_millis(200))
                    .expect("a receive waits through the restarts")
                else {
                    continue;
                };
                let i = num(&d);
                received.lock().unwrap().push(i);
                if seen.insert(i) {
                    distinct.fetch_add(1, SeqCst);
                    last = Instant::now();
                }
                match d.ack() {
                    Ok(()) => {}
                    Err(Error::Ack(AckError::Stale)) => {
                        stale.fetch_add(1, SeqCst);
                    }
                    Err(e) => panic!("ack of message {i}: {e}"),
                }
            }
        });
        for round in 1..=2 {
            let progressed = wait_for(Duration::from_secs(60), || {
                published.load(SeqCst) >= round * n / 3 && distinct.load(SeqCst) >= round * n / 4
            });
            assert!(progressed, "no progress before restart {round}");
            node.restart(OUTAGE);
            // The next round waits for both to be back.
            assert!(
                wait_for(Duration::from_secs(60), || producer.stats().recoveries
                    >= round as u64
                    && consumer.stats().recoveries >= round as u64),
                "not recovered from restart {round}: producer {:?}, consumer {:?}",
                producer.stats(),
                consumer.stats()
            );
        }
    });
    producer.close();
    consumer.close();
    let left = consumer.drain().expect("drain");
    let mut all = received.into_inner().unwrap();
    all.extend(left.iter().map(|p| num(p)));
    let seen: BTreeSet<usize> = all.iter().copied().collect();
    let missing: Vec<usize> = (0..n).filter(|i| !seen.contains(i)).collect();
    let (p, c) = (producer.stats(), consumer.stats());
    eprintln!(
        "broker restarted twice under a producer and a consumer: published {n}, consumed {} distinct, \
         {} duplicates ({} stale acks, {} published again); recoveries: producer {}, consumer {}; {:.1} s",
        seen.len(),
        all.len() - seen.len(),
        stale.load(SeqCst),
        p.republished,
        p.recoveries,
        c.recoveries,
        started.elapsed().as_secs_f64()
    );
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert_eq!(seen.len(), n, "a message that was never published");
    assert_eq!((p.recoveries, c.recoveries), (2, 2));
}

/// A publish while the broker is stopped waits for its call timeout, then
/// fails with `Unreachable` and hands the message back; a receive waits
/// and finds nothing; a delivery from before the stop acks as `Stale`
/// once the broker is back, and the message comes again, redelivered.
#[test]
fn publish_during_a_long_outage_times_out_and_a_held_delivery_goes_stale() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Some((url, node)) = server() else { return };
    let name = unique_name("ackring-outage");
    let _cleanup = Cleanup(url.clone(), name.clone());
    let timeout = Duration::from_secs(2);
    let q: AmqpQueue<Vec<u8>> = AmqpQueue::builder(url.as_str(), name.as_str())
        .max_backoff(Duration::from_millis(500))
        .call_timeout(timeout)
        .connect()
        .expect("connect");
    q.publish(msg(0)).expect("publish");
    let held = q
        .receive_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("a delivery");
    assert_eq!((num(&held), held.redelivered()), (0, false));

    node.stop();
    let outage = Instant::now();
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(wait_for(Duration::from_secs(10), || !q.stats().connected));
        let start = Instant::now();
        let failed = q.publish(msg(1)).expect_err("no broker to confirm");
        let waited = start.elapsed();
        assert!(
            waited >= timeout && waited < timeout + Duration::from_secs(3),
            "waited {waited:?}"
        );
        assert!(failed.error().is_unreachable(), "{:?}", failed.error());
        eprintln!("publish during the outage: {}", failed.error());
        assert_eq!(failed.into_inner(), msg(1));
        assert!(q
            .receive_timeout(Duration::from_millis(500))
            .unwrap()
            .is_none());
    }));
    node.start();
    if let Err(panic) = stopped {
        std::panic::resume_unwind(panic);
    }
    q.publish(msg(2))
        .expect("published once the broker is back");
    eprintln!(
        "broker back: published again {:.1} s after the stop; {:?}",
        outage.elapsed().as_secs_f64(),
        q.stats()
    );
    assert!(matches!(held.ack(), Err(Error::Ack(AckError::Stale))));
    let mut again = Vec::new();
    while let Some(d) = q.receive_timeout(Duration::from_secs(2)).unwrap() {
        again.push((num(&d), d.redelivered()));
        d.ack().expect("ack");
    }
    again.sort_unstable();
    // Message 1 was never published: its publish had no connection.
    assert_eq!(again, [(0, true), (2, false)]);
    assert_eq!(q.stats().recoveries, 1);
}
