//! The async tests' runtime, their hang guard, and a waker that records
//! its wakes.

use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::task::{Wake, Waker};

use super::wait::STALL;

/// A multi-threaded tokio runtime of two workers, with time.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `f` on `rt`, failing the test if it has not finished after
/// [`STALL`]: a lost wake-up hangs instead of failing otherwise.
pub fn guarded<F: Future>(rt: &tokio::runtime::Runtime, what: &str, f: F) -> F::Output {
    rt.block_on(async {
        tokio::time::timeout(STALL, f)
            .await
            .unwrap_or_else(|_| panic!("{what}: hung"))
    })
}

/// A waker that records that it was woken.
#[derive(Default)]
pub struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

impl Flag {
    /// A flag and a waker that raises it.
    pub fn new() -> (Arc<Flag>, Waker) {
        let flag = Arc::new(Flag::default());
        (flag.clone(), Waker::from(flag))
    }

    /// Whether it was woken since the last call; lowers it.
    pub fn take(&self) -> bool {
        self.0.swap(false, SeqCst)
    }
}
