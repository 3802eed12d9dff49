//! Claims of a run of consecutive positions with one CAS, for the batch
//! calls: the slots of a run are counted, claimed together, then each is
//! published (freed) in order, and the run ended once.

use core::mem::MaybeUninit;

use super::{Core, Refused, Slot};
use crate::sync::{Backoff, Ordering};

/// A run of `len` consecutive positions from `pos`, won by one claim.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run {
    pub(crate) pos: u64,
    pub(crate) len: u64,
    /// The position after the run.
    end: u64,
}

impl<T, const LIN: bool> Core<T, LIN> {
    /// The position `n` places after `pos`, for `n` up to a lap.
    #[inline]
    fn ahead(&self, pos: u64, n: u64) -> u64 {
        if n == self.laps.capacity() {
            // { lap: lap + 1, index }
            self.laps.next_lap(pos)
        } else {
            self.laps.ahead(pos, n)
        }
    }

    /// The slots of the `n` positions from `pos` (`n` up to a lap), as the
    /// run of indices up to the lap's end and the run from index 0 of the
    /// next lap, with the position of each run's first slot.
    #[inline]
    fn segments(&self, pos: u64, n: u64) -> [(u64, &[Slot<T>]); 2] {
        let index = pos & self.index_mask;
        let first = (self.laps.capacity() - index).min(n);
        let (start, cut) = (index as usize, (index + first) as usize);
        // { lap: lap + 1, index: 0 }
        let next_lap = (pos - index).wrapping_add(self.laps.one_lap());
        [
            (pos, &self.slots[start..cut]),
            (next_lap, &self.slots[..(n - first) as usize]),
        ]
    }

    /// How many of the (up to `k`, at most a lap) slots from position
    /// `pos` on, in a row, have `stamp` equal to their position plus `offset`
    /// (0: writable by a push; 1: readable by a pop), each loaded with
    /// Acquire (as in `push_fast` and `pop_fast`), and the position after them.
    #[inline]
    fn count_run(&self, pos: u64, k: u64, offset: u64) -> (u64, u64) {
        let mut n = 0;
        for (first, slots) in self.segments(pos, k) {
            for (p, slot) in (first..).zip(slots) {
                if slot.stamp.load(Ordering::Acquire) != p.wrapping_add(offset) {
                    return (n, self.ahead(pos, n));
                }
                n += 1;
            }
        }
        (n, self.ahead(pos, n))
    }

    /// Writes the first `run.len` values of `items` into the claimed push
    /// run, in order, publishing each, and ends the run.
    ///
    /// # Panics
    ///
    /// If `items` holds fewer values than the run (a caller's bug: the
    /// run would stay unpublished).
    pub(crate) fn publish_run(&self, run: Run, items: &mut Vec<T>) {
        let mut values = items.drain(..run.len as usize);
        for (first, slots) in self.segments(run.pos, run.len) {
            for (p, slot) in (first..).zip(slots) {
                let value = values.next().expect("a value for every position");
                // SAFETY: position `p` lies in the run this caller claimed
                // (its CAS on `tail`), whose slots were writable, so no
                // other thread touches the value until the stamp store.
                slot.value
                    .with_mut(|v| unsafe { v.write(MaybeUninit::new(value)) });
                // Release: as in `publish`.
                slot.stamp.store(p.wrapping_add(1), Ordering::Release);
            }
        }
        self.pushed(run);
    }

    /// Moves the values of the claimed pop run out into `out`, in order,
    /// freeing each slot, and ends the run. `out` must have room for
    /// them (`Vec::reserve` before the claim), so that nothing allocates,
    /// or fails to, between the claim and the frees.
    pub(crate) fn take_run(&self, run: Run, out: &mut Vec<T>) {
        debug_assert!(out.capacity() - out.len() >= run.len as usize);
        let one_lap = self.laps.one_lap();
        for (first, slots) in self.segments(run.pos, run.len) {
            for (p, slot) in (first..).zip(slots) {
                // SAFETY: position `p` lies in the run this caller claimed
                // (its CAS on `head`), whose slots hold published values;
                // each is moved out once, and its stamp store below frees it.
                let value = slot.value.with(|v| unsafe { v.read().assume_init() });
                // Release: as in `free`.
                slot.stamp.store(p.wrapping_add(one_lap), Ordering::Release);
                out.push(value);
            }
        }
        self.popped(run);
    }

