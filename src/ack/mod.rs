//! `AckQueue<T>`: message-queue semantics (deliver, ack, nack, requeue,
//! lease redelivery, dead letters, settle confirmations) on top of
//! [`Ring`].
//!
//! # Parts
//!
//! - `fresh`: a `Ring` of published messages not yet delivered, each with
//!   its sequence number;
//! - the in-flight table ([`inflight`]): `max_in_flight +
//!   dead_letter_capacity` entries, each holding one message from its
//!   first delivery until it is settled, with one atomic state word;
//! - three `Ring<u32>`s of entry indices: `free`, `redeliver` (requeued,
//!   waiting for a receiver) and `dead` (dead letters). Each has the
//!   table's size as capacity and an index is in at most one ring at a
//!   time, so a push into them never fails for lack of room (it can only
//!   wait, through `Backoff`, for a concurrent pop of the same slot to
//!   finish its two instructions);
//! - `producers` (one cache line, written only by publishers and
//!   `close`): `next_seq`, the `CLOSED` bit over the count of sequence
//!   numbers taken, and `limit`, a cached bound below which a publisher
//!   may take a sequence number without looking further: the room in
//!   `fresh` (`popped + capacity`) and the settle window (`below +
//!   size`, cached apart in `window` so that a publisher waiting for room
//!   re-reads only `popped`), read when a publisher reaches the limit and
//!   valid forever after since both only grow. A publisher checks the limit
//!   before its CAS on `next_seq`, so a sequence number is never taken for
//!   a message that then fails, and its push always finds a slot;
//! - `consumers` (one cache line, written only by receivers):
//!   `fresh_taken`, counted after each pop from `fresh` (with `drained`,
//!   `drain`'s pops, this is `popped`), and `seen_published`, a cached
//!   `next_seq` that spares receivers the producers' line while they are
//!   behind;
//! - `in_flight`: the prefetch tokens, one per entry in `InFlight`,
//!   `Extending`, `Delaying`, `Delayed` or `Redeliver`; at most
//!   `max_in_flight`. Messages waiting for redelivery keep their token,
//!   so a requeue can never fail for want of one;
//! - the settle watermark ([`settle`]).
//!
//! # Entry state machine
//!
//! Every transition of an entry is one CAS (or a store by the entry's
//! sole owner) on its state word `generation | attempt | holders | epoch |
//! flags | phase`. `holders` counts the `Delivery` guards that may read
//! the message: a message whose lease expired may be read by the expired
//! holder and by the new one at once, so the value is dropped or moved out
//! only when the entry is settled (or dead) **and** `holders` is zero.
//!
//! ```text
//!             receive: pop free, pop fresh, fill,
//!             store {attempt 1, holders 1}
//!   Free ──────────────────────────────────────────────► InFlight ◄─────┐
//!    ▲                                                    │  │  ▲ │     │
//!    │            extend_lease: CAS → Extending,          │  │  └─┘     │
//!    │            write deadline, CAS → InFlight, epoch+1 │  │          │
//!    │                                                    │  │          │
//!    │   ack: CAS → Settled {holders - 1}                 │  │ nack(requeue) / drop /
//!    │  ┌─────────────────────────────────────────────────┘  │ lease expiry (scan):
//!    │  ▼                                                    │ CAS → Redeliver, push
//!   Settled ── last holder leaves (CAS holders → 0) ──► free │ redeliver ring
//!    │ (holders 0: drop value, store Free {gen + 1},         ▼
//!    │  push free ring)                                  Redeliver ── receive: pop,
//!    │                                                       ▲        CAS → InFlight
//!    │   nack_after: CAS → Delaying, write not-before,       │        {attempt + 1,
//!    │   CAS → Delayed;  scan when due: CAS → Redeliver ─────┘         holders + 1}
//!    │
//!    │   nack(false), or requeue/expiry at max_deliveries:
//!    │   CAS → Dead (holders 0, push dead ring)
//!    │      or DeadPending (holders > 0; the last holder CASes → Dead, pushes)
//!    │
//!    └── Dead ── try_receive_dead_letter / drain: pop, move value out,
//!                store Free {gen + 1}, push free ring
//! ```
//!
//! Who moves an entry:
//!
//! | from | to | by | how |
//! |---|---|---|---|
//! | `Free` | `InFlight` | the receiver that popped it from `free` | Release store |
//! | `InFlight` | `Settled` | ack (guard or tag) | CAS |
//! | `InFlight` | `Redeliver` | nack(true), a dropped guard, the lease scan | CAS, then push `redeliver` |
//! | `InFlight` | `Delaying` → `Delayed` | `nack_after` | CAS, deadline write, CAS |
//! | `Delayed` | `Redeliver` | the scan, once due | CAS, then push |
//! | `InFlight` | `Extending` → `InFlight` | `extend_lease` | CAS, deadline write, CAS |
//! | `InFlight` | `Dead` / `DeadPending` | nack(false), requeue or expiry at `max_deliveries` | CAS |
//! | `DeadPending` | `Dead` | the last holder to leave | CAS, then push `dead` |
//! | `Redeliver` | `InFlight` | the receiver that popped it from `redeliver` | CAS (holders may change meanwhile); at the `holders` limit it pushes the index back instead |
//! | `Settled` | `Free` | whoever brings holders to 0 | CAS, drop, Release store |
//! | `Dead` | `Free` | the taker that popped it from `dead` | Release store |
//! | `InFlight`/`Delayed` (no holders) | `Taking` → `Free` | `drain` | CAS, then store |
//!
//! Ownership: an entry popped from a ring (`free`, `redeliver`, `dead`)
//! belongs to the popper for the fields other than `holders`; an entry in
//! a transient phase (`Extending`, `Delaying`, `Taking`, `Settled` with
//! zero holders) belongs to the thread that moved it there. Other threads
//! may only decrement `holders` of an entry they do not own.
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
//! State-word CASes are `AcqRel`: each one publishes the owner's writes of
//! the entry's other fields (value, seq, deadline, deliveries) and
//! acquires the previous owner's. Those fields are then read and written
//! `Relaxed`. The rings hand entries over with their own Release/Acquire
//! pairs. The counters (`in_flight`, `delayed`, statistics) carry no data
//! and are `Relaxed`. `next_seq` is `Relaxed` too: `Closed` is decided by
//! the modification order of that one word (a publish's CAS against
//! `close`'s fetch_or), and `finished`/`drain` compare its final count
//! with `popped`, which never exceeds it. `fresh_taken` and `drained` are
//! bumped with Release after the pop's slot store and read with Acquire
//! by producers, so room they count is room the push sees. The watermark
//! is all `SeqCst` (see [`settle`]).
//!
//! # Who writes what, per message
//!
//! | line | publish | receive | ack |
//! |---|---|---|---|
//! | `producers` | CAS `next_seq` (`limit`, `window` only on reaching them) | — | — |
//! | `fresh` slot | push | pop | — |
//! | `consumers` | — (read on reaching `limit`) | `fresh_taken` (+ `seen_published` when caught up) | — |
//! | `in_flight`, `free`, entry, stats | — | token, pop `free`, state store | state CAS, token, push `free`, `acked` |
//! | watermark | — (read on reaching `limit`) | — | `below` store (in order) or stamp |
//!
//! A receive reads the clock only when a lease or a delayed requeue needs
//! it. Three full barriers remain per message, each the one that begins a
//! `Waiter::notify`: after the push (for sleeping receivers), after the
//! pop (for publishers waiting for room), and in the settle of the
//! watermark, where the same fence also serves the watermark's own
//! store-buffering pair (see [`settle`]).
//!
//! # Leases without a thread
//!
//! Each `try_receive` checks a couple of entries for an expired lease or a
//! due delayed requeue, and a full pass runs before it reports nothing to
//! receive; [`AckQueue::requeue_expired`] forces a full pass.

