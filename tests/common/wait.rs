//! Waiting: every wait strategy, a wait that only a wake-up can end, a
//! watchdog that turns a waiter never woken into a failure, and a poll
//! for a condition that must come within a patience.

use std::panic;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ackring::WaitStrategy;

/// Every wait strategy a ring's or a queue's blocking calls can use.
pub const STRATEGIES: [WaitStrategy; 3] = [
    WaitStrategy::Spin,
    WaitStrategy::Backoff,
    WaitStrategy::Park,
];

/// Longer than any test runs: a call waiting this long must be woken by
/// a disconnection, not by its timeout.
pub const LONG: Duration = Duration::from_secs(3600);

/// How long a wait that must end, or a count that must move, may stand
/// still before the test gives up: a hang guard a working run never comes
/// near, so that a lost wake-up fails instead of hanging.
pub const STALL: Duration = Duration::from_secs(20);

/// How long a test may run before the watchdog calls it hung. Generous:
/// a hang (a lost wake-up, a deadlock) fails after it; never a speed check.
pub const WATCHDOG: Duration = Duration::from_secs(300);

/// Runs `body` on a thread of its own and fails if it has not finished
/// within [`WATCHDOG`]; a panic inside `body` is passed on.
pub fn watchdog(name: &str, body: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let handle = thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            body();
            let _ = done_tx.send(());
        })
        .unwrap();
    match done_rx.recv_timeout(WATCHDOG) {
        Ok(()) => handle.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "{name}: still running after {WATCHDOG:?}: a waiting call never \
             returned (lost wake-up or deadlock)"
        ),
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(p) => panic::resume_unwind(p),
            Ok(()) => unreachable!("the body finished without reporting"),
        },
    }
}

/// Waits up to `patience` for `ready`, asking every 10 ms; whether it came.
pub fn wait_for(patience: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !ready() {
        if start.elapsed() > patience {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Gives threads about to block in a waiting call the time to get there:
/// a test that uses it is correct whether they are blocked or not, and
/// only covers less when they are not.
pub fn let_them_block() {
    thread::sleep(Duration::from_millis(20));
}
