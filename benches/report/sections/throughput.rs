//! Throughput by shape, every queue with both kinds of calls.

use super::{Context, Section, THROUGHPUT};
use crate::figure::{Goal, Target};
use crate::peers::Calls;
use crate::results::{Key, Rows};
use crate::roster::{self, BASE};
use crate::tables::{self, Base, MMSG};
use crate::throughput::{CAPACITY, SHAPES};
use crate::{plot, Suite};
use std::fmt::Write as _;
use std::io;

/// Throughput by shape (1P1C, 2P2C, 4P4C, 8P1C).
pub struct Throughput;

const ARRAYQUEUE: Base = Base::one("ArrayQueue", BASE);

/// `Ring`'s row with `calls`: the default strategy's (`Park`) blocking
/// calls, or the try calls in the try-loop or the spin loop.
fn ring(calls: Calls, batch: usize) -> Key {
    match calls {
        Calls::Blocking => Key::new("ring-park", calls, batch),
        Calls::TryLoop | Calls::SpinLoop => Key::new("ring", calls, batch),
    }
}

/// ArrayQueue's row with `calls`: it has no blocking calls, so the
/// try-loop stands for them.
fn aq(calls: Calls) -> Key {
    match calls {
        Calls::Blocking | Calls::TryLoop => AQ,
        Calls::SpinLoop => Key::new(BASE, calls, 1),
    }
}

/// ArrayQueue's row: it has no blocking calls, so the try-loop in both.
const AQ: Key = Key::new(BASE, Calls::TryLoop, 1);
/// The slot-only try calls of `Ring` (`peers::AckRingSlotOnly`).
const SLOT_ONLY: Key = Key::new("ring-slot-only", Calls::TryLoop, 1);

