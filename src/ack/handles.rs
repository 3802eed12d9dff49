//! An [`AckQueue`] as two kinds of handles: [`Publisher`]s and
//! [`Worker`]s, which close the queue when the last of a side is dropped,
//! as a channel's senders and receivers do.
//!
//! [`AckQueueBuilder::build_handles`] (or [`AckQueue::into_handles`])
//! keeps the queue behind an `Arc` with a count of each side's handles.
//! Every call of a handle is the queue's own, so a handle costs what the
//! queue costs. Both handles are `Clone`, `Send` and `Sync` (for
//! `T: Send + Sync`), and nothing is allocated after the build.
//!
//! What the last handle of a side does is told once, on
//! [`AckQueueBuilder::build_handles`], where users read it.

use core::fmt;
use core::time::Duration;

use super::LatencySnapshot;
use super::{AckQueue, AckQueueBuilder, BatchItem, DeadLetter, Delivery, OwnedDelivery, Seq};
use crate::channel::HandleCount;
use crate::error::{AckError, Closed, ConfigError, PushError};
use crate::future::SettledFuture;
use crate::future::{
    PublishFuture, PublishLaterFuture, ReceiveBatchFuture, ReceiveFuture, ReceiveOwnedFuture,
};
use crate::stats::Stats;
use crate::sync::Arc;

/// The count of each side's handles, shared by every handle of a queue.
#[derive(Debug)]
struct Sides {
    publishers: HandleCount,
    workers: HandleCount,
}

/// The publishing side of an [`AckQueue`]: publishes, and learns when its
/// messages are settled.
///
/// Clone it for each producer. The queue closes when the last clone is
/// dropped (see [`build_handles`](AckQueueBuilder::build_handles)).
///
/// # Examples
///
/// ```
/// use ackring::{AckQueue, PushError};
/// use std::time::Duration;
///
/// let (publisher, worker) = AckQueue::builder().build_handles().unwrap();
/// let seq = publisher.publish("job").unwrap();
/// worker.receive().unwrap().ack().unwrap();
/// assert!(publisher.wait_settled(seq, Duration::from_secs(1)));
/// drop(worker); // the last worker: the queue is closed
/// assert_eq!(publisher.publish("late"), Err(PushError::Closed("late")));
/// ```
pub struct Publisher<T> {
    queue: Arc<AckQueue<T>>,
    sides: Arc<Sides>,
}

/// The consuming side of an [`AckQueue`]: receives deliveries and settles
/// them. Deliveries come borrowed, owned, in batches, as futures and as a
/// stream.
///
/// Clone it for each worker thread or task; each message goes to one
/// worker at a time. The queue closes when the last clone is dropped, and
/// what is unsettled waits for a [`drain`](Publisher::drain) (see
/// [`build_handles`](AckQueueBuilder::build_handles)).
///
/// # Examples
///
/// ```
/// use ackring::AckQueue;
///
/// let (publisher, worker) = AckQueue::builder().build_handles().unwrap();
/// for i in 1..=3 {
///     publisher.publish(i).unwrap();
/// }
/// drop(publisher);
/// let mut sum = 0;
/// for d in &worker {
///     sum += *d;
///     d.ack().unwrap();
/// }
/// assert_eq!(sum, 6); // the loop ended once the queue was closed and empty
/// ```
pub struct Worker<T> {
    queue: Arc<AckQueue<T>>,
    sides: Arc<Sides>,
}

