//! [`Receiver`]'s calls and iterators: each is the ring's call of the
//! same family, which reports a closed ring, once drained, as the
//! channel's disconnection.

use core::fmt;
use core::iter::FusedIterator;
use core::time::Duration;

use super::Receiver;
use crate::error::{Closed, PopError};
use crate::ring::{Iter, TryIter};

impl<T> Receiver<T> {
    /// Takes the oldest item, if any, without waiting.
    ///
    /// # Errors
    ///
    /// [`PopError::Empty`] while the channel is empty and some sender is
    /// alive; [`PopError::Closed`] once every sender is gone and every
    /// item they sent has been taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{channel, PopError};
    ///
    /// let (tx, rx) = channel::bounded(2);
    /// assert_eq!(rx.try_recv(), Err(PopError::Empty));
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1)); // what was sent comes first
    /// assert_eq!(rx.try_recv(), Err(PopError::Closed));
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, PopError> {
        self.ring().try_recv()
    }

    /// Takes the oldest item, waiting for one with the ring's wait
    /// strategy.
    ///
    /// # Errors
    ///
    /// [`Closed`] once every sender is gone and every item they sent has
    /// been taken (also while the call waits: the last sender's drop
    /// wakes it).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ackring::channel::bounded(4);
    /// let producer = std::thread::spawn(move || tx.send(7).unwrap());
    /// assert_eq!(rx.recv(), Ok(7));
    /// producer.join().unwrap(); // `tx` dropped
    /// assert!(rx.recv().is_err());
    /// ```
    #[inline]
    pub fn recv(&self) -> Result<T, Closed> {
        self.ring().recv()
    }

    /// Takes the oldest item, waiting at most `timeout` for one.
    ///
    /// # Errors
    ///
    /// [`PopError::Empty`] if nothing came within `timeout`;
    /// [`PopError::Closed`] once every sender is gone and the channel is
    /// drained (also while the call waits).
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{channel, PopError};
    /// use std::time::Duration;
    ///
    /// let (tx, rx) = channel::bounded::<u8>(1);
    /// let ms = Duration::from_millis(1);
    /// assert_eq!(rx.recv_timeout(ms), Err(PopError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.recv_timeout(ms), Err(PopError::Closed));
    /// ```
    #[inline]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, PopError> {
        self.ring().recv_timeout(timeout)
    }

    /// Appends up to `max` of the oldest items to `out`, in order, with one
    /// claim, without waiting (see
    /// [`Ring::try_pop_batch`](crate::Ring::try_pop_batch)); returns how
    /// many. Reserves room in `out` for `max` items first: give it that
    /// capacity up front to keep the call allocation-free.
    ///
    /// # Errors
    ///
    /// [`Closed`] once every sender is gone and the channel is drained
    /// (`max` is not 0).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ackring::channel::bounded(8);
    /// for i in 0..3 {
    ///     tx.send(i).unwrap();
    /// }
    /// drop(tx);
    /// let mut out = Vec::with_capacity(8);
    /// assert_eq!(rx.try_recv_batch(&mut out, 8), Ok(3));
    /// assert_eq!(out, [0, 1, 2]);
    /// assert!(rx.try_recv_batch(&mut out, 8).is_err()); // closed, drained
    /// ```
    #[inline]
    pub fn try_recv_batch(&self, out: &mut Vec<T>, max: usize) -> Result<usize, Closed> {
        let ring = self.ring();
        match ring.try_pop_batch(out, max) {
            0 if max != 0 && ring.is_closed() => match ring.try_recv() {
                // A send that claimed its place before the close: the
                // batch missed it, the single call waits for it.
                Ok(item) => {
                    out.push(item);
                    Ok(1)
                }
                Err(PopError::Closed) => Err(Closed),
                Err(PopError::Empty) => Ok(0),
            },
            n => Ok(n),
        }
    }

    /// An iterator that receives items, waiting for each, until every
    /// sender is gone and the channel is drained: a consumer's loop.
    /// `for item in &receiver` does the same.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ackring::channel::bounded(2);
    /// std::thread::spawn(move || {
    ///     for i in 0..5 {
    ///         tx.send(i).unwrap();
    ///     }
    /// });
    /// let mut total = 0;
    /// for i in &rx {
    ///     total += i;
    /// }
    /// assert_eq!(total, 10);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        self.ring().iter()
    }

    /// An iterator that takes the items there are now, without waiting,
    /// and ends at the first empty try.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ackring::channel::bounded(4);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        self.ring().try_iter()
    }
}

/// Receives items, waiting for them, until every sender is gone and the
/// channel is drained: [`Receiver::iter`].
impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// Receives items, waiting for them, until every sender is gone and the
/// channel is drained; the receiver goes with the iterator.
///
/// # Examples
///
/// ```
/// let (tx, rx) = ackring::channel::bounded(4);
/// let consumer = std::thread::spawn(move || rx.into_iter().count());
/// for i in 0..100 {
///     tx.send(i).unwrap();
/// }
/// drop(tx);
/// assert_eq!(consumer.join().unwrap(), 100);
/// ```
impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { receiver: self }
    }
}

/// A receiver as an iterator: see `IntoIterator for Receiver`.
pub struct IntoIter<T> {
    receiver: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

/// Once every sender is gone and the channel drained, nothing more comes.
impl<T> FusedIterator for IntoIter<T> {}

impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("receiver", &self.receiver)
            .finish()
    }
}
