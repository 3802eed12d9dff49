//! Helpers shared by the models.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use ackring::{AckQueue, AckQueueBuilder, ManualClock};

/// Runs `f` under loom with the suite's preemption bound (3 unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise), collects the outcome label each
/// execution returns, and asserts that exactly the `expected` outcomes were
/// reached.
///
/// The coverage check guards the models themselves: loom's partial-order
/// reduction can prune interleavings (see README.md), and a model whose
/// exploration never reached the racy outcome would pass while proving
/// nothing.
#[allow(dead_code)] // the figure models use `explore_branching` only
pub fn explore(expected: &[&'static str], f: impl Fn() -> &'static str + Sync + Send + 'static) {
    check(builder(3), expected, f);
}

/// As [`explore`], with a preemption bound of at most `bound`: for the
/// models of three threads that block, whose interleavings at the suite's
/// bound take minutes.
#[allow(dead_code)] // not every suite has such a model
pub fn explore_within(
    bound: usize,
    expected: &[&'static str],
    f: impl Fn() -> &'static str + Sync + Send + 'static,
) {
    check(builder(bound), expected, f);
}

/// As [`explore`], with up to `max_branches` branches an execution: for a
/// model that loads many atomics (loom counts every load as a branch).
#[allow(dead_code)] // not every suite has such a model
pub fn explore_branching(
    max_branches: usize,
    expected: &[&'static str],
    f: impl Fn() -> &'static str + Sync + Send + 'static,
) {
    let mut builder = builder(3);
    builder.max_branches = max_branches;
    check(builder, expected, f);
}

/// A loom builder at the suite's preemption bound, or `bound` if lower.
fn builder(bound: usize) -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.unwrap_or(3).min(bound));
    builder
}

/// Runs `f` under `builder` and asserts that exactly the `expected`
/// outcomes were reached.
fn check(
    builder: loom::model::Builder,
    expected: &[&'static str],
    f: impl Fn() -> &'static str + Sync + Send + 'static,
) {
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let runs = Arc::new(Mutex::new(0_u64));
    {
        let (seen, runs) = (seen.clone(), runs.clone());
        builder.check(move || {
            let outcome = f();
            seen.lock().unwrap().insert(outcome);
            *runs.lock().unwrap() += 1;
        });
    }
    let seen = seen.lock().unwrap().clone();
    let expected: BTreeSet<&'static str> = expected.iter().copied().collect();
    eprintln!("{} executions, outcomes {:?}", runs.lock().unwrap(), seen);
    assert_eq!(
        seen, expected,
        "outcomes reached differ from the expected ones"
    );
}

/// An ack queue as small as the models need: `capacity` fresh slots,
/// `max_in_flight` deliveries, one dead-letter place (so the table has
/// `max_in_flight + 1` entries).
#[allow(dead_code)] // not every suite models the ack queue
pub fn queue(capacity: usize, max_in_flight: usize) -> AckQueue<u32> {
    AckQueue::builder()
        .capacity(capacity)
        .max_in_flight(max_in_flight)
        .dead_letter_capacity(1)
        .build()
        .unwrap()
}

/// As [`queue`], on a [`ManualClock`] the model moves, with whatever else
/// `configure` sets on the builder (a lease, a ttl, a delay capacity):
/// the queue, shared, and its clock.
#[allow(dead_code)] // not every suite models time
pub fn clocked(
    capacity: usize,
    max_in_flight: usize,
    configure: impl FnOnce(AckQueueBuilder<u32>) -> AckQueueBuilder<u32>,
) -> (loom::sync::Arc<AckQueue<u32>>, ManualClock) {
    let clock = ManualClock::new();
    let builder = AckQueue::builder()
        .capacity(capacity)
        .max_in_flight(max_in_flight)
        .dead_letter_capacity(1)
        .clock(clock.clone());
    let q = configure(builder).build().unwrap();
    (loom::sync::Arc::new(q), clock)
}
