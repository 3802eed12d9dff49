//! Writes `results/`: README.md (the tables), CSV of every number
//! measured, environment.txt, and the SVG plots. Every figure printed is
//! computed here from what this run measured.

use crate::machine::Machine;
use crate::plan::Plan;
use crate::svg::{self, Bar, Curve};
use crate::{throughput, Lat, Results, Tput, ACK_SHAPES};
use hdrhistogram::Histogram;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// The peer every ratio is taken to.
const BASE: &str = "arrayqueue";

/// (min, median, max); `None` for no values.
fn spread(mut v: Vec<f64>) -> Option<(f64, f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((v[0], median, v[n - 1]))
}

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

fn rate(v: f64) -> String {
    let m = v / 1e6;
    if m >= 10.0 {
        format!("{m:.1}")
    } else if m >= 1.0 {
        format!("{m:.2}")
    } else {
        format!("{m:.3}")
    }
}

fn ratio(s: Option<(f64, f64, f64)>) -> String {
    match s {
        Some((lo, med, hi)) => format!("{med:.2}× ({lo:.2}–{hi:.2})"),
        None => "–".to_string(),
    }
}

/// The throughput figures of one section and shape, by (slug, batch), in
/// the order the suite lists them.
struct Rows<'a> {
    all: Vec<&'a Tput>,
}

impl<'a> Rows<'a> {
    fn of(r: &'a Results, section: &str, shape: &str) -> Rows<'a> {
        Rows {
            all: r
                .tput
                .iter()
                .filter(|t| t.section == section && t.shape == shape)
                .collect(),
        }
    }

    /// Distinct (name, slug, batch), first-seen order, ours first.
    fn keys(&self) -> Vec<(&'a str, &'a str, usize)> {
        let mut keys: Vec<(&str, &str, usize)> = Vec::new();
        for t in &self.all {
            if !keys.iter().any(|k| k.1 == t.slug && k.2 == t.batch) {
                keys.push((t.name, t.slug, t.batch));
            }
        }
        keys.sort_by_key(|k| (rank(k.1), k.2));
        keys
    }

    fn rate(&self, slug: &str, batch: usize, round: usize) -> Option<f64> {
        self.all
            .iter()
            .find(|t| t.slug == slug && t.batch == batch && t.round == round)
            .map(|t| t.rate())
    }

    fn rates(&self, slug: &str, batch: usize) -> Option<(f64, f64, f64)> {
        spread(
            self.all
                .iter()
                .filter(|t| t.slug == slug && t.batch == batch)
                .map(|t| t.rate())
                .collect(),
        )
    }

    /// Per-round ratio of (slug, batch) to (base, base_batch).
    fn ratio(
        &self,
        slug: &str,
        batch: usize,
        base: &str,
        base_batch: usize,
    ) -> Option<(f64, f64, f64)> {
        let per_round = self
            .all
            .iter()
            .filter(|t| t.slug == slug && t.batch == batch)
            .filter_map(|t| Some(t.rate() / self.rate(base, base_batch, t.round)?))
            .collect();
        spread(per_round)
    }
}

/// Sort order of the rows: the order the suite lists the entries.
fn rank(slug: &str) -> usize {
    const ORDER: [&str; 16] = [
        "floor",
        "ring",
        "ring-spin",
        "ring-backoff",
        "ring-park",
        "ackqueue",
        "ackqueue-lease",
        "arrayqueue",
        "crossbeam-channel",
        "concurrent-queue",
        "flume",
        "std-sync-channel",
        "mutex-vecdeque",
        "rtrb",
        "tracker",
        "tracker-lease",
    ];
    ORDER.iter().position(|s| *s == slug).unwrap_or(ORDER.len())
}

/// The latency figures of one test, by slug.
struct Lats<'a> {
    all: Vec<&'a Lat>,
}

