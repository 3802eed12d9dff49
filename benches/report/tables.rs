//! The one table writer of the report, and the tables and plot data the
//! section writers share: throughput rows of roster entries with ratios
//! to bases in the same calls, latency percentiles with ratios, bars and
//! percentile curves.

use crate::figure::Figure;
use crate::peers::Calls;
use crate::plot::{Bar, Curve};
use crate::results::{Key, Lats, Rows};
use crate::roster::{self, Entry};
use std::fmt::Write as _;

/// Appends a Markdown table and a blank line: `head`, the columns from
/// `right` on aligned right, then `rows`.
pub fn table<S: AsRef<str>>(o: &mut String, head: &[S], right: usize, rows: Vec<Vec<String>>) {
    fn line<'a>(o: &mut String, cells: impl Iterator<Item = &'a str>) {
        for c in cells {
            let _ = write!(o, "| {c} ");
        }
        o.push_str("|\n");
    }
    line(o, head.iter().map(AsRef::as_ref));
    let rule = (0..head.len()).map(|i| if i < right { "---|" } else { "---:|" });
    let _ = writeln!(o, "|{}", rule.collect::<String>());
    for row in &rows {
        line(o, row.iter().map(String::as_str));
    }
    o.push('\n');
}

/// The unit of the throughput plots.
pub const MMSG: &str = "million messages / s (log)";

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
pub fn rate_spread(rates: &Figure) -> String {
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
    o: &mut String,
    first: &str,
    rows: &Rows,
    entries: &[Entry],
    calls: Calls,
    bases: &[Base],
) {
    let mut head = vec![first.to_string()];
    head.extend(["Batch", "Mmsg/s median", "min – max", "spread"].map(String::from));
    head.extend(bases.iter().map(|b| format!("÷ {} (min–max)", b.label)));
    let body = row_keys(rows, entries, calls)
        .into_iter()
        .filter_map(|(label, key)| {
            let fig = rows.rates(key);
            let (lo, med, hi) = fig.spread()?;
            let mut row = vec![
                label,
                key.batch.to_string(),
                rate(med),
                format!("{} – {}", rate(lo), rate(hi)),
                fig.noise_text(),
            ];
            row.extend(bases.iter().map(|b| {
                b.key(calls)
                    .map_or("–".into(), |base| rows.ratio(key, base).ratio())
            }));
            Some(row)
        });
    table(o, &head, 1, body.collect());
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
pub fn latency(o: &mut String, lats: &Lats, base: &str, floor: Option<&str>) {
    let base_name = roster::by_slug(base).map_or(base, |e| e.name);
    let mut head: Vec<String> = [
        "Queue",
        "p50",
        "p50 min – max",
        "p50 spread",
        "p99",
        "p99.9",
        "p99.99",
        "max",
    ]
    .map(String::from)
    .into();
    if floor.is_some() {
        head.extend(["untimed mean", "p50 ÷ floor"].map(String::from));
    }
    head.extend([format!("p50 ÷ {base_name}"), format!("p99 ÷ {base_name}")]);
    let body = lats.keys().into_iter().filter_map(|(name, slug)| {
        let q = |q| ns(lats.quantile(slug, q).median().unwrap_or(0.0));
        let p50 = lats.quantile(slug, 0.5);
        let (lo, med, hi) = p50.spread()?;
        let mut row = vec![
            name.to_string(),
            ns(med),
            format!("{} – {}", ns(lo), ns(hi)),
            p50.noise_text(),
            q(0.99),
            q(0.999),
            q(0.9999),
            ns(lats.max(slug)),
        ];
        if let Some(floor) = floor {
            let means = Figure::new(
                lats.rounds(slug)
                    .iter()
                    .filter_map(|l| Some((l.block_mean_ns?, 0.0))),
            );
            row.push(means.median().map_or("–".into(), ns));
            row.push(lats.ratio(slug, floor, 0.5).ratio());
        }
        row.extend([
            lats.ratio(slug, base, 0.5).ratio(),
            lats.ratio(slug, base, 0.99).ratio(),
        ]);
        Some(row)
    });
    table(o, &head, 1, body.collect());
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
