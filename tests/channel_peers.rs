//! The disconnection behaviours users rely on in crossbeam-channel's
//! array flavour (its `tests/array.rs`) and tokio's bounded `mpsc` (its
//! `tests/sync_mpsc.rs`), ported to the channel handles: the behaviours,
//! not the code. Their error types map to ours as the `channel` module's
//! table says (`Disconnected` is `Closed`, a timeout is `Full` or
//! `Empty`). What has no counterpart here is left out: rendezvous
//! channels, `select!`, permits, weak senders, reviving a sender.
//!
//! Where a test of theirs sleeps to order two threads, this one orders
//! them with a rendezvous of its own, so no assertion depends on timing.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use ackring::channel::{self, Receiver};
use ackring::{Closed, PopError, PushError};

mod common;

use common::asynch;
use common::wait::{watchdog, LONG};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------
// crossbeam-channel, array flavour
// ---------------------------------------------------------------------------

#[test]
fn cb_smoke() {
    let (s, r) = channel::bounded(1);
    s.send(7).unwrap();
    assert_eq!(r.try_recv(), Ok(7));
    s.send(8).unwrap();
    assert_eq!(r.recv(), Ok(8));
    assert_eq!(r.try_recv(), Err(PopError::Empty));
    assert_eq!(r.recv_timeout(ms(10)), Err(PopError::Empty));
}

#[test]
fn cb_capacity_and_len_empty_full() {
    for i in 1..10 {
        let (s, r) = channel::bounded::<()>(i);
        assert_eq!((s.capacity(), r.capacity()), (i, i));
    }
    let (s, r) = channel::bounded(2);
    assert_eq!((s.len(), s.is_empty(), s.is_full()), (0, true, false));
    s.send(()).unwrap();
    assert_eq!((r.len(), r.is_empty(), r.is_full()), (1, false, false));
    s.send(()).unwrap();
    assert_eq!((r.len(), r.is_empty(), r.is_full()), (2, false, true));
    r.recv().unwrap();
    assert_eq!((s.len(), s.is_empty(), s.is_full()), (1, false, false));
}

#[test]
fn cb_try_recv_sees_empty_then_the_item_then_disconnected() {
    let (s, r) = channel::bounded(100);
    let (go, wait) = mpsc::channel();
    let receiver = thread::spawn(move || {
        assert_eq!(r.try_recv(), Err(PopError::Empty));
        go.send(()).unwrap();
        loop {
            match r.try_recv() {
                Ok(v) => {
                    assert_eq!(v, 7);
                    break;
                }
                Err(PopError::Empty) => thread::yield_now(),
                Err(PopError::Closed) => panic!("closed before the item"),
            }
        }
        loop {
            match r.try_recv() {
                Err(PopError::Closed) => break,
                Err(PopError::Empty) => thread::yield_now(),
                Ok(v) => panic!("unexpected {v}"),
            }
        }
    });
    wait.recv().unwrap();
    s.send(7).unwrap();
    drop(s);
    receiver.join().unwrap();
}

#[test]
fn cb_recv_takes_every_item_then_reports_the_disconnection() {
    watchdog("recv", || {
        let (s, r) = channel::bounded(100);
        let receiver = thread::spawn(move || {
            assert_eq!(r.recv(), Ok(7));
            assert_eq!(r.recv(), Ok(8));
            assert_eq!(r.recv(), Ok(9));
            assert_eq!(r.recv(), Err(Closed));
        });
        for v in 7..=9 {
            s.send(v).unwrap();
        }
        drop(s);
        receiver.join().unwrap();
    });
}

#[test]
fn cb_recv_timeout_times_out_then_receives_then_reports_the_disconnection() {
    watchdog("recv_timeout", || {
        let (s, r) = channel::bounded::<i32>(100);
        assert_eq!(r.recv_timeout(ms(10)), Err(PopError::Empty));
        let receiver = thread::spawn(move || {
            assert_eq!(r.recv_timeout(LONG), Ok(7));
            assert_eq!(r.recv_timeout(LONG), Err(PopError::Closed));
        });
        s.send(7).unwrap();
        drop(s);
        receiver.join().unwrap();
    });
}

