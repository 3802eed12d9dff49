//! Model-based test: random operation sequences run against `AckQueue`
//! and against a plain single-threaded reference model; every result,
//! errors included, must match.
//!
//! The model keeps the ring's `capacity` entries explicitly (the message
//! with sequence number `s` lives in entry `s % capacity` from its publish
//! until it is settled) and the scan cursor, because which entry a message
//! is in decides the order of redeliveries found by a scan, and tags name
//! entries. The settle watermark is modelled abstractly: the smallest
//! sequence number not yet settled.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use ackring::{AckError, AckQueue, DeadReason, Delivery, ManualClock, PublishError, Tag};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Publish,
    Receive,
    Ack(usize),
    Nack(usize, bool),
    NackAfter(usize, u64),
    Detach(usize),
    Drop(usize),
    Extend(usize, u64),
    TagAck(usize),
    TagNack(usize, bool),
    TagExtend(usize, u64),
    ForeignAck,
    Advance(u64),
    RequeueExpired,
    ReceiveDead,
    SettledBelow,
    Stats,
    Close,
    Drain,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Publish),
        6 => Just(Op::Receive),
        3 => any::<usize>().prop_map(Op::Ack),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(g, r)| Op::Nack(g, r)),
        1 => (any::<usize>(), 1..4_u64).prop_map(|(g, d)| Op::NackAfter(g, d)),
        1 => any::<usize>().prop_map(Op::Detach),
        1 => any::<usize>().prop_map(Op::Drop),
        1 => (any::<usize>(), 1..6_u64).prop_map(|(g, d)| Op::Extend(g, d)),
        2 => any::<usize>().prop_map(Op::TagAck),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(g, r)| Op::TagNack(g, r)),
        1 => (any::<usize>(), 1..6_u64).prop_map(|(g, d)| Op::TagExtend(g, d)),
        1 => Just(Op::ForeignAck),
        3 => (1..4_u64).prop_map(Op::Advance),
        1 => Just(Op::RequeueExpired),
        2 => Just(Op::ReceiveDead),
        1 => Just(Op::SettledBelow),
        1 => Just(Op::Stats),
        1 => Just(Op::Close),
        1 => Just(Op::Drain),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Not delivered: empty, or holding a published message not yet
    /// received (`holds` tells which).
    Free,
    InFlight,
    Delayed,
    Redeliver,
    Settled,
    DeadPending,
    Dead,
}

/// One ring entry: entry `i` holds the message of sequence number `s`
/// (`s % cap == i`) from its publish until it is settled.
#[derive(Clone, Debug)]
struct Entry {
    phase: Phase,
    /// Holds a published message (from its publish until it is freed).
    holds: bool,
    /// The lap of the message it holds (or of the next one, when empty).
    gen: u64,
    attempt: u32,
    holders: u32,
    expired: bool,
    exhausted: bool,
    deadline: u64,
    /// When the current delivery was handed out; `None`: received without
    /// a clock reading and not yet seen in flight by `stats`.
    delivered_at: Option<u64>,
    deliveries: u32,
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
    lease: Option<u64>,
    max_deliveries: u32,
    now: u64,
    closed: bool,
    next_seq: u64,
    /// Published, not yet delivered: sequence numbers in publish order.
    fresh: VecDeque<u64>,
    /// `cap` entries, the slots of the ring.
    entries: Vec<Entry>,
    redeliver: VecDeque<usize>,
    dead: VecDeque<usize>,
    /// Prefetch places held: messages delivered at least once and not yet
    /// acked, dead-lettered or drained.
    places: usize,
    delayed: usize,
    cursor: usize,
    /// Clock reading (ns) before which no paced scan step runs, and the
    /// pace: a quarter of the lease over the steps of a whole pass.
    scan_due: u64,
    scan_interval: u64,
    /// Settled sequence numbers: acked, taken from the dead letters, or
    /// drained (what `settled_below` reports).
    settled: BTreeSet<u64>,
    /// Sequence numbers whose entry is free again: settled and no longer
    /// read by any delivery guard (an acked message stays in its entry
    /// while a guard, e.g. an expired delivery's or one acked by tag, can
    /// still read it). The publish `cap` places later needs this.
    freed: BTreeSet<u64>,
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
    Received(Option<Received>),
    Settle(Result<(), AckError>),
    Detached,
    Count(usize),
    Dead(Option<(u64, u32, DeadReason, u32)>),
    Below(u64),
    Stats([u64; 11], Option<Duration>),
    Drained(Vec<u32>),
    Nothing,
}

