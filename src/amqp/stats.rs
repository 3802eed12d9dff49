//! What a handle knows of its queue and of itself:
//!
//! - its connection and recovery;
//! - what it counted of its own traffic: publishes sent and confirmed,
//!   deliveries, acks and nacks. These are the client side of the publish,
//!   publisher-confirm and ack rates.
//! - what the broker says of the queue: its length and consumers, by a
//!   passive declare.

use std::sync::atomic::{AtomicU64, Ordering};

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;

use super::block::block_on;
use super::codec::Codec;
use super::error::classify;
use super::{deadline_after, AmqpQueue, Settle};
use crate::api::Error;

/// A snapshot of a handle's connection, its recovery and its own
/// traffic, from [`AmqpQueue::stats`](super::AmqpQueue::stats). Reads
/// nothing from the broker (see [`AmqpQueue::broker_figures`]).
///
/// `connected` and `recovering` are both false when the handle is without
/// a connection for good (recovery off or given up, or the handle being
/// dropped).
///
/// The counters are this handle's, since it was built: two handles on one
/// queue count apart. Taken at two times, their differences over the time
/// between are the handle's rates.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AmqpStats {
    /// A connection is up now.
    pub connected: bool,
    /// The connection was lost and is being restored.
    pub recovering: bool,
    /// How many times a lost connection was restored.
    pub recoveries: u64,
    /// How many messages were published again because the publisher
    /// confirm of an earlier send was lost with the connection. Each may be
    /// in the queue twice.
    pub republished: u64,
    /// `basic.publish`es sent, each send of a message counted (see
    /// `republished`).
    pub published: u64,
    /// Publishes the broker confirmed (a publisher confirm, `basic.ack`):
    /// what `publish` returned `Ok` for.
    pub confirmed: u64,
    /// Deliveries handed to this handle's receives.
    pub delivered: u64,
    /// Of those, redeliveries (delivery count above 1).
    pub redelivered: u64,
    /// Deliveries acked through this handle (frames written).
    pub acked: u64,
    /// Deliveries nacked through this handle, with or without requeue,
    /// including those dropped unsettled.
    pub nacked: u64,
    /// The last error of the connection: what made it drop, or what the
    /// last failed reconnection met. Its `Display` never shows the
    /// URL's password.
    pub last_error: Option<Error>,
}

/// What the broker says of a queue and its dead letters, from
/// [`AmqpQueue::broker_figures`]: a passive `queue.declare` of each, whose
/// reply carries the queue's length and consumer count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokerFigures {
    /// Messages ready for delivery in the queue (RabbitMQ does not count
    /// the delivered and unacked ones here).
    pub waiting: u32,
    /// Consumers of the queue, from every connection.
    pub consumers: u32,
    /// Messages in the dead-letter queue.
    pub dead_letters: u32,
}

/// A handle's own counts of its traffic (the `AmqpStats` counters).
#[derive(Debug, Default)]
pub(super) struct Traffic {
    published: AtomicU64,
    confirmed: AtomicU64,
    delivered: AtomicU64,
    redelivered: AtomicU64,
    acked: AtomicU64,
    nacked: AtomicU64,
}

/// Adds `n` to a count.
fn add(count: &AtomicU64, n: u64) {
    // Relaxed: a count for display; nothing is read through it.
    count.fetch_add(n, Ordering::Relaxed);
}

/// Reads a count.
fn get(count: &AtomicU64) -> u64 {
    // Relaxed: as in `add`.
    count.load(Ordering::Relaxed)
}

impl Traffic {
    /// A `basic.publish` sent.
    pub(super) fn published(&self) {
        add(&self.published, 1);
    }

    /// A publish confirmed.
    pub(super) fn confirmed(&self) {
        add(&self.confirmed, 1);
    }

    /// A delivery handed out; `redelivered`: not its first.
    pub(super) fn delivered(&self, redelivered: bool) {
        add(&self.delivered, 1);
        if redelivered {
            add(&self.redelivered, 1);
        }
    }

    /// `n` deliveries settled by `how`; returns `n`.
    pub(super) fn settled(&self, how: Settle, n: usize) -> usize {
        match how {
            Settle::Ack => add(&self.acked, n as u64),
            Settle::Requeue(_) | Settle::Reject => add(&self.nacked, n as u64),
        }
        n
    }

    /// Fills in the counters of `stats`.
    pub(super) fn fill(&self, stats: &mut AmqpStats) {
        stats.published = get(&self.published);
        stats.confirmed = get(&self.confirmed);
        stats.delivered = get(&self.delivered);
        stats.redelivered = get(&self.redelivered);
        stats.acked = get(&self.acked);
        stats.nacked = get(&self.nacked);
    }
}

impl<M: Send, C: Codec<M>> AmqpQueue<M, C> {
    /// Asks the broker for the queue's length and consumer count and the
    /// dead-letter queue's length (a passive `queue.declare` of each,
    /// which changes nothing), waiting for a connection and through
    /// recoveries up to the call timeout.
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] if the broker cannot be reached within the
    /// call timeout; [`Error::Refused`] if it refuses (the queue was
    /// deleted: `NOT_FOUND`, which also closes the handle's admin channel
    /// and so its connection, restored by recovery).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ackring::amqp::AmqpQueue;
    ///
    /// let q = AmqpQueue::builder("amqp://guest:guest@127.0.0.1:5672/%2f", "jobs").connect()?;
    /// let figures = q.broker_figures()?;
    /// println!("{} waiting, {} consumers", figures.waiting, figures.consumers);
    /// # Ok::<(), ackring::api::Error>(())
    /// ```
    pub fn broker_figures(&self) -> Result<BrokerFigures, Error> {
        let shared = &*self.shared;
        let deadline = deadline_after(shared.settings.call_timeout);
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        block_on(shared.on_link(deadline, |link| async move {
            let queue = link
                .admin
                .queue_declare(&shared.settings.queue, passive, FieldTable::default())
                .await
                .map_err(classify)?;
            let dead = link
                .admin
                .queue_declare(&shared.settings.dead, passive, FieldTable::default())
                .await
                .map_err(classify)?;
            Ok(BrokerFigures {
                waiting: queue.message_count(),
                consumers: queue.consumer_count(),
                dead_letters: dead.message_count(),
            })
        }))
    }
}
