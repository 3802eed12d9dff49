//! `AckQueue<T>`: message-queue semantics (deliver, ack, nack, requeue,
//! lease redelivery, dead letters, settle confirmations) in which a message
//! held for a long time holds back nothing but itself.
//!
//! # Parts, and the bound each one keeps
//!
//! - The fresh ring ([`fresh`]): `capacity` slots of messages waiting for
//!   their first delivery, in publish order.
//!   - Each slot holds its message and the clock reading at which the
//!     message expires ([`ttl`]). A receive that finds it expired
//!     dead-letters or drops it.
//!   - Its cursors are `tail` (publishes, and the `CLOSED` bit) and `head`
//!     (first deliveries). A message's sequence number is the count of its
//!     position.
//!   - A receive moves the message out of its slot into the table and
//!     frees the slot. So `capacity` bounds waiting messages only, and a
//!     publish waits only for those.
//!   - A batch receive ([`batch`]) claims a run of positions with one CAS
//!     on `head` and does the same for each.
//! - The table ([`entry`]): entries that each hold one delivered message
//!   until it is settled, with its state word (the diagram below).
//!   - One *home entry* per fresh slot. A receive from that slot claims it
//!     without a CAS when it is free. The receives of one slot come one
//!     after another, through the slot's `seq`, so a free home entry is
//!     the receiver's alone.
//!   - `max_in_flight + dead_letter_capacity + delay_capacity` *spare
//!     entries*, claimed by CAS. A message takes one when its home entry
//!     still holds an earlier message (held, requeued, delayed or dead).
//! - Prefetch places ([`prefetch`]): at most `max_in_flight` delivered
//!   messages are unsettled at once. Unsettled means in flight, waiting
//!   for redelivery, delayed, or held by an expired delivery that still
//!   reads it.
//!   - Places held = first deliveries less the places given back. First
//!     deliveries are the count of `head`, less what `drain` took from the
//!     fresh ring. The places given back are counted in `acked` and
//!     `given_back`.
//!   - A receive checks its message's count before its CAS on `head`,
//!     against a cached bound (`admit_below`). The bound is refreshed from
//!     the given-back counts only when a receive's count reaches it. For a
//!     run, the count checked is that of its last message
//!     (`places_for_run`).
//!   - A batch ack gives back the places of all the entries it freed with
//!     one RMW on `acked`.
//! - Dead-letter places: at most `dead_letter_capacity` untaken dead
//!   letters hold a dead-letter place instead of a prefetch place. A dead
//!   letter that finds them all taken keeps its prefetch place (the
//!   `overflow` flag) until it is taken itself. Nothing is lost; once
//!   `max_in_flight` such letters are untaken, receives wait for a take.
//! - Delay places ([`schedule`]): at most `delay_capacity` delayed
//!   publishes wait for their due time. Each waits in a spare entry,
//!   `Delayed` with delivery count 0, and holds neither a fresh slot nor a
//!   prefetch place. The scan publishes a due one into the fresh ring
//!   (earliest due first) and gives its place back; from there it is an
//!   ordinary message.
//! - Two rings of entry indices ([`indices`]): `redeliver` (requeued,
//!   waiting for a receiver) and `dead` (dead letters, in the order they
//!   died). Each has the table's length as capacity, and an index is in at
//!   most one of them at a time. So a push never fails for room. It can
//!   only wait, through `Backoff`, for a concurrent pop of the same slot to
//!   finish.
//!
//! Busy entries never outnumber the spares:
//!
//! - entries with a prefetch place are at most `max_in_flight`;
//! - entries with a dead-letter place are at most `dead_letter_capacity`;
//! - entries with a delay place are at most `delay_capacity`;
//! - an entry is made `Free` before its place is given back.
//!
//! So a receive that got a place and found its home entry busy always
//! finds a free spare, or one being freed. A message held for a long time
//! costs the messages of its slot a spare each, never a wait.
//!
//! # Entry state machine
//!
//! Every entry has a state word `generation | attempt | holders | extensions |
//! flags | phase` ([`State`]). Every transition is one CAS, or a store by
//! the entry's sole owner. A sole owner is either
//!
//! - the receive that claims a free home entry, or
//! - the ack of a guard that is its entry's *sole mover*: the entry has no
//!   lease (so no scan expires it), the guard is its only holder, and its
//!   tag was not handed out (so no settle by tag races it).
//!
//! `holders` counts the `Delivery` guards that may read the message. A
//! message whose lease expired may be read by the expired holder and by
//! the new one at once. So the value is dropped or moved out only when the
//! entry is settled (or dead) **and** `holders` is zero. The generation
//! counts the messages the entry held before, so a tag of an earlier
//! message of the entry never matches.
//!
//! ```text
//!          receive: claim head; its slot's home entry if Free, else a
//!          spare (CAS Free → Receiving); write the message, store
//!          {InFlight, attempt 1, holders 1}, free the fresh slot
//!   Free ─────────────────────────────────────────────────► InFlight ◄───┐
//!    ▲ ▲                                                     │ │ │  ▲ │  │
//!    │ └── ack by the entry's sole mover: move the value ────┘ │ │  └─┘  │
//!    │     out, store Free, give the place back                │ │ extend_lease:
//!    │                                                         │ │ CAS → Extending, write
//!    │   ack: CAS → Settled {holders - 1}                      │ │ deadline, CAS → InFlight,
//!    │  ┌──────────────────────────────────────────────────────┘ │ extensions + 1
//!    │  ▼                                                        │
//!   Settled ── last holder lets go (CAS holders → 0) ─► free     │ nack(requeue) / drop /
//!    │ (holders 0: move the value out, store Free, give the      │ lease expiry (scan):
//!    │  place back, drop the value)                              │ CAS → Redeliver, push
//!    │                                                           ▼ redeliver ring
//!    │                                                      Redeliver ── receive: pop,
//!    │                                                           ▲       CAS → InFlight
//!    │   nack_after, or a requeue the Redelivery policy delays:  │       {attempt + 1,
//!    │   CAS → Delaying, write not-before,                       │        holders + 1}
//!    │   CAS → Delayed;  scan when due: CAS → Redeliver ─────────┘
//!    │
//!    │   nack(false), or requeue/expiry at max_deliveries:
//!    │   CAS → Dead (holders 0: take a dead-letter place or set overflow, push dead ring)
//!    │      or DeadPending (holders > 0; the last holder CASes → Dead, and so on)
//!    │
//!    └── Dead ── try_receive_dead_letter / drain: pop, move value out,
//!                store Free, give the place back
//! ```
//!
//! Who moves an entry:
//!
//! | from | to | by | how |
//! |---|---|---|---|
//! | `Free` (home) | `InFlight` | the receiver that claimed a position of its slot on `head` | Acquire load, writes, Release store |
//! | `Free` (spare) | `Receiving` → `InFlight` | the receiver that claimed the message on `head` | CAS, writes, Release store |
//! | `InFlight` | `Free` | the ack of a guard that is the entry's sole mover | move out, Release store |
//! | `InFlight` | `Settled` | ack (guard or tag) | CAS |
//! | `InFlight` | `Redeliver` | nack(true), a dropped guard, the lease scan | CAS, then push `redeliver` |
//! | `InFlight` | `Delaying` → `Delayed` | `nack_after`; nack(true), a dropped guard, the lease scan when the [`Redelivery`] policy names a delay | CAS, deadline write, CAS |
//! | `Delayed` | `Redeliver` | the scan, once due | CAS, then push |
//! | `InFlight` | `Extending` → `InFlight` | `extend_lease` | CAS, deadline write, CAS |
//! | `InFlight` | `Dead` / `DeadPending` | nack(false), requeue or expiry at `max_deliveries` | CAS |
//! | `DeadPending` | `Dead` | the last holder to let go | CAS, then push `dead` |
//! | `Redeliver` | `InFlight` | the receiver that popped it from `redeliver` | CAS (holders may change meanwhile); at the `holders` limit it pushes the index back instead |
//! | `Settled` | `Free` | whoever brings holders to 0 | CAS, move out, Release store, drop |
//! | `Dead` | `Free` | the taker that popped it from `dead` | move out, Release store |
//! | `InFlight`/`Delayed` (no holders) | `Taking` → `Free` | `drain` | CAS, move out, Release store |
//! | `Free` (home) / `Receiving` (spare) | `Dead` (count 0) | the receiver that claimed an expired message (`ttl`) | writes, Release store, push `dead` |
//! | `Free` (spare) | `Receiving` → `Delayed` (count 0) | a delayed publish | CAS, writes, Release store |
//! | `Delayed` (count 0) | `Taking` → `Free` (or back to `Delayed`) | the scan, once due: publishes it into the fresh ring | CAS, move out, push, Release store |
//!
//! Ownership:
//!
//! - An entry that a thread claimed (a free home entry, or a spare moved to
//!   `Receiving`), or popped from a ring (`redeliver`, `dead`), belongs to
//!   it for the fields other than `holders`.
//! - An entry in a transient phase (`Extending`, `Delaying`, `Taking`,
//!   `Settled` with zero holders) belongs to the thread that moved it
//!   there.
//! - On a queue without a lease, an `InFlight` entry whose only holder is a
//!   guard that never handed out its tag belongs to that guard.
//!
//! Other threads may only decrement `holders` of an entry they do not own,
//! or set its `tag out` flag (`Delivery::tag`, called on one of its
//! holders).
//!
//! # Tags and errors
//!
//! A tag is `(queue, index, generation, attempt)`, the attempt being the
//! exact delivery count. A settle by tag (or by guard) checks, in order:
//!
//! 1. the queue (`ForeignTag`);
//! 2. the generation, and a `Free`, `Receiving` or `Taking` phase
//!    (`AlreadySettled`);
//! 3. the attempt's 16 bits against the state word (`Stale`);
//! 4. the phase:
//!    - `InFlight` proceeds if the entry's delivery count equals the
//!      attempt, else `Stale` (a tag kept across 2^15 redeliveries or
//!      more);
//!    - `Extending` waits for the extension to finish;
//!    - `Settled` and `Delaying` are `AlreadySettled`;
//!    - `Redeliver`, `Delayed`, `DeadPending` and `Dead` are `Stale` if the
//!      attempt ended by lease expiry, else `AlreadySettled`.
//!
//! Only one CAS out of `InFlight` can succeed per attempt, so a delivery is
//! settled at most once whatever the interleaving.
//!
//! # Confirmations
//!
//! The fresh ring's *freed frontier* is the first position whose slot was
//! not freed since its publish. Every message below it is in the table or
//! settled, because a receive frees the slot only after the message's
//! entry is `InFlight`. So:
//!
//! - the **watermark** (every sequence number below it is settled) is the
//!   least of the frontier's count and the sequence numbers of the table's
//!   unsettled entries ([`confirm`]);
//! - **`is_settled(seq)`** asks the message's slot, then the table from the
//!   message's home entry on.
//!
//! Both read the slot's stamp with Acquire before the table, which the
//! receive wrote in the other order with Release.
//!
//! # Memory orderings
//!
//! - Fresh slots: the claim core's module docs give the slot protocol. The
//!   publisher's Release stamp store after writing the value pairs with the
//!   receiver's Acquire load before its CAS on `head` (and `drain`'s). The
//!   receiver's Release store that frees the slot, after moving the message
//!   into the table, pairs with the next lap's publisher's Acquire load,
//!   and with the confirmations' Acquire loads. The cursors' CASes are
//!   Relaxed: they only decide who owns a position.
//! - State words:
//!   - An entry is made `Free` by a Release store after its value was moved
//!     out. It is claimed by an Acquire load (a home entry, which only its
//!     receiver claims) or an Acquire CAS (a spare) before the next value
//!     is written. The claimer's Release store of `InFlight` publishes the
//!     entry's fields.
//!   - A sole mover's ack loads the state `Relaxed`: nobody else has moved
//!     the entry since its own receive, which happens-before it.
//!   - A settle's CAS out of `InFlight` and a holder's CAS that lets go are
//!     `AcqRel`. They release the holder's reads of the value and acquire
//!     the others' for whoever drops it.
//!   - A CAS that ends a transient phase, or that redelivers, is Release
//!     over the fields its owner wrote (deadline, delivered-at, delivery
//!     count). The scan and the confirmations acquire them. An extension's
//!     CAS acquires the last extension's deadline.
//!   - The loads before a settle's CAS are `Relaxed`. A tag reaches its
//!     settler only through something that synchronizes with the receive
//!     that made it, so the fields of its attempt are visible already.
//!   - The scan's CASes are `Relaxed`: they succeed only on the state its
//!     Acquire load read.
//!   - The index rings hand entries over with their own Release/Acquire
//!     pairs.
//!   - The fields themselves are read and written `Relaxed`, ordered by
//!     those state words.
//! - Counters (`acked`, `given_back`, `dead_held`, `delayed`, statistics)
//!   carry no data and are `Relaxed`. The exception is the SeqCst RMW on
//!   `acked`, the key of an ack's wake-up (below).
//!   - The prefetch bound needs only that the given-back counts never
//!     decrease (`below_prefetch_limit`).
//!   - The free-spare bound needs only that an entry is made `Free` before
//!     its place is given back. A receive that finds none free yet looks
//!     again.
//!   - The `tag out` flag is set by a Relaxed RMW. It carries no data, and
//!     the guard that reads it set it itself, or got it back through
//!     whatever ended the borrow that set it.
//! - Wake-ups: every operation that may unblock a waiter ends with a
//!   notification, of one of two kinds:
//!   - `WaitList::notify`, whose SeqCst fence is the notifier's half of the
//!     parking protocol in the `wait` module;
//!   - `WaitList::notify_keyed`, for a publish, a first delivery and an ack
//!     (once per batch for a batch receive's run and a batch ack). Its half
//!     is the SeqCst RMW the operation made on `tail`, `head` or `acked`
//!     (the `wait` module, "Keyed notifications").
//!
//! Three wait lists, each notified by the events that can unblock its
//! waiters:
//!
//! | list | who waits | notified by |
//! |---|---|---|
//! | `room` | publishers | a first delivery (it frees a fresh slot: one publisher; a batch's run: as many); `drain` and `close` (all) |
//! | `ready` | receivers | a publish (one); an ack that gives a prefetch place back (one per place); a requeue and a dead letter (one each); a dead letter taken (one); `drain` and `close` (all) |
//! | `settled` | confirmation waiters | every settle (all) |
//!
//! Three lists, so that the receive that makes room does not wake
//! receivers, nor a publish publishers. A wake-up meant for one receiver
//! never goes to a confirmation waiter.
//!
//! # Who writes what, per message
//!
//! With a free home entry and a guard that is its entry's sole mover (no
//! lease), as in a pool of workers that ack what they receive:
//!
//! | line | publish | receive | ack | batch receive of k | batch ack of k |
//! |---|---|---|---|---|---|
//! | `tail` | CAS | — | — | — | — |
//! | fresh slot | value, stamp | stamp (free) | — | each: stamp (free) | — |
//! | `head` | — | CAS (reads `admit_below`) | — | one CAS (reads `admit_below`) | — |
//! | home entry | — | fields, value, state store | state store | each: as a receive | each: as an ack |
//! | `acked` | — | — | fetch_add | — | one fetch_add(k) |
//!
//! So a message costs three RMWs from publish to ack:
//!
//! - the `tail` claim and the `head` claim, as a ring's push and pop;
//! - the give-back of its prefetch place, which is also the key of the
//!   ack's wake-up.
//!
//! In batches it costs one, its publish's, plus two per batch. A spare
//! entry adds a CAS to the receive. A lease, a handed-out tag or a second
//! holder adds the settle's CAS to the ack; the free is then a store by
//! whoever lets go last.
//!
//! A batch's wake-ups are one keyed notification of `room` for a batch
//! receive's run, and of `ready` for a batch ack (`batch`).
//!
//! # Waiting
//!
//! The blocking calls retry their try call under the queue's
//! [`WaitStrategy`] ([`AckQueueBuilder::wait_strategy`]):
//!
//! - `Spin` and `Backoff` never sleep. Every try scans for expired leases
//!   and due requeues, as a `try_receive` does.
//! - `Park`, the default, spins and yields a few microseconds, then sleeps
//!   on `ready` or `room`. It wakes when notified, or when a tick passes
//!   while leases or delayed requeues are pending: their deadlines pass
//!   without anyone to notify.
//!
//! Futures always sleep until notified (`future.rs`).
//!
//! # Leases without a thread
//!
//! A `try_receive` checks a couple of entries for an expired lease or a
//! due delayed requeue, at most once per `scan_interval` (a quarter of the
//! lease over a whole pass), unless delayed requeues are pending. A full
//! pass runs before it reports nothing to receive, unless nothing can be
//! due: no delivery holds a prefetch place and no delayed requeue waits
//! (`scan_when_dry`). [`AckQueue::requeue_expired`] forces a full pass.
//!
//! The same scan readies requeues delayed by the [`Redelivery`] policy and
//! publishes due delayed publishes ([`schedule`]). A message's time to live
//! needs no scan: the receive that reaches it checks it ([`ttl`]).