#[test]
fn cb_try_send_sees_full_then_room_then_disconnected() {
    let (s, r) = channel::bounded(1);
    assert_eq!(s.try_send(1), Ok(()));
    assert_eq!(s.try_send(2), Err(PushError::Full(2)));
    assert_eq!(r.try_recv(), Ok(1));
    assert_eq!(r.try_recv(), Err(PopError::Empty));
    assert_eq!(s.try_send(3), Ok(()));
    let receiver = thread::spawn(move || assert_eq!(r.recv(), Ok(3)));
    receiver.join().unwrap(); // `r` dropped with the thread
    assert_eq!(s.try_send(4), Err(PushError::Closed(4)));
}

#[test]
fn cb_send_timeout_times_out_then_sends_then_reports_the_disconnection() {
    watchdog("send_timeout", || {
        let (s, r) = channel::bounded(2);
        assert_eq!(s.send_timeout(1, ms(10)), Ok(()));
        assert_eq!(s.send_timeout(2, ms(10)), Ok(()));
        assert_eq!(s.send_timeout(3, ms(10)), Err(PushError::Full(3)));
        let receiver = thread::spawn(move || {
            assert_eq!(r.recv(), Ok(1));
            assert_eq!(r.recv(), Ok(2));
            assert_eq!(r.recv(), Ok(4));
        });
        assert_eq!(s.send_timeout(4, LONG), Ok(()));
        receiver.join().unwrap();
        assert_eq!(s.send(5), Err(PushError::Closed(5)));
        assert_eq!(s.send_timeout(6, LONG), Err(PushError::Closed(6)));
    });
}

#[test]
fn cb_send_after_disconnect() {
    let (s, r) = channel::bounded(100);
    for v in 1..=3 {
        s.send(v).unwrap();
    }
    drop(r);
    assert_eq!(s.send(4), Err(PushError::Closed(4)));
    assert_eq!(s.try_send(5), Err(PushError::Closed(5)));
    assert_eq!(s.send_timeout(6, ms(10)), Err(PushError::Closed(6)));
}

#[test]
fn cb_recv_after_disconnect() {
    let (s, r) = channel::bounded(100);
    for v in 1..=3 {
        s.send(v).unwrap();
    }
    drop(s);
    assert_eq!(r.recv(), Ok(1));
    assert_eq!(r.recv(), Ok(2));
    assert_eq!(r.recv(), Ok(3));
    assert_eq!(r.recv(), Err(Closed));
}

#[test]
fn cb_len_stays_within_the_capacity() {
    const COUNT: usize = 25_000;
    const CAP: usize = 1000;
    let (s, r) = channel::bounded(CAP);
    for _ in 0..CAP / 10 {
        for i in 0..50 {
            s.send(i).unwrap();
            assert_eq!(s.len(), i + 1);
        }
        for i in 0..50 {
            r.recv().unwrap();
            assert_eq!(r.len(), 50 - i - 1);
        }
    }
    watchdog("len", move || {
        let receiver = thread::spawn(move || {
            for i in 0..COUNT {
                assert_eq!(r.recv(), Ok(i));
                assert!(r.len() <= CAP);
            }
            assert_eq!(r.recv(), Err(Closed));
        });
        for i in 0..COUNT {
            s.send(i).unwrap();
            assert!(s.len() <= CAP);
        }
        drop(s);
        receiver.join().unwrap();
    });
}

