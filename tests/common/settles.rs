//! Per message value, how each message ended: settled exactly once
//! (acked, or taken from the dead letters or a drain), and on which
//! delivery.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;

/// Per message value `0..n`: how many times it was settled, its delivery
/// count when it was, and the count and sum of every settle.
pub struct SettleLedger {
    times: Vec<AtomicU32>,
    counts: Vec<AtomicU32>,
    sum: AtomicU64,
    total: AtomicU64,
}

impl SettleLedger {
    /// A ledger of the values `0..n`, none settled.
    pub fn new(n: u64) -> Arc<Self> {
        Arc::new(Self {
            times: (0..n).map(|_| AtomicU32::new(0)).collect(),
            counts: (0..n).map(|_| AtomicU32::new(0)).collect(),
            sum: AtomicU64::new(0),
            total: AtomicU64::new(0),
        })
    }

    /// Value `v` was settled.
    pub fn settled(&self, v: u64) {
        self.times[v as usize].fetch_add(1, SeqCst);
        self.sum.fetch_add(v, SeqCst);
        self.total.fetch_add(1, SeqCst);
    }

    /// Value `v` was settled on its delivery number `count`.
    pub fn settled_on(&self, v: u64, count: u32) {
        self.counts[v as usize].store(count, SeqCst);
        self.settled(v);
    }

    /// Settles counted so far.
    pub fn total(&self) -> u64 {
        self.total.load(SeqCst)
    }

    /// The delivery count value `v` was settled on.
    pub fn count_of(&self, v: u64) -> u32 {
        self.counts[v as usize].load(SeqCst)
    }

    /// Every value `0..n` settled exactly once: `n` settles, whose values
    /// sum to `n(n-1)/2`.
    pub fn assert_each_once(&self) {
        for (v, times) in self.times.iter().enumerate() {
            assert_eq!(times.load(SeqCst), 1, "message {v} settled {times:?} times");
        }
        let n = self.times.len() as u64;
        assert_eq!(self.total(), n, "settles counted");
        assert_eq!(
            self.sum.load(SeqCst),
            n * (n - 1) / 2,
            "sum of settled values"
        );
    }
}