mod clock;
mod delivery;
mod inflight;
mod settle;

use core::fmt;
use core::marker::PhantomData;
use core::time::Duration;

use crossbeam_utils::CachePadded;

pub use self::clock::{Clock, ManualClock, MonotonicClock};
pub use self::delivery::{DeadLetter, DeadReason, Delivery, Seq, Tag};
use self::inflight::{Entry, Phase, State, Table, ATTEMPT_MASK, HOLDERS_MAX};
use self::settle::SettleWindow;
use crate::error::{AckError, Closed, ConfigError, Full, PublishError};
use crate::ring::Ring;
use crate::stats::{self, Counters, Stats};
use crate::sync::{AtomicU64, AtomicUsize, Backoff, Instant, Ordering};
use crate::wait::{self, WaitStrategy, Waiter};

/// `next_seq`'s closed bit; the low bits count sequence numbers taken.
const CLOSED: u64 = 1 << 63;
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

/// The producers' cache line. Nothing here is written by a receive or a
/// settle, so a steady stream of messages moves no line from the
/// consumers' side to the producers' but the `fresh` slots themselves.
struct Producers {
    /// `CLOSED` bit | the next sequence number to hand out, which is also
    /// the number of messages published.
    next_seq: AtomicU64,
    /// A sequence number below which publishing needs no further check:
    /// `min(popped + capacity, below + settle window)` for some earlier
    /// reading of `popped` (messages taken out of `fresh`) and of the
    /// watermark. Both only grow, so a limit once computed stays valid
    /// forever; producers recompute it only when they reach it.
    limit: AtomicU64,
    /// The settle window's part of `limit` (`below + size`) as last read,
    /// so that a publisher waiting for room in `fresh` re-reads only
    /// `popped`, not the watermark too.
    window: AtomicU64,
}

