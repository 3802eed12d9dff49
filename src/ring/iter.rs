//! Iterators over a ring's items: owned, in order ([`IntoIter`]); popping
//! from a shared ring until it is empty ([`TryIter`]); and popping, waiting
//! for items, until the ring is closed and drained ([`Iter`]).

use core::fmt;
use core::iter::FusedIterator;

use super::Ring;

impl<T> Ring<T> {
    /// An iterator that pops items until it finds the ring empty (each
    /// step is a [`try_pop`](Ring::try_pop)). Other threads may push and
    /// pop meanwhile; the iterator ends at the first empty try.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ackring::Ring::new(4);
    /// ring.send(1).unwrap();
    /// ring.send(2).unwrap();
    /// assert_eq!(ring.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert!(ring.is_empty());
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { ring: self }
    }

    /// An iterator that pops items, waiting for each with the ring's wait
    /// strategy (each step is a [`recv`](Ring::recv)), until the ring is
    /// [closed](Ring::close) and drained: a consumer's loop, as a
    /// channel receiver's `iter` is. On a ring that is never closed it
    /// never ends. `for item in &ring` does the same.
    ///
    /// # Examples
    ///
    /// ```
    /// use ackring::Ring;
    ///
    /// let ring = Ring::new(4);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         for i in 1..=10 {
    ///             ring.send(i).unwrap();
    ///         }
    ///         ring.close();
    ///     });
    ///     let mut sum = 0;
    ///     for i in &ring {
    ///         sum += i;
    ///     }
    ///     assert_eq!(sum, 55);
    /// });
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { ring: self }
    }
}

/// Pops items, waiting for them, until the ring is closed and drained:
/// see [`Ring::iter`].
pub struct Iter<'a, T> {
    ring: &'a Ring<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.ring.recv().ok()
    }
}

/// A closed ring takes no more items, so once drained it stays drained.
impl<T> FusedIterator for Iter<'_, T> {}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Iter { .. }")
    }
}

/// Pops items until the ring is closed and drained: [`Ring::iter`].
impl<'a, T> IntoIterator for &'a Ring<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// Pops items from a shared ring until it is empty: see
/// [`Ring::try_iter`].
pub struct TryIter<'a, T> {
    ring: &'a Ring<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.ring.try_pop()
    }
}

impl<T> fmt::Debug for TryIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("TryIter { .. }")
    }
}

/// The items of a ring, oldest first, moved out of it: see
/// [`Ring`]'s `IntoIterator`. Items not taken are dropped with it.
pub struct IntoIter<T> {
    ring: Ring<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.ring.pop_mut()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.ring.len();
        (n, Some(n))
    }
}

impl<T> ExactSizeIterator for IntoIter<T> {}

impl<T> FusedIterator for IntoIter<T> {}

impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("len", &self.ring.len())
            .finish()
    }
}

/// Moves the items out, oldest first.
///
/// # Examples
///
/// ```
/// let ring = ackring::Ring::new(3);
/// for i in 1..=3 {
///     ring.send(i).unwrap();
/// }
/// assert_eq!(ring.into_iter().collect::<Vec<_>>(), [1, 2, 3]);
/// ```
impl<T> IntoIterator for Ring<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { ring: self }
    }
}
