//! The ack layer: publish → receive → ack against raw queues, the
//! hand-written tracker and the ack floor, pinned throughput. (Worker
//! pools are `pool.rs`; latency through the layer is `ack_one_way.rs`.)

use super::{Context, Section, ACK, THROUGHPUT};
use crate::figure::{Goal, Target};
use crate::peers::Calls;
use crate::results::{Key, Rows};
use crate::roster::{self, BASE};
use crate::tables::{self, Base, MMSG};
use crate::throughput::SHAPES;
use crate::{plot, Suite};
use std::fmt::Write as _;
use std::io;

/// The ack layer.
pub struct Ack;

/// The shapes of the ack section.
const SHAPES_ACK: [crate::throughput::Shape; 2] = [SHAPES[0], SHAPES[1]];

const RAW_RING: Base = Base {
    label: "raw Ring",
    blocking: "ring-park",
    try_loop: "ring",
};

const BASES: [Base; 3] = [
    RAW_RING,
    Base::one("ArrayQueue + Mutex<HashMap>", "tracker"),
    Base::one("ArrayQueue", BASE),
];

impl Section for Ack {
    fn id(&self) -> &'static str {
        ACK
    }

    fn measure(&self, suite: &mut Suite, round: usize) {
        // Batches of the ack layers only: the raw queues' batches are the
        // throughput section's.
        super::transfers(suite, ACK, &SHAPES_ACK, round, |e, k| {
            k.batch == 1 || !e.in_section(THROUGHPUT)
        });
    }

    fn method(&self, _cx: &Context) -> String {
        "**Ack layer.** `recv` = receive one delivery, ack it, return the value, with the \
         layer's own blocking calls (`AckQueue::publish` / `receive`) or the same try-loop over \
         `try_publish` / `try_receive`; the hand-written baseline is a crossbeam `ArrayQueue` \
         plus a `Mutex<HashMap>` of in-flight messages (insert on receive, remove on ack; with a \
         lease it also stamps a deadline, and never scans for expiry). The *ack floor* is the \
         least any design pays to ack each message with an atomic operation on the message \
         itself: a ring like `Ring` whose receive claims a slot without freeing it and whose ack \
         is one CAS on the slot's state, then the free; no wake-ups, no prefetch limit, no \
         redelivery, no tags. The baseline and the floor have no blocking calls: in the tables \
         of blocking calls their rows are their try-loop. *Batches of 16* (the try-loop): \
         `recv` of a batch is `try_receive_batch` then one `ack_batch` of the whole batch; the \
         baseline's batch form inserts its batch into the map under one lock and removes it \
         under one more; publishes stay single calls for both."
            .to_string()
    }

    fn targets(&self, cx: &Context) -> Vec<Target> {
        let mut t = Vec::new();
        let aq = |calls| Key::new("ackqueue", calls, 1);
        let ring = |calls| RAW_RING.key(calls).expect("Ring is in the roster");
        let try_ = Calls::TryLoop;
        for shape in &SHAPES_ACK {
            let rows = Rows::of(cx.results, ACK, shape.name);
            let name = shape.name;
            for calls in [Calls::Blocking, try_] {
                t.push(Target {
                    what: format!("{name} publish→receive→ack, `AckQueue` ÷ raw `Ring`"),
                    calls: calls.label(),
                    goal: Some(Goal::AtLeast(0.5)),
                    got: rows.ratio(aq(calls), ring(calls)),
                });
            }
            let aq16 = Key::new("ackqueue", try_, 16);
            t.push(Target {
                what: format!(
                    "{name} publish→batch receive→batch ack, `AckQueue` batches of 16 ÷ raw `Ring` \
                     single calls"
                ),
                calls: try_.label(),
                goal: Some(Goal::AtLeast(0.5)),
                got: rows.ratio(aq16, ring(try_)),
            });
            t.push(Target {
                what: format!(
                    "{name} the ack floor (claim + one ack CAS, nothing else) ÷ raw `Ring`"
                ),
                calls: try_.label(),
                goal: None,
                got: rows.ratio(Key::new("ack-floor", try_, 1), ring(try_)),
            });
        }
        t
    }

    fn write(&self, cx: &Context, o: &mut String) -> io::Result<Vec<(String, String)>> {
        let r = cx.results;
        let entries = roster::of_section(ACK);
        let _ = writeln!(o, "## Ack layer: publish → receive → ack\n");
        let _ = writeln!(o, "![ack throughput](ack.svg)\n");
        for shape in &SHAPES_ACK {
            let rows = Rows::of(r, ACK, shape.name);
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(o, "### {}\n", shape.name);
            for calls in [Calls::Blocking, Calls::TryLoop] {
                let _ = writeln!(o, "{}, {}:\n", shape.name, calls.label());
                tables::throughput(o, "Layer", &rows, &entries, calls, &BASES);
            }
        }
        let shapes: Vec<(&str, Rows)> = SHAPES_ACK
            .iter()
            .map(|s| (s.name, Rows::of(r, ACK, s.name)))
            .collect();
        let title = "publish → receive → ack, the same try-loop for every layer";
        let bars = tables::bars(&shapes, &entries, Calls::TryLoop);
        Ok(vec![plot::bars(cx.dir, "ack.svg", title, MMSG, &bars)?])
    }
}
