//! Building a handle: the broker's URL, the queue, its settings, how the
//! handle recovers from a lost connection, and the codec.

use core::fmt;
use core::marker::PhantomData;
use core::time::Duration;
use std::sync::Arc;

use super::block::block_on;
use super::codec::{Codec, Raw};
use super::endpoint::{Endpoint, Redacted};
use super::link::Link;
use super::shared::Shared;
use super::{dead_queue, AmqpQueue};
use crate::api::Error;
use crate::error::ConfigError;

/// How a handle recovers from a lost connection.
#[derive(Clone, Copy, Debug)]
pub(super) struct Recovery {
    /// Whether it does.
    pub(super) on: bool,
    /// The longest wait between two reconnections.
    pub(super) max_backoff: Duration,
    /// How long after the loss it stops trying; `None`: never.
    pub(super) give_up_after: Option<Duration>,
}

/// What a handle was built with.
pub(super) struct Settings {
    pub(super) endpoint: Endpoint,
    pub(super) queue: String,
    pub(super) dead: String,
    pub(super) max_in_flight: u16,
    pub(super) max_deliveries: Option<u32>,
    /// The queue's message time to live (`x-message-ttl`).
    pub(super) ttl: Option<Duration>,
    pub(super) recovery: Recovery,
    /// How long a publish, drain or delete waits for the broker.
    pub(super) call_timeout: Duration,
}

/// Builds an [`AmqpQueue`]: the broker's URL, the queue's name, its
/// settings, how it recovers from a lost connection, and the codec.
///
/// Its `Debug` output shows the URL with the password masked (`***`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ackring::amqp::AmqpQueue;
///
/// let builder = AmqpQueue::builder("amqp://app:s3cret@broker.example:5672/%2f", "jobs")
///     .max_backoff(Duration::from_secs(10))
///     .give_up_after(Duration::from_secs(300))
///     .call_timeout(Duration::from_secs(60));
/// let shown = format!("{builder:?}");
/// assert!(shown.contains("amqp://app:***@broker.example:5672/%2f"));
/// assert!(!shown.contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct AmqpQueueBuilder<C = Raw> {
    spec: Spec,
    codec: C,
}

/// What a builder says but the codec.
#[derive(Clone)]
struct Spec {
    url: String,
    queue: String,
    max_in_flight: u16,
    max_deliveries: Option<u32>,
    ttl: Option<Duration>,
    recovery: Recovery,
    call_timeout: Duration,
    #[cfg(feature = "tls")]
    tls_ca_pem: Option<String>,
}

impl Spec {
    /// Refuses a zero where a setting needs more.
    fn check(&self) -> Result<(), Error> {
        let zero = |field| Err(Error::Config(ConfigError::Zero { field }));
        if self.max_in_flight == 0 {
            return zero("max_in_flight");
        }
        if self.max_deliveries == Some(0) {
            return zero("max_deliveries");
        }
        if self.recovery.max_backoff.is_zero() {
            return zero("max_backoff");
        }
        if self.call_timeout.is_zero() {
            return zero("call_timeout");
        }
        if self.ttl == Some(Duration::ZERO) {
            return zero("ttl");
        }
        Ok(())
    }
}

impl<C: fmt::Debug> fmt::Debug for AmqpQueueBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("AmqpQueueBuilder");
        s.field("url", &Redacted(&self.spec.url))
            .field("queue", &self.spec.queue)
            .field("max_in_flight", &self.spec.max_in_flight)
            .field("max_deliveries", &self.spec.max_deliveries)
            .field("ttl", &self.spec.ttl)
            .field("recovery", &self.spec.recovery.on)
            .field("max_backoff", &self.spec.recovery.max_backoff)
            .field("give_up_after", &self.spec.recovery.give_up_after)
            .field("call_timeout", &self.spec.call_timeout);
        #[cfg(feature = "tls")]
        s.field(
            "tls_ca_pem",
            &self
                .spec
                .tls_ca_pem
                .as_ref()
                .map(|pem| format!("{} bytes", pem.len())),
        );
        s.field("codec", &self.codec).finish()
    }
}

impl AmqpQueue<Vec<u8>, Raw> {
    /// A builder for a handle on queue `queue` of the broker at `url`
    /// (`amqp://user:password@host:port/vhost`, the vhost URL-encoded:
    /// `%2f` for `/`; `amqps://` with the `tls` feature). Raw bytes until
    /// [`codec`](AmqpQueueBuilder::codec) says otherwise; prefetch 16; no
    /// delivery limit; recovery on, waits between reconnections up to 5 s,
    /// never giving up; a call timeout of 30 s.
    pub fn builder(url: impl Into<String>, queue: impl Into<String>) -> AmqpQueueBuilder<Raw> {
        AmqpQueueBuilder {
            spec: Spec {
                url: url.into(),
                queue: queue.into(),
                max_in_flight: 16,
                max_deliveries: None,
                ttl: None,
                recovery: Recovery {
                    on: true,
                    max_backoff: Duration::from_secs(5),
                    give_up_after: None,
                },
                call_timeout: Duration::from_secs(30),
                #[cfg(feature = "tls")]
                tls_ca_pem: None,
            },
            codec: Raw,
        }
    }
}

