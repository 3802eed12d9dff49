//! Publishing: `basic.publish` (persistent, `mandatory`) on the channel in
//! publisher-confirm mode, returning at the broker's publisher confirm.
//!
//! Across a lost connection a publish is at least once. It waits for the
//! link to be restored, within the handle's call timeout. A message whose
//! publisher confirm was lost with the old link is published again on the
//! new one, under the same sequence number, since the broker may or may
//! not have taken it. Nothing unconfirmed is reported as published, so a
//! message may be in the queue twice (counted in
//! [`AmqpStats::republished`](super::AmqpStats::republished)).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use lapin::options::BasicPublishOptions;
use lapin::publisher_confirm::{Confirmation, PublisherConfirm};
use lapin::types::{AMQPValue, FieldTable};
use lapin::BasicProperties;

use super::block::until;
use super::codec::Codec;
use super::error::{classify, timed_out};
use super::link::Link;
use super::{deadline_after, AmqpQueue, SEQ_HEADER};
use crate::ack::Seq;
use crate::api::{Error, SendError};

impl<M: Send, C: Codec<M>> AmqpQueue<M, C> {
    /// Publishes `msg` with its own time to live `ttl` (the `expiration`
    /// property, in whole milliseconds) if any, and waits for its
    /// publisher confirm, through recoveries, until the call timeout.
    pub(super) async fn publish_inner(
        &self,
        msg: M,
        ttl: Option<Duration>,
    ) -> Result<Seq, SendError<M>> {
        let shared = &*self.shared;
        if shared.closed.load(Ordering::SeqCst) {
            return Err(SendError::new(Error::Closed, msg));
        }
        let body = match self.codec.encode(&msg) {
            Ok(body) => body,
            Err(e) => return Err(SendError::new(Error::Codec(Arc::from(e)), msg)),
        };
        let timeout = shared.settings.call_timeout;
        let deadline = deadline_after(timeout);
        let mut seq = None;
        let mut sent_before = false;
        loop {
            if shared.closed.load(Ordering::SeqCst) {
                return Err(SendError::new(Error::Closed, msg));
            }
            let link = match shared.wait_link(deadline).await {
                Ok(link) => link,
                Err(e) => return Err(SendError::new(e, msg)),
            };
            let sent = match until(self.send(&link, &body, &mut seq, ttl), deadline).await {
                Some(sent) => sent,
                None => return Err(SendError::new(timed_out("publish", timeout), msg)),
            };
            let confirm = match sent {
                Ok(confirm) => confirm,
                // Not sent, or not wholly: the link is gone; again on the
                // next one.
                Err(e) if shared.check(&link, e.clone()).is_unreachable() => continue,
                Err(e) => return Err(SendError::new(e, msg)),
            };
            shared.traffic.published();
            if sent_before {
                shared.count_republish();
            }
            sent_before = true;
            let Some(confirmed) = until(confirm, deadline).await else {
                return Err(SendError::new(timed_out("publish", timeout), msg));
            };
            let refused = |code, text: &str| Error::Refused {
                code,
                text: text.to_owned(),
                source: None,
            };
            let error = match confirmed {
                Ok(Confirmation::Ack(None)) | Ok(Confirmation::NotRequested) => {
                    shared.traffic.confirmed();
                    return Ok(Seq(seq.unwrap_or_default()));
                }
                Ok(Confirmation::Ack(Some(ret))) => {
                    refused(Some(ret.reply_code), ret.reply_text.as_str())
                }
                Ok(Confirmation::Nack(ret)) => refused(
                    ret.map(|r| r.reply_code),
                    "the broker did not take the message (publisher nack)",
                ),
                Err(e) => shared.check(&link, classify(e)),
            };
            // Lost with the link: the broker may or may not have it.
            if !error.is_unreachable() {
                return Err(SendError::new(error, msg));
            }
        }
    }

    /// Queues the frames of message `body` on `link`, numbering it the
    /// first time.
    async fn send(
        &self,
        link: &Link,
        body: &[u8],
        seq: &mut Option<u64>,
        ttl: Option<Duration>,
    ) -> Result<PublisherConfirm, Error> {
        let shared = &*self.shared;
        let mut next = shared.next_seq.lock().await;
        let seq = *seq.get_or_insert_with(|| {
            // Counted before the frames go: a publish abandoned after them
            // leaves a gap, never a number used twice.
            let seq = *next;
            *next += 1;
            seq
        });
        let mut headers = FieldTable::default();
        headers.insert(
            SEQ_HEADER.into(),
            AMQPValue::LongLongInt(i64::try_from(seq).unwrap_or(i64::MAX)),
        );
        let mut props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type(C::CONTENT_TYPE.into())
            .with_headers(headers);
        if let Some(ttl) = ttl {
            // Whole milliseconds, at least 1, as text (AMQP's rule).
            let ms = ttl.as_millis().max(1);
            props = props.with_expiration(ms.to_string().into());
        }
        let options = BasicPublishOptions {
            mandatory: true,
            immediate: false,
        };
        link.publish
            .basic_publish("", &shared.settings.queue, options, body, props)
            .await
            .map_err(classify)
    }
}
