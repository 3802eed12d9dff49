//! The ack API over RabbitMQ (AMQP 0-9-1), with the `amqp` feature:
//! [`AmqpQueue`] implements the traits of [`api`](crate::api) on a
//! RabbitMQ queue, so code written against them runs unchanged on a
//! broker, across processes and machines.
//!
//! The semantics are RabbitMQ's own features, not an imitation of them on
//! the client:
//!
//! | ack API | RabbitMQ |
//! |---|---|
//! | the queue | a quorum queue (`x-queue-type=quorum`): durable, replicated, and it counts deliveries |
//! | `publish` and its confirmation | `basic.publish` (persistent, `mandatory`) on a channel in confirm mode; returns at the broker's `basic.ack` |
//! | `max_in_flight` (prefetch) | `basic.qos(prefetch_count)` on the consuming channel, per handle |
//! | receive | `basic.consume`, started by the first receive |
//! | `delivery_count` | the quorum queue's `x-delivery-count` header + 1 |
//! | `redelivered` | the `redelivered` flag |
//! | ack, nack(requeue), nack(false), drop | `basic.ack`, `basic.nack(requeue=true)`, `basic.nack(requeue=false)`, `basic.nack(requeue=true)` |
//! | batch ack, batch nack | one `basic.ack` / `basic.nack` with `multiple` when the batch covers every unsettled delivery of the handle up to its last one, else one per delivery |
//! | `max_deliveries` = k | `x-delivery-limit` = k − 1 (the broker delivers k times, then dead-letters) |
//! | dead letters | `x-dead-letter-exchange`: a fanout exchange `<queue>.dlx` bound to the quorum queue `<queue>.dead`; the reason is `x-first-death-reason` (`rejected`, `delivery_limit`) |
//! | close | `basic.cancel`, and the prefetched deliveries not handed out go back (`basic.nack(requeue=true)`) |
//! | drain | `basic.get` until empty, on the queue and its dead letters |
//! | a crashed consumer | the broker requeues what its connection held when the connection drops |
//!
//! What RabbitMQ does not offer is said by
//! [`capabilities`](crate::api::Queue::capabilities): no per-message
//! leases (its `consumer_timeout` closes the whole channel), no delayed
//! requeue, no "processed" confirmations or watermark (a publisher confirm
//! says the broker has the message, not that a consumer settled it),
//! sequence numbers per producing handle, prefetch and close per handle,
//! and no delivery count in a rejected dead letter (RabbitMQ 3.10 drops
//! the `x-delivery-count` header when it dead-letters).
//!
//! Messages carry their sequence number in the header `ackring-seq` and
//! their codec's `content_type`, so any AMQP client in any language reads
//! and writes the same queue ([`Raw`] bytes, or JSON with the `json`
//! feature). A message without the header has no sequence number
//! ([`Acknowledge::seq`] is `None`; a dead letter's `seq()` is
//! `u64::MAX`). A delivery the codec cannot decode is rejected to the dead
//! letters and not handed out.
//!
//! Blocking calls park the calling thread on lapin's futures (lapin runs
//! its I/O on threads of its own); the `_async` forms run on any runtime.
//! A settle (ack, nack, drop) waits only for its frame to be written.
//!
//! # Examples
//!
//! ```no_run
//! use std::time::Duration;
//! use ackring::amqp::AmqpQueue;
//! use ackring::api::{Acknowledge, Consumer, Producer, Queue};
//!
//! let q = AmqpQueue::builder("amqp://guest:guest@127.0.0.1:5672/%2f", "jobs")
//!     .max_in_flight(8)   // basic.qos prefetch
//!     .max_deliveries(5)  // x-delivery-limit 4, then the dead letters
//!     .connect()?;
//! q.publish(b"resize image 42".to_vec())?; // returns at the publisher confirm
//! let d = q.receive()?;
//! assert_eq!(&**d, b"resize image 42");
//! d.ack()?;
//! q.close();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod block;
mod codec;

use core::fmt;
use core::future::{poll_fn, Future};
use core::marker::PhantomData;
use core::ops::Deref;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use futures_core::Stream;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions,
    BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

use self::block::{block_on, block_on_until};
#[cfg(feature = "json")]
pub use self::codec::Json;
pub use self::codec::{Codec, CodecError, Raw};
use crate::ack::{DeadLetter, DeadReason, Seq};
use crate::api::{
    Acknowledge, Capabilities, Consumer, Drain, Error, Producer, Queue, Scope, SendError,
};
use crate::error::{AckError, ConfigError};

