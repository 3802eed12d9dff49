//! The blocking calls: each tries, then waits with the ring's wait
//! strategy in the wait list of its side until it succeeds, the ring is
//! closed, or its deadline passes; and the sleep checks that keep a waiter
//! from sleeping through a claim under way.

use core::time::Duration;

use super::Ring;
use crate::error::{Closed, Full, PopError, PushError};
use crate::wait::{self, WaitStrategy};

impl<T> Ring<T> {
    /// A popper that found nothing may sleep: no push has claimed a
    /// position past `head` (one that has may be publishing now, without
    /// a wake-up for us: look again instead). Reads `tail`, the key, after
    /// the waiter armed.
    pub(crate) fn may_sleep_for_item(&self) -> bool {
        let (tail, _) = self.core.tail_key();
        tail == self.core.head()
    }

    /// A pusher that found no room may sleep: `capacity` positions lie
    /// between `head` and `tail`, so no pop has claimed the position whose
    /// slot it needs (one that has may be freeing it now). Reads `head`,
    /// the key, after the waiter armed; `false` once closed.
    pub(crate) fn may_sleep_for_room(&self) -> bool {
        let (tail, closed) = self.core.tail();
        let head = self.core.head_key();
        let laps = self.core.laps();
        // Saturating: `head` is read after `tail`, and may have passed it.
        !closed && laps.count(tail).saturating_sub(laps.count(head)) >= laps.capacity()
    }

    /// Pushes `value`, waiting for room with the ring's wait strategy:
    /// [`send`](Ring::send), panicking where `send` returns its error.
    ///
    /// # Panics
    ///
    /// If the ring is closed, or is closed while the call waits (the
    /// value is dropped); [`send`](Ring::send) returns it instead.
    ///
    /// # Examples
    ///
    /// ```
    /// # #![allow(deprecated)]
    /// let ring = ackring::Ring::new(1);
    /// ring.push("a");
    /// assert_eq!(ring.pop(), "a");
    /// ```
    #[deprecated(note = "panics on a closed ring: `send` hands the value back instead")]
    pub fn push(&self, value: T) {
        if self.push_until(value, None).is_err() {
            panic!("Ring::push on a closed ring (use Ring::send to get the value back)");
        }
    }

    /// Pops the oldest item, waiting for one with the ring's wait strategy:
    /// [`recv`](Ring::recv), panicking where `recv` returns its error.
    ///
    /// # Panics
    ///
    /// If the ring is closed and drained, or becomes so while the call
    /// waits; [`recv`](Ring::recv) reports it instead.
    ///
    /// # Examples
    ///
    /// ```
    /// # #![allow(deprecated)]
    /// let ring = ackring::Ring::new(1);
    /// ring.push(5);
    /// assert_eq!(ring.pop(), 5);
    /// ```
    #[deprecated(note = "panics on a closed, drained ring: `recv` returns `Err(Closed)` instead")]
    pub fn pop(&self) -> T {
        match self.pop_until(None) {
            Ok(v) => v,
            Err(_) => panic!("Ring::pop on a closed, drained ring (use Ring::recv)"),
        }
    }

