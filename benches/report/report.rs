//! Writes the report: `README.md` (the frame here, the headline from
//! `headline.rs`, the targets table, each section's part from its
//! writer), the CSVs of every number measured, `environment.txt`, the
//! sections' plots, and the headline block of the top-level README (the
//! headline for users, not the targets). Every figure printed is computed
//! from what this run measured.

use crate::figure::Target;
use crate::headline::{self, Row};
use crate::machine::Machine;
use crate::plan::Plan;
use crate::results::Results;
use crate::sections::{Context, Section};
use crate::tables::table;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// The line that opens the README's generated block (matched up to its
/// first space after the marker name).
pub const BEGIN: &str = "<!-- report:headline:begin";
/// The line that closes it.
pub const END: &str = "<!-- report:headline:end -->";

/// The first three fields of a /proc/loadavg line (1, 5, 15 minutes).
fn loads(line: &str) -> String {
    line.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn load_now() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or("unknown".into(), |s| loads(&s))
}

fn machine(o: &mut String, m: &Machine, end_load: &str) {
    let _ = writeln!(o, "## Machine\n");
    let crates: Vec<String> = m.crates.iter().map(|(n, v)| format!("{n} {v}")).collect();
    let rows = [
        ("CPU", m.cpu.clone()),
        (
            "Logical CPUs / cores pinned to",
            format!("{} / {}", m.logical_cpus, m.pinned_cores),
        ),
        ("Kernel (`uname -a`)", format!("`{}`", m.uname)),
        (
            "rustc",
            format!("`{}`", m.rustc.lines().next().unwrap_or("unknown")),
        ),
        ("Clock source", m.clocksource.clone()),
        (
            "Load average (1, 5, 15 min) at start / end",
            format!("{} / {end_load}", loads(&m.loadavg)),
        ),
        ("Commit", format!("`{}`", m.commit)),
        ("Crates", crates.join(", ")),
        ("Date (UTC)", m.date.clone()),
    ];
    let rows = rows
        .into_iter()
        .map(|(k, v)| vec![k.to_string(), v])
        .collect();
    table(o, &["", ""], 2, rows);
}

/// The targets table of the report.
fn targets_table(o: &mut String, targets: &[Target]) {
    let head = [
        "Figure",
        "Calls",
        "Target",
        "Median (min–max)",
        "Verdict",
        "Spread",
        "Load",
    ];
    let rows = targets.iter().map(|t| {
        let (goal, got, verdict) = (t.goal_text(), t.got.ratio(), t.verdict().to_string());
        vec![
            t.what.clone(),
            t.calls.into(),
            goal,
            got,
            verdict,
            t.got.noise_text(),
            t.got.load_text(),
        ]
    });
    table(o, &head, 5, rows.collect());
}

fn method(o: &mut String, cx: &Context, sections: &[Box<dyn Section>]) {
    let _ = writeln!(o, "## How it is measured\n");
    let _ = writeln!(
        o,
        "- **Rounds, interleaved.** Each of the {} rounds measures every figure once, peers \
         interleaved, the order rotated each round. Tables give the median over rounds with \
         the min – max, and ratios are taken *within* a round (both sides measured minutes \
         apart at most) before the median: on a shared machine absolute numbers drift, ratios \
         much less.",
        cx.plan.rounds
    );
    let _ = writeln!(
        o,
        "- **Noise and verdicts.** *Spread* is (max − min) ÷ median over the rounds, the noise \
         indicator: a few percent on a quiet machine, tens of percent when the rounds disagree. \
         *Load* is the 1-minute load average read before each of the figure's runs, min – max \
         over its rounds; above the {} cores it means other work shared them. A verdict is \
         **met** when the median meets the target (every round, for a target that says \
         so), else *not met*.",
        cx.machine.pinned_cores
    );
    for s in sections {
        let _ = writeln!(o, "- {}", s.method(cx));
    }
    o.push('\n');
}

fn environment(m: &Machine, plan: &Plan, r: &Results) -> String {
    let mut s = format!(
        "date (UTC): {}\nmode: {:?}\nwall time: {:.0} s\ncommit: {}\ncpu: {}\nlogical cpus: {}\n\
         cores pinned to: {}\nclocksource: {}\nloadavg at start: {}\nuname -a: {}\n\
         rustc -vV:\n{}\ncrates:\n",
        m.date,
        plan.mode,
        r.wall.as_secs_f64(),
        m.commit,
        m.cpu,
        m.logical_cpus,
        m.pinned_cores,
        m.clocksource,
        m.loadavg,
        m.uname,
        m.rustc
    );
    for (name, version) in &m.crates {
        let _ = writeln!(s, "  {name} {version}");
    }
    let _ = writeln!(s, "plan: {plan:?}");
    s
}