/// The header that carries a message's sequence number.
pub const SEQ_HEADER: &str = "ackring-seq";

/// Longest a settle waits for its frame to be written before it reports
/// the delivery [`Stale`](AckError::Stale) (the connection is then as good
/// as gone, and the broker redelivers).
const SETTLE_WAIT: Duration = Duration::from_secs(10);
/// Longest `close` and dropping a handle wait for the broker.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How often a wait for a dead letter asks the broker again.
const DEAD_LETTER_POLL: Duration = Duration::from_millis(10);

/// The instant `timeout` from now, if it is representable.
fn after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

fn broker(e: lapin::Error) -> Error {
    Error::Broker(e.to_string())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the lock is held leaves plain data (a consumer handle,
    // a set of tags) that is still consistent.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An integer header, whatever integer type the broker or another client
/// wrote it as.
fn header_int(headers: &Option<FieldTable>, name: &str) -> Option<u64> {
    let value = headers.as_ref()?.inner().get(name)?;
    let n: i128 = match value {
        AMQPValue::ShortShortInt(n) => (*n).into(),
        AMQPValue::ShortShortUInt(n) => (*n).into(),
        AMQPValue::ShortInt(n) => (*n).into(),
        AMQPValue::ShortUInt(n) => (*n).into(),
        AMQPValue::LongInt(n) => (*n).into(),
        AMQPValue::LongUInt(n) => (*n).into(),
        AMQPValue::LongLongInt(n) => (*n).into(),
        AMQPValue::Timestamp(n) => (*n).into(),
        _ => return None,
    };
    u64::try_from(n).ok()
}

/// A text header.
fn header_str(headers: &Option<FieldTable>, name: &str) -> Option<String> {
    match headers.as_ref()?.inner().get(name)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// How a delivery is settled.
#[derive(Clone, Copy, Debug)]
enum Settle {
    Ack,
    Requeue,
    Reject,
}

/// Builds an [`AmqpQueue`]: the broker's URL, the queue's name, its
/// settings, and the codec.
#[derive(Clone, Debug)]
pub struct AmqpQueueBuilder<C = Raw> {
    url: String,
    queue: String,
    max_in_flight: u16,
    max_deliveries: Option<u32>,
    codec: C,
}

/// The consuming state of a handle: lapin's consumer, once the first
/// receive started it, and the delivery tags handed out and not settled.
struct Consuming {
    consumer: Option<lapin::Consumer>,
    /// Why receives end, once they do (the close, or a failed consumer).
    ended: Option<Error>,
    /// Delivery tags of the consuming channel that are out and unsettled:
    /// a batch settle uses `multiple` only when every one of them up to
    /// its last tag is in the batch.
    unsettled: BTreeSet<u64>,
}

/// What a handle holds, apart from its codec.
struct Shared {
    conn: Connection,
    /// In confirm mode: publishes.
    publish: Channel,
    /// With the prefetch limit: the consumer, its settles, the drain.
    consume: Channel,
    /// Declarations and the dead letters.
    admin: Channel,
    queue: String,
    dead: String,
    max_in_flight: u16,
    max_deliveries: Option<u32>,
    closed: AtomicBool,
    /// The next sequence number; held while a publish's frames are
    /// queued, so numbers follow the order the broker receives.
    next_seq: async_lock::Mutex<u64>,
    started: async_lock::OnceCell<()>,
    consuming: Mutex<Consuming>,
}

impl Shared {
    /// Settles delivery `tag` of the consuming channel.
    async fn settle(&self, tag: u64, how: Settle) -> Result<(), Error> {
        lock(&self.consuming).unsettled.remove(&tag);
        self.send_settle(tag, how, false).await
    }

    /// Sends the settle frame; any failure means the channel is gone.
    async fn send_settle(&self, tag: u64, how: Settle, multiple: bool) -> Result<(), Error> {
        let ch = &self.consume;
        let sent = match how {
            Settle::Ack => ch.basic_ack(tag, BasicAckOptions { multiple }).await,
            Settle::Requeue | Settle::Reject => {
                let requeue = matches!(how, Settle::Requeue);
                ch.basic_nack(tag, BasicNackOptions { multiple, requeue })
                    .await
            }
        };
        sent.map_err(|_| Error::Ack(AckError::Stale))
    }

    /// `settle`, blocking.
    fn settle_blocking(&self, tag: u64, how: Settle) -> Result<(), Error> {
        block_on_until(self.settle(tag, how), after(SETTLE_WAIT))
            .unwrap_or(Err(Error::Ack(AckError::Stale)))
    }

    /// Starts the consumer if no receive did yet.
    async fn start_consuming(&self) -> Result<(), Error> {
        self.started
            .get_or_try_init(|| async {
                let consumer = self
                    .consume
                    .basic_consume(
                        &self.queue,
                        "",
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await
                    .map_err(broker)?;
                lock(&self.consuming).consumer = Some(consumer);
                Ok::<(), Error>(())
            })
            .await
            .map(|_| ())
    }

    /// Moves up to `max` deliveries that lapin has received into `raw`,
    /// recording their tags as unsettled in the same critical section (so
    /// a concurrent batch settle never counts a tag below its last one as
    /// covered while that tag is on its way out).
    fn poll_take(
        &self,
        cx: &mut Context<'_>,
        max: usize,
        raw: &mut Vec<lapin::message::Delivery>,
    ) -> Poll<Result<(), Error>> {
        if self.closed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(Error::Closed));
        }
        let mut state = lock(&self.consuming);
        let Consuming {
            consumer,
            ended,
            unsettled,
        } = &mut *state;
        if let Some(why) = ended {
            return Poll::Ready(Err(why.clone()));
        }
        let Some(stream) = consumer.as_mut() else {
            return Poll::Ready(Err(Error::Closed));
        };
        while raw.len() < max {
            match Pin::new(&mut *stream).poll_next(cx) {
                Poll::Ready(Some(Ok(d))) => {
                    unsettled.insert(d.delivery_tag);
                    raw.push(d);
                }
                Poll::Ready(end) => {
                    // Cancelled (by the broker, say for a deleted queue),
                    // or failed: no receive gets more from this consumer.
                    let why = match end {
                        Some(Err(e)) => broker(e),
                        _ => Error::Closed,
                    };
                    *ended = Some(why.clone());
                    if raw.is_empty() {
                        return Poll::Ready(Err(why));
                    }
                    break;
                }
                Poll::Pending => break,
            }
        }
        drop(state);
        if !raw.is_empty() {
            Poll::Ready(Ok(()))
        } else if self.closed.load(Ordering::SeqCst) {
            // Set after our first look: the close's cancel woke us, or
            // will find our waker registered.
            Poll::Ready(Err(Error::Closed))
        } else {
            Poll::Pending
        }
    }

    /// Cancels the consumer and returns what it prefetched and did not
    /// hand out.
    async fn stop_consuming(&self) {
        let tag = lock(&self.consuming).consumer.as_ref().map(|c| c.tag());
        let Some(tag) = tag else {
            lock(&self.consuming).ended = Some(Error::Closed);
            return;
        };
        let _ = self
            .consume
            .basic_cancel(tag.as_str(), BasicCancelOptions::default())
            .await;
        // After `basic.cancel-ok` the broker sends this consumer nothing
        // more: what lapin holds is all it prefetched.
        let left = poll_fn(|cx| {
            let mut state = lock(&self.consuming);
            let mut left = Vec::new();
            if let Some(mut stream) = state.consumer.take() {
                while let Poll::Ready(Some(Ok(d))) = Pin::new(&mut stream).poll_next(cx) {
                    left.push(d.delivery_tag);
                }
            }
            state.ended = Some(Error::Closed);
            Poll::Ready(left)
        })
        .await;
        for tag in left {
            let _ = self.send_settle(tag, Settle::Requeue, false).await;
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Whatever is unsettled goes back to the queue with the
        // connection.
        let _ = block_on_until(self.conn.close(200, "handle dropped"), after(CLOSE_WAIT));
    }
}

/// A handle on a RabbitMQ quorum queue, implementing the ack API
/// ([`Producer`], [`Consumer`]): one connection with a channel to publish
/// (in confirm mode), one to consume (with the prefetch limit) and one for
/// the dead letters. See the [module docs](self) for how each call maps
/// onto RabbitMQ.
///
/// `M` is the message type, `C` the [`Codec`] between `M` and message
/// bodies: [`Raw`] for `Vec<u8>`, or [`Json`] (feature `json`). Handles on
/// the same queue, in any processes, are competing consumers; each one
/// has its own prefetch limit, sequence numbers and close.
pub struct AmqpQueue<M, C = Raw> {
    shared: Shared,
    codec: C,
    /// The handle stores no message; deliveries do.
    _msg: PhantomData<fn(M) -> M>,
}

impl AmqpQueue<Vec<u8>, Raw> {
    /// A builder for a handle on queue `queue` of the broker at `url`
    /// (`amqp://user:password@host:port/vhost`, the vhost URL-encoded:
    /// `%2f` for `/`). Raw bytes until [`codec`](AmqpQueueBuilder::codec)
    /// says otherwise; prefetch 16; no delivery limit.
    pub fn builder(url: impl Into<String>, queue: impl Into<String>) -> AmqpQueueBuilder<Raw> {
        AmqpQueueBuilder {
            url: url.into(),
            queue: queue.into(),
            max_in_flight: 16,
            max_deliveries: None,
            codec: Raw,
        }
    }
}

impl<C> AmqpQueueBuilder<C> {
    /// The prefetch limit: how many deliveries this handle may hold
    /// unsettled (`basic.qos` `prefetch_count`, counting what the broker
    /// sent ahead and this handle did not hand out yet).
    pub fn max_in_flight(mut self, n: u16) -> Self {
        self.max_in_flight = n;
        self
    }

    /// A message delivered `k` times without an ack goes to the dead
    /// letters (`x-delivery-limit` = k − 1). Part of the queue's
    /// declaration: every handle on a queue must say the same (the broker
    /// refuses a declaration whose arguments differ).
    pub fn max_deliveries(mut self, k: u32) -> Self {
        self.max_deliveries = Some(k);
        self
    }

    /// The codec between messages and bodies.
    pub fn codec<C2>(self, codec: C2) -> AmqpQueueBuilder<C2> {
        AmqpQueueBuilder {
            url: self.url,
            queue: self.queue,
            max_in_flight: self.max_in_flight,
            max_deliveries: self.max_deliveries,
            codec,
        }
    }

    /// Connects and declares the queue, its dead-letter exchange and
    /// dead-letter queue (idempotent: a second handle finds them).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a zero `max_in_flight` or `max_deliveries`;
    /// [`Error::Broker`] if the broker cannot be reached or refuses a
    /// declaration (for example a queue of that name declared with other
    /// arguments).
    pub fn connect<M>(self) -> Result<AmqpQueue<M, C>, Error>
    where
        C: Codec<M>,
    {
        block_on(self.connect_async())
    }

    /// [`connect`](Self::connect) without blocking the thread.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_async<M>(self) -> Result<AmqpQueue<M, C>, Error>
    where
        C: Codec<M>,
    {
        if self.max_in_flight == 0 {
            return Err(Error::Config(ConfigError::Zero {
                field: "max_in_flight",
            }));
        }
        if self.max_deliveries == Some(0) {
            return Err(Error::Config(ConfigError::Zero {
                field: "max_deliveries",
            }));
        }
        let name = format!("ackring {} (pid {})", self.queue, std::process::id());
        let props = ConnectionProperties::default().with_connection_name(name.into());
        let conn = Connection::connect(&self.url, props)
            .await
            .map_err(broker)?;
        match self.open(&conn).await {
            Ok((publish, consume, admin)) => Ok(AmqpQueue {
                shared: Shared {
                    conn,
                    publish,
                    consume,
                    admin,
                    dead: dead_queue(&self.queue),
                    queue: self.queue,
                    max_in_flight: self.max_in_flight,
                    max_deliveries: self.max_deliveries,
                    closed: AtomicBool::new(false),
                    next_seq: async_lock::Mutex::new(0),
                    started: async_lock::OnceCell::new(),
                    consuming: Mutex::new(Consuming {
                        consumer: None,
                        ended: None,
                        unsettled: BTreeSet::new(),
                    }),
                },
                codec: self.codec,
                _msg: PhantomData,
            }),
            Err(e) => {
                let _ = conn.close(200, "declaration failed").await;
                Err(e)
            }
        }
    }

    /// Declares what the queue needs and opens the three channels.
    async fn open(&self, conn: &Connection) -> Result<(Channel, Channel, Channel), Error> {
        let admin = conn.create_channel().await.map_err(broker)?;
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        let quorum = || {
            let mut args = FieldTable::default();
            args.insert(
                "x-queue-type".into(),
                AMQPValue::LongString("quorum".into()),
            );
            args
        };
        let dlx = dead_exchange(&self.queue);
        let dead = dead_queue(&self.queue);
        admin
            .exchange_declare(
                &dlx,
                ExchangeKind::Fanout,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(broker)?;
        admin
            .queue_declare(&dead, durable, quorum())
            .await
            .map_err(broker)?;
        admin
            .queue_bind(
                &dead,
                &dlx,
                "",
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(broker)?;
        let mut args = quorum();
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(dlx.as_str().into()),
        );
        if let Some(k) = self.max_deliveries {
            args.insert(
                "x-delivery-limit".into(),
                AMQPValue::LongLongInt(i64::from(k) - 1),
            );
        }
        admin
            .queue_declare(&self.queue, durable, args)
            .await
            .map_err(broker)?;
        let publish = conn.create_channel().await.map_err(broker)?;
        publish
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(broker)?;
        let consume = conn.create_channel().await.map_err(broker)?;
        consume
            .basic_qos(self.max_in_flight, BasicQosOptions { global: false })
            .await
            .map_err(broker)?;
        Ok((publish, consume, admin))
    }
}

/// The dead-letter exchange of queue `queue`.
fn dead_exchange(queue: &str) -> String {
    format!("{queue}.dlx")
}

/// The dead-letter queue of queue `queue`.
fn dead_queue(queue: &str) -> String {
    format!("{queue}.dead")
}

impl<M, C> AmqpQueue<M, C> {
    /// The queue's name.
    pub fn queue_name(&self) -> &str {
        &self.shared.queue
    }

    /// The name of its dead-letter queue (`<queue>.dead`), which any AMQP
    /// client can read.
    pub fn dead_letter_queue_name(&self) -> &str {
        &self.shared.dead
    }

    /// This handle's prefetch limit.
    pub fn max_in_flight(&self) -> u16 {
        self.shared.max_in_flight
    }

    /// Deletes the queue, its dead-letter queue and its dead-letter
    /// exchange, with every message in them, for every handle: the end of
    /// a test or a benchmark.
    ///
    /// # Errors
    ///
    /// [`Error::Broker`] if the broker refuses or cannot be reached.
    pub fn delete(self) -> Result<(), Error> {
        let shared = &self.shared;
        block_on(async {
            let options = QueueDeleteOptions::default();
            shared.admin.queue_delete(&shared.queue, options).await?;
            shared.admin.queue_delete(&shared.dead, options).await?;
            shared
                .admin
                .exchange_delete(
                    &dead_exchange(&shared.queue),
                    ExchangeDeleteOptions::default(),
                )
                .await
        })
        .map_err(broker)
    }
}

impl<M: Send, C: Codec<M>> AmqpQueue<M, C> {
    async fn publish_inner(&self, msg: M) -> Result<Seq, SendError<M>> {
        let shared = &self.shared;
        if shared.closed.load(Ordering::SeqCst) {
            return Err(SendError::new(Error::Closed, msg));
        }
        let body = match self.codec.encode(&msg) {
            Ok(body) => body,
            Err(e) => return Err(SendError::new(Error::Codec(e.to_string()), msg)),
        };
        let (seq, confirm) = {
            let mut next = shared.next_seq.lock().await;
            let seq = *next;
            // Counted before the frames go: a publish abandoned after them
            // leaves a gap, never a number used twice.
            *next += 1;
            let mut headers = FieldTable::default();
            headers.insert(
                SEQ_HEADER.into(),
                AMQPValue::LongLongInt(i64::try_from(seq).unwrap_or(i64::MAX)),
            );
            let props = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type(C::CONTENT_TYPE.into())
                .with_headers(headers);
            let options = BasicPublishOptions {
                mandatory: true,
                immediate: false,
            };
            match shared
                .publish
                .basic_publish("", &shared.queue, options, &body, props)
                .await
            {
                Ok(confirm) => (seq, confirm),
                Err(e) => return Err(SendError::new(broker(e), msg)),
            }
        };
        match confirm.await {
            Ok(Confirmation::Ack(None)) | Ok(Confirmation::NotRequested) => Ok(Seq(seq)),
            Ok(Confirmation::Ack(Some(_))) => Err(SendError::new(
                Error::Broker("message returned: no queue took it".into()),
                msg,
            )),
            Ok(Confirmation::Nack(_)) => Err(SendError::new(
                Error::Broker("the broker refused the message (publisher nack)".into()),
                msg,
            )),
            Err(e) => Err(SendError::new(broker(e), msg)),
        }
    }

    /// The guard of a delivery lapin received, or its tag if the codec
    /// cannot decode it.
    fn wrap(&self, d: lapin::message::Delivery) -> Result<AmqpDelivery<'_, M>, u64> {
        let headers = d.properties.headers();
        let earlier = header_int(headers, "x-delivery-count").unwrap_or(0);
        let count = u32::try_from(earlier.saturating_add(1)).unwrap_or(u32::MAX);
        let seq = header_int(headers, SEQ_HEADER).map(Seq);
        let tag = d.delivery_tag;
        let redelivered = d.redelivered || count > 1;
        match self.codec.decode(d.data) {
            Ok(msg) => Ok(AmqpDelivery {
                shared: &self.shared,
                msg,
                tag,
                seq,
                count,
                redelivered,
                settled: false,
            }),
            Err(_) => Err(tag),
        }
    }

    /// Waits for deliveries and appends up to `max` to `out`.
    async fn receive_into<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<AmqpDelivery<'q, M>>,
    ) -> Result<usize, Error> {
        if max == 0 {
            return Ok(0);
        }
        self.shared.start_consuming().await?;
        loop {
            let mut raw = Vec::new();
            poll_fn(|cx| self.shared.poll_take(cx, max, &mut raw)).await?;
            let mut n = 0;
            for d in raw {
                match self.wrap(d) {
                    Ok(d) => {
                        out.push(d);
                        n += 1;
                    }
                    // Not a message of this codec: to the dead letters,
                    // where any client can look at it.
                    Err(tag) => {
                        let _ = self.shared.settle(tag, Settle::Reject).await;
                    }
                }
            }
            if n > 0 {
                return Ok(n);
            }
        }
    }

    async fn receive_one(&self) -> Result<AmqpDelivery<'_, M>, Error> {
        let mut out = Vec::with_capacity(1);
        self.receive_into(1, &mut out).await?;
        match out.pop() {
            Some(d) => Ok(d),
            None => unreachable!("receive_into returned a delivery"),
        }
    }

    /// Settles a batch of this handle's deliveries with as few frames as
    /// the batch allows.
    fn settle_batch<'q>(
        &'q self,
        batch: impl IntoIterator<Item = AmqpDelivery<'q, M>>,
        how: Settle,
        errors: &mut Vec<(usize, Error)>,
    ) -> usize {
        let shared = &self.shared;
        let mut tags = Vec::new();
        for (i, mut d) in batch.into_iter().enumerate() {
            if core::ptr::eq(d.shared, shared) {
                d.settled = true;
                tags.push((i, d.tag));
            } else {
                // Settled through its own handle when dropped here: its
                // tag means nothing on this handle's channel.
                errors.push((i, Error::Ack(AckError::ForeignTag)));
            }
        }
        let Some(&(_, last)) = tags.iter().max_by_key(|(_, t)| *t) else {
            return 0;
        };
        let whole = {
            let mut state = lock(&shared.consuming);
            let batch: BTreeSet<u64> = tags.iter().map(|&(_, t)| t).collect();
            let whole = state.unsettled.range(..=last).all(|t| batch.contains(t));
            for (_, t) in &tags {
                state.unsettled.remove(t);
            }
            whole
        };
        if whole && tags.len() > 1 {
            let sent = block_on_until(shared.send_settle(last, how, true), after(SETTLE_WAIT))
                .unwrap_or(Err(Error::Ack(AckError::Stale)));
            return match sent {
                Ok(()) => tags.len(),
                Err(e) => {
                    errors.extend(tags.iter().map(|&(i, _)| (i, e.clone())));
                    0
                }
            };
        }
        let mut settled = 0;
        for (i, tag) in tags {
            let sent = block_on_until(shared.send_settle(tag, how, false), after(SETTLE_WAIT))
                .unwrap_or(Err(Error::Ack(AckError::Stale)));
            match sent {
                Ok(()) => settled += 1,
                Err(e) => errors.push((i, e)),
            }
        }
        settled
    }

    /// Takes everything from the queue and the dead letters, settling it
    /// only once all of it is in hand.
    async fn drain_inner(&self) -> Result<Vec<M>, Error> {
        let shared = &self.shared;
        let get = BasicGetOptions { no_ack: false };
        let mut taken = Vec::new();
        let mut values = Vec::new();
        let mut undecodable = Vec::new();
        // On the consuming channel, after the close's requeues on it: the
        // broker handles a channel's frames in order, so they are found.
        let failed = loop {
            match shared.consume.basic_get(&shared.queue, get).await {
                Ok(Some(m)) => {
                    let tag = m.delivery.delivery_tag;
                    lock(&shared.consuming).unsettled.insert(tag);
                    match self.codec.decode(m.delivery.data) {
                        Ok(v) => {
                            taken.push(tag);
                            values.push(v);
                        }
                        Err(_) => undecodable.push(tag),
                    }
                }
                Ok(None) => break None,
                Err(e) => break Some(broker(e)),
            }
        };
        for tag in undecodable {
            let _ = shared.settle(tag, Settle::Reject).await;
        }
        if let Some(e) = failed {
            for tag in taken {
                let _ = shared.settle(tag, Settle::Requeue).await;
            }
            return Err(e);
        }
        let mut dead = Vec::new();
        let mut kept = Vec::new();
        let failed = loop {
            match shared.admin.basic_get(&shared.dead, get).await {
                Ok(Some(m)) => {
                    let tag = m.delivery.delivery_tag;
                    match self.codec.decode(m.delivery.data) {
                        Ok(v) => {
                            dead.push(tag);
                            values.push(v);
                        }
                        // Left in the dead letters for another client.
                        Err(_) => kept.push(tag),
                    }
                }
                Ok(None) => break None,
                Err(e) => break Some(broker(e)),
            }
        };
        let requeue = BasicNackOptions {
            multiple: false,
            requeue: true,
        };
        for tag in kept {
            let _ = shared.admin.basic_nack(tag, requeue).await;
        }
        if let Some(e) = failed {
            for tag in dead {
                let _ = shared.admin.basic_nack(tag, requeue).await;
            }
            for tag in taken {
                let _ = shared.settle(tag, Settle::Requeue).await;
            }
            return Err(e);
        }
        for tag in taken {
            let _ = shared.settle(tag, Settle::Ack).await;
        }
        for tag in dead {
            let _ = shared
                .admin
                .basic_ack(tag, BasicAckOptions::default())
                .await;
        }
        Ok(values)
    }

    /// Takes the oldest dead letter, if there is one now.
    async fn take_dead_letter(&self) -> Result<Option<DeadLetter<M>>, Error> {
        let shared = &self.shared;
        let Some(m) = shared
            .admin
            .basic_get(&shared.dead, BasicGetOptions { no_ack: false })
            .await
            .map_err(broker)?
        else {
            return Ok(None);
        };
        let d = m.delivery;
        let headers = d.properties.headers();
        let reason = match header_str(headers, "x-first-death-reason").as_deref() {
            Some("rejected") => Ok(DeadReason::Rejected),
            Some("delivery_limit") => Ok(DeadReason::MaxDeliveries),
            other => Err(Error::Broker(format!(
                "a dead letter whose reason is {other:?}"
            ))),
        };
        let seq = header_int(headers, SEQ_HEADER).unwrap_or(u64::MAX);
        let tag = d.delivery_tag;
        let decoded = match reason {
            Ok(reason) => self
                .codec
                .decode(d.data)
                .map(|value| (value, reason))
                .map_err(|e| Error::Codec(e.to_string())),
            Err(e) => Err(e),
        };
        match decoded {
            Ok((value, reason)) => {
                shared
                    .admin
                    .basic_ack(tag, BasicAckOptions::default())
                    .await
                    .map_err(broker)?;
                let count = match reason {
                    DeadReason::MaxDeliveries => shared.max_deliveries.unwrap_or(0),
                    DeadReason::Rejected => 0,
                };
                Ok(Some(DeadLetter {
                    value,
                    seq,
                    count,
                    reason,
                }))
            }
            Err(e) => {
                // Left where it is, for a client that can read it.
                let requeue = BasicNackOptions {
                    multiple: false,
                    requeue: true,
                };
                let _ = shared.admin.basic_nack(tag, requeue).await;
                Err(e)
            }
        }
    }
}