#[test]
fn cb_disconnect_wakes_sender() {
    watchdog("disconnect wakes sender", || {
        let (s, r) = channel::bounded(1);
        let (go, wait) = mpsc::channel();
        let sender = thread::spawn(move || {
            assert_eq!(s.send(()), Ok(()));
            go.send(()).unwrap();
            assert_eq!(s.send(()), Err(PushError::Closed(())));
        });
        wait.recv().unwrap();
        drop(r);
        sender.join().unwrap();
    });
}

#[test]
fn cb_disconnect_wakes_receiver() {
    watchdog("disconnect wakes receiver", || {
        let (s, r) = channel::bounded::<()>(1);
        let receiver = thread::spawn(move || assert_eq!(r.recv(), Err(Closed)));
        drop(s);
        receiver.join().unwrap();
    });
}

#[test]
fn cb_spsc_ends_with_the_disconnection() {
    const COUNT: usize = 100_000;
    watchdog("spsc", || {
        let (s, r) = channel::bounded(3);
        let receiver = thread::spawn(move || {
            for i in 0..COUNT {
                assert_eq!(r.recv(), Ok(i));
            }
            assert_eq!(r.recv(), Err(Closed));
        });
        for i in 0..COUNT {
            s.send(i).unwrap();
        }
        drop(s);
        receiver.join().unwrap();
    });
}

#[test]
fn cb_mpmc_delivers_each_item_to_one_receiver() {
    const COUNT: usize = 25_000;
    const THREADS: usize = 4;
    watchdog("mpmc", || {
        let (s, r) = channel::bounded::<usize>(3);
        let v: Arc<Vec<AtomicUsize>> = Arc::new((0..COUNT).map(|_| AtomicUsize::new(0)).collect());
        let receivers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (r, v) = (r.clone(), Arc::clone(&v));
                thread::spawn(move || {
                    for n in &r {
                        v[n].fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        let senders: Vec<_> = (0..THREADS)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || {
                    for i in 0..COUNT {
                        s.send(i).unwrap();
                    }
                })
            })
            .collect();
        drop((s, r));
        for t in senders.into_iter().chain(receivers) {
            t.join().unwrap();
        }
        for c in v.iter() {
            assert_eq!(c.load(SeqCst), THREADS);
        }
    });
}

#[test]
fn cb_stress_oneshot() {
    watchdog("oneshot", || {
        for _ in 0..10_000 {
            let (s, r) = channel::bounded(1);
            let receiver = thread::spawn(move || r.recv().unwrap());
            s.send(0).unwrap();
            receiver.join().unwrap();
        }
    });
}

#[test]
fn cb_stress_iter_ends_on_the_disconnection() {
    const COUNT: usize = 100_000;
    watchdog("iter", || {
        let (request_s, request_r) = channel::bounded(1);
        let (response_s, response_r) = channel::bounded(1);
        let asker = thread::spawn(move || {
            let mut count = 0;
            loop {
                for x in response_r.try_iter() {
                    count += x;
                    if count == COUNT {
                        return; // drops `request_s`: the loop below ends
                    }
                }
                request_s.send(()).unwrap();
            }
        });
        for () in &request_r {
            if response_s.send(1).is_err() {
                break;
            }
        }
        asker.join().unwrap();
    });
}

#[test]
fn cb_stress_timeout_two_threads() {
    const COUNT: usize = 100;
    watchdog("timeouts", || {
        let (s, r) = channel::bounded(2);
        let sender = thread::spawn(move || {
            for i in 0..COUNT {
                if i % 2 == 0 {
                    thread::sleep(ms(5));
                }
                let mut v = i;
                loop {
                    match s.send_timeout(v, ms(1)) {
                        Ok(()) => break,
                        Err(PushError::Full(back)) => v = back,
                        Err(PushError::Closed(_)) => panic!("closed"),
                    }
                }
            }
        });
        for i in 0..COUNT {
            if i % 2 == 0 {
                thread::sleep(ms(5));
            }
            loop {
                match r.recv_timeout(ms(1)) {
                    Ok(x) => {
                        assert_eq!(x, i);
                        break;
                    }
                    Err(PopError::Empty) => {}
                    Err(PopError::Closed) => panic!("closed early"),
                }
            }
        }
        sender.join().unwrap();
        assert_eq!(r.recv(), Err(Closed));
    });
}

