//! A fixed-bucket log histogram of atomics: what a queue records its
//! latencies in, from any thread, with one `fetch_add` per value and no
//! lock, and the [`HistogramSnapshot`] a reader takes of it.
//!
//! Why not hdrhistogram, which the benchmarks use: its `Histogram`
//! records through `&mut`, so a queue shared by threads would put it
//! behind a lock, and a recorder preempted while holding it would stall
//! every settle. Here recording takes no lock, and about half the
//! instructions of a `Mutex<hdrhistogram::Histogram>` record.
//!
//! # Buckets
//!
//! Values below 16 have a bucket each. From there on each power of two
//! `[2^e, 2^(e+1))` is cut into 16 equal buckets of width `2^(e-4)`. A
//! value's bucket is its exponent and the 4 bits after its leading one.
//! This is HdrHistogram's layout with 4 significant bits, fixed at 976
//! buckets for the whole `u64` range. A snapshot reports a bucket by its
//! midpoint, so every figure it gives is within 1/32 (3.125 %) of a value
//! that was recorded, and exact below 16.
//!
//! # Orderings
//!
//! Every access is `Relaxed`: a bucket is a count that carries no data,
//! and a snapshot is a set of independent readings (a value recorded
//! during the snapshot may be counted or not, in the buckets or in the
//! sum apart).

use core::fmt;

use crate::sync::{AtomicU64, Ordering};

/// Significant bits kept below the leading one.
const SUB_BITS: u32 = 4;
/// Buckets per power of two.
const SUB: usize = 1 << SUB_BITS;
/// Buckets in all: 16 exact ones for `0..16`, then 16 per exponent 4..=63.
pub(crate) const BUCKETS: usize = SUB + (64 - SUB_BITS as usize) * SUB;

/// The bucket of `value`.
#[inline(always)]
fn bucket(value: u64) -> usize {
    if value < SUB as u64 {
        return value as usize;
    }
    let exp = 63 - value.leading_zeros();
    // The 4 bits after the leading one.
    let sub = (value >> (exp - SUB_BITS)) as usize & (SUB - 1);
    (exp - SUB_BITS + 1) as usize * SUB + sub
}

/// The smallest value of bucket `index`, and its width.
fn bounds(index: usize) -> (u64, u64) {
    if index < SUB {
        return (index as u64, 1);
    }
    let exp = (index / SUB) as u32 + SUB_BITS - 1;
    let sub = (index % SUB) as u64;
    let width = 1u64 << (exp - SUB_BITS);
    ((1u64 << exp) + sub * width, width)
}

/// The value a snapshot reports for bucket `index`: its midpoint (its one
/// value below 16).
fn midpoint(index: usize) -> u64 {
    let (low, width) = bounds(index);
    low + width / 2
}

/// The recording side: shared by the threads that record.
pub(crate) struct Histogram {
    buckets: Box<[AtomicU64]>,
    /// The sum of the values recorded (wrapping), for the mean.
    sum: AtomicU64,
}

impl Histogram {
    pub(crate) fn new() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    /// Counts `value` once.
    #[inline]
    pub(crate) fn record(&self, value: u64) {
        // SAFETY: `bucket` returns at most 975 (exponent 63, sub 15), below
        // `BUCKETS`, the length of `buckets`.
        let b = unsafe { self.buckets.get_unchecked(bucket(value)) };
        // Relaxed: a count (module docs).
        b.fetch_add(1, Ordering::Relaxed);
        // Relaxed: as above.
        self.sum.fetch_add(value, Ordering::Relaxed);
    }

    /// A copy of the counts.
    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        // Relaxed: a set of readings (module docs).
        let counts: Box<[u64]> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        HistogramSnapshot {
            count: counts.iter().sum(),
            sum: self.sum.load(Ordering::Relaxed),
            counts,
        }
    }
}

/// The counts of a histogram at one time: how many values were recorded
/// and how they spread, as percentiles.
///
/// Every value it reports (a percentile, the minimum, the maximum) is the
/// midpoint of the bucket the true value fell in. So it is within 1/32
/// (3.125 %) of the true value, and exact below 16. The bucket layout, 16
/// buckets per power of two, is in the module docs.
///
/// # Examples
///
/// ```
/// use ackring::{AckQueue, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let q = AckQueue::builder().clock(clock.clone()).latency(true).build().unwrap();
/// q.try_publish(1).unwrap();
/// clock.advance(Duration::from_micros(40));
/// q.try_receive().unwrap().ack().unwrap();
/// let waiting = q.latency().unwrap().waiting;
/// assert_eq!(waiting.count(), 1);
/// let p50 = waiting.value_at_quantile(0.5);
/// assert!(p50.abs_diff(40_000) <= 40_000 / 32);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    counts: Box<[u64]>,
    count: u64,
    sum: u64,
}

