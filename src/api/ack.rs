//! The in-process backend: [`AckQueue`] and its guards implement the
//! traits by calling their own methods, so every guarantee of the queue
//! holds through the traits unchanged.

use core::future::Future;
use core::time::Duration;

use super::{
    poll_dead_letter, Acknowledge, Capabilities, Consumer, Drain, Error, Figures, Producer, Queue,
    Scope, SendError,
};
use crate::ack::{AckQueue, DeadLetter, Delivery, OwnedDelivery, Seq};
use crate::error::{AckError, PushError};

/// How long a wait for a dead letter sleeps between two looks. A dead
/// letter is there as soon as the nack that made it returns, so a caller
/// waiting for one that is coming waits at most this long after it came.
const DEAD_LETTER_TICK: Duration = Duration::from_millis(1);

impl<T> From<PushError<T>> for SendError<T> {
    fn from(e: PushError<T>) -> Self {
        // The traits' publish waits for room, so it fails only on a
        // closed queue; `Full` comes from converting a `try_publish` error.
        let error = if e.is_full() {
            Error::Full
        } else {
            Error::Closed
        };
        SendError::new(error, e.into_inner())
    }
}

/// Moves the errors of an `AckQueue` batch settle into the trait's.
fn convert(from: Vec<(usize, AckError)>, errors: &mut Vec<(usize, Error)>) {
    errors.extend(from.into_iter().map(|(i, e)| (i, Error::Ack(e))));
}

impl<T: Send + Sync> Queue for AckQueue<T> {
    type Message = T;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            leases: true,
            delayed_requeue: true,
            settle_confirmations: true,
            settle_watermark: true,
            queue_wide_seq: true,
            prefetch: Scope::Queue,
            close: Scope::Queue,
            drain: Drain::Unheld,
            durable: false,
            dead_letter_counts: true,
            message_ttl: true,
            redelivery_backoff: true,
            delayed_publish: true,
            figures: Figures {
                waiting: true,
                in_flight: true,
                delayed: true,
                dead_letters: true,
                consumers: false,
                // Exact with `AckQueueBuilder::latency` on, else from the
                // first `stats` call that sees the message waiting.
                oldest_waiting: true,
                oldest_in_flight: true,
                latency: self.records_latency(),
                confirmed: false,
                queue_wide_counters: true,
            },
        }
    }

    fn close(&self) {
        AckQueue::close(self);
    }

    fn is_closed(&self) -> bool {
        AckQueue::is_closed(self)
    }
}

impl<T: Send + Sync> Producer for AckQueue<T> {
    fn publish(&self, msg: T) -> Result<Seq, SendError<T>> {
        AckQueue::publish(self, msg).map_err(SendError::from)
    }

    fn publish_async(&self, msg: T) -> impl Future<Output = Result<Seq, SendError<T>>> + Send {
        let publish = AckQueue::publish_async(self, msg);
        async move { publish.await.map_err(SendError::from) }
    }
}

impl<T: Send + Sync> Consumer for AckQueue<T> {
    type Delivery<'a>
        = Delivery<'a, T>
    where
        Self: 'a;

    fn receive(&self) -> Result<Delivery<'_, T>, Error> {
        AckQueue::receive(self).map_err(|_| Error::Closed)
    }

    fn receive_timeout(&self, timeout: Duration) -> Result<Option<Delivery<'_, T>>, Error> {
        AckQueue::receive_timeout(self, timeout).map_err(|_| Error::Closed)
    }

    fn receive_batch_timeout<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<Delivery<'q, T>>,
        timeout: Duration,
    ) -> Result<usize, Error> {
        AckQueue::receive_batch_timeout(self, max, out, timeout).map_err(|_| Error::Closed)
    }

    fn receive_async(&self) -> impl Future<Output = Result<Delivery<'_, T>, Error>> + Send {
        let receive = AckQueue::receive_async(self);
        async move { receive.await.map_err(|_| Error::Closed) }
    }

    fn receive_batch_async<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<Delivery<'q, T>>,
    ) -> impl Future<Output = Result<usize, Error>> + Send {
        let receive = AckQueue::receive_batch_async(self, max, out);
        async move { receive.await.map_err(|_| Error::Closed) }
    }

    fn ack_batch<'q>(
        &'q self,
        batch: impl IntoIterator<Item = Delivery<'q, T>>,
        errors: &mut Vec<(usize, Error)>,
    ) -> usize {
        let mut refused = Vec::new();
        let n = AckQueue::ack_batch(self, batch, &mut refused);
        convert(refused, errors);
        n
    }

    fn nack_batch<'q>(
        &'q self,
        batch: impl IntoIterator<Item = Delivery<'q, T>>,
        requeue: bool,
        errors: &mut Vec<(usize, Error)>,
    ) -> usize {
        let mut refused = Vec::new();
        let n = AckQueue::nack_batch(self, batch, requeue, &mut refused);
        convert(refused, errors);
        n
    }

    fn receive_dead_letter_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<DeadLetter<T>>, Error> {
        poll_dead_letter(timeout, DEAD_LETTER_TICK, |_| {
            Ok(self.try_receive_dead_letter())
        })
    }

    fn drain(&self) -> Result<Vec<T>, Error> {
        Ok(AckQueue::drain(self))
    }
}

/// Implements [`Acknowledge`] for a guard type by calling its own methods.
macro_rules! acknowledge {
    ($guard:ident $(<$lt:lifetime>)?) => {
        impl<$($lt,)? T> Acknowledge for $guard<$($lt,)? T> {
            fn seq(&self) -> Option<Seq> {
                Some($guard::seq(self))
            }

            fn delivery_count(&self) -> u32 {
                $guard::delivery_count(self)
            }

            fn redelivered(&self) -> bool {
                $guard::redelivered(self)
            }

            fn ack(self) -> Result<(), Error> {
                $guard::ack(self).map_err(Error::Ack)
            }

            fn nack(self, requeue: bool) -> Result<(), Error> {
                $guard::nack(self, requeue).map_err(Error::Ack)
            }
        }
    };
}

acknowledge!(Delivery<'q>);
acknowledge!(OwnedDelivery);