impl<'a> Lats<'a> {
    fn of(r: &'a Results, test: &str) -> Lats<'a> {
        Lats {
            all: r.lat.iter().filter(|l| l.test == test).collect(),
        }
    }

    fn keys(&self) -> Vec<(&'a str, &'a str)> {
        let mut keys: Vec<(&str, &str)> = Vec::new();
        for l in &self.all {
            if !keys.iter().any(|k| k.1 == l.slug) {
                keys.push((l.name, l.slug));
            }
        }
        keys.sort_by_key(|k| rank(k.1));
        keys
    }

    fn rounds(&self, slug: &str) -> Vec<&'a Lat> {
        self.all
            .iter()
            .copied()
            .filter(|l| l.slug == slug)
            .collect()
    }

    fn quantile(&self, slug: &str, q: f64) -> Option<(f64, f64, f64)> {
        spread(
            self.rounds(slug)
                .iter()
                .map(|l| l.hist.value_at_quantile(q) as f64)
                .collect(),
        )
    }

    fn max(&self, slug: &str) -> f64 {
        self.rounds(slug)
            .iter()
            .map(|l| l.hist.max())
            .max()
            .unwrap_or(0) as f64
    }

    fn ratio(&self, slug: &str, base: &str, q: f64) -> Option<(f64, f64, f64)> {
        let per_round = self
            .rounds(slug)
            .iter()
            .filter_map(|l| {
                let b = self
                    .all
                    .iter()
                    .find(|b| b.slug == base && b.round == l.round)?;
                Some(l.hist.value_at_quantile(q) as f64 / b.hist.value_at_quantile(q) as f64)
            })
            .collect();
        spread(per_round)
    }

    fn merged(&self, slug: &str) -> Histogram<u64> {
        let mut h = crate::latency::histogram();
        for l in self.rounds(slug) {
            h.add(&l.hist).expect("same bounds");
        }
        h
    }
}

/// One line of the targets table.
fn target(
    out: &mut String,
    what: &str,
    want: &str,
    meets: impl Fn(f64) -> bool,
    got: Option<(f64, f64, f64)>,
    context: &str,
) {
    let verdict = match got {
        None => "not measured".to_string(),
        Some((lo, med, hi)) => match (meets(med), meets(lo) && meets(hi)) {
            (true, true) => "**met** (every round)".to_string(),
            (true, false) => "**met** (median; not every round)".to_string(),
            (false, _) => "not met".to_string(),
        },
    };
    let _ = writeln!(
        out,
        "| {what} | {want} | {} | {verdict} | {context} |",
        ratio(got)
    );
}

