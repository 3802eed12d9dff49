//! A [`Ring`] as a channel: [`Sender`] and [`Receiver`] handles that
//! disconnect when the last of a side is dropped, in the shape of
//! crossbeam-channel's `bounded`, flume's and tokio's `mpsc`.
//!
//! [`bounded`] (or [`Ring::into_channel`], for a ring built with another
//! [`WaitStrategy`](crate::WaitStrategy)) puts the ring in one shared block
//! with a count of each side's handles; every call of a handle is the
//! ring's own call, so a handle costs what the ring costs. Both handles
//! are `Clone`, `Send` and `Sync` (for `T: Send`), and nothing is
//! allocated after the shared block.
//!
//! # Disconnection
//!
//! - When the **last [`Sender`]** is dropped, the ring is
//!   [closed](Ring::close): receivers take every item sent before, then
//!   see the channel closed ([`recv`](Receiver::recv) returns
//!   [`Closed`](crate::Closed), `for item in &receiver` ends, the stream
//!   ends). A receiver waiting at that moment, under any wait strategy or
//!   in a future, is woken.
//! - When the **last [`Receiver`]** is dropped, the ring is closed and the
//!   items still in it are dropped (on the dropping thread): every send
//!   from then on hands its value back
//!   ([`PushError::Closed`](crate::PushError::Closed)), and a sender
//!   waiting for room is woken with its value.
//! - Handles of both sides may be cloned and dropped on any threads in any
//!   order; only the last of a side closes. The shared block, and any item
//!   still in it, goes with the last handle of either side.
//!
//! The errors are the ring's: a channel is closed once either side is
//! gone, and the calls report it as a closed ring's do.
//!
//! | crossbeam-channel | tokio `mpsc` | here |
//! |---|---|---|
//! | `bounded(n)` | `channel(n)` | [`bounded(n)`](bounded) (capacity 0 panics: there is no rendezvous channel) |
//! | `send(v)`, `Err(SendError(v))` | `blocking_send(v)` | [`send(v)`](Sender::send), `Err(PushError::Closed(v))` |
//! | `try_send`, `TrySendError::{Full, Disconnected}` | `try_send`, `TrySendError::{Full, Closed}` | [`try_send`](Sender::try_send), `PushError::{Full, Closed}` |
//! | `send_timeout`, `SendTimeoutError::{Timeout, Disconnected}` | – | [`send_timeout`](Sender::send_timeout), `PushError::{Full, Closed}` |
//! | – | `send(v).await` | [`send_async(v).await`](Sender::send_async) |
//! | `recv()`, `Err(RecvError)` | `blocking_recv()`, `None` | [`recv()`](Receiver::recv), `Err(Closed)` |
//! | `try_recv`, `TryRecvError::{Empty, Disconnected}` | `try_recv`, `TryRecvError::{Empty, Disconnected}` | [`try_recv`](Receiver::try_recv), `PopError::{Empty, Closed}` |
//! | `recv_timeout`, `RecvTimeoutError::{Timeout, Disconnected}` | – | [`recv_timeout`](Receiver::recv_timeout), `PopError::{Empty, Closed}` |
//! | – | `recv().await`, `None` | [`recv_async().await`](Receiver::recv_async), `Err(Closed)` |
//! | – | `recv_many(&mut buf, n)` | [`try_recv_batch(&mut buf, n)`](Receiver::try_recv_batch) |
//! | `iter()`, `try_iter()`, `into_iter()` | – | [`iter()`](Receiver::iter), [`try_iter()`](Receiver::try_iter), `into_iter()` |
//! | – | `ReceiverStream::new(rx)` | [`stream()`](Receiver::stream), [`into_stream()`](Receiver::into_stream) (feature `stream`) |
//!
//! # Examples
//!
//! A consumer loop that ends by itself once every producer is done:
//!
//! ```
//! use ackring::channel;
//!
//! let (tx, rx) = channel::bounded(64);
//! let producers: Vec<_> = (0..4_u64)
//!     .map(|p| {
//!         let tx = tx.clone();
//!         std::thread::spawn(move || {
//!             for i in 0..1000 {
//!                 tx.send(p * 1000 + i).unwrap();
//!             }
//!         }) // this clone of `tx` is dropped when the thread ends
//!     })
//!     .collect();
//! drop(tx); // only the producers' clones are left
//! let sum: u64 = rx.iter().sum(); // ends when the last clone is dropped
//! assert_eq!(sum, (0..4000).sum());
//! for p in producers {
//!     p.join().unwrap();
//! }
//! ```

mod count;
mod future;
mod receiver;
mod sender;

use core::fmt;

use crate::ring::Ring;
use crate::sync::Arc;

pub(crate) use count::HandleCount;
#[cfg(feature = "stream")]
pub use future::RecvStream;
pub use receiver::IntoIter;

/// The block both sides share: the ring and the count of each side's
/// handles.
struct Shared<T> {
    ring: Ring<T>,
    senders: HandleCount,
    receivers: HandleCount,
}