fn csv(r: &Results) -> (String, String, String) {
    let mut t = String::from(
        "section,shape,queue,slug,calls,batch,round,load1,messages,seconds,msgs_per_sec\n",
    );
    let mut samples =
        String::from("section,shape,slug,calls,batch,round,sample,messages,seconds\n");
    for x in &r.tput {
        let (m, s) = x
            .samples
            .iter()
            .fold((0, 0.0), |(m, s), &(dm, ds)| (m + dm, s + ds));
        let _ = writeln!(
            t,
            "{},{},\"{}\",{},{},{},{},{:.2},{m},{s:.6},{:.0}",
            x.section,
            x.shape,
            x.name,
            x.key.slug,
            x.key.calls.id(),
            x.key.batch,
            x.round,
            x.load,
            x.rate()
        );
        for (i, (m, s)) in x.samples.iter().enumerate() {
            let _ = writeln!(
                samples,
                "{},{},{},{},{},{},{},{m},{s:.6}",
                x.section,
                x.shape,
                x.key.slug,
                x.key.calls.id(),
                x.key.batch,
                x.round,
                i + 1
            );
        }
    }
    let mut l = String::from(
        "test,queue,slug,round,load1,count,min_ns,p50_ns,p90_ns,p99_ns,p99_9_ns,p99_99_ns,max_ns,\
         mean_ns,untimed_mean_ns\n",
    );
    for x in &r.lat {
        let h = &x.hist;
        let _ = writeln!(
            l,
            "{},\"{}\",{},{},{:.2},{},{},{},{},{},{},{},{},{:.1},{}",
            x.test,
            x.name,
            x.slug,
            x.round,
            x.load,
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

/// The headline's opening: the machine, the run, how to read a row.
/// `report` links the full report from the README.
fn headline_intro(o: &mut String, m: &Machine, plan: &Plan, end_load: &str, report: &str) {
    let short: String = m.commit.chars().take(12).collect();
    let _ = writeln!(
        o,
        "Each row: how many times faster ackring is than the crate you would use instead, on \
         one workload: ackring's rate ÷ its rate, both measured in the same round (for a round \
         trip, its time ÷ ackring's), the median over the rounds with the lowest and highest \
         round; *spread* = (max − min) ÷ median, the noise; *load* = the 1-minute load \
         average during the rounds. Measured on {} ({} logical CPUs, {} pinned to), {} UTC, \
         commit `{short}`, {:?} mode ({} rounds), load average {} at the start and {end_load} \
         at the end. Every figure, the project's own targets and how each was measured are in \
         the {report}.\n",
        m.cpu,
        m.logical_cpus,
        m.pinned_cores,
        m.date,
        plan.mode,
        plan.rounds,
        loads(&m.loadavg)
    );
}

/// The README's headline block, markers included.
fn headline_block(m: &Machine, plan: &Plan, end_load: &str, rows: &[Row]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{BEGIN}: written by `cargo bench --bench report` from its run; edits here are \
         overwritten -->"
    );
    headline_intro(
        &mut o,
        m,
        plan,
        end_load,
        "[full report](results/README.md)",
    );
    headline::table(&mut o, rows);
    o.pop();
    let _ = writeln!(o, "{END}");
    o
}

/// Replaces the block between the markers in `readme` with `block`.
fn rewrite_block(readme: &Path, block: &str) -> io::Result<()> {
    let text = std::fs::read_to_string(readme)?;
    let missing = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} has no {BEGIN} ... {END} block", readme.display()),
        )
    };
    let begin = text.find(BEGIN).ok_or_else(missing)?;
    let end = text[begin..].find(END).ok_or_else(missing)? + begin + END.len();
    let end = end + usize::from(text[end..].starts_with('\n'));
    let new = format!("{}{block}{}", &text[..begin], &text[end..]);
    std::fs::write(readme, new)
}

/// Writes every file of the report into `dir`, and the headline block
/// into `readme` when given.
pub fn write(
    dir: &Path,
    readme: Option<&Path>,
    r: &Results,
    plan: &Plan,
    m: &Machine,
    sections: &[Box<dyn Section>],
) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let cx = Context {
        results: r,
        plan,
        machine: m,
        dir,
    };
    let end_load = load_now();
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
    machine(&mut o, m, &end_load);
    method(&mut o, &cx, sections);

    let rows = headline::rows(&cx);
    let _ = writeln!(o, "## Headline\n");
    let _ = writeln!(
        o,
        "What the top-level README shows a user: ackring against the crate they would use \
         instead.\n"
    );
    headline_intro(&mut o, m, plan, &end_load, "sections below");
    headline::table(&mut o, &rows);

    let targets: Vec<Target> = sections.iter().flat_map(|s| s.targets(&cx)).collect();
    let _ = writeln!(o, "## Targets\n");
    let _ = writeln!(
        o,
        "Ratios measured within each round, median (min – max) over rounds; *Calls* says how \
         the threads wait. `Ring` rows with blocking calls use its default strategy, `Park`, \
         as `AckQueue`'s do; every strategy is in the tables below. Rows without a target give \
         context.\n"
    );
    targets_table(&mut o, &targets);

    let mut plots = Vec::new();
    for s in sections {
        plots.extend(s.write(&cx, &mut o)?);
    }

    let _ = writeln!(o, "## Files\n");
    let _ = writeln!(
        o,
        "- `throughput.csv`: one line per figure and round (messages, seconds, msg/s over the \
         measured samples, the load before it ran; `calls` is `blocking` or `try`).\n\
         - `throughput_samples.csv`: every criterion sample behind those lines.\n\
         - `latency.csv`: percentiles per figure and round.\n\
         - `environment.txt`: machine, toolchain, crate versions, the run's sizes."
    );
    for (file, what) in &plots {
        let _ = writeln!(o, "- `{file}`: {what}.");
    }

    let (t, samples, l) = csv(r);
    std::fs::write(dir.join("README.md"), o)?;
    std::fs::write(dir.join("throughput.csv"), t)?;
    std::fs::write(dir.join("throughput_samples.csv"), samples)?;
    std::fs::write(dir.join("latency.csv"), l)?;
    std::fs::write(dir.join("environment.txt"), environment(m, plan, r))?;
    if let Some(readme) = readme {
        rewrite_block(readme, &headline_block(m, plan, &end_load, &rows))?;
    }
    Ok(())
}
