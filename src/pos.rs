//! Ring positions: the `{ lap, index }` encoding shared by [`Ring`] and the
//! ack layer's rings. How the rings use positions and stamps is told in
//! the module docs of the claim core (`src/ring/claim/mod.rs`).
//!
//! A position is `lap * one_lap + index`, with `index < capacity` and
//! `one_lap` the smallest power of two above `capacity`. Adding `one_lap`
//! moves a position one lap ahead at the same index, and moving past the
//! last index gives `{ lap: lap + 1, index: 0 }`, so the capacity can be any
//! size and no operation on the hot path divides. Positions may wrap around
//! their integer type: callers compare them by wrapping difference.
//!
//! A position's *count* is how many positions come before it
//! (`lap * capacity + index`): the number of pushes (pops) a cursor at that
//! position has seen, which the ack layer uses as a message's number
//! ([`Seq`](crate::Seq)).
//!
//! [`Ring`]: crate::Ring

/// The position arithmetic of one ring: its capacity and lap size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Laps {
    /// Slots per lap, as asked for.
    cap: u64,
    /// The smallest power of two above `cap`.
    one_lap: u64,
    /// `log2(one_lap)`.
    shift: u32,
}

impl Laps {
    /// The arithmetic of a ring of `cap` slots, if `cap` is not 0
    /// and leaves at least 8 lap bits above the index bits (so that
    /// positions of neighbouring laps stay far apart).
    pub(crate) const fn new(cap: u64) -> Option<Self> {
        if cap == 0 {
            return None;
        }
        let one_lap = match cap.checked_add(1) {
            Some(n) => match n.checked_next_power_of_two() {
                Some(l) => l,
                None => return None,
            },
            None => return None,
        };
        if one_lap > <u64>::MAX >> 8 {
            return None;
        }
        Some(Self {
            cap,
            one_lap,
            shift: one_lap.trailing_zeros(),
        })
    }

    /// The arithmetic of a ring of `cap` slots whose cursors carry
    /// one flag bit, [`mark`](Self::mark), that no position sets:
    /// `one_lap` is twice the smallest power of two above `cap`, so
    /// the bit below it is never an index bit. As [`new`](Self::new)
    /// otherwise.
    pub(crate) const fn with_mark_bit(cap: u64) -> Option<Self> {
        match Self::new(cap) {
            Some(l) if l.one_lap <= <u64>::MAX >> 9 => Some(Self {
                cap,
                one_lap: l.one_lap << 1,
                shift: l.shift + 1,
            }),
            _ => None,
        }
    }

    /// Slots per lap.
    #[inline(always)]
    pub(crate) fn capacity(self) -> u64 {
        self.cap
    }

    /// What adding to a position moves it one lap ahead.
    #[inline(always)]
    pub(crate) fn one_lap(self) -> u64 {
        self.one_lap
    }

    /// The slot index of `pos`.
    #[inline(always)]
    pub(crate) fn index(self, pos: u64) -> u64 {
        pos & (self.one_lap - 1)
    }

    /// The lap of `pos`.
    #[inline(always)]
    pub(crate) fn lap(self, pos: u64) -> u64 {
        pos >> self.shift
    }

