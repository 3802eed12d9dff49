//! Bad input to the ring's constructors: a capacity of zero or too large
//! to allocate is a typed error from `try_new` and a documented panic from
//! `new` and `with_wait_strategy`; capacities next to the limits work.

use ackring::{CapacityError, Ring, WaitStrategy};

mod common;
use common::wait::STRATEGIES;

/// Capacities that cannot be represented: `capacity + 1` rounded up to a
/// power of two overflows, or leaves no lap bits.
const ABSURD: [usize; 5] = [
    usize::MAX,
    usize::MAX - 1,
    usize::MAX / 2,
    usize::MAX / 2 + 1,
    1 << 60,
];

#[test]
fn try_new_rejects_zero() {
    assert_eq!(Ring::<u64>::try_new(0).unwrap_err(), CapacityError::Zero);
    assert_eq!(Ring::<()>::try_new(0).unwrap_err(), CapacityError::Zero);
    for s in STRATEGIES {
        assert_eq!(
            Ring::<u64>::try_with_wait_strategy(0, s).unwrap_err(),
            CapacityError::Zero
        );
    }
}

#[test]
fn try_new_rejects_absurd_capacities() {
    for cap in ABSURD {
        let expected = CapacityError::TooLarge { requested: cap };
        assert_eq!(Ring::<u64>::try_new(cap).unwrap_err(), expected);
        // Zero-sized items still need a `seq` per slot.
        assert_eq!(Ring::<()>::try_new(cap).unwrap_err(), expected);
        assert_eq!(Ring::<[u8; 4096]>::try_new(cap).unwrap_err(), expected);
        for s in STRATEGIES {
            assert_eq!(
                Ring::<u8>::try_with_wait_strategy(cap, s).unwrap_err(),
                expected
            );
        }
    }
}

#[test]
fn try_new_reports_allocation_failure_as_too_large() {
    // Representable as positions, but far beyond any address space: the
    // allocation itself must fail and come back as an error, not an abort.
    for cap in [1 << 54, (1 << 54) - 1, 1 << 50] {
        assert_eq!(
            Ring::<u64>::try_new(cap).unwrap_err(),
            CapacityError::TooLarge { requested: cap }
        );
    }
    // Slot size times capacity overflows `isize`.
    let cap = 1 << 52;
    assert_eq!(
        Ring::<[u8; 4096]>::try_new(cap).unwrap_err(),
        CapacityError::TooLarge { requested: cap }
    );
}

#[test]
fn reasonable_capacities_still_work_next_to_the_limits() {
    for cap in [1, 1 << 16, (1 << 16) + 1] {
        let ring = Ring::<()>::try_new(cap).unwrap();
        assert_eq!(ring.capacity(), cap);
        assert!(ring.is_empty());
    }
}

#[test]
#[should_panic(expected = "ring capacity must be at least 1")]
fn new_panics_on_zero() {
    let _ = Ring::<u64>::new(0);
}

#[test]
#[should_panic(expected = "ring capacity must be at least 1")]
fn with_wait_strategy_panics_on_zero() {
    let _ = Ring::<u64>::with_wait_strategy(0, WaitStrategy::Park);
}

#[test]
#[should_panic(expected = "ring capacity 18446744073709551615 is too large to allocate")]
fn new_panics_on_usize_max() {
    let _ = Ring::<u64>::new(usize::MAX);
}

#[test]
#[should_panic(expected = "ring capacity 9223372036854775807 is too large to allocate")]
fn new_panics_on_half_usize_max() {
    let _ = Ring::<u64>::new(usize::MAX / 2);
}

#[test]
#[should_panic(expected = "ring capacity 1152921504606846976 is too large to allocate")]
fn new_panics_on_two_to_the_sixty() {
    let _ = Ring::<u64>::new(1 << 60);
}

#[test]
#[should_panic(expected = "ring capacity 18014398509481984 is too large to allocate")]
fn new_panics_when_allocation_fails() {
    let _ = Ring::<u64>::new(1 << 54);
}

#[test]
#[should_panic(expected = "is too large to allocate")]
fn with_wait_strategy_panics_on_absurd_capacity() {
    let _ = Ring::<()>::with_wait_strategy(1 << 60, WaitStrategy::Spin);
}
