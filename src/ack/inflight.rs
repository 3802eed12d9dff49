//! The table: a fixed array of entries, each holding one message from its
//! publish until its settle, and the encoding of an entry's state word.
//! The entries are also the slots of the queue's ring (their `stamp`); the
//! transitions themselves live in `ack/mod.rs`.

use core::fmt;
use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU32, AtomicU64, UnsafeCell};

/// Phase of an entry (the low 4 bits of its state word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not delivered yet: empty, or holding a published message that no
    /// receive has taken (the `stamp` tells which), or being filled by the
    /// receive that took it.
    Free = 0,
    /// Held by the delivery of the current `attempt`.
    InFlight = 1,
    /// Transient: `extend_lease` is writing the deadline.
    Extending = 2,
    /// Transient: `nack_after` is writing the not-before time.
    Delaying = 3,
    /// Requeued with a delay; the scan moves it to `Redeliver` when due.
    Delayed = 4,
    /// In the redelivery ring (or being pushed there, or being taken).
    Redeliver = 5,
    /// Acked while older deliveries still hold it; the last one frees it.
    Settled = 6,
    /// Dead-lettered while deliveries still hold it; the last one moves it
    /// to `Dead`.
    DeadPending = 7,
    /// In the dead-letter ring (or being pushed there, or being taken).
    Dead = 8,
    /// Transient: `drain` is taking the message out.
    Taking = 9,
}

impl Phase {
    fn from_bits(bits: u64) -> Phase {
        match bits {
            0 => Phase::Free,
            1 => Phase::InFlight,
            2 => Phase::Extending,
            3 => Phase::Delaying,
            4 => Phase::Delayed,
            5 => Phase::Redeliver,
            6 => Phase::Settled,
            7 => Phase::DeadPending,
            8 => Phase::Dead,
            _ => Phase::Taking,
        }
    }
}

const PHASE_MASK: u64 = 0xF;
/// The current attempt ended by lease expiry (a late ack of it is stale).
const EXPIRED: u64 = 1 << 4;
/// Dead-lettered for too many deliveries (else: rejected by a nack).
const EXHAUSTED: u64 = 1 << 5;
const EPOCH_SHIFT: u32 = 6;
const EPOCH_MASK: u64 = 0x3F;
const HOLDERS_SHIFT: u32 = 12;
/// The most deliveries that may hold one message at once.
pub(crate) const HOLDERS_MAX: u64 = 0xFFF;
const ATTEMPT_SHIFT: u32 = 24;
/// Attempts are compared modulo 2^16.
pub(crate) const ATTEMPT_MASK: u64 = 0xFFFF;
const GEN_SHIFT: u32 = 40;
/// Generations are compared modulo 2^24.
pub(crate) const GEN_MASK: u64 = 0xFF_FFFF;

/// An entry's state word, decoded:
///
/// ```text
/// bit 63 .. 40 | 39 .. 24 | 23 .. 12 | 11 .. 6 |     5     |    4    | 3 .. 0
///  generation  | attempt  | holders  |  epoch  | exhausted | expired | phase
/// ```
///
/// - `generation`: the lap of the ring position the entry's message was
///   published at, so a tag of an earlier message never matches a later
///   one;
/// - `attempt`: the delivery count modulo 2^16, so a tag of an earlier
///   delivery of the same message is recognized as stale;
/// - `holders`: live `Delivery` guards that may read the message;
/// - `epoch`: bumped by every lease extension, so a scan that read the old
///   deadline fails its CAS;
/// - `exhausted`, `expired`: see the constants.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct State(pub(crate) u64);

impl State {
    /// A free entry of generation `gen`.
    pub(crate) fn free(gen: u64) -> State {
        State((gen & GEN_MASK) << GEN_SHIFT)
    }

    pub(crate) fn phase(self) -> Phase {
        Phase::from_bits(self.0 & PHASE_MASK)
    }
    pub(crate) fn gen(self) -> u64 {
        self.0 >> GEN_SHIFT
    }
    pub(crate) fn attempt(self) -> u64 {
        (self.0 >> ATTEMPT_SHIFT) & ATTEMPT_MASK
    }
    pub(crate) fn holders(self) -> u64 {
        (self.0 >> HOLDERS_SHIFT) & HOLDERS_MAX
    }
    pub(crate) fn expired(self) -> bool {
        self.0 & EXPIRED != 0
    }
    pub(crate) fn exhausted(self) -> bool {
        self.0 & EXHAUSTED != 0
    }

