//! Thread pinning with `core_affinity`.
//!
//! `core_affinity::get_core_ids()` reads the *calling thread's* affinity
//! mask, and a pinned thread's children inherit its mask. So the core list
//! is read once, by the unpinned main thread, before any thread is pinned;
//! the main thread itself is never pinned.

use core_affinity::CoreId;
use std::sync::OnceLock;

static CORES: OnceLock<Vec<CoreId>> = OnceLock::new();

/// Reads the cores this process may run on; call once from `main` before
/// spawning any bench thread. Returns how many there are (0 when the
/// platform does not say: then nothing is pinned).
pub fn init() -> usize {
    CORES
        .get_or_init(|| core_affinity::get_core_ids().unwrap_or_default())
        .len()
}

/// The core ids read by `init`.
pub fn cores() -> &'static [CoreId] {
    CORES.get().expect("pin::init runs first, in main")
}

/// Pins the calling thread to core `slot % cores`: threads are spread over
/// the cores round-robin, so oversubscribed shapes share them evenly.
pub fn pin(slot: usize) {
    let cores = cores();
    if let Some(&core) = cores.get(slot % cores.len().max(1)) {
        // A refused pin (e.g. a restricted container) leaves the thread
        // where the scheduler put it; the run is still valid, only noisier.
        let _ = core_affinity::set_for_current(core);
    }
}
