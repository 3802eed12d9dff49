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
//! | `publish` and its publisher confirm | `basic.publish` (persistent, `mandatory`) on a channel in publisher-confirm mode; returns at the broker's `basic.ack` |
//! | `max_in_flight` (prefetch) | `basic.qos(prefetch_count)` on the consuming channel, per handle |
//! | receive | `basic.consume`, started by the first receive |
//! | `delivery_count` | the quorum queue's `x-delivery-count` header + 1 |
//! | `redelivered` | the `redelivered` flag |
//! | ack, nack(requeue), nack(false), drop | `basic.ack`, `basic.nack(requeue=true)`, `basic.nack(requeue=false)`, `basic.nack(requeue=true)` |
//! | batch ack, batch nack | one `basic.ack` / `basic.nack` with `multiple` when the batch covers every unsettled delivery of the handle up to its last one, else one per delivery |
//! | `max_deliveries` = k | `x-delivery-limit` = k − 1 (the broker delivers k times, then dead-letters) |
//! | `ttl` (a message's time to live until its first delivery) | `x-message-ttl` in whole milliseconds (the broker expires a message while it waits) |
//! | `publish_with_ttl` | the message's `expiration` property, in whole milliseconds |
//! | dead letters | `x-dead-letter-exchange`: a fanout exchange `<queue>.dlx` bound to the quorum queue `<queue>.dead`; the reason is `x-first-death-reason` (`rejected`, `delivery_limit`, `expired`) |
//! | close | `basic.cancel`, and the prefetched deliveries not handed out go back (`basic.nack(requeue=true)`) |
//! | drain | `basic.get` until empty, on the queue and its dead letters |
//! | a crashed consumer | the broker requeues what its connection held when the connection drops |
//! | a lost connection | a new connection, with everything above declared and started again (below) |
//!
//! What RabbitMQ does not offer is said by
//! [`capabilities`](crate::api::Queue::capabilities):
//!
//! - no per-message leases: its `consumer_timeout` closes the whole
//!   channel;
//! - no delayed requeue, and no redelivery backoff: a requeue is delivered
//!   again at once;
//! - no delayed publish, but with the delayed-message plugin;
//! - no settle confirmations or watermark: a publisher confirm says the
//!   broker has the message, not that a consumer settled it;
//! - sequence numbers per producing handle, prefetch and close per handle;
//! - no delivery count in a rejected dead letter: RabbitMQ 3.10 drops the
//!   `x-delivery-count` header when it dead-letters.
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
//! # When the connection is lost
//!
//! A handle restores a lost connection by itself, as the Java and .NET
//! clients' automatic recovery does. The loss may be a broker restart, a
//! dropped socket, a missed heartbeat, or a channel the broker closed.
//!
//! A thread of the handle reconnects, at once and then with capped
//! exponential backoff and jitter. It declares the queue, its dead-letter
//! exchange and queue again, opens the channels with publisher-confirm
//! mode and `basic.qos`, and starts the consumer again if the handle was
//! consuming. The builder says:
//!
//! - whether it does ([`recovery`](AmqpQueueBuilder::recovery), on by
//!   default);
//! - how far apart the reconnections may grow
//!   ([`max_backoff`](AmqpQueueBuilder::max_backoff), 5 s);
//! - when to stop ([`give_up_after`](AmqpQueueBuilder::give_up_after),
//!   never by default).
//!
//! [`AmqpQueue::stats`] counts the recoveries and keeps the last error.
//! Meanwhile, each call:
//!
//! | call | during an outage |
//! |---|---|
//! | publish | waits for the connection, up to the [call timeout](AmqpQueueBuilder::call_timeout) (30 s), and returns at the broker's publisher confirm; past it, [`Error::Unreachable`] with the message handed back. Never success for a message the broker did not confirm |
//! | a publish whose publisher confirm was lost with the connection | published again on the new connection, with its sequence number (so it may arrive after messages numbered later): at least once, so the message may be in the queue twice (counted in [`AmqpStats::republished`]); never lost |
//! | receive | waits for the connection (a timed receive returns `None` at its timeout) and resumes on the new consumer |
//! | ack, nack, drop of a delivery received before the loss | [`AckError::Stale`](crate::AckError::Stale) at once; the broker requeued the message when the connection dropped and delivers it again, marked redelivered. An ack written just before an undetected loss may not reach the broker: the message then comes again |
//! | drain, dead letters, delete | wait for the connection up to the call timeout (a dead-letter wait, up to its own timeout), and start over on the new connection |
//! | every call, recovery off or given up | [`Error::Unreachable`] at once |
//!
//! A broker that cannot be reached when the handle connects is an error
//! of [`connect`](AmqpQueueBuilder::connect): recovery is for a handle
//! that has been connected.
//!
//! # Security
//!
//! With the `tls` feature, `amqps://` URLs connect over TLS (rustls, the
//! system's trusted roots and those given to
//! `AmqpQueueBuilder::tls_ca_pem`; no OpenSSL). Without it,
//! an `amqps://` URL is refused by `connect` rather than sent in the clear.
//! The URL's password appears in no `Debug` output (the builder shows it
//! as `***`) and in no error: a URL that does not parse is reported
//! without it. This module writes no log.
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
mod builder;
mod codec;
mod delivery;
mod drain;
mod endpoint;
mod error;
mod link;
mod publish;
mod receive;
mod recovery;
mod shared;
mod stats;