    pub(crate) fn with_phase(self, phase: Phase) -> State {
        State((self.0 & !PHASE_MASK) | phase as u64)
    }
    pub(crate) fn with_holders(self, holders: u64) -> State {
        debug_assert!(holders <= HOLDERS_MAX);
        State((self.0 & !(HOLDERS_MAX << HOLDERS_SHIFT)) | (holders << HOLDERS_SHIFT))
    }
    pub(crate) fn with_attempt(self, attempt: u64) -> State {
        State(
            (self.0 & !(ATTEMPT_MASK << ATTEMPT_SHIFT))
                | ((attempt & ATTEMPT_MASK) << ATTEMPT_SHIFT),
        )
    }
    /// Sets or clears the `expired` and `exhausted` flags.
    pub(crate) fn with_flags(self, expired: bool, exhausted: bool) -> State {
        let mut bits = self.0 & !(EXPIRED | EXHAUSTED);
        if expired {
            bits |= EXPIRED;
        }
        if exhausted {
            bits |= EXHAUSTED;
        }
        State(bits)
    }
    /// The epoch plus one (modulo 64).
    pub(crate) fn next_epoch(self) -> State {
        let epoch = ((self.0 >> EPOCH_SHIFT) + 1) & EPOCH_MASK;
        State((self.0 & !(EPOCH_MASK << EPOCH_SHIFT)) | (epoch << EPOCH_SHIFT))
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("phase", &self.phase())
            .field("gen", &self.gen())
            .field("attempt", &self.attempt())
            .field("holders", &self.holders())
            .field("expired", &self.expired())
            .field("exhausted", &self.exhausted())
            .finish()
    }
}

/// One slot of the table, and of the ring.
///
/// `stamp` is the ring's per-slot sequence (module docs of `ack`): the
/// position the slot is free for, or that position + 1 while it holds the
/// message published there, which it does until that message is settled.
/// Only `stamp` and `state` are contended. The other fields are written by
/// the one thread that owns the entry in its phase (the receiver that
/// claimed its position or popped it from a ring, or the winner of the CAS
/// into a transient phase), before a Release write of `state`; readers
/// load `state` with Acquire first. They are atomics (read `Relaxed`) only
/// because a thread holding a stale view may read them while the owner
/// writes, and discards what it read when its CAS on `state` fails.
pub(crate) struct Entry<T> {
    /// The ring sequence: see above.
    pub(crate) stamp: AtomicU64,
    /// The state word: see [`State`].
    pub(crate) state: AtomicU64,
    /// `InFlight`: when the lease ends; `Delayed`: when redelivery is due.
    /// Nanoseconds on the queue's clock.
    pub(crate) deadline: AtomicU64,
    /// When the current delivery was handed out, on the queue's clock.
    pub(crate) delivered_at: AtomicU64,
    /// Exact number of deliveries of the message.
    pub(crate) deliveries: AtomicU32,
    /// Initialized from the publish until the message is settled: while
    /// `stamp` is a position + 1, but in `Taking`.
    pub(crate) value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Entry<T> {
    fn new(stamp: u64) -> Self {
        Self {
            stamp: AtomicU64::new(stamp),
            state: AtomicU64::new(State::free(0).0),
            deadline: AtomicU64::new(0),
            delivered_at: AtomicU64::new(0),
            deliveries: AtomicU32::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }
}

/// The fixed table of entries; entries are cache-line padded because
/// different consumers settle neighbouring entries at once.
pub(crate) struct Table<T> {
    entries: Box<[CachePadded<Entry<T>>]>,
    /// This queue's identity in tags, unique in the process.
    id: usize,
}

impl<T> Table<T> {
    /// A table of `len` free entries, entry `i` free for ring position
    /// `i` (`{ lap: 0, index: i }`).
    pub(crate) fn new(len: usize) -> Self {
        Self {
            entries: (0..len)
                .map(|i| CachePadded::new(Entry::new(i as u64)))
                .collect(),
            id: crate::sync::unique_id(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry at `index` (checked indexing).
    #[inline]
    pub(crate) fn get(&self, index: u32) -> &Entry<T> {
        &self.entries[index as usize]
    }

    /// The queue's identity in its tags, never reused in the process.
    pub(crate) fn id(&self) -> usize {
        self.id
    }
}