fn throughput_table(out: &mut String, what: &str, rows: &Rows, ratios: &[(&str, &str, usize)]) {
    let _ = write!(out, "| {what} | Batch | Mmsg/s median | min – max |");
    for (label, _, _) in ratios {
        let _ = write!(out, " ÷ {label} (min–max) |");
    }
    let _ = write!(out, "\n|---|---:|---:|---:|");
    for _ in ratios {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    for (name, slug, batch) in rows.keys() {
        let Some((lo, med, hi)) = rows.rates(slug, batch) else {
            continue;
        };
        let _ = write!(
            out,
            "| {name} | {batch} | {} | {} – {} |",
            rate(med),
            rate(lo),
            rate(hi)
        );
        for (_, base, base_batch) in ratios {
            let _ = write!(
                out,
                " {} |",
                ratio(rows.ratio(slug, batch, base, *base_batch))
            );
        }
        out.push('\n');
    }
    out.push('\n');
}

fn latency_table(out: &mut String, lats: &Lats, floor: bool) {
    let _ = write!(
        out,
        "| Queue | p50 | p50 min – max | p99 | p99.9 | p99.99 | max |"
    );
    if floor {
        let _ = write!(out, " untimed mean | p50 ÷ floor |");
    }
    let _ = writeln!(out, " p50 ÷ ArrayQueue | p99 ÷ ArrayQueue |");
    let _ = write!(out, "|---|---:|---:|---:|---:|---:|---:|");
    if floor {
        out.push_str("---:|---:|");
    }
    out.push_str("---:|---:|\n");
    for (name, slug) in lats.keys() {
        let q = |q| lats.quantile(slug, q).map_or(0.0, |s| s.1);
        let Some((lo, p50, hi)) = lats.quantile(slug, 0.5) else {
            continue;
        };
        let _ = write!(
            out,
            "| {name} | {} | {} – {} | {} | {} | {} | {} |",
            ns(p50),
            ns(lo),
            ns(hi),
            ns(q(0.99)),
            ns(q(0.999)),
            ns(q(0.9999)),
            ns(lats.max(slug))
        );
        if floor {
            let means = spread(
                lats.rounds(slug)
                    .iter()
                    .filter_map(|l| l.block_mean_ns)
                    .collect(),
            );
            let _ = write!(
                out,
                " {} | {} |",
                means.map_or("–".into(), |m| ns(m.1)),
                ratio(lats.ratio(slug, "floor", 0.5))
            );
        }
        let _ = writeln!(
            out,
            " {} | {} |",
            ratio(lats.ratio(slug, BASE, 0.5)),
            ratio(lats.ratio(slug, BASE, 0.99))
        );
    }
    out.push('\n');
}

fn curves(lats: &Lats) -> Vec<Curve> {
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
                color: svg::color(slug),
                points,
            }
        })
        .collect()
}

fn bar_groups(r: &Results, section: &str, shapes: &[&str]) -> Vec<(String, Vec<Bar>)> {
    shapes
        .iter()
        .map(|shape| {
            let rows = Rows::of(r, section, shape);
            let bars = rows
                .keys()
                .into_iter()
                .filter_map(|(name, slug, batch)| {
                    let (min, median, max) = rows.rates(slug, batch)?;
                    let label = if batch == 1 {
                        name.to_string()
                    } else {
                        format!("{name}, batch {batch}")
                    };
                    let color = svg::color(slug);
                    Some(Bar {
                        label,
                        color,
                        median: median / 1e6,
                        min: min / 1e6,
                        max: max / 1e6,
                        light: batch > 1,
                    })
                })
                .collect();
            (shape.to_string(), bars)
        })
        .collect()
}

fn environment(m: &Machine, plan: &Plan, r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "date (UTC): {}", m.date);
    let _ = writeln!(s, "mode: {:?}", plan.mode);
    let _ = writeln!(s, "wall time: {:.0} s", r.wall.as_secs_f64());
    let _ = writeln!(s, "commit: {}", m.commit);
    let _ = writeln!(s, "cpu: {}", m.cpu);
    let _ = writeln!(s, "logical cpus: {}", m.logical_cpus);
    let _ = writeln!(s, "cores pinned to: {}", m.pinned_cores);
    let _ = writeln!(s, "clocksource: {}", m.clocksource);
    let _ = writeln!(s, "loadavg at start: {}", m.loadavg);
    let _ = writeln!(s, "uname -a: {}", m.uname);
    let _ = writeln!(s, "rustc -vV:\n{}", m.rustc);
    let _ = writeln!(s, "crates:");
    for (name, version) in &m.crates {
        let _ = writeln!(s, "  {name} {version}");
    }
    let _ = writeln!(s, "plan: {plan:?}");
    s
}

