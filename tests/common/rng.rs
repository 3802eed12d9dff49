//! A small seeded generator, so that a failing random schedule can be
//! replayed from its seed.

/// xorshift64 (13, 7, 17): fast, seeded, good enough to pick operations.
pub struct Rng(pub u64);

impl Rng {
    /// A generator whose stream depends on `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next value of the stream.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