mod batch;
mod builder;
mod clock;
mod confirm;
mod delivery;
mod entry;
mod fresh;
mod future;
mod handles;
mod indices;
mod latency;
mod lease;
mod owned;
mod prefetch;
mod publish;
mod receive;
mod redelivery;
mod schedule;
mod settle;
mod shutdown;
mod stats;
mod ttl;

use core::fmt;
use core::time::Duration;

use crossbeam_utils::CachePadded;

pub use self::batch::BatchItem;
pub use self::builder::AckQueueBuilder;
pub use self::clock::{Clock, ManualClock, MonotonicClock};
pub use self::delivery::{DeadLetter, DeadReason, Delivery, Seq, Tag};
use self::entry::{Phase, Table};
use self::fresh::Fresh;
#[cfg(feature = "stream")]
pub use self::future::DeliveryStream;
pub use self::future::{
    PublishFuture, PublishLaterFuture, ReceiveBatchFuture, ReceiveFuture, ReceiveOwnedFuture,
    SettledFuture,
};
#[cfg(feature = "stream")]
pub use self::handles::WorkerStream;
pub use self::handles::{Deliveries, OwnedDeliveries, Publisher, Worker};
use self::indices::Indices;
use self::latency::Latency;
pub use self::latency::LatencySnapshot;
pub use self::owned::OwnedDelivery;
pub use self::redelivery::Redelivery;
use self::stats::WaitingSeen;
pub(crate) use crate::api::Settle;
use crate::drop_each::drop_each;
use crate::error::{AckError, PushError};
use crate::stats::Counters;
use crate::sync::{AtomicU64, AtomicUsize, Backoff, Instant};
use crate::wait::{self, WaitList, WaitStrategy, ALL};

