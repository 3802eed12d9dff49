//! [`AckQueueBuilder`]: the queue's settings, checked once, and the one
//! place where the queue allocates.

use core::fmt;
use core::marker::PhantomData;
use core::time::Duration;

use crossbeam_utils::CachePadded;

use super::clock::{self, Clock, MonotonicClock};
use super::entry::Table;
use super::fresh::Fresh;
use super::indices::Indices;
use super::latency::Latency;
use super::lease::SCAN_STEP;
use super::{AckQueue, Redelivery};
use crate::error::ConfigError;
use crate::stats::Counters;
use crate::sync::{AtomicU64, AtomicUsize};
use crate::wait::{WaitList, WaitStrategy};

/// Configures and builds an [`AckQueue`]; from [`AckQueue::builder`].
///
/// Defaults:
///
/// - capacity 1024, `max_in_flight` 256, `dead_letter_capacity` equal to
///   the capacity;
/// - no lease;
/// - `max_deliveries`
///   [`DEFAULT_MAX_DELIVERIES`](AckQueueBuilder::DEFAULT_MAX_DELIVERIES),
///   20: a poison message that fails every time goes to the dead letters
///   instead of being delivered forever;
/// - redelivery at once ([`Redelivery::immediate`]);
/// - no delayed publishes (`delay_capacity` 0);
/// - the [`MonotonicClock`], and [`WaitStrategy::Park`] for the blocking
///   calls.
///
/// The bounds are independent. Each message holds a place of one bound
/// and never needs a place of another:
///
/// - a message waiting for its first delivery, a place of `capacity`;
/// - a delivered unsettled one, a place of `max_in_flight`;
/// - an untaken dead letter, a place of `dead_letter_capacity`;
/// - a delayed publish not yet due, a place of `delay_capacity`.
pub struct AckQueueBuilder<T> {
    capacity: usize,
    max_in_flight: usize,
    dead_letter_capacity: Option<usize>,
    delay_capacity: usize,
    lease: Option<Duration>,
    max_deliveries: Option<u32>,
    redelivery: Redelivery,
    ttl: Option<Duration>,
    drop_expired: bool,
    clock: Option<Box<dyn Clock>>,
    wait_strategy: WaitStrategy,
    latency: bool,
    _marker: PhantomData<fn() -> T>,
}

impl<T> AckQueue<T> {
    /// A builder with the defaults listed on [`AckQueueBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::AckQueue;
    /// use std::time::Duration;
    ///
    /// let q: AckQueue<String> = AckQueue::builder()
    ///     .capacity(1024)
    ///     .max_in_flight(32)
    ///     .dead_letter_capacity(100)
    ///     .lease(Duration::from_secs(30))
    ///     .max_deliveries(5)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(q.capacity(), 1024);
    /// assert_eq!(q.dead_letter_capacity(), 100);
    /// ```
    pub fn builder() -> AckQueueBuilder<T> {
        AckQueueBuilder {
            capacity: 1024,
            max_in_flight: 256,
            dead_letter_capacity: None,
            delay_capacity: 0,
            lease: None,
            max_deliveries: None,
            redelivery: Redelivery::immediate(),
            ttl: None,
            drop_expired: false,
            clock: None,
            wait_strategy: WaitStrategy::Park,
            latency: false,
            _marker: PhantomData,
        }
    }
}

impl<T> AckQueueBuilder<T> {
    /// The default `max_deliveries`: 20, RabbitMQ's default delivery limit
    /// of quorum queues (since 4.0), so that a message that fails every
    /// time (a poison message) ends in the dead letters rather than being
    /// delivered forever.
    pub const DEFAULT_MAX_DELIVERIES: u32 = 20;

