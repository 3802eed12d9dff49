//! Every public error type of the crate.
//!
//! Errors that hand a value back ([`Full`], [`PushError`]) own it, so a
//! failed call never loses a message: `into_inner` returns it.

use core::fmt;

/// Why a ring (or an index ring inside an [`AckQueue`](crate::AckQueue))
/// could not be created.
///
/// Returned by [`Ring::try_new`](crate::Ring::try_new);
/// [`Ring::new`](crate::Ring::new) panics with the same message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapacityError {
    /// A capacity of zero was asked for: a ring must hold at least one item.
    Zero,
    /// The capacity cannot be represented or allocated on this machine.
    TooLarge {
        /// The capacity that was asked for.
        requested: usize,
    },
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapacityError::Zero => f.write_str("ring capacity must be at least 1"),
            CapacityError::TooLarge { requested } => {
                write!(f, "ring capacity {requested} is too large to allocate")
            }
        }
    }
}

impl std::error::Error for CapacityError {}

/// The ring was full; the value that could not be pushed is inside.
///
/// # Examples
///
/// ```
/// use ackring::Ring;
///
/// let ring = Ring::new(1);
/// ring.try_push("a").unwrap();
/// let full = ring.try_push("b").unwrap_err();
/// assert_eq!(full.into_inner(), "b");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Full<T>(pub T);

impl<T> Full<T> {
    /// Returns the value that could not be pushed.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Full(..)")
    }
}

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ring is full")
    }
}

impl<T> std::error::Error for Full<T> {}

/// Why [`AckQueueBuilder::build`](crate::AckQueueBuilder::build) refused a
/// configuration. Each variant names the builder field at fault.
///
/// # Examples
///
/// ```
/// use ackring::{AckQueue, ConfigError};
///
/// let err = AckQueue::<u32>::builder().capacity(0).build().unwrap_err();
/// assert_eq!(err, ConfigError::Zero { field: "capacity" });
/// assert_eq!(err.field(), "capacity");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// A field that must be at least 1 (or a non-zero duration) was zero:
    /// `capacity`, `max_in_flight`, `max_deliveries` or `lease`.
    Zero {
        /// The builder method that was given zero.
        field: &'static str,
    },
    /// A size is too large to represent or allocate.
    TooLarge {
        /// The builder method at fault.
        field: &'static str,
        /// The value that was asked for.
        requested: usize,
    },
    /// A setting that cannot be used, for the reason given: over AMQP, a
    /// URL that does not parse, or an `amqps://` URL in a build without
    /// the `tls` feature. The value itself is not repeated, as a URL may
    /// hold a password.
    Invalid {
        /// The builder method at fault.
        field: &'static str,
        /// Why the value cannot be used.
        reason: &'static str,
    },
}

impl ConfigError {
    /// The builder field this error is about.
    pub fn field(&self) -> &'static str {
        match self {
            ConfigError::Zero { field }
            | ConfigError::TooLarge { field, .. }
            | ConfigError::Invalid { field, .. } => field,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Zero { field } => write!(f, "AckQueue {field} must not be zero"),
            ConfigError::TooLarge { field, requested } => {
                write!(f, "AckQueue {field} {requested} is too large")
            }
            ConfigError::Invalid { field, reason } => write!(f, "{field}: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why an ack, nack or lease extension was refused. The message's state is
/// unchanged by a refused call.
///
/// # Examples
///
/// ```
/// use ackring::{AckError, AckQueue};
///
/// let q = AckQueue::builder().build().unwrap();
/// q.try_publish(1).unwrap();
/// let tag = q.try_receive().unwrap().detach();
/// assert_eq!(q.ack(tag), Ok(()));
/// assert_eq!(q.ack(tag), Err(AckError::AlreadySettled));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AckError {
    /// The delivery this tag names is no longer the current one: its lease
    /// expired, or the message was delivered again since, or it was
    /// dead-lettered after its lease expired.
    Stale,
    /// This delivery was already acked or nacked (or the message was
    /// settled, drained or taken from the dead letters).
    AlreadySettled,
    /// The tag was issued by another queue.
    ForeignTag,
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AckError::Stale => "delivery is stale: its lease expired or it was redelivered",
            AckError::AlreadySettled => "delivery was already settled",
            AckError::ForeignTag => "tag belongs to another queue",
        })
    }
}

