//! The async queues under test, each seen through one small trait, and
//! the one loop that drives them all: sender tasks send their share of
//! `1..=N`, receiver tasks receive until every sender is gone and the
//! queue is drained, on a tokio multi-threaded runtime; the count and the
//! sum of what the receivers got are checked.
//!
//! Self-contained (ackring, the peers, tokio), so that
//! `examples/async_throughput.rs` runs this very loop.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ackring::{AckQueue, Ring};

/// A bounded async queue of `u64` as the loop sees it.
pub trait AsyncPeer: 'static {
    /// Name in the report.
    const NAME: &'static str;
    /// Short name for CSV, criterion ids and filters.
    const SLUG: &'static str;
    /// Serves several receivers (else one only).
    const MPMC: bool;

    /// A sender's end.
    type Tx: Send + 'static;
    /// A receiver's end.
    type Rx: Send + 'static;

    /// A queue of capacity `cap` with that many ends of each side.
    fn open(cap: usize, senders: usize, receivers: usize) -> (Vec<Self::Tx>, Vec<Self::Rx>);

    /// Sends `v`, waiting for room.
    fn send(tx: &mut Self::Tx, v: u64) -> impl Future<Output = ()> + Send + '_;

    /// Receives a value, waiting for one; `None` once every sender is gone
    /// and the queue is drained.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_;
}

/// Runs `total` messages (rounded down to a multiple of `senders`) from
/// `senders` sender tasks to `receivers` receiver tasks through a new `P`
/// of capacity `cap`; checks the count and the sum the receivers got, and
/// returns the time from the first spawn to the last receiver's end.
pub fn run<P: AsyncPeer>(
    rt: &tokio::runtime::Runtime,
    cap: usize,
    senders: usize,
    receivers: usize,
    total: u64,
) -> Duration {
    assert!(receivers == 1 || P::MPMC, "{} has one receiver", P::NAME);
    let (txs, rxs) = P::open(cap, senders, receivers);
    let per = (total / senders as u64).max(1);
    let n = per * senders as u64;
    let start = Instant::now();
    let got = rt.block_on(async move {
        let receiving: Vec<_> = rxs
            .into_iter()
            .map(|mut rx| {
                tokio::spawn(async move {
                    let (mut count, mut sum) = (0_u64, 0_u64);
                    while let Some(v) = P::recv(&mut rx).await {
                        count += 1;
                        sum += v;
                    }
                    (count, sum)
                })
            })
            .collect();
        for (i, mut tx) in txs.into_iter().enumerate() {
            let first = i as u64 * per + 1;
            tokio::spawn(async move {
                for v in first..first + per {
                    P::send(&mut tx, v).await;
                }
            });
        }
        let mut got = (0, 0);
        for r in receiving {
            let (count, sum) = r.await.expect("a receiver task");
            got = (got.0 + count, got.1 + sum);
        }
        got
    });
    let elapsed = start.elapsed();
    assert_eq!(got, (n, n * (n + 1) / 2), "{}: every message once", P::NAME);
    elapsed
}

/// A sender's end of a queue shared behind an `Arc`, closing it when the
/// last sender's end is dropped (what a channel's sender does).
pub struct Sending<Q: Close> {
    queue: Arc<Q>,
    live: Arc<AtomicUsize>,
}

/// A queue that a sender's end closes.
pub trait Close {
    /// Closes the queue: receivers drain it, then see it closed.
    fn close(&self);
}

impl<Q: Close> Drop for Sending<Q> {
    fn drop(&mut self) {
        if self.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.queue.close();
        }
    }
}

/// `senders` closing ends and `receivers` plain handles of `queue`.
fn shared<Q: Close>(queue: Q, senders: usize, receivers: usize) -> (Vec<Sending<Q>>, Vec<Arc<Q>>) {
    let queue = Arc::new(queue);
    let live = Arc::new(AtomicUsize::new(senders));
    let txs = (0..senders)
        .map(|_| Sending {
            queue: queue.clone(),
            live: live.clone(),
        })
        .collect();
    (txs, vec![queue; receivers])
}

impl Close for Ring<u64> {
    fn close(&self) {
        Ring::close(self);
    }
}

impl Close for AckQueue<u64> {
    fn close(&self) {
        AckQueue::close(self);
    }
}

/// ackring's `Ring` with its futures, default wait strategy.
pub struct RingFutures;

impl AsyncPeer for RingFutures {
    const NAME: &'static str = "ackring Ring, send_async / recv_async";
    const SLUG: &'static str = "ring-async";
    const MPMC: bool = true;
    type Tx = Sending<Ring<u64>>;
    type Rx = Arc<Ring<u64>>;
    fn open(cap: usize, s: usize, r: usize) -> (Vec<Self::Tx>, Vec<Self::Rx>) {
        shared(Ring::new(cap), s, r)
    }
    async fn send(tx: &mut Self::Tx, v: u64) {
        tx.queue.send_async(v).await.expect("open")
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv_async().await.ok()
    }
}

/// ackring's `AckQueue` with its futures: publish, receive, ack.
pub struct AckFutures;

impl AsyncPeer for AckFutures {
    const NAME: &'static str = "ackring AckQueue, publish_async / receive_async + ack";
    const SLUG: &'static str = "ackqueue-async";
    const MPMC: bool = true;
    type Tx = Sending<AckQueue<u64>>;
    type Rx = Arc<AckQueue<u64>>;
    fn open(cap: usize, s: usize, r: usize) -> (Vec<Self::Tx>, Vec<Self::Rx>) {
        let q = AckQueue::builder()
            .capacity(cap)
            .max_in_flight(cap)
            .build()
            .expect("a valid queue");
        shared(q, s, r)
    }
    async fn send(tx: &mut Self::Tx, v: u64) {
        tx.queue.publish_async(v).await.expect("open");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        let d = rx.receive_async().await.ok()?;
        let v = *d;
        d.ack().expect("the first ack of a live delivery");
        Some(v)
    }
}

