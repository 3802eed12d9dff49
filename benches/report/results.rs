//! What a run measured, one record per figure and round, and the queries
//! the section writers ask of it. Every ratio is taken within a round
//! (both sides measured minutes apart at most) before the median.

use crate::figure::Figure;
use crate::peers::Calls;
use crate::roster;
use hdrhistogram::Histogram;
use std::time::Duration;

/// Which throughput row: an entry, the calls it used, the batch size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The entry's slug.
    pub slug: &'static str,
    /// The calls it used.
    pub calls: Calls,
    /// Messages per batch call (1 = single calls).
    pub batch: usize,
}

impl Key {
    /// The row of `slug` with `calls` and `batch`.
    pub const fn new(slug: &'static str, calls: Calls, batch: usize) -> Key {
        Key { slug, calls, batch }
    }
}

/// One throughput figure of one round.
#[derive(Debug)]
pub struct Tput {
    /// The section's id.
    pub section: &'static str,
    /// Shape name (or the section's own label for what was run).
    pub shape: &'static str,
    /// Name in the report.
    pub name: &'static str,
    /// Which row.
    pub key: Key,
    /// Round, from 1.
    pub round: usize,
    /// 1-minute load average just before it ran.
    pub load: f64,
    /// Criterion's measured samples: (messages, seconds).
    pub samples: Vec<(u64, f64)>,
}

impl Tput {
    /// Messages per second over all samples (total / total).
    pub fn rate(&self) -> f64 {
        let (m, s) = self
            .samples
            .iter()
            .fold((0u64, 0f64), |(m, s), &(dm, ds)| (m + dm, s + ds));
        m as f64 / s
    }
}

/// One latency figure of one round.
#[derive(Debug)]
pub struct Lat {
    /// The section's id.
    pub test: &'static str,
    /// Name in the report.
    pub name: &'static str,
    /// The entry's slug.
    pub slug: &'static str,
    /// Round, from 1.
    pub round: usize,
    /// 1-minute load average just before it ran.
    pub load: f64,
    /// Nanoseconds.
    pub hist: Histogram<u64>,
    /// Ping-pong only: mean of the untimed block, ns.
    pub block_mean_ns: Option<f64>,
}

/// Everything one run measured.
#[derive(Debug)]
pub struct Results {
    /// Throughput figures.
    pub tput: Vec<Tput>,
    /// Latency figures.
    pub lat: Vec<Lat>,
    /// Cost of one `Instant::now()` pair, ns.
    pub timer: Histogram<u64>,
    /// Wall time of the whole run.
    pub wall: Duration,
}

/// The throughput records of one section and shape.
pub struct Rows<'a> {
    all: Vec<&'a Tput>,
}

impl<'a> Rows<'a> {
    /// The records of `section` in `shape`.
    pub fn of(r: &'a Results, section: &str, shape: &str) -> Rows<'a> {
        Rows {
            all: r
                .tput
                .iter()
                .filter(|t| t.section == section && t.shape == shape)
                .collect(),
        }
    }

    /// Nothing measured.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    fn of_key(&self, key: Key) -> impl Iterator<Item = &&'a Tput> + '_ {
        self.all.iter().filter(move |t| t.key == key)
    }

    /// The rate of `key` in every round, messages per second.
    pub fn rates(&self, key: Key) -> Figure {
        Figure::new(self.of_key(key).map(|t| (t.rate(), t.load)))
    }

    /// The name `key` was measured under.
    pub fn name(&self, key: Key) -> Option<&'a str> {
        self.of_key(key).next().map(|t| t.name)
    }

    /// `key` ÷ `base`, per round.
    pub fn ratio(&self, key: Key, base: Key) -> Figure {
        Figure::new(self.of_key(key).filter_map(|t| {
            let b = self.of_key(base).find(|b| b.round == t.round)?;
            Some((t.rate() / b.rate(), t.load))
        }))
    }
}

/// The latency records of one test.
pub struct Lats<'a> {
    all: Vec<&'a Lat>,
}

impl<'a> Lats<'a> {
    /// The records of `test`.
    pub fn of(r: &'a Results, test: &str) -> Lats<'a> {
        Lats {
            all: r.lat.iter().filter(|l| l.test == test).collect(),
        }
    }

    /// (name, slug) of every entry measured, in report order.
    pub fn keys(&self) -> Vec<(&'a str, &'a str)> {
        let mut keys: Vec<(&str, &str)> = Vec::new();
        for l in &self.all {
            if !keys.iter().any(|k| k.1 == l.slug) {
                keys.push((l.name, l.slug));
            }
        }
        keys.sort_by_key(|k| roster::rank(k.1));
        keys
    }

    /// The records of `slug`, one per round.
    pub fn rounds(&self, slug: &str) -> Vec<&'a Lat> {
        self.all
            .iter()
            .copied()
            .filter(|l| l.slug == slug)
            .collect()
    }

    /// Quantile `q` of `slug` per round, ns.
    pub fn quantile(&self, slug: &str, q: f64) -> Figure {
        Figure::new(
            self.rounds(slug)
                .iter()
                .map(|l| (l.hist.value_at_quantile(q) as f64, l.load)),
        )
    }

    /// The highest value of `slug` over all rounds, ns.
    pub fn max(&self, slug: &str) -> f64 {
        self.rounds(slug)
            .iter()
            .map(|l| l.hist.max())
            .max()
            .unwrap_or(0) as f64
    }

    /// Quantile `q` of `slug` ÷ that of `base`, per round.
    pub fn ratio(&self, slug: &str, base: &str, q: f64) -> Figure {
        Figure::new(self.rounds(slug).iter().filter_map(|l| {
            let b = self
                .all
                .iter()
                .find(|b| b.slug == base && b.round == l.round)?;
            Some((
                l.hist.value_at_quantile(q) as f64 / b.hist.value_at_quantile(q) as f64,
                l.load,
            ))
        }))
    }

    /// All rounds of `slug` in one histogram.
    pub fn merged(&self, slug: &str) -> Histogram<u64> {
        let mut h = crate::latency::histogram();
        for l in self.rounds(slug) {
            h.add(&l.hist).expect("same bounds");
        }
        h
    }
}