impl std::error::Error for AckError {}

/// The queue is closed and nothing is left to receive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is closed and drained")
    }
}

impl std::error::Error for Closed {}

/// A push, send or publish that did not happen: the value is inside,
/// never lost.
///
/// Returned by the calls that tell a full ring or queue from a closed one:
/// [`Ring::try_send`](crate::Ring::try_send),
/// [`Ring::send`](crate::Ring::send),
/// [`Ring::send_timeout`](crate::Ring::send_timeout), the channel's
/// [`Sender`](crate::channel::Sender), and [`AckQueue`](crate::AckQueue)'s
/// publishes ([`AckQueue::try_publish`](crate::AckQueue::try_publish) and
/// the others). For an `AckQueue`, full means `capacity` messages wait for
/// their first delivery: delivered ones, settled or not, take no room.
///
/// # Examples
///
/// ```
/// use ackring::{AckQueue, PushError, Ring};
///
/// let ring = Ring::new(1);
/// ring.try_send("a").unwrap();
/// assert!(matches!(ring.try_send("b"), Err(PushError::Full("b"))));
/// ring.close();
/// assert_eq!(ring.try_send("c").unwrap_err().into_inner(), "c");
///
/// let q = AckQueue::builder().capacity(1).build().unwrap();
/// q.try_publish("a").unwrap();
/// match q.try_publish("b") {
///     Err(PushError::Full(msg)) => assert_eq!(msg, "b"),
///     other => panic!("{other:?}"),
/// }
/// q.close();
/// assert!(q.try_publish("c").unwrap_err().is_closed());
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PushError<T> {
    /// No room (within the timeout, for the timed calls).
    Full(T),
    /// The ring or queue was closed: it takes nothing more.
    Closed(T),
}

impl<T> PushError<T> {
    /// Returns the value that was not pushed.
    pub fn into_inner(self) -> T {
        match self {
            PushError::Full(t) | PushError::Closed(t) => t,
        }
    }

    /// Whether the ring or queue was full (a retry may succeed).
    pub fn is_full(&self) -> bool {
        matches!(self, PushError::Full(_))
    }

    /// Whether the ring or queue was closed (no retry will succeed).
    pub fn is_closed(&self) -> bool {
        matches!(self, PushError::Closed(_))
    }
}

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full(_) => f.pad("Full(..)"),
            PushError::Closed(_) => f.pad("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full(_) => f.write_str("full"),
            PushError::Closed(_) => f.write_str("closed"),
        }
    }
}

impl<T> std::error::Error for PushError<T> {}

/// Another name for [`PushError`], the error of an
/// [`AckQueue`](crate::AckQueue)'s publishes; deprecated.
#[deprecated(note = "use `PushError`: the ring's and the queue's calls share one error type")]
pub type PublishError<T> = PushError<T>;

/// Why a pop from a [`Ring`](crate::Ring) returned no item.
///
/// Returned by [`Ring::try_recv`](crate::Ring::try_recv) and
/// [`Ring::recv_timeout`](crate::Ring::recv_timeout).
///
/// # Examples
///
/// ```
/// use ackring::{PopError, Ring};
///
/// let ring = Ring::new(1);
/// assert_eq!(ring.try_recv(), Err(PopError::Empty));
/// ring.try_send(1).unwrap();
/// ring.close();
/// assert_eq!(ring.try_recv(), Ok(1)); // a closed ring is drained first
/// assert_eq!(ring.try_recv(), Err(PopError::Closed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PopError {
    /// The ring was empty (for the whole timeout, for the timed call) and
    /// is still open.
    Empty,
    /// The ring is closed and empty: no item will ever arrive.
    Closed,
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PopError::Empty => "ring is empty",
            PopError::Closed => "ring is closed and drained",
        })
    }
}

impl std::error::Error for PopError {}
