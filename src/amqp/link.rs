//! A link: one connection to the broker and what a handle opens on it:
//!
//! - the queue, its dead-letter exchange and queue, declared;
//! - a channel to publish (in publisher-confirm mode);
//! - a channel to consume (with the prefetch limit);
//! - a channel for the declarations and the dead letters;
//! - the consumer, once a receive asks for it.
//!
//! A lost link is never repaired: recovery opens a new one. What belonged
//! to the old one (its delivery tags, its unconfirmed publishes) stays
//! with it.

use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::thread;

use event_listener::Event;
use futures_core::Stream;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

use super::block::{block_on, block_on_until};
use super::builder::Settings;
use super::error::{classify, Why};
use super::shared::Shared;
use super::{dead_exchange, deadline_after, Settle, CLOSE_WAIT};
use crate::api::Error;
use crate::sync::lock;

/// How far the consumer of a link has got.
enum Start {
    /// No receive asked for it.
    Idle,
    /// `basic.consume` is on its way.
    Starting,
    /// Started, or refused.
    Done(Result<(), Error>),
}

/// The consuming state of a link.
pub(super) struct Consuming {
    start: Start,
    consumer: Option<lapin::Consumer>,
    /// Why the consumer ended, once it did: the close, or its loss.
    ended: Option<Error>,
    /// Delivery tags of the consuming channel that are out and unsettled:
    /// a batch settle uses `multiple` only when every one of them up to
    /// its last tag is in the batch.
    pub(super) unsettled: BTreeSet<u64>,
}

/// One connection and its channels.
pub(super) struct Link {
    /// Which connection of the handle this is, numbered from 0 in the
    /// order they were opened (`Shared::next_link_number`).
    pub(super) number: u64,
    pub(super) conn: Connection,
    /// In publisher-confirm mode: publishes.
    pub(super) publish: Channel,
    /// With the prefetch limit: the consumer, its settles, the drain.
    pub(super) consume: Channel,
    /// Declarations and the dead letters.
    pub(super) admin: Channel,
    pub(super) consuming: Mutex<Consuming>,
    /// Notified when the consumer has started or failed to.
    started: Event,
}

/// What a wait for deliveries on a link found.
pub(super) enum Take {
    /// Deliveries.
    Got,
    /// The consumer ended: closed by the handle ([`Error::Closed`]), or
    /// lost with the link.
    Ended(Error),
}

impl Link {
    /// Connects, declares the queue and its dead letters, and opens the
    /// channels; starts the consumer too if `resume` and the handle was
    /// consuming (and is not closed). Losses of the connection or of a
    /// channel are reported to `shared` from lapin's callbacks.
    pub(super) async fn open(shared: &Shared, number: u64, resume: bool) -> Result<Link, Error> {
        let settings = &shared.settings;
        let name = format!("ackring {} (pid {})", settings.queue, std::process::id());
        let props = ConnectionProperties::default().with_connection_name(name.into());
        let conn = settings.endpoint.connect(props).await?;
        let (admin, publish, consume) = match channels(&conn, shared.weak(), number, settings).await
        {
            Ok(channels) => channels,
            Err(e) => {
                let _ = conn.close(200, "declaration failed").await;
                return Err(e);
            }
        };
        let link = Link {
            number,
            conn,
            publish,
            consume,
            admin,
            consuming: Mutex::new(Consuming {
                start: Start::Idle,
                consumer: None,
                ended: None,
                unsettled: BTreeSet::new(),
            }),
            started: Event::new(),
        };
        let resume = resume
            && shared.consuming.load(Ordering::SeqCst)
            && !shared.closed.load(Ordering::SeqCst);
        if resume {
            lock(&link.consuming).start = Start::Starting;
            if let Err(e) = link.consume_now(&settings.queue).await {
                let _ = link.conn.close(200, "recovery failed").await;
                return Err(e);
            }
        }
        Ok(link)
    }

