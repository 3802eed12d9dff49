//! The fresh ring: messages waiting for their first delivery, in publish
//! order. A Vyukov ring (as [`Ring`](crate::Ring)) of `capacity` slots,
//! with two differences that the ack layer needs:
//!
//! - a receive is two steps: [`claim`](Fresh::claim) wins the position on
//!   `head` (after the caller's admission check, the prefetch limit), or
//!   [`claim_run`](Fresh::claim_run) a run of positions with one CAS (a
//!   batch receive), and [`free`](Fresh::free) hands each slot to the next
//!   lap once the caller has moved its message into the table. Between the two the slot still
//!   says "holds the message of this position", which is what the
//!   watermark and `is_settled` read to see a message in transit;
//! - `tail` carries the `CLOSED` bit.
//!
//! A message's sequence number is the count of its position
//! ([`Laps::count`]).

use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::error::PublishError;
use crate::pos::Laps;
use crate::sync::{self, AtomicU64, Backoff, Ordering, UnsafeCell};

/// `tail`'s closed bit; the low bits are the producers' position.
const CLOSED: u64 = 1 << 63;
/// How far past the full slot a blocked publisher waits for room before it
/// looks again (see [`Fresh::wait_for_room_ahead`]).
const ROOM_AHEAD: u64 = 32;

/// One slot of the fresh ring.
struct Slot<T> {
    /// The position the slot is free for, or that position + 1 while it
    /// holds the message published there (until the receive that took it
    /// frees it).
    stamp: AtomicU64,
    /// Initialized exactly while `stamp` is a position + 1.
    value: UnsafeCell<MaybeUninit<T>>,
}

/// Where a published message is, as its fresh slot tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Whereabouts {
    /// Still in its slot: waiting for its first delivery, or taken by a
    /// receive that has not moved it into the table yet.
    InSlot,
    /// Out of the ring: in the table, or settled.
    Taken,
}

pub(crate) struct Fresh<T> {
    /// Producers' position `{ lap, index }` (the next publish's), with the
    /// `CLOSED` bit.
    tail: CachePadded<AtomicU64>,
    /// Receivers' position: the next message to deliver.
    head: CachePadded<AtomicU64>,
    /// A position below which every slot has been freed (a cache for
    /// [`Fresh::freed_below`]).
    freed: CachePadded<AtomicU64>,
    slots: Box<[Slot<T>]>,
    laps: Laps<u64>,
}

impl<T> Fresh<T> {
    /// A ring of `laps.capacity()` free slots, slot `i` free for
    /// `{ lap: 0, index: i }`.
    pub(crate) fn new(laps: Laps<u64>) -> Self {
        Self {
            tail: CachePadded::new(AtomicU64::new(0)),
            head: CachePadded::new(AtomicU64::new(0)),
            freed: CachePadded::new(AtomicU64::new(0)),
            slots: (0..laps.capacity())
                .map(|i| Slot {
                    stamp: AtomicU64::new(i),
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                })
                .collect(),
            laps,
        }
    }

    pub(crate) fn laps(&self) -> Laps<u64> {
        self.laps
    }

    #[inline(always)]
    fn slot(&self, pos: u64) -> &Slot<T> {
        &self.slots[self.laps.index(pos) as usize]
    }

