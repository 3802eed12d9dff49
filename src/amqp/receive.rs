//! Receiving and batch settles.
//!
//! A receive waits for a link that is up, starts the consumer on it if no
//! receive did yet, and takes what lapin received. When the consumer ends
//! with its link, the receive reports the loss and waits for the next
//! link, on which the recovery has started the consumer again.

use core::future::poll_fn;
use core::task::Poll;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::block::block_on_until;
use super::codec::Codec;
use super::delivery::{header_int, AmqpDelivery};
use super::link::{Link, Take};
use super::{deadline_after, AmqpQueue, Settle, SEQ_HEADER, SETTLE_WAIT};
use crate::ack::Seq;
use crate::api::Error;
use crate::error::AckError;
use crate::sync::lock;

impl<M: Send, C: Codec<M>> AmqpQueue<M, C> {
    /// The guard of a delivery lapin received on `link`, or its tag if the
    /// codec cannot decode it.
    fn wrap(
        &self,
        link: &Arc<Link>,
        d: lapin::message::Delivery,
    ) -> Result<AmqpDelivery<'_, M>, u64> {
        let headers = d.properties.headers();
        let earlier = header_int(headers, "x-delivery-count").unwrap_or(0);
        let count = u32::try_from(earlier.saturating_add(1)).unwrap_or(u32::MAX);
        let seq = header_int(headers, SEQ_HEADER).map(Seq);
        let tag = d.delivery_tag;
        let redelivered = d.redelivered || count > 1;
        match self.codec.decode(d.data) {
            Ok(msg) => Ok({
                self.shared.traffic.delivered(redelivered);
                AmqpDelivery {
                    shared: &self.shared,
                    link: Arc::clone(link),
                    msg,
                    tag,
                    seq,
                    count,
                    redelivered,
                    settled: false,
                }
            }),
            Err(_) => Err(tag),
        }
    }

    /// Waits for deliveries and appends up to `max` to `out`, through
    /// recoveries.
    pub(super) async fn receive_into<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<AmqpDelivery<'q, M>>,
    ) -> Result<usize, Error> {
        if max == 0 {
            return Ok(0);
        }
        let shared = &*self.shared;
        loop {
            if shared.closed.load(Ordering::SeqCst) {
                return Err(Error::Closed);
            }
            let link = shared.wait_link(None).await?;
            shared.consuming.store(true, Ordering::SeqCst);
            if let Err(e) = link.start_consumer(&shared.settings.queue).await {
                match shared.check(&link, e) {
                    e if e.is_unreachable() => continue,
                    e => return Err(e),
                }
            }
            let mut raw = Vec::new();
            let taken = poll_fn(|cx| {
                if shared.closed.load(Ordering::SeqCst) {
                    return Poll::Ready(Take::Ended(Error::Closed));
                }
                let taken = link.poll_take(cx, max, &mut raw);
                if taken.is_pending() && shared.closed.load(Ordering::SeqCst) {
                    // Set after our first look: the close's cancel woke
                    // us, or will find our waker registered.
                    return Poll::Ready(Take::Ended(Error::Closed));
                }
                taken
            })
            .await;
            if let Take::Ended(why) = taken {
                if matches!(why, Error::Closed) || shared.closed.load(Ordering::SeqCst) {
                    return Err(Error::Closed);
                }
                // The consumer is gone with its link: wait for the next.
                shared.lost(link.number, &why);
                continue;
            }
            let mut n = 0;
            for d in raw {
                match self.wrap(&link, d) {
                    Ok(d) => {
                        out.push(d);
                        n += 1;
                    }
                    // Not a message of this codec: to the dead letters,
                    // where any client can look at it.
                    Err(tag) => {
                        let _ = link.settle(tag, Settle::Reject).await;
                    }
                }
            }
            if n > 0 {
                return Ok(n);
            }
        }
    }

    pub(super) async fn receive_one(&self) -> Result<AmqpDelivery<'_, M>, Error> {
        let mut out = Vec::with_capacity(1);
        self.receive_into(1, &mut out).await?;
        match out.pop() {
            Some(d) => Ok(d),
            None => unreachable!("receive_into returned a delivery"),
        }
    }

    /// Settles a batch of this handle's deliveries with as few frames as
    /// the batch allows. Deliveries of a lost link are stale.
    pub(super) fn settle_batch<'q>(
        &'q self,
        batch: impl IntoIterator<Item = AmqpDelivery<'q, M>>,
        how: Settle,
        errors: &mut Vec<(usize, Error)>,
    ) -> usize {
        let shared = &*self.shared;
        let current = shared.link_now();
        let mut tags = Vec::new();
        for (i, mut d) in batch.into_iter().enumerate() {
            if !core::ptr::eq(d.shared, shared) {
                // Settled through its own handle when dropped here: its
                // tag means nothing on this handle's channel.
                errors.push((i, Error::Ack(AckError::ForeignTag)));
                continue;
            }
            d.settled = true;
            match &current {
                Some(link) if Arc::ptr_eq(link, &d.link) => tags.push((i, d.tag)),
                _ => errors.push((i, Error::Ack(AckError::Stale))),
            }
        }
        let Some(link) = current else { return 0 };
        let Some(&(_, last)) = tags.iter().max_by_key(|(_, t)| *t) else {
            return 0;
        };
        let whole = {
            let mut state = lock(&link.consuming);
            let batch: BTreeSet<u64> = tags.iter().map(|&(_, t)| t).collect();
            let whole = state.unsettled.range(..=last).all(|t| batch.contains(t));
            for (_, t) in &tags {
                state.unsettled.remove(t);
            }
            whole
        };
        let send = |tag, multiple| match block_on_until(
            link.send_settle(tag, how, multiple),
            deadline_after(SETTLE_WAIT),
        ) {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => {
                shared.check(&link, e);
                Err(Error::Ack(AckError::Stale))
            }
            None => Err(Error::Ack(AckError::Stale)),
        };
        if whole && tags.len() > 1 {
            return match send(last, true) {
                Ok(()) => shared.traffic.settled(how, tags.len()),
                Err(e) => {
                    errors.extend(tags.iter().map(|&(i, _)| (i, e.clone())));
                    0
                }
            };
        }
        let mut settled = 0;
        for (i, tag) in tags {
            match send(tag, false) {
                Ok(()) => settled += 1,
                Err(e) => errors.push((i, e)),
            }
        }
        shared.traffic.settled(how, settled)
    }
}
