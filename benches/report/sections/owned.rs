//! Owned deliveries: publish → `receive_owned` → ack, as a ratio to the
//! same run with borrowed deliveries (`receive`), 1P1C and 2P2C, with the
//! queue's own blocking calls and with the same try-loop.
//!
//! An owned delivery is a borrowed one that also holds a clone of the
//! queue's `Arc`: one more increment on receive and one more decrement on
//! ack, on a reference count every consumer shares. Both sides run the
//! same bench loop (`throughput::transfer`) on the same queue
//! configuration: [`OwnedDeliveries`] is `AckQueuePeer` (no lease) but for
//! its `recv` calls, which receive owned deliveries. The section measures
//! these two setups itself, interleaved in each round, so that the ratio
//! is taken within a round.

use std::fmt::Write as _;
use std::io;

use ackring::AckQueue;

use super::{Context, Section, OWNED};
use crate::ack::AckQueuePeer;
use crate::figure::{Goal, Target};
use crate::peers::{Calls, Ends, Peer};
use crate::results::{Key, Rows};
use crate::throughput::{self, Shape, SHAPES};
use crate::{rotated, tables, Suite};

/// The owned-delivery figure.
pub struct Owned;

/// The shapes it runs, those of the ack section.
const SHAPES_OWNED: [Shape; 2] = [SHAPES[0], SHAPES[1]];

/// The borrowed deliveries' peer: the ack section's `AckQueue` row.
type Borrowed = AckQueuePeer<false>;

/// The borrowed side's row, and the owned side's.
const fn key(slug: &'static str, calls: Calls) -> Key {
    Key::new(slug, calls, 1)
}

/// `AckQueue` with owned deliveries: `AckQueuePeer` (no lease) but for
/// `recv` and `try_recv`, which receive with `receive_owned` /
/// `try_receive_owned` and ack the owned delivery.
pub struct OwnedDeliveries;

impl Peer for OwnedDeliveries {
    const NAME: &'static str = "ackring AckQueue, owned deliveries";
    const SLUG: &'static str = "ackqueue-owned";
    const BLOCKING: bool = true;
    type Tx = <Borrowed as Peer>::Tx;
    type Rx = <Borrowed as Peer>::Rx;
    fn open(cap: usize, p: usize, c: usize) -> Option<Ends<Self::Tx, Self::Rx>> {
        Borrowed::open(cap, p, c)
    }
    fn try_send(tx: &mut Self::Tx, v: u64) -> Result<(), u64> {
        Borrowed::try_send(tx, v)
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        let delivery = AckQueue::try_receive_owned(rx)?;
        let v = *delivery;
        delivery.ack().expect("first ack of a live delivery");
        Some(v)
    }
    fn send(tx: &mut Self::Tx, v: u64) {
        Borrowed::send(tx, v);
    }
    fn recv(rx: &mut Self::Rx) -> u64 {
        let delivery = AckQueue::receive_owned(rx).expect("never closed");
        let v = *delivery;
        delivery.ack().expect("first ack of a live delivery");
        v
    }
}

/// One side of the figure: its name, slug and bench loop.
#[derive(Clone, Copy)]
struct Side {
    name: &'static str,
    slug: &'static str,
    transfer: fn(&Shape, Calls, usize, u64) -> std::time::Duration,
}

const SIDES: [Side; 2] = [
    Side {
        name: <Borrowed as Peer>::NAME,
        slug: <Borrowed as Peer>::SLUG,
        transfer: throughput::transfer::<Borrowed>,
    },
    Side {
        name: OwnedDeliveries::NAME,
        slug: OwnedDeliveries::SLUG,
        transfer: throughput::transfer::<OwnedDeliveries>,
    },
];

const CALLS: [Calls; 2] = [Calls::Blocking, Calls::TryLoop];

impl Section for Owned {
    fn id(&self) -> &'static str {
        OWNED
    }

    fn measure(&self, suite: &mut Suite, round: usize) {
        for shape in &SHAPES_OWNED {
            let runs: Vec<(Side, Calls)> = SIDES
                .iter()
                .flat_map(|&side| CALLS.map(|calls| (side, calls)))
                .collect();
            for (side, calls) in rotated(&runs, round - 1) {
                let key = key(side.slug, calls);
                suite.throughput(OWNED, shape.name, round, side.name, key, |total| {
                    (side.transfer)(shape, calls, 1, total)
                });
            }
        }
    }

    fn method(&self, _cx: &Context) -> String {
        "**Owned deliveries.** publish → receive → ack through one `AckQueue<u64>` shared by \
         `Arc` (the ack section's configuration, no lease), once with borrowed deliveries \
         (`receive` / `try_receive`, the ack section's `AckQueue` row) and once with owned ones \
         (`receive_owned` / `try_receive_owned`, which also clone the queue's `Arc` and drop the \
         clone with the ack), in the same bench loop, interleaved in each round; the figure is \
         owned ÷ borrowed within a round, with the queue's own blocking calls and with the same \
         try-loop."
            .to_string()
    }

    fn targets(&self, cx: &Context) -> Vec<Target> {
        let (borrowed, owned) = (SIDES[0].slug, SIDES[1].slug);
        SHAPES_OWNED
            .iter()
            .flat_map(|shape| {
                let rows = Rows::of(cx.results, OWNED, shape.name);
                CALLS.map(|calls| Target {
                    what: format!(
                        "{} publish→receive→ack, owned deliveries ÷ borrowed, same loop",
                        shape.name
                    ),
                    calls: calls.label(),
                    goal: Some(Goal::AtLeast(0.9)),
                    got: rows.ratio(key(owned, calls), key(borrowed, calls)),
                })
            })
            .collect()
    }

    fn write(&self, cx: &Context, o: &mut String) -> io::Result<Vec<(String, String)>> {
        let shapes: Vec<(&str, Rows)> = SHAPES_OWNED
            .iter()
            .map(|s| (s.name, Rows::of(cx.results, OWNED, s.name)))
            .filter(|(_, rows)| !rows.is_empty())
            .collect();
        if shapes.is_empty() {
            return Ok(Vec::new());
        }
        let _ = writeln!(o, "## Owned deliveries: `receive_owned` ÷ `receive`\n");
        let _ = writeln!(
            o,
            "publish → receive → ack; million messages / s, median (min–max) over rounds, and \
             the ratio to borrowed deliveries taken within each round:\n"
        );
        let borrowed = SIDES[0].slug;
        let mut body = Vec::new();
        for (shape, rows) in &shapes {
            for calls in CALLS {
                for (label, side) in [("borrowed", SIDES[0]), ("owned", SIDES[1])] {
                    let k = key(side.slug, calls);
                    let rate = tables::rate_spread(&rows.rates(k));
                    let ratio = rows.ratio(k, key(borrowed, calls)).ratio();
                    body.push(vec![
                        shape.to_string(),
                        calls.short().into(),
                        label.into(),
                        rate,
                        ratio,
                    ]);
                }
            }
        }
        let head = ["shape", "calls", "deliveries", "Mmsg/s", "÷ borrowed"];
        tables::table(o, &head, head.len(), body);
        Ok(Vec::new())
    }
}
