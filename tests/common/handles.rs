//! Shared by the tests of the channel and ack-queue handles: the wait
//! strategies, a watchdog that turns a waiter never woken into a failure,
//! and items that count their own drops, so that every item is accounted
//! for: received, handed back, or dropped by the queue, exactly once.

// Each test binary uses only part of this module.
#![allow(dead_code)]

use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use ackring::WaitStrategy;

/// Every wait strategy a ring's blocking calls can use.
pub const STRATEGIES: [WaitStrategy; 3] = [
    WaitStrategy::Spin,
    WaitStrategy::Backoff,
    WaitStrategy::Park,
];

/// Longer than any test runs: a call waiting this long must be woken by
/// a disconnection, not by its timeout.
pub const LONG: Duration = Duration::from_secs(3600);

/// How long a test may run before the watchdog calls it hung.
const WATCHDOG: Duration = Duration::from_secs(120);

/// Runs `body` on a thread of its own and fails if it has not finished
/// within the watchdog's time; a panic inside `body` is passed on.
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
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{name}: still running after {WATCHDOG:?}: a waiter was never woken")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(p) => panic::resume_unwind(p),
            Ok(()) => unreachable!(),
        },
    }
}

/// Drops per item id.
#[derive(Clone)]
pub struct Ledger(Arc<Vec<AtomicUsize>>);

impl Ledger {
    /// A ledger of `n` ids, none dropped.
    pub fn new(n: usize) -> Ledger {
        Ledger(Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect()))
    }

    /// Item `id`, whose drop this ledger counts.
    pub fn item(&self, id: usize) -> Item {
        Item {
            id,
            ledger: self.clone(),
        }
    }

    /// How many times item `id` was dropped.
    pub fn drops(&self, id: usize) -> usize {
        self.0[id].load(SeqCst)
    }

    /// Asserts that every item was dropped exactly once.
    pub fn assert_each_dropped_once(&self, what: &str) {
        for (id, n) in self.0.iter().enumerate() {
            assert_eq!(n.load(SeqCst), 1, "{what}: item {id} dropped {n:?} times");
        }
    }

    /// How many items were dropped at least once.
    pub fn dropped(&self) -> usize {
        self.0.iter().filter(|n| n.load(SeqCst) != 0).count()
    }
}

/// An item that counts its drop in its ledger.
pub struct Item {
    /// Its id in the ledger.
    pub id: usize,
    ledger: Ledger,
}

impl Drop for Item {
    fn drop(&mut self) {
        self.ledger.0[self.id].fetch_add(1, SeqCst);
    }
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Item({})", self.id)
    }
}
