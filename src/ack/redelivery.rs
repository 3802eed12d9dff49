//! [`Redelivery`]: how long a requeued message waits before it is
//! delivered again, when the requeue names no delay of its own.
//!
//! A requeue that names no delay (`nack(true)`, a dropped or panicking
//! delivery, an expired lease) asks the policy for the delay of the
//! message's `n`th redelivery, `n` being the delivery count it reached;
//! [`nack_after`](crate::Delivery::nack_after) names its own delay and
//! skips the policy. A delay of zero requeues at once (the `Redeliver`
//! phase); any other goes through the same `Delayed` phase and scan as a
//! `nack_after`, so the policy costs nothing on a path that does not
//! requeue.

use core::fmt;
use core::time::Duration;

use super::clock;

/// The delay before each redelivery of a message requeued without a delay
/// of its own: at once (the default), from a list (as JetStream's
/// `BackOff`), or exponential with a cap and optional jitter.
///
/// It applies to every requeue that names no delay: `nack(true)`, a
/// delivery dropped (or unwound by a panic) without a settle, and an
/// expired lease. [`nack_after`](crate::Delivery::nack_after) overrides
/// it. The delivery count and
/// [`max_deliveries`](crate::AckQueueBuilder::max_deliveries) work as
/// without a policy: a requeue at the limit dead-letters the message, with
/// no delay. A waiting message keeps its prefetch place, as after a
/// `nack_after`.
///
/// # Examples
///
/// ```
/// use ackring::{AckQueue, ManualClock, Redelivery};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let q = AckQueue::builder()
///     .redelivery(Redelivery::exponential(
///         Duration::from_millis(100),
///         Duration::from_secs(10),
///     ))
///     .clock(clock.clone())
///     .build()
///     .unwrap();
/// q.try_publish("job").unwrap();
/// drop(q.try_receive().unwrap()); // a worker gave up: requeued, 100 ms
/// assert!(q.try_receive().is_none());
/// clock.advance(Duration::from_millis(100));
/// let d = q.try_receive().unwrap();
/// assert_eq!(d.delivery_count(), 2);
/// d.nack(true).unwrap(); // the second redelivery waits 200 ms
/// clock.advance(Duration::from_millis(199));
/// assert!(q.try_receive().is_none());
/// clock.advance(Duration::from_millis(1));
/// q.try_receive().unwrap().ack().unwrap();
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Redelivery {
    kind: Kind,
}

#[derive(Clone, PartialEq, Eq)]
enum Kind {
    Immediate,
    /// Nanoseconds; the last one repeats.
    Schedule(Box<[u64]>),
    /// Nanoseconds: `initial · 2^(n-1)`, at most `max`; with `jitter`,
    /// drawn from `[d / 2, d]`.
    Exponential {
        initial: u64,
        max: u64,
        jitter: bool,
    },
}

impl Redelivery {
    /// Every requeue without a delay of its own is delivered again at once:
    /// the default.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::Redelivery;
    /// use std::time::Duration;
    ///
    /// assert_eq!(Redelivery::immediate().delay(1, 0), Duration::ZERO);
    /// ```
    pub fn immediate() -> Self {
        Self {
            kind: Kind::Immediate,
        }
    }

    /// The `n`th redelivery waits `delays[n - 1]`; past the end of the
    /// list, the last delay repeats (JetStream's `BackOff`). An empty list
    /// is [`immediate`](Redelivery::immediate).
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::Redelivery;
    /// use std::time::Duration;
    ///
    /// let s = Duration::from_secs;
    /// let policy = Redelivery::schedule([s(1), s(5), s(30)]);
    /// assert_eq!(policy.delay(1, 0), s(1));
    /// assert_eq!(policy.delay(3, 0), s(30));
    /// assert_eq!(policy.delay(9, 0), s(30));
    /// ```
    pub fn schedule(delays: impl IntoIterator<Item = Duration>) -> Self {
        let delays: Box<[u64]> = delays.into_iter().map(clock::nanos).collect();
        if delays.is_empty() {
            return Self::immediate();
        }
        Self {
            kind: Kind::Schedule(delays),
        }
    }

    /// The `n`th redelivery waits `initial · 2^(n - 1)`, at most `max`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::Redelivery;
    /// use std::time::Duration;
    ///
    /// let ms = Duration::from_millis;
    /// let policy = Redelivery::exponential(ms(10), ms(50));
    /// assert_eq!(policy.delay(1, 0), ms(10));
    /// assert_eq!(policy.delay(3, 0), ms(40));
    /// assert_eq!(policy.delay(4, 0), ms(50));
    /// ```
    pub fn exponential(initial: Duration, max: Duration) -> Self {
        Self {
            kind: Kind::Exponential {
                initial: clock::nanos(initial),
                max: clock::nanos(max),
                jitter: false,
            },
        }
    }