/// The receivers' cache line for taking fresh messages.
struct Consumers {
    /// First deliveries: messages a receive took out of `fresh`, counted
    /// after the pop. With `drained`, the producers' measure of room in
    /// `fresh` (see [`AckQueue::popped`]); a snapshot's `delivered` is this
    /// plus `redelivered`.
    fresh_taken: AtomicU64,
    /// A count of messages published, read from `next_seq` at some earlier
    /// time: while `popped` is below it, a receive goes for a fresh
    /// message without reading the producers' line.
    seen_published: AtomicU64,
}

/// A published message on its way to its first delivery.
struct Fresh<T> {
    seq: u64,
    msg: T,
}

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
    fresh: Ring<Fresh<T>>,
    free: Ring<u32>,
    redeliver: Ring<u32>,
    dead: Ring<u32>,
    pub(crate) table: Table<T>,
    /// Written by producers only (and `close`): see [`Producers`].
    producers: CachePadded<Producers>,
    /// Written by receivers only: see [`Consumers`].
    consumers: CachePadded<Consumers>,
    /// Prefetch tokens taken (see the module docs).
    in_flight: CachePadded<AtomicUsize>,
    /// Entries in `Delaying` or `Delayed`.
    delayed: AtomicUsize,
    /// Where the next amortized scan step starts.
    scan_cursor: AtomicUsize,
    settle: SettleWindow,
    /// Blocked callers of every kind sleep here; every operation that may
    /// unblock one notifies.
    waiter: Waiter,
    counters: Counters,
    capacity: usize,
    max_in_flight: usize,
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
/// deliveries, `dead_letter_capacity` equal to `max_in_flight`, the
/// [`MonotonicClock`].
pub struct AckQueueBuilder<T> {
    capacity: usize,
    max_in_flight: usize,
    lease: Option<Duration>,
    max_deliveries: Option<u32>,
    dead_letter_capacity: Option<usize>,
    settle_window: Option<usize>,
    clock: Option<Box<dyn Clock>>,
    _marker: PhantomData<fn() -> T>,
}

impl<T> AckQueueBuilder<T> {
    /// How many published messages may wait for their first delivery.
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

    /// Table entries reserved for dead letters beyond `max_in_flight`:
    /// while more dead letters than this wait to be taken, they use up
    /// delivery slots. 0 is allowed.
    pub fn dead_letter_capacity(mut self, n: usize) -> Self {
        self.dead_letter_capacity = Some(n);
        self
    }

