//! Serves an `AckQueue`'s figures to Prometheus: the `metrics` feature's
//! [`Exporter`] copies them into the `metrics` facade, and
//! `metrics-exporter-prometheus` serves the facade on
//! `http://127.0.0.1:9464/metrics` (or the address given as the first
//! argument).
//!
//! The queue runs a scripted workload on a manual clock, so that every
//! figure has a known value (CI scrapes this example and checks them:
//! `.ci/metrics-scrape`):
//!
//! - 10 messages published at 0 ms;
//! - at 2 ms, 7 received; at 5 ms, 5 of them acked, 1 rejected (a dead
//!   letter), 1 kept in flight;
//! - at 6 ms, the figures are exported, then again every second, until the
//!   process is stopped (or for the seconds given as the second argument).
//!
//! ```text
//! cargo run --example metrics_exporter --features metrics
//! curl -s http://127.0.0.1:9464/metrics | grep ackring_
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use ackring::export::Exporter;
use ackring::{AckQueue, ManualClock};
use metrics_exporter_prometheus::PrometheusBuilder;

fn main() {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .map_or("127.0.0.1:9464".parse(), |a| a.parse())
        .expect("an address such as 127.0.0.1:9464");
    let serve_for = args
        .next()
        .map(|s| Duration::from_secs(s.parse().expect("seconds")));

    PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()
        .expect("the Prometheus listener");
    Exporter::describe();

    let clock = ManualClock::new();
    let q = AckQueue::builder()
        .capacity(16)
        .clock(clock.clone())
        .latency(true)
        .build()
        .expect("a valid queue");
    for job in 0..10_u64 {
        q.try_publish(job).expect("room for 10");
    }
    clock.advance(Duration::from_millis(2));
    let mut held: Vec<_> = (0..7).map(|_| q.try_receive().expect("7 ready")).collect();
    clock.advance(Duration::from_millis(3));
    let kept = held.pop().expect("7 held");
    let rejected = held.pop().expect("6 held");
    for d in held {
        d.ack().expect("acked once");
    }
    rejected.nack(false).expect("dead-lettered once");
    clock.advance(Duration::from_millis(1));

    let mut exporter = Exporter::new("jobs");
    exporter.export(&q);
    println!("serving the figures of queue \"jobs\" on http://{addr}/metrics");
    let started = std::time::Instant::now();
    while serve_for.map_or(true, |s| started.elapsed() < s) {
        std::thread::sleep(Duration::from_secs(1));
        exporter.export(&q);
    }
    kept.ack().expect("acked once");
}
