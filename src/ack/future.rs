//! `AckQueue`'s futures and the owned deliveries' `Stream`.
//!
//! Every wait registers in the same list (`ready`, `room` or `settled`)
//! as the blocking calls, with the same look and the same keyed sleep
//! check; the `wait` module tells the protocol. Lease expiries and delayed
//! requeues notify nobody. A blocked thread looks again every `PARK_TICK`,
//! and a future does the same when given a [`Timer`] with `with_timer`.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::owned::arc_receive;
use super::{AckQueue, Delivery, OwnedDelivery, Seq, PARK_TICK};
use crate::error::{Closed, PushError};
use crate::future::{NoTimer, Timer};
use crate::sync::Arc;
use crate::wait::{WaitList, WaitSlot};

pin_project! {
    /// A wait's registration and, with a timer, the sleep that makes it
    /// look again while leases or delayed requeues are pending.
    struct Waiting<'q, S: Timer> {
        #[pin]
        slot: WaitSlot<'q>,
        timer: S,
        #[pin]
        sleep: Option<S::Sleep>,
    }
}

impl<S: Timer> fmt::Debug for Waiting<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiting")
            .field("slot", &self.slot)
            .field("ticking", &self.sleep.is_some())
            .finish_non_exhaustive()
    }
}

impl<'q, S: Timer> Waiting<'q, S> {
    fn new(timer: S) -> Self {
        Self {
            slot: WaitSlot::new(),
            timer,
            sleep: None,
        }
    }

    /// One poll of a wait in `list`: `look` as the blocking calls
    /// make it, and `may_sleep` their keyed check.
    #[inline]
    fn poll<T, R>(
        self: Pin<&mut Self>,
        queue: &AckQueue<T>,
        list: &'q WaitList,
        cx: &mut Context<'_>,
        mut look: impl FnMut() -> Option<R>,
        mut may_sleep: impl FnMut() -> bool,
    ) -> Poll<R> {
        let mut this = self.project();
        // At most one tick per poll: a timer whose sleeps end at once must
        // not make this loop spin.
        for _ in 0..2 {
            if let Poll::Ready(r) =
                list.poll_wait(cx, this.slot.as_mut(), &mut look, &mut may_sleep)
            {
                this.sleep.set(None);
                return Poll::Ready(r);
            }
            if !S::TICKS || !queue.timed() {
                this.sleep.set(None);
                return Poll::Pending;
            }
            if this.sleep.is_none() {
                this.sleep.set(Some(this.timer.sleep(PARK_TICK)));
            }
            let Some(sleep) = this.sleep.as_mut().as_pin_mut() else {
                unreachable!("set above");
            };
            if sleep.poll(cx).is_pending() {
                return Poll::Pending;
            }
            // The tick passed: look again (the look scans for expired
            // leases and due requeues).
            this.sleep.set(None);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

macro_rules! with_timer {
    ($future:ident < $($lt:lifetime,)* T, S > { $($field:ident),* }) => {
        impl<$($lt,)* T, S: Timer> $future<$($lt,)* T, S> {
            /// Looks again every millisecond while leases or delayed
            /// requeues are pending, with sleeps from `timer` (say
            /// `|d| tokio::time::sleep(d)`).
            ///
            /// So a lease that expires while the queue is otherwise idle
            /// reaches this waiter within about a tick (and the timer's
            /// granularity). Without a timer it is found at the next
            /// publish, settle or close, or by any other receive.
            pub fn with_timer<S2: Timer>(self, timer: S2) -> $future<$($lt,)* T, S2> {
                $future {
                    $($field: self.$field,)*
                    waiting: Waiting::new(timer),
                }
            }
        }
    };
}

pin_project! {
    /// The future of [`AckQueue::receive_async`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct ReceiveFuture<'q, T, S: Timer = NoTimer> {
        queue: &'q AckQueue<T>,
        #[pin]
        waiting: Waiting<'q, S>,
    }
}

with_timer!(ReceiveFuture<'q, T, S> { queue });

impl<'q, T, S: Timer> Future for ReceiveFuture<'q, T, S> {
    type Output = Result<Delivery<'q, T>, Closed>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let queue: &'q AckQueue<T> = this.queue;
        this.waiting.poll(
            queue,
            &queue.ready,
            cx,
            || queue.receive_look(),
            || queue.may_sleep_receiving(),
        )
    }
}

pin_project! {
    /// The future of [`AckQueue::receive_batch_async`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct ReceiveBatchFuture<'q, 'o, T, S: Timer = NoTimer> {
        queue: &'q AckQueue<T>,
        max: usize,
        out: &'o mut Vec<Delivery<'q, T>>,
        #[pin]
        waiting: Waiting<'q, S>,
    }
}

with_timer!(ReceiveBatchFuture<'q, 'o, T, S> { queue, max, out });

impl<T, S: Timer> Future for ReceiveBatchFuture<'_, '_, T, S> {
    type Output = Result<usize, Closed>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let queue = *this.queue;
        let (max, out) = (*this.max, this.out);
        if max == 0 {
            return Poll::Ready(Ok(0));
        }
        this.waiting.poll(
            queue,
            &queue.ready,
            cx,
            || queue.receive_batch_look(max, out),
            || queue.may_sleep_receiving(),
        )
    }
}

