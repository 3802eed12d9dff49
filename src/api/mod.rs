//! One ack API over more than one backend: the traits [`Producer`],
//! [`Consumer`] and [`Acknowledge`], which [`AckQueue`](crate::AckQueue)
//! implements in process and, with the `amqp` feature,
//! `ackring::amqp::AmqpQueue` implements over a RabbitMQ queue.
//! Code written against these traits runs on either; moving from one
//! process to a broker is a change of constructor.
//!
//! What a backend cannot do is said up front by its [`Capabilities`], not
//! by a failure at run time.
//!
//! - The traits hold only what both backends do: publish with its
//!   publisher confirm, receive and batch receive, the delivery guard with
//!   ack, nack with or without requeue, the delivery count and the
//!   redelivered flag, requeue on drop, batch ack and nack, dead letters
//!   with their reason, close and drain.
//! - The capabilities say where the backends differ in scope: prefetch,
//!   close, drain, sequence numbers.
//! - They also say which of the in-process extras are there to be used
//!   through the backend's own type: leases, delayed requeues, settle
//!   confirmations, the watermark.
//!
//! Sync and async: every waiting call has an `_async` form whose future is
//! `Send`, as [`AckQueue`](crate::AckQueue)'s own. Settling (ack, nack) is
//! a plain call in both backends. In process it waits for nothing; over
//! AMQP it waits only for the frame to be written (`basic.ack` has no
//! reply).
//!
//! # Examples
//!
//! A worker loop written once, run here on an in-process queue:
//!
//! ```
//! use std::time::Duration;
//! use ackring::api::{Acknowledge, Consumer, Producer, Queue};
//! use ackring::AckQueue;
//!
//! /// Doubles every job until the queue is closed and drained.
//! fn work<Q: Consumer<Message = u64>>(q: &Q) -> u64 {
//!     let mut done = 0;
//!     while let Ok(Some(job)) = q.receive_timeout(Duration::from_millis(50)) {
//!         done += *job * 2;
//!         job.ack().unwrap();
//!     }
//!     done
//! }
//!
//! let q = AckQueue::builder().max_in_flight(4).build().unwrap();
//! for job in 1..=3 {
//!     Producer::publish(&q, job).unwrap();
//! }
//! assert_eq!(work(&q), 12);
//! assert!(q.capabilities().leases); // the in-process queue has leases
//! ```

mod ack;

use core::fmt;
use core::future::Future;
use core::ops::Deref;
use core::time::Duration;
use std::sync::Arc;

use crate::sync::Instant;

use crate::ack::{DeadLetter, Seq};
use crate::error::{AckError, ConfigError};

/// Looks for a dead letter with `look` (given the deadline) until it
/// finds one, fails, or `timeout` passes, sleeping `tick` between two
/// looks: the shared loop of the backends' `receive_dead_letter_timeout`.
pub(crate) fn poll_dead_letter<T>(
    timeout: Duration,
    tick: Duration,
    mut look: impl FnMut(Option<Instant>) -> Result<Option<T>, Error>,
) -> Result<Option<T>, Error> {
    let deadline = crate::wait::deadline_after(timeout);
    loop {
        if let Some(found) = look(deadline)? {
            return Ok(Some(found));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        std::thread::sleep(tick);
    }
}

/// How a delivery is settled, on every backend.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Settle {
    /// Settled: done with.
    Ack,
    /// Back to the queue after the given delay (zero: at once), or, if
    /// none, after the queue's redelivery delay
    /// ([`Redelivery`](crate::Redelivery)); a broker requeues at once.
    Requeue(Option<Duration>),
    /// To the dead letters now.
    Reject,
}

impl Settle {
    /// A requeue after `delay` (at once if zero), whatever the policy.
    pub(crate) fn delayed(delay: Duration) -> Settle {
        Settle::Requeue(Some(delay))
    }
}

/// How far a setting or a call reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The whole queue: every handle and every consumer of it together.
    Queue,
    /// One handle (over AMQP, one connection with its channels): other
    /// handles on the same queue are not affected.
    Handle,
}

/// What [`Consumer::drain`] hands back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Drain {
    /// Every unsettled message that no live delivery guard holds: waiting
    /// ones, requeued and delayed ones, detached deliveries, dead letters.
    Unheld,
    /// The messages the broker holds for no consumer now: those in the
    /// queue and in its dead letters.
    ///
    /// Messages delivered to another open handle are that handle's until
    /// it settles them or closes. That includes those it prefetched and has
    /// not handed out yet. A nack, a drop or the close returns them to the
    /// queue, for a later drain.
    Stored,
}

