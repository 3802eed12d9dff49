//! The fresh ring: messages waiting for their first delivery, in publish
//! order.
//!
//! It is the claim core of [`Ring`](crate::Ring) with its slot-only claims;
//! the claim core's module docs tell the algorithm. The ack layer uses it
//! in two ways of its own:
//!
//! - A receive is two steps.
//!   1. [`claim`](Fresh::claim) wins the position on `head`, after the
//!      caller's admission check (the prefetch limit). For a batch receive,
//!      [`claim_run`](Fresh::claim_run) wins a run of positions with one
//!      CAS.
//!   2. [`free`](Fresh::free) hands each slot to the next lap once the
//!      caller has moved its message into the table.
//!
//!   Between the two steps the slot still says "holds the message of this
//!   position". The watermark and `is_settled` read that to see a message
//!   in transit.
//! - The claims never wait for a thread mid-operation. A receive that
//!   finds the head slot being filled reports nothing fresh. The blocking
//!   calls' sleep checks ([`none_in_transit`](Fresh::none_in_transit),
//!   [`full_by_head`](Fresh::full_by_head)) tell that case from an empty
//!   (full) ring by the cursors.
//!
//! A message's sequence number is the count of its position
//! ([`Laps::count`]).

use crossbeam_utils::CachePadded;

use crate::error::PushError;
use crate::pos::Laps;
use crate::ring::claim::{Core, Refused};
use crate::sync::{AtomicU64, Ordering};

/// Where a published message is, as its fresh slot tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Whereabouts {
    /// Still in its slot: waiting for its first delivery, or taken by a
    /// receive that has not moved it into the table yet.
    InSlot,
    /// Out of the ring: in the table, or settled.
    Taken,
}

/// A message in a fresh slot, with the clock reading at which it expires
/// (its time to live, `ttl.rs`): [`NEVER`] for none.
pub(crate) struct Stamped<T> {
    pub(crate) msg: T,
    pub(crate) expires: u64,
}

/// The `expires` of a message without a time to live.
pub(crate) const NEVER: u64 = u64::MAX;

pub(crate) struct Fresh<T> {
    /// The slots and cursors; slot-only claims (no `done` hints).
    core: Core<Stamped<T>, false>,
    /// With latency recording on: the publish time of each slot's
    /// message, on the queue's clock, by slot index. Written by the
    /// publisher between its write and its publish (`Core::push_with`),
    /// so a receive, or a look that sees the slot published, sees it.
    publish_times: Option<Box<[AtomicU64]>>,
    /// A position below which every slot has been freed (a cache for
    /// [`Fresh::freed_below`]).
    freed: CachePadded<AtomicU64>,
}

impl<T> Fresh<T> {
    /// A ring of `capacity` free slots, or `None` if they cannot be
    /// allocated; `timed`: it keeps each message's publish time
    /// ([`try_push_timed`](Fresh::try_push_timed)).
    pub(crate) fn new(capacity: u64, timed: bool) -> Option<Self> {
        Some(Self {
            core: Core::new(capacity)?,
            publish_times: timed.then(|| (0..capacity).map(|_| AtomicU64::new(0)).collect()),
            freed: CachePadded::new(AtomicU64::new(0)),
        })
    }

    pub(crate) fn laps(&self) -> Laps {
        self.core.laps()
    }

    /// Publishes `msg`, expiring at clock reading `expires` ([`NEVER`]:
    /// never), at the tail if its slot is free; returns the position.
    #[inline(always)]
    pub(crate) fn try_push(&self, msg: T, expires: u64) -> Result<u64, PushError<T>> {
        self.core
            .push::<false>(Stamped { msg, expires })
            .map_err(|(Stamped { msg, .. }, why)| match why {
                Refused::Closed => PushError::Closed(msg),
                _ => PushError::Full(msg),
            })
    }

    /// [`try_push`](Fresh::try_push) for a ring built `timed`: the
    /// message's publish time, `now`, goes with it.
    #[inline]
    pub(crate) fn try_push_timed(
        &self,
        msg: T,
        expires: u64,
        now: u64,
    ) -> Result<u64, PushError<T>> {
        let laps = self.core.laps();
        let publish_times = self.publish_times.as_deref().unwrap_or(&[]);
        self.core
            .push_with::<false>(Stamped { msg, expires }, |pos| {
                if let Some(time) = publish_times.get(laps.index(pos) as usize) {
                    // Relaxed: published with the message by the Release
                    // store of the slot's stamp (`Core::push_with`), for the
                    // receive and for `oldest_publish_time`.
                    time.store(now, Ordering::Relaxed);
                }
            })
            .map_err(|(Stamped { msg, .. }, why)| match why {
                Refused::Closed => PushError::Closed(msg),
                _ => PushError::Full(msg),
            })
    }

    /// Whether the ring keeps publish times.
    #[inline(always)]
    pub(crate) fn keeps_publish_times(&self) -> bool {
        self.publish_times.is_some()
    }

    /// The publish time of the message at `pos`, for the receive that
    /// claimed it and has not freed it; 0 for a ring not `timed`.
    #[inline]
    pub(crate) fn publish_time(&self, pos: u64) -> u64 {
        let index = self.core.laps().index(pos) as usize;
        // Relaxed: the claim's Acquire load of the slot's stamp saw the
        // publish, which came after the store (`try_push_timed`).
        self.publish_times
            .as_deref()
            .and_then(|s| s.get(index))
            .map_or(0, |s| s.load(Ordering::Relaxed))
    }