impl Model {
    fn new(cap: usize, m: usize, lease: Option<u64>, k: Option<u32>) -> Self {
        let blank = Entry {
            phase: Phase::Free,
            holds: false,
            gen: 0,
            attempt: 0,
            holders: 0,
            expired: false,
            exhausted: false,
            deadline: 0,
            delivered_at: None,
            deliveries: 0,
            seq: 0,
            value: 0,
        };
        Model {
            cap,
            max_in_flight: m,
            lease,
            max_deliveries: k.unwrap_or(u32::MAX),
            now: 0,
            closed: false,
            next_seq: 0,
            fresh: VecDeque::new(),
            entries: vec![blank; cap],
            redeliver: VecDeque::new(),
            dead: VecDeque::new(),
            places: 0,
            delayed: 0,
            cursor: 0,
            scan_due: 0,
            scan_interval: lease.map_or(0, |l| l * NANOS / 4 / cap.div_ceil(2) as u64),
            settled: BTreeSet::new(),
            freed: BTreeSet::new(),
            delivered: 0,
            redelivered: 0,
            acked: 0,
            nacked: 0,
            expired: 0,
            dead_lettered: 0,
            dead_taken: 0,
        }
    }

    fn publish(&mut self, v: u32) -> Result<u64, (bool, u32)> {
        if self.closed {
            return Err((true, v));
        }
        let seq = self.next_seq;
        let cap = self.cap as u64;
        // Room iff the message `cap` places back is settled and freed.
        if seq >= cap && !self.freed.contains(&(seq - cap)) {
            return Err((false, v));
        }
        self.next_seq += 1;
        let i = (seq % cap) as usize;
        let e = &mut self.entries[i];
        if e.holds || e.phase != Phase::Free {
            // The semantics say there is room, but the entry still holds
            // the previous lap's message (a holder of an acked message is
            // still reading it): report the publish as the semantics say;
            // the real queue's answer is compared right after.
            return Ok(seq);
        }
        assert_eq!(e.gen, seq / cap, "entry generation = lap");
        e.holds = true;
        e.seq = seq;
        e.value = v;
        self.fresh.push_back(seq);
        Ok(seq)
    }

    fn timed(&self) -> bool {
        self.lease.is_some() || self.delayed > 0
    }

    fn stamp(&self, timed: bool) -> Option<u64> {
        timed.then_some(self.now)
    }

