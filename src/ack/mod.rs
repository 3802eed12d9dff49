//! `AckQueue<T>`: message-queue semantics (deliver, ack, nack, requeue,
//! lease redelivery, dead letters, settle confirmations) over one bounded
//! ring whose entries keep each message until it is settled.
//!
//! # Parts
//!
//! - the table ([`inflight`]): `capacity` entries, which are also the
//!   slots of a Vyukov ring. Positions are `{ lap, index }` (`lap *
//!   one_lap + index`, `one_lap` the power of two above `capacity`), as in
//!   [`Ring`]; the message published at position `p` has sequence number
//!   `lap * capacity + index` and lives in entry `index` from its publish
//!   until it is **settled** (acked, taken from the dead letters, or
//!   drained). Each entry has a `stamp`: `p` while it is free for the
//!   publish at `p`, `p + 1` while it holds that message. Settling stores
//!   `p + one_lap`, freeing it for the publish one lap later. Only a
//!   settle moves a stamp past `p + 1`, and stamps only grow;
//! - `tail` (producers) and `head` (receivers), one cache line each:
//!   a publish claims `tail` by CAS once the entry there is free; a first
//!   delivery claims `head` by CAS once the entry there holds a message.
//!   `tail` also carries the `CLOSED` bit;
//! - two `Ring<u32>`s of entry indices: `redeliver` (requeued, waiting for
//!   a receiver) and `dead` (dead letters). Each has the table's size as
//!   capacity and an index is in at most one of them at a time, so a push
//!   into them never fails for lack of room (it can only wait, through
//!   `Backoff`, for a concurrent pop of the same slot to finish its two
//!   instructions);
//! - `released`: delivered messages that stopped holding a prefetch place
//!   (acked, dead-lettered, drained). Places held = first deliveries (the
//!   count of positions below `head`, less `drained`) − `released`, at
//!   most `max_in_flight`, checked before the CAS on `head` (see
//!   `below_prefetch_limit`). Requeued messages keep their place, so a
//!   requeue never fails for want of one;
//! - `below`, a cache of the settle watermark (see
//!   [`AckQueue::settled_below`]).
//!
//! ## What `capacity` bounds
//!
//! The queue holds every message until it is settled, in publish order:
//! a publish at `p` needs the message at `p - capacity` settled (and no
//! longer read by a delivery guard, see [`AckQueue::try_publish`]),
//! whatever happened to the ones between. So `capacity` bounds the unsettled
//! messages (waiting, in flight, requeued, dead letters), and the settle
//! watermark never trails the newest sequence number by more than
//! `capacity`. A message left unsettled (a slow handler, a dead letter
//! nobody takes) holds back publishers once `capacity` messages have been
//! published after it: the queue's back-pressure.
//!
//! # Entry state machine
//!
//! Besides its stamp, every entry has a state word `generation | attempt |
//! holders | epoch | flags | phase`; every transition is one CAS (or a
//! store by the entry's sole owner). `holders` counts the `Delivery`
//! guards that may read the message: a message whose lease expired may be
//! read by the expired holder and by the new one at once, so the value is
//! dropped or moved out only when the entry is settled (or dead) **and**
//! `holders` is zero. The generation is the lap of the message's
//! position, so a tag of an earlier message of the entry never matches.
//!
//! ```text
//!             publish: stamp p → p + 1; receive: CAS head,
//!             store {InFlight, gen lap(p), attempt 1, holders 1}
//!   Free ──────────────────────────────────────────────► InFlight ◄─────┐
//!    ▲                                                    │  │  ▲ │     │
//!    │            extend_lease: CAS → Extending,          │  │  └─┘     │
//!    │            write deadline, CAS → InFlight, epoch+1 │  │          │
//!    │                                                    │  │          │
//!    │   ack: CAS → Settled {holders - 1}                 │  │ nack(requeue) / drop /
//!    │  ┌─────────────────────────────────────────────────┘  │ lease expiry (scan):
//!    │  ▼                                                    │ CAS → Redeliver, push
//!   Settled ── last holder leaves (CAS holders → 0) ──► free │ redeliver ring
//!    │ (holders 0: drop value, store Free,                   ▼
//!    │  stamp p + one_lap)                               Redeliver ── receive: pop,
//!    │                                                       ▲        CAS → InFlight
//!    │   nack_after: CAS → Delaying, write not-before,       │        {attempt + 1,
//!    │   CAS → Delayed;  scan when due: CAS → Redeliver ─────┘         holders + 1}
//!    │
//!    │   nack(false), or requeue/expiry at max_deliveries:
//!    │   CAS → Dead (holders 0, push dead ring)
//!    │      or DeadPending (holders > 0; the last holder CASes → Dead, pushes)
//!    │
//!    └── Dead ── try_receive_dead_letter / drain: pop, move value out,
//!                store Free, stamp p + one_lap
//! ```
//!
//! Who moves an entry:
//!
//! | from | to | by | how |
//! |---|---|---|---|
//! | `Free` (stamp `p + 1`) | `InFlight` | the receiver whose CAS moved `head` off `p` | Release store |
//! | `InFlight` | `Settled` | ack (guard or tag) | CAS |
//! | `InFlight` | `Redeliver` | nack(true), a dropped guard, the lease scan | CAS, then push `redeliver` |
//! | `InFlight` | `Delaying` → `Delayed` | `nack_after` | CAS, deadline write, CAS |
//! | `Delayed` | `Redeliver` | the scan, once due | CAS, then push |
//! | `InFlight` | `Extending` → `InFlight` | `extend_lease` | CAS, deadline write, CAS |
//! | `InFlight` | `Dead` / `DeadPending` | nack(false), requeue or expiry at `max_deliveries` | CAS |
//! | `DeadPending` | `Dead` | the last holder to leave | CAS, then push `dead` |
//! | `Redeliver` | `InFlight` | the receiver that popped it from `redeliver` | CAS (holders may change meanwhile); at the `holders` limit it pushes the index back instead |
//! | `Settled` | `Free` | whoever brings holders to 0 | CAS, drop, store, Release stamp store |
//! | `Dead` | `Free` | the taker that popped it from `dead` | move out, store, Release stamp store |
//! | `Free` (stamp `p + 1`) | `Free` | `drain`, after its CAS on `head` | move out, Release stamp store |
//! | `InFlight`/`Delayed` (no holders) | `Taking` → `Free` | `drain` | CAS, move out, Release stamp store |
//!
//! Ownership: an entry whose position a thread claimed (`head`), or that it
//! popped from a ring (`redeliver`, `dead`), belongs to it for the fields
//! other than `holders`; an entry in a transient phase (`Extending`,
//! `Delaying`, `Taking`, `Settled` with zero holders) belongs to the thread
//! that moved it there. Other threads may only decrement `holders` of an
//! entry they do not own. The stamp of an entry holding a message changes
//! only when its owner frees it.
//!
//! # Tags and errors
//!
//! A tag is `(queue, index, generation, attempt)`, the attempt being the
//! exact delivery count. A settle by tag (or by guard) checks, in order:
//! the queue (`ForeignTag`); the generation, and a `Free` or `Taking`
//! phase (`AlreadySettled`); the attempt modulo 2^16 against the state
//! word (`Stale`); then the phase: `InFlight` proceeds if the entry's
//! `deliveries` equals the attempt (else `Stale`: a tag kept across 2^16
//! redeliveries), `Extending` waits for the extension to finish,
//! `Settled` and `Delaying` are `AlreadySettled`, and `Redeliver`,
//! `Delayed`, `DeadPending`, `Dead` are `Stale` if the attempt ended by
//! lease expiry, else `AlreadySettled`. Only one CAS out of `InFlight` can
//! succeed per attempt, so a delivery is settled at most once whatever the
//! interleaving.
//!
//! # Memory orderings
//!
//! - Stamps: the publisher's Release store of `p + 1` after writing the
//!   value pairs with the receiver's Acquire load before its CAS on
//!   `head` (and with `drain`'s); the settler's Release store of `p +
//!   one_lap` after dropping or moving the value out pairs with the next
//!   publisher's Acquire load, and with the watermark's Acquire loads, so
//!   a reader that sees the watermark pass a message also sees what its
//!   settler did before. The cursors' CASes are Relaxed: they only decide
//!   who owns a position; the stamps carry the data. `Closed` is decided by
//!   the modification order of `tail` alone (a publish's CAS against
//!   `close`'s fetch_or).
//! - State words: CASes are `AcqRel`: each publishes the owner's writes of
//!   the entry's other fields (deadline, delivered-at, deliveries) and
//!   acquires the previous owner's. Those fields are read and written
//!   `Relaxed`. The first delivery's state store is Release over the
//!   fields it wrote. The index rings hand entries over with their own
//!   Release/Acquire pairs.
//! - Counters (`released`, `delayed`, statistics) carry no data and are
//!   `Relaxed`; the prefetch bound needs only that they never decrease
//!   (`below_prefetch_limit`).
//! - Wake-ups: every operation that may unblock a waiter ends with
//!   `Waiter::notify`, whose SeqCst fence is the notifier's half of the
//!   parking protocol in `wait.rs`: a publish (for receivers), a settle
//!   (for publishers waiting for room, receivers at the prefetch limit,
//!   `wait_settled`), a requeue, a dead letter, `close`.
//!
//! # Who writes what, per message
//!
//! | line | publish | receive | ack |
//! |---|---|---|---|
//! | `tail` | CAS | — | — |
//! | entry | value, stamp | state store (+ lease fields) | state CAS, drop, state, stamp |
//! | `head` | — | CAS (reads `released` for the prefetch bound) | — |
//! | `released` | — | — | fetch_add |
//!
//! A receive reads the clock only when a lease or a delayed requeue needs
//! it. A blocked `publish` that finds the queue full first waits for the
//! entry a few places further on to be free (`wait_for_room_ahead`), so
//! that it does not poll the entry a receiver is working on.
//!
//! # Leases without a thread
//!
//! A `try_receive` checks a couple of entries for an expired lease or a
//! due delayed requeue, at most once per `scan_interval` (a quarter of the
//! lease over a whole pass) unless delayed requeues are pending, and a
//! full pass runs before it reports nothing to receive;
//! [`AckQueue::requeue_expired`] forces a full pass.