/// Longest a blocked call sleeps before it looks again while leases or
/// delayed requeues are pending (their deadlines pass without anyone to
/// notify).
const PARK_TICK: Duration = Duration::from_millis(1);
/// Longest a blocked call sleeps otherwise. Every other event that can
/// unblock a call (publish, receive, settle, requeue, a dead letter taken
/// out, close) notifies the waiters, so this is only a safety net; it
/// keeps an idle consumer from waking a thousand times a second.
const IDLE_TICK: Duration = Duration::from_millis(50);

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
/// [`ack`](Delivery::ack) or [`nack`](Delivery::nack) them. From an
/// `Arc<AckQueue<T>>`, [`receive_owned`](AckQueue::receive_owned) gives
/// [`OwnedDelivery`] guards instead, which borrow nothing and can be
/// handed to other threads. A message stays tracked until it is acked or
/// taken from the dead letters: a dropped delivery, a nack with requeue or
/// an expired lease delivers it again.
///
/// Three independent bounds (see [`AckQueueBuilder`]):
///
/// - `capacity` messages waiting for their first delivery;
/// - `max_in_flight` delivered and unsettled ones (the prefetch limit);
/// - `dead_letter_capacity` untaken dead letters.
///
/// A message held for a long time occupies one place of its own bound, and
/// the other messages keep flowing. Such a message may be held by a slow
/// handler, by a hung worker before its lease expires, by a long
/// `nack_after`, or be a dead letter nobody takes.
///
/// All calls take `&self` and are lock-free except the blocking ones
/// (`publish`, `receive*`, `consume`, `wait_settled*`), and allocate
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
    /// Messages waiting for their first delivery.
    fresh: Fresh<T>,
    /// Delivered messages, until settled.
    pub(crate) table: Table<T>,
    /// Prefetch places given back by acks (when the acked entry is freed).
    acked: CachePadded<AtomicU64>,
    /// A fresh count below which a first delivery is within the prefetch
    /// limit: `max_in_flight` plus an earlier reading of the places given
    /// back (`below_prefetch_limit`). Written only when a receive finds
    /// the count past it, so receives read a line that acks do not write.
    admit_below: CachePadded<AtomicU64>,
    /// Prefetch places given back otherwise: dead letters that took a
    /// dead-letter place, overflowed dead letters taken, deliveries taken
    /// by `drain`.
    given_back: CachePadded<AtomicU64>,
    /// A sequence number below which every message is settled (a cache of
    /// the watermark: see [`AckQueue::settled_below`]).
    below: CachePadded<AtomicU64>,
    /// Entries requeued and waiting for a receiver.
    redeliver: Indices,
    /// Dead letters.
    dead: Indices,
    /// Dead letters holding a dead-letter place.
    dead_held: AtomicUsize,
    /// Entries in `Delaying` or `Delayed`: requeues waiting for their
    /// delay, and delayed publishes (`schedule.rs`).
    delayed: AtomicUsize,
    /// Delayed publishes waiting for their due time: places of
    /// `delay_capacity` held.
    scheduled: AtomicUsize,
    /// Counts delayed publishes: their order among equal due times.
    schedule_order: AtomicU64,
    /// 1 once `close` has marked the fresh ring's `tail`: what a waiting
    /// receiver reads on every try, instead of the line publishers write.
    closed: AtomicUsize,
    /// Where the next amortized scan step starts.
    scan_cursor: AtomicUsize,
    /// The clock reading before which no scan step runs while no delayed
    /// requeue is pending (see `scan_step`).
    scan_due: CachePadded<AtomicU64>,
    /// Nanoseconds between two scan steps: a quarter of the lease spread
    /// over the steps of a whole pass (0 without a lease).
    scan_interval: u64,
    /// Blocked receivers sleep here. Each event that makes messages or
    /// places wakes as many as it made (the module docs' table of wait
    /// lists).
    ready: WaitList,
    /// Confirmation waiters (`wait_settled*`) sleep here. Every settle
    /// wakes them all, keyed by `acked` for an ack that frees its entry.
    /// A list of their own, so that a wake-up meant for one receiver never
    /// goes to a confirmation waiter, nor the reverse.
    settled: WaitList,
    /// Blocked publishers sleep here. A first delivery (which frees a
    /// fresh slot), `drain` and `close` notify it.
    room: CachePadded<WaitList>,
    /// Blocked delayed publishers sleep here. A delayed publish published
    /// when due wakes one; `drain` and `close` wake all.
    scheduling: WaitList,
    counters: Counters,
    max_in_flight: usize,
    dead_letter_capacity: usize,
    /// How many delayed publishes may wait for their due time.
    delay_capacity: usize,
    /// Lease length in nanoseconds, if leases are on.
    lease: Option<u64>,
    /// `u32::MAX` when unlimited.
    max_deliveries: u32,
    /// The delay of a requeue that names none.
    redelivery: Redelivery,
    /// The queue's time to live of a message, in nanoseconds (`ttl.rs`).
    ttl: Option<u64>,
    /// Expired messages are dropped, not dead-lettered.
    drop_expired: bool,
    /// Expired messages dropped.
    dropped_expired: AtomicU64,
    /// Without publish times: the fresh ring's head position `stats`
    /// last saw waiting, and the clock reading then (`stats.rs`).
    waiting_seen: WaitingSeen,
    clock: Box<dyn Clock>,
    /// How the blocking calls wait (`wait_for`).
    wait_strategy: WaitStrategy,
    /// The latency histograms, if recorded (`latency.rs`).
    latency: Option<Box<Latency>>,
    /// A publish reads the clock: for a time to live or latency.
    publish_reads_clock: bool,
    /// A receive reads the clock: for a lease or latency.
    receive_reads_clock: bool,
    /// An ack by the delivery's only holder may skip the CAS
    /// (`take_sole`): no lease, and no latency to record.
    sole_acks: bool,
}