/// An [`AsyncPeer`] for a bounded async channel: `open(cap)` gives its two
/// ends; the sender is cloned for each sender task, the receiver for each
/// receiver task where it serves several (`mpmc: true`); `send` and `recv`
/// are its own async calls.
macro_rules! channel_peer {
    (@rxs true, $rx:ident, $r:ident) => { vec![$rx; $r] };
    (@rxs false, $rx:ident, $r:ident) => {{
        assert_eq!($r, 1, "one receiver");
        vec![$rx]
    }};
    ($(#[$doc:meta])* $peer:ident, $name:literal, $slug:literal, mpmc: $mpmc:tt,
     $tx:ty, $rxt:ty, $open:expr,
     |$t:ident, $v:ident| $send:expr, |$x:ident| $recv:expr $(,)?) => {
        $(#[$doc])*
        pub struct $peer;

        impl AsyncPeer for $peer {
            const NAME: &'static str = $name;
            const SLUG: &'static str = $slug;
            const MPMC: bool = $mpmc;
            type Tx = $tx;
            type Rx = $rxt;
            fn open(cap: usize, s: usize, r: usize) -> (Vec<Self::Tx>, Vec<Self::Rx>) {
                let (tx, rx) = $open(cap);
                (vec![tx; s], channel_peer!(@rxs $mpmc, rx, r))
            }
            async fn send($t: &mut Self::Tx, $v: u64) {
                $send.expect("open")
            }
            async fn recv($x: &mut Self::Rx) -> Option<u64> {
                $recv
            }
        }
    };
}

channel_peer!(
    /// tokio's bounded `mpsc` channel.
    TokioMpsc, "tokio::sync::mpsc (bounded)", "tokio-mpsc", mpmc: false,
    tokio::sync::mpsc::Sender<u64>, tokio::sync::mpsc::Receiver<u64>,
    tokio::sync::mpsc::channel,
    |tx, v| tx.send(v).await, |rx| rx.recv().await,
);
channel_peer!(
    /// async-channel's bounded channel.
    AsyncChannel, "async-channel (bounded)", "async-channel", mpmc: true,
    async_channel::Sender<u64>, async_channel::Receiver<u64>, async_channel::bounded,
    |tx, v| tx.send(v).await, |rx| rx.recv().await.ok(),
);
channel_peer!(
    /// flume's bounded channel, async calls.
    FlumeAsync, "flume (bounded, async)", "flume-async", mpmc: true,
    flume::Sender<u64>, flume::Receiver<u64>, flume::bounded,
    |tx, v| tx.send_async(v).await, |rx| rx.recv_async().await.ok(),
);
channel_peer!(
    /// kanal's bounded async channel.
    Kanal, "kanal (bounded, async)", "kanal", mpmc: true,
    kanal::AsyncSender<u64>, kanal::AsyncReceiver<u64>, kanal::bounded_async,
    |tx, v| tx.send(v).await, |rx| rx.recv().await.ok(),
);
channel_peer!(
    /// thingbuf's bounded `mpsc` channel.
    Thingbuf, "thingbuf::mpsc", "thingbuf", mpmc: false,
    thingbuf::mpsc::Sender<u64>, thingbuf::mpsc::Receiver<u64>, thingbuf::mpsc::channel,
    |tx, v| tx.send(v).await, |rx| rx.recv().await,
);

/// One queue as a section or an example runs it.
#[derive(Clone, Copy)]
pub struct Side {
    /// Name in the report.
    pub name: &'static str,
    /// Its slug.
    pub slug: &'static str,
    /// One of ours (else a peer).
    pub ours: bool,
    /// Serves several receivers.
    pub mpmc: bool,
    /// [`run`] for it.
    pub run: fn(&tokio::runtime::Runtime, usize, usize, usize, u64) -> Duration,
}

impl Side {
    const fn of<P: AsyncPeer>(ours: bool) -> Side {
        Side {
            name: P::NAME,
            slug: P::SLUG,
            ours,
            mpmc: P::MPMC,
            run: run::<P>,
        }
    }
}

/// Every queue measured: ours first, then the peers.
pub const SIDES: [Side; 7] = [
    Side::of::<RingFutures>(true),
    Side::of::<AckFutures>(true),
    Side::of::<TokioMpsc>(false),
    Side::of::<AsyncChannel>(false),
    Side::of::<FlumeAsync>(false),
    Side::of::<Kanal>(false),
    Side::of::<Thingbuf>(false),
];

/// One shape: senders and receivers.
#[derive(Clone, Copy)]
pub struct Shape {
    /// Its name, e.g. `10P1C`.
    pub name: &'static str,
    /// Sender tasks.
    pub senders: usize,
    /// Receiver tasks.
    pub receivers: usize,
}

impl Shape {
    const fn new(name: &'static str, senders: usize, receivers: usize) -> Shape {
        Shape {
            name,
            senders,
            receivers,
        }
    }
}

/// thingbuf's published shape (1, 10, 50, 100 senders and one receiver),
/// then 4 senders and 4 receivers for the queues that serve several.
pub const SHAPES: [Shape; 5] = [
    Shape::new("1P1C", 1, 1),
    Shape::new("10P1C", 10, 1),
    Shape::new("50P1C", 50, 1),
    Shape::new("100P1C", 100, 1),
    Shape::new("4P4C", 4, 4),
];

/// Capacity of every queue: thingbuf's benchmark's.
pub const CAPACITY: usize = 100;

/// A tokio runtime with one worker per core.
pub fn runtime() -> tokio::runtime::Runtime {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("a tokio runtime")
}
