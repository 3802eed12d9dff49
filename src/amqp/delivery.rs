//! The delivery guard, [`AmqpDelivery`]: a message received on one link,
//! settled on that link's channel.
//!
//! A delivery whose link was lost is stale: its settle reaches no broker.
//! The broker requeued the message when the connection dropped, and
//! delivers it again marked redelivered. So the settle reports
//! [`AckError::Stale`] at once.

use core::fmt;
use core::ops::Deref;
use std::sync::Arc;

use lapin::types::{AMQPValue, FieldTable};

use super::block::block_on_until;
use super::link::Link;
use super::shared::Shared;
use super::{deadline_after, Settle, SETTLE_WAIT};
use crate::ack::Seq;
use crate::api::{Acknowledge, Error};
use crate::error::AckError;

/// An integer header, whatever integer type the broker or another client
/// wrote it as.
pub(super) fn header_int(headers: &Option<FieldTable>, name: &str) -> Option<u64> {
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
pub(super) fn header_str(headers: &Option<FieldTable>, name: &str) -> Option<String> {
    match headers.as_ref()?.inner().get(name)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

impl Shared {
    /// Settles delivery `tag` of `link`: [`AckError::Stale`] if the link
    /// is not the one up now, or the frame cannot be written (then the
    /// link is reported lost).
    pub(super) fn settle_blocking(&self, link: &Link, tag: u64, how: Settle) -> Result<(), Error> {
        if !self.is_current(link) {
            return Err(Error::Ack(AckError::Stale));
        }
        match block_on_until(link.settle(tag, how), deadline_after(SETTLE_WAIT)) {
            Some(Ok(())) => {
                self.traffic.settled(how, 1);
                Ok(())
            }
            Some(Err(e)) => {
                self.check(link, e);
                Err(Error::Ack(AckError::Stale))
            }
            None => Err(Error::Ack(AckError::Stale)),
        }
    }
}

/// A message received from an [`AmqpQueue`](super::AmqpQueue), unsettled
/// until acked or nacked; dropped unsettled, it is requeued
/// (`basic.nack` with requeue). Derefs to the message.
///
/// A delivery received before the handle's connection was lost is stale
/// once it is: its ack or nack returns [`AckError::Stale`], and the broker
/// delivers the message again, marked redelivered.
#[must_use = "a delivery dropped without ack or nack is requeued"]
pub struct AmqpDelivery<'q, M> {
    pub(super) shared: &'q Shared,
    pub(super) link: Arc<Link>,
    pub(super) msg: M,
    pub(super) tag: u64,
    pub(super) seq: Option<Seq>,
    pub(super) count: u32,
    pub(super) redelivered: bool,
    pub(super) settled: bool,
}

impl<M> AmqpDelivery<'_, M> {
    /// The delivery tag on the consuming channel of the connection it came
    /// on.
    pub fn delivery_tag(&self) -> u64 {
        self.tag
    }

    fn finish(mut self, how: Settle) -> Result<(), Error> {
        self.settled = true;
        self.shared.settle_blocking(&self.link, self.tag, how)
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
            Settle::Requeue(None)
        } else {
            Settle::Reject
        })
    }
}

impl<M> Drop for AmqpDelivery<'_, M> {
    fn drop(&mut self) {
        if !self.settled {
            self.settled = true;
            // A failure means the link is gone, and the broker requeues
            // the message itself.
            let _ = self
                .shared
                .settle_blocking(&self.link, self.tag, Settle::Requeue(None));
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
