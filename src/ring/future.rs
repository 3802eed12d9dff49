//! `Ring`'s futures and `poll_*` calls.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::Ring;
use crate::error::{Closed, PopError, PushError};
use crate::wait::WaitSlot;

impl<T> Ring<T> {
    /// Polls for the oldest item: `Ready(Ok(item))`, `Ready(Err(Closed))`
    /// once the ring is closed and drained, or `Pending` with the task
    /// registered in `slot` to be woken by a push or the close. The item
    /// is taken only in the poll that returns it, so dropping `slot` (or
    /// never polling again) loses nothing.
    ///
    /// The task sleeps until woken, whatever the ring's
    /// [`WaitStrategy`](crate::WaitStrategy): the strategy is how blocked
    /// threads wait.
    #[inline]
    pub fn poll_recv<'a>(
        &'a self,
        cx: &mut Context<'_>,
        slot: Pin<&mut WaitSlot<'a>>,
    ) -> Poll<Result<T, Closed>> {
        let attempt = || match self.try_recv() {
            Err(PopError::Empty) => None,
            Ok(item) => Some(Ok(item)),
            Err(PopError::Closed) => Some(Err(Closed)),
        };
        self.not_empty()
            .poll_wait(cx, slot, attempt, || self.may_sleep_for_item())
    }

    /// Polls for room: `Ready(Ok(()))` when a push would find room now,
    /// `Ready(Err(Closed))` once the ring is closed, or `Pending` with the
    /// task registered in `slot` to be woken by a pop or the close. Room is
    /// not reserved: another producer may take it first, and the caller's
    /// [`try_send`](Ring::try_send) then reports `Full`. So that a caller
    /// who does not push strands no other waiting sender, a poll that
    /// resolves on a wake-up hands that wake-up on to the next waiter:
    /// [`send_async`](Ring::send_async), which takes the room it is woken
    /// for, wakes fewer tasks. As [`poll_recv`](Ring::poll_recv) for each
    /// wait strategy.
    pub fn poll_room<'a>(
        &'a self,
        cx: &mut Context<'_>,
        slot: Pin<&mut WaitSlot<'a>>,
    ) -> Poll<Result<(), Closed>> {
        let attempt = || {
            if self.is_closed() {
                Some(Err(Closed))
            } else if self.is_full() {
                None
            } else {
                Some(Ok(()))
            }
        };
        self.not_full()
            .poll_look(cx, slot, attempt, || self.may_sleep_for_room())
    }

    /// Pops the oldest item, waiting for one without blocking the thread.
    ///
    /// Resolves to `Err(Closed)` once the ring is closed and drained.
    /// **Cancel safe**: an item is taken only in the poll that returns it,
    /// so dropping the future (a `select!` that took another branch, a
    /// timeout) loses nothing. See [`poll_recv`](Ring::poll_recv) for how
    /// each wait strategy waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{Ring, WaitStrategy};
    ///
    /// let ring = Ring::with_wait_strategy(4, WaitStrategy::Park);
    /// futures::executor::block_on(async {
    ///     ring.send_async(1).await.unwrap();
    ///     assert_eq!(ring.recv_async().await, Ok(1));
    ///     ring.close();
    ///     assert!(ring.recv_async().await.is_err());
    /// });
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            ring: self,
            slot: WaitSlot::new(),
        }
    }

    /// Pushes `value`, waiting for room without blocking the thread.
    ///
    /// Resolves to `Err(PushError::Closed(value))` if the ring is or gets
    /// closed first (never `Full`). **Not cancel safe for the value**:
    /// dropping the future before it resolves drops `value` with it. Wait
    /// with [`room`](Ring::room) and push with
    /// [`try_send`](Ring::try_send) to keep the value in your hands.
    pub fn send_async(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            ring: self,
            value: Some(value),
            slot: WaitSlot::new(),
        }
    }

    /// Waits until the ring has room for a push, or is closed
    /// (`Err(Closed)`). **Cancel safe**: it holds nothing. Room is not
    /// reserved (see [`poll_room`](Ring::poll_room)).
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{PushError, Ring, WaitStrategy};
    ///
    /// let ring = Ring::with_wait_strategy(1, WaitStrategy::Park);
    /// futures::executor::block_on(async {
    ///     let mut value = 7;
    ///     loop {
    ///         ring.room().await.unwrap();
    ///         match ring.try_send(value) {
    ///             Ok(()) => break,
    ///             Err(PushError::Full(v)) => value = v, // taken first: wait again
    ///             Err(PushError::Closed(_)) => unreachable!(),
    ///         }
    ///     }
    /// });
    /// assert_eq!(ring.try_pop(), Some(7));
    /// ```
    pub fn room(&self) -> RoomFuture<'_, T> {
        RoomFuture {
            ring: self,
            slot: WaitSlot::new(),
        }
    }
}

/// A future that is a ring and a place in one of its wait lists, and
/// whose poll is one of the ring's `poll_` calls.
macro_rules! wait_future {
    ($(#[$doc:meta])* $name:ident, $output:ty, $poll:ident) => {
        pin_project! {
            $(#[$doc])*
            #[derive(Debug)]
            #[must_use = "futures do nothing unless polled"]
            pub struct $name<'a, T> {
                ring: &'a Ring<T>,
                #[pin]
                slot: WaitSlot<'a>,
            }
        }

        impl<T> Future for $name<'_, T> {
            type Output = $output;

            #[inline]
            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let this = self.project();
                this.ring.$poll(cx, this.slot)
            }
        }
    };
}

wait_future!(
    /// The future of [`Ring::recv_async`].
    RecvFuture,
    Result<T, Closed>,
    poll_recv
);

wait_future!(
    /// The future of [`Ring::room`].
    RoomFuture,
    Result<(), Closed>,
    poll_room
);

pin_project! {
    /// The future of [`Ring::send_async`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct SendFuture<'a, T> {
        ring: &'a Ring<T>,
        // `None` once pushed (or given back).
        value: Option<T>,
        #[pin]
        slot: WaitSlot<'a>,
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), PushError<T>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let ring = *this.ring;
        let value = this.value;
        let attempt = || match ring.try_send(value.take()?) {
            Err(PushError::Full(v)) => {
                *value = Some(v);
                None
            }
            done => Some(done),
        };
        let polled = ring
            .not_full()
            .poll_wait(cx, this.slot, attempt, || ring.may_sleep_for_room());
        match polled {
            Poll::Pending if value.is_none() => panic!("SendFuture polled after it resolved"),
            polled => polled,
        }
    }
}

#[cfg(feature = "stream")]
pin_project! {
    /// A [`Stream`](futures_core::Stream) of the items popped from a ring,
    /// ending once it is closed and drained: [`Ring::stream`]. Cancel safe
    /// between items, as [`Ring::recv_async`].
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct RingStream<'a, T> {
        ring: &'a Ring<T>,
        #[pin]
        slot: WaitSlot<'a>,
    }
}

#[cfg(feature = "stream")]
impl<T> Ring<T> {
    /// The items of this ring as a [`Stream`](futures_core::Stream), in
    /// pop order, until the ring is closed and drained. Several streams
    /// (and other consumers) of one ring share its items.
    pub fn stream(&self) -> RingStream<'_, T> {
        RingStream {
            ring: self,
            slot: WaitSlot::new(),
        }
    }
}

#[cfg(feature = "stream")]
impl<T> futures_core::Stream for RingStream<'_, T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.project();
        this.ring.poll_recv(cx, this.slot).map(Result::ok)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.ring.len(), None)
    }
}
