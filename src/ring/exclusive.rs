//! The calls through `&mut self`: no other thread can be using the ring,
//! so they claim without CAS and never wait.

use super::Ring;
use crate::error::Full;

impl<T> Ring<T> {
    /// Pushes `value` through `&mut self`: no other thread can be using
    /// the ring, so no CAS and no wait; what [`try_push`](Ring::try_push)
    /// does otherwise.
    ///
    /// # Errors
    ///
    /// [`Full`], holding `value`, when the ring is full or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ring = ackring::Ring::new(1);
    /// ring.push_mut(1).unwrap();
    /// assert_eq!(ring.push_mut(2).unwrap_err().into_inner(), 2);
    /// assert_eq!(ring.pop_mut(), Some(1));
    /// ```
    pub fn push_mut(&mut self, value: T) -> Result<(), Full<T>> {
        self.core.push_mut(value).map_err(Full)
    }

    /// Pops the oldest item through `&mut self`, without CAS or wait; what
    /// [`try_pop`](Ring::try_pop) does otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ring = ackring::Ring::new(2);
    /// ring.push_mut('a').unwrap();
    /// assert_eq!(ring.pop_mut(), Some('a'));
    /// assert_eq!(ring.pop_mut(), None);
    /// ```
    pub fn pop_mut(&mut self) -> Option<T> {
        self.core.pop_mut()
    }
}