use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::time::Duration;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use self::block::{block_on, block_on_until};
pub use self::builder::AmqpQueueBuilder;
#[cfg(feature = "json")]
pub use self::codec::Json;
pub use self::codec::{Codec, CodecError, Raw};
pub use self::delivery::AmqpDelivery;
use self::shared::Shared;
pub use self::stats::{AmqpStats, BrokerFigures};
use crate::ack::{DeadLetter, Seq};
#[cfg(doc)]
use crate::api::Acknowledge;
use crate::api::{poll_dead_letter, Settle};
use crate::api::{
    Capabilities, Consumer, Drain, Error, Figures, Producer, Queue, Scope, SendError,
};

/// The header that carries a message's sequence number.
pub const SEQ_HEADER: &str = "ackring-seq";

/// Longest a settle waits for its frame to be written before it reports
/// the delivery [`Stale`](crate::AckError::Stale) (the connection is then
/// as good as gone, and the broker redelivers).
const SETTLE_WAIT: Duration = Duration::from_secs(10);
/// Longest `close`, dropping a handle, or closing a lost connection waits
/// for the broker.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How often a wait for a dead letter asks the broker again.
const DEAD_LETTER_POLL: Duration = Duration::from_millis(10);

use crate::wait::deadline_after;

/// The dead-letter exchange of queue `queue`.
fn dead_exchange(queue: &str) -> String {
    format!("{queue}.dlx")
}

/// The dead-letter queue of queue `queue`.
fn dead_queue(queue: &str) -> String {
    format!("{queue}.dead")
}

/// A handle on a RabbitMQ quorum queue, implementing the ack API
/// ([`Producer`], [`Consumer`]).
///
/// It holds one connection with three channels: one to publish (in
/// publisher-confirm mode), one to consume (with the prefetch limit) and
/// one for the dead letters. The handle restores the connection by itself
/// when it is lost. See the [module docs](self) for how each call maps
/// onto RabbitMQ and what it does during an outage.
///
/// `M` is the message type, `C` the [`Codec`] between `M` and message
/// bodies: [`Raw`] for `Vec<u8>`, or [`Json`] (feature `json`). Handles on
/// the same queue, in any processes, are competing consumers; each one
/// has its own prefetch limit, sequence numbers and close.
pub struct AmqpQueue<M, C = Raw> {
    shared: Arc<Shared>,
    codec: C,
    /// The handle stores no message; deliveries do.
    _msg: PhantomData<fn(M) -> M>,
}

impl<M, C> AmqpQueue<M, C> {
    /// The queue's name.
    pub fn queue_name(&self) -> &str {
        &self.shared.settings.queue
    }

    /// The name of its dead-letter queue (`<queue>.dead`), which any AMQP
    /// client can read.
    pub fn dead_letter_queue_name(&self) -> &str {
        &self.shared.settings.dead
    }

    /// This handle's prefetch limit.
    pub fn max_in_flight(&self) -> u16 {
        self.shared.settings.max_in_flight
    }

    /// The state of the handle's connection and what recovery has done:
    /// whether it is connected, how many times it was restored, how many
    /// messages were published again, the last error.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ackring::amqp::AmqpQueue;
    ///
    /// let q = AmqpQueue::builder("amqp://guest:guest@127.0.0.1:5672/%2f", "jobs").connect()?;
    /// let stats = q.stats();
    /// if !stats.connected {
    ///     eprintln!("reconnecting; last error: {:?}", stats.last_error);
    /// }
    /// # Ok::<(), ackring::api::Error>(())
    /// ```
    pub fn stats(&self) -> AmqpStats {
        self.shared.stats()
    }
}

impl<M: Send, C: Codec<M>> AmqpQueue<M, C> {
    /// Deletes the queue, its dead-letter queue and its dead-letter
    /// exchange, with every message in them, for every handle: the end of
    /// a test or a benchmark.
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] if the broker cannot be reached within the
    /// call timeout; [`Error::Refused`] if it refuses.
    pub fn delete(self) -> Result<(), Error> {
        let deadline = deadline_after(self.shared.settings.call_timeout);
        block_on(self.shared.on_link(deadline, |link| self.delete_on(link)))
    }
}