    /// Claims a run of up to `k` consecutive writable positions from
    /// `tail` with one CAS (never more than a lap). With `WAIT`, as
    /// [`push`](Core::push) when not even the first is
    /// writable. The caller then fills it with
    /// [`publish_run`](Core::publish_run).
    pub(crate) fn claim_push_run<const WAIT: bool>(&self, k: u64) -> Result<Run, Refused> {
        debug_assert!(LIN || !WAIT, "only a linearizable core waits");
        let k = k.min(self.laps.capacity());
        if k == 0 {
            return Err(Refused::Full);
        }
        let backoff = Backoff::new();
        // Relaxed: a hint, as in `push_fast`.
        let mut tail = self.tail.at.load(Ordering::Relaxed);
        loop {
            if tail & self.laps.mark() != 0 {
                return Err(Refused::Closed);
            }
            // The writable slots from `tail` on: stamp == its position.
            let (n, end) = self.count_run(tail, k, 0);
            if n == 0 {
                // Relaxed: no value is touched after it (the count above
                // runs again with its own Acquire loads).
                let stamp = self.slot(tail).stamp.load(Ordering::Relaxed);
                if (stamp.wrapping_sub(tail) as i64) < 0 {
                    if !WAIT || self.is_full_at(tail) {
                        return Err(Refused::Full);
                    }
                    backoff.snooze();
                } else {
                    backoff.spin();
                }
                tail = self.tail.at.load(Ordering::Relaxed);
                continue;
            }
            // SeqCst: as in `push_fast`; the CAS gives us positions
            // tail..end, whose slots we saw writable, and only their owner
            // can change that.
            match self
                .tail
                .at
                .compare_exchange_weak(tail, end, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.note_push(tail);
                    return Ok(Run {
                        pos: tail,
                        len: n,
                        end,
                    });
                }
                Err(current) => {
                    tail = current;
                    backoff.spin();
                }
            }
        }
    }

    /// Claims a run of up to `k` consecutive published positions from
    /// `head` with one CAS (never more than a lap): counts the readable
    /// slots, asks `admit(head, count)` how many of them the caller may
    /// take, and claims those. With `WAIT`, as
    /// [`pop_fast`](Core::pop_fast) when not even the first is readable.
    /// The caller then empties it with [`take_run`](Core::take_run), or
    /// takes and frees each position ([`take_at`](Core::take_at),
    /// [`free_at`](Core::free_at)) and then calls [`popped`](Core::popped).
    pub(crate) fn claim_pop_run<const WAIT: bool>(
        &self,
        k: u64,
        admit: impl Fn(u64, u64) -> u64,
    ) -> Result<Run, Refused> {
        debug_assert!(LIN || !WAIT, "only a linearizable core waits");
        let k = k.min(self.laps.capacity());
        if k == 0 {
            return Err(Refused::Empty);
        }
        let backoff = Backoff::new();
        // Relaxed: a hint, as in `push_fast`.
        let mut head = self.head.at.load(Ordering::Relaxed);
        loop {
            // The readable slots from `head` on: stamp == position + 1.
            let (n, mut end) = self.count_run(head, k, 1);
            if n == 0 {
                // Relaxed: no value is read after it (as in
                // `claim_push_run`).
                let stamp = self.slot(head).stamp.load(Ordering::Relaxed);
                if (stamp.wrapping_sub(head.wrapping_add(1)) as i64) < 0 {
                    // Not published, as in `pop_fast`.
                    if !WAIT {
                        return Err(Refused::Empty);
                    }
                    if let Some(why) = self.not_ready(head) {
                        return Err(why);
                    }
                    backoff.snooze();
                } else {
                    backoff.spin();
                }
                head = self.head.at.load(Ordering::Relaxed);
                continue;
            }
            let m = admit(head, n).min(n);
            if m == 0 {
                return Err(Refused::Empty);
            }
            if m < n {
                end = self.ahead(head, m);
            }
            // SeqCst: as in `pop_fast`; positions head..end are now ours.
            match self
                .head
                .at
                .compare_exchange_weak(head, end, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.note_pop(head);
                    return Ok(Run {
                        pos: head,
                        len: m,
                        end,
                    });
                }
                Err(current) => {
                    head = current;
                    backoff.spin();
                }
            }
        }
    }

    /// Ends a push run: every position of it is published.
    #[inline]
    pub(crate) fn pushed(&self, run: Run) {
        self.pushed_to(run.end);
    }

    /// Ends a pop run: every position of it is freed.
    #[inline]
    pub(crate) fn popped(&self, run: Run) {
        self.popped_to(run.end);
    }
}
