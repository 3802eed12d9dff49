//! One-way latency through the ack layer (publish → receive → ack) at a
//! fixed offered rate, 1P1C, with each of `AckQueue`'s wait strategies,
//! beside raw `Ring` spinning and the channel + `Mutex<HashMap>` tracker a
//! user would write.

use super::{Context, Section, ACK_ONE_WAY};
use crate::figure::{Goal, Target};
use crate::results::Lats;
use crate::{plot, tables, Suite};
use std::fmt::Write as _;
use std::io;

/// One-way latency through the ack layer.
pub struct AckOneWay;

/// The base of the table's ratios: raw `Ring`, spinning.
const RING_SPIN: &str = "ring-spin";
const AQ_SPIN: &str = "ackqueue-spin";
/// `AckQueue` with the default strategy.
const AQ: &str = "ackqueue";
const TRACKER: &str = "channel-tracker";

impl Section for AckOneWay {
    fn id(&self) -> &'static str {
        ACK_ONE_WAY
    }

    fn measure(&self, suite: &mut Suite, round: usize) {
        super::one_way(suite, ACK_ONE_WAY, round);
    }

    fn method(&self, cx: &Context) -> String {
        format!(
            "**One-way latency through the ack layer** ({} msg/s, 1P1C, pinned, as the \
             one-way figure: coordinated omission corrected, both ends with the queue's own \
             blocking calls, or the try-loop without them). `recv` is receive, ack, return the \
             value. `AckQueue` once per wait strategy: `Spin` (for latency-sensitive users with \
             a core to spare), `Backoff`, and the default, `Park` (spins briefly, then sleeps); \
             beside raw `Ring` spinning (the least a queue pays) and a bounded crossbeam-channel \
             plus a `Mutex<HashMap>` of the messages in flight.",
            cx.plan.rate
        )
    }

    fn targets(&self, cx: &Context) -> Vec<Target> {
        let lats = Lats::of(cx.results, ACK_ONE_WAY);
        vec![
            Target {
                what: "one-way p50 through the ack layer, `AckQueue` spinning ÷ raw `Ring` \
                       spinning"
                    .to_string(),
                calls: "the queue's own blocking calls, spin strategy",
                goal: Some(Goal::AtMost(2.0)),
                got: lats.ratio(AQ_SPIN, RING_SPIN, 0.5),
            },
            Target {
                what: "one-way p50 through the ack layer, `AckQueue` (default strategy) ÷ \
                       crossbeam-channel + `Mutex<HashMap>`"
                    .to_string(),
                calls: "the queue's own blocking calls",
                goal: Some(Goal::AtMost(1.0)),
                got: lats.ratio(AQ, TRACKER, 0.5),
            },
        ]
    }

    fn write(&self, cx: &Context, o: &mut String) -> io::Result<Vec<(String, String)>> {
        let lats = Lats::of(cx.results, ACK_ONE_WAY);
        if lats.keys().is_empty() {
            return Ok(Vec::new());
        }
        let _ = writeln!(
            o,
            "## One-way latency through the ack layer at {} msg/s (1P1C)\n",
            cx.plan.rate
        );
        let _ = writeln!(o, "![ack layer one-way percentiles](ack_oneway.svg)\n");
        tables::latency(o, &lats, RING_SPIN, None);
        let title = format!(
            "One-way latency through the ack layer at {} msg/s (CO-corrected)",
            cx.plan.rate
        );
        let curves = tables::curves(&lats);
        Ok(vec![plot::curves(
            cx.dir,
            "ack_oneway.svg",
            &title,
            &curves,
        )?])
    }
}
