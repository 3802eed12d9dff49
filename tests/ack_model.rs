//! Model-based test: random operation sequences run against `AckQueue`
//! and against a plain single-threaded reference model; every result,
//! errors included, must match.
//!
//! The model keeps the queue's three parts explicitly:
//!
//! - the fresh ring as the list of messages waiting for their first
//!   delivery (at most `capacity` of them: only those hold back a
//!   publish);
//! - the table of `capacity` home entries and `max_in_flight +
//!   dead_letter_capacity` spare ones, each holding one delivered message
//!   from its first delivery until it is settled and no guard reads it any
//!   more. A first delivery of message `seq` takes its home entry, `seq %
//!   capacity`, if free, else the first free spare from spare `seq %
//!   spares` on (the low 32 bits of `seq`), and an entry's generation
//!   counts the times it became free again: both decide the tags, and
//!   which entry a message is in decides the order in which a scan finds
//!   redeliveries;
//! - the places: a prefetch place for every delivered message from its
//!   first delivery until its entry is freed, it is drained, or it becomes
//!   a dead letter on a free dead-letter place (an *overflow* dead letter,
//!   which found them all taken, keeps its prefetch place until taken).
//!
//! Settled messages (acked, taken from the dead letters, or drained) are
//! kept as a set, which answers `is_settled` and `settled_below`.
//!
//! Batches are the model's single operations in a row: a batch receive is
//! one scan step, requeued messages first, then fresh ones while the
//! prefetch limit allows, at most `max_in_flight` in all; a batch settle
//! is each item's settle in order, with its failures reported by index.

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use ackring::{
    AckError, AckQueue, DeadReason, Delivery, ManualClock, PushError, Redelivery, Seq, Tag,
};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Publish,
    /// A publish with a time to live of its own, in clock units.
    PublishTtl(u64),
    /// A delayed publish, due after this many clock units.
    PublishAfter(u64),
    Receive,
    Ack(usize),
    Nack(usize, bool),
    NackAfter(usize, u64),
    Detach(usize),
    Drop(usize),
    Extend(usize, u64),
    TagAck(usize),
    TagNack(usize, bool),
    TagNackAfter(usize, u64),
    TagExtend(usize, u64),
    ForeignAck,
    /// A batch receive of up to this many.
    ReceiveBatch(usize),
    /// A batch ack of guards: how many, from which.
    AckBatch(usize, usize),
    NackBatch(usize, usize, bool),
    /// A batch ack by tag: from which, how many (repeating tags past the
    /// end), and where a foreign tag goes, if anywhere.
    TagAckBatch(usize, usize, Option<usize>),
    TagNackBatch(usize, usize, bool),
    Advance(u64),
    RequeueExpired,
    ReceiveDead,
    SettledBelow,
    IsSettled(usize),
    Stats,
    Close,
    Drain,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        14 => Just(Op::Publish),
        3 => (1..4_u64).prop_map(Op::PublishTtl),
        3 => (0..4_u64).prop_map(Op::PublishAfter),
        14 => Just(Op::Receive),
        6 => any::<usize>().prop_map(Op::Ack),
        5 => (any::<usize>(), any::<bool>()).prop_map(|(g, r)| Op::Nack(g, r)),
        2 => (any::<usize>(), 0..4_u64).prop_map(|(g, d)| Op::NackAfter(g, d)),
        2 => any::<usize>().prop_map(Op::Detach),
        2 => any::<usize>().prop_map(Op::Drop),
        2 => (any::<usize>(), 1..6_u64).prop_map(|(g, d)| Op::Extend(g, d)),
        4 => any::<usize>().prop_map(Op::TagAck),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(g, r)| Op::TagNack(g, r)),
        2 => (any::<usize>(), 0..4_u64).prop_map(|(g, d)| Op::TagNackAfter(g, d)),
        2 => (any::<usize>(), 1..6_u64).prop_map(|(g, d)| Op::TagExtend(g, d)),
        1 => Just(Op::ForeignAck),
        6 => (0..7_usize).prop_map(Op::ReceiveBatch),
        4 => (any::<usize>(), 1..5_usize).prop_map(|(g, n)| Op::AckBatch(g, n)),
        2 => (any::<usize>(), 1..5_usize, any::<bool>()).prop_map(|(g, n, r)| Op::NackBatch(g, n, r)),
        3 => (any::<usize>(), 1..6_usize, prop::option::of(0..6_usize))
            .prop_map(|(g, n, f)| Op::TagAckBatch(g, n, f)),
        1 => (any::<usize>(), 1..5_usize, any::<bool>()).prop_map(|(g, n, r)| Op::TagNackBatch(g, n, r)),
        5 => (1..4_u64).prop_map(Op::Advance),
        2 => Just(Op::RequeueExpired),
        3 => Just(Op::ReceiveDead),
        1 => Just(Op::SettledBelow),
        2 => any::<usize>().prop_map(Op::IsSettled),
        2 => Just(Op::Stats),
        // Rare: both end most of the activity of the rest of a case.
        1 => Just(Op::Close),
        1 => Just(Op::Drain),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Holds no message; a first delivery may take it.
    Free,
    InFlight,
    Delayed,
    Redeliver,
    /// Acked while a guard still reads the message; the last holder to let
    /// go frees the entry.
    Settled,
    DeadPending,
    Dead,
}

/// One table entry: one delivered message, from its first delivery until
/// the entry is free again.
#[derive(Clone, Debug)]
struct Entry {
    phase: Phase,
    /// How many times the entry became free again.
    gen: u64,
    attempt: u32,
    holders: u32,
    expired: bool,
    exhausted: bool,
    /// A dead letter that found every dead-letter place taken: it holds
    /// its prefetch place until it is taken.
    overflow: bool,
    deadline: u64,
    /// When the current delivery was handed out; `None`: received without
    /// a clock reading and not yet seen in flight by `stats`.
    delivered_at: Option<u64>,
    delivery_count: u32,
    seq: u64,
    value: u32,
}

/// Nanoseconds in the model's time unit (the `ManualClock` advances by
/// whole seconds).
const NANOS: u64 = 1_000_000_000;

/// A model tag: (entry, generation, attempt).
type MTag = (usize, u64, u32);