// SAFETY: the queue moves `T` values between threads (publish on one,
// receive, drop or drain on another), which needs `T: Send`. It hands out
// `&T` to deliveries on several threads at once, which needs `T: Sync`.
// Every access to a value follows the ownership protocol of the module
// docs:
// - a fresh slot's value is touched only by the owner of its position;
// - an entry's value is written only by its sole owner, read through
//   shared references only while counted in `holders`, and dropped or
//   moved out only by the owner once `holders` is zero.
unsafe impl<T: Send + Sync> Sync for AckQueue<T> {}
// SAFETY: the queue owns its `T`s; moving it moves them, which `T: Send`
// allows. (Spelled out because loom's `UnsafeCell` is not `Send`.)
unsafe impl<T: Send> Send for AckQueue<T> {}

impl<T> AckQueue<T> {
    /// How many messages may wait for their first delivery.
    pub fn capacity(&self) -> usize {
        self.fresh.laps().capacity() as usize
    }

    /// The prefetch limit: how many delivered messages may be unsettled.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// How many dead letters may wait to be taken before further ones keep
    /// their prefetch place (see [`AckQueueBuilder::dead_letter_capacity`]).
    pub fn dead_letter_capacity(&self) -> usize {
        self.dead_letter_capacity
    }

    /// How the blocking calls wait (see
    /// [`AckQueueBuilder::wait_strategy`]).
    pub fn wait_strategy(&self) -> WaitStrategy {
        self.wait_strategy
    }

