//! Waiting: the strategies of the blocking calls, and the wait list that
//! blocked threads and async tasks share.
//!
//! - [`strategy`]: what a blocked *thread* does between two tries
//!   ([`WaitStrategy`]: spin, backoff, park), and `wait_until`, the loop
//!   of every blocking call.
//! - [`list`]: one side's wait list ([`WaitList`](list::WaitList)): who sleeps
//!   in it, how a notification picks whom to wake, and the protocol that
//!   loses no wake-up.
//! - [`slot`]: the entry a waiter keeps in a list ([`WaitSlot`]), on the
//!   waiting thread's stack or inside the waiting future: nothing is
//!   allocated per wait.
//!
//! # Wake only those who can make progress
//!
//! A notification names how many waiters it may let through: a push
//! (a pop) wakes one waiting popper (pusher), a batch of `k` wakes `k`,
//! a close wakes every one. Waiting threads and tasks stand in one FIFO
//! list, and a notification takes that many entries off its front. So
//! with a hundred senders waiting on a full ring, a pop wakes one sender,
//! not a hundred that would all look and sleep again.
//!
//! Waking one is safe only if the one woken either takes what it was
//! woken for or hands its wake-up on. The rule a waiter keeps:
//!
//! - a wake-up is *used* by the waiter's first attempt made after it saw
//!   the wake-up (its entry taken off the list): if that attempt succeeds,
//!   it took one item (or place); if it fails, the side was empty (full)
//!   at an instant after the notification, so nothing is left behind for
//!   a waiter still asleep;
//! - a waiter that leaves holding a wake-up it has not used, because its
//!   future is dropped, its timeout fires, or it succeeded by an attempt
//!   made *before* it saw the wake-up (when it cannot tell whether it took
//!   the item it was woken for), passes the wake-up to the next entry of
//!   the list (`WaitList::leave`);
//! - a wait that only looks, taking nothing ([`Ring::room`](crate::Ring::room)),
//!   passes on the wake-up it used when it resolves.
//!
//! Whatever a notification finds, every item made while some waiter
//! sleeps is then owed to a waiter that is awake or will be woken.
//!
//! # No lost wake-ups
//!
//! A waiter must not sleep through the operation it waits for. The
//! waiter links its entry and *arms* the list under the list's lock,
//! then fences and tries; a notifier makes its operation, fences, and
//! reads `armed`:
//!
//! ```text
//! waiter                                 notifier (the opposite operation)
//! lock; link entry; armed.swap(1); unlock
//! fence(SeqCst)                          stamp.store(.., Release) // the push/pop itself
//! attempt()  // loads the stamp          fence(SeqCst)
//! sleep until the entry is taken         if armed.load(Relaxed) != 0 {
//!                                            lock; take n entries off the front;
//!                                            if the list is empty: armed = 0; unlock
//!                                            wake each
//!                                        }
//! ```
//!
//! The two SeqCst fences are totally ordered; the arm itself may be
//! Relaxed, since the fence after it does the ordering. If the notifier's
//! fence comes first, the waiter's attempt sees the notifier's store. If
//! the waiter's comes first, the notifier's load reads the waiter's arm or
//! a later store of `armed`. That is an arm (1), or a clear. A clear is
//! made under the lock by whoever left the list empty, so after the
//! waiter's entry left the list: either a notification took it (the waiter
//! holds a wake-up), or the waiter withdrew it (it is no longer waiting).
//! A load that reads 1 takes the lock and wakes the first entries,
//! whichever they are; by the rule above, each woken waiter takes an item
//! or hands its wake-up on.
//!
//! `armed` is therefore 1 exactly while the list holds an entry, or a
//! waiter is about to link one. A notification with nobody waiting costs
//! one fence and one load of a line nobody writes.
//!
//! A ring's `close` is a notifier of both sides that wakes every waiter:
//! its store is the mark it sets on `tail`, which every retried call reads.
//!
//! # Keyed notifications
//!
//! The notifier's fence makes its store reach memory before it reads
//! `armed`: a stall of a cache-line transfer when the store goes to a line
//! another thread is reading (the slot it just handed over). A notifier
//! whose operation already made a SeqCst RMW on a *key* word skips it:
//!
//! ```text
//! waiter                                 notifier
//! armed.swap(1)                          key.rmw(.., SeqCst)   // e.g. a cursor CAS
//! fence(SeqCst)                          ...                   // the rest of the operation
//! attempt(); may_sleep()  // load key    if armed.load(SeqCst) != 0 { wake }
//! ```
//!
//! The RMW and the `armed` load are SeqCst and in that order in one
//! thread, so the RMW precedes the load in the single total order. Say the
//! load reads a value from before the waiter's arm. Then it is
//! coherence-ordered before the arm, which is sequenced before the
//! waiter's SeqCst fence. So the load, and the RMW with it, precede that
//! fence in the total order, and a load of the key after the fence sees
//! the RMW or a later value. A load that reads a clear made after the arm
//! finds the waiter's entry gone from the list, as above.
//!
//! That covers the key only, not the stores the notifier makes after its
//! RMW. The waiter's `may_sleep` must therefore decide from the key alone
//! whether the operation it waits for is under way, and then try again
//! instead of sleeping. A receiver waits for a message whose publisher has
//! won `tail` but not yet stored the slot's stamp; a publisher waits for a
//! slot whose receiver has won `head` but not yet freed it.
//!
//! Some waiters need what the notifier wrote *before* its RMW: a
//! confirmation waiter needs the settle made before an ack's RMW on
//! `acked`. Such a waiter reads the key with Acquire first: the RMW it
//! reads, or a later one, then carries those writes to it.
//!
//! Loom cannot check this rule in full: it orders SeqCst accesses only as
//! AcqRel. Under loom the waiters read the key with an AcqRel RMW
//! (`sync::key_load`) and the `armed` load is Relaxed: faithful for the
//! key and for the writes after the notifier's RMW, stronger for the
//! writes before it (what the Acquire read of the key above is for).
//!
//! # Threads and tasks
//!
//! A parked thread's entry holds its thread handle, and the thread
//! sleeps with `park` until a notification takes its entry (or its
//! deadline passes); a waiting future's entry holds its task's `Waker`.
//! Under the lock, the notifier moves the handle or the waker out of the
//! entry and marks the entry taken with a Release store, its last touch of
//! the entry. It wakes once unlocked, since a waker may do anything,
//! including polling the future that registered it. The owner reads the
//! mark with Acquire, without the lock, to learn of its wake-up; it takes
//! the lock only to link its entry, or to withdraw it while still linked.
//! A thread woken spuriously sees no mark and parks again.
//!
//! A woken waiter that finds nothing (another thread took the item first)
//! links its entry again, at the back, and sleeps: one lock per sleep on
//! the waiter's side and one per notification that finds someone, however
//! many wait.

mod list;
mod slot;
mod strategy;

pub(crate) use list::{WaitList, ALL};
pub use slot::WaitSlot;
pub use strategy::WaitStrategy;
pub(crate) use strategy::{deadline_after, wait_until};