/// The sending side of a channel: a handle of the ring that items are sent
/// into. Clone it for each producer; when the last clone is dropped, the
/// channel is closed for the receivers once they have taken what is left
/// (module docs, "Disconnection").
///
/// # Examples
///
/// ```
/// use ackring::{channel, PushError};
///
/// let (tx, rx) = channel::bounded(1);
/// tx.send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(PushError::Full(2)));
/// drop(rx);
/// assert_eq!(tx.send(3), Err(PushError::Closed(3))); // nobody listens
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving side of a channel: a handle of the ring that items are
/// received from. Clone it for each consumer (each item goes to one of
/// them); when the last clone is dropped, the channel is closed and sends
/// hand their value back (module docs, "Disconnection").
///
/// # Examples
///
/// ```
/// use ackring::channel;
///
/// let (tx, rx) = channel::bounded(4);
/// std::thread::spawn(move || {
///     for i in 1..=3 {
///         tx.send(i).unwrap();
///     }
/// });
/// let got: Vec<i32> = rx.iter().collect(); // ends when `tx` is dropped
/// assert_eq!(got, [1, 2, 3]);
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A channel of capacity `capacity` with the default wait strategy
/// ([`WaitStrategy::Park`](crate::WaitStrategy::Park): a blocked call
/// spins a few microseconds, then sleeps until woken): its sending and
/// receiving handles. [`Ring::into_channel`] makes one of any ring.
///
/// # Panics
///
/// If `capacity` is 0 (a ring holds at least one item: there is no
/// rendezvous channel) or too large to allocate;
/// `Ring::try_new(capacity)?.into_channel()` returns the
/// [`CapacityError`](crate::CapacityError) instead.
///
/// # Examples
///
/// ```
/// let (tx, rx) = ackring::channel::bounded(8);
/// tx.send("hello").unwrap();
/// drop(tx);
/// assert_eq!(rx.recv(), Ok("hello"));
/// assert!(rx.recv().is_err()); // closed: every sender is gone
/// ```
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    Ring::new(capacity).into_channel()
}

impl<T> Ring<T> {
    /// This ring as a channel: its sending and receiving handles, which
    /// close it when the last of either side is dropped (module
    /// [`channel`](crate::channel)). Items already in the ring are
    /// received first. Allocates the block the handles share; nothing
    /// after.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{Ring, WaitStrategy};
    ///
    /// let (tx, rx) = Ring::with_wait_strategy(16, WaitStrategy::Spin).into_channel();
    /// tx.send(1_u8).unwrap();
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn into_channel(self) -> (Sender<T>, Receiver<T>) {
        let shared = Arc::new(Shared {
            ring: self,
            senders: HandleCount::one(),
            receivers: HandleCount::one(),
        });
        let receiver = Receiver {
            shared: Arc::clone(&shared),
        };
        (Sender { shared }, receiver)
    }
}

/// The calls both handles have.
macro_rules! common {
    ($handle:ident) => {
        impl<T> $handle<T> {
            /// The ring both sides share.
            #[inline(always)]
            fn ring(&self) -> &Ring<T> {
                &self.shared.ring
            }

            /// The most items the channel holds at once.
            pub fn capacity(&self) -> usize {
                self.ring().capacity()
            }

            /// The number of items in the channel: a snapshot (see
            /// [`Ring::len`]).
            pub fn len(&self) -> usize {
                self.ring().len()
            }

            /// Whether the channel holds no items: a snapshot.
            pub fn is_empty(&self) -> bool {
                self.ring().is_empty()
            }

            /// Whether the channel holds `capacity` items: a snapshot.
            pub fn is_full(&self) -> bool {
                self.ring().is_full()
            }

            /// Whether the channel is closed: every handle of one side
            /// was dropped. Sends fail from then on; receives take what is
            /// left, then fail.
            pub fn is_closed(&self) -> bool {
                self.ring().is_closed()
            }

            /// How many [`Sender`]s of this channel are alive: a snapshot.
            pub fn sender_count(&self) -> usize {
                self.shared.senders.get()
            }

            /// How many [`Receiver`]s of this channel are alive: a snapshot.
            pub fn receiver_count(&self) -> usize {
                self.shared.receivers.get()
            }

            /// Whether `other` is a handle of the same channel.
            pub fn same_channel(&self, other: &$handle<T>) -> bool {
                Arc::ptr_eq(&self.shared, &other.shared)
            }
        }

        impl<T> fmt::Debug for $handle<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($handle))
                    .field("capacity", &self.capacity())
                    .field("len", &self.len())
                    .field("closed", &self.is_closed())
                    .field("senders", &self.shared.senders)
                    .field("receivers", &self.shared.receivers)
                    .finish()
            }
        }
    };
}

common!(Sender);
common!(Receiver);

impl<T> Clone for Sender<T> {
    /// Another sender of the same channel; the channel stays open for the
    /// receivers until every sender is dropped.
    fn clone(&self) -> Self {
        self.shared.senders.add();
        Sender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Clone for Receiver<T> {
    /// Another receiver of the same channel (each item goes to one
    /// receiver); sends succeed until every receiver is dropped.
    fn clone(&self) -> Self {
        self.shared.receivers.add();
        Receiver {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Sender<T> {
    /// The last sender closes the channel: receivers take what is left,
    /// then see it closed; those waiting are woken.
    fn drop(&mut self) {
        if self.shared.senders.remove() {
            self.ring().close();
        }
    }
}

impl<T> Drop for Receiver<T> {
    /// The last receiver closes the channel, waking the senders that wait
    /// for room (their values come back to them), and drops the items
    /// left in it. A send that claimed its place before the close is
    /// waited for and its item dropped too. An item whose `Drop` panics
    /// stops the draining; the panic propagates, and the items after it
    /// are dropped with the shared block.
    fn drop(&mut self) {
        if self.shared.receivers.remove() {
            let ring = self.ring();
            ring.close();
            while let Ok(item) = ring.try_recv() {
                drop(item);
            }
        }
    }
}
