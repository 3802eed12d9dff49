//! Models of `Ring<T>`.
#![cfg(loom)]
use ackring::Ring;
use loom::sync::Arc;
use loom::thread;

#[test]
fn one_producer_one_consumer_wrap_capacity_1() {
    loom::model(|| {
        let ring = Arc::new(Ring::new(1));
        let producer = {
            let ring = ring.clone();
            thread::spawn(move || {
                for i in 0..2_u32 {
                    ring.push(i);
                }
            })
        };
        assert_eq!(ring.pop(), 0);
        assert_eq!(ring.pop(), 1);
        producer.join().unwrap();
    });
}