impl HistogramSnapshot {
    /// An empty snapshot.
    pub fn empty() -> Self {
        Self {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            count: 0,
            sum: 0,
        }
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The mean of the values recorded (exact, not bucketed); 0 when
    /// empty.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The sum of the values recorded (exact, wrapping past `u64::MAX`).
    pub fn sum(&self) -> u64 {
        self.sum
    }

    /// The value at quantile `q` (0.5: the median, 0.99: p99): the
    /// smallest recorded value (as its bucket's midpoint) that at least
    /// `q` of the values do not exceed. `q` is clamped to `0..=1`; 0 when
    /// empty.
    pub fn value_at_quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        // The rank of the value sought, 1-based: at least 1.
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (index, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return midpoint(index);
            }
        }
        midpoint(BUCKETS - 1)
    }

    /// The smallest value recorded (its bucket's midpoint); 0 when empty.
    pub fn min(&self) -> u64 {
        self.value_at_quantile(0.0)
    }

    /// The largest value recorded (its bucket's midpoint); 0 when empty.
    pub fn max(&self) -> u64 {
        self.value_at_quantile(1.0)
    }

    /// The non-empty buckets, in increasing order of value: each bucket's
    /// midpoint and count. What an exporter replays into another
    /// histogram.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &n)| n != 0)
            .map(|(index, &n)| (midpoint(index), n))
    }

    /// The values recorded since `earlier`, a snapshot of the same
    /// histogram taken before this one.
    pub fn since(&self, earlier: &HistogramSnapshot) -> HistogramSnapshot {
        let counts: Box<[u64]> = self
            .counts
            .iter()
            .zip(earlier.counts.iter())
            .map(|(&now, &then)| now.saturating_sub(then))
            .collect();
        HistogramSnapshot {
            count: counts.iter().sum(),
            sum: self.sum.wrapping_sub(earlier.sum),
            counts,
        }
    }
}

impl Default for HistogramSnapshot {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for HistogramSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistogramSnapshot")
            .field("count", &self.count)
            .field("p50", &self.value_at_quantile(0.5))
            .field("p99", &self.value_at_quantile(0.99))
            .field("max", &self.max())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn every_value_lands_in_a_bucket_that_contains_it() {
        let mut values: Vec<u64> = (0..4096).collect();
        values.extend((4..64).flat_map(|e| {
            let p = 1u64 << e;
            [
                p - 1,
                p,
                p + 1,
                p + p / 3,
                p.wrapping_mul(2).wrapping_sub(1),
            ]
        }));
        values.push(u64::MAX);
        for v in values {
            let index = bucket(v);
            assert!(index < BUCKETS, "{v} -> {index}");
            let (low, width) = bounds(index);
            assert!(low <= v && v - low < width, "{v} in [{low}, +{width})");
            let mid = midpoint(index);
            assert!(mid.abs_diff(v) <= v / 32, "{v}: midpoint {mid}");
        }
    }

    #[test]
    fn buckets_are_in_increasing_order() {
        for index in 1..BUCKETS {
            let (low, _) = bounds(index);
            let (prev, width) = bounds(index - 1);
            assert_eq!(prev + width, low, "bucket {index}");
        }
    }

    #[test]
    fn quantiles_of_a_uniform_run() {
        let h = Histogram::new();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let s = h.snapshot();
        assert_eq!(s.count(), 1000);
        assert_eq!(s.sum(), 1000 * 500_500);
        for (q, want) in [(0.5, 500_000u64), (0.99, 990_000), (1.0, 1_000_000)] {
            let got = s.value_at_quantile(q);
            assert!(got.abs_diff(want) <= want / 32, "q{q}: {got} vs {want}");
        }
        assert!(s.min().abs_diff(1000) <= 1000 / 32);
        let later = {
            h.record(7);
            h.snapshot()
        };
        let delta = later.since(&s);
        assert_eq!((delta.count(), delta.min(), delta.max()), (1, 7, 7));
    }
}