#[test]
fn cb_drops_every_item_once_when_both_sides_are_gone() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct DropCounter;
    impl Drop for DropCounter {
        fn drop(&mut self) {
            DROPS.fetch_add(1, SeqCst);
        }
    }
    let mut rng = common::rng::Rng::new(7);
    for _ in 0..100 {
        let steps = rng.below(10_000) as usize;
        let additional = rng.below(50) as usize;
        DROPS.store(0, SeqCst);
        let (s, r) = channel::bounded::<DropCounter>(50);
        thread::scope(|scope| {
            scope.spawn(|| {
                for _ in 0..steps {
                    r.recv().unwrap();
                }
            });
            scope.spawn(|| {
                for _ in 0..steps {
                    s.send(DropCounter).unwrap();
                }
            });
        });
        for _ in 0..additional {
            s.send(DropCounter).unwrap();
        }
        assert_eq!(DROPS.load(SeqCst), steps);
        drop(s);
        drop(r);
        assert_eq!(DROPS.load(SeqCst), steps + additional);
    }
}

#[test]
fn cb_linearizable_send_then_try_recv_never_finds_it_empty() {
    const COUNT: usize = 25_000;
    const THREADS: usize = 4;
    let (s, r) = channel::bounded(THREADS);
    thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for _ in 0..COUNT {
                    s.send(0).unwrap();
                    r.try_recv().unwrap();
                }
            });
        }
    });
}

#[test]
fn cb_channel_through_channel() {
    const COUNT: usize = 1000;
    type T = Box<dyn std::any::Any + Send>;
    watchdog("channel through channel", || {
        let (s, r) = channel::bounded::<T>(1);
        let sender = thread::spawn(move || {
            let mut s = s;
            for _ in 0..COUNT {
                let (new_s, new_r) = channel::bounded::<T>(1);
                let new_r: T = Box::new(Some(new_r));
                s.send(new_r).unwrap();
                s = new_s;
            }
        });
        let mut r = r;
        for _ in 0..COUNT {
            r = r
                .recv()
                .unwrap()
                .downcast_mut::<Option<Receiver<T>>>()
                .unwrap()
                .take()
                .unwrap();
        }
        sender.join().unwrap();
    });
}

#[test]
fn cb_panic_on_drop_of_an_item_left_drops_every_other_item_once() {
    struct Msg<'a> {
        drops: &'a AtomicUsize,
        panics: bool,
    }
    impl Drop for Msg<'_> {
        fn drop(&mut self) {
            self.drops.fetch_add(1, SeqCst);
            if self.panics {
                panic!("first drop");
            }
        }
    }
    let counts: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
    let (s, r) = channel::bounded(4);
    for (i, drops) in counts.iter().enumerate() {
        s.send(Msg {
            drops,
            panics: i == 1,
        })
        .unwrap();
    }
    drop(s);
    let res = panic::catch_unwind(AssertUnwindSafe(move || drop(r)));
    assert_eq!(
        *res.unwrap_err().downcast_ref::<&str>().unwrap(),
        "first drop"
    );
    // crossbeam leaks the items after the one that panicked; here the
    // shared block, dropped while the panic unwinds, drops them.
    for (i, n) in counts.iter().enumerate() {
        assert_eq!(n.load(SeqCst), 1, "item {i}");
    }
}

// ---------------------------------------------------------------------------
// tokio mpsc, bounded
// ---------------------------------------------------------------------------

