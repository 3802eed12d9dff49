//! The table of delivered messages: a fixed array of entries, each holding
//! one message from its first delivery until it is settled, and the
//! encoding of an entry's state word.
//!
//! The transitions themselves live in the files named for them (`receive`,
//! `settle`, `lease`, `shutdown`). The state diagram, and why a receive
//! always finds a free spare, are in the module docs of `ack`.
//!
//! The table has two regions:
//!
//! - **Home entries**, one per fresh slot: entry `i` is where the message
//!   published in fresh slot `i` goes first. Only the receive that won
//!   that slot's position on `head` claims it, between that claim and its
//!   free of the slot. The next receive of the slot comes after that free,
//!   through the slot's `seq`. So a home entry found `Free` is the
//!   receiver's alone, and it is claimed without a CAS.
//! - **Spare entries**, `max_in_flight + dead_letter_capacity +
//!   delay_capacity` of them, claimed by CAS. A message goes there when its
//!   home entry still holds an earlier message (one held for a long time,
//!   requeued, delayed or dead).

use core::fmt;
use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU32, AtomicU64, Ordering, UnsafeCell};

/// Phase of an entry (the low 4 bits of its state word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Holds no message; the next receive may claim it.
    Free = 0,
    /// Transient: the receive that claimed it is writing the message in.
    Receiving = 1,
    /// Held by the delivery of the current `attempt`.
    InFlight = 2,
    /// Transient: `extend_lease` is writing the deadline.
    Extending = 3,
    /// Transient: `nack_after` is writing the not-before time.
    Delaying = 4,
    /// Requeued with a delay; the scan moves it to `Redeliver` when due.
    /// With delivery count 0: a delayed publish, which the scan publishes
    /// into the fresh ring when due (`schedule.rs`).
    Delayed = 5,
    /// In the redelivery ring (or being pushed there, or being taken).
    Redeliver = 6,
    /// Acked while older deliveries still hold it; the last one frees it.
    Settled = 7,
    /// Dead-lettered while deliveries still hold it; the last one moves it
    /// to `Dead`.
    DeadPending = 8,
    /// In the dead-letter ring (or being pushed there, or being taken).
    /// With delivery count 0: expired before its first delivery
    /// (`ttl.rs`).
    Dead = 9,
    /// Transient: `drain` is taking the message out.
    Taking = 10,
}

impl Phase {
    fn from_bits(bits: u64) -> Phase {
        match bits {
            0 => Phase::Free,
            1 => Phase::Receiving,
            2 => Phase::InFlight,
            3 => Phase::Extending,
            4 => Phase::Delaying,
            5 => Phase::Delayed,
            6 => Phase::Redeliver,
            7 => Phase::Settled,
            8 => Phase::DeadPending,
            9 => Phase::Dead,
            _ => Phase::Taking,
        }
    }

    /// Whether an entry in this phase holds an unsettled message (the
    /// watermark and `is_settled` read it): everything but `Free`,
    /// `Receiving` (its message is still counted by the fresh ring),
    /// `Settled` and `Taking` (settled by `drain`).
    pub(crate) fn unsettled(self) -> bool {
        !matches!(
            self,
            Phase::Free | Phase::Receiving | Phase::Settled | Phase::Taking
        )
    }
}

const PHASE_MASK: u64 = 0xF;
/// The current attempt ended by lease expiry (a late ack of it is stale).
const EXPIRED: u64 = 1 << 4;
/// Dead-lettered for too many deliveries (else: rejected by a nack).
const EXHAUSTED: u64 = 1 << 5;
/// A dead letter that found the dead letters full: it keeps its prefetch
/// place (instead of a dead-letter place) until it is taken.
const OVERFLOW: u64 = 1 << 6;
const EXTENSIONS_SHIFT: u32 = 7;
const EXTENSIONS_MASK: u64 = 0xF;
/// The delivery's tag was handed out ([`Delivery::tag`](super::Delivery::tag)):
/// a settle by tag may race the guard's own, so the guard settles by CAS.
const TAG_OUT: u64 = 1 << 11;
const HOLDERS_SHIFT: u32 = 12;
/// The most deliveries that may hold one message at once.
pub(crate) const HOLDERS_MAX: u64 = 0xFFF;
const ATTEMPT_SHIFT: u32 = 24;
const ATTEMPT_MASK: u64 = 0xFFFF;
const GEN_SHIFT: u32 = 40;
/// Generations are compared modulo 2^24.
pub(crate) const GEN_MASK: u64 = 0xFF_FFFF;