pin_project! {
    /// The future of [`AckQueue::receive_owned_async`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct ReceiveOwnedFuture<'q, T, S: Timer = NoTimer> {
        queue: &'q Arc<AckQueue<T>>,
        #[pin]
        waiting: Waiting<'q, S>,
    }
}

with_timer!(ReceiveOwnedFuture<'q, T, S> { queue });

impl<T, S: Timer> Future for ReceiveOwnedFuture<'_, T, S> {
    type Output = Result<OwnedDelivery<T>, Closed>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let handle = *this.queue;
        let queue: &AckQueue<T> = handle;
        this.waiting
            .poll(
                queue,
                &queue.ready,
                cx,
                || queue.receive_look(),
                || queue.may_sleep_receiving(),
            )
            .map(|r| r.map(|d| OwnedDelivery::adopt(d, handle)))
    }
}

pin_project! {
    /// The future of [`AckQueue::publish_async`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct PublishFuture<'q, T> {
        queue: &'q AckQueue<T>,
        // `None` once published, or handed back in an error.
        msg: Option<T>,
        #[pin]
        waiting: Waiting<'q, NoTimer>,
    }
}

impl<T> Future for PublishFuture<'_, T> {
    type Output = Result<Seq, PushError<T>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let queue = *this.queue;
        let msg = this.msg;
        assert!(msg.is_some(), "PublishFuture polled after it resolved");
        this.waiting.poll(
            queue,
            &queue.room,
            cx,
            || match queue.try_publish(msg.take()?) {
                Err(PushError::Full(m)) => {
                    *msg = Some(m);
                    None
                }
                done => Some(done),
            },
            || queue.fresh.full_by_head(),
        )
    }
}

pin_project! {
    /// The future of [`AckQueue::publish_after_async`] and
    /// [`AckQueue::publish_at_async`]: waits for a delay place.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct PublishLaterFuture<'q, T> {
        queue: &'q AckQueue<T>,
        // `None` once scheduled, or handed back in an error.
        msg: Option<T>,
        // The due time, in nanoseconds on the queue's clock.
        due: u64,
        #[pin]
        waiting: Waiting<'q, NoTimer>,
    }
}

impl<T> Future for PublishLaterFuture<'_, T> {
    type Output = Result<(), PushError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let queue = *this.queue;
        let msg = this.msg;
        let due = *this.due;
        assert!(msg.is_some(), "PublishLaterFuture polled after it resolved");
        this.waiting.poll(
            queue,
            &queue.scheduling,
            cx,
            || match queue.schedule(msg.take()?, due) {
                Err(PushError::Full(m)) => {
                    *msg = Some(m);
                    None
                }
                done => Some(done),
            },
            // Delay places are given back with `WaitList::notify` (fenced).
            || true,
        )
    }
}