    fn receive(&mut self) -> Option<(usize, MTag)> {
        let timed = self.timed();
        // Paced while no delayed requeue is pending.
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
        if let Some(r) = self.take_redelivery(timed) {
            return Some(r);
        }
        if !self.fresh.is_empty() && self.places < self.max_in_flight {
            let seq = self.fresh.pop_front().unwrap();
            let i = (seq % self.cap as u64) as usize;
            self.places += 1;
            self.delivered += 1;
            let lease = self.lease;
            let now = self.now;
            let at = self.stamp(timed);
            let e = &mut self.entries[i];
            assert!(e.holds && e.phase == Phase::Free && e.seq == seq);
            *e = Entry {
                phase: Phase::InFlight,
                attempt: 1,
                holders: 1,
                expired: false,
                exhausted: false,
                deadline: lease.map_or(u64::MAX, |l| now + l),
                delivered_at: at,
                deliveries: 1,
                ..e.clone()
            };
            return Some((i, (i, e.gen, 1)));
        }
        if timed && self.scan_all() > 0 {
            return self.take_redelivery(timed);
        }
        None
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
        e.deliveries += 1;
        e.attempt = e.deliveries;
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
                if e.deliveries >= self.max_deliveries {
                    self.make_dead(i, true, true);
                    true
                } else {
                    let e = &mut self.entries[i];
                    e.phase = Phase::Redeliver;
                    e.expired = true;
                    self.redeliver.push_back(i);
                    true
                }
            }
            Phase::Delayed if e.deadline <= now => {
                self.entries[i].phase = Phase::Redeliver;
                self.delayed -= 1;
                self.redeliver.push_back(i);
                true
            }
            _ => false,
        }
    }

    fn make_dead(&mut self, i: usize, expired: bool, exhausted: bool) {
        let e = &mut self.entries[i];
        e.expired = expired;
        e.exhausted = exhausted;
        self.dead_lettered += 1;
        self.places -= 1;
        if e.holders > 0 {
            e.phase = Phase::DeadPending;
        } else {
            e.phase = Phase::Dead;
            self.dead.push_back(i);
        }
    }

    /// The entry's message is settled and gone: free for the next lap.
    fn free_entry(&mut self, i: usize) {
        let e = &mut self.entries[i];
        assert!(e.holds);
        e.phase = Phase::Free;
        e.holds = false;
        e.gen += 1;
        let seq = e.seq;
        self.settled.insert(seq);
        self.freed.insert(seq);
    }

    fn release_holder(&mut self, i: usize) {
        let e = &mut self.entries[i];
        assert!(e.holders > 0);
        e.holders -= 1;
        if e.holders == 0 {
            match e.phase {
                Phase::Settled => self.free_entry(i),
                Phase::DeadPending => {
                    e.phase = Phase::Dead;
                    self.dead.push_back(i);
                }
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

    /// how: 0 ack, 1 requeue, 2 reject, 3 delayed requeue (delay).
    fn settle(&mut self, t: MTag, how: u8, delay: u64, guard: bool) -> Result<(), AckError> {
        let i = t.0;
        if let Err(e) = self.classify(t) {
            if guard {
                self.release_holder(i);
            }
            return Err(e);
        }
        if guard {
            self.entries[i].holders -= 1;
        }
        let exhausted = self.entries[i].deliveries >= self.max_deliveries;
        match how {
            0 => {
                self.acked += 1;
                self.places -= 1;
                self.settled.insert(self.entries[i].seq);
                self.entries[i].phase = Phase::Settled;
                if self.entries[i].holders == 0 {
                    self.free_entry(i);
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
                self.entries[i].phase = Phase::Redeliver;
                self.redeliver.push_back(i);
            }
            _ => {
                self.nacked += 1;
                self.delayed += 1;
                self.entries[i].phase = Phase::Delayed;
                self.entries[i].deadline = self.now + delay;
            }
        }
        Ok(())
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
        self.dead_taken += 1;
        let reason = if e.exhausted {
            DeadReason::MaxDeliveries
        } else {
            DeadReason::Rejected
        };
        Some((e.seq, e.deliveries, reason, e.value))
    }

    fn below(&self) -> u64 {
        (0..).find(|s| !self.settled.contains(s)).unwrap()
    }

    fn drain(&mut self) -> Vec<u32> {
        let mut out = Vec::new();
        while let Some(seq) = self.fresh.pop_front() {
            let i = (seq % self.cap as u64) as usize;
            let v = self.entries[i].value;
            assert_eq!(self.entries[i].seq, seq);
            self.free_entry(i);
            out.push(v);
        }
        let mut kept = Vec::new();
        while let Some(i) = self.redeliver.pop_front() {
            if self.entries[i].holders == 0 {
                out.push(self.take_out(i));
            } else {
                kept.push(i);
            }
        }
        self.redeliver.extend(kept);
        while let Some((_, _, _, v)) = self.receive_dead() {
            out.push(v);
        }
        for i in 0..self.entries.len() {
            let e = &self.entries[i];
            if e.holders == 0 && matches!(e.phase, Phase::InFlight | Phase::Delayed) {
                if e.phase == Phase::Delayed {
                    self.delayed -= 1;
                }
                out.push(self.take_out(i));
            }
        }
        out.sort_unstable();
        out
    }

    /// Drains a delivered message: it stops holding its place.
    fn take_out(&mut self, i: usize) -> u32 {
        let e = self.entries[i].clone();
        self.places -= 1;
        self.free_entry(i);
        e.value
    }

    /// The stats, and the oldest delivery's age (stamping those received
    /// without a clock reading, as the queue does).
    fn stats(&mut self) -> ([u64; 11], Option<Duration>) {
        let waiting = self.redeliver.len() + self.delayed;
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
        // Every place is held by a delivery in flight or a message waiting
        // for redelivery.
        assert_eq!(in_flight + waiting, self.places);
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
            ],
            oldest.map(Duration::from_secs),
        )
    }
}

#[derive(Debug)]
struct Config {
    cap: usize,
    m: usize,
    lease: Option<u64>,
    k: Option<u32>,
}

fn config() -> impl Strategy<Value = Config> {
    (
        1..6_usize,
        1..5_usize,
        prop::option::of(1..5_u64),
        prop::option::of(1..4_u32),
    )
        .prop_map(|(cap, m, lease, k)| Config { cap, m, lease, k })
}

/// A tag's (index, generation, attempt), read from its `Debug` output
/// (the fields are private).
fn tag_fields(tag: Tag) -> (u64, u64, u64) {
    let text = format!("{tag:?}");
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

fn run(cfg: Config, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let clock = ManualClock::new();
    let unit = Duration::from_secs(1);
    let mut b = AckQueue::<u32>::builder()
        .capacity(cfg.cap)
        .max_in_flight(cfg.m)
        .clock(clock.clone());
    if let Some(l) = cfg.lease {
        b = b.lease(unit * l as u32);
    }
    if let Some(k) = cfg.k {
        b = b.max_deliveries(k);
    }
    let q = b.build().unwrap();
    let other = AckQueue::<u32>::builder().build().unwrap();
    other.try_publish(0).unwrap();
    let foreign = other.try_receive().unwrap().detach();

    let mut m = Model::new(cfg.cap, cfg.m, cfg.lease, cfg.k);
    let mut guards: Vec<(Delivery<'_, u32>, MTag)> = Vec::new();
    let mut tags: Vec<(Tag, MTag)> = Vec::new();
    let mut next_value = 0_u32;

    for op in ops {
        let (real, model) = match op {
            Op::Publish => {
                next_value += 1;
                let real = match q.try_publish(next_value) {
                    Ok(s) => Ok(s.get()),
                    Err(PublishError::Closed(v)) => Err((true, v)),
                    Err(PublishError::Full(v)) => Err((false, v)),
                };
                (Out::Published(real), Out::Published(m.publish(next_value)))
            }
            Op::Receive => {
                let real = q.try_receive();
                let model = m.receive();
                let r = real.as_ref().map(|d| {
                    (
                        d.seq().get(),
                        d.delivery_count(),
                        d.redelivered(),
                        **d,
                        tag_fields(d.tag()),
                    )
                });
                let mo = model.map(|(i, t)| {
                    let e = &m.entries[i];
                    (
                        e.seq,
                        e.deliveries,
                        e.deliveries > 1,
                        e.value,
                        (t.0 as u64, t.1, u64::from(t.2)),
                    )
                });
                if let (Some(d), Some((_, t))) = (real, model) {
                    tags.push((d.tag(), t));
                    guards.push((d, t));
                }
                (Out::Received(r), Out::Received(mo))
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
                        d.detach();
                        m.release_holder(t.0);
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
            Op::TagAck(g) | Op::TagNack(g, _) | Op::TagExtend(g, _) if !tags.is_empty() => {
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
            Op::Stats => {
                let s = q.stats();
                let real = [
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
                ];
                let (model, oldest) = m.stats();
                (
                    Out::Stats(real, s.oldest_in_flight),
                    Out::Stats(model, oldest),
                )
            }
            Op::Close => {
                q.close();
                m.closed = true;
                (Out::Nothing, Out::Nothing)
            }
            Op::Drain => {
                let mut real = q.drain();
                real.sort_unstable();
                (Out::Drained(real), Out::Drained(m.drain()))
            }
            _ => (Out::Nothing, Out::Nothing),
        };
        prop_assert_eq!(real, model, "after {:?}", op);
        prop_assert_eq!(q.settled_below().get(), m.below());
    }
    // Nothing lost: drop the guards (requeue), then close and drain; every
    // published value is acked, drained or was taken from the dead letters.
    for (d, t) in guards {
        drop(d);
        let _ = m.settle(t, 1, 0, true);
    }
    q.close();
    let drained = q.drain();
    let mdrained = m.drain();
    let mut sorted = drained.clone();
    sorted.sort_unstable();
    prop_assert_eq!(sorted, mdrained);
    prop_assert_eq!(q.settled_below().get(), q.stats().published);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn matches_reference_model(cfg in config(), ops in prop::collection::vec(op(), 1..80)) {
        run(cfg, ops)?;
    }
}