    /// Pushes `value`, waiting for room with the ring's wait strategy,
    /// until it is pushed or the ring is closed.
    ///
    /// # Errors
    ///
    /// [`PushError::Closed`], holding `value`, if the ring is closed or
    /// is closed while the call waits (never [`PushError::Full`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(1);
    /// assert!(ring.send(1).is_ok());
    /// ring.close();
    /// assert_eq!(ring.send(2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn send(&self, value: T) -> Result<(), PushError<T>> {
        self.push_until(value, None)
    }

    /// Pops the oldest item, waiting for one with the ring's wait strategy,
    /// until it gets one or the ring is closed and drained.
    ///
    /// # Errors
    ///
    /// [`Closed`] once the ring is closed and every item pushed before the
    /// close has been popped.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(2);
    /// ring.send(1).unwrap();
    /// ring.close();
    /// assert_eq!(ring.recv(), Ok(1));
    /// assert!(ring.recv().is_err());
    /// ```
    pub fn recv(&self) -> Result<T, Closed> {
        self.pop_until(None).map_err(|_| Closed)
    }

    /// Pushes `value`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`Full`], holding `value`, if there was still no room after
    /// `timeout`, or the ring is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let ring = ackring::Ring::new(1);
    /// ring.push_timeout(1, Duration::from_millis(1)).unwrap();
    /// let full = ring.push_timeout(2, Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(full.into_inner(), 2);
    /// ```
    pub fn push_timeout(&self, value: T, timeout: Duration) -> Result<(), Full<T>> {
        self.push_until(value, wait::deadline_after(timeout))
            .map_err(|e| Full(e.into_inner()))
    }

    /// Pops the oldest item, waiting at most `timeout` for one.
    ///
    /// Returns `None` if the ring stayed empty for `timeout`, or is closed
    /// and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let ring = ackring::Ring::<u8>::new(1);
    /// assert_eq!(ring.pop_timeout(Duration::from_millis(1)), None);
    /// ```
    pub fn pop_timeout(&self, timeout: Duration) -> Option<T> {
        self.pop_until(wait::deadline_after(timeout)).ok()
    }

    /// Pushes `value`, waiting at most `timeout` for room, or says why not.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] if there was still no room after `timeout`;
    /// [`PushError::Closed`] if the ring is closed or is closed while the
    /// call waits. Either holds `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{PushError, Ring};
    /// use std::time::Duration;
    ///
    /// let ring = Ring::new(1);
    /// ring.send(1).unwrap();
    /// let ms = Duration::from_millis(1);
    /// assert_eq!(ring.send_timeout(2, ms), Err(PushError::Full(2)));
    /// ring.close();
    /// assert_eq!(ring.send_timeout(3, ms), Err(PushError::Closed(3)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), PushError<T>> {
        self.push_until(value, wait::deadline_after(timeout))
    }

    /// Pops the oldest item, waiting at most `timeout` for one, or says
    /// why not.
    ///
    /// # Errors
    ///
    /// [`PopError::Empty`] if the ring stayed open and empty for
    /// `timeout`; [`PopError::Closed`] once it is closed and drained (also
    /// while the call waits).
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::{PopError, Ring};
    /// use std::time::Duration;
    ///
    /// let ring = Ring::<u8>::new(1);
    /// let ms = Duration::from_millis(1);
    /// assert_eq!(ring.recv_timeout(ms), Err(PopError::Empty));
    /// ring.close();
    /// assert_eq!(ring.recv_timeout(ms), Err(PopError::Closed));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, PopError> {
        self.pop_until(wait::deadline_after(timeout))
    }

    fn push_until(
        &self,
        value: T,
        deadline: Option<crate::sync::Instant>,
    ) -> Result<(), PushError<T>> {
        let value = match self.push_or_refuse::<true>(value) {
            Err(PushError::Full(value)) => value,
            done => return done,
        };
        self.core
            .wait_for_room_ahead(self.strategy == WaitStrategy::Spin);
        let mut value = Some(value);
        let done = wait::wait_until(
            self.strategy,
            &self.not_full,
            deadline,
            || match self.push_or_refuse::<true>(value.take()?) {
                Err(PushError::Full(v)) => {
                    value = Some(v);
                    None
                }
                done => Some(done),
            },
            || self.may_sleep_for_room(),
        );
        match (done, value) {
            (Some(done), _) => done,
            (None, Some(v)) => Err(PushError::Full(v)),
            (None, None) => unreachable!("the value is put back on every failed try"),
        }
    }

    fn pop_until(&self, deadline: Option<crate::sync::Instant>) -> Result<T, PopError> {
        wait::wait_until(
            self.strategy,
            &self.not_empty,
            deadline,
            || match self.pop_or_refuse::<true>() {
                Err(PopError::Empty) => None,
                done => Some(done),
            },
            || self.may_sleep_for_item(),
        )
        .unwrap_or(Err(PopError::Empty))
    }
}