/// What a backend can and cannot do, known before any call.
///
/// The traits of this module cover what every backend does; these fields
/// say where backends differ. Read them up front (a test suite, a
/// deployment check) rather than discovering a difference at run time.
///
/// # Examples
///
/// ```
/// use ackring::api::{Queue, Scope};
///
/// let q = ackring::AckQueue::<u8>::builder().build().unwrap();
/// let caps = q.capabilities();
/// assert_eq!(caps.prefetch, Scope::Queue);
/// assert!(caps.settle_watermark);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Capabilities {
    /// Per-message leases: a delivery not settled within its lease is
    /// delivered again, and a heartbeat (`extend_lease`) keeps it.
    pub leases: bool,
    /// Requeues that wait a delay before the message is delivered again
    /// (`nack_after`).
    pub delayed_requeue: bool,
    /// The producer can learn that a consumer settled one message
    /// (`is_settled`, `wait_settled`), beyond the publisher confirm.
    pub settle_confirmations: bool,
    /// A watermark below which every message is settled (`settled_below`,
    /// `wait_settled_through`).
    pub settle_watermark: bool,
    /// Sequence numbers are counted across the whole queue (`true`), or
    /// per producing handle (`false`: two producers both number from 0).
    pub queue_wide_seq: bool,
    /// Whose deliveries the prefetch limit counts.
    pub prefetch: Scope,
    /// What [`Queue::close`] closes.
    pub close: Scope,
    /// What [`Consumer::drain`] hands back.
    pub drain: Drain,
    /// Messages outlive the process that published them (and, over AMQP,
    /// a broker restart: quorum queues replicate and write to disk).
    pub durable: bool,
    /// A dead letter's [`delivery_count`](DeadLetter::delivery_count) is
    /// known whatever its reason (`false`: known for
    /// [`MaxDeliveries`](crate::DeadReason::MaxDeliveries) only, and 0 for
    /// [`Rejected`](crate::DeadReason::Rejected)).
    pub dead_letter_counts: bool,
    /// A queue-wide message time to live: a message not delivered in time
    /// goes to the dead letters with reason
    /// [`Expired`](crate::DeadReason::Expired) (`AckQueueBuilder::ttl`;
    /// over AMQP `x-message-ttl`).
    pub message_ttl: bool,
    /// A redelivery backoff policy for requeues that name no delay
    /// ([`Redelivery`](crate::Redelivery); RabbitMQ has none).
    pub redelivery_backoff: bool,
    /// Delayed publishes (`AckQueue::try_publish_after`; RabbitMQ only
    /// with its delayed-message plugin, which this backend does not use).
    pub delayed_publish: bool,
    /// Which figures of the queue the backend reports, through its own
    /// type (`AckQueue::stats`, `AckQueue::latency`; `AmqpQueue::stats`,
    /// `AmqpQueue::broker_figures`).
    pub figures: Figures,
}

/// Which figures a backend reports (in [`Capabilities::figures`]): each
/// field says whether the figure of that name is there.
///
/// # Examples
///
/// ```
/// use ackring::api::Queue;
///
/// let q = ackring::AckQueue::<u8>::builder().build().unwrap();
/// assert!(q.capabilities().figures.oldest_in_flight);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Figures {
    /// Messages waiting to be received.
    pub waiting: bool,
    /// Deliveries in flight (delivered, not settled), across the queue.
    pub in_flight: bool,
    /// Requeued messages waiting out a delay.
    pub delayed: bool,
    /// Dead letters not yet taken.
    pub dead_letters: bool,
    /// How many consumers the queue has.
    pub consumers: bool,
    /// The age of the oldest waiting message.
    pub oldest_waiting: bool,
    /// The age of the oldest delivery in flight.
    pub oldest_in_flight: bool,
    /// Latency histograms (waiting, processing, end to end, delivery
    /// count).
    pub latency: bool,
    /// Publisher confirms counted (`true`), beyond publishes.
    pub confirmed: bool,
    /// The counters (published, delivered, acked, …) are the queue's,
    /// from every handle (`true`), or the handle's own (`false`).
    pub queue_wide_counters: bool,
}

