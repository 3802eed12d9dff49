//! The tables and plot data the section writers share: throughput rows of
//! roster entries with ratios to bases in the same calls, latency
//! percentiles with ratios, bars and percentile curves.

use crate::peers::Calls;
use crate::results::{Key, Lats, Rows};
use crate::roster::{self, Entry};
use crate::svg::{Bar, Curve};
use std::fmt::Write as _;

/// Nanoseconds, in a unit a reader takes in at a glance.
pub fn ns(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2} s", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2} ms", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1} µs", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.2} µs", v / 1e3)
    } else {
        format!("{v:.0} ns")
    }
}

/// A figure of rates as "median (min–max)" in millions per second, or
/// "–" if it has no rounds.
pub fn rate_spread(rates: &crate::figure::Figure) -> String {
    match rates.spread() {
        Some((lo, med, hi)) => format!("{} ({}–{})", rate(med), rate(lo), rate(hi)),
        None => "–".to_string(),
    }
}

/// Messages per second as millions, three significant digits or so.
pub fn rate(v: f64) -> String {
    let m = v / 1e6;
    if m >= 10.0 {
        format!("{m:.1}")
    } else if m >= 1.0 {
        format!("{m:.2}")
    } else {
        format!("{m:.3}")
    }
}

/// A column of ratios: its heading, and the base's slug for each kind of
/// calls (`(blocking, try-loop)`; a base without blocking calls stands in
/// with its try-loop, see `Entry::row`).
pub struct Base {
    /// "ArrayQueue", "raw Ring", ...
    pub label: &'static str,
    /// The base's slug in a table of blocking calls.
    pub blocking: &'static str,
    /// The base's slug in a table of the try-loop.
    pub try_loop: &'static str,
}

impl Base {
    /// The same slug for both kinds of calls.
    pub const fn one(label: &'static str, slug: &'static str) -> Base {
        Base {
            label,
            blocking: slug,
            try_loop: slug,
        }
    }

    /// The base's single-call row in a table of `calls`.
    pub fn key(&self, calls: Calls) -> Option<Key> {
        let slug = match calls {
            Calls::Blocking => self.blocking,
            Calls::TryLoop | Calls::SpinLoop => self.try_loop,
        };
        roster::by_slug(slug)?.row(calls, 1)
    }
}

/// The rows of a table of `calls`: each entry's single calls, then (in
/// the try-loop table) its batches, where measured, as (label, key).
pub fn row_keys(rows: &Rows, entries: &[Entry], calls: Calls) -> Vec<(String, Key)> {
    let batches: &[usize] = match calls {
        Calls::Blocking | Calls::SpinLoop => &[1],
        Calls::TryLoop => &[1, 16],
    };
    let mut out = Vec::new();
    for e in entries {
        for &batch in batches {
            let Some(key) = e.row(calls, batch) else {
                continue;
            };
            let Some(name) = rows.name(key) else {
                continue;
            };
            let label = if key.calls == calls {
                name.to_string()
            } else {
                format!("{name} (no blocking calls: the try-loop)")
            };
            out.push((label, key));
        }
    }
    out
}

/// A throughput table of `entries` with `calls` (batches in the try-loop
/// table), a ratio column per base.
pub fn throughput(
    out: &mut String,
    first: &str,
    rows: &Rows,
    entries: &[Entry],
    calls: Calls,
    bases: &[Base],
) {
    let _ = write!(
        out,
        "| {first} | Batch | Mmsg/s median | min – max | spread |"
    );
    for b in bases {
        let _ = write!(out, " ÷ {} (min–max) |", b.label);
    }
    let _ = write!(out, "\n|---|---:|---:|---:|---:|");
    for _ in bases {
        out.push_str("---:|");
    }
    out.push('\n');
    for (label, key) in row_keys(rows, entries, calls) {
        let fig = rows.rates(key);
        let Some((lo, med, hi)) = fig.spread() else {
            continue;
        };
        let _ = write!(
            out,
            "| {label} | {} | {} | {} – {} | {} |",
            key.batch,
            rate(med),
            rate(lo),
            rate(hi),
            fig.noise_text()
        );
        for b in bases {
            let ratio = b
                .key(calls)
                .map_or("–".to_string(), |base| rows.ratio(key, base).ratio());
            let _ = write!(out, " {ratio} |");
        }
        out.push('\n');
    }
    out.push('\n');
}

