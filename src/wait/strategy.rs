//! What a blocked thread does between two tries ([`WaitStrategy`]), and
//! the loop every blocking call runs (`wait_until`).
//!
//! The non-blocking calls (`try_push`, `try_pop`, batches) never wait for
//! room or for an item; the blocking ones retry them, and the strategy
//! chosen when the ring is built decides what happens between two tries
//! (a close ends the wait: the retried call reports it):
//!
//! | strategy | between tries | wake-up latency | CPU while waiting |
//! |---|---|---|---|
//! | [`WaitStrategy::Spin`] | a CPU spin hint | lowest | one core, always |
//! | [`WaitStrategy::Backoff`] | exponential spin, then `yield` | low | drops off after a few µs |
//! | [`WaitStrategy::Park`] | as `Backoff` for a few µs, then sleep in the wait list | a syscall once asleep | none once asleep |
//!
//! A waiting future sleeps in the wait list until woken, whatever the
//! strategy: the strategy is how a blocked *thread* waits. An
//! [`AckQueue`](crate::AckQueue) takes one too, `Park` unless its builder
//! says otherwise
//! ([`AckQueueBuilder::wait_strategy`](crate::AckQueueBuilder::wait_strategy)).

use core::time::Duration;

use super::WaitList;
use crate::sync::{self, Instant};

/// How a ring's blocking calls wait for room or for an item.
///
/// Chosen once, with [`Ring::with_wait_strategy`](crate::Ring::with_wait_strategy).
/// The default is [`Park`](WaitStrategy::Park): a blocked call spins a few
/// microseconds, then sleeps until woken, so an idle consumer costs no
/// CPU (as crossbeam-channel's blocking calls do).
///
/// # Examples
///
/// ```
/// use ackring::{Ring, WaitStrategy};
///
/// let ring = Ring::with_wait_strategy(64, WaitStrategy::Spin);
/// ring.send(7_u32).unwrap();
/// assert_eq!(ring.recv(), Ok(7));
/// assert_eq!(WaitStrategy::default(), WaitStrategy::Park);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WaitStrategy {
    /// Busy-spin with a CPU spin hint: lowest latency, burns a core for as
    /// long as it waits. Use only with a core per waiting thread.
    Spin,
    /// Spin with exponential backoff, then yield the time slice
    /// (`crossbeam_utils::Backoff`): near-spin latency for short waits,
    /// polite to other threads for long ones.
    Backoff,
    /// Back off for a few microseconds like [`Backoff`](WaitStrategy::Backoff),
    /// then sleep in the ring's wait list until the opposite operation wakes
    /// the thread: no CPU during long waits, at the price of a syscall to
    /// wake. The default.
    #[default]
    Park,
}

/// Retries `look` under `strategy` until it returns `Some` or `deadline`
/// (if any) passes; returns `None` on timeout. `list` is the wait list this side
/// sleeps in under [`WaitStrategy::Park`].
///
/// `may_sleep` is the keyed waiter's sleep check (see
/// `WaitList::park_until`); `|| true` for a waiter whose notifiers all
/// call [`WaitList::notify`].
pub(crate) fn wait_until<R>(
    strategy: WaitStrategy,
    list: &WaitList,
    deadline: Option<Instant>,
    mut look: impl FnMut() -> Option<R>,
    mut may_sleep: impl FnMut() -> bool,
) -> Option<R> {
    if let Some(r) = look() {
        return Some(r);
    }
    match strategy {
        WaitStrategy::Park => {
            // Spin and yield a few microseconds first, as `Backoff` would:
            // most waits in a busy pipeline are shorter than a sleep and a
            // wake-up, which cost a syscall on each side.
            let backoff = sync::Backoff::new();
            while !backoff.is_completed() {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return None;
                }
                backoff.snooze();
                if let Some(r) = look() {
                    return Some(r);
                }
            }
            list.park_until(deadline, &mut look, &mut may_sleep)
        }
        WaitStrategy::Spin | WaitStrategy::Backoff => {
            let backoff = sync::Backoff::new();
            let mut tries: u32 = 0;
            loop {
                if strategy == WaitStrategy::Spin {
                    sync::spin_loop();
                } else {
                    backoff.snooze();
                }
                if let Some(r) = look() {
                    return Some(r);
                }
                tries = tries.wrapping_add(1);
                // Reading the clock costs about as much as a try: do it on
                // every 16th spin, but on every yield.
                let check =
                    strategy == WaitStrategy::Backoff && backoff.is_completed() || tries % 16 == 0;
                if check {
                    if let Some(deadline) = deadline {
                        if Instant::now() >= deadline {
                            return None;
                        }
                    }
                }
            }
        }
    }
}

/// The instant `timeout` from now, or `None` (wait forever) if that is too
/// far away to represent.
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}