struct Model {
    cap: usize,
    max_in_flight: usize,
    dead_cap: usize,
    lease: Option<u64>,
    max_deliveries: u32,
    /// The redelivery schedule, in clock units (empty: at once).
    backoff: Vec<u64>,
    /// The queue's time to live, in clock units, and whether expired
    /// messages are dropped (else dead-lettered).
    ttl: Option<u64>,
    drop_expired: bool,
    dropped: u64,
    /// `delay_capacity`, the delay places held, and the delayed publishes
    /// made (their order among equal due times).
    delay_cap: usize,
    scheduled: usize,
    schedule_order: u64,
    now: u64,
    closed: bool,
    next_seq: u64,
    /// Published, not yet delivered: (sequence number, value, when it
    /// expires) in publish order.
    fresh: VecDeque<(u64, u32, Option<u64>)>,
    /// The `capacity` home entries, then the `max_in_flight +
    /// dead_letter_capacity` spare ones.
    entries: Vec<Entry>,
    redeliver: VecDeque<usize>,
    dead: VecDeque<usize>,
    /// Prefetch places held.
    places: usize,
    /// Dead-letter places held.
    dead_held: usize,
    delayed: usize,
    cursor: usize,
    /// Clock reading (ns) before which no paced scan step runs, and the
    /// pace: a quarter of the lease over the steps of a whole pass.
    scan_due: u64,
    scan_interval: u64,
    /// Settled sequence numbers: acked, taken from the dead letters, or
    /// drained.
    settled: BTreeSet<u64>,
    delivered: u64,
    redelivered: u64,
    acked: u64,
    nacked: u64,
    expired: u64,
    dead_lettered: u64,
    dead_taken: u64,
}

/// A delivery: (seq, delivery count, redelivered, value, tag's (index,
/// generation, attempt)).
type Received = (u64, u32, bool, u32, (u64, u64, u64));

#[derive(Debug, PartialEq, Eq)]
enum Out {
    Published(Result<u64, (bool, u32)>),
    Scheduled(Result<(), (bool, u32)>),
    Received(Option<Received>),
    ReceivedBatch(Vec<Received>),
    /// A batch settle: how many settled, and the failures by index.
    Batch(usize, Vec<(usize, AckError)>),
    Settle(Result<(), AckError>),
    Detached,
    Count(usize),
    Dead(Option<(u64, u32, DeadReason, u32)>),
    Below(u64),
    IsSettled(u64, bool),
    Stats([u64; 13], Option<Duration>),
    Drained(Vec<u32>),
    Nothing,
}

impl Model {
    fn new(cfg: &Config) -> Self {
        let blank = Entry {
            phase: Phase::Free,
            gen: 0,
            attempt: 0,
            holders: 0,
            expired: false,
            exhausted: false,
            overflow: false,
            deadline: 0,
            delivered_at: None,
            delivery_count: 0,
            seq: 0,
            value: 0,
        };
        let len = cfg.cap + cfg.m + cfg.d + cfg.s;
        Model {
            cap: cfg.cap,
            max_in_flight: cfg.m,
            dead_cap: cfg.d,
            lease: cfg.lease,
            max_deliveries: cfg.k.unwrap_or(u32::MAX),
            backoff: cfg.backoff.clone(),
            ttl: cfg.ttl,
            drop_expired: cfg.drop_expired,
            dropped: 0,
            delay_cap: cfg.s,
            scheduled: 0,
            schedule_order: 0,
            now: 0,
            closed: false,
            next_seq: 0,
            fresh: VecDeque::new(),
            entries: vec![blank; len],
            redeliver: VecDeque::new(),
            dead: VecDeque::new(),
            places: 0,
            dead_held: 0,
            delayed: 0,
            cursor: 0,
            scan_due: 0,
            scan_interval: cfg
                .lease
                .map_or(0, |l| l * NANOS / 4 / len.div_ceil(2) as u64),
            settled: BTreeSet::new(),
            delivered: 0,
            redelivered: 0,
            acked: 0,
            nacked: 0,
            expired: 0,
            dead_lettered: 0,
            dead_taken: 0,
        }
    }

