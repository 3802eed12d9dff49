//! `force_push`: a push that overwrites the oldest item of a full ring.

use super::Ring;

impl<T> Ring<T> {
    /// Pushes `value`, overwriting the oldest item when the ring is full;
    /// returns the item it overwrote. The ring then holds the newest
    /// `capacity` items (a "ring buffer" of recent samples).
    ///
    /// On a closed ring nothing is pushed and `value` itself comes back.
    /// The oldest item of a full ring may still be in the hands of a
    /// thread that has not finished popping it, or pushing it. The call
    /// then waits for that thread, with backoff, and pushes into the slot
    /// it leaves.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(2);
    /// assert_eq!(ring.force_push(1), None);
    /// assert_eq!(ring.force_push(2), None);
    /// assert_eq!(ring.force_push(3), Some(1)); // the oldest, overwritten
    /// assert_eq!(ring.try_pop(), Some(2));
    /// assert_eq!(ring.try_pop(), Some(3));
    /// ```
    pub fn force_push(&self, value: T) -> Option<T> {
        let old = self.core.force_push(value);
        // Also after a refusal (closed): a wake-up with nothing new is
        // only a look for the woken.
        self.after_push(1);
        old
    }
}
