//! Items that count their own drops, so that every item is accounted for:
//! received, handed back, or dropped by its last owner, exactly once.

use std::sync::{Arc, Mutex, MutexGuard};

/// Drops per item id: ids `0..n` from the start, more as items of larger
/// ids are made.
#[derive(Clone)]
pub struct DropLedger(Arc<Mutex<Vec<usize>>>);

impl DropLedger {
    /// A ledger of ids `0..n`, none dropped.
    pub fn new(n: usize) -> DropLedger {
        DropLedger(Arc::new(Mutex::new(vec![0; n])))
    }

    /// The drop counts. A poisoned lock is still read: a panic elsewhere
    /// must not hide the count.
    fn counts(&self) -> MutexGuard<'_, Vec<usize>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Item `id`, whose drop this ledger counts.
    pub fn item(&self, id: usize) -> Counted {
        self.make(id, false)
    }

    /// Item `id`, whose drop this ledger counts and which then panics.
    pub fn panicking_item(&self, id: usize) -> Counted {
        self.make(id, true)
    }

    fn make(&self, id: usize, panics: bool) -> Counted {
        let mut counts = self.counts();
        if counts.len() <= id {
            counts.resize(id + 1, 0);
        }
        Counted {
            id,
            ledger: self.clone(),
            panics,
        }
    }

    /// How many times item `id` was dropped.
    pub fn drops(&self, id: usize) -> usize {
        self.counts()[id]
    }

    /// How many ids were dropped at least once.
    pub fn dropped(&self) -> usize {
        self.counts().iter().filter(|&&n| n != 0).count()
    }

    /// Asserts that every id was dropped exactly once.
    pub fn assert_each_dropped_once(&self, what: &str) {
        self.assert_dropped_exactly(|_| true, what);
    }

    /// Asserts that exactly the ids for which `dropped` is true were
    /// dropped, once each, and every other id never.
    pub fn assert_dropped_exactly(&self, dropped: impl Fn(usize) -> bool, what: &str) {
        for (id, &n) in self.counts().iter().enumerate() {
            let expected = usize::from(dropped(id));
            assert_eq!(n, expected, "{what}: item {id} dropped {n} times");
        }
    }
}

/// An item that counts its drop in its ledger.
pub struct Counted {
    /// Its id in the ledger.
    pub id: usize,
    ledger: DropLedger,
    /// Whether its drop panics, once counted.
    panics: bool,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.ledger.counts()[self.id] += 1;
        if self.panics {
            panic!("item {} panics in drop", self.id);
        }
    }
}

impl std::fmt::Debug for Counted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counted({})", self.id)
    }
}