    /// A publish with the queue's time to live, or `ttl` if given.
    fn publish(&mut self, v: u32, ttl: Option<u64>) -> Result<u64, (bool, u32)> {
        if self.closed {
            return Err((true, v));
        }
        // Only messages waiting for their first delivery take room.
        if self.fresh.len() == self.cap {
            return Err((false, v));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let expires = ttl.or(self.ttl).map(|t| self.now + t);
        self.fresh.push_back((seq, v, expires));
        Ok(seq)
    }

    /// A delayed publish: a delay place and a spare entry (the first free
    /// one from spare `order % spares` on), `Delayed` with delivery count
    /// 0 until due.
    fn publish_after(&mut self, v: u32, delay: u64) -> Result<(), (bool, u32)> {
        if self.closed {
            return Err((true, v));
        }
        if self.scheduled == self.delay_cap {
            return Err((false, v));
        }
        let order = self.schedule_order;
        self.schedule_order += 1;
        let spares = self.entries.len() - self.cap;
        let first_spare = (u64::from(order as u32) % spares as u64) as usize;
        let i = (0..spares)
            .map(|k| self.cap + (first_spare + k) % spares)
            .find(|&i| self.entries[i].phase == Phase::Free)
            .expect("a free spare for a delayed publish");
        self.scheduled += 1;
        self.delayed += 1;
        let e = &mut self.entries[i];
        *e = Entry {
            phase: Phase::Delayed,
            gen: e.gen,
            attempt: 0,
            holders: 0,
            expired: false,
            exhausted: false,
            overflow: false,
            deadline: self.now + delay,
            delivered_at: Some(order),
            delivery_count: 0,
            seq: u64::MAX,
            value: v,
        };
        Ok(())
    }

    fn is_scheduled(e: &Entry) -> bool {
        e.phase == Phase::Delayed && e.attempt == 0
    }

    /// Publishes every due delayed publish, earliest due (then earliest
    /// made) first, while the fresh ring takes them.
    fn publish_due(&mut self) -> usize {
        let mut published = 0;
        loop {
            let best = (0..self.entries.len())
                .filter(|&i| Self::is_scheduled(&self.entries[i]))
                .filter(|&i| self.entries[i].deadline <= self.now)
                .min_by_key(|&i| (self.entries[i].deadline, self.entries[i].delivered_at));
            let Some(i) = best else { return published };
            if self.closed || self.fresh.len() == self.cap {
                return published;
            }
            let value = self.entries[i].value;
            self.free_entry(i);
            self.delayed -= 1;
            self.scheduled -= 1;
            let seq = self.next_seq;
            self.next_seq += 1;
            let expires = self.ttl.map(|t| self.now + t);
            self.fresh.push_back((seq, value, expires));
            published += 1;
        }
    }

    fn timed(&self) -> bool {
        self.lease.is_some() || self.delayed > 0
    }

    fn stamp(&self, timed: bool) -> Option<u64> {
        timed.then_some(self.now)
    }

    fn receive(&mut self) -> Option<(usize, MTag)> {
        let timed = self.timed();
        self.paced_scan_step(timed);
        if let Some(r) = self.take_redelivery(timed) {
            return Some(r);
        }
        if let Some(r) = self.take_fresh(timed) {
            return Some(r);
        }
        if timed && self.scan_all() > 0 {
            // A requeue it found, or a fresh message the prefetch place of
            // one it dead-lettered admits.
            return self
                .take_redelivery(timed)
                .or_else(|| self.take_fresh(timed));
        }
        None
    }

    /// A batch receive of up to `k`: one scan step, requeued messages
    /// first, then fresh ones while the prefetch limit allows (a batch
    /// takes at most `max_in_flight`), and a full scan if it found nothing,
    /// then the same again.
    fn receive_batch(&mut self, k: usize) -> Vec<(usize, MTag)> {
        let want = k.min(self.max_in_flight);
        let mut got = Vec::new();
        if want == 0 {
            return got;
        }
        let timed = self.timed();
        self.paced_scan_step(timed);
        while got.len() < want {
            match self.take_redelivery(timed) {
                Some(r) => got.push(r),
                None => break,
            }
        }
        self.take_run(want - got.len(), timed, &mut got);
        if got.is_empty() && timed && self.scan_all() > 0 {
            while got.len() < want {
                match self.take_redelivery(timed) {
                    Some(r) => got.push(r),
                    None => break,
                }
            }
            self.take_run(want - got.len(), timed, &mut got);
        }
        got
    }

    /// A receive's step of the scan, paced while no delayed requeue is
    /// pending.
    fn paced_scan_step(&mut self, timed: bool) {
        let step = timed
            && (self.delayed > 0 || {
                let now = self.now * NANOS;
                let due = now >= self.scan_due;
                if due {
                    self.scan_due = now + self.scan_interval;
                }
                due
            });
        if step {
            let n = self.entries.len();
            let start = self.cursor;
            self.cursor += 2;
            for k in 0..2.min(n) {
                self.scan_entry((start + k) % n);
            }
        }
    }

    /// A first delivery, if a message waits and the prefetch limit allows:
    /// expired messages on the way are dead-lettered (or dropped).
    fn take_fresh(&mut self, timed: bool) -> Option<(usize, MTag)> {
        loop {
            if self.fresh.is_empty() || self.places >= self.max_in_flight {
                return None;
            }
            if let Some(r) = self.first_delivery(timed) {
                return Some(r);
            }
        }
    }

    /// A batch's run: the messages that wait, at most `k` and as many as
    /// the prefetch limit admits, claimed at once; the expired ones among
    /// them are dead-lettered (or dropped), not replaced.
    fn take_run(&mut self, k: usize, timed: bool, got: &mut Vec<(usize, MTag)>) {
        let n = k
            .min(self.fresh.len())
            .min(self.max_in_flight.saturating_sub(self.places));
        for _ in 0..n {
            if let Some(r) = self.first_delivery(timed) {
                got.push(r);
            }
        }
    }

    /// Takes the first waiting message with a prefetch place: delivers it,
    /// or, if it expired, dead-letters it with delivery count 0 (or drops
    /// it) and returns `None`.
    fn first_delivery(&mut self, timed: bool) -> Option<(usize, MTag)> {
        let (seq, value, expires) = self.fresh.pop_front().unwrap();
        // An expired message is taken, never delivered.
        if expires.is_some_and(|at| self.now >= at) && self.drop_expired {
            self.dropped += 1;
            self.settled.insert(seq);
            return None;
        }
        let home = (seq % self.cap as u64) as usize;
        let spares = self.entries.len() - self.cap;
        let first_spare = (u64::from(seq as u32) % spares as u64) as usize;
        // Entries with a place are at most `max_in_flight`, those with
        // a dead-letter place at most `dead_letter_capacity`: a free
        // spare is left for a delivery that got a place.
        let i = if self.entries[home].phase == Phase::Free {
            home
        } else {
            (0..spares)
                .map(|k| self.cap + (first_spare + k) % spares)
                .find(|&i| self.entries[i].phase == Phase::Free)
                .expect("a free spare for a delivery within the prefetch limit")
        };
        self.places += 1;
        if expires.is_some_and(|at| self.now >= at) {
            let e = &mut self.entries[i];
            *e = Entry {
                phase: Phase::Dead,
                gen: e.gen,
                attempt: 0,
                holders: 0,
                expired: false,
                exhausted: false,
                overflow: false,
                deadline: 0,
                delivered_at: None,
                delivery_count: 0,
                seq,
                value,
            };
            self.dead_lettered += 1;
            self.enter_dead(i);
            return None;
        }
        self.delivered += 1;
        let deadline = self.lease.map_or(u64::MAX, |l| self.now + l);
        let at = self.stamp(timed);
        let e = &mut self.entries[i];
        *e = Entry {
            phase: Phase::InFlight,
            gen: e.gen,
            attempt: 1,
            holders: 1,
            expired: false,
            exhausted: false,
            overflow: false,
            deadline,
            delivered_at: at,
            delivery_count: 1,
            seq,
            value,
        };
        Some((i, (i, e.gen, 1)))
    }

    fn take_redelivery(&mut self, timed: bool) -> Option<(usize, MTag)> {
        let i = self.redeliver.pop_front()?;
        let lease = self.lease;
        let now = self.now;
        let at = self.stamp(timed);
        self.delivered += 1;
        self.redelivered += 1;
        let e = &mut self.entries[i];
        assert_eq!(e.phase, Phase::Redeliver);
        e.delivery_count += 1;
        e.attempt = e.delivery_count;
        e.holders += 1;
        e.phase = Phase::InFlight;
        e.expired = false;
        e.exhausted = false;
        e.deadline = lease.map_or(u64::MAX, |l| now + l);
        e.delivered_at = at;
        Some((i, (i, e.gen, e.attempt)))
    }

    fn scan_all(&mut self) -> usize {
        (0..self.entries.len())
            .filter(|&i| self.scan_entry(i))
            .count()
    }

    fn scan_entry(&mut self, i: usize) -> bool {
        let now = self.now;
        let e = &self.entries[i];
        match e.phase {
            Phase::InFlight if self.lease.is_some() && e.deadline <= now => {
                self.expired += 1;
                if e.delivery_count >= self.max_deliveries {
                    self.make_dead(i, true, true);
                } else {
                    let delay = self.backoff_of(e.delivery_count);
                    self.entries[i].expired = true;
                    self.requeue(i, delay);
                }
                true
            }
            Phase::Delayed if e.attempt == 0 => e.deadline <= now && self.publish_due() > 0,
            Phase::Delayed if e.deadline <= now => {
                self.entries[i].phase = Phase::Redeliver;
                self.delayed -= 1;
                self.redeliver.push_back(i);
                true
            }
            _ => false,
        }
    }

    /// The redelivery schedule's delay after delivery `n`, in clock units.
    fn backoff_of(&self, n: u32) -> u64 {
        let k = (n.max(1) as usize - 1).min(self.backoff.len().saturating_sub(1));
        self.backoff.get(k).copied().unwrap_or(0)
    }

    /// Requeues entry `i` (its state set but the phase) after `delay`
    /// clock units.
    fn requeue(&mut self, i: usize, delay: u64) {
        if delay == 0 {
            self.entries[i].phase = Phase::Redeliver;
            self.redeliver.push_back(i);
        } else {
            self.delayed += 1;
            self.entries[i].phase = Phase::Delayed;
            self.entries[i].deadline = self.now + delay;
        }
    }

    fn make_dead(&mut self, i: usize, expired: bool, exhausted: bool) {
        let e = &mut self.entries[i];
        e.expired = expired;
        e.exhausted = exhausted;
        self.dead_lettered += 1;
        if e.holders > 0 {
            e.phase = Phase::DeadPending;
        } else {
            self.enter_dead(i);
        }
    }

    /// The entry becomes a dead letter with no holders: onto a dead-letter
    /// place (giving its prefetch place back) if one is free, else it keeps
    /// its prefetch place.
    fn enter_dead(&mut self, i: usize) {
        let e = &mut self.entries[i];
        e.phase = Phase::Dead;
        if self.dead_held < self.dead_cap {
            self.dead_held += 1;
            self.places -= 1;
            e.overflow = false;
        } else {
            e.overflow = true;
        }
        self.dead.push_back(i);
    }

    /// The entry's message is gone (its value moved out or dropped): free
    /// for the next first delivery, one generation on.
    fn free_entry(&mut self, i: usize) {
        let e = &mut self.entries[i];
        assert_eq!(e.holders, 0);
        e.phase = Phase::Free;
        e.gen += 1;
    }

    /// An acked entry nobody reads any more is freed, and its prefetch
    /// place given back.
    fn free_acked(&mut self, i: usize) {
        assert_eq!(self.entries[i].phase, Phase::Settled);
        self.free_entry(i);
        self.places -= 1;
    }

    fn let_go(&mut self, i: usize) {
        let e = &mut self.entries[i];
        assert!(e.holders > 0);
        e.holders -= 1;
        if e.holders == 0 {
            match e.phase {
                Phase::Settled => self.free_acked(i),
                Phase::DeadPending => self.enter_dead(i),
                _ => {}
            }
        }
    }

    fn classify(&self, t: MTag) -> Result<(), AckError> {
        let e = &self.entries[t.0];
        if e.gen != t.1 || e.phase == Phase::Free {
            return Err(AckError::AlreadySettled);
        }
        if e.attempt != t.2 {
            return Err(AckError::Stale);
        }
        match e.phase {
            Phase::InFlight => Ok(()),
            Phase::Redeliver | Phase::Delayed | Phase::DeadPending | Phase::Dead if e.expired => {
                Err(AckError::Stale)
            }
            _ => Err(AckError::AlreadySettled),
        }
    }

    /// how: 0 ack, 1 requeue (after the schedule's delay), 2 reject, 3
    /// delayed requeue (delay; zero: at once, whatever the schedule).
    fn settle(&mut self, t: MTag, how: u8, delay: u64, guard: bool) -> Result<(), AckError> {
        let i = t.0;
        if let Err(e) = self.classify(t) {
            if guard {
                self.let_go(i);
            }
            return Err(e);
        }
        if guard {
            self.entries[i].holders -= 1;
        }
        let exhausted = self.entries[i].delivery_count >= self.max_deliveries;
        match how {
            0 => {
                // Settled at the ack, even while another guard reads it;
                // the entry (and its place) is freed when nobody does.
                self.acked += 1;
                self.settled.insert(self.entries[i].seq);
                self.entries[i].phase = Phase::Settled;
                if self.entries[i].holders == 0 {
                    self.free_acked(i);
                }
            }
            2 => {
                self.nacked += 1;
                self.make_dead(i, false, false);
            }
            _ if exhausted => {
                self.nacked += 1;
                self.make_dead(i, false, true);
            }
            1 => {
                self.nacked += 1;
                let delay = self.backoff_of(self.entries[i].delivery_count);
                self.requeue(i, delay);
            }
            _ => {
                self.nacked += 1;
                self.requeue(i, delay);
            }
        }
        Ok(())
    }

    /// A batch settle, item by item (`None`: a foreign tag); what the
    /// batch call reports.
    fn settle_batch(
        &mut self,
        items: impl Iterator<Item = Option<MTag>>,
        how: u8,
        guard: bool,
    ) -> Out {
        let mut settled = 0;
        let mut errors = Vec::new();
        for (i, item) in items.enumerate() {
            let result = match item {
                Some(t) => self.settle(t, how, 0, guard),
                None => Err(AckError::ForeignTag),
            };
            match result {
                Ok(()) => settled += 1,
                Err(e) => errors.push((i, e)),
            }
        }
        Out::Batch(settled, errors)
    }

    /// The delivery of entry `i` with tag `t`, as the outputs show it.
    fn received(&self, i: usize, t: MTag) -> Received {
        let e = &self.entries[i];
        (
            e.seq,
            e.delivery_count,
            e.delivery_count > 1,
            e.value,
            (t.0 as u64, t.1, u64::from(t.2)),
        )
    }

    fn extend(&mut self, t: MTag, by: u64) -> Result<(), AckError> {
        self.classify(t)?;
        if self.lease.is_some() {
            let e = &mut self.entries[t.0];
            e.deadline = e.deadline.max(self.now + by);
        }
        Ok(())
    }

    fn receive_dead(&mut self) -> Option<(u64, u32, DeadReason, u32)> {
        let i = self.dead.pop_front()?;
        let e = self.entries[i].clone();
        assert_eq!((e.phase, e.holders), (Phase::Dead, 0));
        self.free_entry(i);
        if e.overflow {
            self.places -= 1;
        } else {
            self.dead_held -= 1;
        }
        self.settled.insert(e.seq);
        self.dead_taken += 1;
        let reason = if e.delivery_count == 0 {
            DeadReason::Expired
        } else if e.exhausted {
            DeadReason::MaxDeliveries
        } else {
            DeadReason::Rejected
        };
        Some((e.seq, e.delivery_count, reason, e.value))
    }

    fn is_settled(&self, seq: u64) -> bool {
        self.settled.contains(&seq)
    }

    fn below(&self) -> u64 {
        (0..).find(|s| !self.settled.contains(s)).unwrap()
    }

    /// What `drain` hands back, in its order: fresh messages, requeued
    /// ones nobody holds, dead letters, then entries in flight or delayed
    /// that nobody holds, by index.
    fn drain(&mut self) -> Vec<u32> {
        let mut out = Vec::new();
        while let Some((seq, v, _)) = self.fresh.pop_front() {
            self.settled.insert(seq);
            out.push(v);
        }
        let mut kept = VecDeque::new();
        while let Some(i) = self.redeliver.pop_front() {
            if self.entries[i].holders == 0 {
                out.push(self.take_out(i));
            } else {
                kept.push_back(i);
            }
        }
        self.redeliver = kept;
        while let Some((_, _, _, v)) = self.receive_dead() {
            out.push(v);
        }
        for i in 0..self.entries.len() {
            let e = &self.entries[i];
            if Self::is_scheduled(e) {
                out.push(e.value);
                self.free_entry(i);
                self.delayed -= 1;
                self.scheduled -= 1;
            } else if e.holders == 0 && matches!(e.phase, Phase::InFlight | Phase::Delayed) {
                if e.phase == Phase::Delayed {
                    self.delayed -= 1;
                }
                out.push(self.take_out(i));
            }
        }
        out
    }

    /// Drains a delivered message: settled, its entry freed and its place
    /// given back.
    fn take_out(&mut self, i: usize) -> u32 {
        let e = self.entries[i].clone();
        self.free_entry(i);
        self.places -= 1;
        self.settled.insert(e.seq);
        e.value
    }

    /// The stats, and the oldest delivery's age (stamping those received
    /// without a clock reading, as the queue does).
    fn stats(&mut self) -> ([u64; 13], Option<Duration>) {
        // `delayed` counts the delayed publishes too, which are not
        // published yet: not ready.
        let waiting = self.redeliver.len() + self.delayed - self.scheduled;
        let now = self.now;
        let mut in_flight = 0;
        let mut oldest = None;
        for e in &mut self.entries {
            if e.phase == Phase::InFlight {
                in_flight += 1;
                let at = *e.delivered_at.get_or_insert(now);
                oldest = oldest.max(Some(now - at));
            }
        }
        (
            [
                (self.fresh.len() + waiting) as u64,
                in_flight as u64,
                self.dead_lettered - self.dead_taken,
                self.next_seq,
                self.delivered,
                self.redelivered,
                self.acked,
                self.nacked,
                self.expired,
                self.dead_lettered,
                u64::from(self.closed),
                self.scheduled as u64,
                self.dropped,
            ],
            oldest.map(Duration::from_secs),
        )
    }

    /// The model's own invariants: the places and rings agree with the
    /// entries, the bounds hold, and every published message is in exactly
    /// one place (waiting, in an entry, or settled).
    fn check(&self) {
        assert!(self.fresh.len() <= self.cap);
        let count = |f: &dyn Fn(&Entry) -> bool| self.entries.iter().filter(|e| f(e)).count();
        let prefetch = count(&|e| {
            !Self::is_scheduled(e)
                && matches!(
                    e.phase,
                    Phase::InFlight
                        | Phase::Delayed
                        | Phase::Redeliver
                        | Phase::Settled
                        | Phase::DeadPending
                )
                || (e.phase == Phase::Dead && e.overflow)
        });
        assert_eq!(self.places, prefetch, "prefetch places");
        assert!(self.places <= self.max_in_flight);
        let dead_places = count(&|e| e.phase == Phase::Dead && !e.overflow);
        assert_eq!(self.dead_held, dead_places, "dead-letter places");
        assert!(self.dead_held <= self.dead_cap);
        assert_eq!(self.delayed, count(&|e| e.phase == Phase::Delayed));
        assert_eq!(self.scheduled, count(&|e| Self::is_scheduled(e)));
        assert!(self.scheduled <= self.delay_cap);
        assert_eq!(
            self.dead_lettered - self.dead_taken,
            count(&|e| matches!(e.phase, Phase::Dead | Phase::DeadPending)) as u64
        );
        for (ring, phase) in [
            (&self.redeliver, Phase::Redeliver),
            (&self.dead, Phase::Dead),
        ] {
            let members: BTreeSet<usize> = ring.iter().copied().collect();
            assert_eq!(members.len(), ring.len(), "an index twice in a ring");
            for (i, e) in self.entries.iter().enumerate() {
                assert_eq!(e.phase == phase, members.contains(&i), "{phase:?} ring");
            }
        }
        let mut unsettled = BTreeSet::new();
        for &(seq, _, _) in &self.fresh {
            assert!(unsettled.insert(seq));
        }
        for e in &self.entries {
            match e.phase {
                Phase::Free => assert_eq!(e.holders, 0),
                // No sequence number until it is published.
                Phase::Delayed if e.attempt == 0 => assert_eq!(e.seq, u64::MAX),
                Phase::Settled => {
                    assert!(e.holders > 0);
                    assert!(self.settled.contains(&e.seq));
                }
                _ => {
                    if e.phase == Phase::DeadPending {
                        assert!(e.holders > 0);
                    }
                    if e.phase == Phase::Dead {
                        assert_eq!(e.holders, 0);
                    }
                    assert!(unsettled.insert(e.seq), "a message in two places");
                }
            }
        }
        for seq in 0..self.next_seq {
            assert!(
                self.settled.contains(&seq) != unsettled.contains(&seq),
                "message {seq}: settled, or waiting or in an entry"
            );
        }
        assert!(self.settled.iter().all(|&s| s < self.next_seq));
    }
}

#[derive(Debug)]
struct Config {
    cap: usize,
    m: usize,
    /// `dead_letter_capacity`.
    d: usize,
    lease: Option<u64>,
    k: Option<u32>,
    /// `delay_capacity`.
    s: usize,
    /// The redelivery schedule, in clock units.
    backoff: Vec<u64>,
    /// The queue's time to live, in clock units.
    ttl: Option<u64>,
    drop_expired: bool,
}

fn config() -> impl Strategy<Value = Config> {
    (
        1..6_usize,
        1..5_usize,
        1..4_usize,
        prop::option::of(1..5_u64),
        prop::option::of(1..4_u32),
        (
            0..3_usize,
            prop::collection::vec(0..3_u64, 0..3),
            prop::option::of(1..5_u64),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(cap, m, d, lease, k, (s, backoff, ttl, drop_expired))| Config {
                cap,
                m,
                d,
                lease,
                k,
                s,
                backoff,
                ttl,
                drop_expired,
            },
        )
}

/// Most operations one case runs, hence most messages it publishes.
const MAX_OPS: usize = 120;

/// `Seq`s 0 up to past any a case publishes, from a queue of their own,
/// to ask the queue under test about sequence numbers it has not
/// published yet (`Seq` has no public constructor).
fn spare_seqs() -> &'static [Seq] {
    static SEQS: OnceLock<Vec<Seq>> = OnceLock::new();
    SEQS.get_or_init(|| {
        let n = MAX_OPS + 2;
        let q = AckQueue::<()>::builder().capacity(n).build().unwrap();
        (0..n).map(|_| q.try_publish(()).unwrap()).collect()
    })
}

/// A tag's (index, generation, attempt), read from its `Debug` output
/// (the fields are private).
fn tag_fields(tag: Tag) -> (u64, u64, u64) {
    fields_of_tag_in(&format!("{tag:?}"))
}

/// The (index, generation, attempt) of the tag that `text`, the `Debug`
/// output of a tag or of a delivery, shows.
fn fields_of_tag_in(text: &str) -> (u64, u64, u64) {
    let field = |name: &str| -> u64 {
        let at = text.find(&format!("{name}: ")).expect("tag field") + name.len() + 2;
        let digits: String = text[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().expect("tag field value")
    };
    (field("index"), field("gen"), field("attempt"))
}

fn real_stats(q: &AckQueue<u32>) -> ([u64; 13], Option<Duration>) {
    let s = q.stats();
    (
        [
            s.ready as u64,
            s.in_flight as u64,
            s.dead_letters as u64,
            s.published,
            s.delivered,
            s.redelivered,
            s.acked,
            s.nacked,
            s.expired,
            s.dead_lettered,
            u64::from(q.is_closed()),
            s.scheduled as u64,
            s.dropped,
        ],
        s.oldest_in_flight,
    )
}

/// How long a `try_receive` may take before it counts as stuck: long for
/// the first one, as a receive takes microseconds; once one was stuck (the
/// queue is wrong, and the case is shrinking), short, so that shrinking
/// through stuck cases stays quick.
const STUCK_FIRST: Duration = Duration::from_secs(1);
const STUCK_AGAIN: Duration = Duration::from_millis(20);
/// How long ending a stuck receive may take before the test aborts.
const UNSTICK: Duration = Duration::from_secs(10);

/// `receive` (a `try_receive`, or a batch) while the table may have no
/// free entry left for it, on a thread of its own: a queue that finds a
/// prefetch place the model does not have would wait there for a free
/// entry forever. That wait fails the case; it is ended first (every guard
/// dropped, then drains until the receive gets an entry) so that the case
/// can return and shrink.
fn receive_watched<'q, R: Send + 'q>(
    q: &'q AckQueue<u32>,
    guards: &mut Vec<(Delivery<'q, u32>, MTag)>,
    receive: impl FnOnce() -> R + Send + 'q,
) -> Result<R, TestCaseError> {
    static STUCK_BEFORE: AtomicBool = AtomicBool::new(false);
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        s.spawn(move || tx.send(receive()).ok());
        let patience = if STUCK_BEFORE.load(Relaxed) {
            STUCK_AGAIN
        } else {
            STUCK_FIRST
        };
        if let Ok(d) = rx.recv_timeout(patience) {
            return Ok(d);
        }
        STUCK_BEFORE.store(true, Relaxed);
        guards.clear();
        let start = Instant::now();
        while rx.try_recv().is_err() {
            if start.elapsed() > UNSTICK {
                eprintln!(
                    "a receive stays stuck though every guard was dropped and the queue drained"
                );
                std::process::abort();
            }
            drop(q.drain());
            std::thread::yield_now();
        }
        Err(TestCaseError::fail(
            "a receive is stuck waiting for a free entry: the queue took a \
             prefetch place beyond the model's, with every entry busy",
        ))
    })
}

/// A delivery as the model's outputs show it. Its tag is read from its
/// `Debug` output, not taken with `tag()`, which would hand it out (a
/// guard whose tag is out settles by CAS, one whose tag is not by plain
/// stores: `run` takes the tags of every other delivery, so both kinds
/// meet every operation).
fn received(d: &Delivery<'_, u32>) -> Received {
    (
        d.seq().get(),
        d.delivery_count(),
        d.redelivered(),
        **d,
        fields_of_tag_in(&format!("{d:?}")),
    )
}

/// Hands out the tag of every other delivery (`tag()`) into `tags`, for
/// the operations by tag; the other deliveries keep theirs.
fn take_every_other_tag(
    handed: &mut usize,
    tags: &mut Vec<(Tag, MTag)>,
    d: &Delivery<'_, u32>,
    t: MTag,
) {
    if *handed % 2 == 0 {
        tags.push((d.tag(), t));
    }
    *handed += 1;
}

fn run(cfg: Config, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let clock = ManualClock::new();
    let unit = Duration::from_secs(1);
    let mut b = AckQueue::<u32>::builder()
        .capacity(cfg.cap)
        .max_in_flight(cfg.m)
        .dead_letter_capacity(cfg.d)
        .delay_capacity(cfg.s)
        .drop_expired(cfg.drop_expired)
        .redelivery(Redelivery::schedule(
            cfg.backoff.iter().map(|&d| unit * d as u32),
        ))
        .clock(clock.clone());
    if let Some(l) = cfg.lease {
        b = b.lease(unit * l as u32);
    }
    if let Some(k) = cfg.k {
        b = b.max_deliveries(k);
    }
    if let Some(t) = cfg.ttl {
        b = b.ttl(unit * t as u32);
    }
    let q = b.build().unwrap();
    prop_assert_eq!(
        (q.capacity(), q.max_in_flight(), q.dead_letter_capacity()),
        (cfg.cap, cfg.m, cfg.d)
    );
    let other = AckQueue::<u32>::builder().build().unwrap();
    other.try_publish(0).unwrap();
    let foreign = other.try_receive().unwrap().detach();
    let spare = spare_seqs();

    let mut m = Model::new(&cfg);
    let mut guards: Vec<(Delivery<'_, u32>, MTag)> = Vec::new();
    let mut tags: Vec<(Tag, MTag)> = Vec::new();
    // Deliveries received so far: every other one's tag is handed out.
    let mut handed = 0_usize;
    // The queue's own `Seq`s, by sequence number.
    let mut seqs: Vec<Seq> = Vec::new();
    let mut next_value = 0_u32;

    for op in ops {
        let (real, model) = match op {
            Op::Publish => {
                next_value += 1;
                let real = match q.try_publish(next_value) {
                    Ok(s) => {
                        seqs.push(s);
                        Ok(s.get())
                    }
                    Err(PushError::Closed(v)) => Err((true, v)),
                    Err(PushError::Full(v)) => Err((false, v)),
                };
                (
                    Out::Published(real),
                    Out::Published(m.publish(next_value, None)),
                )
            }
            Op::PublishAfter(t) => {
                next_value += 1;
                let real = match q.try_publish_after(next_value, unit * t as u32) {
                    Ok(()) => Ok(()),
                    Err(PushError::Closed(v)) => Err((true, v)),
                    Err(PushError::Full(v)) => Err((false, v)),
                };
                let model = m.publish_after(next_value, t);
                (Out::Scheduled(real), Out::Scheduled(model))
            }
            Op::PublishTtl(t) => {
                next_value += 1;
                let real = match q.try_publish_with_ttl(next_value, unit * t as u32) {
                    Ok(s) => {
                        seqs.push(s);
                        Ok(s.get())
                    }
                    Err(PushError::Closed(v)) => Err((true, v)),
                    Err(PushError::Full(v)) => Err((false, v)),
                };
                let model = m.publish(next_value, Some(t));
                (Out::Published(real), Out::Published(model))
            }
            Op::Receive => {
                let table_full = m.entries.iter().all(|e| e.phase != Phase::Free);
                let real = if table_full {
                    receive_watched(&q, &mut guards, || q.try_receive())?
                } else {
                    q.try_receive()
                };
                let model = m.receive();
                let r = real.as_ref().map(received);
                let mo = model.map(|(i, t)| m.received(i, t));
                if let (Some(d), Some((_, t))) = (real, model) {
                    take_every_other_tag(&mut handed, &mut tags, &d, t);
                    guards.push((d, t));
                }
                (Out::Received(r), Out::Received(mo))
            }
            Op::ReceiveBatch(k) => {
                // Watched: the batch may use up the free entries.
                let queue = &q;
                let real = receive_watched(&q, &mut guards, move || {
                    let mut out = Vec::new();
                    queue.try_receive_batch(k, &mut out);
                    out
                })?;
                let model = m.receive_batch(k);
                let r = real.iter().map(received).collect();
                let mo = model.iter().map(|&(i, t)| m.received(i, t)).collect();
                // Paired in order; a mismatch fails the case below.
                for (d, &(_, t)) in real.into_iter().zip(&model) {
                    take_every_other_tag(&mut handed, &mut tags, &d, t);
                    guards.push((d, t));
                }
                (Out::ReceivedBatch(r), Out::ReceivedBatch(mo))
            }
            Op::AckBatch(g, n) | Op::NackBatch(g, n, _) if !guards.is_empty() => {
                // `n` guards from `g` on, in their order.
                let from = g % guards.len();
                let picked: Vec<_> = guards.drain(from..(from + n).min(guards.len())).collect();
                let how = match op {
                    Op::NackBatch(_, _, true) => 1,
                    Op::NackBatch(_, _, false) => 2,
                    _ => 0,
                };
                let mut errors = Vec::new();
                let (ts, ds): (Vec<MTag>, Vec<_>) = picked.into_iter().map(|(d, t)| (t, d)).unzip();
                let settled = match how {
                    0 => q.ack_batch(ds, &mut errors),
                    h => q.nack_batch(ds, h == 1, &mut errors),
                };
                (
                    Out::Batch(settled, errors),
                    m.settle_batch(ts.into_iter().map(Some), how, true),
                )
            }
            Op::TagAckBatch(g, n, _) | Op::TagNackBatch(g, n, _) if !tags.is_empty() => {
                // `n` tags from `g` on, wrapping (so a tag may come twice),
                // and a foreign one where asked.
                let mut picked: Vec<Option<(Tag, MTag)>> =
                    (0..n).map(|j| Some(tags[(g + j) % tags.len()])).collect();
                if let Op::TagAckBatch(_, _, Some(at)) = op {
                    picked.insert(at.min(picked.len()), None);
                }
                let real: Vec<Tag> = picked
                    .iter()
                    .map(|p| p.map_or(foreign, |(t, _)| t))
                    .collect();
                let model = picked.iter().map(|p| p.map(|(_, t)| t));
                let mut errors = Vec::new();
                match op {
                    Op::TagNackBatch(_, _, r) => (
                        Out::Batch(q.nack_batch(real, r, &mut errors), errors),
                        m.settle_batch(model, if r { 1 } else { 2 }, false),
                    ),
                    _ => (
                        Out::Batch(q.ack_batch(real, &mut errors), errors),
                        m.settle_batch(model, 0, false),
                    ),
                }
            }
            Op::Ack(g) | Op::Nack(g, _) | Op::NackAfter(g, _) | Op::Drop(g) | Op::Detach(g)
                if !guards.is_empty() =>
            {
                let (d, t) = guards.swap_remove(g % guards.len());
                match op {
                    Op::Ack(_) => (Out::Settle(d.ack()), Out::Settle(m.settle(t, 0, 0, true))),
                    Op::Nack(_, r) => (
                        Out::Settle(d.nack(r)),
                        Out::Settle(m.settle(t, if r { 1 } else { 2 }, 0, true)),
                    ),
                    Op::NackAfter(_, s) => (
                        Out::Settle(d.nack_after(unit * s as u32)),
                        Out::Settle(m.settle(t, 3, s, true)),
                    ),
                    Op::Drop(_) => {
                        drop(d);
                        let _ = m.settle(t, 1, 0, true);
                        (Out::Nothing, Out::Nothing)
                    }
                    _ => {
                        let tag = d.detach();
                        m.let_go(t.0);
                        prop_assert_eq!(tag_fields(tag), (t.0 as u64, t.1, u64::from(t.2)));
                        (Out::Detached, Out::Detached)
                    }
                }
            }
            Op::Extend(g, by) if !guards.is_empty() => {
                let (d, t) = &guards[g % guards.len()];
                (
                    Out::Settle(d.extend_lease(unit * by as u32)),
                    Out::Settle(m.extend(*t, by)),
                )
            }
            Op::TagAck(g) | Op::TagNack(g, _) | Op::TagNackAfter(g, _) | Op::TagExtend(g, _)
                if !tags.is_empty() =>
            {
                let (tag, t) = tags[g % tags.len()];
                match op {
                    Op::TagAck(_) => (
                        Out::Settle(q.ack(tag)),
                        Out::Settle(m.settle(t, 0, 0, false)),
                    ),
                    Op::TagNack(_, r) => (
                        Out::Settle(q.nack(tag, r)),
                        Out::Settle(m.settle(t, if r { 1 } else { 2 }, 0, false)),
                    ),
                    Op::TagNackAfter(_, s) => (
                        Out::Settle(q.nack_after(tag, unit * s as u32)),
                        Out::Settle(m.settle(t, 3, s, false)),
                    ),
                    Op::TagExtend(_, by) => (
                        Out::Settle(q.extend_lease(tag, unit * by as u32)),
                        Out::Settle(m.extend(t, by)),
                    ),
                    _ => unreachable!(),
                }
            }
            Op::ForeignAck => (
                Out::Settle(q.ack(foreign)),
                Out::Settle(Err(AckError::ForeignTag)),
            ),
            Op::Advance(s) => {
                clock.advance(unit * s as u32);
                m.now += s;
                (Out::Nothing, Out::Nothing)
            }
            Op::RequeueExpired => (Out::Count(q.requeue_expired()), Out::Count(m.scan_all())),
            Op::ReceiveDead => (
                Out::Dead(q.try_receive_dead_letter().map(|d| {
                    (
                        d.seq().get(),
                        d.delivery_count(),
                        d.reason(),
                        d.into_inner(),
                    )
                })),
                Out::Dead(m.receive_dead()),
            ),
            Op::SettledBelow => (Out::Below(q.settled_below().get()), Out::Below(m.below())),
            Op::IsSettled(k) => {
                // A published message, or one of the next two not yet
                // published (never settled).
                let n = k % (m.next_seq as usize + 2);
                let seq = spare[n];
                (
                    Out::IsSettled(seq.get(), q.is_settled(seq)),
                    Out::IsSettled(n as u64, m.is_settled(n as u64)),
                )
            }
            Op::Stats => {
                let (real, real_oldest) = real_stats(&q);
                let (model, oldest) = m.stats();
                (Out::Stats(real, real_oldest), Out::Stats(model, oldest))
            }
            Op::Close => {
                q.close();
                m.closed = true;
                (Out::Nothing, Out::Nothing)
            }
            Op::Drain => (Out::Drained(q.drain()), Out::Drained(m.drain())),
            _ => (Out::Nothing, Out::Nothing),
        };
        prop_assert_eq!(real, model, "after {:?}", op);
        m.check();
        // Every guard still reads its own message, in the entry it was
        // delivered from.
        for (d, t) in &guards {
            let e = &m.entries[t.0];
            prop_assert!(e.holders > 0 && e.gen == t.1, "guard {:?} kept", t);
            prop_assert_eq!(**d, e.value, "value read through guard {:?}", t);
        }
        // Before `settled_below`, which refreshes the watermark that
        // `is_settled` looks at first.
        for &seq in &seqs {
            prop_assert_eq!(
                q.is_settled(seq),
                m.is_settled(seq.get()),
                "is_settled({}) after {:?}",
                seq.get(),
                op
            );
        }
        prop_assert!(!q.is_settled(spare[m.next_seq as usize]));
        prop_assert_eq!(q.settled_below().get(), m.below(), "after {:?}", op);
    }
    // Nothing lost: drop the guards (requeue), then close and drain; every
    // published value is acked, drained or was taken from the dead letters.
    for (d, t) in guards {
        drop(d);
        let _ = m.settle(t, 1, 0, true);
    }
    q.close();
    m.closed = true;
    prop_assert_eq!(q.drain(), m.drain(), "final drain");
    m.check();
    prop_assert_eq!((m.places, m.dead_held), (0, 0));
    prop_assert!(m.entries.iter().all(|e| e.phase == Phase::Free));
    let (real, _) = real_stats(&q);
    let (model, _) = m.stats();
    prop_assert_eq!(real, model, "final stats");
    prop_assert_eq!(&real[..3], &[0, 0, 0]);
    prop_assert!(seqs.iter().all(|&s| q.is_settled(s)));
    prop_assert_eq!(q.settled_below().get(), m.next_seq);
    // Delayed publishes take their sequence numbers when published.
    prop_assert!(m.next_seq >= seqs.len() as u64);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn matches_reference_model(cfg in config(), ops in prop::collection::vec(op(), 1..MAX_OPS)) {
        run(cfg, ops)?;
    }
}