    /// The position after `pos`.
    #[inline(always)]
    pub(crate) fn advance(self, pos: u64) -> u64 {
        if self.index(pos) + 1 < self.cap {
            // { lap, index: index + 1 }
            pos.wrapping_add(1)
        } else {
            // { lap: lap + 1, index: 0 }
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// The same index one lap later: `{ lap: lap + 1, index }`.
    #[inline(always)]
    pub(crate) fn next_lap(self, pos: u64) -> u64 {
        pos.wrapping_add(self.one_lap)
    }

    /// The position before `pos`: `{ lap, index: index - 1 }`, or
    /// `{ lap: lap - 1, index: capacity - 1 }` at index 0.
    #[inline(always)]
    pub(crate) fn prev(self, pos: u64) -> u64 {
        if self.index(pos) > 0 {
            // { lap, index: index - 1 }
            pos.wrapping_sub(1)
        } else {
            // { lap: lap - 1, index: capacity - 1 }
            pos.wrapping_sub(self.one_lap).wrapping_add(self.cap - 1)
        }
    }

    /// The flag bit of a [`with_mark_bit`](Self::with_mark_bit)
    /// ring's cursors: set in no position.
    #[inline(always)]
    pub(crate) fn mark(self) -> u64 {
        debug_assert!(self.one_lap >> 1 > self.cap, "not built with_mark_bit");
        self.one_lap >> 1
    }

    /// How many positions lie from `from` up to `to`, for `to` not
    /// before `from`; exact also where the positions wrap around
    /// the integer type, as long as they lie fewer than `2^(bits -
    /// log2(one_lap))` laps apart.
    #[inline]
    pub(crate) fn span(self, from: u64, to: u64) -> u64 {
        // The lap difference, exact across a wrap: the index bits of
        // both are cleared before subtracting.
        let laps =
            (to & !(self.one_lap - 1)).wrapping_sub(from & !(self.one_lap - 1)) >> self.shift;
        laps.wrapping_mul(self.cap)
            .wrapping_add(self.index(to))
            .wrapping_sub(self.index(from))
    }

    /// The position `k` places after `pos`, for `k < capacity`.
    #[inline]
    pub(crate) fn ahead(self, pos: u64, k: u64) -> u64 {
        debug_assert!(k < self.cap);
        let index = self.index(pos) + k;
        if index < self.cap {
            // { lap, index: index + k }
            pos.wrapping_add(k)
        } else {
            // { lap: lap + 1, index: index + k - capacity }
            (pos & !(self.one_lap - 1))
                .wrapping_add(self.one_lap)
                .wrapping_add(index - self.cap)
        }
    }

    /// How many positions come before `pos`: `lap * capacity +
    /// index` (wrapping).
    #[inline(always)]
    pub(crate) fn count(self, pos: u64) -> u64 {
        self.lap(pos)
            .wrapping_mul(self.cap)
            .wrapping_add(self.index(pos))
    }

    /// The position with `n` positions before it: the inverse of
    /// [`count`](Self::count) (divides; off the hot path).
    #[inline]
    pub(crate) fn at_count(self, n: u64) -> u64 {
        ((n / self.cap) << self.shift) | (n % self.cap)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Laps;

    #[test]
    fn advance_walks_every_index_then_the_next_lap() {
        for cap in [1_u64, 2, 3, 7, 8, 1000] {
            let laps = Laps::new(cap).unwrap();
            let mut pos = 0;
            for n in 0..cap * 5 {
                assert_eq!(laps.count(pos), n, "cap {cap}");
                assert_eq!(laps.at_count(n), pos, "cap {cap}");
                assert_eq!(laps.index(pos), n % cap);
                assert_eq!(laps.lap(pos), n / cap);
                for k in 0..cap {
                    assert_eq!(laps.count(laps.ahead(pos, k)), n + k);
                }
                assert_eq!(laps.next_lap(pos), laps.at_count(n + cap));
                pos = laps.advance(pos);
            }
        }
    }

    #[test]
    fn one_lap_is_the_power_of_two_above_capacity() {
        assert_eq!(Laps::new(1).unwrap().one_lap(), 2);
        assert_eq!(Laps::new(7).unwrap().one_lap(), 8);
        assert_eq!(Laps::new(8).unwrap().one_lap(), 16);
        assert_eq!(Laps::new(1000).unwrap().capacity(), 1000);
    }

    #[test]
    fn refuses_zero_and_sizes_without_lap_bits() {
        assert!(Laps::new(0).is_none());
        assert!(Laps::new(u64::MAX).is_none());
        assert!(Laps::new(1 << 60).is_none());
        assert!(Laps::new(1 << 54).is_some());
    }

    #[test]
    fn prev_undoes_advance_and_span_counts_across_the_wrap() {
        for cap in [1_u64, 2, 3, 7, 8, 1000] {
            for laps in [Laps::new(cap).unwrap(), Laps::with_mark_bit(cap).unwrap()] {
                // Start a few positions before the wrap of usize.
                let last_lap = !(laps.one_lap() - 1);
                let start = laps.ahead(last_lap, cap - 1);
                let mut pos = start;
                for n in 0..cap * 4 {
                    assert_eq!(laps.span(start, pos), n, "cap {cap}");
                    let next = laps.advance(pos);
                    assert_eq!(laps.prev(next), pos, "cap {cap}");
                    pos = next;
                }
            }
        }
    }

    #[test]
    fn the_mark_bit_is_set_in_no_position() {
        for cap in [1_u64, 2, 3, 4, 7, 8, 1000] {
            let laps = Laps::with_mark_bit(cap).unwrap();
            assert_eq!(laps.mark().count_ones(), 1);
            let mut pos = 0;
            for _ in 0..cap * 5 {
                assert_eq!(pos & laps.mark(), 0, "cap {cap}");
                pos = laps.advance(pos);
            }
        }
        assert!(Laps::with_mark_bit(0).is_none());
        assert!(Laps::with_mark_bit(u64::MAX >> 9).is_none());
    }

    #[test]
    fn wrapping_positions_still_advance() {
        let laps = Laps::new(3).unwrap();
        let last_lap = !(laps.one_lap() - 1);
        let pos = last_lap + 2; // { lap: max, index: 2 }
        assert_eq!(laps.advance(pos), 0);
        assert_eq!(laps.next_lap(last_lap), 0);
    }
}