impl<T> AckQueueBuilder<T> {
    /// Builds the queue as a pair of handles, a [`Publisher`] and a
    /// [`Worker`]. The last handle of a side closes the queue when it is
    /// dropped, as a channel's senders and receivers do.
    ///
    /// Every call of a handle is the queue's own. Both handles are `Clone`,
    /// and `Send` and `Sync` for `T: Send + Sync`. All memory the queue will
    /// use is allocated here.
    ///
    /// # What the last handle of a side does
    ///
    /// - **The last [`Publisher`] dropped** (or [`Publisher::close`]) closes
    ///   the queue.
    ///   - Workers receive every message left (waiting, requeued, delayed),
    ///     then see the queue closed: [`Worker::receive`] returns
    ///     [`Closed`], `for d in &worker` ends, the stream ends.
    ///   - A worker waiting at that moment is woken.
    ///   - Deliveries still held can be acked and nacked as before. One
    ///     requeued after the workers have stopped stays in the queue for
    ///     [`drain`](Worker::drain).
    /// - **The last [`Worker`] dropped** closes the queue too, and loses
    ///   nothing.
    ///   - Every publish from then on is refused with its message
    ///     ([`PushError::Closed`]).
    ///   - A publisher waiting for room is woken with its message.
    ///   - Everything still unsettled (waiting, requeued, delayed, dead
    ///     letters) stays in the queue for the publishers'
    ///     [`drain`](Publisher::drain), which hands it back.
    ///   - Owned deliveries outlive the workers that received them. Acked,
    ///     their message is settled; dropped or nacked, it waits for the
    ///     drain.
    /// - The queue lives while any handle or owned delivery does. When the
    ///   last of them goes, the queue is dropped with whatever it still
    ///   holds, as an `AckQueue` is. Call [`drain`](Publisher::drain) before,
    ///   to keep it.
    ///
    /// # Examples
    ///
    /// A pool of workers that stops by itself once the publisher is done, and
    /// the accounting that shows nothing lost:
    ///
    /// ```
    /// use ackring::AckQueue;
    ///
    /// let (publisher, worker) = AckQueue::<u64>::builder()
    ///     .max_in_flight(8)
    ///     .build_handles()
    ///     .unwrap();
    /// let pool: Vec<_> = (0..3)
    ///     .map(|_| {
    ///         let worker = worker.clone();
    ///         std::thread::spawn(move || {
    ///             let mut sum = 0;
    ///             for d in &worker {
    ///                 sum += *d;
    ///                 d.ack().unwrap();
    ///             }
    ///             sum // the loop ended: the queue is closed and empty
    ///         })
    ///     })
    ///     .collect();
    /// drop(worker);
    /// for i in 1..=100_u64 {
    ///     publisher.publish(i).unwrap();
    /// }
    /// publisher.close(); // as dropping the last publisher does
    /// let sum: u64 = pool.into_iter().map(|t| t.join().unwrap()).sum();
    /// assert_eq!(sum, 5050);
    /// assert!(publisher.drain().is_empty()); // nothing left unsettled
    /// ```
    ///
    /// # Errors
    ///
    /// As [`build`](AckQueueBuilder::build).
    pub fn build_handles(self) -> Result<(Publisher<T>, Worker<T>), ConfigError> {
        self.build().map(AckQueue::into_handles)
    }
}

impl<T> AckQueue<T> {
    /// This queue as a pair of handles (see
    /// [`build_handles`](AckQueueBuilder::build_handles)). Messages already
    /// in it are received first.
    pub fn into_handles(self) -> (Publisher<T>, Worker<T>) {
        let queue = Arc::new(self);
        let sides = Arc::new(Sides {
            publishers: HandleCount::one(),
            workers: HandleCount::one(),
        });
        let worker = Worker {
            queue: Arc::clone(&queue),
            sides: Arc::clone(&sides),
        };
        (Publisher { queue, sides }, worker)
    }
}

