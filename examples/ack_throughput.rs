//! Publish→receive→ack throughput of `AckQueue` against raw `Ring`
//! push/pop, measured in the same run, interleaved, single-threaded and
//! with one producer and one consumer thread.
//!
//! Run with `cargo run --release --example ack_throughput`.

use std::time::{Duration, Instant};

use ackring::{AckQueue, Ring};

const N: u64 = 2_000_000;

fn ring_1t() -> Duration {
    let ring = Ring::new(1024);
    let start = Instant::now();
    let mut sum = 0;
    for i in 0..N {
        ring.try_push(i).unwrap();
        sum += ring.try_pop().unwrap();
    }
    assert_eq!(sum, N * (N - 1) / 2);
    start.elapsed()
}

fn ack_1t() -> Duration {
    let q = AckQueue::builder()
        .capacity(1024)
        .max_in_flight(64)
        .build()
        .unwrap();
    let start = Instant::now();
    let mut sum = 0;
    for i in 0..N {
        q.try_publish(i).unwrap();
        let d = q.try_receive().unwrap();
        sum += *d;
        d.ack().unwrap();
    }
    assert_eq!(sum, N * (N - 1) / 2);
    assert_eq!(q.settled_below().get(), N);
    start.elapsed()
}

fn ring_2t() -> Duration {
    let ring = Ring::new(1024);
    let start = Instant::now();
    let sum = std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..N {
                ring.send(i).unwrap();
            }
        });
        (0..N).map(|_| ring.recv().unwrap()).sum::<u64>()
    });
    assert_eq!(sum, N * (N - 1) / 2);
    start.elapsed()
}

fn ack_2t() -> Duration {
    let q = AckQueue::builder()
        .capacity(1024)
        .max_in_flight(64)
        .build()
        .unwrap();
    let start = Instant::now();
    let sum = std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..N {
                q.publish(i).unwrap();
            }
        });
        let mut sum = 0;
        for _ in 0..N {
            let d = q.receive().unwrap();
            sum += *d;
            d.ack().unwrap();
        }
        sum
    });
    assert_eq!(sum, N * (N - 1) / 2);
    start.elapsed()
}

fn mps(d: Duration) -> f64 {
    N as f64 / d.as_secs_f64() / 1e6
}

fn main() {
    println!("{N} messages per run; Mmsg/s (ns/msg); best of 5 interleaved rounds");
    let mut best = [Duration::MAX; 4];
    for _ in 0..5 {
        for (k, f) in [ring_1t, ack_1t, ring_2t, ack_2t].iter().enumerate() {
            best[k] = best[k].min(f());
        }
    }
    let names = [
        "Ring push+pop, 1 thread",
        "AckQueue publish+receive+ack, 1 thread",
        "Ring push/pop, 1P1C",
        "AckQueue publish/receive+ack, 1P1C",
    ];
    for (name, d) in names.iter().zip(best) {
        println!(
            "{name:42} {:8.2} Mmsg/s ({:6.1} ns/msg)",
            mps(d),
            d.as_nanos() as f64 / N as f64
        );
    }
    println!(
        "AckQueue / Ring time ratio: 1 thread {:.1}x, 1P1C {:.1}x",
        best[1].as_secs_f64() / best[0].as_secs_f64(),
        best[3].as_secs_f64() / best[2].as_secs_f64()
    );
}
