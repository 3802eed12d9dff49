//! [`Sender`]'s calls: each is the ring's call of the same family, which
//! reports a closed ring as the channel's disconnection.

use core::time::Duration;

use super::Sender;
use crate::error::{Closed, PushError};

impl<T> Sender<T> {
    /// Sends `value` if the channel has room, without waiting.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] when the channel is full;
    /// [`PushError::Closed`] once every receiver is gone. Either holds
    /// `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{channel, PushError};
    ///
    /// let (tx, rx) = channel::bounded(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(PushError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(PushError::Closed(3)));
    /// ```
    #[inline]
    pub fn try_send(&self, value: T) -> Result<(), PushError<T>> {
        self.ring().try_send(value)
    }

    /// Sends `value`, waiting for room with the ring's wait strategy.
    ///
    /// # Errors
    ///
    /// [`PushError::Closed`], holding `value`, once every receiver is gone,
    /// also while the call waits (never [`PushError::Full`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ackring::channel::bounded(1);
    /// std::thread::spawn(move || {
    ///     for i in 0..10 {
    ///         tx.send(i).unwrap(); // waits while the channel is full
    ///     }
    /// });
    /// assert_eq!(rx.iter().sum::<i32>(), 45);
    /// ```
    #[inline]
    pub fn send(&self, value: T) -> Result<(), PushError<T>> {
        self.ring().send(value)
    }

    /// Sends `value`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] if there was no room within `timeout`;
    /// [`PushError::Closed`] once every receiver is gone (also while the
    /// call waits). Either holds `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{channel, PushError};
    /// use std::time::Duration;
    ///
    /// let (tx, _rx) = channel::bounded(1);
    /// let ms = Duration::from_millis(1);
    /// assert_eq!(tx.send_timeout(1, ms), Ok(()));
    /// assert_eq!(tx.send_timeout(2, ms), Err(PushError::Full(2)));
    /// ```
    #[inline]
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), PushError<T>> {
        self.ring().send_timeout(value, timeout)
    }

    /// Moves as many items as fit from the front of `items` into the
    /// channel, in order, with one claim (see
    /// [`Ring::try_push_batch`](crate::Ring::try_push_batch)); returns how
    /// many moved. The rest stay in `items`.
    ///
    /// # Errors
    ///
    /// [`Closed`] once every receiver is gone and `items` is not empty;
    /// `items` is left as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ackring::channel::bounded(2);
    /// let mut items = vec![1, 2, 3];
    /// assert_eq!(tx.try_send_batch(&mut items), Ok(2));
    /// assert_eq!(items, [3]);
    /// drop(rx);
    /// assert!(tx.try_send_batch(&mut items).is_err());
    /// assert_eq!(items, [3]); // nothing lost
    /// ```
    #[inline]
    pub fn try_send_batch(&self, items: &mut Vec<T>) -> Result<usize, Closed> {
        match self.ring().try_push_batch(items) {
            0 if !items.is_empty() && self.is_closed() => Err(Closed),
            n => Ok(n),
        }
    }
}
