//! The handles' futures and `poll_*` calls, which are the ring's
//! ([`crate::future`]), and the receiver's `Stream`s (feature `stream`).

use core::pin::Pin;
use core::task::{Context, Poll};

use super::{Receiver, Sender};
use crate::error::Closed;
use crate::future::{RecvFuture, RoomFuture, SendFuture};
use crate::wait::WaitSlot;

impl<T> Sender<T> {
    /// Sends `value`, waiting for room without blocking the thread.
    ///
    /// Resolves to `Err(PushError::Closed(value))` once every receiver is
    /// gone, also while it waits (the last receiver's drop wakes it).
    /// **Not cancel safe for the value**: dropping the future before it
    /// resolves drops `value` with it; wait with [`room`](Sender::room)
    /// and send with [`try_send`](Sender::try_send) to keep it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ackring::channel::bounded(1);
    /// futures::executor::block_on(async {
    ///     tx.send_async(1).await.unwrap();
    ///     assert_eq!(rx.recv_async().await, Ok(1));
    /// });
    /// ```
    pub fn send_async(&self, value: T) -> SendFuture<'_, T> {
        self.ring().send_async(value)
    }

    /// Waits until the channel has room for a send, or is closed
    /// (`Err(Closed)`). **Cancel safe**: it holds nothing. Room is not
    /// reserved: another sender may take it first (see
    /// [`Ring::room`](crate::Ring::room)).
    pub fn room(&self) -> RoomFuture<'_, T> {
        self.ring().room()
    }

    /// Polls for room, registering the task in `slot` (see
    /// [`Ring::poll_room`](crate::Ring::poll_room)).
    pub fn poll_room<'a>(
        &'a self,
        cx: &mut Context<'_>,
        slot: Pin<&mut WaitSlot<'a>>,
    ) -> Poll<Result<(), Closed>> {
        self.ring().poll_room(cx, slot)
    }
}

impl<T> Receiver<T> {
    /// Takes the oldest item, waiting for one without blocking the thread.
    ///
    /// Resolves to `Err(Closed)` once every sender is gone and the channel
    /// is drained, also while it waits (the last sender's drop wakes it).
    /// **Cancel safe**: an item is taken only in the poll that returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ackring::channel::bounded(4);
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// tokio::spawn(async move {
    ///     for i in 0..3 {
    ///         tx.send_async(i).await.unwrap();
    ///     }
    /// });
    /// let mut sum = 0;
    /// while let Ok(i) = rx.recv_async().await {
    ///     sum += i;
    /// }
    /// assert_eq!(sum, 3);
    /// # });
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        self.ring().recv_async()
    }

    /// Polls for the oldest item, registering the task in `slot` (see
    /// [`Ring::poll_recv`](crate::Ring::poll_recv)).
    pub fn poll_recv<'a>(
        &'a self,
        cx: &mut Context<'_>,
        slot: Pin<&mut WaitSlot<'a>>,
    ) -> Poll<Result<T, Closed>> {
        self.ring().poll_recv(cx, slot)
    }
}

#[cfg(feature = "stream")]
pub use stream::RecvStream;

#[cfg(feature = "stream")]
mod stream {
    use core::fmt;
    use core::pin::Pin;
    use core::task::{Context, Poll};

    use pin_project_lite::pin_project;

    use crate::channel::Receiver;
    use crate::future::RingStream;
    use crate::ring::Ring;
    use crate::wait::WaitSlot;

    impl<T> Receiver<T> {
        /// The items as a [`Stream`](futures_core::Stream), borrowing the
        /// receiver, until every sender is gone and the channel is
        /// drained. Cancel safe between items.
        ///
        /// # Examples
        ///
        /// ```
        /// use futures::StreamExt;
        ///
        /// let (tx, rx) = ackring::channel::bounded(4);
        /// tx.send(1).unwrap();
        /// tx.send(2).unwrap();
        /// drop(tx);
        /// let got: Vec<i32> = futures::executor::block_on(rx.stream().collect());
        /// assert_eq!(got, [1, 2]);
        /// ```
        pub fn stream(&self) -> RingStream<'_, T> {
            self.ring().stream()
        }

        /// The items as a [`Stream`](futures_core::Stream) that owns the
        /// receiver (`'static` for `T: 'static`, to hand to a spawned task
        /// or a combinator), until every sender is gone and the channel is
        /// drained. Cancel safe between items.
        ///
        /// # Examples
        ///
        /// ```
        /// use futures::StreamExt;
        ///
        /// let (tx, rx) = ackring::channel::bounded(4);
        /// let doubled = rx.into_stream().map(|i: u32| i * 2);
        /// tx.send(1).unwrap();
        /// tx.send(2).unwrap();
        /// drop(tx);
        /// let got: Vec<u32> = futures::executor::block_on(doubled.collect());
        /// assert_eq!(got, [2, 4]);
        /// ```
        pub fn into_stream(self) -> RecvStream<T> {
            RecvStream {
                slot: WaitSlot::new(),
                receiver: self,
            }
        }
    }

    pin_project! {
        /// A [`Stream`](futures_core::Stream) of the items of a channel
        /// that owns its receiver: [`Receiver::into_stream`].
        #[must_use = "streams do nothing unless polled"]
        pub struct RecvStream<T> {
            // Declared before `receiver`, so dropped first: the
            // registration points into the ring the receiver keeps alive.
            #[pin]
            slot: WaitSlot<'static>,
            receiver: Receiver<T>,
        }
    }

    impl<T: 'static> futures_core::Stream for RecvStream<T> {
        type Item = T;

        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
            let this = self.project();
            // SAFETY: the receiver holds the shared block, so the ring
            // stays where it is (behind the `Arc`, which moving the stream
            // does not move) for as long as this stream; the only holder
            // of the extended borrow is `slot`, which unlinks itself when
            // dropped, before the receiver (field order).
            let ring: &'static Ring<T> = unsafe { &*(this.receiver.ring() as *const Ring<T>) };
            ring.poll_recv(cx, this.slot).map(Result::ok)
        }

        fn size_hint(&self) -> (usize, Option<usize>) {
            (self.receiver.len(), None)
        }
    }

    impl<T> fmt::Debug for RecvStream<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RecvStream")
                .field("slot", &self.slot)
                .field("receiver", &self.receiver)
                .finish()
        }
    }
}