/// The error behind an [`Error`] from a backend, shared so that the error
/// stays `Clone`: a lapin error, an I/O error, a codec's error.
pub type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Why a call of the ack API failed.
///
/// Over AMQP, a failure of the broker or of the connection to it is one of
/// three kinds, each with the error that caused it as its
/// [`source`](std::error::Error::source):
///
/// - the broker is [`Unreachable`](Error::Unreachable): retrying later may
///   succeed;
/// - it [`Refused`](Error::Refused) the call with an AMQP reply code:
///   retrying the same call will not succeed;
/// - the two sides do not understand each other
///   ([`Protocol`](Error::Protocol)).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// The queue (or, where close is per handle, this handle) is closed,
    /// and for a receive nothing is left to receive.
    Closed,
    /// The queue had no room. The traits' publish waits for room, so only
    /// a conversion of a [`PushError::Full`](crate::PushError::Full)
    /// gives this.
    Full,
    /// A settle was refused (see [`AckError`]). Over AMQP a settle whose
    /// connection is gone, or was replaced by a recovery, is
    /// [`AckError::Stale`]: the broker delivers the message again.
    Ack(AckError),
    /// The broker cannot be reached: the connection is down and was not
    /// restored within the call's time (or recovery is off, or gave up),
    /// or the broker did not answer within it. For a publish, the message
    /// may or may not be in the queue. The source is the last error of the
    /// connection, or an [`io::ErrorKind::TimedOut`](std::io::ErrorKind)
    /// error when the broker was connected but silent.
    Unreachable(Source),
    /// The broker refused the call: a channel or connection closed with a
    /// reply code (403 `ACCESS_REFUSED`, 404 `NOT_FOUND`, 406
    /// `PRECONDITION_FAILED` for a queue declared with other arguments, 530
    /// `NOT_ALLOWED`, ...), a published message returned (312 `NO_ROUTE`),
    /// or a publisher nack (no reply code).
    Refused {
        /// The AMQP reply code; `None` for a publisher nack.
        code: Option<u16>,
        /// The broker's reply text.
        text: String,
        /// The client library's error, where there is one.
        source: Option<Source>,
    },
    /// The broker and the client do not understand each other: a frame
    /// that does not parse or comes out of turn, a protocol version the
    /// broker does not speak, a message whose headers say what this crate
    /// cannot read.
    Protocol(Source),
    /// The codec could not encode or decode a message.
    Codec(Source),
    /// A builder was given a setting it cannot use.
    Config(ConfigError),
}

impl Error {
    /// Whether the call failed because the broker could not be reached
    /// ([`Error::Unreachable`]): the one kind of failure that a later call
    /// may not see.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Unreachable(_))
    }

    /// The AMQP reply code of a [`Refused`](Error::Refused) call.
    pub fn reply_code(&self) -> Option<u16> {
        match self {
            Error::Refused { code, .. } => *code,
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Closed => f.write_str("queue is closed"),
            Error::Full => f.write_str("queue is full"),
            Error::Ack(e) => fmt::Display::fmt(e, f),
            Error::Unreachable(e) => write!(f, "broker unreachable: {e}"),
            Error::Refused {
                code: Some(code),
                text,
                ..
            } => write!(f, "refused by the broker: {code} {text}"),
            Error::Refused {
                code: None, text, ..
            } => {
                write!(f, "refused by the broker: {text}")
            }
            Error::Protocol(e) => write!(f, "AMQP protocol error: {e}"),
            Error::Codec(e) => write!(f, "codec: {e}"),
            Error::Config(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Ack(e) => Some(e),
            Error::Config(e) => Some(e),
            Error::Unreachable(e) | Error::Protocol(e) | Error::Codec(e) => Some(&**e),
            Error::Refused { source, .. } => source.as_deref().map(|e| e as _),
            Error::Closed | Error::Full => None,
        }
    }
}

impl From<AckError> for Error {
    fn from(e: AckError) -> Self {
        Error::Ack(e)
    }
}

/// A publish that did not happen, or whose publisher confirm did not come: the
/// error, and the message handed back.
pub struct SendError<T> {
    error: Error,
    msg: T,
}

impl<T> SendError<T> {
    /// The error and the message.
    pub fn new(error: Error, msg: T) -> Self {
        SendError { error, msg }
    }

    /// Why the publish failed.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The message that was not confirmed.
    pub fn into_inner(self) -> T {
        self.msg
    }

    /// The error and the message.
    pub fn into_parts(self) -> (Error, T) {
        (self.error, self.msg)
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "publish failed: {}", self.error)
    }
}

impl<T> std::error::Error for SendError<T> {}

/// What both sides of a queue share: its message type, its
/// [`Capabilities`], and close.
pub trait Queue {
    /// The message type.
    type Message;

    /// What this backend can and cannot do.
    fn capabilities(&self) -> Capabilities;

    /// Closes the queue, or this handle where `capabilities().close` is
    /// [`Scope::Handle`]: publishes fail with [`Error::Closed`] from now on
    /// and receives, once nothing is left for them, too. Settling
    /// deliveries still works. Idempotent.
    fn close(&self);