    /// Starts the consumer if no receive did yet, and waits until it is.
    /// `basic.consume` runs on a thread of its own, so a receive abandoned
    /// midway (a timeout, a dropped future) leaves no consumer that nobody
    /// reads.
    pub(super) async fn start_consumer(self: &Arc<Self>, queue: &str) -> Result<(), Error> {
        loop {
            let listener = {
                let mut state = lock(&self.consuming);
                match &state.start {
                    Start::Done(outcome) => return outcome.clone(),
                    Start::Starting => {}
                    Start::Idle => {
                        state.start = Start::Starting;
                        let link = Arc::clone(self);
                        let queue = queue.to_owned();
                        let spawned = thread::Builder::new()
                            .name("ackring-amqp-consume".into())
                            .spawn(move || {
                                let _ = block_on(link.consume_now(&queue));
                            });
                        if let Err(e) = spawned {
                            let e = Error::Unreachable(Arc::new(e));
                            state.start = Start::Done(Err(e.clone()));
                            return Err(e);
                        }
                    }
                }
                // Under the lock: `consume_now` notifies after it sets
                // `Done` under the same lock.
                self.started.listen()
            };
            listener.await;
        }
    }

    /// `basic.consume`, then records the outcome; a handle closed
    /// meanwhile has its new consumer cancelled at once.
    async fn consume_now(&self, queue: &str) -> Result<(), Error> {
        let consumed = self
            .consume
            .basic_consume(
                queue,
                "",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(classify);
        let (outcome, closed) = {
            let mut state = lock(&self.consuming);
            let outcome = match consumed {
                Ok(consumer) => {
                    state.consumer = Some(consumer);
                    Ok(())
                }
                Err(e) => {
                    state.ended = Some(e.clone());
                    Err(e)
                }
            };
            // `stop_consuming` marks `ended` Closed when it finds no
            // consumer yet.
            let closed = outcome.is_ok() && matches!(state.ended, Some(Error::Closed));
            state.start = Start::Done(outcome.clone());
            (outcome, closed)
        };
        self.started.notify(usize::MAX);
        if closed {
            self.stop_consuming().await;
        }
        outcome
    }

    /// Moves up to `max` deliveries that lapin has received into `raw`.
    /// Pending while none is there.
    ///
    /// It records their tags as unsettled in the same critical section. So
    /// a concurrent batch settle never counts a tag below its last one as
    /// covered while that tag is on its way out.
    pub(super) fn poll_take(
        &self,
        cx: &mut Context<'_>,
        max: usize,
        raw: &mut Vec<lapin::message::Delivery>,
    ) -> Poll<Take> {
        let mut state = lock(&self.consuming);
        let Consuming {
            consumer,
            ended,
            unsettled,
            ..
        } = &mut *state;
        if let Some(why) = ended {
            return Poll::Ready(Take::Ended(why.clone()));
        }
        let Some(stream) = consumer.as_mut() else {
            return Poll::Ready(Take::Ended(Why::unreachable("the consumer is gone")));
        };
        while raw.len() < max {
            match Pin::new(&mut *stream).poll_next(cx) {
                Poll::Ready(Some(Ok(d))) => {
                    unsettled.insert(d.delivery_tag);
                    raw.push(d);
                }
                Poll::Ready(end) => {
                    // Failed with the connection or channel, or cancelled
                    // by the broker (its queue deleted, its node going
                    // down): no receive gets more from this consumer.
                    let why = match end {
                        Some(Err(e)) => classify(e),
                        _ => Why::unreachable("the broker cancelled the consumer"),
                    };
                    *ended = Some(why.clone());
                    *consumer = None;
                    if raw.is_empty() {
                        return Poll::Ready(Take::Ended(why));
                    }
                    break;
                }
                Poll::Pending => break,
            }
        }
        if raw.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(Take::Got)
        }
    }