impl<M, C> fmt::Debug for AmqpQueue<M, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpQueue")
            .field("queue", &self.shared.queue)
            .field("max_in_flight", &self.shared.max_in_flight)
            .field("max_deliveries", &self.shared.max_deliveries)
            // Relaxed: a snapshot for display; nothing is read after it.
            .field("closed", &self.shared.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<M: Send, C: Codec<M>> Queue for AmqpQueue<M, C> {
    type Message = M;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            leases: false,
            delayed_requeue: false,
            settle_confirmations: false,
            settle_watermark: false,
            queue_wide_seq: false,
            prefetch: Scope::Handle,
            close: Scope::Handle,
            drain: Drain::Stored,
            durable: true,
            dead_letter_counts: false,
        }
    }

    /// Closes this handle: its publishes fail with [`Error::Closed`], its
    /// consumer is cancelled and what it prefetched without handing out
    /// goes back to the queue (counted as a delivery by the broker), and
    /// its receives return [`Error::Closed`]. Deliveries it handed out can
    /// still be settled. The queue and its other handles go on.
    fn close(&self) {
        if self.shared.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = block_on_until(self.shared.stop_consuming(), after(CLOSE_WAIT));
    }

    fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }
}

impl<M: Send, C: Codec<M>> Producer for AmqpQueue<M, C> {
    fn publish(&self, msg: M) -> Result<Seq, SendError<M>> {
        block_on(self.publish_inner(msg))
    }