    /// How far (in sequence numbers) a producer may run ahead of the
    /// oldest unsettled message; beyond it publishes report `Full`. Raised
    /// to at least `capacity` plus the table size, then to a power of two.
    /// Default: four times that, at least 1024.
    pub fn settle_window(mut self, n: usize) -> Self {
        self.settle_window = Some(n);
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
    /// `max_deliveries`, `lease` or `settle_window` when given zero;
    /// [`ConfigError::TooLarge`] when a size cannot be allocated (the
    /// table holds at most `u32::MAX` entries).
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
        if self.settle_window == Some(0) {
            return Err(zero("settle_window"));
        }
        if self.capacity as u64 >= CLOSED {
            return Err(too_large("capacity", self.capacity));
        }
        let dead_cap = self.dead_letter_capacity.unwrap_or(self.max_in_flight);
        let table_len = self
            .max_in_flight
            .checked_add(dead_cap)
            .filter(|&n| n <= u32::MAX as usize)
            .ok_or(too_large("max_in_flight", self.max_in_flight))?;
        let needed = self
            .capacity
            .checked_add(table_len)
            .ok_or(too_large("capacity", self.capacity))?;
        let window = match self.settle_window {
            Some(n) => n.max(needed),
            None => needed.saturating_mul(4).max(1024),
        }
        .checked_next_power_of_two()
        .filter(|&w| w <= (isize::MAX as usize) / 64)
        .ok_or(too_large(
            "settle_window",
            self.settle_window.unwrap_or(needed),
        ))?;
        let fresh =
            Ring::try_new(self.capacity).map_err(|_| too_large("capacity", self.capacity))?;
        let ring = |n, field| Ring::try_new(n).map_err(|_| too_large(field, n));
        let free: Ring<u32> = ring(table_len, "max_in_flight")?;
        let redeliver = ring(table_len, "max_in_flight")?;
        let dead = ring(table_len, "max_in_flight")?;
        for i in 0..table_len {
            if free.try_push(i as u32).is_err() {
                unreachable!("the free ring has room for every entry");
            }
        }
        Ok(AckQueue {
            fresh,
            free,
            redeliver,
            dead,
            table: Table::new(table_len),
            consumers: CachePadded::new(Consumers {
                fresh_taken: AtomicU64::new(0),
                seen_published: AtomicU64::new(0),
            }),
            producers: CachePadded::new(Producers {
                next_seq: AtomicU64::new(0),
                // `window >= capacity`, and nothing was popped or settled.
                limit: AtomicU64::new(self.capacity as u64),
                window: AtomicU64::new(window as u64),
            }),
            in_flight: CachePadded::new(AtomicUsize::new(0)),
            delayed: AtomicUsize::new(0),
            scan_cursor: AtomicUsize::new(0),
            settle: SettleWindow::new(window),
            waiter: Waiter::new(),
            counters: Counters::new(),
            capacity: self.capacity,
            max_in_flight: self.max_in_flight,
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
            .field("dead_letter_capacity", &self.dead_letter_capacity)
            .field("settle_window", &self.settle_window)
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
            dead_letter_capacity: None,
            settle_window: None,
            clock: None,
            _marker: PhantomData,
        }
    }

    /// How many published messages may wait for their first delivery.
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

    // ----- publish -------------------------------------------------------

    /// Publishes `msg` if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// [`PublishError::Full`] when `capacity` messages wait for delivery
    /// (or the producer is a settle window ahead of the oldest unsettled
    /// message); [`PublishError::Closed`] after [`close`](AckQueue::close).
    /// Either way the message comes back inside the error.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().capacity(1).build().unwrap();
    /// assert_eq!(q.try_publish(1).unwrap().get(), 0);
    /// assert_eq!(q.try_publish(2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn try_publish(&self, msg: T) -> Result<Seq, PublishError<T>> {
        let producers = &*self.producers;
        // Relaxed: no data travels through `next_seq`; `Closed` is decided
        // by the order of the RMWs on this one word (our CAS below against
        // `close`'s fetch_or), which coherence gives in any ordering.
        let mut seq = producers.next_seq.load(Ordering::Relaxed);
        loop {
            if seq & CLOSED != 0 {
                return Err(PublishError::Closed(msg));
            }
            // Relaxed: any value ever stored is a valid limit (`Producers`).
            if seq >= producers.limit.load(Ordering::Relaxed) && !self.refresh_limit(seq) {
                return Err(PublishError::Full(msg));
            }
            // Relaxed: as the load above; winning the CAS makes `seq` ours.
            match producers.next_seq.compare_exchange_weak(
                seq,
                seq + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(current) => seq = current,
            }
        }
        // `seq < popped + capacity`: fewer than `capacity` messages were
        // taken and not yet popped, so the ring has a slot for us; a `Full`
        // here only means a pop of our slot is between its two steps (or
        // done, with its seq store not yet visible to us).
        let backoff = Backoff::new();
        let mut result = self.fresh.try_push(Fresh { seq, msg });
        while let Err(Full(item)) = result {
            backoff.snooze();
            result = self.fresh.try_push(item);
        }
        self.waiter.notify();
        Ok(Seq(seq))
    }