pin_project! {
    /// The future of [`AckQueue::wait_settled_async`] and
    /// [`AckQueue::wait_settled_through_async`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct SettledFuture<'q, T> {
        queue: &'q AckQueue<T>,
        seq: Seq,
        // Whether every earlier message must be settled too.
        through: bool,
        #[pin]
        waiting: Waiting<'q, NoTimer>,
    }
}

impl<T> Future for SettledFuture<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let (queue, seq, through) = (*this.queue, *this.seq, *this.through);
        this.waiting.poll(
            queue,
            &queue.settled,
            cx,
            || {
                // As in `wait_settled`: acks notify by key (`acked`).
                queue.see_acks();
                let settled = if through {
                    queue.settled_below() > seq
                } else {
                    queue.is_settled(seq)
                };
                settled.then_some(())
            },
            || true,
        )
    }
}

#[cfg(feature = "stream")]
pin_project! {
    /// A [`Stream`](futures_core::Stream) of owned deliveries, ending once
    /// the queue is closed and nothing is left to receive:
    /// [`AckQueue::deliveries`]. It owns a handle of the queue, so it can
    /// be moved into a spawned task. Cancel safe between items.
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct DeliveryStream<T, S: Timer = NoTimer> {
        // Declared before `queue`, so dropped first: the registration
        // points into the queue the handle keeps alive.
        #[pin]
        waiting: Waiting<'static, S>,
        queue: Arc<AckQueue<T>>,
    }
}

#[cfg(feature = "stream")]
impl<T, S: Timer> DeliveryStream<T, S> {
    /// As the receive futures' `with_timer`
    /// ([`ReceiveFuture::with_timer`]).
    pub fn with_timer<S2: Timer>(self, timer: S2) -> DeliveryStream<T, S2> {
        DeliveryStream {
            waiting: Waiting::new(timer),
            queue: self.queue,
        }
    }
}

#[cfg(feature = "stream")]
impl<T, S: Timer> futures_core::Stream for DeliveryStream<T, S> {
    type Item = OwnedDelivery<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let handle: &Arc<AckQueue<T>> = this.queue;
        let queue: &AckQueue<T> = handle;
        // SAFETY: `handle` keeps the queue, and so its lot, alive for as
        // long as this stream, whose `waiting` (the only holder of this
        // extended borrow) is dropped before the handle (field order).
        let ready: &'static WaitList = unsafe { &*(&queue.ready as *const WaitList) };
        this.waiting
            .poll(
                queue,
                ready,
                cx,
                || queue.receive_look(),
                || queue.may_sleep_receiving(),
            )
            .map(|r| r.ok().map(|d| OwnedDelivery::adopt(d, handle)))
    }
}

