//! The futures and streams are `Send` when `T: Send` (so a multi-threaded
//! runtime can move them between its threads), and the owned ones are
//! `'static` (so they can be spawned). A compile-time check: a future that
//! lost `Send` fails to build this file.

use std::future::Future;
use std::sync::Arc;

use ackring::{AckQueue, Ring, WaitSlot};

fn send<F: Send>(f: F) -> F {
    f
}

fn spawnable<F: Future + Send + 'static>(f: F) -> F {
    f
}

#[test]
fn futures_are_send_when_t_is_send() {
    let ring = Ring::<String>::new(2);
    drop(send(ring.recv_async()));
    drop(send(ring.send_async(String::new())));
    drop(send(ring.room()));
    drop(send(WaitSlot::new()));

    let q = Arc::new(AckQueue::<String>::builder().build().unwrap());
    let seq = q.try_publish(String::new()).unwrap();
    drop(send(q.receive_async()));
    drop(send(q.receive_async().with_timer(|_| async {})));
    let mut out = Vec::new();
    drop(send(q.receive_batch_async(4, &mut out)));
    drop(send(q.publish_async(String::new())));
    drop(send(q.wait_settled_async(seq)));
    drop(send(q.receive_owned_async()));

    // An owned receive inside a spawned task: the task's future is
    // `Send + 'static`.
    let handle = q.clone();
    drop(spawnable(async move {
        let d = handle.receive_owned_async().await.unwrap();
        d.ack().unwrap();
    }));
    #[cfg(feature = "stream")]
    {
        fn stream_send<S: futures::Stream + Send + 'static>(s: S) -> S {
            s
        }
        drop(stream_send(AckQueue::deliveries(&q)));
        drop(send(ring.stream()));
    }
}
