//! No heap allocation after construction through the handles: every call
//! of a channel's `Sender` / `Receiver` and of an ack queue's `Publisher`
//! / `Worker` (try, blocking, timed, batch with room given, futures,
//! iterators), cloning and dropping handles, and the last handle's drop
//! that closes and drains. A counting global allocator
//! (`tests/common/counting.rs`) counts each thread's allocations, so the
//! harness's threads cannot spoil the count.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use ackring::{channel, AckQueue};

mod common;
use common::counting::{allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Polls `f` once with a waker that does nothing (made without
/// allocating); the futures here are ready at their first poll.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("not ready at the first poll"),
    }
}

#[test]
fn channel_calls_do_not_allocate() {
    let (tx, rx) = channel::bounded::<u64>(16);
    let mut batch = Vec::with_capacity(16);
    let mut out = Vec::with_capacity(16);
    let before = allocations();
    let mut sum = 0;
    for i in 0..2000_u64 {
        tx.try_send(i).unwrap();
        sum += rx.try_recv().unwrap();
        tx.send(i).unwrap();
        sum += rx.recv().unwrap();
        tx.send_timeout(i, Duration::from_secs(1)).unwrap();
        sum += rx.recv_timeout(Duration::from_secs(1)).unwrap();
        batch.extend([i, i]);
        assert_eq!(tx.try_send_batch(&mut batch), Ok(2));
        assert_eq!(rx.try_recv_batch(&mut out, 16), Ok(2));
        sum += out.drain(..).sum::<u64>();
        ready(tx.send_async(i)).unwrap();
        sum += ready(rx.recv_async()).unwrap();
        ready(tx.room()).unwrap();
        tx.send(i).unwrap();
        sum += rx.try_iter().sum::<u64>();
        tx.send(i).unwrap();
        sum += rx.iter().next().unwrap();
        let (tx2, rx2) = (tx.clone(), rx.clone());
        drop((tx2, rx2));
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations on the channel's calls"
    );
    assert_eq!(sum, 8 * (0..2000).sum::<u64>());
}

#[test]
fn the_last_handles_close_and_drain_without_allocating() {
    let (tx, rx) = channel::bounded::<u64>(16);
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    let tx2 = tx.clone();
    let before = allocations();
    drop(rx); // the last receiver: closes, drops the ten
    assert!(tx.try_send(1).is_err());
    drop(tx);
    drop(tx2); // the last handle: frees the block (no allocation)
    assert_eq!(allocations() - before, 0);
}

#[test]
fn a_woken_receiver_and_its_sender_allocate_nothing() {
    let (tx, rx) = channel::bounded::<u64>(1);
    // Warm up both threads, then count each side's own allocations.
    let consumer = thread::spawn(move || {
        for _ in 0..100 {
            rx.recv().unwrap();
        }
        let before = allocations();
        let mut n = 0;
        for v in &rx {
            n += v;
        }
        (allocations() - before, n)
    });
    for i in 0..100 {
        tx.send(i).unwrap();
    }
    let before = allocations();
    for i in 0..5000 {
        tx.send(i).unwrap();
    }
    let sender_allocs = allocations() - before;
    drop(tx); // the consumer's loop ends
    let (receiver_allocs, n) = consumer.join().unwrap();
    assert_eq!((sender_allocs, receiver_allocs), (0, 0));
    assert_eq!(n, (0..5000).sum::<u64>());
}

#[test]
fn ack_handles_do_not_allocate() {
    let (publisher, worker) = AckQueue::<u64>::builder()
        .capacity(16)
        .max_in_flight(8)
        .build_handles()
        .unwrap();
    let mut out = Vec::with_capacity(8);
    let mut errors = Vec::with_capacity(8);
    let before = allocations();
    let mut sum = 0;
    for i in 0..2000_u64 {
        let seq = publisher.try_publish(i).unwrap();
        let d = worker.try_receive().unwrap();
        sum += *d;
        d.ack().unwrap();
        assert!(publisher.is_settled(seq));
        publisher.publish(i).unwrap();
        let d = worker.receive().unwrap();
        sum += *d;
        d.nack(true).unwrap();
        let d = worker
            .receive_timeout(Duration::from_secs(1))
            .unwrap()
            .unwrap();
        sum += *d;
        d.ack().unwrap();
        ready(publisher.publish_async(i)).unwrap();
        let d = worker.try_receive_owned().unwrap();
        sum += *d;
        d.ack().unwrap();
        publisher.publish(i).unwrap();
        publisher.publish(i).unwrap();
        assert_eq!(worker.receive_batch(8, &mut out), Ok(2));
        sum += out.iter().map(|d| **d).sum::<u64>();
        assert_eq!(worker.ack_batch(out.drain(..), &mut errors), 2);
        publisher.publish(i).unwrap();
        let d = ready(worker.receive_async()).unwrap();
        sum += *d;
        d.ack().unwrap();
        publisher.publish(i).unwrap();
        let d = worker.iter().next().unwrap();
        sum += *d;
        d.ack().unwrap();
        let (p2, w2) = (publisher.clone(), worker.clone());
        drop((p2, w2));
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations on the handles' calls"
    );
    assert_eq!(sum, 8 * (0..2000).sum::<u64>());
    assert_eq!(publisher.settled_below().get(), 2000 * 7);
}