    /// The queue clock's reading, in nanoseconds.
    #[inline]
    fn now(&self) -> u64 {
        clock::nanos(self.clock.now())
    }

    /// Whether a scan may find something to do.
    #[inline]
    fn timed(&self) -> bool {
        // Relaxed: a hint; a delayed requeue missed here is found by a
        // later receive.
        self.lease.is_some() || self.delayed.load(crate::sync::Ordering::Relaxed) != 0
    }

    /// Retries `look` until it returns `Some` or `deadline` passes, with
    /// the queue's wait strategy (module docs, "Waiting"). A parked call
    /// wakes at least every `PARK_TICK` while leases or delays are
    /// pending, else every `IDLE_TICK`. `may_sleep` is the keyed waiter's
    /// check (the `wait` module docs, "Keyed notifications").
    fn wait_for<R>(
        &self,
        list: &WaitList,
        deadline: Option<Instant>,
        mut look: impl FnMut() -> Option<R>,
        mut may_sleep: impl FnMut() -> bool,
    ) -> Option<R> {
        if self.wait_strategy != WaitStrategy::Park {
            return wait::wait_until(self.wait_strategy, list, deadline, look, may_sleep);
        }
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            if let Some(r) = look() {
                return Some(r);
            }
            backoff.snooze();
        }
        loop {
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return look();
            }
            let tick = if self.timed() { PARK_TICK } else { IDLE_TICK };
            let until = match (deadline, now.checked_add(tick)) {
                (Some(d), Some(t)) => Some(d.min(t)),
                (d, t) => d.or(t),
            };
            if let Some(r) =
                wait::wait_until(WaitStrategy::Park, list, until, &mut look, &mut may_sleep)
            {
                return Some(r);
            }
        }
    }

    /// Offers `msg` to `send` until it takes it or refuses it for good
    /// (closed), waiting on `list` while it is full (`wait_for`, no
    /// deadline): the blocking form of a try call that gives the message
    /// back in [`PushError::Full`].
    fn wait_to_send<R>(
        &self,
        list: &WaitList,
        msg: T,
        mut send: impl FnMut(T) -> Result<R, PushError<T>>,
        may_sleep: impl FnMut() -> bool,
    ) -> Result<R, PushError<T>> {
        let mut held = Some(msg);
        let outcome = self.wait_for(
            list,
            None,
            || match send(held.take()?) {
                Err(PushError::Full(msg)) => {
                    held = Some(msg);
                    None
                }
                other => Some(other),
            },
            may_sleep,
        );
        match outcome {
            Some(result) => result,
            None => unreachable!("a wait without deadline ends only with a result"),
        }
    }
}