    /// Cancels the consumer and returns what it prefetched and did not
    /// hand out; receives on this link end with [`Error::Closed`].
    pub(super) async fn stop_consuming(&self) {
        let tag = {
            let mut state = lock(&self.consuming);
            let tag = state.consumer.as_ref().map(|c| c.tag());
            if tag.is_none() {
                state.ended = Some(Error::Closed);
            }
            tag
        };
        let Some(tag) = tag else { return };
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
            let _ = self.send_settle(tag, Settle::Requeue(None), false).await;
        }
    }

    /// Sends the settle frame for `tag` (and, with `multiple`, every
    /// unsettled tag below it) on the consuming channel.
    pub(super) async fn send_settle(
        &self,
        tag: u64,
        how: Settle,
        multiple: bool,
    ) -> Result<(), Error> {
        let ch = &self.consume;
        let sent = match how {
            Settle::Ack => ch.basic_ack(tag, BasicAckOptions { multiple }).await,
            Settle::Requeue(_) | Settle::Reject => {
                let requeue = matches!(how, Settle::Requeue(_));
                ch.basic_nack(tag, BasicNackOptions { multiple, requeue })
                    .await
            }
        };
        sent.map_err(classify)
    }

    /// Settles `tag`, forgetting it as unsettled.
    pub(super) async fn settle(&self, tag: u64, how: Settle) -> Result<(), Error> {
        lock(&self.consuming).unsettled.remove(&tag);
        self.send_settle(tag, how, false).await
    }

    /// Closes the connection from a thread of its own, without waiting:
    /// the broker takes back what it held.
    pub(super) fn close_soon(self: &Arc<Self>) {
        let link = Arc::clone(self);
        let _ = thread::Builder::new()
            .name("ackring-amqp-close".into())
            .spawn(move || {
                let _ = block_on_until(link.conn.close(200, "closed"), deadline_after(CLOSE_WAIT));
            });
    }
}

/// Declares what the queue needs on a channel of `conn` and opens the
/// three channels (admin, publish, consume); losses of the connection or
/// of a channel are reported to `shared` as losses of link `number`.
async fn channels(
    conn: &Connection,
    shared: Weak<Shared>,
    number: u64,
    settings: &Settings,
) -> Result<(Channel, Channel, Channel), Error> {
    let report = move |e: lapin::Error| {
        if let Some(shared) = shared.upgrade() {
            shared.lost(number, &classify(e));
        }
    };
    conn.on_error(report.clone());
    let admin = conn.create_channel().await.map_err(classify)?;
    declare(&admin, settings).await?;
    let publish = conn.create_channel().await.map_err(classify)?;
    publish
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(classify)?;
    let consume = conn.create_channel().await.map_err(classify)?;
    consume
        .basic_qos(settings.max_in_flight, BasicQosOptions { global: false })
        .await
        .map_err(classify)?;
    // A channel the broker closes (say, for a refused call) is lost with
    // the link: the recovery opens all of them again.
    for ch in [&admin, &publish, &consume] {
        ch.on_error(report.clone());
    }
    Ok((admin, publish, consume))
}

/// Declares the queue (a quorum queue whose dead letters go to the fanout
/// exchange `<queue>.dlx`), the exchange, and the dead-letter queue
/// `<queue>.dead` bound to it. Idempotent: a second handle, or a recovery,
/// finds them.
async fn declare(admin: &Channel, settings: &Settings) -> Result<(), Error> {
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
    let dlx = dead_exchange(&settings.queue);
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
        .map_err(classify)?;
    admin
        .queue_declare(&settings.dead, durable, quorum())
        .await
        .map_err(classify)?;
    admin
        .queue_bind(
            &settings.dead,
            &dlx,
            "",
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(classify)?;
    let mut args = quorum();
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(dlx.as_str().into()),
    );
    if let Some(k) = settings.max_deliveries {
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(i64::from(k) - 1),
        );
    }
    if let Some(ttl) = settings.ttl {
        // Whole milliseconds, at least 1 (0 would expire a message that
        // is not delivered at once).
        let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ms));
    }
    admin
        .queue_declare(&settings.queue, durable, args)
        .await
        .map_err(classify)?;
    Ok(())
}