/// The calls both handles have.
macro_rules! common {
    ($handle:ident) => {
        impl<T> $handle<T> {
            /// The queue itself, for its calls that the handle does not
            /// repeat (settles by [`Tag`](crate::Tag), `extend_lease`,
            /// the limits...).
            pub fn queue(&self) -> &AckQueue<T> {
                &self.queue
            }

            /// Whether the queue is closed: every handle of one side was
            /// dropped, or [`Publisher::close`] was called.
            pub fn is_closed(&self) -> bool {
                self.queue.is_closed()
            }

            /// Hands back, settled, every unsettled message no live
            /// delivery holds (see [`AckQueue::drain`]). Call it once the
            /// queue is closed: after the last handle of the other side is
            /// gone, or after [`Publisher::close`].
            ///
            /// # Examples
            ///
            /// ```
            /// use ackring::AckQueue;
            ///
            /// let (publisher, worker) = AckQueue::builder().build_handles().unwrap();
            /// publisher.publish(1).unwrap();
            /// publisher.publish(2).unwrap();
            /// let d = worker.try_receive_owned().unwrap();
            /// drop(worker); // the last worker; `d` still holds message 1
            /// d.nack(true).unwrap(); // requeued: nobody will receive it
            /// let mut left = publisher.drain();
            /// left.sort();
            /// assert_eq!(left, [1, 2]);
            /// ```
            pub fn drain(&self) -> Vec<T> {
                self.queue.drain()
            }

            /// The queue's counters (see [`AckQueue::stats`]).
            pub fn stats(&self) -> Stats {
                self.queue.stats()
            }

            /// The queue's latency histograms, if it records them (see
            /// [`AckQueue::latency`]).
            pub fn latency(&self) -> Option<LatencySnapshot> {
                self.queue.latency()
            }

            /// How many [`Publisher`]s of this queue are alive: a snapshot.
            pub fn publisher_count(&self) -> usize {
                self.sides.publishers.get()
            }

            /// How many [`Worker`]s of this queue are alive: a snapshot.
            pub fn worker_count(&self) -> usize {
                self.sides.workers.get()
            }
        }

        impl<T> fmt::Debug for $handle<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($handle))
                    .field("queue", &self.queue)
                    .field("publishers", &self.sides.publishers)
                    .field("workers", &self.sides.workers)
                    .finish()
            }
        }
    };
}

common!(Publisher);
common!(Worker);

impl<T> Clone for Publisher<T> {
    /// Another publisher of the same queue; the queue stays open for the
    /// workers until every publisher is dropped.
    fn clone(&self) -> Self {
        self.sides.publishers.add();
        Publisher {
            queue: Arc::clone(&self.queue),
            sides: Arc::clone(&self.sides),
        }
    }
}

impl<T> Clone for Worker<T> {
    /// Another worker of the same queue; publishes succeed until every
    /// worker is dropped.
    fn clone(&self) -> Self {
        self.sides.workers.add();
        Worker {
            queue: Arc::clone(&self.queue),
            sides: Arc::clone(&self.sides),
        }
    }
}

impl<T> Drop for Publisher<T> {
    /// The last publisher closes the queue: workers receive what is left,
    /// then see it closed; those waiting are woken.
    fn drop(&mut self) {
        if self.sides.publishers.remove() {
            self.queue.close();
        }
    }
}

impl<T> Drop for Worker<T> {
    /// The last worker closes the queue: publishes are refused with their
    /// message (those waiting are woken), and what is unsettled stays for
    /// [`Publisher::drain`].
    fn drop(&mut self) {
        if self.sides.workers.remove() {
            self.queue.close();
        }
    }
}