mod clock;
mod delivery;
mod inflight;

use core::fmt;
use core::marker::PhantomData;
use core::time::Duration;

use crossbeam_utils::CachePadded;

pub use self::clock::{Clock, ManualClock, MonotonicClock};
pub use self::delivery::{DeadLetter, DeadReason, Delivery, Seq, Tag};
use self::inflight::{Entry, Phase, State, Table, ATTEMPT_MASK, HOLDERS_MAX};
use crate::error::{AckError, Closed, ConfigError, Full, PublishError};
use crate::ring::Ring;
use crate::stats::{self, Counters, Stats};
use crate::sync::{AtomicU64, AtomicUsize, Backoff, Instant, Ordering};
use crate::wait::{self, WaitStrategy, Waiter};

/// `tail`'s closed bit; the low bits are the producers' ring position.
const CLOSED: u64 = 1 << 63;
/// How far past the full entry a blocked publisher waits for room before
/// it looks again (see `wait_for_room_ahead`).
const ROOM_AHEAD: u64 = 32;
/// Entries each `try_receive` checks for expiry.
const SCAN_STEP: usize = 2;
/// Longest a blocked call sleeps before it looks again while leases or
/// delayed requeues are pending (their deadlines pass without anyone to
/// notify).
const PARK_TICK: Duration = Duration::from_millis(1);
/// Longest a blocked call sleeps otherwise. Every other event that can
/// unblock a call (publish, settle, requeue, a dead letter taken out,
/// close) notifies the waiters, so this is only a safety net; it keeps an
/// idle consumer from waking a thousand times a second.
const IDLE_TICK: Duration = Duration::from_millis(50);

/// `delivered_at` of a delivery received without a clock reading; the
/// first `stats` call that sees it in flight stamps it.
const UNSTAMPED: u64 = u64::MAX;

/// How a delivery is settled.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Settle {
    Ack,
    /// Requeue, after a delay if any.
    Requeue(Option<Duration>),
    /// Dead-letter now.
    Reject,
}

/// Why a state word does not let a settle proceed.
enum Refusal {
    /// Another thread is extending the lease, or the entry moved on while
    /// we read it: look again.
    Busy,
    Err(AckError),
}

/// A bounded in-process message queue with acknowledgements.
///
/// Producers [`publish`](AckQueue::publish) messages; consumers
/// [`receive`](AckQueue::receive) [`Delivery`] guards and
/// [`ack`](Delivery::ack) or [`nack`](Delivery::nack) them. A message stays
/// tracked until it is acked or taken from the dead letters: a dropped
/// delivery, a nack with requeue or an expired lease delivers it again. At
/// most `max_in_flight` deliveries are unsettled at once (the prefetch
/// limit).
///
/// All calls take `&self` and are lock-free except the blocking ones
/// (`publish`, `receive*`, `consume`, `wait_settled`), and allocate
/// nothing after [`build`](AckQueueBuilder::build) (but `drain`).
///
/// # Examples
///
/// ```
/// use ackring::AckQueue;
///
/// let q = AckQueue::builder().capacity(64).max_in_flight(8).build().unwrap();
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         for i in 0..100_u64 {
///             q.publish(i).unwrap();
///         }
///         q.close();
///     });
///     let mut sum = 0;
///     q.consume(|d| {
///         sum += *d;
///         d.ack().unwrap();
///     });
///     assert_eq!(sum, 4950);
/// });
/// assert_eq!(q.settled_below().get(), 100);
/// ```
pub struct AckQueue<T> {
    /// Producers' ring position (the next publish's), with the `CLOSED`
    /// bit.
    tail: CachePadded<AtomicU64>,
    /// Receivers' ring position: the next fresh message to deliver.
    head: CachePadded<AtomicU64>,
    /// A ring position below which every message is settled (a cache of
    /// the watermark: see [`AckQueue::settled_below`]).
    below: CachePadded<AtomicU64>,
    /// Entries requeued and waiting for a receiver.
    redeliver: Ring<u32>,
    /// Dead letters.
    dead: Ring<u32>,
    /// The entries, one per ring slot.
    pub(crate) table: Table<T>,
    /// Deliveries' messages that stopped holding a prefetch place: acked,
    /// dead-lettered, or taken by `drain` after a delivery. With `head`
    /// (first deliveries) and `drained`, this counts the places held
    /// (module docs).
    released: CachePadded<AtomicU64>,
    /// Entries in `Delaying` or `Delayed`.
    delayed: AtomicUsize,
    /// Where the next amortized scan step starts.
    scan_cursor: AtomicUsize,
    /// The clock reading before which no scan step runs while no delayed
    /// requeue is pending (see `scan_step`).
    scan_due: CachePadded<AtomicU64>,
    /// Nanoseconds between two scan steps: a quarter of the lease spread
    /// over the steps of a whole pass (0 without a lease).
    scan_interval: u64,
    /// Blocked callers of every kind sleep here; every operation that may
    /// unblock one notifies.
    waiter: Waiter,
    counters: Counters,
    capacity: usize,
    /// `capacity` rounded up past a power of two: adding it to a ring
    /// position moves it one lap ahead at the same index.
    one_lap: u64,
    /// `log2(one_lap)`.
    lap_shift: u32,
    max_in_flight: usize,
    /// Whether the prefetch limit can bind (`max_in_flight < capacity`;
    /// otherwise the unsettled messages alone stay below it).
    limited: bool,
    /// Lease length in nanoseconds, if leases are on.
    lease: Option<u64>,
    /// `u32::MAX` when unlimited.
    max_deliveries: u32,
    clock: Box<dyn Clock>,
}

// SAFETY: the queue moves `T` values between threads (publish on one,
// receive, drop or drain on another), which needs `T: Send`, and hands out
// `&T` to deliveries on several threads at once, which needs `T: Sync`.
// Every access to an entry's value follows the ownership protocol of the
// module docs: written only by the entry's sole owner, read through shared
// references only while counted in `holders`, dropped or moved out only by
// the owner once `holders` is zero.
unsafe impl<T: Send + Sync> Sync for AckQueue<T> {}
// SAFETY: the queue owns its `T`s; moving it moves them, which `T: Send`
// allows. (Spelled out because loom's `UnsafeCell` is not `Send`.)
unsafe impl<T: Send> Send for AckQueue<T> {}

/// Configures and builds an [`AckQueue`]; from [`AckQueue::builder`].
///
/// Defaults: capacity 1024, `max_in_flight` 256, no lease, unlimited
/// deliveries, the [`MonotonicClock`].
pub struct AckQueueBuilder<T> {
    capacity: usize,
    max_in_flight: usize,
    lease: Option<Duration>,
    max_deliveries: Option<u32>,
    clock: Option<Box<dyn Clock>>,
    _marker: PhantomData<fn() -> T>,
}

impl<T> AckQueueBuilder<T> {
    /// How many messages the queue holds until they are settled: waiting
    /// for delivery, in flight, waiting for redelivery or in the dead
    /// letters. A publish finds room when the message published
    /// `capacity` places before it is settled (see
    /// [`AckQueue::try_publish`]).
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = n;
        self
    }

    /// How many deliveries may be unsettled at once (the prefetch limit).
    /// Messages waiting for redelivery after a nack or an expired lease
    /// count against it too.
    pub fn max_in_flight(mut self, m: usize) -> Self {
        self.max_in_flight = m;
        self
    }

    /// The visibility timeout: a delivery not settled within `lease` of
    /// its receive (or of its last [`extend_lease`](Delivery::extend_lease))
    /// is delivered again. Without it, only nacks and dropped deliveries
    /// redeliver.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// A message delivered `k` times without an ack goes to the dead
    /// letters instead of a `k + 1`th delivery.
    pub fn max_deliveries(mut self, k: u32) -> Self {
        self.max_deliveries = Some(k);
        self
    }

    /// The time source for leases and delayed requeues.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// Builds the queue. All memory it will use is allocated here.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Zero`] naming `capacity`, `max_in_flight`,
    /// `max_deliveries` or `lease` when given zero;
    /// [`ConfigError::TooLarge`] when `capacity` cannot be allocated (at
    /// most `u32::MAX` entries).
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
        if self.capacity == 0 {
            return Err(zero("capacity"));
        }
        if self.max_in_flight == 0 {
            return Err(zero("max_in_flight"));
        }
        if self.max_deliveries == Some(0) {
            return Err(zero("max_deliveries"));
        }
        if self.lease == Some(Duration::ZERO) {
            return Err(zero("lease"));
        }
        let cap = self.capacity;
        if cap > u32::MAX as usize {
            return Err(too_large("capacity", cap));
        }
        // One lap is past `cap`, so that a slot's "holds a message" stamp
        // (position + 1) never carries into the lap bits.
        let one_lap = (cap as u64 + 1).next_power_of_two();
        let ring = |n| Ring::try_new(n).map_err(|_| too_large("capacity", n));
        let redeliver: Ring<u32> = ring(cap)?;
        let dead = ring(cap)?;
        Ok(AckQueue {
            tail: CachePadded::new(AtomicU64::new(0)),
            head: CachePadded::new(AtomicU64::new(0)),
            below: CachePadded::new(AtomicU64::new(0)),
            redeliver,
            dead,
            table: Table::new(cap),
            released: CachePadded::new(AtomicU64::new(0)),
            delayed: AtomicUsize::new(0),
            scan_cursor: AtomicUsize::new(0),
            scan_due: CachePadded::new(AtomicU64::new(0)),
            scan_interval: self.lease.map_or(0, |l| {
                let steps = cap.div_ceil(SCAN_STEP) as u64;
                clock::nanos(l) / 4 / steps
            }),
            waiter: Waiter::new(),
            counters: Counters::new(),
            capacity: cap,
            one_lap,
            lap_shift: one_lap.trailing_zeros(),
            max_in_flight: self.max_in_flight,
            limited: self.max_in_flight < cap,
            lease: self.lease.map(clock::nanos),
            max_deliveries: self.max_deliveries.unwrap_or(u32::MAX),
            clock: self
                .clock
                .unwrap_or_else(|| Box::new(MonotonicClock::new())),
        })
    }
}