/// An entry's state word, decoded:
///
/// ```text
/// bit 63 .. 40 | 39 .. 24 | 23 .. 12 |   11    |  10 .. 7   |    6     |     5     |    4    | 3 .. 0
///  generation  | attempt  | holders  | tag out | extensions | overflow | exhausted | expired | phase
/// ```
///
/// - `generation`: how many messages the entry held before this one
///   (modulo 2^24), so a tag of an earlier message never matches a later
///   one;
/// - `attempt`: the delivery count below 2^16, and past it `2^15 + count
///   % 2^15` ([`State::attempt_bits`]). So a tag of an earlier delivery of
///   the same message is recognized as stale. 1 means the first delivery,
///   whose count the entry does not store (see
///   [`Entry::delivery_count`]);
/// - `holders`: live `Delivery` guards that may read the message;
/// - `extensions`: lease extensions, modulo 16, so a scan that read the
///   old deadline fails its CAS;
/// - `tag out`, `overflow`, `exhausted`, `expired`: see the constants.
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
    /// Whether the phase is `phase`: `phase() == phase` without the
    /// decoding.
    #[inline(always)]
    pub(crate) fn is(self, phase: Phase) -> bool {
        self.0 & PHASE_MASK == phase as u64
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
    pub(crate) fn overflow(self) -> bool {
        self.0 & OVERFLOW != 0
    }
    pub(crate) fn tag_out(self) -> bool {
        self.0 & TAG_OUT != 0
    }

    pub(crate) fn with_phase(self, phase: Phase) -> State {
        State((self.0 & !PHASE_MASK) | phase as u64)
    }
    pub(crate) fn with_holders(self, holders: u64) -> State {
        debug_assert!(holders <= HOLDERS_MAX);
        State((self.0 & !(HOLDERS_MAX << HOLDERS_SHIFT)) | (holders << HOLDERS_SHIFT))
    }
    /// The state with the `attempt` field of delivery count `count`.
    pub(crate) fn with_attempt(self, count: u32) -> State {
        State(
            (self.0 & !(ATTEMPT_MASK << ATTEMPT_SHIFT))
                | (Self::attempt_bits(count) << ATTEMPT_SHIFT),
        )
    }
    /// The `attempt` field of delivery count `count`: the count below
    /// 2^16, `2^15 + count % 2^15` from there on, so that it reads 1 only
    /// for the first delivery.
    #[inline(always)]
    pub(crate) fn attempt_bits(count: u32) -> u64 {
        let count = u64::from(count);
        // 0x8000 | count % 2^15 past 2^16: the low 16 bits with bit 15 set.
        (count & ATTEMPT_MASK) | (u64::from(count > ATTEMPT_MASK) << 15)
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
    /// Clears the `tag out` flag: a new delivery's tag is the guard's own.
    pub(crate) fn tag_kept(self) -> State {
        State(self.0 & !TAG_OUT)
    }
    /// The bit of the `tag out` flag, for a guard that hands its tag out
    /// (`fetch_or`).
    pub(crate) const TAG_OUT: u64 = TAG_OUT;
    /// The largest delivery count the `attempt` field holds as it is.
    pub(crate) const ATTEMPT_MASK: u64 = ATTEMPT_MASK;
    /// Sets the `overflow` flag.
    pub(crate) fn with_overflow(self) -> State {
        State(self.0 | OVERFLOW)
    }
    /// The state with one more lease extension (modulo 16).
    pub(crate) fn next_extension(self) -> State {
        let n = ((self.0 >> EXTENSIONS_SHIFT) + 1) & EXTENSIONS_MASK;
        State((self.0 & !(EXTENSIONS_MASK << EXTENSIONS_SHIFT)) | (n << EXTENSIONS_SHIFT))
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
            .field("tag_out", &self.tag_out())
            .finish()
    }
}

/// One entry of the table.
///
/// Only `state` is contended. The other fields are written by the one
/// thread that owns the entry in its phase, before a Release write of
/// `state`. That owner is the receiver that claimed it, the thread that
/// popped it from a ring, or the winner of the CAS into a transient phase.
/// Readers load `state` with Acquire first.
///
/// The other fields are atomics (read `Relaxed`) only because a thread
/// holding a stale view may read them while the owner writes. That thread
/// discards what it read when its CAS on `state`, or its second load of
/// it, tells it the entry moved on.
pub(crate) struct Entry<T> {
    /// The state word: see [`State`].
    pub(crate) state: AtomicU64,
    /// The message's sequence number.
    pub(crate) seq: AtomicU64,
    /// `InFlight`: when the lease ends; `Delayed`: when redelivery is due.
    /// Nanoseconds on the queue's clock.
    pub(crate) deadline: AtomicU64,
    /// When the current delivery was handed out, on the queue's clock.
    pub(crate) delivered_at: AtomicU64,
    /// With latency recording on: when the message was published, on the
    /// queue's clock (`latency.rs`).
    pub(crate) published_at: AtomicU64,
    /// The message's delivery count, exactly, once it was delivered more
    /// than once (read it with [`delivery_count`](Entry::delivery_count)):
    /// a first delivery, whose state says attempt 1, leaves it alone.
    pub(crate) delivery_count: AtomicU32,
    /// Initialized from the end of `Receiving` until the message is moved
    /// out or dropped (by the thread that brings the entry back to
    /// `Free`).
    pub(crate) value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Entry<T> {
    /// The message's delivery count, for a `state` just read from this
    /// entry: 1 when the state says the first delivery, else the stored
    /// count (written, with a redelivery's fields, before its state).
    #[inline]
    pub(crate) fn delivery_count(&self, state: State) -> u32 {
        if state.attempt() == 1 {
            1
        } else {
            // Relaxed: ordered after the state the caller read, as the
            // entry's other fields are (type docs).
            self.delivery_count.load(Ordering::Relaxed)
        }
    }

    fn new() -> Self {
        Self {
            state: AtomicU64::new(State::free(0).0),
            seq: AtomicU64::new(0),
            deadline: AtomicU64::new(0),
            delivered_at: AtomicU64::new(0),
            published_at: AtomicU64::new(0),
            delivery_count: AtomicU32::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }
}

/// The fixed table of entries: the home entries first, then the spare
/// ones (module docs). Entries are cache-line padded because different
/// consumers settle neighbouring entries at once.
pub(crate) struct Table<T> {
    entries: Box<[CachePadded<Entry<T>>]>,
    /// How many home entries: the fresh ring's capacity.
    homes: u32,
    /// How many spare entries.
    spares: u32,
    /// `u64::MAX / spares + 1`: the reciprocal that turns `spare_start`'s
    /// remainder into two multiplications (Lemire's "fastmod"), exact for
    /// 32-bit numerators.
    reciprocal: u64,
    /// This queue's identity in tags, unique in the process.
    id: usize,
}

impl<T> Table<T> {
    /// A table of `homes` home entries and `spares` spare ones, all free;
    /// both at least 1, and `homes + spares <= u32::MAX`.
    pub(crate) fn new(homes: usize, spares: usize) -> Self {
        debug_assert!(homes >= 1 && spares >= 1);
        debug_assert!(homes + spares <= u32::MAX as usize);
        Self {
            entries: (0..homes + spares)
                .map(|_| CachePadded::new(Entry::new()))
                .collect(),
            homes: homes as u32,
            spares: spares as u32,
            reciprocal: (u64::MAX / spares as u64).wrapping_add(1),
            id: crate::sync::unique_id(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// How many home entries (they come first).
    pub(crate) fn homes(&self) -> u32 {
        self.homes
    }

    /// The entry at `index` (checked indexing).
    #[inline]
    pub(crate) fn get(&self, index: u32) -> &Entry<T> {
        &self.entries[index as usize]
    }

    /// The entry at `index`, without the bounds check: for the indices
    /// the queue made itself (a home entry's, a guard's).
    ///
    /// # Safety
    ///
    /// `index < self.len()`.
    #[inline(always)]
    pub(crate) unsafe fn get_unchecked(&self, index: u32) -> &Entry<T> {
        debug_assert!((index as usize) < self.entries.len());
        // SAFETY: the caller's contract.
        unsafe { self.entries.get_unchecked(index as usize) }
    }

    /// The index of entry `index + 1`, wrapping to 0 past the end.
    #[inline]
    pub(crate) fn next(&self, index: u32) -> u32 {
        if index as usize + 1 < self.entries.len() {
            index + 1
        } else {
            0
        }
    }

    /// The home entry of message `seq`: the one paired with the fresh
    /// slot it was published in (`seq` modulo the capacity). Where
    /// `is_settled` looks first; a receive finds it from the position.
    pub(crate) fn home(&self, seq: u64) -> u32 {
        (seq % u64::from(self.homes)) as u32
    }

    /// The spare entry a receive of message `seq` whose home entry is
    /// busy looks at first: the low 32 bits of `seq` modulo the spares, so
    /// that receives spread over them. (Only a hint: any start finds a
    /// free spare.)
    #[inline]
    pub(crate) fn spare_start(&self, seq: u64) -> u32 {
        let low = self.reciprocal.wrapping_mul(u64::from(seq as u32));
        self.homes + ((u128::from(low) * u128::from(self.spares)) >> 64) as u32
    }

    /// The spare entry after spare entry `index`, wrapping to the first
    /// spare past the end.
    #[inline]
    pub(crate) fn next_spare(&self, index: u32) -> u32 {
        if index as usize + 1 < self.entries.len() {
            index + 1
        } else {
            self.homes
        }
    }

    /// The queue's identity in its tags, never reused in the process.
    pub(crate) fn id(&self) -> usize {
        self.id
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Table;

    #[test]
    fn spare_start_is_a_spare_at_the_low_32_bits_modulo_the_spares() {
        for (homes, spares) in [
            (1_usize, 1_usize),
            (3, 2),
            (7, 7),
            (64, 257),
            (1024, 1280),
            (5, 65_537),
        ] {
            let table = Table::<()>::new(homes, spares);
            let seqs = (0..5000_u64).chain([
                u64::from(u32::MAX) - 1,
                u64::from(u32::MAX),
                1 << 32,
                (1 << 40) + 12_345,
                u64::MAX,
            ]);
            for seq in seqs {
                let expected = homes as u64 + u64::from(seq as u32) % spares as u64;
                assert_eq!(
                    u64::from(table.spare_start(seq)),
                    expected,
                    "homes {homes} spares {spares} seq {seq}"
                );
                assert_eq!(u64::from(table.home(seq)), seq % homes as u64);
            }
        }
    }

    #[test]
    fn attempt_bits_read_1_only_for_the_first_delivery() {
        use super::State;
        assert_eq!(State::attempt_bits(1), 1);
        for count in [2_u32, 0x7FFF, 0x8000, 0xFFFF] {
            assert_eq!(State::attempt_bits(count), u64::from(count));
        }
        for count in [0x1_0000_u32, 0x1_0001, 0x1_8001, u32::MAX] {
            let bits = State::attempt_bits(count);
            assert!((0x8000..=0xFFFF).contains(&bits), "count {count}");
            assert_eq!(bits & 0x7FFF, u64::from(count) & 0x7FFF);
            assert_eq!(State(0).with_attempt(count).attempt(), bits);
        }
    }

    #[test]
    fn next_spare_wraps_inside_the_spares() {
        let table = Table::<()>::new(3, 2);
        assert_eq!(table.next_spare(3), 4);
        assert_eq!(table.next_spare(4), 3);
        assert_eq!(table.next(4), 0);
    }
}
