//! How much each mode measures.

use crate::latency::RoundTrips;
use std::time::Duration;

/// Which run this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `cargo test --benches`: every figure once, tiny; writes nothing.
    Test,
    /// `cargo bench --bench report`: a few minutes on 2 cores.
    Quick,
    /// `ACKRING_BENCH=full cargo bench --bench report`.
    Full,
}

/// The sizes of one run.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// The mode these sizes are for.
    pub mode: Mode,
    /// Rounds; every figure is measured once per round, peers interleaved.
    pub rounds: usize,
    /// Messages per criterion iteration (a multiple of 8 * 16).
    pub messages: u64,
    /// Criterion samples per figure and round.
    pub samples: usize,
    /// Criterion warm-up per figure and round.
    pub warm_up: Duration,
    /// Criterion measurement time per figure and round.
    pub measurement: Duration,
    /// Criterion bootstrap resamples (its statistics only; the report
    /// computes its own from the samples).
    pub resamples: usize,
    /// Round trips per ping-pong run.
    pub round_trips: RoundTrips,
    /// Offered rate of the one-way runs, messages per second.
    pub rate: u64,
    /// Messages per one-way run, warm-up included.
    pub one_way: u64,
    /// The first messages of a one-way run, not recorded.
    pub one_way_warm_up: u64,
    /// `Instant::now()` pairs timed to report the timer's cost.
    pub timer_samples: u64,
}

impl Plan {
    /// The sizes for `mode`.
    pub fn new(mode: Mode) -> Plan {
        match mode {
            Mode::Test => Plan {
                mode,
                rounds: 1,
                messages: 2048,
                samples: 10,
                warm_up: Duration::from_millis(1),
                measurement: Duration::from_millis(1),
                resamples: 2000,
                round_trips: RoundTrips {
                    warm_up: 10,
                    block: 100,
                    timed: 100,
                },
                rate: 100_000,
                one_way: 200,
                one_way_warm_up: 20,
                timer_samples: 100,
            },
            // Five short rounds rather than three long ones, in the same
            // time per figure (5 × 0.3 s = 3 × 0.5 s): on a shared machine
            // a disturbance lasts seconds, so it spoils one round, and the
            // median of five outvotes two spoiled rounds where the median
            // of three outvotes one.
            Mode::Quick => Plan {
                mode,
                rounds: 5,
                messages: 1 << 15,
                samples: 10,
                warm_up: Duration::from_millis(50),
                measurement: Duration::from_millis(250),
                resamples: 2000,
                round_trips: RoundTrips {
                    warm_up: 10_000,
                    block: 100_000,
                    timed: 100_000,
                },
                rate: 100_000,
                one_way: 35_000,
                one_way_warm_up: 5_000,
                timer_samples: 100_000,
            },
            Mode::Full => Plan {
                mode,
                rounds: 5,
                messages: 1 << 18,
                samples: 20,
                warm_up: Duration::from_millis(300),
                measurement: Duration::from_secs(2),
                resamples: 10_000,
                round_trips: RoundTrips {
                    warm_up: 100_000,
                    block: 1_000_000,
                    timed: 1_000_000,
                },
                rate: 100_000,
                one_way: 420_000,
                one_way_warm_up: 20_000,
                timer_samples: 1_000_000,
            },
        }
    }
}
