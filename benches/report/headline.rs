//! The headline: a few rows for a user deciding whether to switch, each
//! ackring ÷ the crate they would use instead, on one workload, from the
//! records of this run. The README opens with it (between its
//! `report:headline` markers) and so does the report; the targets table,
//! the project's own goals, stays in the report.
//!
//! Every figure is a speed-up, so that more is better in every row:
//! ackring's rate ÷ the other crate's rate, taken within each round, or,
//! for a latency, the other crate's time ÷ ackring's.

use crate::figure::Figure;
use crate::peers::Calls;
use crate::results::{Key, Lats, Results, Rows};
use crate::roster::BASE;
use crate::sections::{to_best, Context, ACK, ASYNC, BROKER, PING_PONG, THROUGHPUT};

/// At most this many rows: the headline is a summary.
pub const MAX_ROWS: usize = 10;

/// One row: on `workload`, `ours` ÷ `theirs`.
pub struct Row {
    /// What runs: the shape, the calls.
    pub workload: String,
    /// ackring's side.
    pub ours: &'static str,
    /// What a user would use instead.
    pub theirs: String,
    /// The speed-up per round.
    pub got: Figure,
    /// Why the row has no rounds, if it has none.
    pub missing: &'static str,
}

/// The slug of `Ring` with the default wait strategy (`WaitStrategy::Park`),
/// which the channel handles use.
const RING_DEFAULT: &str = "ring-park";

/// The async section's shape with the most senders and one receiver, other
/// than 1P1C (its shapes are named `{senders}P{receivers}C`).
fn many_senders(r: &Results) -> Option<&'static str> {
    let senders = |shape: &str| -> Option<u32> {
        let (p, c) = shape.strip_suffix('C')?.split_once('P')?;
        (c == "1").then(|| p.parse().ok()).flatten()
    };
    r.tput
        .iter()
        .filter(|t| t.section == ASYNC)
        .map(|t| t.shape)
        .filter(|s| senders(s).is_some_and(|n| n > 1))
        .max_by_key(|s| senders(s))
}

/// The rows, in the order the README shows them.
pub fn rows(cx: &Context) -> Vec<Row> {
    let r = cx.results;
    let (try_, blocking) = (Calls::TryLoop, Calls::Blocking);
    let row = |workload: String, ours, theirs: &str, got| Row {
        workload,
        ours,
        theirs: theirs.into(),
        got,
        missing: "",
    };
    let mut rows = Vec::new();
    for shape in ["1P1C", "4P4C"] {
        let got = Rows::of(r, THROUGHPUT, shape)
            .ratio(Key::new("ring", try_, 1), Key::new(BASE, try_, 1));
        let workload = format!("{shape} throughput, the try calls in a spin-then-yield loop");
        rows.push(row(workload, "`Ring`", "crossbeam `ArrayQueue`", got));
    }
    for shape in ["1P1C", "4P4C"] {
        let (ours, theirs) = (
            Key::new(RING_DEFAULT, blocking, 1),
            Key::new("crossbeam-channel", blocking, 1),
        );
        let got = Rows::of(r, THROUGHPUT, shape).ratio(ours, theirs);
        let workload = format!("{shape} throughput, blocking `send` / `recv`");
        rows.push(row(
            workload,
            "`channel::bounded`",
            "crossbeam-channel `bounded`",
            got,
        ));
    }
    let got = Lats::of(r, PING_PONG).ratio(BASE, "ring", 0.5);
    let workload = "ping-pong round trip p50 (its time ÷ ours)".into();
    rows.push(row(workload, "`Ring`", "crossbeam `ArrayQueue`", got));
    for (shape, label) in [Some("1P1C"), many_senders(r)]
        .into_iter()
        .zip(["1P1C", "many senders, 1 receiver"])
    {
        let (got, best) = shape.map_or((Figure::default(), None), |s| to_best(r, s, "ring-async"));
        let workload = format!(
            "{} async, `send_async` / `recv_async` on tokio",
            shape.unwrap_or(label)
        );
        let theirs = match best {
            Some(name) => format!("the fastest async channel of each round (most often {name})"),
            None => "the fastest async channel of each round".into(),
        };
        rows.push(row(workload, "`Ring` futures", &theirs, got));
    }
    for shape in ["1P1C", "2P2C"] {
        let got = Rows::of(r, ACK, shape)
            .ratio(Key::new("ackqueue", try_, 1), Key::new("tracker", try_, 1));
        let theirs = "crossbeam `ArrayQueue` + a `Mutex<HashMap>` of unacked messages";
        rows.push(row(
            format!("{shape} publish → receive → ack"),
            "`AckQueue`",
            theirs,
            got,
        ));
    }
    let (ours, theirs) = (
        Key::new("ackqueue-in-process", blocking, 1),
        Key::new("rabbitmq", blocking, 1),
    );
    let got = Rows::of(r, BROKER, "prefetch 100, ack per message").ratio(ours, theirs);
    let theirs = "RabbitMQ on loopback (this crate's AMQP backend, on lapin)";
    rows.push(Row {
        missing: "not measured in this run: `bash .ci/bench` runs a broker for it",
        ..row(
            "publish → receive → ack, prefetch 100".into(),
            "`AckQueue`",
            theirs,
            got,
        )
    });
    assert!(
        rows.len() <= MAX_ROWS,
        "the headline is at most {MAX_ROWS} rows"
    );
    rows
}

/// The headline table.
pub fn table(o: &mut String, rows: &[Row]) {
    let head = [
        "Workload",
        "ackring",
        "instead of",
        "ackring ÷ it: median (min–max)",
        "Spread",
        "Load",
    ];
    let rows = rows.iter().map(|row| {
        let got = match (row.got.median(), row.missing) {
            (Some(_), _) => format!("**{}**", row.got.ratio()),
            (None, "") => "not measured in this run".to_string(),
            (None, why) => why.to_string(),
        };
        let (noise, load) = (row.got.noise_text(), row.got.load_text());
        vec![
            row.workload.clone(),
            row.ours.into(),
            row.theirs.clone(),
            got,
            noise,
            load,
        ]
    });
    crate::tables::table(o, &head, 4, rows.collect());
}
