//! What a handle's calls share: its settings, and the state of its
//! connection. The connection is a [`Link`], replaced as a whole when it
//! is lost; the state says which link is up, or that a recovery is under
//! way, or that the handle is without a connection for good.
//!
//! ```text
//!            lost (recovery on)              restored
//!   Up(link) ───────────────────▶ Recovering ────────▶ Up(new link)
//!      │                              │ gave up
//!      │ lost (recovery off)          ▼
//!      └────────────────────────▶ Failed(error)
//! ```
//!
//! A loss is reported by lapin's error callbacks (the connection's and
//! each channel's) and by any call that fails with
//! [`Error::Unreachable`]; only the first report for a link counts, so
//! one recovery runs at a time. Calls wait for `Up` on one [`Event`],
//! notified at every change of state.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::sync::lock;
use std::time::Instant;

use event_listener::Event;

use super::block::until;
use super::builder::Settings;
use super::error::{unreachable, Why};
use super::link::Link;
use super::recovery;
use super::stats::{AmqpStats, Traffic};
use crate::api::Error;

/// The state of a handle's connection.
enum State {
    /// Connected.
    Up(Arc<Link>),
    /// The link was lost; a recovery thread is reconnecting.
    Recovering,
    /// No connection, for good: recovery is off or gave up (the error is
    /// what every call waiting for a link gets), or the handle is being
    /// dropped.
    Failed(Error),
}

/// What a handle's calls, its deliveries, its recovery thread and lapin's
/// error callbacks share.
pub(super) struct Shared {
    pub(super) settings: Settings,
    /// This value's own `Arc`, weakly: for the callbacks and the recovery
    /// thread, which must not keep a dropped handle alive.
    me: Weak<Shared>,
    state: Mutex<State>,
    /// Notified at every change of `state`.
    changed: Event,
    /// The number (`Link::number`) of the next link opened. Each connection
    /// opened has its own, so a late callback of a discarded one is told
    /// apart.
    next_link_number: AtomicU64,
    /// `close` was called: publishes fail, receives end, and a recovered
    /// link starts no consumer.
    pub(super) closed: AtomicBool,
    /// A receive has started consuming: a recovered link starts the
    /// consumer again.
    pub(super) consuming: AtomicBool,
    /// The next sequence number; held while a publish's frames are
    /// queued, so numbers follow the order the broker receives.
    pub(super) next_seq: async_lock::Mutex<u64>,
    recoveries: AtomicU64,
    republished: AtomicU64,
    /// What the handle counted of its own traffic (`stats.rs`).
    pub(super) traffic: Traffic,
    last_error: Mutex<Option<Error>>,
}

impl Shared {
    /// The shared state of a handle about to connect.
    pub(super) fn new(settings: Settings) -> Arc<Self> {
        Arc::new_cyclic(|me| Shared {
            settings,
            me: me.clone(),
            state: Mutex::new(State::Recovering),
            changed: Event::new(),
            next_link_number: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            consuming: AtomicBool::new(false),
            next_seq: async_lock::Mutex::new(0),
            recoveries: AtomicU64::new(0),
            republished: AtomicU64::new(0),
            traffic: Traffic::default(),
            last_error: Mutex::new(None),
        })
    }

    /// A weak reference to this, for callbacks.
    pub(super) fn weak(&self) -> Weak<Shared> {
        self.me.clone()
    }

    /// A fresh number (`Link::number`) for a link about to be opened.
    pub(super) fn next_link_number(&self) -> u64 {
        // Relaxed: a unique number is all it gives; the link it names is
        // published through `state`'s mutex.
        self.next_link_number.fetch_add(1, Ordering::Relaxed)
    }

    /// Makes `link` the handle's connection; `false` (and `link` closed)
    /// if the handle is without a connection for good (being dropped).
    pub(super) fn install(&self, link: Arc<Link>, recovered: bool) -> bool {
        let mut state = lock(&self.state);
        if matches!(*state, State::Failed(_)) {
            drop(state);
            link.close_soon();
            return false;
        }
        *state = State::Up(link);
        drop(state);
        if recovered {
            // Relaxed: a count for display; nothing is read through it.
            self.recoveries.fetch_add(1, Ordering::Relaxed);
        }
        self.changed.notify(usize::MAX);
        true
    }