impl<T> Publisher<T> {
    /// Publishes `msg` if there is room, without waiting (see
    /// [`AckQueue::try_publish`]).
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] while `capacity` messages wait for their
    /// first delivery; [`PushError::Closed`] once every worker is gone
    /// (or the queue was closed). Either holds `msg`.
    pub fn try_publish(&self, msg: T) -> Result<Seq, PushError<T>> {
        self.queue.try_publish(msg)
    }

    /// Publishes `msg`, waiting for room (see [`AckQueue::publish`]).
    ///
    /// # Errors
    ///
    /// [`PushError::Closed`], with `msg`, once every worker is gone (or
    /// the queue was closed), also while the call waits: the last worker's
    /// drop wakes it.
    pub fn publish(&self, msg: T) -> Result<Seq, PushError<T>> {
        self.queue.publish(msg)
    }

    /// Publishes `msg`, waiting for room without blocking the thread (see
    /// [`AckQueue::publish_async`]). Not cancel safe for the message.
    pub fn publish_async(&self, msg: T) -> PublishFuture<'_, T> {
        self.queue.publish_async(msg)
    }

    /// Publishes `msg` with a time to live of `ttl`, without waiting (see
    /// [`AckQueue::try_publish_with_ttl`]).
    ///
    /// # Errors
    ///
    /// As [`try_publish`](Publisher::try_publish).
    pub fn try_publish_with_ttl(&self, msg: T, ttl: Duration) -> Result<Seq, PushError<T>> {
        self.queue.try_publish_with_ttl(msg, ttl)
    }

    /// Publishes `msg` with a time to live of `ttl`, waiting for room (see
    /// [`AckQueue::publish_with_ttl`]).
    ///
    /// # Errors
    ///
    /// As [`publish`](Publisher::publish).
    pub fn publish_with_ttl(&self, msg: T, ttl: Duration) -> Result<Seq, PushError<T>> {
        self.queue.publish_with_ttl(msg, ttl)
    }

    /// Publishes `msg` once `delay` has passed, without waiting for a
    /// place (see [`AckQueue::try_publish_after`]).
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] while `delay_capacity` delayed messages
    /// wait; [`PushError::Closed`] once every worker is gone (or the
    /// queue was closed). Either holds `msg`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (publisher, worker) = ackring::AckQueue::builder()
    ///     .delay_capacity(8)
    ///     .build_handles()
    ///     .unwrap();
    /// publisher.try_publish_after(1, Duration::from_millis(1)).unwrap();
    /// worker.receive().unwrap().ack().unwrap();
    /// ```
    pub fn try_publish_after(&self, msg: T, delay: Duration) -> Result<(), PushError<T>> {
        self.queue.try_publish_after(msg, delay)
    }

    /// Publishes `msg` once `delay` has passed, waiting for a place (see
    /// [`AckQueue::publish_after`]).
    ///
    /// # Errors
    ///
    /// [`PushError::Closed`], with `msg`, once every worker is gone (or
    /// the queue was closed).
    pub fn publish_after(&self, msg: T, delay: Duration) -> Result<(), PushError<T>> {
        self.queue.publish_after(msg, delay)
    }

    /// Publishes `msg` once `delay` has passed, waiting for a place
    /// without blocking the thread (see [`AckQueue::publish_after_async`]).
    /// Not cancel safe for the message.
    pub fn publish_after_async(&self, msg: T, delay: Duration) -> PublishLaterFuture<'_, T> {
        self.queue.publish_after_async(msg, delay)
    }

    /// Publishes `msg` when the queue's clock reads `at`, without waiting
    /// for a place (see [`AckQueue::try_publish_at`]).
    ///
    /// # Errors
    ///
    /// As [`try_publish_after`](Publisher::try_publish_after).
    pub fn try_publish_at(&self, msg: T, at: Duration) -> Result<(), PushError<T>> {
        self.queue.try_publish_at(msg, at)
    }

    /// Publishes `msg` when the queue's clock reads `at`, waiting for a
    /// place (see [`AckQueue::publish_at`]).
    ///
    /// # Errors
    ///
    /// As [`publish_after`](Publisher::publish_after).
    pub fn publish_at(&self, msg: T, at: Duration) -> Result<(), PushError<T>> {
        self.queue.publish_at(msg, at)
    }

    /// Closes the queue now, as dropping the last publisher does: publishes
    /// fail from then on, workers receive what is left, then see it
    /// closed. Idempotent. The handle stays usable for
    /// [`drain`](Publisher::drain) and the confirmations.
    pub fn close(&self) {
        self.queue.close();
    }

    /// Whether the message `seq` names is settled (see
    /// [`AckQueue::is_settled`]).
    pub fn is_settled(&self, seq: Seq) -> bool {
        self.queue.is_settled(seq)
    }

    /// Waits up to `timeout` until the message `seq` names is settled;
    /// returns whether it was (see [`AckQueue::wait_settled`]).
    pub fn wait_settled(&self, seq: Seq, timeout: Duration) -> bool {
        self.queue.wait_settled(seq, timeout)
    }

    /// Waits until the message `seq` names is settled, without blocking
    /// the thread (see [`AckQueue::wait_settled_async`]).
    pub fn wait_settled_async(&self, seq: Seq) -> SettledFuture<'_, T> {
        self.queue.wait_settled_async(seq)
    }

    /// The watermark: every message with a lower sequence number is
    /// settled (see [`AckQueue::settled_below`]).
    pub fn settled_below(&self) -> Seq {
        self.queue.settled_below()
    }

    /// Waits up to `timeout` until `seq` and every message before it are
    /// settled; returns whether they were (see
    /// [`AckQueue::wait_settled_through`]).
    pub fn wait_settled_through(&self, seq: Seq, timeout: Duration) -> bool {
        self.queue.wait_settled_through(seq, timeout)
    }

    /// Waits until `seq` and every message before it are settled, without
    /// blocking the thread (see [`AckQueue::wait_settled_through_async`]).
    pub fn wait_settled_through_async(&self, seq: Seq) -> SettledFuture<'_, T> {
        self.queue.wait_settled_through_async(seq)
    }
}