    fn publish_async(&self, msg: M) -> impl Future<Output = Result<Seq, SendError<M>>> + Send {
        self.publish_inner(msg)
    }
}

impl<M: Send, C: Codec<M>> Consumer for AmqpQueue<M, C> {
    type Delivery<'a>
        = AmqpDelivery<'a, M>
    where
        Self: 'a;

    fn receive(&self) -> Result<AmqpDelivery<'_, M>, Error> {
        block_on(self.receive_one())
    }

    fn receive_timeout(&self, timeout: Duration) -> Result<Option<AmqpDelivery<'_, M>>, Error> {
        // Without deadline: a `basic.consume` abandoned midway would
        // leave a consumer nobody reads.
        block_on(self.shared.start_consuming())?;
        block_on_until(self.receive_one(), after(timeout)).transpose()
    }

    fn receive_batch_timeout<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<AmqpDelivery<'q, M>>,
        timeout: Duration,
    ) -> Result<usize, Error> {
        block_on(self.shared.start_consuming())?;
        block_on_until(self.receive_into(max, out), after(timeout)).unwrap_or(Ok(0))
    }

    fn receive_async(&self) -> impl Future<Output = Result<AmqpDelivery<'_, M>, Error>> + Send {
        self.receive_one()
    }

    fn receive_batch_async<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<AmqpDelivery<'q, M>>,
    ) -> impl Future<Output = Result<usize, Error>> + Send {
        self.receive_into(max, out)
    }

    fn ack_batch<'q>(
        &'q self,
        batch: impl IntoIterator<Item = AmqpDelivery<'q, M>>,
        errors: &mut Vec<(usize, Error)>,
    ) -> usize {
        self.settle_batch(batch, Settle::Ack, errors)
    }

    fn nack_batch<'q>(
        &'q self,
        batch: impl IntoIterator<Item = AmqpDelivery<'q, M>>,
        requeue: bool,
        errors: &mut Vec<(usize, Error)>,
    ) -> usize {
        let how = if requeue {
            Settle::Requeue
        } else {
            Settle::Reject
        };
        self.settle_batch(batch, how, errors)
    }

    fn receive_dead_letter_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<DeadLetter<M>>, Error> {
        let deadline = after(timeout);
        loop {
            if let Some(dead) = block_on(self.take_dead_letter())? {
                return Ok(Some(dead));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
            std::thread::sleep(DEAD_LETTER_POLL);
        }
    }

    fn drain(&self) -> Result<Vec<M>, Error> {
        block_on(self.drain_inner())
    }
}

