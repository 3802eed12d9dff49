//! Async throughput on tokio: ackring's futures (`Ring`: `send_async` /
//! `recv_async`; `AckQueue`: `publish_async` / `receive_async` + `ack`)
//! against tokio `mpsc`, async-channel, flume, kanal and thingbuf, in
//! thingbuf's benchmark shape (capacity 100; 1, 10, 50, 100 sender tasks
//! and one receiver task) and 4 senders with 4 receivers, on a tokio
//! runtime with one worker per core. The loop and the adapters are the
//! benchmark report's (`benches/report/sections/asynch/peers.rs`). Each
//! round runs every queue once, in a rotating order; the figures are
//! median (min–max) over the rounds of each of ours as a ratio to the
//! best peer of its round.
//!
//! Run with `cargo run --release --example async_throughput [rounds [messages]]`.

#[path = "../benches/report/sections/asynch/peers.rs"]
#[allow(dead_code)]
mod peers;

use peers::{Side, CAPACITY, SHAPES, SIDES};

/// Median, min and max of `xs`.
fn spread(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .map_or(5, |r| r.parse().expect("rounds: a number"));
    // Fewer in a debug build (CI runs every example once, unoptimized).
    let default = if cfg!(debug_assertions) {
        2_000
    } else {
        200_000
    };
    let messages: u64 = args
        .next()
        .map_or(default, |m| m.parse().expect("messages: a number"));
    // ASYNC_ONLY=SLUG,SHAPE: one queue in one shape (for a profiler).
    let only = std::env::var("ASYNC_ONLY").ok();
    let only = only.as_deref().and_then(|o| o.split_once(','));
    let rt = peers::runtime();
    for shape in SHAPES
        .iter()
        .filter(|s| !only.is_some_and(|o| o.1 != s.name))
    {
        let sides: Vec<&Side> = SIDES
            .iter()
            .filter(|s| shape.receivers == 1 || s.mpmc)
            .filter(|s| !only.is_some_and(|o| o.0 != s.slug))
            .collect();
        // rates[side][round], messages per second.
        let mut rates = vec![Vec::new(); sides.len()];
        for round in 0..rounds {
            for i in 0..sides.len() {
                let i = (i + round) % sides.len();
                let side = sides[i];
                let took = (side.run)(&rt, CAPACITY, shape.senders, shape.receivers, messages);
                rates[i].push(messages as f64 / took.as_secs_f64());
            }
        }
        println!("{}, {rounds} rounds of {messages} messages:", shape.name);
        for (i, side) in sides.iter().enumerate() {
            let (m, lo, hi) = spread(rates[i].clone());
            let mut line = format!(
                "  {:<56} {:>6.2} Mmsg/s ({:.2}-{:.2})",
                side.name,
                m / 1e6,
                lo / 1e6,
                hi / 1e6
            );
            if side.ours && only.is_none() {
                let ratios = (0..rounds)
                    .map(|r| {
                        let best = (0..sides.len())
                            .filter(|&j| !sides[j].ours)
                            .map(|j| rates[j][r])
                            .fold(0.0, f64::max);
                        rates[i][r] / best
                    })
                    .collect();
                let (m, lo, hi) = spread(ratios);
                line += &format!("  ÷ best peer {m:.2}x ({lo:.2}-{hi:.2})");
            }
            println!("{line}");
        }
    }
}