impl<T> Worker<T> {
    /// Takes a delivery if one is ready and the prefetch limit allows,
    /// without waiting (see [`AckQueue::try_receive`]).
    pub fn try_receive(&self) -> Option<Delivery<'_, T>> {
        self.queue.try_receive()
    }

    /// Waits for a delivery (see [`AckQueue::receive`]).
    ///
    /// # Errors
    ///
    /// [`Closed`] once every publisher is gone (or the queue was closed)
    /// and nothing is left to receive; the last publisher's drop wakes a
    /// waiting call.
    pub fn receive(&self) -> Result<Delivery<'_, T>, Closed> {
        self.queue.receive()
    }

    /// Waits up to `timeout` for a delivery; `Ok(None)` if none came (see
    /// [`AckQueue::receive_timeout`]).
    ///
    /// # Errors
    ///
    /// As [`receive`](Worker::receive).
    pub fn receive_timeout(&self, timeout: Duration) -> Result<Option<Delivery<'_, T>>, Closed> {
        self.queue.receive_timeout(timeout)
    }

    /// Takes a delivery without waiting, as
    /// [`try_receive`](Worker::try_receive), owned: it holds the queue
    /// and can move to another thread or task (see [`OwnedDelivery`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let (publisher, worker) = ackring::AckQueue::builder().build_handles().unwrap();
    /// publisher.publish(String::from("job")).unwrap();
    /// let d = worker.try_receive_owned().unwrap();
    /// std::thread::spawn(move || d.ack().unwrap()).join().unwrap();
    /// ```
    pub fn try_receive_owned(&self) -> Option<OwnedDelivery<T>> {
        AckQueue::try_receive_owned(&self.queue)
    }

    /// Waits for a delivery, as [`receive`](Worker::receive), owned.
    ///
    /// # Errors
    ///
    /// As [`receive`](Worker::receive).
    pub fn receive_owned(&self) -> Result<OwnedDelivery<T>, Closed> {
        AckQueue::receive_owned(&self.queue)
    }

    /// Waits up to `timeout` for a delivery, as
    /// [`receive_timeout`](Worker::receive_timeout), owned.
    ///
    /// # Errors
    ///
    /// As [`receive`](Worker::receive).
    pub fn receive_owned_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<OwnedDelivery<T>>, Closed> {
        AckQueue::receive_owned_timeout(&self.queue, timeout)
    }

    /// Appends to `out` up to `max` deliveries that are ready, without
    /// waiting; returns how many (see [`AckQueue::try_receive_batch`]).
    pub fn try_receive_batch<'q>(&'q self, max: usize, out: &mut Vec<Delivery<'q, T>>) -> usize {
        self.queue.try_receive_batch(max, out)
    }

    /// Waits for a delivery, then appends to `out` what is ready, up to
    /// `max`; returns how many (see [`AckQueue::receive_batch`]).
    ///
    /// # Errors
    ///
    /// As [`receive`](Worker::receive).
    pub fn receive_batch<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<Delivery<'q, T>>,
    ) -> Result<usize, Closed> {
        self.queue.receive_batch(max, out)
    }

    /// Waits up to `timeout` for a delivery, then appends to `out` what is
    /// ready, up to `max`; returns how many, 0 if none came (see
    /// [`AckQueue::receive_batch_timeout`]).
    ///
    /// # Errors
    ///
    /// As [`receive`](Worker::receive).
    pub fn receive_batch_timeout<'q>(
        &'q self,
        max: usize,
        out: &mut Vec<Delivery<'q, T>>,
        timeout: Duration,
    ) -> Result<usize, Closed> {
        self.queue.receive_batch_timeout(max, out, timeout)
    }

    /// Acks every item of `items` (see [`AckQueue::ack_batch`]); returns
    /// how many were acked, and appends to `errors` the index and error
    /// of each that was not.
    pub fn ack_batch<I: IntoIterator<Item: BatchItem>>(
        &self,
        items: I,
        errors: &mut Vec<(usize, AckError)>,
    ) -> usize {
        self.queue.ack_batch(items, errors)
    }

    /// Nacks every item of `items` (see [`AckQueue::nack_batch`]).
    pub fn nack_batch<I: IntoIterator<Item: BatchItem>>(
        &self,
        items: I,
        requeue: bool,
        errors: &mut Vec<(usize, AckError)>,
    ) -> usize {
        self.queue.nack_batch(items, requeue, errors)
    }

    /// Waits for a delivery without blocking the thread (see
    /// [`AckQueue::receive_async`]). Cancel safe.
    pub fn receive_async(&self) -> ReceiveFuture<'_, T> {
        self.queue.receive_async()
    }

    /// Waits for up to `max` deliveries without blocking the thread (see
    /// [`AckQueue::receive_batch_async`]). Cancel safe.
    pub fn receive_batch_async<'q, 'o>(
        &'q self,
        max: usize,
        out: &'o mut Vec<Delivery<'q, T>>,
    ) -> ReceiveBatchFuture<'q, 'o, T> {
        self.queue.receive_batch_async(max, out)
    }

    /// Waits for a delivery without blocking the thread, owned (see
    /// [`AckQueue::receive_owned_async`]). Cancel safe.
    pub fn receive_owned_async(&self) -> ReceiveOwnedFuture<'_, T> {
        AckQueue::receive_owned_async(&self.queue)
    }

    /// Takes the oldest dead letter, settling it (see
    /// [`AckQueue::try_receive_dead_letter`]).
    pub fn try_receive_dead_letter(&self) -> Option<DeadLetter<T>> {
        self.queue.try_receive_dead_letter()
    }

    /// Requeues every delivery whose lease expired; returns how many (see
    /// [`AckQueue::requeue_expired`]).
    pub fn requeue_expired(&self) -> usize {
        self.queue.requeue_expired()
    }

    /// An iterator of deliveries, waiting for each, until every publisher
    /// is gone and nothing is left: a worker's loop. `for d in &worker`
    /// does the same. Each delivery is the worker's to settle; one dropped
    /// unsettled is requeued.
    pub fn iter(&self) -> Deliveries<'_, T> {
        Deliveries { worker: self }
    }
}

