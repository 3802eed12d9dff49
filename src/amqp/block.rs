//! Running the backend's futures from the blocking calls: a thread-park
//! executor for one future, with an optional deadline. The futures are
//! lapin's, whose I/O runs on lapin's own threads, so parking the calling
//! thread never stalls the connection. And the deadline of a future on
//! any executor, on the timer of lapin's reactor (`async-io`).

use core::future::{poll_fn, Future};
use core::pin::{pin, Pin};
use core::task::{Context, Poll, Waker};
use std::sync::Arc;
use std::task::Wake;
use std::thread::{self, Thread};
use std::time::Instant;

/// Wakes the thread that blocks on a future.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread, parking between polls, until it
/// resolves or `deadline` passes (`None`: never); `None` if the deadline
/// passed first. The future is dropped either way before this returns.
pub(crate) fn block_on_until<F: Future>(future: F, deadline: Option<Instant>) -> Option<F::Output> {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Some(out);
        }
        match deadline {
            None => thread::park(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return None;
                }
                thread::park_timeout(d - now);
            }
        }
    }
}

/// Polls `future` on this thread until it resolves.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    match block_on_until(future, None) {
        Some(out) => out,
        None => unreachable!("a wait without deadline ends only with a result"),
    }
}

/// Runs `future` until `deadline` (`None`: for as long as it takes), on
/// whatever executor polls this; `None` if the deadline came first (the
/// future is then dropped).
pub(crate) async fn until<F: Future>(future: F, deadline: Option<Instant>) -> Option<F::Output> {
    let Some(deadline) = deadline else {
        return Some(future.await);
    };
    let mut future = pin!(future);
    let mut timer = async_io::Timer::at(deadline);
    poll_fn(|cx| {
        if let Poll::Ready(out) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        match Pin::new(&mut timer).poll(cx) {
            Poll::Ready(_) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn resolves_ready_and_woken_futures() {
        assert_eq!(block_on(async { 7 }), 7);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let mut rx = Some(rx);
        let woken = core::future::poll_fn(move |cx| {
            if let Some(rx) = rx.take() {
                let waker = cx.waker().clone();
                thread::spawn(move || {
                    rx.recv().unwrap();
                    waker.wake();
                });
                Poll::Pending
            } else {
                Poll::Ready(1)
            }
        });
        tx.send(()).unwrap();
        assert_eq!(block_on(woken), 1);
    }

    #[test]
    fn gives_up_at_the_deadline() {
        let start = Instant::now();
        let deadline = start + Duration::from_millis(20);
        assert_eq!(
            block_on_until(core::future::pending::<()>(), Some(deadline)),
            None
        );
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn until_resolves_or_times_out_on_the_timer() {
        let start = Instant::now();
        let late = until(
            core::future::pending::<()>(),
            Some(start + Duration::from_millis(30)),
        );
        assert_eq!(block_on(late), None);
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert_eq!(block_on(until(async { 3 }, None)), Some(3));
        let far = Instant::now() + Duration::from_secs(60);
        assert_eq!(block_on(until(async { 4 }, Some(far))), Some(4));
    }
}