impl<T> AckQueue<T> {
    /// Waits for a delivery without blocking the thread, as
    /// [`receive`](AckQueue::receive).
    ///
    /// Resolves to `Err(Closed)` once the queue is closed and nothing is
    /// left to receive. **Cancel safe**: a delivery is taken only in the
    /// poll that returns it. With leases or delayed requeues, give it a
    /// timer ([`ReceiveFuture::with_timer`]) so that an expiry on an
    /// otherwise idle queue reaches it.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = ackring::AckQueue::builder().build().unwrap();
    /// futures::executor::block_on(async {
    ///     q.publish_async("job").await.unwrap();
    ///     let d = q.receive_async().await.unwrap();
    ///     assert_eq!(*d, "job");
    ///     d.ack().unwrap();
    /// });
    /// ```
    pub fn receive_async(&self) -> ReceiveFuture<'_, T> {
        ReceiveFuture {
            queue: self,
            waiting: Waiting::new(NoTimer),
        }
    }

    /// Waits for up to `max` deliveries without blocking the thread, as
    /// [`receive_batch`](AckQueue::receive_batch).
    ///
    /// It resolves to how many it appended to `out` (at least one). It
    /// resolves to `Ok(0)` at once if `max` is 0, and to `Err(Closed)` once
    /// the queue is closed and nothing is left. **Cancel safe**: deliveries
    /// are taken only in the poll that returns them.
    pub fn receive_batch_async<'q, 'o>(
        &'q self,
        max: usize,
        out: &'o mut Vec<Delivery<'q, T>>,
    ) -> ReceiveBatchFuture<'q, 'o, T> {
        ReceiveBatchFuture {
            queue: self,
            max,
            out,
            waiting: Waiting::new(NoTimer),
        }
    }

    /// Publishes `msg`, waiting for room without blocking the thread, as
    /// [`publish`](AckQueue::publish).
    ///
    /// Resolves to `Err(PushError::Closed(msg))` if the queue is or
    /// gets closed first. **Not cancel safe for the message**: dropping
    /// the future before it resolves drops `msg` with it.
    pub fn publish_async(&self, msg: T) -> PublishFuture<'_, T> {
        PublishFuture {
            queue: self,
            msg: Some(msg),
            waiting: Waiting::new(NoTimer),
        }
    }

    /// Publishes `msg` once `delay` has passed, as
    /// [`publish_after`](AckQueue::publish_after), waiting for a delay
    /// place without blocking the thread. The delay counts from the call.
    /// Not cancel safe for the message.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let q = ackring::AckQueue::builder().delay_capacity(1).build().unwrap();
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// q.publish_after_async(1, Duration::from_millis(1)).await.unwrap();
    /// # });
    /// assert_eq!(q.scheduled(), 1);
    /// # q.close(); let _ = q.drain();
    /// ```
    pub fn publish_after_async(
        &self,
        msg: T,
        delay: core::time::Duration,
    ) -> PublishLaterFuture<'_, T> {
        let due = self.now().saturating_add(super::clock::nanos(delay));
        self.publish_at_nanos_async(msg, due)
    }

    /// Publishes `msg` when the queue's clock reads `at`, as
    /// [`publish_at`](AckQueue::publish_at), waiting for a delay place
    /// without blocking the thread. Not cancel safe for the message.
    pub fn publish_at_async(&self, msg: T, at: core::time::Duration) -> PublishLaterFuture<'_, T> {
        self.publish_at_nanos_async(msg, super::clock::nanos(at))
    }

    fn publish_at_nanos_async(&self, msg: T, due: u64) -> PublishLaterFuture<'_, T> {
        PublishLaterFuture {
            queue: self,
            msg: Some(msg),
            due,
            waiting: Waiting::new(NoTimer),
        }
    }

    /// Waits until the message `seq` names is settled (see
    /// [`is_settled`](AckQueue::is_settled)), without blocking the thread.
    /// Cancel safe. Race it with your runtime's timeout to bound the wait.
    pub fn wait_settled_async(&self, seq: Seq) -> SettledFuture<'_, T> {
        SettledFuture {
            queue: self,
            seq,
            through: false,
            waiting: Waiting::new(NoTimer),
        }
    }

    /// Waits until `seq` and every message before it are settled (the
    /// watermark, [`settled_below`](AckQueue::settled_below), passed it),
    /// without blocking the thread. Cancel safe.
    pub fn wait_settled_through_async(&self, seq: Seq) -> SettledFuture<'_, T> {
        SettledFuture {
            queue: self,
            seq,
            through: true,
            waiting: Waiting::new(NoTimer),
        }
    }

    arc_receive! {
        /// Waits for a delivery without blocking the thread, as
        /// [`receive_async`](AckQueue::receive_async), and hands it out
        /// owned (see [`try_receive_owned`](AckQueue::try_receive_owned)),
        /// ready to move into a spawned task.
        pub fn receive_owned_async(queue: &Arc<Self>) -> ReceiveOwnedFuture<'_, T> {
            ReceiveOwnedFuture {
                queue,
                waiting: Waiting::new(NoTimer),
            }
        }
    }
}

#[cfg(feature = "stream")]
impl<T> AckQueue<T> {
    arc_receive! {
        /// The queue's deliveries as a [`Stream`](futures_core::Stream) of
        /// owned deliveries, ending once the queue is closed and nothing
        /// is left to receive. The stream owns a handle of the queue. Give
        /// it a timer ([`DeliveryStream::with_timer`]) when leases or
        /// delayed requeues are in use.
        pub fn deliveries(queue: &Arc<Self>) -> DeliveryStream<T> {
            DeliveryStream {
                waiting: Waiting::new(NoTimer),
                queue: Arc::clone(queue),
            }
        }
    }
}