    /// How many published messages may wait for their first delivery: the
    /// only bound a publish waits for. Messages in flight, waiting for
    /// redelivery or in the dead letters do not count.
    ///
    /// Each place is a slot of the fresh ring and a table entry, the home
    /// entry its messages move into when delivered (a cache line each).
    /// `max_in_flight`, `dead_letter_capacity` and `delay_capacity` add a
    /// spare entry per place, for messages whose home entry is still busy.
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = n;
        self
    }

    /// How many delivered messages may be unsettled at once (the prefetch
    /// limit): in flight, requeued and waiting for redelivery (so a
    /// requeue never fails for room), delayed by
    /// [`nack_after`](crate::Delivery::nack_after), or acked while an
    /// expired delivery still reads them.
    pub fn max_in_flight(mut self, m: usize) -> Self {
        self.max_in_flight = m;
        self
    }

    /// How many dead letters may wait to be taken
    /// ([`try_receive_dead_letter`](AckQueue::try_receive_dead_letter))
    /// on places of their own. Defaults to the capacity.
    ///
    /// When they are all taken, a further dead letter is still kept (never
    /// dropped) and still taken in order. But it keeps the prefetch place
    /// of its delivery until it is taken. So a queue whose dead letters
    /// nobody takes delivers less and less, and stops delivering once
    /// `max_in_flight` such letters wait.
    pub fn dead_letter_capacity(mut self, n: usize) -> Self {
        self.dead_letter_capacity = Some(n);
        self
    }

    /// How many delayed publishes
    /// ([`try_publish_after`](AckQueue::try_publish_after) and the like)
    /// may wait for their due time, each on a place of its own. A delayed
    /// message holds neither a place of `capacity` nor of `max_in_flight`
    /// until it is due, so messages due now pass it. Defaults to 0:
    /// delayed publishes are off (they fail with
    /// [`PushError::Full`](crate::PushError::Full)) and cost
    /// nothing.
    ///
    /// Each place is a spare entry of the table (a cache line), which the
    /// scan and the watermark pass over.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let q = ackring::AckQueue::builder().delay_capacity(1).build().unwrap();
    /// q.try_publish_after(1, Duration::from_secs(9)).unwrap();
    /// let full = q.try_publish_after(2, Duration::from_secs(9));
    /// assert_eq!(full.unwrap_err().into_inner(), 2);
    /// q.try_publish(3).unwrap(); // the fresh ring has room of its own
    /// # q.close(); let _ = q.drain();
    /// ```
    pub fn delay_capacity(mut self, n: usize) -> Self {
        self.delay_capacity = n;
        self
    }

    /// The visibility timeout: a delivery not settled within `lease` of
    /// its receive (or of its last [`extend_lease`](crate::Delivery::extend_lease))
    /// is delivered again. Without it, only nacks and dropped deliveries
    /// redeliver.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// A message delivered `k` times without an ack goes to the dead
    /// letters instead of a `k + 1`th delivery. Defaults to
    /// [`DEFAULT_MAX_DELIVERIES`](AckQueueBuilder::DEFAULT_MAX_DELIVERIES);
    /// `u32::MAX` delivers a message for as long as it is requeued.
    pub fn max_deliveries(mut self, k: u32) -> Self {
        self.max_deliveries = Some(k);
        self
    }

    /// How long a message requeued without a delay of its own waits before
    /// it is delivered again: after `nack(true)`, a delivery dropped or
    /// unwound by a panic, an expired lease. Defaults to
    /// [`Redelivery::immediate`]; see [`Redelivery`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, ManualClock, Redelivery};
    /// use std::time::Duration;
    ///
    /// let s = Duration::from_secs;
    /// let clock = ManualClock::new();
    /// let q = AckQueue::builder()
    ///     .redelivery(Redelivery::schedule([s(1), s(10)]))
    ///     .clock(clock.clone())
    ///     .build()
    ///     .unwrap();
    /// q.try_publish(1).unwrap();
    /// q.try_receive().unwrap().nack(true).unwrap();
    /// clock.advance(s(1));
    /// q.try_receive().unwrap().nack(true).unwrap();
    /// clock.advance(s(9));
    /// assert!(q.try_receive().is_none());
    /// clock.advance(s(1));
    /// assert_eq!(q.try_receive().unwrap().delivery_count(), 3);
    /// ```
    pub fn redelivery(mut self, policy: Redelivery) -> Self {
        self.redelivery = policy;
        self
    }

    /// Every message published without a time to live of its own
    /// ([`try_publish_with_ttl`](AckQueue::try_publish_with_ttl)) expires
    /// if it is not delivered within `ttl` of its publish (for a delayed
    /// publish, of its due time). An expired message goes to the dead
    /// letters with [`DeadReason::Expired`](crate::DeadReason::Expired) and
    /// delivery count 0, or is dropped
    /// ([`drop_expired`](AckQueueBuilder::drop_expired)).
    ///
    /// The time to live ends at the first delivery, not at the settle:
    /// once a consumer holds a message, the lease and the delivery count
    /// govern it (RabbitMQ's rule as well). An expired message is found
    /// by the receive that reaches it, so it holds its place of
    /// `capacity` until then.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, DeadReason, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let q = AckQueue::builder()
    ///     .ttl(Duration::from_secs(30))
    ///     .clock(clock.clone())
    ///     .build()
    ///     .unwrap();
    /// q.try_publish("stale").unwrap();
    /// clock.advance(Duration::from_secs(30));
    /// assert!(q.try_receive().is_none());
    /// assert_eq!(q.try_receive_dead_letter().unwrap().reason(), DeadReason::Expired);
    /// ```
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// With `true`, an expired message is dropped (and counts as settled:
    /// [`AckQueue::dropped_expired`]) instead of going to the dead
    /// letters.
    pub fn drop_expired(mut self, drop: bool) -> Self {
        self.drop_expired = drop;
        self
    }

    /// The time source for leases and delayed requeues.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// How a blocked thread waits in the blocking calls (`publish`,
    /// `receive*`, `consume`, `wait_settled*`), as for
    /// [`Ring`](crate::Ring) (see [`WaitStrategy`]):
    ///
    /// - [`Park`](WaitStrategy::Park), the default: spins and yields for a
    ///   few microseconds, then sleeps until an operation that may unblock
    ///   it wakes it (while leases or delayed requeues are pending, it also
    ///   looks again every millisecond, since their deadlines pass without
    ///   anyone to wake it). No CPU while a queue is idle.
    /// - [`Spin`](WaitStrategy::Spin): tries again after each CPU spin
    ///   hint, never sleeping: the lowest latency, at the price of a core
    ///   per waiting thread. For latency-sensitive consumers with cores of
    ///   their own.
    /// - [`Backoff`](WaitStrategy::Backoff): spins with exponential
    ///   backoff, then yields its time slice between tries, never
    ///   sleeping.
    ///
    /// A future waits the same way whatever the strategy: it sleeps until
    /// woken.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, WaitStrategy};
    ///
    /// let q = AckQueue::builder().wait_strategy(WaitStrategy::Spin).build().unwrap();
    /// assert_eq!(q.wait_strategy(), WaitStrategy::Spin);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| q.publish(7).unwrap());
    ///     let d = q.receive().unwrap(); // spins until the publish lands
    ///     assert_eq!(*d, 7);
    ///     d.ack().unwrap();
    /// });
    /// ```
    pub fn wait_strategy(mut self, strategy: WaitStrategy) -> Self {
        self.wait_strategy = strategy;
        self
    }

    /// Records latency histograms ([`AckQueue::latency`]): each message's
    /// time waiting for its first delivery, each delivery's processing
    /// time, each message's time from publish to ack, and the delivery
    /// count of each message acked. Off by default.
    ///
    /// It costs a clock reading at each publish, receive and settle, and
    /// four histograms of about 8 KiB each. An ack takes the CAS path,
    /// which records, rather than the plain stores of a sole holder.
    /// Off, it adds no test to the hot paths: a publish, a receive and an
    /// ack test one flag each, which the time to live and the lease need
    /// anyway. With it, the
    /// [`Stats::oldest_waiting`](crate::Stats::oldest_waiting) age is
    /// exact; without, it counts from the first `stats` call that sees
    /// the message.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().latency(true).build().unwrap();
    /// q.try_publish(1).unwrap();
    /// q.try_receive().unwrap().ack().unwrap();
    /// assert_eq!(q.latency().unwrap().end_to_end.count(), 1);
    /// ```
    pub fn latency(mut self, on: bool) -> Self {
        self.latency = on;
        self
    }

    /// Builds the queue. All memory it will use is allocated here.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Zero`] naming `capacity`, `max_in_flight`,
    /// `dead_letter_capacity`, `max_deliveries`, `lease` or `ttl` when
    /// given zero;
    /// [`ConfigError::TooLarge`] when `capacity`, or `capacity` plus
    /// `max_in_flight` plus `dead_letter_capacity`, is too large to
    /// allocate (more than `u32::MAX` places).
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, ConfigError};
    /// use std::time::Duration;
    ///
    /// let err = AckQueue::<u8>::builder().lease(Duration::ZERO).build();
    /// assert_eq!(err.unwrap_err(), ConfigError::Zero { field: "lease" });
    /// ```
    pub fn build(self) -> Result<AckQueue<T>, ConfigError> {
        let zero = |field| ConfigError::Zero { field };
        let too_large = |field, requested| ConfigError::TooLarge { field, requested };
        let dead_cap = self.dead_letter_capacity.unwrap_or(self.capacity);
        if self.capacity == 0 {
            return Err(zero("capacity"));
        }
        if self.max_in_flight == 0 {
            return Err(zero("max_in_flight"));
        }
        if dead_cap == 0 {
            return Err(zero("dead_letter_capacity"));
        }
        if self.max_deliveries == Some(0) {
            return Err(zero("max_deliveries"));
        }
        if self.lease == Some(Duration::ZERO) {
            return Err(zero("lease"));
        }
        if self.ttl == Some(Duration::ZERO) {
            return Err(zero("ttl"));
        }
        let cap = self.capacity;
        if cap > u32::MAX as usize {
            return Err(too_large("capacity", cap));
        }
        let fresh = Fresh::new(cap as u64, self.latency).ok_or(too_large("capacity", cap))?;
        // A home entry per fresh slot, and a spare entry per place of the
        // three other bounds (`entry.rs`).
        let spares = self
            .max_in_flight
            .checked_add(dead_cap)
            .and_then(|n| n.checked_add(self.delay_capacity))
            .filter(|&n| n <= u32::MAX as usize - cap)
            .ok_or(too_large("dead_letter_capacity", dead_cap))?;
        let entries = cap + spares;
        let ring = |n| Indices::new(n as u64).ok_or(too_large("dead_letter_capacity", n));
        let redeliver = ring(entries)?;
        let dead = ring(entries)?;
        Ok(AckQueue {
            fresh,
            table: Table::new(cap, spares),
            acked: CachePadded::new(AtomicU64::new(0)),
            admit_below: CachePadded::new(AtomicU64::new(self.max_in_flight as u64)),
            given_back: CachePadded::new(AtomicU64::new(0)),
            below: CachePadded::new(AtomicU64::new(0)),
            redeliver,
            dead,
            dead_held: AtomicUsize::new(0),
            delayed: AtomicUsize::new(0),
            scheduled: AtomicUsize::new(0),
            schedule_order: AtomicU64::new(0),
            closed: AtomicUsize::new(0),
            scan_cursor: AtomicUsize::new(0),
            scan_due: CachePadded::new(AtomicU64::new(0)),
            scan_interval: self.lease.map_or(0, |l| {
                let steps = entries.div_ceil(SCAN_STEP) as u64;
                clock::nanos(l) / 4 / steps
            }),
            ready: WaitList::new(),
            settled: WaitList::new(),
            room: CachePadded::new(WaitList::new()),
            scheduling: WaitList::new(),
            counters: Counters::new(),
            max_in_flight: self.max_in_flight,
            dead_letter_capacity: dead_cap,
            delay_capacity: self.delay_capacity,
            lease: self.lease.map(clock::nanos),
            max_deliveries: self.max_deliveries.unwrap_or(Self::DEFAULT_MAX_DELIVERIES),
            redelivery: self.redelivery,
            ttl: self.ttl.map(clock::nanos),
            drop_expired: self.drop_expired,
            dropped_expired: AtomicU64::new(0),
            waiting_seen: super::stats::WaitingSeen::new(),
            clock: self
                .clock
                .unwrap_or_else(|| Box::new(MonotonicClock::new())),
            wait_strategy: self.wait_strategy,
            latency: self.latency.then(|| Box::new(Latency::new())),
            publish_reads_clock: self.ttl.is_some() || self.latency,
            receive_reads_clock: self.lease.is_some() || self.latency,
            sole_acks: self.lease.is_none() && !self.latency,
        })
    }
}

impl<T> fmt::Debug for AckQueueBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckQueueBuilder")
            .field("capacity", &self.capacity)
            .field("max_in_flight", &self.max_in_flight)
            .field("dead_letter_capacity", &self.dead_letter_capacity)
            .field("delay_capacity", &self.delay_capacity)
            .field("lease", &self.lease)
            .field("max_deliveries", &self.max_deliveries)
            .field("redelivery", &self.redelivery)
            .field("ttl", &self.ttl)
            .field("drop_expired", &self.drop_expired)
            .field("wait_strategy", &self.wait_strategy)
            .field("latency", &self.latency)
            .finish_non_exhaustive()
    }
}