/// Bars of `entries` with `calls` for each shape: (shape, bars).
pub fn bars(shapes: &[(&str, Rows)], entries: &[Entry], calls: Calls) -> Vec<(String, Vec<Bar>)> {
    shapes
        .iter()
        .map(|(shape, rows)| {
            let bars = row_keys(rows, entries, calls)
                .into_iter()
                .filter_map(|(label, key)| {
                    let (min, median, max) = rows.rates(key).spread()?;
                    let label = if key.batch == 1 {
                        label
                    } else {
                        format!("{label}, batch {}", key.batch)
                    };
                    Some(Bar {
                        label,
                        color: roster::color(key.slug),
                        median: median / 1e6,
                        min: min / 1e6,
                        max: max / 1e6,
                        light: key.batch > 1,
                    })
                })
                .collect();
            (shape.to_string(), bars)
        })
        .collect()
}

/// A latency table: percentiles, and p50/p99 ÷ `base`; with `floor`, the
/// untimed mean and p50 ÷ the floor too.
pub fn latency(out: &mut String, lats: &Lats, base: &str, floor: Option<&str>) {
    let base_name = roster::by_slug(base).map_or(base, |e| e.name);
    let _ = write!(
        out,
        "| Queue | p50 | p50 min – max | p50 spread | p99 | p99.9 | p99.99 | max |"
    );
    if floor.is_some() {
        let _ = write!(out, " untimed mean | p50 ÷ floor |");
    }
    let _ = writeln!(out, " p50 ÷ {base_name} | p99 ÷ {base_name} |");
    let _ = write!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    if floor.is_some() {
        out.push_str("---:|---:|");
    }
    out.push_str("---:|---:|\n");
    for (name, slug) in lats.keys() {
        let q = |q| lats.quantile(slug, q).median().unwrap_or(0.0);
        let p50 = lats.quantile(slug, 0.5);
        let Some((lo, med, hi)) = p50.spread() else {
            continue;
        };
        let _ = write!(
            out,
            "| {name} | {} | {} – {} | {} | {} | {} | {} | {} |",
            ns(med),
            ns(lo),
            ns(hi),
            p50.noise_text(),
            ns(q(0.99)),
            ns(q(0.999)),
            ns(q(0.9999)),
            ns(lats.max(slug))
        );
        if let Some(floor) = floor {
            let means = crate::figure::spread(
                lats.rounds(slug)
                    .iter()
                    .filter_map(|l| l.block_mean_ns)
                    .collect(),
            );
            let _ = write!(
                out,
                " {} | {} |",
                means.map_or("–".into(), |m| ns(m.1)),
                lats.ratio(slug, floor, 0.5).ratio()
            );
        }
        let _ = writeln!(
            out,
            " {} | {} |",
            lats.ratio(slug, base, 0.5).ratio(),
            lats.ratio(slug, base, 0.99).ratio()
        );
    }
    out.push('\n');
}

/// Percentile curves (x = -log10(1 - quantile)) of every entry in `lats`,
/// its rounds merged.
pub fn curves(lats: &Lats) -> Vec<Curve> {
    lats.keys()
        .into_iter()
        .map(|(name, slug)| {
            let h = lats.merged(slug);
            let xmax = (h.len().max(1) as f64).log10();
            let mut points: Vec<(f64, f64)> = (0..=60)
                .map(|k| f64::from(k) * 0.1)
                .filter(|x| *x < xmax)
                .map(|x| (x, h.value_at_quantile(1.0 - 10f64.powf(-x)) as f64))
                .collect();
            points.push((xmax, h.max() as f64));
            Curve {
                label: name.to_string(),
                color: roster::color(slug),
                points,
            }
        })
        .collect()
}