    /// Recomputes the producers' limit (`Producers`) and says whether
    /// `seq` is below it.
    #[cold]
    fn refresh_limit(&self, seq: u64) -> bool {
        let room = self.popped().saturating_add(self.capacity as u64);
        // Relaxed: a cache, as `limit`.
        let mut window = self.producers.window.load(Ordering::Relaxed);
        if seq >= window {
            // Reads the watermark with SeqCst (settle.rs).
            window = self.settle.limit();
            // Relaxed: as `limit` below.
            self.producers.window.store(window, Ordering::Relaxed);
        }
        let limit = room.min(window);
        // Relaxed: a cache; a racing producer may store an older limit
        // over ours, which is still valid, only smaller.
        self.producers.limit.store(limit, Ordering::Relaxed);
        seq < limit
    }

    /// Messages taken out of `fresh` so far, by receives and drains: a
    /// lower bound of the count at the moment of the call (two monotonic
    /// counters read one after the other).
    fn popped(&self) -> u64 {
        // Acquire: pairs with the Release increments made after each pop
        // from `fresh`, so the slot that pop freed is seen free by a
        // producer that counts on it.
        self.consumers.fresh_taken.load(Ordering::Acquire)
            + self.counters.drained.load(Ordering::Acquire)
    }

    /// Publishes `msg`, waiting for room (spinning briefly, then sleeping).
    ///
    /// # Errors
    ///
    /// [`PublishError::Closed`], with the message, if the queue is or
    /// gets closed before there is room.
    pub fn publish(&self, msg: T) -> Result<Seq, PublishError<T>> {
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
        // Relaxed: after `CLOSED` is set the count is final (coherence on
        // this word); `popped` never exceeds it, so equality means every
        // message published was taken out of `fresh`.
        let next = self.producers.next_seq.load(Ordering::Relaxed);
        next & CLOSED != 0
            && self.popped() == next & !CLOSED
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
        let seq = entry.seq.load(Ordering::Relaxed);
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

    /// Whether `fresh` may hold a message: a hint that spares the token
    /// and free-entry dance (and keeps the free ring's order) when nothing
    /// was published. Never false for a message whose publish
    /// happened-before the call.
    #[inline]
    fn may_have_fresh(&self) -> bool {
        let popped = self.popped();
        // Relaxed: a hint, as below; any value stored is at most the count
        // published when it was stored.
        if popped < self.consumers.seen_published.load(Ordering::Relaxed) {
            return true;
        }
        // Relaxed: a publish that happened-before us is counted here by
        // coherence; one in progress may be missed, as if it came later.
        let published = self.producers.next_seq.load(Ordering::Relaxed) & !CLOSED;
        // Relaxed: a cache of the count, read as a hint only.
        self.consumers
            .seen_published
            .store(published, Ordering::Relaxed);
        popped < published
    }

    /// Takes a fresh message, if any, into a free entry.
    fn take_fresh(&self, now: u64) -> Option<Delivery<'_, T>> {
        if !self.may_have_fresh() {
            return None;
        }
        // Relaxed: the token count carries no data (the entry itself is
        // handed over by the free ring).
        let mut taken = self.in_flight.load(Ordering::Relaxed);
        loop {
            if taken >= self.max_in_flight {
                return None;
            }
            match self.in_flight.compare_exchange_weak(
                taken,
                taken + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(current) => taken = current,
            }
        }
        let Some(index) = self.free.try_pop() else {
            self.release_token();
            return None;
        };
        let Some(Fresh { seq, msg }) = self.fresh.try_pop() else {
            push_index(&self.free, index);
            self.release_token();
            return None;
        };
        // Release: counts our pop (the room it returns, and a message no
        // longer in `fresh`) after the pop's seq store; pairs with the
        // Acquire load in `popped`.
        self.consumers.fresh_taken.fetch_add(1, Ordering::Release);
        let entry = self.table.get(index);
        // SAFETY: we popped `index` from the free ring, so the entry is
        // `Free`, has no holders and belongs to us alone; its value is
        // uninitialized (it was dropped or moved out before it was freed).
        entry.value.with_mut(|p| unsafe { (*p).write(msg) });
        // Relaxed: published by the Release store of the state below.
        entry.seq.store(seq, Ordering::Relaxed);
        entry.deliveries.store(1, Ordering::Relaxed);
        entry.delivered_at.store(now, Ordering::Relaxed);
        let deadline = self.lease.map_or(u64::MAX, |l| now.saturating_add(l));
        entry.deadline.store(deadline, Ordering::Relaxed);
        // Relaxed: the entry is ours; the generation was set when it was
        // freed, which the free ring's pop ordered before us.
        let gen = State(entry.state.load(Ordering::Relaxed)).gen();
        let state = State::free(gen)
            .with_phase(Phase::InFlight)
            .with_holders(1)
            .with_attempt(1);
        // Release: publishes the value and fields; pairs with the Acquire
        // loads of the state in settles, the scan and drain.
        entry.state.store(state.0, Ordering::Release);
        // Publishers may be waiting for the room we returned.
        self.waiter.notify();
        Some(self.delivery(index, state, seq, 1))
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

    #[inline]
    fn release_token(&self) {
        // Relaxed: see take_fresh.
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
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
        let (old, new, seq) = loop {
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
            // Relaxed: published with the state we acquired, and stable
            // while this generation is current, which our CAS checks. Read
            // before the CAS: once it succeeds, another holder may free the
            // entry and a receiver refill it with another message.
            let seq = entry.seq.load(Ordering::Relaxed);
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
                Ok(_) => break (state, new, seq),
                Err(current) => state = State(current),
            }
        };
        match new.phase() {
            Phase::Settled => {
                stats::bump(&self.counters.acked);
                self.release_token();
                if new.holders() == 0 {
                    self.free_entry(tag.index, new, true);
                }
                // Last, as it also notifies for the token and the entry.
                self.settle.settle(seq, &self.waiter);
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
        self.release_token();
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
                Phase::Settled => self.free_entry(index, new, true),
                Phase::DeadPending => {
                    push_index(&self.dead, index);
                    self.waiter.notify();
                }
                _ => {}
            }
        }
    }

