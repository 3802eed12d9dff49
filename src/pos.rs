//! Ring positions: the `{ lap, index }` encoding shared by [`Ring`] and the
//! ack layer's rings.
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
//! position has seen, which the ack layer uses as a message's sequence
//! number.
//!
//! [`Ring`]: crate::Ring

/// The position arithmetic of one ring: its capacity and lap size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Laps<P> {
    /// Slots per lap, as asked for.
    cap: P,
    /// The smallest power of two above `cap`.
    one_lap: P,
    /// `log2(one_lap)`.
    shift: u32,
}

macro_rules! laps_for {
    ($p:ty) => {
        impl Laps<$p> {
            /// The arithmetic of a ring of `cap` slots, if `cap` is not 0
            /// and leaves at least 8 lap bits above the index bits (so that
            /// positions of neighbouring laps stay far apart).
            pub(crate) const fn new(cap: $p) -> Option<Self> {
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
                if one_lap > <$p>::MAX >> 8 {
                    return None;
                }
                Some(Self {
                    cap,
                    one_lap,
                    shift: one_lap.trailing_zeros(),
                })
            }

            /// Slots per lap.
            #[inline(always)]
            pub(crate) fn capacity(self) -> $p {
                self.cap
            }

            /// What adding to a position moves it one lap ahead.
            #[inline(always)]
            pub(crate) fn one_lap(self) -> $p {
                self.one_lap
            }

            /// The slot index of `pos`.
            #[inline(always)]
            pub(crate) fn index(self, pos: $p) -> $p {
                pos & (self.one_lap - 1)
            }

            /// The lap of `pos`.
            #[inline(always)]
            pub(crate) fn lap(self, pos: $p) -> $p {
                pos >> self.shift
            }

            /// The position after `pos`.
            #[inline(always)]
            pub(crate) fn advance(self, pos: $p) -> $p {
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
            pub(crate) fn next_lap(self, pos: $p) -> $p {
                pos.wrapping_add(self.one_lap)
            }

            /// The position `k` places after `pos`, for `k < capacity`.
            #[inline]
            pub(crate) fn ahead(self, pos: $p, k: $p) -> $p {
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
            pub(crate) fn count(self, pos: $p) -> $p {
                self.lap(pos)
                    .wrapping_mul(self.cap)
                    .wrapping_add(self.index(pos))
            }

            /// The position with `n` positions before it: the inverse of
            /// [`count`](Self::count) (divides; off the hot path).
            #[inline]
            pub(crate) fn at_count(self, n: $p) -> $p {
                ((n / self.cap) << self.shift) | (n % self.cap)
            }

            /// How many positions lie from `from` up to `to` (`to` not
            /// before `from`).
            #[inline]
            pub(crate) fn distance(self, from: $p, to: $p) -> $p {
                self.count(to).wrapping_sub(self.count(from))
            }
        }
    };
}

laps_for!(usize);
laps_for!(u64);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Laps;

    #[test]
    fn advance_walks_every_index_then_the_next_lap() {
        for cap in [1_u64, 2, 3, 7, 8, 1000] {
            let laps = Laps::<u64>::new(cap).unwrap();
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
                assert_eq!(laps.distance(0, pos), n);
                pos = laps.advance(pos);
            }
        }
    }

    #[test]
    fn one_lap_is_the_power_of_two_above_capacity() {
        assert_eq!(Laps::<usize>::new(1).unwrap().one_lap(), 2);
        assert_eq!(Laps::<usize>::new(7).unwrap().one_lap(), 8);
        assert_eq!(Laps::<usize>::new(8).unwrap().one_lap(), 16);
        assert_eq!(Laps::<u64>::new(1000).unwrap().capacity(), 1000);
    }

    #[test]
    fn refuses_zero_and_sizes_without_lap_bits() {
        assert!(Laps::<usize>::new(0).is_none());
        assert!(Laps::<usize>::new(usize::MAX).is_none());
        assert!(Laps::<u64>::new(1 << 60).is_none());
        assert!(Laps::<u64>::new(1 << 54).is_some());
    }

    #[test]
    fn wrapping_positions_still_advance() {
        let laps = Laps::<usize>::new(3).unwrap();
        let last_lap = usize::MAX & !(laps.one_lap() - 1);
        let pos = last_lap + 2; // { lap: max, index: 2 }
        assert_eq!(laps.advance(pos), 0);
        assert_eq!(laps.next_lap(last_lap), 0);
    }
}
