//! One-way latency at a fixed offered rate, coordinated omission corrected.

use super::{Context, Section, ONE_WAY};
use crate::results::Lats;
use crate::roster::BASE;
use crate::{plot, tables, Suite};
use std::fmt::Write as _;
use std::io;

/// One-way latency at a fixed rate.
pub struct OneWay;

impl Section for OneWay {
    fn id(&self) -> &'static str {
        ONE_WAY
    }

    fn measure(&self, suite: &mut Suite, round: usize) {
        super::one_way(suite, ONE_WAY, round);
    }

    fn method(&self, cx: &Context) -> String {
        let plan = cx.plan;
        format!(
            "**One-way latency** ({} messages at {} msg/s per round after {} unrecorded warm-up \
             messages, 1P1C, pinned). Message `i` is due at `start + i / rate`; the producer \
             sends it then (never skipping) and it carries that intended time; the consumer \
             records `receive - intended`. A stall therefore counts against every message it \
             delays (coordinated omission corrected). Both ends use the queue's own blocking \
             calls (the try-loop for a queue without them), so the wait strategy is part of the \
             figure.",
            plan.one_way - plan.one_way_warm_up,
            plan.rate,
            plan.one_way_warm_up
        )
    }

    fn write(&self, cx: &Context, o: &mut String) -> io::Result<Vec<(String, String)>> {
        let ow = Lats::of(cx.results, ONE_WAY);
        let _ = writeln!(
            o,
            "## One-way latency at {} msg/s, coordinated omission corrected\n",
            cx.plan.rate
        );
        let _ = writeln!(o, "![one-way percentiles](latency_oneway.svg)\n");
        tables::latency(o, &ow, BASE, None);
        let title = format!("One-way latency at {} msg/s (CO-corrected)", cx.plan.rate);
        let curves = tables::curves(&ow);
        Ok(vec![plot::curves(
            cx.dir,
            "latency_oneway.svg",
            &title,
            &curves,
        )?])
    }
}
