//! Every public error type of the crate.
//!
//! Errors that hand a value back ([`Full`], [`PublishError`]) own it, so a
//! failed call never loses a message: `into_inner` returns it.

use core::fmt;

/// Why a ring (or an index ring inside an [`AckQueue`](crate::AckQueue))
/// could not be created.
///
/// Returned by [`Ring::try_new`](crate::Ring::try_new);
/// [`Ring::new`](crate::Ring::new) panics with the same message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapacityError {
    /// A capacity of zero was asked for: a ring must hold at least one item.
    Zero,
    /// The capacity cannot be represented or allocated on this machine.
    TooLarge {
        /// The capacity that was asked for.
        requested: usize,
    },
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapacityError::Zero => f.write_str("ring capacity must be at least 1"),
            CapacityError::TooLarge { requested } => {
                write!(f, "ring capacity {requested} is too large to allocate")
            }
        }
    }
}

impl std::error::Error for CapacityError {}

/// The ring was full; the value that could not be pushed is inside.
///
/// # Examples
///
/// ```
/// use ackring::Ring;
///
/// let ring = Ring::new(1);
/// ring.try_push("a").unwrap();
/// let full = ring.try_push("b").unwrap_err();
/// assert_eq!(full.into_inner(), "b");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Full<T>(pub T);

impl<T> Full<T> {
    /// Returns the value that could not be pushed.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Full(..)")
    }
}

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ring is full")
    }
}

impl<T> std::error::Error for Full<T> {}
