//! Dropping many values so that a panic in one value's `Drop` still drops
//! the others: what the ring's and the ack queue's own `Drop` need for the
//! messages they still hold.

/// Drops every value `next` yields, in order, until it yields `None`.
///
/// If a value's `Drop` panics, the rest are still dropped while the panic
/// unwinds, and then the panic goes on to the caller. A second panic
/// during that unwinding aborts, as in `Vec`. `next` is called once more
/// after it has yielded `None`, and must yield `None` again.
pub(crate) fn drop_each<T>(mut next: impl FnMut() -> Option<T>) {
    /// Runs its step until it reports nothing left: in the loop below,
    /// and again from its own `Drop` if a step panics.
    struct Rest<F: FnMut() -> bool>(F);
    impl<F: FnMut() -> bool> Drop for Rest<F> {
        fn drop(&mut self) {
            while (self.0)() {}
        }
    }
    let mut rest = Rest(move || match next() {
        Some(value) => {
            drop(value);
            true
        }
        None => false,
    });
    while (rest.0)() {}
}

#[cfg(all(test, not(all(loom, feature = "loom"))))]
mod tests {
    use super::drop_each;
    use std::cell::Cell;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    struct Noisy<'a> {
        id: usize,
        dropped: &'a Cell<u32>,
        panics: bool,
    }

    impl Drop for Noisy<'_> {
        fn drop(&mut self) {
            self.dropped.set(self.dropped.get() | 1 << self.id);
            if self.panics {
                panic!("value {} panics in drop", self.id);
            }
        }
    }

    #[test]
    fn a_panicking_drop_still_drops_the_rest_then_propagates() {
        let dropped = Cell::new(0);
        let mut i = 0;
        let result = catch_unwind(AssertUnwindSafe(|| {
            drop_each(|| {
                (i < 5).then(|| {
                    i += 1;
                    Noisy {
                        id: i - 1,
                        dropped: &dropped,
                        panics: i == 2,
                    }
                })
            })
        }));
        assert!(result.is_err(), "the panic reaches the caller");
        assert_eq!(dropped.get(), 0b11111, "every value dropped");
        assert_eq!(i, 5, "each value taken once");
    }

    #[test]
    fn without_a_panic_every_value_is_dropped_once() {
        let dropped = Cell::new(0);
        let mut i = 0;
        drop_each(|| {
            (i < 3).then(|| {
                i += 1;
                Noisy {
                    id: i - 1,
                    dropped: &dropped,
                    panics: false,
                }
            })
        });
        assert_eq!(dropped.get(), 0b111);
    }
}
