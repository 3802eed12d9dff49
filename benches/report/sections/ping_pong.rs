//! Ping-pong round trip against the cache-line floor measured in the same
//! round.

use super::{Context, Section, PING_PONG};
use crate::figure::{Goal, Target};
use crate::results::Lats;
use crate::roster::{self, BASE};
use crate::tables::{self, ns};
use crate::{plot, rotated, Suite};
use std::fmt::Write as _;
use std::io;

/// Ping-pong round trip.
pub struct PingPong;

/// Calls the figures use.
const CALLS: &str = "the try calls, spinning";

impl Section for PingPong {
    fn id(&self) -> &'static str {
        PING_PONG
    }

    fn measure(&self, suite: &mut Suite, round: usize) {
        for e in rotated(&roster::of_section(PING_PONG), round - 1) {
            suite.latency(PING_PONG, round, e.name, e.slug, |p| {
                let r = (e.ping_pong)(p.round_trips);
                (r.hist, Some(r.block_mean_ns))
            });
        }
    }

    fn method(&self, cx: &Context) -> String {
        format!(
            "**Ping-pong round trip** ({} timed round trips per round). Two pinned threads bounce \
             a value through two queues, spinning on the `try_` calls (where the wait strategy \
             plays no part: one `Ring` row); the floor is the same dance on two bare atomics on \
             separate cache lines, measured in the same round at four polling paces (0, 1, 8 \
             and 32 spin hints between polls), the pace with the least p50 kept. Each round trip is timed with \
             `Instant` (a back-to-back `Instant::now()` pair costs p50 {} here, included in every \
             timed figure, floor too); the untimed mean comes from a block of {} round trips \
             timed as a whole.",
            cx.plan.round_trips.timed,
            ns(cx.results.timer.value_at_quantile(0.5) as f64),
            cx.plan.round_trips.block
        )
    }

    fn targets(&self, cx: &Context) -> Vec<Target> {
        let pp = Lats::of(cx.results, PING_PONG);
        vec![
            Target {
                what: "Ping-pong round trip p50, `Ring` ÷ cache-line floor".into(),
                calls: CALLS,
                goal: Some(Goal::AtMost(1.3)),
                got: pp.ratio("ring", "floor", 0.5),
            },
            Target {
                what: "Ping-pong round trip p50, ArrayQueue ÷ cache-line floor".into(),
                calls: CALLS,
                goal: None,
                got: pp.ratio(BASE, "floor", 0.5),
            },
            Target {
                what: "Ping-pong round trip p50, `Ring` slot-only try calls (not linearizable) ÷ \
                       cache-line floor"
                    .into(),
                calls: CALLS,
                goal: None,
                got: pp.ratio("ring-slot-only", "floor", 0.5),
            },
        ]
    }

    fn write(&self, cx: &Context, o: &mut String) -> io::Result<Vec<(String, String)>> {
        let pp = Lats::of(cx.results, PING_PONG);
        let _ = writeln!(o, "## Round-trip latency (ping-pong)\n");
        let _ = writeln!(o, "![ping-pong percentiles](latency_pingpong.svg)\n");
        tables::latency(o, &pp, BASE, Some("floor"));
        let title = "Ping-pong round trip (spinning, pinned)";
        let curves = tables::curves(&pp);
        Ok(vec![plot::curves(
            cx.dir,
            "latency_pingpong.svg",
            title,
            &curves,
        )?])
    }
}