#[test]
fn tokio_send_recv_with_buffer() {
    let rt = asynch::runtime();
    asynch::guarded(&rt, "send_recv_with_buffer", async {
        let (tx, rx) = channel::bounded::<i32>(16);
        tx.room().await.unwrap();
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        drop(tx);
        assert_eq!(rx.recv_async().await, Ok(1));
        assert_eq!(rx.recv_async().await, Ok(2));
        assert_eq!(rx.recv_async().await, Err(Closed));
    });
}

#[test]
fn tokio_async_send_recv_with_buffer() {
    let rt = asynch::runtime();
    asynch::guarded(&rt, "async_send_recv_with_buffer", async {
        let (tx, rx) = channel::bounded(16);
        tokio::spawn(async move {
            tx.send_async(1).await.unwrap();
            tx.send_async(2).await.unwrap();
        });
        assert_eq!(rx.recv_async().await, Ok(1));
        assert_eq!(rx.recv_async().await, Ok(2));
        assert_eq!(rx.recv_async().await, Err(Closed));
    });
}

#[test]
fn tokio_async_send_recv_many_with_buffer() {
    let rt = asynch::runtime();
    asynch::guarded(&rt, "recv_many", async {
        let (tx, rx) = channel::bounded(2);
        tokio::spawn(async move {
            for v in [1, 2, 7] {
                tx.send_async(v).await.unwrap();
            }
        });
        let mut buffer = Vec::with_capacity(16);
        let (mut count, mut sum) = (0, 0);
        // recv_many: wait for one, then take what is there.
        while let Ok(first) = rx.recv_async().await {
            buffer.push(first);
            rx.try_recv_batch(&mut buffer, 15).unwrap_or(0);
            count += buffer.len();
            sum += buffer.drain(..).sum::<i32>();
        }
        assert_eq!((count, sum), (3, 10));
        assert_eq!(rx.recv_async().await, Err(Closed));
    });
}

#[test]
#[should_panic]
fn tokio_buffer_gteq_one() {
    let _ = channel::bounded::<i32>(0);
}

#[test]
fn tokio_tx_close_gets_none() {
    let rt = asynch::runtime();
    asynch::guarded(&rt, "tx_close_gets_none", async {
        let (_, rx) = channel::bounded::<i32>(10);
        assert_eq!(rx.recv_async().await, Err(Closed));
    });
}

#[test]
fn tokio_try_send_fail() {
    let rt = asynch::runtime();
    asynch::guarded(&rt, "try_send_fail", async {
        let (tx, rx) = channel::bounded(1);
        tx.try_send("hello").unwrap();
        assert_eq!(tx.try_send("fail"), Err(PushError::Full("fail")));
        assert_eq!(rx.recv_async().await, Ok("hello"));
        tx.try_send("goodbye").unwrap();
        drop(tx);
        assert_eq!(rx.recv_async().await, Ok("goodbye"));
        assert_eq!(rx.recv_async().await, Err(Closed));
    });
}

#[test]
fn tokio_try_send_fail_with_try_recv() {
    let (tx, rx) = channel::bounded(1);
    tx.try_send("hello").unwrap();
    assert_eq!(tx.try_send("fail"), Err(PushError::Full("fail")));
    assert_eq!(rx.try_recv(), Ok("hello"));
    tx.try_send("goodbye").unwrap();
    drop(tx);
    assert_eq!(rx.try_recv(), Ok("goodbye"));
    assert_eq!(rx.try_recv(), Err(PopError::Closed));
}

#[test]
fn tokio_dropping_rx_closes_channel() {
    let rt = asynch::runtime();
    asynch::guarded(&rt, "dropping_rx_closes_channel", async {
        let (tx, rx) = channel::bounded(100);
        let msg = Arc::new(());
        tx.try_send(msg.clone()).unwrap();
        drop(rx);
        assert!(tx.room().await.is_err());
        assert_eq!(1, Arc::strong_count(&msg), "the message left was dropped");
    });
}

