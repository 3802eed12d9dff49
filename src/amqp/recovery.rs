//! Automatic recovery: when a handle's link is lost, a thread of its own
//! closes what is left of the old connection, so the broker requeues what
//! it held. Then it reconnects with capped exponential backoff and jitter.
//! A reconnection opens:
//!
//! - a new connection;
//! - the queue, its dead-letter exchange and queue, declared again;
//! - the three channels, with publisher-confirm mode and `basic.qos`;
//! - the consumer, if the handle was consuming.
//!
//! The first reconnection is at once: a dropped connection to a live broker
//! comes back without delay. The waits after failed reconnections double
//! from [`FIRST_BACKOFF`] up to the handle's maximum. Each is drawn from its
//! upper half, so that many clients of one restarted broker do not return
//! in step. After the handle's give-up time the handle is left without a
//! connection, and every call that needs one fails with
//! [`Error::Unreachable`].
//!
//! The thread holds the handle's state weakly: a handle dropped during an
//! outage ends its recovery at the next reconnection.

use std::io;
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use super::block::block_on_until;
use super::error::timed_out;
use super::link::Link;
use super::shared::Shared;
use super::{deadline_after, CLOSE_WAIT};

/// The wait after the first failed reconnection.
pub(super) const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest one reconnection (connect, declare, open, consume) may take.
const RECONNECT_WAIT: Duration = Duration::from_secs(30);

/// Starts the recovery of the handle behind `shared`, whose link `old`
/// was lost.
pub(super) fn start(shared: Weak<Shared>, old: Arc<Link>) -> io::Result<()> {
    thread::Builder::new()
        .name("ackring-amqp-recovery".into())
        .spawn(move || recover(shared, old))
        .map(drop)
}

/// The recovery thread.
fn recover(weak: Weak<Shared>, old: Arc<Link>) {
    // Closed for good, so the broker takes back what it held at once and
    // the old deliveries' settles cannot reach it.
    let _ = block_on_until(
        old.conn.close(200, "recovering"),
        deadline_after(CLOSE_WAIT),
    );
    drop(old);
    let started = Instant::now();
    let mut backoff = None;
    loop {
        let Some(shared) = weak.upgrade() else { return };
        if shared.is_failed() {
            return;
        }
        let number = shared.next_link_number();
        let reconnected = block_on_until(
            Link::open(&shared, number, true),
            deadline_after(RECONNECT_WAIT),
        );
        match reconnected {
            Some(Ok(link)) => {
                shared.install(Arc::new(link), true);
                return;
            }
            Some(Err(e)) => shared.note_error(&e),
            None => shared.note_error(&timed_out("reconnecting", RECONNECT_WAIT)),
        }
        let recovery = shared.settings.recovery;
        if recovery
            .give_up_after
            .is_some_and(|limit| started.elapsed() >= limit)
        {
            shared.fail(shared.unreachable_now());
            return;
        }
        // Not held while asleep: a dropped handle is not kept alive.
        drop(shared);
        let wait = next_backoff(&mut backoff, recovery.max_backoff);
        thread::sleep(jitter(wait));
    }
}

/// The wait after one more failed reconnection: [`FIRST_BACKOFF`] (or `max` if
/// smaller) after the first, then doubling, never above `max`.
pub(super) fn next_backoff(last: &mut Option<Duration>, max: Duration) -> Duration {
    let next = match *last {
        None => FIRST_BACKOFF,
        Some(d) => d.saturating_mul(2),
    }
    .min(max);
    *last = Some(next);
    next
}

/// A wait drawn uniformly from the upper half of `wait`: never less than
/// half of it, never more.
pub(super) fn jitter(wait: Duration) -> Duration {
    let half = wait / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(fastrand::u64(0..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let max = Duration::from_secs(1);
        let mut last = None;
        let waits: Vec<u64> = (0..6)
            .map(|_| next_backoff(&mut last, max).as_millis() as u64)
            .collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        let mut last = None;
        let small = Duration::from_millis(30);
        assert_eq!(next_backoff(&mut last, small), small);
        assert_eq!(next_backoff(&mut last, small), small);
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        let wait = Duration::from_millis(800);
        let mut seen_low = false;
        let mut seen_high = false;
        for _ in 0..1000 {
            let j = jitter(wait);
            assert!(j >= wait / 2 && j <= wait, "{j:?}");
            seen_low |= j < wait * 5 / 8;
            seen_high |= j > wait * 7 / 8;
        }
        assert!(seen_low && seen_high, "the draws spread over the half");
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