impl<C> AmqpQueueBuilder<C> {
    /// The prefetch limit: how many deliveries this handle may hold
    /// unsettled (`basic.qos` `prefetch_count`, counting what the broker
    /// sent ahead and this handle did not hand out yet).
    pub fn max_in_flight(mut self, n: u16) -> Self {
        self.spec.max_in_flight = n;
        self
    }

    /// A message delivered `k` times without an ack goes to the dead
    /// letters (`x-delivery-limit` = k − 1). Part of the queue's
    /// declaration: every handle on a queue must say the same (the broker
    /// refuses a declaration whose arguments differ).
    pub fn max_deliveries(mut self, k: u32) -> Self {
        self.spec.max_deliveries = Some(k);
        self
    }

    /// A message not delivered within `ttl` of its publish goes to the
    /// dead letters with reason
    /// [`Expired`](crate::DeadReason::Expired) (`x-message-ttl`, in whole
    /// milliseconds, at least 1; the broker dead-letters it with reason
    /// `expired`), as [`AckQueueBuilder::ttl`](crate::AckQueueBuilder::ttl).
    /// Part of the queue's declaration, as `max_deliveries`.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.spec.ttl = Some(ttl);
        self
    }

    /// Whether the handle restores a lost connection by itself (on by
    /// default). Off, a lost connection leaves the handle without one:
    /// every call that needs the broker fails with
    /// [`Error::Unreachable`], and a new handle must be connected.
    pub fn recovery(mut self, on: bool) -> Self {
        self.spec.recovery.on = on;
        self
    }

    /// The longest wait between two reconnections (5 s by
    /// default). The first reconnection is made at once; after each failed one
    /// the wait doubles from 100 ms up to this, each drawn from its upper
    /// half (jitter).
    pub fn max_backoff(mut self, wait: Duration) -> Self {
        self.spec.recovery.max_backoff = wait;
        self
    }

    /// Stops trying to reconnect `after` the loss (by default recovery
    /// never gives up). The handle is then without a connection for good:
    /// every call that needs the broker fails with
    /// [`Error::Unreachable`].
    pub fn give_up_after(mut self, after: Duration) -> Self {
        self.spec.recovery.give_up_after = Some(after);
        self
    }

    /// How long a publish waits for its publisher confirm, a drain and a
    /// delete for the broker, each including the time to restore a lost
    /// connection (30 s by default). Past it they fail with
    /// [`Error::Unreachable`]. Receives wait as long as their own timeout
    /// says.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.spec.call_timeout = timeout;
        self
    }

    /// Trusts the certificates of `pem` (PEM, one or more) for an
    /// `amqps://` URL, besides the system's trusted roots: a broker whose
    /// certificate is signed by a private certificate authority.
    #[cfg(feature = "tls")]
    pub fn tls_ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.spec.tls_ca_pem = Some(pem.into());
        self
    }

    /// The codec between messages and bodies.
    pub fn codec<C2>(self, codec: C2) -> AmqpQueueBuilder<C2> {
        AmqpQueueBuilder {
            spec: self.spec,
            codec,
        }
    }

    /// Connects and declares the queue, its dead-letter exchange and
    /// dead-letter queue (idempotent: a second handle finds them). A
    /// broker that cannot be reached now is an error at once: recovery is
    /// for a handle that was connected.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a zero `max_in_flight`, `max_deliveries`,
    /// `max_backoff` or `call_timeout`, or a URL that cannot be used;
    /// [`Error::Unreachable`] if the broker cannot be reached (or, over
    /// TLS, its certificate is not trusted); [`Error::Refused`] if it
    /// refuses the login (403), the vhost (530) or a declaration (406 for
    /// a queue of that name declared with other arguments).
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
        let spec = self.spec;
        spec.check()?;
        let shared = Shared::new(Settings {
            endpoint: Endpoint::parse(
                &spec.url,
                #[cfg(feature = "tls")]
                spec.tls_ca_pem,
            )?,
            dead: dead_queue(&spec.queue),
            queue: spec.queue,
            max_in_flight: spec.max_in_flight,
            max_deliveries: spec.max_deliveries,
            ttl: spec.ttl,
            recovery: spec.recovery,
            call_timeout: spec.call_timeout,
        });
        let link = Link::open(&shared, shared.next_link_number(), false).await?;
        shared.install(Arc::new(link), false);
        Ok(AmqpQueue {
            shared,
            codec: self.codec,
            _msg: PhantomData,
        })
    }
}