#[test]
fn tokio_dropping_rx_closes_channel_for_try() {
    let (tx, rx) = channel::bounded(100);
    let msg = Arc::new(());
    tx.try_send(msg.clone()).unwrap();
    drop(rx);
    assert!(matches!(
        tx.try_send(msg.clone()),
        Err(PushError::Closed(_))
    ));
    assert_eq!(1, Arc::strong_count(&msg));
}

#[test]
fn tokio_unconsumed_messages_are_dropped() {
    let msg = Arc::new(());
    let (tx, rx) = channel::bounded(100);
    tx.try_send(msg.clone()).unwrap();
    assert_eq!(2, Arc::strong_count(&msg));
    drop((tx, rx));
    assert_eq!(1, Arc::strong_count(&msg));
}

#[test]
fn tokio_blocking_recv() {
    let (tx, rx) = channel::bounded::<u8>(1);
    let sync_code = thread::spawn(move || {
        assert_eq!(rx.recv(), Ok(10));
        assert_eq!(rx.recv(), Err(Closed));
    });
    let rt = asynch::runtime();
    asynch::guarded(&rt, "blocking_recv", async move {
        tx.send_async(10).await.unwrap();
    });
    sync_code.join().unwrap();
}

#[test]
fn tokio_blocking_send() {
    let (tx, rx) = channel::bounded::<u8>(1);
    let sync_code = thread::spawn(move || tx.send(10).unwrap());
    let rt = asynch::runtime();
    asynch::guarded(&rt, "blocking_send", async move {
        assert_eq!(rx.recv_async().await, Ok(10));
        assert_eq!(rx.recv_async().await, Err(Closed));
    });
    sync_code.join().unwrap();
}

#[test]
fn tokio_try_recv_bounded() {
    let (tx, rx) = channel::bounded(5);
    for _ in 0..5 {
        tx.try_send("hello").unwrap();
    }
    assert!(tx.try_send("hello").is_err());
    for _ in 0..5 {
        assert_eq!(Ok("hello"), rx.try_recv());
    }
    assert_eq!(Err(PopError::Empty), rx.try_recv());
    for _ in 0..4 {
        tx.try_send("hello").unwrap();
    }
    assert_eq!(Ok("hello"), rx.try_recv());
    tx.try_send("hello").unwrap();
    tx.try_send("hello").unwrap();
    assert!(tx.try_send("hello").is_err());
    for _ in 0..5 {
        assert_eq!(Ok("hello"), rx.try_recv());
    }
    assert_eq!(Err(PopError::Empty), rx.try_recv());
    for _ in 0..3 {
        tx.try_send("hello").unwrap();
    }
    drop(tx);
    for _ in 0..3 {
        assert_eq!(Ok("hello"), rx.try_recv());
    }
    assert_eq!(Err(PopError::Closed), rx.try_recv());
}

#[test]
fn tokio_try_recv_close_while_empty_bounded() {
    let (tx, rx) = channel::bounded::<()>(5);
    assert_eq!(Err(PopError::Empty), rx.try_recv());
    drop(tx);
    assert_eq!(Err(PopError::Closed), rx.try_recv());
}

#[test]
fn tokio_send_timeout_times_out_then_reports_the_closed_channel() {
    let (tx, rx) = channel::bounded(5);
    for v in [10, 20, 30, 40, 50] {
        assert_eq!(tx.send_timeout(v, ms(10)), Ok(()));
    }
    assert_eq!(tx.send_timeout(60, ms(10)), Err(PushError::Full(60)));
    drop(rx);
    assert_eq!(tx.send_timeout(70, ms(10)), Err(PushError::Closed(70)));
}

#[test]
fn tokio_capacity_stays_while_len_changes() {
    let (tx, _rx) = channel::bounded::<()>(10);
    assert_eq!((tx.capacity(), tx.len()), (10, 0));
    tx.try_send(()).unwrap();
    assert_eq!((tx.capacity(), tx.len()), (10, 1));
}