    /// Whether [`close`](Queue::close) was called (on this handle).
    fn is_closed(&self) -> bool;
}

/// The producing side.
pub trait Producer: Queue {
    /// Publishes `msg` and returns once the queue has taken it.
    ///
    /// - In process: once it is in the queue, waiting for room first.
    /// - Over AMQP: once the broker confirmed it. A publisher confirm means
    ///   the quorum queue has it on a majority of its nodes.
    ///
    /// Sequence numbers increase in publish order (see
    /// [`Capabilities::queue_wide_seq`]).
    ///
    /// # Errors
    ///
    /// The message comes back inside the error.
    ///
    /// - [`Error::Closed`].
    /// - Over AMQP also:
    ///   - [`Error::Unreachable`]: no publisher confirm within the handle's
    ///     call timeout, or the connection lost and not restored in that
    ///     time. The message may or may not be in the queue.
    ///   - [`Error::Refused`]: the broker returned or nacked the message.
    ///   - [`Error::Protocol`] and [`Error::Codec`].
    ///
    /// A connection lost while a publisher confirm was awaited is not an
    /// error as long as it is restored in time. The message is published
    /// again, so it may be in the queue twice.
    fn publish(&self, msg: Self::Message) -> Result<Seq, SendError<Self::Message>>;

    /// [`publish`](Producer::publish) without blocking the thread.
    /// Several of these futures may be awaited at once: each resolves at
    /// its own publisher confirm (over AMQP), and the sequence numbers follow the order in
    /// which they were first polled.
    fn publish_async(
        &self,
        msg: Self::Message,
    ) -> impl Future<Output = Result<Seq, SendError<Self::Message>>> + Send;
}

/// The consuming side.
pub trait Consumer: Queue {
    /// The delivery guard: derefs to the message; dropped unsettled, it
    /// requeues the message.
    type Delivery<'a>: Acknowledge<Target = Self::Message> + Send
    where
        Self: 'a;

    /// Waits for a delivery.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] once closed with nothing left to receive. Over
    /// AMQP a receive waits while the connection is restored;
    /// [`Error::Unreachable`] once recovery gave up (or is off), and
    /// [`Error::Refused`] or [`Error::Protocol`] if the broker refused or
    /// broke the consumer.
    fn receive(&self) -> Result<Self::Delivery<'_>, Error>;

    /// Waits up to `timeout` for a delivery; `Ok(None)` if none came.
    ///
    /// # Errors
    ///
    /// As [`receive`](Consumer::receive).
    fn receive_timeout(&self, timeout: Duration) -> Result<Option<Self::Delivery<'_>>, Error>;

    /// Waits up to `timeout` for a delivery, then appends to `out` what is
    /// ready, up to `max`; returns how many (0 if none came). Never past
    /// the prefetch limit.
    ///
    /// # Errors
    ///
    /// As [`receive`](Consumer::receive).
    fn receive_batch_timeout<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<Self::Delivery<'q>>,
        timeout: Duration,
    ) -> Result<usize, Error>;

    /// [`receive`](Consumer::receive) without blocking the thread. Cancel
    /// safe: a delivery taken by a future dropped before it resolved is
    /// requeued (in process, none is taken before the poll that returns
    /// it).
    fn receive_async(&self) -> impl Future<Output = Result<Self::Delivery<'_>, Error>> + Send;

    /// Waits for a delivery without blocking the thread, then appends to
    /// `out` what is ready, up to `max`; resolves to how many (at least
    /// one; 0 at once if `max` is 0).
    fn receive_batch_async<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<Self::Delivery<'q>>,
    ) -> impl Future<Output = Result<usize, Error>> + Send;

    /// Acks every delivery of `batch`; returns how many were acked, and
    /// appends to `errors` the index and error of each that was not. Over
    /// AMQP a batch that covers every delivery of the handle up to its
    /// last one is one `basic.ack` with `multiple`.
    fn ack_batch<'q>(
        &'q self,
        batch: impl IntoIterator<Item = Self::Delivery<'q>>,
        errors: &mut Vec<(usize, Error)>,
    ) -> usize;

    /// Nacks every delivery of `batch` (with `requeue`, as
    /// [`Acknowledge::nack`]); returns how many were nacked, and appends
    /// to `errors` the index and error of each that was not.
    fn nack_batch<'q>(
        &'q self,
        batch: impl IntoIterator<Item = Self::Delivery<'q>>,
        requeue: bool,
        errors: &mut Vec<(usize, Error)>,
    ) -> usize;

    /// Waits up to `timeout` for the oldest dead letter and takes it,
    /// settling it; `Ok(None)` if none came. (In process a dead letter is
    /// there as soon as the nack that made it returns; over AMQP the
    /// broker moves it to the dead-letter queue a moment later.)
    ///
    /// # Errors
    ///
    /// Over AMQP, those of [`receive`](Consumer::receive), and
    /// [`Error::Codec`] or [`Error::Protocol`] for a dead letter this
    /// handle cannot read (left in the dead letters).
    fn receive_dead_letter_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<DeadLetter<Self::Message>>, Error>;

    /// Hands back and settles the messages that `capabilities().drain`
    /// names, dead letters included. Call it after
    /// [`close`](Queue::close).
    ///
    /// # Errors
    ///
    /// Over AMQP, [`Error::Unreachable`] when the connection is not
    /// restored within the call timeout, [`Error::Refused`] and
    /// [`Error::Protocol`]; then nothing was settled.
    fn drain(&self) -> Result<Vec<Self::Message>, Error>;
}