impl Section for Throughput {
    fn id(&self) -> &'static str {
        THROUGHPUT
    }

    fn measure(&self, suite: &mut Suite, round: usize) {
        super::transfers(suite, THROUGHPUT, &SHAPES, round, |_, _| true);
    }

    fn method(&self, cx: &Context) -> String {
        let (plan, m) = (cx.plan, cx.machine);
        format!(
            "**Throughput** (criterion `iter_custom`, flat sampling, {} samples of {} s after {} s \
             warm-up per figure and round; {} u64 messages per iteration, capacity {CAPACITY}). \
             Threads are spawned and pinned (core_affinity, round-robin over the {} cores, the \
             core list read once before any pinning) before a start barrier; a sample times from \
             the first thread leaving the barrier to the last one finishing. Producers send \
             `1..=N` between them; each run checks the count and the sum the consumers received \
             and panics on a mismatch. Every queue is measured twice, and each table says which: \
             with **{}** (a channel's `send`/`recv`, our `send`/`recv` with the named wait \
             strategy; a queue without blocking calls, such as `ArrayQueue`, has only the \
             try-loop, and its row in that table is its try-loop), and with **{}** (its `try_` \
             calls retried after `crossbeam_utils::Backoff::snooze`: spin 1, 2, … 64 hints, then \
             yield on every further try; batches of 16 use the batch calls, ours and rtrb's \
             chunks, in the same loop). The first compares what a user gets from each queue's \
             API, the second the data structures alone. *SPSC + per-slot stamp* is rtrb's \
             algorithm written in the suite, plus the one store per popped slot (its next-lap \
             sequence, in the data's cache line) that a ring with per-slot sequences must make. \
             {}",
            plan.samples,
            plan.measurement.as_secs_f64(),
            plan.warm_up.as_secs_f64(),
            plan.messages,
            m.pinned_cores,
            Calls::Blocking.label(),
            Calls::TryLoop.label(),
            if m.pinned_cores < 8 {
                "Shapes with more threads than cores measure tolerance of preemption."
            } else {
                "Every shape has a core per thread here: nothing is oversubscribed."
            }
        )
    }

    fn targets(&self, cx: &Context) -> Vec<Target> {
        let r = cx.results;
        let mut t = Vec::new();
        for shape in SHAPES.iter().filter(|s| s.name != "2P2C") {
            let rows = Rows::of(r, THROUGHPUT, shape.name);
            let over = if shape.producers + shape.consumers > cx.machine.pinned_cores {
                " (oversubscribed)"
            } else {
                ""
            };
            for calls in [Calls::Blocking, Calls::TryLoop, Calls::SpinLoop] {
                let got = rows.ratio(ring(calls, 1), aq(calls));
                t.push(Target {
                    what: format!("{}{over} throughput, `Ring` ÷ ArrayQueue", shape.name),
                    calls: calls.label(),
                    goal: Some(Goal::AtLeast(1.5)),
                    got: got.clone(),
                });
                t.push(Target {
                    what: format!(
                        "{}{over} throughput, `Ring` ÷ ArrayQueue, every round",
                        shape.name
                    ),
                    calls: calls.label(),
                    goal: Some(Goal::EveryRoundAtLeast(1.0)),
                    got,
                });
            }
        }
        for shape in SHAPES.iter().filter(|s| s.name != "2P2C") {
            t.push(Target {
                what: format!(
                    "{} throughput, `Ring` ÷ `Ring` slot-only try calls (not linearizable): what \
                     linearizability costs",
                    shape.name
                ),
                calls: Calls::TryLoop.label(),
                goal: None,
                got: Rows::of(r, THROUGHPUT, shape.name).ratio(ring(Calls::TryLoop, 1), SLOT_ONLY),
            });
        }
        let one = Rows::of(r, THROUGHPUT, "1P1C");
        let rtrb = |batch| Key::new("rtrb", Calls::TryLoop, batch);
        t.push(Target {
            what: "1P1C throughput, batches of 16: `Ring` ÷ rtrb (SPSC)".into(),
            calls: Calls::TryLoop.label(),
            goal: Some(Goal::AtLeast(0.7)),
            got: one.ratio(ring(Calls::TryLoop, 16), rtrb(16)),
        });
        t.push(Target {
            what: "1P1C throughput, single calls: `Ring` ÷ rtrb (SPSC)".into(),
            calls: Calls::TryLoop.label(),
            goal: None,
            got: one.ratio(ring(Calls::TryLoop, 1), rtrb(1)),
        });
        t.push(Target {
            what: "1P1C throughput, batches of 16: rtrb's algorithm + the per-slot stamp an MPMC \
                   pop writes ÷ rtrb"
                .into(),
            calls: Calls::TryLoop.label(),
            goal: None,
            got: one.ratio(Key::new("spsc-stamped", Calls::TryLoop, 16), rtrb(16)),
        });
        t
    }

    fn write(&self, cx: &Context, o: &mut String) -> io::Result<Vec<(String, String)>> {
        let (r, m) = (cx.results, cx.machine);
        let entries = roster::of_section(THROUGHPUT);
        let _ = writeln!(o, "## Throughput\n");
        let _ = writeln!(
            o,
            "Each shape has three tables: **{}**, **{}**, then **{}** (`Ring` and `ArrayQueue` \
             only). Ratios are to crossbeam `ArrayQueue` in the same round; `ArrayQueue` has no \
             blocking calls, so its try-loop is the base of the first two tables. *spread* is \
             (max − min) ÷ median over the rounds.\n",
            Calls::Blocking.label(),
            Calls::TryLoop.label(),
            Calls::SpinLoop.label()
        );
        let _ = writeln!(
            o,
            "![throughput by shape, own blocking calls](throughput.svg)\n"
        );
        let _ = writeln!(
            o,
            "![throughput by shape, same try-loop](throughput_try.svg)\n"
        );
        for shape in &SHAPES {
            let rows = Rows::of(r, THROUGHPUT, shape.name);
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(
                o,
                "### {}: {} producer(s), {} consumer(s), {} thread(s) on {} core(s)\n",
                shape.name,
                shape.producers,
                shape.consumers,
                shape.producers + shape.consumers,
                m.pinned_cores
            );
            for calls in [Calls::Blocking, Calls::TryLoop, Calls::SpinLoop] {
                let _ = writeln!(o, "{}, {}:\n", shape.name, calls.label());
                tables::throughput(o, "Queue", &rows, &entries, calls, &[ARRAYQUEUE]);
            }
        }
        let shapes: Vec<(&str, Rows)> = SHAPES
            .iter()
            .map(|s| (s.name, Rows::of(r, THROUGHPUT, s.name)))
            .collect();
        let mut files = Vec::new();
        for (file, calls) in [
            ("throughput.svg", Calls::Blocking),
            ("throughput_try.svg", Calls::TryLoop),
        ] {
            let title = format!(
                "Throughput by shape, {} (capacity 1024, u64)",
                calls.label()
            );
            let bars = tables::bars(&shapes, &entries, calls);
            files.push(plot::bars(cx.dir, file, &title, MMSG, &bars)?);
        }
        Ok(files)
    }
}