impl<T> fmt::Debug for AckQueueBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckQueueBuilder")
            .field("capacity", &self.capacity)
            .field("max_in_flight", &self.max_in_flight)
            .field("lease", &self.lease)
            .field("max_deliveries", &self.max_deliveries)
            .finish_non_exhaustive()
    }
}

/// Pushes an entry index into one of the index rings. The ring always has
/// room for it (module docs); a `Full` can only mean a pop of that very
/// slot is between its two steps, so we back off and try again.
fn push_index(ring: &Ring<u32>, index: u32) {
    let backoff = Backoff::new();
    let mut result = ring.try_push(index);
    while let Err(Full(index)) = result {
        backoff.snooze();
        result = ring.try_push(index);
    }
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
    ///     .lease(Duration::from_secs(30))
    ///     .max_deliveries(5)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(q.capacity(), 1024);
    /// ```
    pub fn builder() -> AckQueueBuilder<T> {
        AckQueueBuilder {
            capacity: 1024,
            max_in_flight: 256,
            lease: None,
            max_deliveries: None,
            clock: None,
            _marker: PhantomData,
        }
    }

    /// How many messages the queue holds until they are settled.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The prefetch limit.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// The queue clock's reading, in nanoseconds.
    #[inline]
    fn now(&self) -> u64 {
        clock::nanos(self.clock.now())
    }

    /// The entry a tag names, if the tag is ours.
    fn entry_of(&self, tag: Tag) -> Result<&Entry<T>, AckError> {
        if tag.queue != self.table.id() || tag.index as usize >= self.table.len() {
            return Err(AckError::ForeignTag);
        }
        Ok(self.table.get(tag.index))
    }

    // ----- ring positions ------------------------------------------------

    /// The entry of ring position `pos` (`{ lap, index }`, module docs).
    #[inline]
    fn entry_at(&self, pos: u64) -> &Entry<T> {
        self.table.get((pos & (self.one_lap - 1)) as u32)
    }

    /// The position after `pos`.
    #[inline]
    fn advance(&self, pos: u64) -> u64 {
        if (pos & (self.one_lap - 1)) + 1 < self.capacity as u64 {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)) + self.one_lap
        }
    }

    /// The sequence number of the message published at `pos`: how many
    /// positions come before it.
    #[inline]
    fn seq_of(&self, pos: u64) -> u64 {
        (pos >> self.lap_shift) * self.capacity as u64 + (pos & (self.one_lap - 1))
    }

    /// The position of the message an entry we own holds (its stamp is
    /// that position + 1 until the message is settled, and only the
    /// settler changes it).
    #[inline]
    fn pos_of(entry: &Entry<T>) -> u64 {
        // Relaxed: the stamp was written before the Release store (or CAS)
        // of the state that gave us the entry, and is stable while it
        // holds the message.
        entry.stamp.load(Ordering::Relaxed) - 1
    }

    // ----- publish -------------------------------------------------------

    /// Publishes `msg` if there is room, without waiting.
    ///
    /// There is room when the message published `capacity` places before
    /// this one is settled and no [`Delivery`] refers to it any more: the
    /// queue holds every message in its entry from its publish until then,
    /// in publish order, so an unsettled message holds back the publish
    /// that would reuse its entry (the settle watermark never trails the
    /// newest sequence number by more than `capacity`). A message acked
    /// by tag while its guard lives, or acked while an expired delivery
    /// still holds it, is settled at once but keeps its entry until the
    /// last guard lets go.
    ///
    /// # Errors
    ///
    /// [`PublishError::Full`] when there is no room;
    /// [`PublishError::Closed`] after [`close`](AckQueue::close). Either
    /// way the message comes back inside the error.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().capacity(1).build().unwrap();
    /// assert_eq!(q.try_publish(1).unwrap().get(), 0);
    /// assert_eq!(q.try_publish(2).unwrap_err().into_inner(), 2);
    /// q.try_receive().unwrap().ack().unwrap();
    /// assert_eq!(q.try_publish(3).unwrap().get(), 1);
    /// ```
    pub fn try_publish(&self, msg: T) -> Result<Seq, PublishError<T>> {
        let backoff = Backoff::new();
        // Relaxed: the cursor is a hint of which entry to look at (its
        // stamp, Acquire below, carries the synchronization), and `Closed`
        // is decided by the order of the RMWs on this one word (our CAS
        // against `close`'s fetch_or), which coherence gives in any
        // ordering.
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & CLOSED != 0 {
                return Err(PublishError::Closed(msg));
            }
            let entry = self.entry_at(tail);
            // Acquire: pairs with the Release stamp store that freed the
            // entry, so the settle (and the drop of the old message)
            // happens-before our write.
            let stamp = entry.stamp.load(Ordering::Acquire);
            let diff = stamp.wrapping_sub(tail) as i64;
            if diff == 0 {
                // Relaxed: winning the CAS makes `tail` ours alone.
                match self.tail.compare_exchange_weak(
                    tail,
                    self.advance(tail),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: we own position `tail` (CAS above) and
                        // its entry is free (stamp == tail, seen with
                        // Acquire after the settler's Release store), so
                        // its value is uninitialized and nobody reads or
                        // writes it until we store the next stamp.
                        entry.value.with_mut(|p| unsafe { (*p).write(msg) });
                        // Release: publishes the value; pairs with the
                        // Acquire load of the stamp in `claim_fresh`.
                        entry.stamp.store(tail + 1, Ordering::Release);
                        self.waiter.notify();
                        return Ok(Seq(self.seq_of(tail)));
                    }
                    Err(current) => {
                        tail = current;
                        backoff.spin();
                    }
                }
            } else if diff < 0 {
                // The entry still holds the message of the previous lap.
                return Err(PublishError::Full(msg));
            } else {
                // Another producer took `tail`: look again.
                backoff.spin();
                // Relaxed: as above.
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Publishes `msg`, waiting for room (spinning briefly, then sleeping).
    ///
    /// # Errors
    ///
    /// [`PublishError::Closed`], with the message, if the queue is or
    /// gets closed before there is room.
    pub fn publish(&self, msg: T) -> Result<Seq, PublishError<T>> {
        let msg = match self.try_publish(msg) {
            Err(PublishError::Full(msg)) => msg,
            other => return other,
        };
        self.wait_for_room_ahead();
        let mut slot = Some(msg);
        let outcome = self.wait_for(None, || {
            let msg = slot.take()?;
            match self.try_publish(msg) {
                Err(PublishError::Full(msg)) => {
                    slot = Some(msg);
                    None
                }
                other => Some(other),
            }
        });
        match outcome {
            Some(result) => result,
            None => unreachable!("a wait without deadline ends only with a result"),
        }
    }

    /// After a publish found no room: spins (with backoff, for a few
    /// microseconds at most) until the entry `ROOM_AHEAD` places past
    /// `tail` is free too, so that the publisher comes back for a run of
    /// free entries instead of polling the one a receiver is settling. In
    /// a full queue that entry's line is the receiver's working line, and
    /// each poll would pull it away between the receiver's writes to it
    /// (claim, deliver, settle, free): measured, that made a 1P1C
    /// publish→receive→ack several times slower.
    fn wait_for_room_ahead(&self) {
        let ahead = ROOM_AHEAD.min(self.capacity as u64 - 1);
        if ahead == 0 {
            return;
        }
        // Relaxed: a hint of which entry to watch; `try_publish` decides.
        let tail = self.tail.load(Ordering::Relaxed) & !CLOSED;
        let index = (tail & (self.one_lap - 1)) + ahead;
        let far = if index < self.capacity as u64 {
            tail + ahead
        } else {
            (tail & !(self.one_lap - 1)) + self.one_lap + (index - self.capacity as u64)
        };
        let entry = self.entry_at(far);
        let backoff = Backoff::new();
        // Relaxed: a hint, as above. Free for `far` (or for a later lap,
        // if other publishers moved on) ends the wait.
        while (entry.stamp.load(Ordering::Relaxed).wrapping_sub(far) as i64) < 0
            && !backoff.is_completed()
        {
            backoff.snooze();
        }
    }

    // ----- receive -------------------------------------------------------

    /// Takes a delivery if one is ready and the prefetch limit allows,
    /// without waiting. Requeued messages come before fresh ones.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().max_in_flight(1).build().unwrap();
    /// q.try_publish("a").unwrap();
    /// q.try_publish("b").unwrap();
    /// let a = q.try_receive().unwrap();
    /// assert!(q.try_receive().is_none()); // prefetch limit reached
    /// a.ack().unwrap();
    /// assert_eq!(*q.try_receive().unwrap(), "b");
    /// ```
    pub fn try_receive(&self) -> Option<Delivery<'_, T>> {
        // The clock is read only when something depends on it: a lease, or
        // a delayed requeue to release. Otherwise the delivery's time is
        // left `UNSTAMPED` (see `stats`).
        let timed = self.timed();
        let now = if timed { self.now() } else { UNSTAMPED };
        if timed {
            self.scan_step(now);
        }
        if let Some(d) = self.take_redelivery(now) {
            return Some(d);
        }
        if let Some(d) = self.take_fresh(now) {
            return Some(d);
        }
        if timed && self.scan_all(now) > 0 {
            return self.take_redelivery(now);
        }
        None
    }

    /// Waits for a delivery.
    ///
    /// # Errors
    ///
    /// [`Closed`] once the queue is closed and nothing is left to receive
    /// (no fresh message, none waiting for redelivery). Deliveries still
    /// in flight then are not waited for; if they are requeued later,
    /// [`drain`](AckQueue::drain) returns them.
    pub fn receive(&self) -> Result<Delivery<'_, T>, Closed> {
        match self.receive_until(None) {
            Some(result) => result,
            None => unreachable!("a wait without deadline ends only with a result"),
        }
    }

    /// Waits up to `timeout` (real time) for a delivery; `Ok(None)` if
    /// none came.
    ///
    /// # Errors
    ///
    /// As [`receive`](AckQueue::receive).
    pub fn receive_timeout(&self, timeout: Duration) -> Result<Option<Delivery<'_, T>>, Closed> {
        self.receive_until(wait::deadline_after(timeout))
            .transpose()
    }

    fn receive_until(&self, deadline: Option<Instant>) -> Option<Result<Delivery<'_, T>, Closed>> {
        self.wait_for(deadline, || {
            if let Some(d) = self.try_receive() {
                Some(Ok(d))
            } else if self.finished() {
                Some(Err(Closed))
            } else {
                None
            }
        })
    }

    /// Calls `handler` with each delivery until the queue is closed and
    /// nothing is left to receive. The handler settles each delivery (a
    /// delivery it drops is requeued). A panic in the handler propagates,
    /// after requeuing the delivery it held.
    pub fn consume<F>(&self, mut handler: F)
    where
        F: FnMut(Delivery<'_, T>),
    {
        while let Ok(d) = self.receive() {
            handler(d);
        }
    }

    /// Whether a scan may find something to do.
    #[inline]
    fn timed(&self) -> bool {
        // Relaxed: a hint; a delayed requeue missed here is found by a
        // later receive.
        self.lease.is_some() || self.delayed.load(Ordering::Relaxed) != 0
    }

    /// Whether the queue is closed with nothing left to receive.
    fn finished(&self) -> bool {
        // Relaxed: after `CLOSED` is set the tail is final (coherence on
        // this word); `head` never passes it, so equality means every
        // message published was taken by a receive (or a drain).
        let tail = self.tail.load(Ordering::Relaxed);
        tail & CLOSED != 0
            && self.head.load(Ordering::Relaxed) == tail & !CLOSED
            && self.redeliver.is_empty()
            // Relaxed: delayed requeues are in the table; a stale count only
            // makes us look again.
            && self.delayed.load(Ordering::Relaxed) == 0
    }

    /// Takes the next requeued message, if any.
    fn take_redelivery(&self, now: u64) -> Option<Delivery<'_, T>> {
        let index = self.redeliver.try_pop()?;
        let entry = self.table.get(index);
        // Acquire: pairs with the requeuer's AcqRel CAS into `Redeliver`.
        let mut state = State(entry.state.load(Ordering::Acquire));
        if state.holders() >= HOLDERS_MAX {
            // Too many expired deliveries still read the message: leave it
            // waiting, untouched, until one of them lets go. Only we could
            // add a holder, so the count can only fall from here.
            push_index(&self.redeliver, index);
            return None;
        }
        // We popped the index, so the entry is ours in `Redeliver` (only
        // `holders` may change). Relaxed writes: published by the CAS below.
        let count = entry.deliveries.load(Ordering::Relaxed).saturating_add(1);
        entry.deliveries.store(count, Ordering::Relaxed);
        entry.delivered_at.store(now, Ordering::Relaxed);
        let deadline = self.lease.map_or(u64::MAX, |l| now.saturating_add(l));
        entry.deadline.store(deadline, Ordering::Relaxed);
        let seq = self.seq_of(Self::pos_of(entry));
        let new = loop {
            debug_assert_eq!(state.phase(), Phase::Redeliver);
            debug_assert!(state.holders() < HOLDERS_MAX);
            let new = state
                .with_phase(Phase::InFlight)
                .with_holders(state.holders() + 1)
                .with_attempt(u64::from(count))
                .with_flags(false, false);
            // AcqRel: publishes the fields written above to whoever acquires
            // this state (settles, the scan); fails only if an old holder
            // left meanwhile.
            match entry.state.compare_exchange_weak(
                state.0,
                new.0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break new,
                Err(current) => state = State(current),
            }
        };
        stats::bump(&self.counters.redelivered);
        Some(self.delivery(index, new, seq, count))
    }

    /// Claims the next fresh message: the position at `head`, if its
    /// entry holds a published message and, if `limit`, the prefetch limit
    /// allows one more delivery. The entry is then ours, in `Free` with an
    /// initialized value.
    fn claim_fresh(&self, limit: bool) -> Option<u64> {
        let backoff = Backoff::new();
        // Relaxed: a hint of which entry to look at, as in `try_publish`.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // Acquire: pairs with the publisher's Release stamp store, so
            // the value written before it is visible to us.
            let stamp = self.entry_at(head).stamp.load(Ordering::Acquire);
            let diff = stamp.wrapping_sub(head + 1) as i64;
            if diff == 0 {
                if limit && !self.below_prefetch_limit(head) {
                    return None;
                }
                // Relaxed: winning the CAS makes `head` ours alone.
                match self.head.compare_exchange_weak(
                    head,
                    self.advance(head),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Some(head),
                    Err(current) => {
                        head = current;
                        backoff.spin();
                    }
                }
            } else if diff < 0 {
                // Not published yet for this lap: nothing fresh.
                return None;
            } else {
                // Another receiver took `head`: look again.
                backoff.spin();
                // Relaxed: as above.
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Whether a first delivery of the message at `head` stays within
    /// the prefetch limit, should the caller's CAS move `head` from there.
    ///
    /// Places held = first deliveries (`head`, less what `drain` took from
    /// there) less `released`; redeliveries keep the place of the first.
    /// `released` and `drained` only grow, so the count computed from
    /// earlier readings of them is an upper bound of the count when the
    /// CAS succeeds, and that CAS succeeds only if `head` is still the
    /// value counted: the limit holds exactly, with no token to take.
    #[inline]
    fn below_prefetch_limit(&self, head: u64) -> bool {
        if !self.limited {
            return true;
        }
        // Relaxed: monotonic counts, read for their value only (above);
        // the entries themselves are handed over by their stamps.
        let released =
            self.released.load(Ordering::Relaxed) + self.counters.drained.load(Ordering::Relaxed);
        self.seq_of(head).saturating_sub(released) < self.max_in_flight as u64
    }

    /// Takes a fresh message, if any and if the prefetch limit allows.
    fn take_fresh(&self, now: u64) -> Option<Delivery<'_, T>> {
        let pos = self.claim_fresh(true)?;
        let entry = self.entry_at(pos);
        // We claimed the position, so the entry is ours: `Free`, holding
        // the message, no holders. Relaxed writes: published by the
        // Release store of the state below.
        entry.deliveries.store(1, Ordering::Relaxed);
        entry.delivered_at.store(now, Ordering::Relaxed);
        let deadline = self.lease.map_or(u64::MAX, |l| now.saturating_add(l));
        entry.deadline.store(deadline, Ordering::Relaxed);
        let state = State::free(pos >> self.lap_shift)
            .with_phase(Phase::InFlight)
            .with_holders(1)
            .with_attempt(1);
        // Release: publishes the fields; pairs with the Acquire loads of the
        // state in settles, the scan and drain.
        entry.state.store(state.0, Ordering::Release);
        let index = (pos & (self.one_lap - 1)) as u32;
        Some(self.delivery(index, state, self.seq_of(pos), 1))
    }

    fn delivery(&self, index: u32, state: State, seq: u64, count: u32) -> Delivery<'_, T> {
        Delivery {
            queue: self,
            tag: Tag {
                queue: self.table.id(),
                index,
                gen: state.gen() as u32,
                attempt: count,
            },
            seq,
            count,
            holding: true,
        }
    }

    /// Gives back a delivered message's prefetch place.
    #[inline]
    fn release_place(&self) {
        // Relaxed: a count (see `below_prefetch_limit`).
        self.released.fetch_add(1, Ordering::Relaxed);
    }

    // ----- settle --------------------------------------------------------

    /// Whether a settle of `tag` may proceed on `state`, just read from
    /// `entry` with Acquire (module docs).
    fn classify(entry: &Entry<T>, state: State, tag: Tag) -> Result<(), Refusal> {
        if state.gen() != u64::from(tag.gen) {
            return Err(Refusal::Err(AckError::AlreadySettled));
        }
        match state.phase() {
            Phase::Free | Phase::Taking => return Err(Refusal::Err(AckError::AlreadySettled)),
            _ => {}
        }
        if state.attempt() != u64::from(tag.attempt) & ATTEMPT_MASK {
            return Err(Refusal::Err(AckError::Stale));
        }
        match state.phase() {
            // The state word holds the attempt modulo 2^16; the exact count
            // tells a tag kept across 2^16 redeliveries from the current
            // one. Relaxed: written before the CAS into `InFlight` that the
            // caller's Acquire load read; another count can only be seen
            // once the entry moved on, which the second load tells (the
            // caller then looks again).
            Phase::InFlight if entry.deliveries.load(Ordering::Relaxed) != tag.attempt => {
                // Acquire: as the caller's load.
                if entry.state.load(Ordering::Acquire) == state.0 {
                    Err(Refusal::Err(AckError::Stale))
                } else {
                    Err(Refusal::Busy)
                }
            }
            Phase::InFlight => Ok(()),
            Phase::Extending => Err(Refusal::Busy),
            Phase::Redeliver | Phase::Delayed | Phase::DeadPending | Phase::Dead
                if state.expired() =>
            {
                Err(Refusal::Err(AckError::Stale))
            }
            _ => Err(Refusal::Err(AckError::AlreadySettled)),
        }
    }

    /// Settles the delivery `tag` names. `guard`: the call consumes a
    /// `Delivery`, whose place in `holders` is given up either way.
    pub(crate) fn settle(&self, tag: Tag, how: Settle, guard: bool) -> Result<(), AckError> {
        let entry = self.entry_of(tag)?;
        let backoff = Backoff::new();
        // Acquire: pairs with the AcqRel CAS that made the current state.
        let mut state = State(entry.state.load(Ordering::Acquire));
        let (old, new) = loop {
            match Self::classify(entry, state, tag) {
                Ok(()) => {}
                Err(Refusal::Busy) => {
                    // An extension is between its two CASes, or the entry
                    // moved on: read it again.
                    backoff.snooze();
                    state = State(entry.state.load(Ordering::Acquire));
                    continue;
                }
                Err(Refusal::Err(e)) => {
                    if guard {
                        self.release_holder(tag.index);
                    }
                    return Err(e);
                }
            }
            let holders = state.holders() - u64::from(guard);
            // Relaxed: stable while this attempt is current, which our CAS
            // checks.
            let exhausted = entry.deliveries.load(Ordering::Relaxed) >= self.max_deliveries;
            let new = match how {
                Settle::Ack => state.with_phase(Phase::Settled),
                Settle::Reject => Self::dead_state(state, holders, false),
                Settle::Requeue(_) if exhausted => Self::dead_state(state, holders, true),
                Settle::Requeue(None) => state.with_phase(Phase::Redeliver),
                Settle::Requeue(Some(_)) => state.with_phase(Phase::Delaying),
            }
            .with_holders(holders);
            // AcqRel: the one CAS out of `InFlight` for this attempt;
            // acquires the receiver's writes of the entry, releases ours.
            match entry.state.compare_exchange_weak(
                state.0,
                new.0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break (state, new),
                Err(current) => state = State(current),
            }
        };
        match new.phase() {
            Phase::Settled => {
                self.release_place();
                if new.holders() == 0 {
                    self.free_entry(tag.index, new, true);
                }
                // For the prefetch place, the room and the watermark.
                self.waiter.notify();
                return Ok(());
            }
            Phase::Dead | Phase::DeadPending => {
                stats::bump(&self.counters.nacked);
                self.dead_lettered(tag.index, new);
            }
            Phase::Redeliver => {
                stats::bump(&self.counters.nacked);
                push_index(&self.redeliver, tag.index);
            }
            Phase::Delaying => {
                stats::bump(&self.counters.nacked);
                let delay = match how {
                    Settle::Requeue(Some(delay)) => clock::nanos(delay),
                    _ => 0,
                };
                // Relaxed: a count for `finished` and `timed` (hints).
                self.delayed.fetch_add(1, Ordering::Relaxed);
                // Relaxed: published by the CAS into `Delayed` below.
                entry
                    .deadline
                    .store(self.now().saturating_add(delay), Ordering::Relaxed);
                self.end_transient(entry, Phase::Delayed, false);
            }
            _ => unreachable!("settle moved {old:?} to {new:?}"),
        }
        self.waiter.notify();
        Ok(())
    }

    /// The state of an entry being dead-lettered with `holders` left.
    fn dead_state(state: State, holders: u64, exhausted: bool) -> State {
        let phase = if holders == 0 {
            Phase::Dead
        } else {
            Phase::DeadPending
        };
        state
            .with_phase(phase)
            .with_flags(state.expired(), exhausted)
    }

    /// Bookkeeping after a CAS into `Dead` or `DeadPending`.
    fn dead_lettered(&self, index: u32, new: State) {
        stats::bump(&self.counters.dead_lettered);
        self.release_place();
        if new.phase() == Phase::Dead {
            push_index(&self.dead, index);
        }
    }

    /// Moves an entry we own out of a transient phase into `to` (bumping
    /// the lease epoch if asked), keeping `holders`, which other threads
    /// may decrement meanwhile.
    fn end_transient(&self, entry: &Entry<T>, to: Phase, bump_epoch: bool) {
        // Relaxed load: we own the entry; the CAS below is the Release.
        let mut state = State(entry.state.load(Ordering::Relaxed));
        loop {
            let mut new = state.with_phase(to);
            if bump_epoch {
                new = new.next_epoch();
            }
            // Release: publishes the deadline we wrote; pairs with the
            // Acquire loads of the state in the scan.
            match entry.state.compare_exchange_weak(
                state.0,
                new.0,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(current) => state = State(current),
            }
        }
    }

    /// A guard lets go of its entry without settling it.
    pub(crate) fn release_holder(&self, index: u32) {
        let entry = self.table.get(index);
        // Acquire/AcqRel: our reads of the value happen-before whoever
        // brings holders to zero and drops it.
        let mut state = State(entry.state.load(Ordering::Acquire));
        let new = loop {
            debug_assert!(state.holders() > 0);
            let holders = state.holders() - 1;
            let mut new = state.with_holders(holders);
            if holders == 0 && state.phase() == Phase::DeadPending {
                new = new.with_phase(Phase::Dead);
            }
            match entry.state.compare_exchange_weak(
                state.0,
                new.0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break new,
                Err(current) => state = State(current),
            }
        };
        if new.holders() == 0 {
            match state.phase() {
                Phase::Settled => {
                    self.free_entry(index, new, true);
                    self.waiter.notify();
                }
                Phase::DeadPending => {
                    push_index(&self.dead, index);
                    self.waiter.notify();
                }
                _ => {}
            }
        }
    }

    /// Settles the message of an entry we own (no holders; its value still
    /// there if `drop`, else moved out) and frees the entry for the
    /// publish one lap later. The caller notifies.
    fn free_entry(&self, index: u32, state: State, drop: bool) {
        let entry = self.table.get(index);
        let pos = Self::pos_of(entry);
        if drop {
            // SAFETY: we own the entry (module docs: it is `Settled` with
            // no holders, reached by our CAS) and its value is initialized;
            // no guard refers to it, and it is dropped once, here.
            entry.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
        // Relaxed: ordered before the next lap's receiver (which stores the
        // state again) by the stamp store below; a stale settle that reads
        // it finds `Free` and stops.
        entry
            .state
            .store(State::free(state.gen() + 1).0, Ordering::Relaxed);
        // Release: orders the drop (or move) before the entry's reuse by
        // the next lap's publisher (its Acquire load of the stamp), and the
        // settle before the watermark's reading of it (`settled_below`).
        entry.stamp.store(pos + self.one_lap, Ordering::Release);
    }

    /// Acks the delivery `tag` names.
    ///
    /// # Errors
    ///
    /// [`AckError::ForeignTag`] for a tag of another queue;
    /// [`AckError::Stale`] if its lease expired (or the message was
    /// delivered again since); [`AckError::AlreadySettled`] if it was
    /// acked or nacked before.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().build().unwrap();
    /// q.try_publish(7).unwrap();
    /// let tag = q.try_receive().unwrap().detach();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| q.ack(tag).unwrap());
    /// });
    /// assert_eq!(q.stats().acked, 1);
    /// ```
    pub fn ack(&self, tag: Tag) -> Result<(), AckError> {
        self.settle(tag, Settle::Ack, false)
    }

    /// Nacks the delivery `tag` names: requeue it, or dead-letter it now.
    ///
    /// # Errors
    ///
    /// As [`ack`](AckQueue::ack).
    pub fn nack(&self, tag: Tag, requeue: bool) -> Result<(), AckError> {
        let how = if requeue {
            Settle::Requeue(None)
        } else {
            Settle::Reject
        };
        self.settle(tag, how, false)
    }

    /// Extends the lease of the delivery `tag` names so that it ends no
    /// sooner than `by` from now. Checks the tag, and does nothing else,
    /// on a queue without leases.
    ///
    /// # Errors
    ///
    /// As [`ack`](AckQueue::ack).
    pub fn extend_lease(&self, tag: Tag, by: Duration) -> Result<(), AckError> {
        let entry = self.entry_of(tag)?;
        let backoff = Backoff::new();
        // Acquire: as in `settle`.
        let mut state = State(entry.state.load(Ordering::Acquire));
        loop {
            match Self::classify(entry, state, tag) {
                Ok(()) => {}
                Err(Refusal::Busy) => {
                    backoff.snooze();
                    state = State(entry.state.load(Ordering::Acquire));
                    continue;
                }
                Err(Refusal::Err(e)) => return Err(e),
            }
            if self.lease.is_none() {
                return Ok(());
            }
            // Acquire: we take ownership of the deadline field.
            match entry.state.compare_exchange_weak(
                state.0,
                state.with_phase(Phase::Extending).0,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(current) => state = State(current),
            }
        }
        let want = self.now().saturating_add(clock::nanos(by));
        // Relaxed: we own the field while `Extending`; published by the
        // Release CAS in end_transient.
        if want > entry.deadline.load(Ordering::Relaxed) {
            entry.deadline.store(want, Ordering::Relaxed);
        }
        self.end_transient(entry, Phase::InFlight, true);
        Ok(())
    }

    // ----- leases --------------------------------------------------------

    /// Forces a pass over every entry: expired leases are requeued (or
    /// dead-lettered at `max_deliveries`) and due delayed requeues become
    /// ready. Returns how many messages it moved. `try_receive` does the
    /// same, a little at a time, on its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let q = AckQueue::builder()
    ///     .lease(Duration::from_secs(1))
    ///     .clock(clock.clone())
    ///     .build()
    ///     .unwrap();
    /// q.try_publish(()).unwrap();
    /// let tag = q.try_receive().unwrap().detach();
    /// assert_eq!(q.requeue_expired(), 0);
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(q.requeue_expired(), 1);
    /// assert_eq!(q.ack(tag), Err(ackring::AckError::Stale));
    /// ```
    pub fn requeue_expired(&self) -> usize {
        self.scan_all(self.now())
    }

    /// Checks the next `SCAN_STEP` entries, paced by the clock: while no
    /// delayed requeue is pending, at most one step per `scan_interval`,
    /// so that a pass over the whole table takes about a quarter of the
    /// lease and an expired lease is found within that while messages keep
    /// flowing (at once when receivers run dry: `try_receive` then scans
    /// everything). Receives in between only read `scan_due`, a line
    /// written once per interval. Delayed requeues, whose delays may be
    /// much shorter than the lease, turn the pacing off until they are
    /// released.
    fn scan_step(&self, now: u64) {
        // Relaxed: a hint, as in `timed`.
        if self.delayed.load(Ordering::Relaxed) == 0 {
            // Relaxed: the pacing carries no data; which receiver scans
            // does not matter.
            let due = self.scan_due.load(Ordering::Relaxed);
            if now < due
                || self
                    .scan_due
                    .compare_exchange(
                        due,
                        now.saturating_add(self.scan_interval),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_err()
            {
                return;
            }
        }
        let len = self.table.len();
        // Relaxed: only spreads the scan over the table.
        let start = self.scan_cursor.fetch_add(SCAN_STEP, Ordering::Relaxed);
        for k in 0..SCAN_STEP.min(len) {
            self.scan_entry((start.wrapping_add(k) % len) as u32, now);
        }
    }

    fn scan_all(&self, now: u64) -> usize {
        (0..self.table.len() as u32)
            .filter(|&i| self.scan_entry(i, now))
            .count()
    }

    /// Expires the entry's lease or releases its delay if due; returns
    /// whether it moved the message.
    fn scan_entry(&self, index: u32, now: u64) -> bool {
        let entry = self.table.get(index);
        // Acquire: pairs with the Release/AcqRel write of this state, so
        // the deadline we read next is at least as new as the state.
        let state = State(entry.state.load(Ordering::Acquire));
        match state.phase() {
            Phase::InFlight if self.lease.is_some() => {
                // Relaxed: ordered by the Acquire above; if an extension
                // wrote a later deadline since, it bumped the epoch and our
                // CAS fails.
                if entry.deadline.load(Ordering::Relaxed) > now {
                    return false;
                }
                let exhausted = entry.deliveries.load(Ordering::Relaxed) >= self.max_deliveries;
                let new = if exhausted {
                    Self::dead_state(state, state.holders(), true).with_flags(true, true)
                } else {
                    state.with_phase(Phase::Redeliver).with_flags(true, false)
                };
                // AcqRel: races the settles' CAS out of `InFlight`; exactly
                // one wins.
                if entry
                    .state
                    .compare_exchange(state.0, new.0, Ordering::AcqRel, Ordering::Relaxed)
                    .is_err()
                {
                    return false;
                }
                stats::bump(&self.counters.expired);
                if exhausted {
                    self.dead_lettered(index, new);
                } else {
                    push_index(&self.redeliver, index);
                }
                self.waiter.notify();
                true
            }
            Phase::Delayed => {
                // Relaxed: as above; the nacker wrote it before its Release
                // CAS into `Delayed`.
                if entry.deadline.load(Ordering::Relaxed) > now {
                    return false;
                }
                let new = state.with_phase(Phase::Redeliver);
                // AcqRel: only old holders race us, by decrementing.
                if entry
                    .state
                    .compare_exchange(state.0, new.0, Ordering::AcqRel, Ordering::Relaxed)
                    .is_err()
                {
                    return false;
                }
                // Relaxed: a count (see `delayed`).
                self.delayed.fetch_sub(1, Ordering::Relaxed);
                push_index(&self.redeliver, index);
                self.waiter.notify();
                true
            }
            _ => false,
        }
    }

    /// Whether the entry, seen holding the message of `pos` (stamp `pos +
    /// 1`), is `Settled` for that message: acked, waiting for its holders
    /// to let go. `Settled` is final for a message until its entry is
    /// freed, and a later message of the entry has another generation.
    fn acked_but_held(&self, entry: &Entry<T>, pos: u64) -> bool {
        // Acquire: pairs with the ack's AcqRel CAS into `Settled`, as the
        // stamp load does with a free.
        let state = State(entry.state.load(Ordering::Acquire));
        state.phase() == Phase::Settled && state.gen() == State::free(pos >> self.lap_shift).gen()
    }

    // ----- dead letters, confirmations, shutdown -------------------------

    /// Takes the oldest dead letter, if any, settling it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{AckQueue, DeadReason};
    ///
    /// let q = AckQueue::builder().max_deliveries(1).build().unwrap();
    /// q.try_publish("x").unwrap();
    /// q.try_receive().unwrap().nack(true).unwrap(); // 1 delivery: no more
    /// let dead = q.try_receive_dead_letter().unwrap();
    /// assert_eq!(dead.reason(), DeadReason::MaxDeliveries);
    /// assert_eq!(q.settled_below().get(), 1);
    /// ```
    pub fn try_receive_dead_letter(&self) -> Option<DeadLetter<T>> {
        let index = self.dead.try_pop()?;
        let entry = self.table.get(index);
        // Acquire: pairs with the CAS into `Dead`, so the value and fields
        // written before it are visible.
        let state = State(entry.state.load(Ordering::Acquire));
        debug_assert_eq!((state.phase(), state.holders()), (Phase::Dead, 0));
        // SAFETY: we popped the index from the dead ring, so the entry is
        // `Dead` with no holders and ours alone; its value is initialized
        // and is moved out once, here (the entry is freed right after).
        let value = entry.value.with(|p| unsafe { (*p).assume_init_read() });
        let seq = self.seq_of(Self::pos_of(entry));
        let count = entry.deliveries.load(Ordering::Relaxed);
        let reason = if state.exhausted() {
            DeadReason::MaxDeliveries
        } else {
            DeadReason::Rejected
        };
        self.free_entry(index, state, false);
        stats::bump(&self.counters.dead_taken);
        self.waiter.notify();
        Some(DeadLetter {
            value,
            seq,
            count,
            reason,
        })
    }

    /// Every message with a lower sequence number is settled: acked, taken
    /// from the dead letters, or handed back by [`drain`](AckQueue::drain).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().build().unwrap();
    /// let a = q.try_publish("a").unwrap();
    /// let b = q.try_publish("b").unwrap();
    /// let da = q.try_receive().unwrap();
    /// let db = q.try_receive().unwrap();
    /// db.ack().unwrap();
    /// assert_eq!(q.settled_below(), a); // a still in flight
    /// da.ack().unwrap();
    /// assert!(q.settled_below() > b);
    /// ```
    pub fn settled_below(&self) -> Seq {
        Seq(self.seq_of(self.watermark()))
    }

    /// The first ring position whose message is not settled: from the
    /// cached `below`, every entry whose stamp has moved a lap past its
    /// position held a settled message (stamps only grow, and only a
    /// settle moves a stamp past position + 1), and so did an entry still
    /// holding its message in `Settled` (acked while a delivery guard can
    /// still read it: it is freed when the last guard lets go). Stops at
    /// `tail` at the latest, whose entry is at most one past it.
    fn watermark(&self) -> u64 {
        // Acquire: pairs with the Release `fetch_max` below, so a reader of
        // a cached position also sees the settles behind it.
        let start = self.below.load(Ordering::Acquire);
        let mut pos = start;
        loop {
            let entry = self.entry_at(pos);
            // Acquire: pairs with the settler's Release stamp store, so what
            // it did before settling happens-before our return.
            let stamp = entry.stamp.load(Ordering::Acquire);
            let freed = stamp.wrapping_sub(pos + self.one_lap) as i64 >= 0;
            let settled = freed || (stamp == pos + 1 && self.acked_but_held(entry, pos));
            if !settled {
                break;
            }
            pos = self.advance(pos);
        }
        if pos != start {
            // Release: see the load above. Positions only grow.
            self.below.fetch_max(pos, Ordering::AcqRel);
        }
        pos
    }

    /// Waits up to `timeout` (real time) until `seq` is settled, along
    /// with every message before it; returns whether it was.
    pub fn wait_settled(&self, seq: Seq, timeout: Duration) -> bool {
        self.wait_for(wait::deadline_after(timeout), || {
            (self.settled_below() > seq).then_some(())
        })
        .is_some()
    }

    /// Closes the queue: publishes fail with [`PublishError::Closed`] from
    /// now on; receivers take what is left, then get [`Closed`]. Settling
    /// deliveries still works. Idempotent.
    pub fn close(&self) {
        // Relaxed: a publish is refused or counted according to whether
        // its CAS on `tail` comes after or before this RMW in the word's
        // modification order; no data travels with it.
        self.tail.fetch_or(CLOSED, Ordering::Relaxed);
        self.waiter.notify();
    }

    /// Whether [`close`](AckQueue::close) was called.
    pub fn is_closed(&self) -> bool {
        // Relaxed: as in `close`.
        self.tail.load(Ordering::Relaxed) & CLOSED != 0
    }

    /// Hands back every unsettled message it can take, settling them:
    /// fresh ones, requeued and delayed ones, detached deliveries, and dead
    /// letters, so an application can persist them at shutdown. Call it
    /// after [`close`](AckQueue::close); it then waits for publishes in
    /// progress. A message still referenced by a live [`Delivery`] is left
    /// to that delivery: its ack settles it, its nack or drop requeues it
    /// for a later `drain`.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().build().unwrap();
    /// for i in 0..3 {
    ///     q.try_publish(i).unwrap();
    /// }
    /// q.try_receive().unwrap().nack(true).unwrap();
    /// q.close();
    /// let mut left = q.drain();
    /// left.sort();
    /// assert_eq!(left, [0, 1, 2]);
    /// ```
    pub fn drain(&self) -> Vec<T> {
        let mut out = Vec::new();
        let backoff = Backoff::new();
        loop {
            while let Some(pos) = self.claim_fresh(false) {
                stats::bump(&self.counters.drained);
                let index = (pos & (self.one_lap - 1)) as u32;
                // Relaxed: the entry is ours (we claimed its position).
                let state = State(self.entry_at(pos).state.load(Ordering::Relaxed));
                out.push(self.take_out(index, state));
            }
            // Relaxed: as in `finished`.
            let tail = self.tail.load(Ordering::Relaxed);
            if tail & CLOSED == 0 || self.head.load(Ordering::Relaxed) == tail & !CLOSED {
                break;
            }
            // A publish took its position and has not written it yet.
            backoff.snooze();
        }
        let mut kept = Vec::new();
        while let Some(index) = self.redeliver.try_pop() {
            // Acquire: as in take_redelivery.
            let state = State(self.table.get(index).state.load(Ordering::Acquire));
            if state.holders() == 0 {
                out.push(self.take_out(index, state));
                stats::bump(&self.counters.drained_delivered);
                self.release_place();
            } else {
                kept.push(index);
            }
        }
        for index in kept {
            push_index(&self.redeliver, index);
        }
        while let Some(dead) = self.try_receive_dead_letter() {
            out.push(dead.into_inner());
        }
        for index in 0..self.table.len() as u32 {
            let entry = self.table.get(index);
            // Acquire: as in `settle`.
            let mut state = State(entry.state.load(Ordering::Acquire));
            loop {
                let takeable = matches!(state.phase(), Phase::InFlight | Phase::Delayed);
                let transient = matches!(state.phase(), Phase::Extending | Phase::Delaying);
                if state.holders() != 0 || !(takeable || transient) {
                    break;
                }
                if transient {
                    // Its owner is between two CASes.
                    backoff.snooze();
                    state = State(entry.state.load(Ordering::Acquire));
                    continue;
                }
                // AcqRel: races settles and the scan for this entry.
                match entry.state.compare_exchange(
                    state.0,
                    state.with_phase(Phase::Taking).0,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        if state.phase() == Phase::Delayed {
                            // Relaxed: a count (see `delayed`).
                            self.delayed.fetch_sub(1, Ordering::Relaxed);
                        }
                        out.push(self.take_out(index, state));
                        stats::bump(&self.counters.drained_delivered);
                        self.release_place();
                        break;
                    }
                    Err(current) => state = State(current),
                }
            }
        }
        self.waiter.notify();
        out
    }

    /// Moves the value out of an entry we own with no holders, settles its
    /// message and frees the entry.
    fn take_out(&self, index: u32, state: State) -> T {
        let entry = self.table.get(index);
        // SAFETY: the caller owns the entry (claimed its fresh position,
        // popped it from the redelivery ring, or moved it to `Taking` by
        // its CAS) and it has no holders, so
        // nobody else reads the initialized value; it is moved out once and
        // the entry is freed right after.
        let value = entry.value.with(|p| unsafe { (*p).assume_init_read() });
        self.free_entry(index, state, false);
        value
    }

    /// A snapshot of counts and totals (see [`Stats`]); scans the table
    /// for the oldest delivery.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        // Relaxed everywhere: statistics.
        let published = self.seq_of(self.tail.load(Ordering::Relaxed) & !CLOSED);
        let taken = self.seq_of(self.head.load(Ordering::Relaxed));
        let fresh = published.saturating_sub(taken) as usize;
        let waiting = self.redeliver.len() + self.delayed.load(Ordering::Relaxed);
        let now = self.now();
        let mut in_flight = 0;
        let oldest = (0..self.table.len() as u32)
            .filter_map(|i| {
                let entry = self.table.get(i);
                let state = State(entry.state.load(Ordering::Relaxed));
                if !matches!(state.phase(), Phase::InFlight | Phase::Extending) {
                    return None;
                }
                in_flight += 1;
                let at = entry.delivered_at.load(Ordering::Relaxed);
                if at == UNSTAMPED {
                    // Received without a clock reading: its age counts from
                    // now. Relaxed CAS: a statistic; if the entry was reused
                    // meanwhile, its new receiver stores `UNSTAMPED` (or a
                    // reading) after us or we stamp its delivery instead,
                    // both harmless to the queue.
                    let _ = entry.delivered_at.compare_exchange(
                        UNSTAMPED,
                        now,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                    return Some(0);
                }
                Some(now.saturating_sub(at))
            })
            .max()
            .map(Duration::from_nanos);
        let dead_lettered = stats::read(&c.dead_lettered);
        Stats {
            ready: fresh + waiting,
            in_flight,
            dead_letters: dead_lettered.saturating_sub(stats::read(&c.dead_taken)) as usize,
            published,
            delivered: taken.saturating_sub(stats::read(&c.drained)) + stats::read(&c.redelivered),
            redelivered: stats::read(&c.redelivered),
            acked: stats::read(&self.released)
                .saturating_sub(dead_lettered)
                .saturating_sub(stats::read(&c.drained_delivered)),
            nacked: stats::read(&c.nacked),
            expired: stats::read(&c.expired),
            dead_lettered,
            oldest_in_flight: oldest,
        }
    }

    // ----- waiting -------------------------------------------------------

    /// Retries `attempt` until it returns `Some` or `deadline` passes:
    /// spins with backoff first, then sleeps on the waiter, waking at least
    /// every `PARK_TICK` while leases or delays are pending (nobody
    /// notifies those), else every `IDLE_TICK`.
    fn wait_for<R>(
        &self,
        deadline: Option<Instant>,
        mut attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            if let Some(r) = attempt() {
                return Some(r);
            }
            backoff.snooze();
        }
        loop {
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return attempt();
            }
            let tick = if self.timed() { PARK_TICK } else { IDLE_TICK };
            let until = match (deadline, now.checked_add(tick)) {
                (Some(d), Some(t)) => Some(d.min(t)),
                (d, t) => d.or(t),
            };
            if let Some(r) = wait::wait_until(WaitStrategy::Park, &self.waiter, until, &mut attempt)
            {
                return Some(r);
            }
        }
    }
}

impl<T> Drop for AckQueue<T> {
    fn drop(&mut self) {
        for index in 0..self.table.len() as u32 {
            let entry = self.table.get(index);
            // Relaxed: `&mut self`, no other thread is left.
            let stamp = entry.stamp.load(Ordering::Relaxed);
            if stamp & (self.one_lap - 1) == u64::from(index) + 1 {
                // SAFETY: a stamp of position + 1 means the entry holds the
                // unsettled message published there (`Taking` is only ever
                // seen inside a `drain` call), and with `&mut self` no
                // delivery or other thread can refer to it.
                entry.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        }
    }
}

impl<T> fmt::Debug for AckQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckQueue")
            .field("capacity", &self.capacity)
            .field("max_in_flight", &self.max_in_flight)
            .field("closed", &self.is_closed())
            .field("settled_below", &self.settled_below())
            .finish_non_exhaustive()
    }
}