fn csv(r: &Results) -> (String, String, String) {
    let mut t =
        String::from("section,shape,queue,slug,batch,round,messages,seconds,msgs_per_sec\n");
    let mut samples = String::from("section,shape,slug,batch,round,sample,messages,seconds\n");
    for x in &r.tput {
        let (m, s) = x
            .samples
            .iter()
            .fold((0, 0.0), |(m, s), &(dm, ds)| (m + dm, s + ds));
        let _ = writeln!(
            t,
            "{},{},\"{}\",{},{},{},{m},{s:.6},{:.0}",
            x.section,
            x.shape,
            x.name,
            x.slug,
            x.batch,
            x.round,
            x.rate()
        );
        for (i, (m, s)) in x.samples.iter().enumerate() {
            let _ = writeln!(
                samples,
                "{},{},{},{},{},{},{m},{s:.6}",
                x.section,
                x.shape,
                x.slug,
                x.batch,
                x.round,
                i + 1
            );
        }
    }
    let mut l = String::from("test,queue,slug,round,count,min_ns,p50_ns,p90_ns,p99_ns,p99_9_ns,p99_99_ns,max_ns,mean_ns,untimed_mean_ns\n");
    for x in &r.lat {
        let h = &x.hist;
        let _ = writeln!(
            l,
            "{},\"{}\",{},{},{},{},{},{},{},{},{},{},{:.1},{}",
            x.test,
            x.name,
            x.slug,
            x.round,
            h.len(),
            h.min(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.9),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.value_at_quantile(0.9999),
            h.max(),
            h.mean(),
            x.block_mean_ns.map_or(String::new(), |m| format!("{m:.1}"))
        );
    }
    (t, samples, l)
}

