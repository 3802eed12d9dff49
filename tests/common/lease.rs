//! Queues whose deliveries hold a lease, on a clock the test drives.

use std::time::Duration;

use ackring::{AckQueue, AckQueueBuilder, ManualClock};

/// A builder of a queue whose deliveries hold a lease of `lease`, timed by
/// `clock`; the caller adds the rest of its configuration.
pub fn leased<T>(clock: &ManualClock, lease: Duration) -> AckQueueBuilder<T> {
    AckQueue::builder().lease(lease).clock(clock.clone())
}