    /// Spreads an exponential policy's delays: each is drawn from `[d / 2,
    /// d]` ("equal jitter"), so that messages requeued together are not
    /// delivered again together. The draw is a hash of the message's
    /// sequence number and the redelivery's number, so it is the same every
    /// time for one message and one redelivery (tests with a
    /// [`ManualClock`](crate::ManualClock) stay exact). Does nothing to
    /// the other policies.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::Redelivery;
    /// use std::time::Duration;
    ///
    /// let d = Duration::from_secs(1);
    /// let policy = Redelivery::exponential(d, d).jitter();
    /// for seq in 0..100 {
    ///     let delay = policy.delay(1, seq);
    ///     assert!(delay >= d / 2 && delay <= d);
    ///     assert_eq!(delay, policy.delay(1, seq));
    /// }
    /// ```
    pub fn jitter(mut self) -> Self {
        if let Kind::Exponential { jitter, .. } = &mut self.kind {
            *jitter = true;
        }
        self
    }

    /// The delay before the `n`th redelivery (`n >= 1`, the delivery count
    /// the message reached) of message `seq`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::Redelivery;
    /// use std::time::Duration;
    ///
    /// let policy = Redelivery::schedule([Duration::from_secs(2)]);
    /// assert_eq!(policy.delay(7, 42), Duration::from_secs(2));
    /// ```
    pub fn delay(&self, n: u32, seq: u64) -> Duration {
        Duration::from_nanos(self.delay_nanos(n, seq))
    }

    /// Whether every delay is zero (no requeue goes through the scan).
    pub(crate) fn is_immediate(&self) -> bool {
        matches!(self.kind, Kind::Immediate)
    }

    /// [`delay`](Redelivery::delay) in nanoseconds: no allocation, no
    /// division.
    #[inline]
    pub(crate) fn delay_nanos(&self, n: u32, seq: u64) -> u64 {
        let n = n.max(1);
        match &self.kind {
            Kind::Immediate => 0,
            Kind::Schedule(delays) => delays[(n as usize - 1).min(delays.len() - 1)],
            &Kind::Exponential {
                initial,
                max,
                jitter,
            } => {
                let doublings = (n - 1).min(63);
                let d = initial
                    .checked_mul(1_u64 << doublings)
                    .map_or(max, |d| d.min(max));
                if jitter {
                    // d / 2 + a draw in [0, d - d / 2].
                    let half = d / 2;
                    let span = d - half;
                    let draw = mix(seq ^ (u64::from(n) << 48));
                    half + ((u128::from(draw) * u128::from(span + 1)) >> 64) as u64
                } else {
                    d
                }
            }
        }
    }
}

/// SplitMix64's finalizer: a well-spread 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Default for Redelivery {
    fn default() -> Self {
        Self::immediate()
    }
}

impl fmt::Debug for Redelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = |n: u64| Duration::from_nanos(n);
        match &self.kind {
            Kind::Immediate => f.write_str("Redelivery::Immediate"),
            Kind::Schedule(delays) => f
                .debug_tuple("Redelivery::Schedule")
                .field(&delays.iter().map(|&d| nanos(d)).collect::<Vec<_>>())
                .finish(),
            &Kind::Exponential {
                initial,
                max,
                jitter,
            } => f
                .debug_struct("Redelivery::Exponential")
                .field("initial", &nanos(initial))
                .field("max", &nanos(max))
                .field("jitter", &jitter)
                .finish(),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Redelivery;
    use core::time::Duration;

    #[test]
    fn exponential_saturates_at_the_cap_for_any_count() {
        let p = Redelivery::exponential(Duration::from_secs(1), Duration::from_secs(60));
        for n in [7_u32, 64, 65, 1000, u32::MAX] {
            assert_eq!(p.delay(n, 0), Duration::from_secs(60), "n {n}");
        }
        assert_eq!(p.delay(6, 0), Duration::from_secs(32));
    }

    #[test]
    fn jitter_stays_within_half_to_full_and_spreads() {
        let d = Duration::from_millis(1000);
        let p = Redelivery::exponential(d, d).jitter();
        let draws: Vec<_> = (0..1000_u64).map(|seq| p.delay(1, seq)).collect();
        assert!(draws.iter().all(|&x| x >= d / 2 && x <= d));
        let low = draws.iter().filter(|&&x| x < d * 3 / 4).count();
        assert!((350..650).contains(&low), "low half: {low}");
    }
}