    /// The publish time of the oldest message waiting in the ring, if the
    /// ring is `timed` and one waits at `head` (a look while others
    /// work).
    ///
    /// The time read is that of `head`'s message or of a later one. If the
    /// message is received and its slot published again meanwhile, the
    /// later message is the one waiting (or about to be), and its younger
    /// age is the right answer.
    pub(crate) fn oldest_publish_time(&self) -> Option<u64> {
        let publish_times = self.publish_times.as_deref()?;
        let head = self.core.head();
        let time = publish_times.get(self.core.laps().index(head) as usize)?;
        // Acquire (in `published`): pairs with the Release store of the
        // slot's stamp in the publish, so the time read next is not one of
        // an earlier lap's message.
        if !self.core.published(head) {
            return None;
        }
        // Relaxed: ordered by the Acquire above.
        Some(time.load(Ordering::Relaxed))
    }

    /// After a publish found no room: see
    /// [`Core::wait_for_room_ahead`] (`spin`: spinning only).
    pub(crate) fn wait_for_room_ahead(&self, spin: bool) {
        self.core.wait_for_room_ahead(spin);
    }

    /// Whether a publisher that found no room may sleep: `capacity`
    /// positions lie between `head` and `tail`, so no receive has won the
    /// position whose slot it needs. `false` once closed.
    ///
    /// It reads `head`, the key of receives' notifications, so it must be
    /// called after arming (`wait/mod.rs`, "Keyed notifications").
    pub(crate) fn full_by_head(&self) -> bool {
        // `tail` is the caller's own view, and a newer one can only make
        // the ring look fuller, which a later receive's notification
        // covers.
        let (tail, closed) = self.core.tail();
        if closed {
            return false;
        }
        let head = self.core.head_key();
        let laps = self.core.laps();
        // Saturating: `head` is read after `tail`, so publishes and
        // receives in between may have taken it past the `tail` read; the
        // ring was not full then, and the caller tries again.
        laps.count(tail).saturating_sub(laps.count(head)) >= laps.capacity()
    }

    /// Whether a receiver that found nothing may sleep as far as fresh
    /// messages go: every position below `tail` is claimed, or `admit`
    /// refuses the next one.
    ///
    /// It reads `tail`, the key of publishes' notifications, so it must be
    /// called after arming (`wait/mod.rs`, "Keyed notifications").
    pub(crate) fn none_in_transit(&self, admit: impl Fn(u64) -> bool) -> bool {
        let (tail, _) = self.core.tail_key();
        // `head` only decides which position `admit` is asked about.
        let head = self.core.head();
        tail == head || !admit(head)
    }

    /// Claims the message at `head`, if one is published there and `admit`
    /// (called with that position just before the CAS) allows. The slot is
    /// then the caller's: read it with [`take`](Fresh::take), then
    /// [`free`](Fresh::free) it.
    #[inline(always)]
    pub(crate) fn claim(&self, admit: impl Fn(u64) -> bool) -> Option<u64> {
        self.core.claim_pop::<false>(admit).ok()
    }

    /// Claims a run of up to `k` consecutive published messages from
    /// `head` with one CAS.
    ///
    /// It counts the slots from `head` on whose stamp says published. Just
    /// before the CAS it asks `admit`, called with `head` and that count,
    /// how many of them the caller may take, and moves `head` past those.
    /// Returns the first position and the length of the run. The slots are
    /// then the caller's, each to be read with [`take`](Fresh::take) and
    /// then [`free`](Fresh::free)d. `None` if nothing is published at
    /// `head` or `admit` allows none.
    #[inline]
    pub(crate) fn claim_run(&self, k: u64, admit: impl Fn(u64, u64) -> u64) -> Option<(u64, u64)> {
        let run = self.core.claim_pop_run::<false>(k, admit).ok()?;
        Some((run.pos, run.len))
    }

    /// Moves the message out of the slot of `pos`.
    ///
    /// # Safety
    ///
    /// The caller claimed `pos` ([`claim`](Fresh::claim) or
    /// [`claim_run`](Fresh::claim_run)) and has not taken it yet.
    #[inline(always)]
    pub(crate) unsafe fn take(&self, pos: u64) -> Stamped<T> {
        // SAFETY: the caller's contract, which is the core's.
        unsafe { self.core.take_at(pos) }
    }

    /// Hands the slot of `pos`, whose message the caller took, to the
    /// publish one lap later. A receive frees it after moving the message
    /// into the table, so that whoever sees the slot freed (the
    /// confirmations) sees the message's entry.
    #[inline(always)]
    pub(crate) fn free(&self, pos: u64) {
        self.core.free_at(pos);
    }

    /// Where the message published at `pos` (a position below the tail) is.
    pub(crate) fn whereabouts(&self, pos: u64) -> Whereabouts {
        if self.core.freed(pos) {
            Whereabouts::Taken
        } else {
            Whereabouts::InSlot
        }
    }

    /// The first position whose slot has not been freed since its publish.
    /// Every message published below it is in the table or settled. The
    /// message there, if published, is waiting or in transit.
    pub(crate) fn freed_below(&self) -> u64 {
        // Acquire: pairs with the AcqRel fetch_max below, so a reader of a
        // cached position also sees the frees behind it.
        let start = self.freed.load(Ordering::Acquire);
        let mut pos = start;
        while self.whereabouts(pos) == Whereabouts::Taken {
            pos = self.core.laps().advance(pos);
        }
        if pos != start {
            // AcqRel: see the load above. Positions only grow.
            self.freed.fetch_max(pos, Ordering::AcqRel);
        }
        pos
    }

    /// Closes the ring to publishes. Idempotent.
    pub(crate) fn close(&self) {
        self.core.close();
    }

    /// Whether [`close`](Fresh::close) was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    /// The tail position (without the closed bit) and whether the ring is
    /// closed.
    pub(crate) fn tail(&self) -> (u64, bool) {
        self.core.tail()
    }

    /// The head position.
    pub(crate) fn head(&self) -> u64 {
        self.core.head()
    }
}
