//! Taking messages without a consumer: the drain (`basic.get` until empty,
//! on the queue and its dead letters), the dead letters one at a time, and
//! deleting the queue. Each runs on one link and starts again on the next
//! if that link is lost midway: what the lost connection had taken goes
//! back to the queue with it, so nothing is taken twice or lost.

use core::future::Future;
use std::sync::Arc;
use std::time::Instant;

use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicNackOptions, ExchangeDeleteOptions, QueueDeleteOptions,
};

use super::codec::Codec;
use super::delivery::{header_int, header_str};
use super::error::{classify, Why};
use super::link::Link;
use super::shared::Shared;
use super::{dead_exchange, AmqpQueue, Settle, SEQ_HEADER};
use crate::ack::{DeadLetter, DeadReason};
use crate::api::Error;
use crate::sync::lock;

impl Shared {
    /// Runs `op` on the link that is up, and again on the next one each
    /// time it fails with its link lost, until `deadline`.
    pub(super) async fn on_link<T, F, Fut>(
        &self,
        deadline: Option<Instant>,
        mut op: F,
    ) -> Result<T, Error>
    where
        F: FnMut(Arc<Link>) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        loop {
            let link = self.wait_link(deadline).await?;
            match op(Arc::clone(&link)).await {
                Err(e) => match self.check(&link, e) {
                    e if e.is_unreachable() => continue,
                    e => return Err(e),
                },
                ok => return ok,
            }
        }
    }
}

/// Puts back a message taken from the dead letters.
const REQUEUE: BasicNackOptions = BasicNackOptions {
    multiple: false,
    requeue: true,
};

impl<M: Send, C: Codec<M>> AmqpQueue<M, C> {
    /// Takes everything from the queue and the dead letters on `link`,
    /// settling it only once all of it is in hand.
    pub(super) async fn drain_on(&self, link: Arc<Link>) -> Result<Vec<M>, Error> {
        let shared = &*self.shared;
        let get = BasicGetOptions { no_ack: false };
        let mut taken = Vec::new();
        let mut values = Vec::new();
        let mut undecodable = Vec::new();
        // On the consuming channel, after the close's requeues on it: the
        // broker handles a channel's frames in order, so they are found.
        let failed = loop {
            match link.consume.basic_get(&shared.settings.queue, get).await {
                Ok(Some(m)) => {
                    let tag = m.delivery.delivery_tag;
                    lock(&link.consuming).unsettled.insert(tag);
                    match self.codec.decode(m.delivery.data) {
                        Ok(v) => {
                            taken.push(tag);
                            values.push(v);
                        }
                        Err(_) => undecodable.push(tag),
                    }
                }
                Ok(None) => break None,
                Err(e) => break Some(classify(e)),
            }
        };
        for tag in undecodable {
            let _ = link.settle(tag, Settle::Reject).await;
        }
        if let Some(e) = failed {
            for tag in taken {
                let _ = link.settle(tag, Settle::Requeue(None)).await;
            }
            return Err(e);
        }
        let mut dead = Vec::new();
        let mut kept = Vec::new();
        let failed = loop {
            match link.admin.basic_get(&shared.settings.dead, get).await {
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
                Err(e) => break Some(classify(e)),
            }
        };
        for tag in kept {
            let _ = link.admin.basic_nack(tag, REQUEUE).await;
        }
        if let Some(e) = failed {
            for tag in dead {
                let _ = link.admin.basic_nack(tag, REQUEUE).await;
            }
            for tag in taken {
                let _ = link.settle(tag, Settle::Requeue(None)).await;
            }
            return Err(e);
        }
        // Everything is in hand: it is handed back whatever becomes of the
        // acks. One lost with the connection leaves its message to be
        // delivered again (at least once), never lost.
        for tag in taken {
            let _ = link.settle(tag, Settle::Ack).await;
        }
        for tag in dead {
            let _ = link.admin.basic_ack(tag, BasicAckOptions::default()).await;
        }
        Ok(values)
    }

    /// Takes the oldest dead letter on `link`, if there is one now.
    pub(super) async fn take_dead_letter(
        &self,
        link: Arc<Link>,
    ) -> Result<Option<DeadLetter<M>>, Error> {
        let shared = &*self.shared;
        let Some(m) = link
            .admin
            .basic_get(&shared.settings.dead, BasicGetOptions { no_ack: false })
            .await
            .map_err(classify)?
        else {
            return Ok(None);
        };
        let d = m.delivery;
        let headers = d.properties.headers();
        let reason = match header_str(headers, "x-first-death-reason").as_deref() {
            Some("rejected") => Ok(DeadReason::Rejected),
            Some("delivery_limit") => Ok(DeadReason::MaxDeliveries),
            Some("expired") => Ok(DeadReason::Expired),
            other => Err(Why::protocol(format!(
                "a dead letter whose reason is {other:?}"
            ))),
        };
        let seq = header_int(headers, SEQ_HEADER).unwrap_or(u64::MAX);
        let tag = d.delivery_tag;
        let decoded = reason.and_then(|reason| {
            self.codec
                .decode(d.data)
                .map(|value| (value, reason))
                .map_err(|e| Error::Codec(Arc::from(e)))
        });
        match decoded {
            Ok((value, reason)) => {
                // Handed back whatever becomes of the ack: one lost with
                // the connection leaves the dead letter to be taken again.
                let _ = link.admin.basic_ack(tag, BasicAckOptions::default()).await;
                let count = match reason {
                    DeadReason::MaxDeliveries => shared.settings.max_deliveries.unwrap_or(0),
                    // Never delivered: expired while it waited.
                    DeadReason::Rejected | DeadReason::Expired => 0,
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
                let _ = link.admin.basic_nack(tag, REQUEUE).await;
                Err(e)
            }
        }
    }

    /// Deletes the queue, its dead-letter queue and exchange, on `link`.
    pub(super) async fn delete_on(&self, link: Arc<Link>) -> Result<(), Error> {
        let settings = &self.shared.settings;
        let options = QueueDeleteOptions::default();
        let admin = &link.admin;
        admin
            .queue_delete(&settings.queue, options)
            .await
            .map_err(classify)?;
        admin
            .queue_delete(&settings.dead, options)
            .await
            .map_err(classify)?;
        admin
            .exchange_delete(
                &dead_exchange(&settings.queue),
                ExchangeDeleteOptions::default(),
            )
            .await
            .map_err(classify)
    }
}