    /// Reports that the link numbered `number` is lost, for `why`. The first
    /// report for the link that is up starts a recovery (or, with
    /// recovery off, fails the handle); any other is ignored.
    pub(super) fn lost(&self, number: u64, why: &Error) {
        let mut state = lock(&self.state);
        let old = match &*state {
            State::Up(link) if link.number == number => Arc::clone(link),
            _ => return,
        };
        self.note_error(why);
        if self.settings.recovery.on {
            *state = State::Recovering;
            drop(state);
            if let Err(e) = recovery::start(self.weak(), old) {
                self.fail(Why::unreachable(format!("no thread to recover with: {e}")));
                return;
            }
        } else {
            *state = State::Failed(unreachable(why));
            drop(state);
            old.close_soon();
        }
        self.changed.notify(usize::MAX);
    }

    /// Leaves the handle without a connection for good: every call that
    /// waits for one gets `why`.
    pub(super) fn fail(&self, why: Error) {
        *lock(&self.state) = State::Failed(why);
        self.changed.notify(usize::MAX);
    }

    /// Records `e` as the last error of the connection.
    pub(super) fn note_error(&self, e: &Error) {
        *lock(&self.last_error) = Some(e.clone());
    }

    /// Counts a message published again after its publisher confirm was lost.
    pub(super) fn count_republish(&self) {
        // Relaxed: a count for display; nothing is read through it.
        self.republished.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the handle is without a connection for good (given up,
    /// or being dropped): a recovery then stops.
    pub(super) fn is_failed(&self) -> bool {
        matches!(*lock(&self.state), State::Failed(_))
    }

    /// The link that is up now, if one is.
    pub(super) fn link_now(&self) -> Option<Arc<Link>> {
        match &*lock(&self.state) {
            State::Up(link) => Some(Arc::clone(link)),
            _ => None,
        }
    }

    /// Whether `link` is the one up now: a settle on any other is stale.
    pub(super) fn is_current(&self, link: &Link) -> bool {
        matches!(&*lock(&self.state), State::Up(up) if up.number == link.number)
    }

    /// Waits for a link that is up, until `deadline` (`None`: for as long
    /// as it takes).
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`], with the last error of the connection, at
    /// the deadline; the handle's error once it is without a connection
    /// for good.
    pub(super) async fn wait_link(&self, deadline: Option<Instant>) -> Result<Arc<Link>, Error> {
        loop {
            let listener = {
                let state = lock(&self.state);
                match &*state {
                    State::Up(link) => return Ok(Arc::clone(link)),
                    State::Failed(e) => return Err(e.clone()),
                    // Listening under the lock: a change made after it is
                    // notified after it, so it is not missed.
                    State::Recovering => self.changed.listen(),
                }
            };
            if until(listener, deadline).await.is_none() {
                return Err(self.unreachable_now());
            }
        }
    }

    /// The error of a call that gave up waiting for the connection.
    pub(super) fn unreachable_now(&self) -> Error {
        match &*lock(&self.last_error) {
            Some(e) => unreachable(e),
            None => Why::unreachable("the connection to the broker is being restored"),
        }
    }

    /// Reports `e` as the loss of `link` if it is a loss; returns it.
    pub(super) fn check(&self, link: &Link, e: Error) -> Error {
        if e.is_unreachable() {
            self.lost(link.number, &e);
        }
        e
    }

    /// A snapshot of the connection's state and recovery counters.
    pub(super) fn stats(&self) -> AmqpStats {
        let (connected, recovering) = match &*lock(&self.state) {
            State::Up(_) => (true, false),
            State::Recovering => (false, true),
            State::Failed(_) => (false, false),
        };
        let mut stats = AmqpStats {
            connected,
            recovering,
            // Relaxed: counts for display, each exact on its own.
            recoveries: self.recoveries.load(Ordering::Relaxed),
            republished: self.republished.load(Ordering::Relaxed),
            published: 0,
            confirmed: 0,
            delivered: 0,
            redelivered: 0,
            acked: 0,
            nacked: 0,
            last_error: lock(&self.last_error).clone(),
        };
        self.traffic.fill(&mut stats);
        stats
    }

    /// The handle is being dropped: no more recovery; the link that is up
    /// is returned for closing.
    pub(super) fn shut_down(&self) -> Option<Arc<Link>> {
        let old = std::mem::replace(&mut *lock(&self.state), State::Failed(Error::Closed));
        self.changed.notify(usize::MAX);
        match old {
            State::Up(link) => Some(link),
            _ => None,
        }
    }
}
