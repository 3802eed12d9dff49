//! Futures of [`Ring`](crate::Ring) and [`AckQueue`](crate::AckQueue), and
//! the `Stream`s of the `stream` feature, gathered in one place; each is
//! defined beside its type. The [`Timer`] of the ack layer's waits is
//! defined here.
//!
//! The library depends on no runtime: the futures run on tokio, smol,
//! async-std or a plain `block_on` alike, and are `Send` when `T: Send`.
//! A waiting future registers in the same wait list as the threads that
//! block on the same queue, through a node it carries itself (a
//! [`WaitSlot`](crate::WaitSlot)): nothing is allocated per wait. A
//! notification wakes only as many waiters as it made items or room for
//! (one per push or pop, every one on close), threads and tasks in the
//! order they began to wait; a woken future that is dropped before it
//! polls again hands its wake-up to the next waiter, so it strands nobody.
//!
//! Each future's documentation says what dropping it does before it
//! resolves. The receiving ones (`recv_async`, `receive_async`, the
//! batch, owned and stream forms) are cancel safe: a value or delivery is
//! taken only in the poll that returns it.

use core::future::Future;
use core::time::Duration;

pub use crate::ack::{
    PublishFuture, PublishLaterFuture, ReceiveBatchFuture, ReceiveFuture, ReceiveOwnedFuture,
    SettledFuture,
};
pub use crate::ring::{RecvFuture, RoomFuture, SendFuture};

#[cfg(feature = "stream")]
pub use crate::ack::DeliveryStream;

/// A runtime's sleep, for the waits that must look again on their own:
/// an [`AckQueue`](crate::AckQueue) receive while leases or delayed
/// requeues are pending (their expiries notify nobody). Any
/// `FnMut(Duration) -> impl Future<Output = ()>` is one, so
/// `|d| tokio::time::sleep(d)` or `|d| async_io::Timer::after(d)` plugs
/// a runtime in without this crate depending on it.
pub trait Timer {
    /// The future of one sleep.
    type Sleep: Future<Output = ()>;

    /// Whether the waits use this timer at all; `false` only for
    /// [`NoTimer`].
    const TICKS: bool = true;

    /// A sleep of `duration`.
    fn sleep(&mut self, duration: Duration) -> Self::Sleep;
}

impl<F, S> Timer for F
where
    F: FnMut(Duration) -> S,
    S: Future<Output = ()>,
{
    type Sleep = S;

    fn sleep(&mut self, duration: Duration) -> S {
        self(duration)
    }
}

/// No timer (the default): a waiting receive learns of an expired lease
/// or a due requeue at the next notification of its queue.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTimer;

impl Timer for NoTimer {
    type Sleep = core::future::Pending<()>;

    const TICKS: bool = false;

    fn sleep(&mut self, _: Duration) -> Self::Sleep {
        core::future::pending()
    }
}

#[cfg(feature = "stream")]
pub use crate::ring::RingStream;