/// Deliveries, waiting for each, until every publisher is gone and
/// nothing is left: [`Worker::iter`].
pub struct Deliveries<'a, T> {
    worker: &'a Worker<T>,
}

impl<'a, T> Iterator for Deliveries<'a, T> {
    type Item = Delivery<'a, T>;

    fn next(&mut self) -> Option<Delivery<'a, T>> {
        self.worker.receive().ok()
    }
}

impl<T> fmt::Debug for Deliveries<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Deliveries { .. }")
    }
}

/// Deliveries until every publisher is gone and nothing is left:
/// [`Worker::iter`].
impl<'a, T> IntoIterator for &'a Worker<T> {
    type Item = Delivery<'a, T>;
    type IntoIter = Deliveries<'a, T>;

    fn into_iter(self) -> Deliveries<'a, T> {
        self.iter()
    }
}

/// Owned deliveries, waiting for each, until every publisher is gone and
/// nothing is left; the worker goes with the iterator.
///
/// # Examples
///
/// ```
/// let (publisher, worker) = ackring::AckQueue::<u32>::builder().build_handles().unwrap();
/// let pool = std::thread::spawn(move || {
///     for d in worker {
///         // `d` is an OwnedDelivery: it could be handed to another thread
///         d.ack().unwrap();
///     }
/// });
/// publisher.publish(1).unwrap();
/// drop(publisher);
/// pool.join().unwrap();
/// ```
impl<T> IntoIterator for Worker<T> {
    type Item = OwnedDelivery<T>;
    type IntoIter = OwnedDeliveries<T>;

