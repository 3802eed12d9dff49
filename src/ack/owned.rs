//! Owned deliveries: [`OwnedDelivery`], a delivery that keeps its queue
//! alive through an `Arc` instead of borrowing it, and the receive calls
//! on `&Arc<AckQueue<T>>` that hand them out. An owned delivery is
//! `'static`, so it can be moved to another thread, a thread pool or a
//! spawned task.
//!
//! An owned delivery is a borrowed one whose `&AckQueue<T>` was traded for
//! an `Arc` clone. The receive is the borrowed receive's. The guard's API
//! is `delivery_api!` (`delivery.rs`), written once for both forms, so both
//! keep the same guarantees. The clone is a reference-count increment;
//! nothing is allocated.
//!
//! # The last handle
//!
//! An owned delivery may outlive every other `Arc` of its queue. Dropping
//! it unsettled then runs, in order:
//!
//! 1. its `Drop`, which requeues the message;
//! 2. the drop of its `Arc` field, after `Drop::drop`, which drops the
//!    queue;
//! 3. the queue's `Drop`, which drops the requeued message and every other
//!    value still there, each once.
//!
//! The `Arc`'s Release decrement and the Acquire fence of its last drop
//! make every other handle's use of the queue happen-before that drop.

use super::delivery::delivery_api;
use super::{AckQueue, Delivery};
use crate::error::Closed;
use crate::sync::Arc;
use core::time::Duration;

/// A received message, tracked until it is settled, that holds its queue
/// by an `Arc`: the owned form of [`Delivery`].
///
/// It is `Send + 'static` when `T: Send + Sync`, to hand to another
/// thread, a thread pool or a spawned task. Received with
/// [`AckQueue::try_receive_owned`],
/// [`receive_owned`](AckQueue::receive_owned) and
/// [`receive_owned_timeout`](AckQueue::receive_owned_timeout).
///
/// Its API and guarantees are [`Delivery`]'s. It derefs to the message.
/// Settle it with [`ack`](OwnedDelivery::ack),
/// [`nack`](OwnedDelivery::nack) or
/// [`nack_after`](OwnedDelivery::nack_after), or hand it off with
/// [`detach`](OwnedDelivery::detach). Dropping it unsettled (including by
/// a panic unwinding on the thread that holds it) requeues the message.
/// When it is the queue's last handle, the message is requeued and then
/// the queue is dropped, with every message still in it.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use ackring::AckQueue;
///
/// let q = Arc::new(AckQueue::builder().build().unwrap());
/// q.try_publish(String::from("hello")).unwrap();
/// let d = q.try_receive_owned().unwrap();
/// // `d` borrows nothing: it can go to a thread of its own.
/// std::thread::spawn(move || {
///     assert_eq!(d.len(), 5); // derefs to the String
///     d.ack().unwrap();
/// })
/// .join()
/// .unwrap();
/// assert_eq!(q.stats().acked, 1);
/// ```
#[must_use = "a delivery dropped without ack or nack is requeued"]
pub struct OwnedDelivery<T> {
    pub(crate) queue: Arc<AckQueue<T>>,
    /// As in [`Delivery`].
    pub(crate) index: u32,
    pub(crate) count: u32,
}

delivery_api!(OwnedDelivery, Arc<AckQueue<T>>);

impl<T> OwnedDelivery<T> {
    /// Takes over `delivery`'s place among its entry's holders, with a
    /// handle to `queue`, the queue it came from.
    #[inline(always)]
    pub(super) fn adopt(delivery: Delivery<'_, T>, queue: &Arc<AckQueue<T>>) -> Self {
        debug_assert!(core::ptr::eq(delivery.queue, &**queue));
        // The place among the holders is `owned`'s now: the borrowed guard
        // is taken apart without its drop.
        let (_, index, count) = delivery.into_parts();
        OwnedDelivery {
            queue: Arc::clone(queue),
            index,
            count,
        }
    }
}

/// Writes a receive call on `&Arc<AckQueue<T>>` from one body and one set
/// of docs: a method (`self: &Arc<Self>`), or under loom, whose `Arc`
/// stable Rust does not accept as a method receiver, an associated
/// function taking the handle first. The call
/// `AckQueue::try_receive_owned(&q)` reads the same under both.
macro_rules! arc_receive {
    (
        $(#[$attr:meta])*
        pub fn $name:ident($q:ident: &Arc<Self> $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty $body:block
    ) => {
        $(#[$attr])*
        #[cfg(not(all(loom, feature = "loom")))]
        pub fn $name(self: &Arc<Self> $(, $arg: $ty)*) -> $ret {
            let $q = self;
            $body
        }

        $(#[$attr])*
        #[cfg(all(loom, feature = "loom"))]
        pub fn $name($q: &Arc<Self> $(, $arg: $ty)*) -> $ret $body
    };
}

pub(super) use arc_receive;

impl<T> AckQueue<T> {
    arc_receive! {
        /// Takes a delivery if one is ready and the prefetch limit allows,
        /// without waiting, as [`try_receive`](AckQueue::try_receive), and
        /// hands it out owned. The delivery keeps a clone of the `Arc`, so
        /// it can be moved to another thread, a pool or a task.
        ///
        /// # Examples
        ///
        /// ```
        /// use std::sync::Arc;
        ///
        /// let q = Arc::new(ackring::AckQueue::builder().build().unwrap());
        /// q.try_publish(7_u64).unwrap();
        /// let d = q.try_receive_owned().unwrap();
        /// let worker = std::thread::spawn(move || {
        ///     let v = *d;
        ///     drop(d); // unsettled: requeued
        ///     v
        /// });
        /// assert_eq!(worker.join().unwrap(), 7);
        /// let again = q.try_receive_owned().unwrap();
        /// assert_eq!(again.delivery_count(), 2);
        /// again.ack().unwrap();
        /// ```
        #[inline(always)]
        pub fn try_receive_owned(queue: &Arc<Self>) -> Option<OwnedDelivery<T>> {
            queue.try_receive().map(|d| OwnedDelivery::adopt(d, queue))
        }
    }

    arc_receive! {
        /// Waits for a delivery, as [`receive`](AckQueue::receive), and
        /// hands it out owned (see
        /// [`try_receive_owned`](AckQueue::try_receive_owned)).
        ///
        /// # Errors
        ///
        /// As [`receive`](AckQueue::receive): [`Closed`] once the queue is
        /// closed and nothing is left to receive.
        pub fn receive_owned(queue: &Arc<Self>) -> Result<OwnedDelivery<T>, Closed> {
            queue.receive().map(|d| OwnedDelivery::adopt(d, queue))
        }
    }

    arc_receive! {
        /// Waits up to `timeout` (real time) for a delivery, as
        /// [`receive_timeout`](AckQueue::receive_timeout), and hands it
        /// out owned (see
        /// [`try_receive_owned`](AckQueue::try_receive_owned)); `Ok(None)`
        /// if none came.
        ///
        /// # Errors
        ///
        /// As [`receive`](AckQueue::receive).
        pub fn receive_owned_timeout(
            queue: &Arc<Self>,
            timeout: Duration
        ) -> Result<Option<OwnedDelivery<T>>, Closed> {
            queue
                .receive_timeout(timeout)
                .map(|d| d.map(|d| OwnedDelivery::adopt(d, queue)))
        }
    }
}
