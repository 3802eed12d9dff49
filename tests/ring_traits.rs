//! The type-level promises of `Ring<T>`: `Send + Sync` exactly when
//! `T: Send`, `Debug` without `T: Debug`, error types that are proper
//! `std::error::Error`s.

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::rc::Rc;
use std::sync::MutexGuard;

use ackring::{CapacityError, Full, Ring, WaitStrategy};

#[test]
fn capacity_error_is_a_std_error() {
    let zero: Box<dyn Error + Send + Sync> = Box::new(CapacityError::Zero);
    assert_eq!(zero.to_string(), "ring capacity must be at least 1");
    let large = CapacityError::TooLarge { requested: 42 };
    assert_eq!(
        large.to_string(),
        "ring capacity 42 is too large to allocate"
    );
    assert!(format!("{large:?}").contains("42"));
    assert_ne!(CapacityError::Zero, large);
}

#[test]
fn full_is_a_std_error_without_t_debug() {
    struct Opaque(#[allow(dead_code)] u8);
    let full = Full(Opaque(1));
    assert_eq!(full.to_string(), "ring is full");
    assert!(!format!("{full:?}").is_empty());
    let boxed: Box<dyn Error> = Box::new(Full(Opaque(2)));
    assert_eq!(boxed.to_string(), "ring is full");
}

#[test]
fn debug_does_not_need_t_debug() {
    struct Opaque;
    let ring = Ring::<Opaque>::new(5);
    ring.try_push(Opaque).unwrap();
    let text = format!("{ring:?}");
    assert!(text.starts_with("Ring"), "{text}");
    assert!(text.contains("capacity: 5"), "{text}");
    assert!(text.contains("len: 1"), "{text}");
}

// ---------------------------------------------------------------------------
// Send / Sync: `Ring<T>: Send + Sync` exactly when `T: Send`.
//
// The positive half is a plain bound. The negative half uses the ambiguity
// trick of the `static_assertions` crate: `NotSend::<T>::check` resolves
// only if exactly one of the two blanket impls applies, i.e. only if `T` is
// *not* `Send`; were it `Send`, the call would be ambiguous and this file
// would fail to compile. Both halves are therefore checked at compile time.
// ---------------------------------------------------------------------------

fn assert_send_sync<T: Send + Sync>() {}

macro_rules! assert_not_impl {
    ($t:ty: $tr:path) => {{
        trait Ambiguous<A> {
            fn check() {}
        }
        impl<T: ?Sized> Ambiguous<()> for T {}
        #[allow(dead_code)]
        struct Invalid;
        impl<T: ?Sized + $tr> Ambiguous<Invalid> for T {}
        <$t as Ambiguous<_>>::check();
    }};
}

#[test]
fn send_sync_when_t_is_send() {
    assert_send_sync::<Ring<u64>>();
    assert_send_sync::<Ring<()>>();
    assert_send_sync::<Ring<String>>();
    assert_send_sync::<Ring<Box<dyn FnOnce() + Send>>>();
    // `Cell` and `RefCell` are Send but not Sync: the ring only moves them
    // between threads and never shares a reference, so it is still Sync.
    assert_send_sync::<Ring<Cell<u8>>>();
    assert_send_sync::<Ring<RefCell<Vec<u8>>>>();
    assert_send_sync::<Full<u64>>();
    assert_send_sync::<CapacityError>();
    assert_send_sync::<WaitStrategy>();
}

#[test]
fn neither_send_nor_sync_when_t_is_not_send() {
    // The trick itself: it must accept these (not Send / not Sync) ...
    assert_not_impl!(Rc<u8>: Send);
    assert_not_impl!(Cell<u8>: Sync);
    // ... and the ring of a non-`Send` item is neither.
    assert_not_impl!(Ring<Rc<u8>>: Send);
    assert_not_impl!(Ring<Rc<u8>>: Sync);
    assert_not_impl!(Ring<*const u8>: Send);
    assert_not_impl!(Ring<*const u8>: Sync);
    // `MutexGuard` is Sync but not Send: being Sync is not enough.
    assert_not_impl!(Ring<MutexGuard<'static, u8>>: Send);
    assert_not_impl!(Ring<MutexGuard<'static, u8>>: Sync);
}