/// A message received from an [`AmqpQueue`], unsettled until acked or
/// nacked; dropped unsettled, it is requeued (`basic.nack` with requeue).
/// Derefs to the message.
#[must_use = "a delivery dropped without ack or nack is requeued"]
pub struct AmqpDelivery<'q, M> {
    shared: &'q Shared,
    msg: M,
    tag: u64,
    seq: Option<Seq>,
    count: u32,
    redelivered: bool,
    settled: bool,
}

impl<M> AmqpDelivery<'_, M> {
    /// The delivery tag on the handle's consuming channel.
    pub fn delivery_tag(&self) -> u64 {
        self.tag
    }

    fn finish(mut self, how: Settle) -> Result<(), Error> {
        self.settled = true;
        self.shared.settle_blocking(self.tag, how)
    }
}

impl<M> Deref for AmqpDelivery<'_, M> {
    type Target = M;

    fn deref(&self) -> &M {
        &self.msg
    }
}

impl<M> Acknowledge for AmqpDelivery<'_, M> {
    fn seq(&self) -> Option<Seq> {
        self.seq
    }

    fn delivery_count(&self) -> u32 {
        self.count
    }

    fn redelivered(&self) -> bool {
        self.redelivered
    }

    fn ack(self) -> Result<(), Error> {
        self.finish(Settle::Ack)
    }

    fn nack(self, requeue: bool) -> Result<(), Error> {
        self.finish(if requeue {
            Settle::Requeue
        } else {
            Settle::Reject
        })
    }
}

impl<M> Drop for AmqpDelivery<'_, M> {
    fn drop(&mut self) {
        if !self.settled {
            self.settled = true;
            // A failure means the channel is gone, and the broker requeues
            // the message itself.
            let _ = self.shared.settle_blocking(self.tag, Settle::Requeue);
        }
    }
}

impl<M> fmt::Debug for AmqpDelivery<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpDelivery")
            .field("delivery_tag", &self.tag)
            .field("seq", &self.seq)
            .field("delivery_count", &self.count)
            .finish_non_exhaustive()
    }
}