impl<M, C> fmt::Debug for AmqpQueue<M, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpQueue")
            .field("queue", &self.shared.settings.queue)
            .field("max_in_flight", &self.shared.settings.max_in_flight)
            .field("max_deliveries", &self.shared.settings.max_deliveries)
            // Relaxed: a snapshot for display; nothing is read after it.
            .field("closed", &self.shared.closed.load(Ordering::Relaxed))
            .field("connected", &self.shared.link_now().is_some())
            .finish_non_exhaustive()
    }
}

impl<M, C> Drop for AmqpQueue<M, C> {
    fn drop(&mut self) {
        // No more recovery; whatever is unsettled goes back to the queue
        // with the connection.
        if let Some(link) = self.shared.shut_down() {
            let _ = block_on_until(
                link.conn.close(200, "handle dropped"),
                deadline_after(CLOSE_WAIT),
            );
        }
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
            message_ttl: true,
            redelivery_backoff: false,
            delayed_publish: false,
            figures: Figures {
                // From the broker (`broker_figures`).
                waiting: true,
                in_flight: false,
                delayed: false,
                dead_letters: true,
                consumers: true,
                oldest_waiting: false,
                oldest_in_flight: false,
                latency: false,
                // Counted by the handle (`stats`).
                confirmed: true,
                queue_wide_counters: false,
            },
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
        // Without a link, the broker took back what the lost one held,
        // and a recovery starts no consumer on a closed handle.
        if let Some(link) = self.shared.link_now() {
            let _ = block_on_until(link.stop_consuming(), deadline_after(CLOSE_WAIT));
        }
    }

    fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }
}

impl<M: Send, C: Codec<M>> Producer for AmqpQueue<M, C> {
    fn publish(&self, msg: M) -> Result<Seq, SendError<M>> {
        block_on(self.publish_inner(msg, None))
    }

    fn publish_async(&self, msg: M) -> impl Future<Output = Result<Seq, SendError<M>>> + Send {
        self.publish_inner(msg, None)
    }
}

impl<M: Send, C: Codec<M>> AmqpQueue<M, C> {
    /// Publishes `msg` with a time to live of its own, as
    /// [`AckQueue::publish_with_ttl`](crate::AckQueue::publish_with_ttl):
    /// the `expiration` property, in whole milliseconds (at least 1). The
    /// broker dead-letters it with reason `expired`
    /// ([`DeadReason::Expired`](crate::DeadReason::Expired)) if it is not
    /// delivered in time; the lower of it and the queue's `x-message-ttl`
    /// applies.
    ///
    /// # Errors
    ///
    /// As [`Producer::publish`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ackring::amqp::AmqpQueue;
    /// use std::time::Duration;
    ///
    /// let q: AmqpQueue<Vec<u8>> = AmqpQueue::builder("amqp://127.0.0.1", "quotes")
    ///     .connect()
    ///     .unwrap();
    /// q.publish_with_ttl(b"EUR/USD 1.08".to_vec(), Duration::from_secs(2))
    ///     .unwrap();
    /// ```
    pub fn publish_with_ttl(&self, msg: M, ttl: Duration) -> Result<Seq, SendError<M>> {
        block_on(self.publish_inner(msg, Some(ttl)))
    }

    /// [`publish_with_ttl`](AmqpQueue::publish_with_ttl) without blocking
    /// the thread.
    ///
    /// # Errors
    ///
    /// As [`Producer::publish_async`].
    pub async fn publish_with_ttl_async(&self, msg: M, ttl: Duration) -> Result<Seq, SendError<M>> {
        self.publish_inner(msg, Some(ttl)).await
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
        block_on_until(self.receive_one(), deadline_after(timeout)).transpose()
    }

    fn receive_batch_timeout<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<AmqpDelivery<'q, M>>,
        timeout: Duration,
    ) -> Result<usize, Error> {
        block_on_until(self.receive_into(max, out), deadline_after(timeout)).unwrap_or(Ok(0))
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
            Settle::Requeue(None)
        } else {
            Settle::Reject
        };
        self.settle_batch(batch, how, errors)
    }

    fn receive_dead_letter_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<DeadLetter<M>>, Error> {
        poll_dead_letter(timeout, DEAD_LETTER_POLL, |deadline| {
            let passed = || deadline.is_some_and(|d| Instant::now() >= d);
            match block_on(
                self.shared
                    .on_link(deadline, |link| self.take_dead_letter(link)),
            ) {
                // Waited through an outage until the deadline: none came.
                Err(e) if e.is_unreachable() && passed() => Ok(None),
                got => got,
            }
        })
    }

    fn drain(&self) -> Result<Vec<M>, Error> {
        let deadline = deadline_after(self.shared.settings.call_timeout);
        block_on(self.shared.on_link(deadline, |link| self.drain_on(link)))
    }
}