    /// Frees an entry we own (no holders, value still there if `drop`).
    fn free_entry(&self, index: u32, state: State, drop: bool) {
        let entry = self.table.get(index);
        if drop {
            // SAFETY: we own the entry (module docs: it is `Settled` with
            // no holders, reached by our CAS) and its value is initialized;
            // no guard refers to it, and it is dropped once, here.
            entry.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
        // Release: orders the drop (or move) before the entry's reuse; the
        // free ring's push/pop carries it to the next receiver.
        entry
            .state
            .store(State::free(state.gen() + 1).0, Ordering::Release);
        push_index(&self.free, index);
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

    fn scan_step(&self, now: u64) {
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
        let seq = entry.seq.load(Ordering::Relaxed);
        let count = entry.deliveries.load(Ordering::Relaxed);
        let reason = if state.exhausted() {
            DeadReason::MaxDeliveries
        } else {
            DeadReason::Rejected
        };
        self.free_entry(index, state, false);
        stats::bump(&self.counters.dead_taken);
        // Notifies for the freed entry too.
        self.settle.settle(seq, &self.waiter);
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
        Seq(self.settle.below())
    }

    /// Waits up to `timeout` (real time) until `seq` is settled, along
    /// with every message before it; returns whether it was.
    pub fn wait_settled(&self, seq: Seq, timeout: Duration) -> bool {
        self.wait_for(wait::deadline_after(timeout), || {
            (self.settle.below() > seq.0).then_some(())
        })
        .is_some()
    }

    /// Closes the queue: publishes fail with [`PublishError::Closed`] from
    /// now on; receivers take what is left, then get [`Closed`]. Settling
    /// deliveries still works. Idempotent.
    pub fn close(&self) {
        // Relaxed: a publish is refused or counted according to whether
        // its CAS on `next_seq` comes after or before this RMW in the
        // word's modification order; no data travels with it.
        self.producers.next_seq.fetch_or(CLOSED, Ordering::Relaxed);
        self.waiter.notify();
    }

    /// Whether [`close`](AckQueue::close) was called.
    pub fn is_closed(&self) -> bool {
        // Relaxed: as in `close`.
        self.producers.next_seq.load(Ordering::Relaxed) & CLOSED != 0
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
            while let Some(Fresh { seq, msg }) = self.fresh.try_pop() {
                // Release: as in take_fresh.
                self.counters.drained.fetch_add(1, Ordering::Release);
                self.settle.settle(seq, &self.waiter);
                out.push(msg);
            }
            // Relaxed: as in `finished`.
            let next = self.producers.next_seq.load(Ordering::Relaxed);
            if next & CLOSED == 0 || self.popped() == next & !CLOSED {
                break;
            }
            // A publish took its sequence number and has not pushed yet,
            // or a receiver popped and has not counted it yet.
            backoff.snooze();
        }
        let mut kept = Vec::new();
        while let Some(index) = self.redeliver.try_pop() {
            // Acquire: as in take_redelivery.
            let state = State(self.table.get(index).state.load(Ordering::Acquire));
            if state.holders() == 0 {
                out.push(self.take_out(index, state));
                self.release_token();
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
                        self.release_token();
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
        // SAFETY: the caller owns the entry (popped from the redelivery
        // ring, or moved to `Taking` by its CAS) and it has no holders, so
        // nobody else reads the initialized value; it is moved out once and
        // the entry is freed right after.
        let value = entry.value.with(|p| unsafe { (*p).assume_init_read() });
        let seq = entry.seq.load(Ordering::Relaxed);
        self.free_entry(index, state, false);
        self.settle.settle(seq, &self.waiter);
        value
    }

    /// A snapshot of counts and totals (see [`Stats`]); scans the table
    /// for the oldest delivery.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        // Relaxed everywhere: statistics.
        let published = self.producers.next_seq.load(Ordering::Relaxed) & !CLOSED;
        let fresh = published.saturating_sub(self.popped()) as usize;
        let waiting = self.redeliver.len() + self.delayed.load(Ordering::Relaxed);
        let tokens = self.in_flight.load(Ordering::Relaxed);
        let now = self.now();
        let oldest = (0..self.table.len() as u32)
            .filter_map(|i| {
                let entry = self.table.get(i);
                let state = State(entry.state.load(Ordering::Relaxed));
                if !matches!(state.phase(), Phase::InFlight | Phase::Extending) {
                    return None;
                }
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
            in_flight: tokens.saturating_sub(waiting),
            dead_letters: dead_lettered.saturating_sub(stats::read(&c.dead_taken)) as usize,
            published,
            delivered: self.consumers.fresh_taken.load(Ordering::Relaxed)
                + stats::read(&c.redelivered),
            redelivered: stats::read(&c.redelivered),
            acked: stats::read(&c.acked),
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
            let state = State(entry.state.load(Ordering::Relaxed));
            if !matches!(state.phase(), Phase::Free | Phase::Taking) {
                // SAFETY: every phase but `Free` and `Taking` holds an
                // initialized value, and with `&mut self` no delivery or
                // other thread can refer to it.
                entry.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        }
        // `fresh` drops the messages never delivered.
    }
}

impl<T> fmt::Debug for AckQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckQueue")
            .field("capacity", &self.capacity)
            .field("max_in_flight", &self.max_in_flight)
            .field("closed", &self.is_closed())
            .field("settled_below", &self.settle.below())
            .finish_non_exhaustive()
    }
}