/// Writes every file of `results/` into `dir`.
pub fn write(dir: &Path, r: &Results, plan: &Plan, m: &Machine) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let shapes: Vec<&str> = throughput::SHAPES.iter().map(|s| s.name).collect();
    let ack_shapes: Vec<&str> = ACK_SHAPES.iter().map(|s| s.name).collect();
    let has_ackqueue = r.tput.iter().any(|t| t.slug == "ackqueue");
    let (pp, ow, aow) = (
        Lats::of(r, "ping-pong"),
        Lats::of(r, "one-way"),
        Lats::of(r, "ack-one-way"),
    );

    let mut o = String::new();
    let _ = writeln!(o, "# ackring benchmark report\n");
    let _ = writeln!(
        o,
        "Generated by `cargo bench --bench report` ({:?} mode, {} rounds, {:.0} s) on {} UTC. \
         Every number below was measured in that run; the raw numbers are in \
         [throughput.csv](throughput.csv), [throughput_samples.csv](throughput_samples.csv) and \
         [latency.csv](latency.csv), the machine in [environment.txt](environment.txt). \
         `ACKRING_BENCH=full cargo bench --bench report` runs the longer version.\n",
        plan.mode,
        plan.rounds,
        r.wall.as_secs_f64(),
        m.date
    );
    let _ = writeln!(o, "## Machine\n");
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| CPU | {} |", m.cpu);
    let _ = writeln!(
        o,
        "| Logical CPUs / cores pinned to | {} / {} |",
        m.logical_cpus, m.pinned_cores
    );
    let _ = writeln!(o, "| Kernel (`uname -a`) | `{}` |", m.uname);
    let _ = writeln!(
        o,
        "| rustc | `{}` |",
        m.rustc.lines().next().unwrap_or("unknown")
    );
    let _ = writeln!(o, "| Clock source | {} |", m.clocksource);
    let _ = writeln!(
        o,
        "| Load average at start / end (other tenants) | {} / {} |",
        m.loadavg,
        std::fs::read_to_string("/proc/loadavg").map_or("unknown".into(), |s| s.trim().to_string())
    );
    let _ = writeln!(o, "| Commit | `{}` |", m.commit);
    let crates: Vec<String> = m.crates.iter().map(|(n, v)| format!("{n} {v}")).collect();
    let _ = writeln!(o, "| Crates | {} |", crates.join(", "));
    let _ = writeln!(o, "| Date (UTC) | {} |\n", m.date);

    let _ = writeln!(o, "## How it is measured\n");
    let _ = writeln!(
        o,
        "- **Rounds, interleaved.** Each of the {} rounds measures every figure once, peers \
         interleaved, the order rotated each round. Tables give the median over rounds with \
         the min – max, and ratios are taken *within* a round (each queue against crossbeam \
         `ArrayQueue` measured minutes apart at most) before the median: on a shared machine \
         absolute numbers drift, ratios much less.",
        plan.rounds
    );
    let _ = writeln!(
        o,
        "- **Throughput** (criterion `iter_custom`, flat sampling, {} samples of {} s after {} s \
         warm-up per figure and round; {} u64 messages per iteration, capacity {}). Threads are \
         spawned and pinned (core_affinity, round-robin over the {} cores, the core list read \
         once before any pinning) before a start barrier; a sample times from the first thread \
         leaving the barrier to the last one finishing. Producers send `1..=N` between them; \
         each run checks the count and the sum the consumers received and panics on a mismatch. \
         Batch 1 uses each queue's own blocking calls where it has them (channels, our `push`/`pop` \
         with the named wait strategy), else a `crossbeam_utils::Backoff` loop over its `try_` \
         calls; batch 16 uses the batch calls (ours, rtrb's chunks) with the same loop. \
         *SPSC + per-slot stamp* is rtrb's algorithm written in the suite, plus the one store per \
         popped slot (its next-lap sequence, in the data's cache line) that a ring with per-slot \
         sequences must make. {}",
        plan.samples,
        plan.measurement.as_secs_f64(),
        plan.warm_up.as_secs_f64(),
        plan.messages,
        throughput::CAPACITY,
        m.pinned_cores,
        if m.pinned_cores < 8 {
            "Shapes with more threads than cores measure tolerance of preemption."
        } else {
            "Every shape has a core per thread here: nothing is oversubscribed."
        }
    );
    let _ = writeln!(
        o,
        "- **Ping-pong round trip** ({} timed round trips per round). Two pinned threads bounce a \
         value through two queues, spinning on the `try_` calls; the floor is the same dance on \
         two bare atomics on separate cache lines, measured in the same round. Each round trip \
         is timed with `Instant` (a back-to-back `Instant::now()` pair costs p50 {} here, \
         included in every timed figure, floor too); the untimed mean comes from a block of {} \
         round trips timed as a whole.",
        plan.round_trips.timed,
        ns(r.timer.value_at_quantile(0.5) as f64),
        plan.round_trips.block
    );
    let _ = writeln!(
        o,
        "- **One-way latency** ({} messages at {} msg/s per round after {} unrecorded warm-up \
         messages, 1P1C, pinned). Message `i` \
         is due at `start + i / rate`; the producer sends it then (never skipping) and it carries \
         that intended time; the consumer records `receive - intended`. A stall therefore counts \
         against every message it delays (coordinated omission corrected). Both ends use the \
         blocking calls, so the wait strategy is part of the figure.",
        plan.one_way - plan.one_way_warm_up,
        plan.rate,
        plan.one_way_warm_up
    );
    let _ = writeln!(
        o,
        "- **Ack layer.** `recv` = receive one delivery, ack it, return the value; the \
         hand-written baseline is a crossbeam `ArrayQueue` plus a `Mutex<HashMap>` of in-flight \
         messages (insert on receive, remove on ack; with a lease it also stamps a deadline, \
         and never scans for expiry). The *ack floor* is the least any design pays to ack each \
         message with an atomic operation on the message itself: a ring like `Ring` whose \
         receive claims a slot without freeing it and whose ack is one CAS on the slot's state, \
         then the free; no wake-ups (spinning `try_` calls), no prefetch limit, no redelivery, \
         no tags.\n"
    );

    let _ = writeln!(o, "## Targets\n");
    let _ = writeln!(
        o,
        "Ratios measured within each round, median (min – max) over rounds. `Ring` rows use the \
         default wait strategy (`Backoff`); every strategy is in the tables below.\n"
    );
    let _ = writeln!(
        o,
        "| Figure | Target | ackring | Verdict | For context |\n|---|---|---|---|---|"
    );
    let one = Rows::of(r, "throughput", "1P1C");
    target(
        &mut o,
        "Ping-pong round trip p50 ÷ cache-line floor p50",
        "≤ 1.3×",
        |x| x <= 1.3,
        pp.ratio("ring", "floor", 0.5),
        &format!("ArrayQueue {}", ratio(pp.ratio(BASE, "floor", 0.5))),
    );
    target(
        &mut o,
        "1P1C throughput, `Ring` ÷ ArrayQueue",
        "≥ 1.5×",
        |x| x >= 1.5,
        one.ratio("ring-backoff", 1, BASE, 1),
        &format!(
            "spin {}, park {}",
            ratio(one.ratio("ring-spin", 1, BASE, 1)),
            ratio(one.ratio("ring-park", 1, BASE, 1))
        ),
    );
    target(
        &mut o,
        "1P1C throughput, batches of 16: `Ring` ÷ rtrb",
        "≥ 0.7×",
        |x| x >= 0.7,
        one.ratio("ring-backoff", 16, "rtrb", 16),
        &format!(
            "single calls: Ring ÷ rtrb {}; rtrb's algorithm plus the per-slot stamp an MPMC pop writes, batches of 16, ÷ rtrb: {}",
            ratio(one.ratio("ring-backoff", 1, "rtrb", 1)),
            ratio(one.ratio("spsc-stamped", 16, "rtrb", 16))
        ),
    );
    for shape in ["4P4C", "8P1C"] {
        let rows = Rows::of(r, "throughput", shape);
        target(
            &mut o,
            &format!(
                "{shape} throughput{}, `Ring` ÷ ArrayQueue",
                if shape_threads(shape) > m.pinned_cores {
                    " (oversubscribed)"
                } else {
                    ""
                }
            ),
            "≥ 1.5×",
            |x| x >= 1.5,
            rows.ratio("ring-backoff", 1, BASE, 1),
            &format!(
                "spin {}, park {}",
                ratio(rows.ratio("ring-spin", 1, BASE, 1)),
                ratio(rows.ratio("ring-park", 1, BASE, 1))
            ),
        );
    }
    for shape in &ack_shapes {
        let rows = Rows::of(r, "ack", shape);
        let context = if has_ackqueue {
            format!(
                "with lease: {}; ack floor (claim + ack CAS only, no wake-ups or limits): {}",
                ratio(rows.ratio("ackqueue-lease", 1, "ring-backoff", 1)),
                ratio(rows.ratio("ack-floor", 1, "ring-backoff", 1))
            )
        } else {
            "AckQueue not in this build".to_string()
        };
        target(
            &mut o,
            &format!("{shape} publish→receive→ack, `AckQueue` ÷ raw `Ring`"),
            "≥ 0.5×",
            |x| x >= 0.5,
            rows.ratio("ackqueue", 1, "ring-backoff", 1),
            &context,
        );
        target(
            &mut o,
            &format!("{shape} publish→receive→ack, `AckQueue` ÷ ArrayQueue + `Mutex<HashMap>`"),
            "≥ 10×",
            |x| x >= 10.0,
            rows.ratio("ackqueue", 1, "tracker", 1),
            &format!(
                "raw Ring ÷ tracker {}; ack floor ÷ tracker {}",
                ratio(rows.ratio("ring-backoff", 1, "tracker", 1)),
                ratio(rows.ratio("ack-floor", 1, "tracker", 1))
            ),
        );
    }
    o.push('\n');

    let _ = writeln!(o, "## Throughput\n");
    let _ = writeln!(o, "![throughput by shape](throughput.svg)\n");
    for shape in &shapes {
        let sh = throughput::SHAPES
            .iter()
            .find(|s| s.name == *shape)
            .expect("listed");
        let _ = writeln!(
            o,
            "### {shape}: {} producer(s), {} consumer(s), {} thread(s) on {} core(s)\n",
            sh.producers,
            sh.consumers,
            sh.producers + sh.consumers,
            m.pinned_cores
        );
        throughput_table(
            &mut o,
            "Queue",
            &Rows::of(r, "throughput", shape),
            &[("ArrayQueue", BASE, 1)],
        );
    }

    let _ = writeln!(o, "## Round-trip latency (ping-pong)\n");
    let _ = writeln!(o, "![ping-pong percentiles](latency_pingpong.svg)\n");
    latency_table(&mut o, &pp, true);
    let _ = writeln!(
        o,
        "## One-way latency at {} msg/s, coordinated omission corrected\n",
        plan.rate
    );
    let _ = writeln!(o, "![one-way percentiles](latency_oneway.svg)\n");
    latency_table(&mut o, &ow, false);

    let _ = writeln!(o, "## Ack layer: publish → receive → ack\n");
    if !has_ackqueue {
        let _ = writeln!(
            o,
            "`AckQueue` was not part of this build: the rows below are the baselines it is \
             measured against (raw queues and the hand-written tracker).\n"
        );
    }
    let _ = writeln!(o, "![ack throughput](ack.svg)\n");
    for shape in &ack_shapes {
        let _ = writeln!(o, "### {shape}\n");
        throughput_table(
            &mut o,
            "Layer",
            &Rows::of(r, "ack", shape),
            &[
                ("raw Ring", "ring-backoff", 1),
                ("ArrayQueue + Mutex<HashMap>", "tracker", 1),
                ("ArrayQueue", BASE, 1),
            ],
        );
    }
    let _ = writeln!(
        o,
        "### One-way latency through the ack layer at {} msg/s (1P1C)\n",
        plan.rate
    );
    latency_table(&mut o, &aow, false);

    let _ = writeln!(o, "## Files\n");
    let _ = writeln!(
        o,
        "- `throughput.csv`: one line per figure and round (messages, seconds, msg/s over the measured samples).\n\
         - `throughput_samples.csv`: every criterion sample behind those lines.\n\
         - `latency.csv`: percentiles per figure and round.\n\
         - `environment.txt`: machine, toolchain, crate versions, the run's sizes.\n\
         - `throughput.svg`, `ack.svg`, `latency_pingpong.svg`, `latency_oneway.svg`: the plots above."
    );

    let (t, samples, l) = csv(r);
    std::fs::write(dir.join("README.md"), o)?;
    std::fs::write(dir.join("throughput.csv"), t)?;
    std::fs::write(dir.join("throughput_samples.csv"), samples)?;
    std::fs::write(dir.join("latency.csv"), l)?;
    std::fs::write(dir.join("environment.txt"), environment(m, plan, r))?;
    std::fs::write(
        dir.join("throughput.svg"),
        svg::bars(
            "Throughput by shape (capacity 1024, u64)",
            "million messages / s (log)",
            &bar_groups(r, "throughput", &shapes),
        ),
    )?;
    std::fs::write(
        dir.join("ack.svg"),
        svg::bars(
            "publish → receive → ack",
            "million messages / s (log)",
            &bar_groups(r, "ack", &ack_shapes),
        ),
    )?;
    std::fs::write(
        dir.join("latency_pingpong.svg"),
        svg::curves("Ping-pong round trip (spinning, pinned)", &curves(&pp)),
    )?;
    std::fs::write(
        dir.join("latency_oneway.svg"),
        svg::curves(
            &format!("One-way latency at {} msg/s (CO-corrected)", plan.rate),
            &curves(&ow),
        ),
    )?;
    Ok(())
}

/// Threads the shape named `shape` runs.
fn shape_threads(shape: &str) -> usize {
    throughput::SHAPES
        .iter()
        .find(|s| s.name == shape)
        .map_or(0, |s| s.producers + s.consumers)
}