impl<T> Drop for AckQueue<T> {
    /// Drops the values the table still holds (the fresh ring drops its
    /// own), each exactly once even if one's `Drop` panics (`drop_each`).
    fn drop(&mut self) {
        let table = &self.table;
        let mut next = 0;
        drop_each(|| {
            while next < table.len() {
                let entry = table.get(next as u32);
                next += 1;
                // Relaxed: `&mut` access, no other thread is left.
                let phase = entry::State(entry.state.load(crate::sync::Ordering::Relaxed)).phase();
                debug_assert!(!matches!(phase, Phase::Receiving | Phase::Taking));
                if !matches!(phase, Phase::Free | Phase::Receiving | Phase::Taking) {
                    // SAFETY: with `&mut` access no delivery guard or other
                    // thread refers to the entry, and every phase but those
                    // excluded holds an initialized value (module docs); it
                    // is moved out once: `next` moved past it first.
                    return Some(entry.value.with(|p| unsafe { (*p).assume_init_read() }));
                }
            }
            None
        });
    }
}

impl<T> fmt::Debug for AckQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckQueue")
            .field("capacity", &self.capacity())
            .field("max_in_flight", &self.max_in_flight)
            .field("dead_letter_capacity", &self.dead_letter_capacity)
            .field("closed", &self.is_closed())
            .field("settled_below", &self.settled_below())
            .finish_non_exhaustive()
    }
}