    /// Publishes `msg` at the tail if its slot is free; returns the
    /// position.
    #[inline]
    pub(crate) fn try_push(&self, msg: T) -> Result<u64, PublishError<T>> {
        let backoff = Backoff::new();
        // Relaxed: the cursor is a hint of which slot to look at (its
        // stamp, Acquire below, carries the synchronization), and `Closed`
        // is decided by the order of the RMWs on this one word (our CAS
        // against `close`'s fetch_or), which coherence gives in any
        // ordering.
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & CLOSED != 0 {
                return Err(PublishError::Closed(msg));
            }
            let slot = self.slot(tail);
            // Acquire: pairs with the Release stamp store in `free`, so the
            // previous message's move out of the slot happens-before our
            // write.
            let stamp = slot.stamp.load(Ordering::Acquire);
            let diff = stamp.wrapping_sub(tail) as i64;
            if diff == 0 {
                // SeqCst: `tail` is the key of the publish's notification
                // of receivers (`wait.rs`, "Keyed notifications"); winning
                // the CAS makes the position ours alone. On failure we only
                // look again (Relaxed).
                match self.tail.compare_exchange_weak(
                    tail,
                    self.laps.advance(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: we own position `tail` (CAS above) and its
                        // slot is free (stamp == tail, seen with Acquire
                        // after the last receiver's Release store), so the
                        // value is uninitialized and nobody touches it until
                        // we store the next stamp.
                        slot.value.with_mut(|p| unsafe { (*p).write(msg) });
                        // Release: publishes the value; pairs with the
                        // Acquire load of the stamp in `claim` (and in
                        // `whereabouts`, `freed_below`).
                        slot.stamp.store(tail + 1, Ordering::Release);
                        return Ok(tail);
                    }
                    Err(current) => {
                        tail = current;
                        backoff.spin();
                    }
                }
            } else if diff < 0 {
                // The slot still holds the message of the previous lap:
                // `capacity` messages wait.
                return Err(PublishError::Full(msg));
            } else {
                // Another producer took `tail`: look again.
                backoff.spin();
                // Relaxed: as above.
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// After a publish found no room: spins (with backoff, for a few
    /// microseconds at most) until the slot `ROOM_AHEAD` places past `tail`
    /// is free too, so that the publisher comes back for a run of free
    /// slots instead of polling the one a receiver is working on (each poll
    /// would pull that line away between the receiver's writes to it).
    pub(crate) fn wait_for_room_ahead(&self) {
        let ahead = ROOM_AHEAD.min(self.laps.capacity() - 1);
        if ahead == 0 {
            return;
        }
        // Relaxed: a hint of which slot to watch; `try_push` decides.
        let tail = self.tail.load(Ordering::Relaxed) & !CLOSED;
        let far = self.laps.ahead(tail, ahead);
        let slot = self.slot(far);
        let backoff = Backoff::new();
        // Relaxed: a hint, as above. Free for `far` (or for a later lap, if
        // other publishers moved on) ends the wait.
        while (slot.stamp.load(Ordering::Relaxed).wrapping_sub(far) as i64) < 0
            && !backoff.is_completed()
        {
            backoff.snooze();
        }
    }

    /// Whether a publisher that found no room may sleep: `capacity`
    /// positions lie between `head` and `tail`, so no receive has won the
    /// position whose slot it needs. Reads `head`, the key of receives'
    /// notifications, so it must be called after arming (`wait.rs`,
    /// "Keyed notifications"); `false` once closed.
    pub(crate) fn full_by_head(&self) -> bool {
        // Relaxed: the waiter's fence orders the `head` load (module docs
        // of `wait.rs`); `tail` is the caller's own view, and a newer one
        // can only make the ring look fuller, which a later receive's
        // notification covers.
        let tail = self.tail.load(Ordering::Relaxed);
        if tail & CLOSED != 0 {
            return false;
        }
        let head = sync::key_load(&self.head, Ordering::Relaxed);
        // Saturating: `head` is read after `tail`, so publishes and
        // receives in between may have taken it past the `tail` read; the
        // ring was not full then, and the caller tries again.
        self.laps.count(tail).saturating_sub(self.laps.count(head)) >= self.laps.capacity()
    }

    /// Whether a receiver that found nothing may sleep as far as fresh
    /// messages go: every position below `tail` is claimed, or `admit`
    /// refuses the next one. Reads `tail`, the key of publishes'
    /// notifications, so it must be called after arming (`wait.rs`,
    /// "Keyed notifications").
    pub(crate) fn none_in_transit(&self, admit: impl Fn(u64) -> bool) -> bool {
        // Relaxed: the waiter's fence orders the `tail` load (`wait.rs`);
        // `head` only decides which position `admit` is asked about.
        let tail = sync::key_load(&self.tail, Ordering::Relaxed) & !CLOSED;
        let head = self.head.load(Ordering::Relaxed);
        tail == head || !admit(head)
    }

    /// Claims the message at `head`, if one is published there and `admit`
    /// (called with that position just before the CAS) allows. The slot is
    /// then the caller's: read it with [`take`](Fresh::take), then
    /// [`free`](Fresh::free) it.
    #[inline]
    pub(crate) fn claim(&self, admit: impl Fn(u64) -> bool) -> Option<u64> {
        let backoff = Backoff::new();
        // Relaxed: a hint of which slot to look at, as in `try_push`.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // Acquire: pairs with the publisher's Release stamp store, so the
            // value written before it is visible to us.
            let stamp = self.slot(head).stamp.load(Ordering::Acquire);
            let diff = stamp.wrapping_sub(head + 1) as i64;
            if diff == 0 {
                if !admit(head) {
                    return None;
                }
                // SeqCst: `head` is the key of the receive's notification
                // of publishers (`wait.rs`, "Keyed notifications"); winning
                // the CAS makes the position ours alone. On failure we only
                // look again (Relaxed).
                match self.head.compare_exchange_weak(
                    head,
                    self.laps.advance(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        return Some(head);
                    }
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

    /// Claims a run of up to `k` consecutive published messages from
    /// `head` with one CAS: counts the slots from `head` on whose stamp
    /// says published (each loaded with Acquire), asks `admit` (called
    /// with `head` and that count just before the CAS) how many of them
    /// the caller may take, and moves `head` past those. Returns the first
    /// position and the length of the run; the slots are then the
    /// caller's, each to be read with [`take`](Fresh::take) and then
    /// [`free`](Fresh::free)d. `None` if nothing is published at `head` or
    /// `admit` allows none.
    #[inline]
    pub(crate) fn claim_run(&self, k: u64, admit: impl Fn(u64, u64) -> u64) -> Option<(u64, u64)> {
        // A run never spans more than one lap.
        let k = k.min(self.laps.capacity());
        if k == 0 {
            return None;
        }
        let backoff = Backoff::new();
        // Relaxed: a hint of which slot to look at, as in `try_push`.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // Acquire: pairs with the publisher's Release stamp store, so
            // the value written before it is visible to us.
            let stamp = self.slot(head).stamp.load(Ordering::Acquire);
            let diff = stamp.wrapping_sub(head + 1) as i64;
            if diff < 0 {
                // Not published yet for this lap: nothing fresh.
                return None;
            }
            if diff > 0 {
                // Another receiver took `head`: look again.
                backoff.spin();
                // Relaxed: as above.
                head = self.head.load(Ordering::Relaxed);
                continue;
            }
            let mut n = 1;
            let mut end = self.laps.advance(head);
            // Acquire: as the load above, for each further slot of the run.
            // A slot that says anything else ends the
            // run: not published yet, or taken already (then `head` moved
            // and our CAS fails).
            while n < k && self.slot(end).stamp.load(Ordering::Acquire) == end + 1 {
                n += 1;
                end = self.laps.advance(end);
            }
            let m = admit(head, n).min(n);
            if m == 0 {
                return None;
            }
            if m < n {
                // { lap, index } of position count(head) + m, m < capacity.
                end = self.laps.ahead(head, m);
            }
            // SeqCst: `head` is the key of the receive's notification of
            // publishers, as in `claim`; winning the CAS makes
            // the whole run ours, since every position of it was published
            // (stamps above) and only the owner of a position frees its
            // slot. On failure we only look again (Relaxed).
            match self
                .head
                .compare_exchange_weak(head, end, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => return Some((head, m)),
                Err(current) => {
                    head = current;
                    backoff.spin();
                }
            }
        }
    }

    /// Moves the message out of the slot of `pos`.
    ///
    /// # Safety
    ///
    /// The caller claimed `pos` ([`claim`](Fresh::claim) or
    /// [`claim_run`](Fresh::claim_run)) and has not taken it yet.
    #[inline]
    pub(crate) unsafe fn take(&self, pos: u64) -> T {
        // SAFETY: the caller owns the position (contract above), whose slot
        // holds the published value (the claim saw stamp == pos + 1 with
        // Acquire); it is read once, and the slot counts as uninitialized
        // from here on.
        self.slot(pos)
            .value
            .with(|p| unsafe { (*p).assume_init_read() })
    }

    /// Hands the slot of `pos`, whose message the caller took, to the
    /// publish one lap later.
    #[inline]
    pub(crate) fn free(&self, pos: u64) {
        // Release: orders our move out of the slot (and, for a receive, its
        // move into the table) before the next lap's publish (its Acquire
        // load in `try_push`) and before the watermark's reading of it.
        self.slot(pos)
            .stamp
            .store(self.laps.next_lap(pos), Ordering::Release);
    }

    /// Where the message published at `pos` (a position below the tail) is.
    pub(crate) fn whereabouts(&self, pos: u64) -> Whereabouts {
        // Acquire: pairs with the Release store in `free`, so a caller that
        // sees the slot freed then sees the message's entry in the table.
        let stamp = self.slot(pos).stamp.load(Ordering::Acquire);
        if (stamp.wrapping_sub(self.laps.next_lap(pos)) as i64) >= 0 {
            Whereabouts::Taken
        } else {
            Whereabouts::InSlot
        }
    }

    /// The first position whose slot has not been freed since its publish:
    /// every message published below it is in the table or settled, the
    /// message there (if published) is waiting or in transit.
    pub(crate) fn freed_below(&self) -> u64 {
        // Acquire: pairs with the AcqRel fetch_max below, so a reader of a
        // cached position also sees the frees behind it.
        let start = self.freed.load(Ordering::Acquire);
        let mut pos = start;
        while self.whereabouts(pos) == Whereabouts::Taken {
            pos = self.laps.advance(pos);
        }
        if pos != start {
            // AcqRel: see the load above. Positions only grow.
            self.freed.fetch_max(pos, Ordering::AcqRel);
        }
        pos
    }

    /// Closes the ring to publishes. Idempotent.
    pub(crate) fn close(&self) {
        // Relaxed: a publish is refused or counted according to whether its
        // CAS on `tail` comes after or before this RMW in the word's
        // modification order; no data travels with it.
        self.tail.fetch_or(CLOSED, Ordering::Relaxed);
    }

    /// Whether [`close`](Fresh::close) was called.
    pub(crate) fn is_closed(&self) -> bool {
        // Relaxed: as in `close`.
        self.tail.load(Ordering::Relaxed) & CLOSED != 0
    }

    /// The tail position (without the closed bit) and whether the ring is
    /// closed.
    pub(crate) fn tail(&self) -> (u64, bool) {
        // Relaxed: after `CLOSED` is set the tail is final (coherence on
        // this word); callers use it as a count.
        let tail = self.tail.load(Ordering::Relaxed);
        (tail & !CLOSED, tail & CLOSED != 0)
    }

    /// The head position.
    pub(crate) fn head(&self) -> u64 {
        // Relaxed: a count; entries are handed over by the stamps.
        self.head.load(Ordering::Relaxed)
    }

    /// Moves out every message still waiting, for the queue's `Drop`;
    /// `next` is where to resume (a head position), so that a panic in one
    /// value's `Drop` leaves the rest to be taken by a later call.
    pub(crate) fn take_remaining(&mut self, next: &mut u64) -> Option<T> {
        let tail = self.tail().0;
        if *next == tail {
            return None;
        }
        let pos = *next;
        *next = self.laps.advance(pos);
        // SAFETY: with `&mut self` no receive is in progress, so every
        // position from `head` up to `tail` holds its published message
        // (the publish that claimed a position wrote it before returning),
        // and each is taken once: `next` moves past it first.
        Some(unsafe { self.take(pos) })
    }
}