/// A delivery guard: the message (by `Deref`), what is known of its
/// deliveries, and its settles. Dropping it unsettled requeues the
/// message.
pub trait Acknowledge: Deref + Sized {
    /// The message's publish sequence number, if it has one (over AMQP, a
    /// message published by another client has none).
    fn seq(&self) -> Option<Seq>;

    /// How many times the message has been delivered, this time included:
    /// 1 on the first delivery.
    fn delivery_count(&self) -> u32;

    /// Whether the message was delivered before.
    fn redelivered(&self) -> bool;

    /// Acknowledges the message: it is settled and will not be delivered
    /// again.
    ///
    /// # Errors
    ///
    /// [`Error::Ack`]: in process as the guard's own `ack`; over AMQP
    /// [`AckError::Stale`] when the channel is gone (the broker delivers
    /// the message again).
    fn ack(self) -> Result<(), Error>;

    /// Rejects the message: with `requeue`, it is delivered again (or
    /// dead-lettered once delivered `max_deliveries` times); without, it
    /// goes to the dead letters now.
    ///
    /// # Errors
    ///
    /// As [`ack`](Acknowledge::ack).
    fn nack(self, requeue: bool) -> Result<(), Error>;
}

impl<Q: Queue + ?Sized> Queue for std::sync::Arc<Q> {
    type Message = Q::Message;

    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }

    fn close(&self) {
        (**self).close();
    }

    fn is_closed(&self) -> bool {
        (**self).is_closed()
    }
}

impl<Q: Producer + ?Sized> Producer for std::sync::Arc<Q> {
    fn publish(&self, msg: Self::Message) -> Result<Seq, SendError<Self::Message>> {
        (**self).publish(msg)
    }

    fn publish_async(
        &self,
        msg: Self::Message,
    ) -> impl Future<Output = Result<Seq, SendError<Self::Message>>> + Send {
        (**self).publish_async(msg)
    }
}

impl<Q: Consumer + ?Sized> Consumer for std::sync::Arc<Q> {
    type Delivery<'a>
        = Q::Delivery<'a>
    where
        Self: 'a;

    fn receive(&self) -> Result<Self::Delivery<'_>, Error> {
        (**self).receive()
    }

    fn receive_timeout(&self, timeout: Duration) -> Result<Option<Self::Delivery<'_>>, Error> {
        (**self).receive_timeout(timeout)
    }

    fn receive_batch_timeout<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<Self::Delivery<'q>>,
        timeout: Duration,
    ) -> Result<usize, Error> {
        (**self).receive_batch_timeout(max, out, timeout)
    }

    fn receive_async(&self) -> impl Future<Output = Result<Self::Delivery<'_>, Error>> + Send {
        (**self).receive_async()
    }

    fn receive_batch_async<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<Self::Delivery<'q>>,
    ) -> impl Future<Output = Result<usize, Error>> + Send {
        (**self).receive_batch_async(max, out)
    }

    fn ack_batch<'q>(
        &'q self,
        batch: impl IntoIterator<Item = Self::Delivery<'q>>,
        errors: &mut Vec<(usize, Error)>,
    ) -> usize {
        (**self).ack_batch(batch, errors)
    }

    fn nack_batch<'q>(
        &'q self,
        batch: impl IntoIterator<Item = Self::Delivery<'q>>,
        requeue: bool,
        errors: &mut Vec<(usize, Error)>,
    ) -> usize {
        (**self).nack_batch(batch, requeue, errors)
    }

    fn receive_dead_letter_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<DeadLetter<Self::Message>>, Error> {
        (**self).receive_dead_letter_timeout(timeout)
    }

    fn drain(&self) -> Result<Vec<Self::Message>, Error> {
        (**self).drain()
    }
}