    fn into_iter(self) -> OwnedDeliveries<T> {
        OwnedDeliveries { worker: self }
    }
}

/// Owned deliveries until every publisher is gone and nothing is left:
/// see `IntoIterator for Worker`.
pub struct OwnedDeliveries<T> {
    worker: Worker<T>,
}

impl<T> Iterator for OwnedDeliveries<T> {
    type Item = OwnedDelivery<T>;

    fn next(&mut self) -> Option<OwnedDelivery<T>> {
        self.worker.receive_owned().ok()
    }
}

impl<T> fmt::Debug for OwnedDeliveries<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedDeliveries")
            .field("worker", &self.worker)
            .finish()
    }
}

#[cfg(feature = "stream")]
pub use stream::WorkerStream;

#[cfg(feature = "stream")]
mod stream {
    use core::pin::Pin;
    use core::task::{Context, Poll};

    use pin_project_lite::pin_project;

    use super::*;
    use crate::ack::DeliveryStream;
    use crate::future::{NoTimer, Timer};

    pin_project! {
        /// A [`Stream`](futures_core::Stream) of owned deliveries that
        /// holds a [`Worker`]: [`Worker::deliveries`]. It ends once every
        /// publisher is gone and nothing is left to receive. Cancel safe
        /// between items.
        #[must_use = "streams do nothing unless polled"]
        pub struct WorkerStream<T, S: Timer = NoTimer> {
            #[pin]
            stream: DeliveryStream<T, S>,
            // Keeps the queue open for the publishers while the stream
            // lives.
            worker: Worker<T>,
        }
    }

    impl<T> Worker<T> {
        /// The queue's deliveries as a [`Stream`](futures_core::Stream) of
        /// owned deliveries, until every publisher is gone and nothing is
        /// left (see [`AckQueue::deliveries`]).
        ///
        /// The stream holds a clone of this worker, so the queue stays open
        /// for publishers while it lives. Give it a timer
        /// ([`WorkerStream::with_timer`]) when leases or delayed requeues
        /// are in use.
        ///
        /// # Examples
        ///
        /// ```
        /// use futures::StreamExt;
        ///
        /// let (publisher, worker) = ackring::AckQueue::builder().build_handles().unwrap();
        /// let stream = worker.deliveries();
        /// drop(worker); // the stream holds a worker of its own
        /// publisher.publish(5).unwrap();
        /// drop(publisher);
        /// futures::executor::block_on(async {
        ///     let mut stream = std::pin::pin!(stream);
        ///     let mut sum = 0;
        ///     while let Some(d) = stream.next().await {
        ///         sum += *d;
        ///         d.ack().unwrap();
        ///     }
        ///     assert_eq!(sum, 5);
        /// });
        /// ```
        pub fn deliveries(&self) -> WorkerStream<T> {
            WorkerStream {
                stream: AckQueue::deliveries(&self.queue),
                worker: self.clone(),
            }
        }
    }

    impl<T, S: Timer> WorkerStream<T, S> {
        /// As the receive futures' `with_timer`
        /// ([`ReceiveFuture::with_timer`]).
        pub fn with_timer<S2: Timer>(self, timer: S2) -> WorkerStream<T, S2> {
            WorkerStream {
                stream: self.stream.with_timer(timer),
                worker: self.worker,
            }
        }
    }

    impl<T, S: Timer> futures_core::Stream for WorkerStream<T, S> {
        type Item = OwnedDelivery<T>;

        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.project().stream.poll_next(cx)
        }
    }

    impl<T, S: Timer> fmt::Debug for WorkerStream<T, S> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("WorkerStream")
                .field("worker", &self.worker)
                .finish_non_exhaustive()
        }
    }
}
