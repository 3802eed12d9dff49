//! Time sources for leases and delayed redeliveries.
//!
//! An [`AckQueue`](crate::AckQueue) reads time only through the [`Clock`]
//! it was built with, so tests and models drive leases by hand with a
//! [`ManualClock`]. Waiting calls (`receive_timeout`, `wait_settled`)
//! measure their timeout in real time, whatever the clock.

use core::fmt;
use core::time::Duration;
use std::sync::Arc;

use crate::sync::{AtomicU64, Instant, Ordering};

/// A monotonic time source: the time elapsed since some fixed origin.
///
/// `now` must never go backwards; a clock that does only delays lease
/// expiry, it never breaks the queue.
///
/// # Examples
///
/// ```
/// use ackring::Clock;
/// use std::time::Duration;
///
/// /// A clock stuck at one minute.
/// struct Frozen;
/// impl Clock for Frozen {
///     fn now(&self) -> Duration {
///         Duration::from_secs(60)
///     }
/// }
/// assert_eq!(Frozen.now(), Duration::from_secs(60));
/// ```
pub trait Clock: Send + Sync + 'static {
    /// Time elapsed since this clock's origin.
    fn now(&self) -> Duration;
}

/// The real monotonic clock; the default of every queue.
///
/// # Examples
///
/// ```
/// use ackring::{Clock, MonotonicClock};
///
/// let clock = MonotonicClock::new();
/// let a = clock.now();
/// assert!(clock.now() >= a);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.origin)
    }
}

/// A clock that moves only when told to. Clones share one time.
///
/// Starts at zero. Give a clone to
/// [`AckQueueBuilder::clock`](crate::AckQueueBuilder::clock) and keep one
/// to [`advance`](ManualClock::advance) it.
///
/// # Examples
///
/// ```
/// use ackring::{AckQueue, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let q = AckQueue::builder()
///     .lease(Duration::from_secs(30))
///     .clock(clock.clone())
///     .build()
///     .unwrap();
/// q.try_publish("job").unwrap();
/// let first = q.try_receive().unwrap().detach(); // never acked
/// clock.advance(Duration::from_secs(31));
/// let again = q.try_receive().unwrap(); // the lease expired
/// assert!(again.redelivered());
/// assert!(q.ack(first).is_err());
/// again.ack().unwrap();
/// ```
#[derive(Clone)]
pub struct ManualClock {
    /// Nanoseconds since the origin.
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at zero.
    pub fn new() -> Self {
        Self {
            nanos: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Moves the time forward by `by` (saturating at about 584 years).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // Relaxed: the time is a value on its own; a queue that reads it
        // late only expires a lease on its next look.
        let _ = self
            .nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// Sets the time. Setting it backwards delays expirations; it is
    /// allowed, but a real clock never does it.
    pub fn set(&self, to: Duration) {
        let to = u64::try_from(to.as_nanos()).unwrap_or(u64::MAX);
        // Relaxed: as in `advance`.
        self.nanos.store(to, Ordering::Relaxed);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        // Relaxed: as in `advance`.
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .finish()
    }
}

/// A clock reading in whole nanoseconds, as stored in the table.
#[inline]
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
