//! The handles an [`AckQueue`] gives out: [`Seq`], [`Tag`], the
//! [`Delivery`] guard, and [`DeadLetter`].
//!
//! A `Delivery` begins an operation (receive) and its `Drop` completes it
//! if the user did not: an unsettled, undetached delivery that is dropped
//! (including by a panic unwinding through its owner) is requeued. The
//! owned form of the guard ([`OwnedDelivery`](super::OwnedDelivery), in
//! `owned.rs`) shares this file's implementation, `delivery_api!`.

use core::fmt;
use core::ops::Deref;

use super::AckQueue;

/// A message's publish sequence number: increasing across the queue, in
/// the order messages were accepted.
///
/// # Examples
///
/// ```
/// let q = ackring::AckQueue::builder().build().unwrap();
/// let a = q.try_publish('a').unwrap();
/// let b = q.try_publish('b').unwrap();
/// assert!(a < b);
/// assert_eq!(b.get(), a.get() + 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seq(pub(crate) u64);

impl Seq {
    /// The sequence number as an integer; the first message gets 0.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl From<Seq> for u64 {
    fn from(seq: Seq) -> u64 {
        seq.0
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Names one delivery of one message of one queue; settle it later with
/// [`AckQueue::ack`], [`AckQueue::nack`] or [`AckQueue::extend_lease`].
///
/// A tag stays valid until its delivery is settled or becomes stale; a
/// later use gets an [`AckError`](crate::AckError), never another
/// message's settle. (Tags carry the entry generation modulo 2^24: only a
/// tag kept across 2^24 reuses of its entry could be confused.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag {
    pub(crate) queue: usize,
    pub(crate) index: u32,
    pub(crate) gen: u32,
    /// The delivery count of this delivery (the state word keeps it
    /// modulo 2^16).
    pub(crate) attempt: u32,
}

/// A received message, tracked until it is settled.
///
/// Derefs to the message. Settle it with [`ack`](Delivery::ack),
/// [`nack`](Delivery::nack) or [`nack_after`](Delivery::nack_after), or
/// hand it off with [`detach`](Delivery::detach). Dropping it unsettled
/// requeues the message, so a consumer that panics loses nothing.
///
/// # Examples
///
/// ```
/// use ackring::AckQueue;
///
/// let q = AckQueue::builder().build().unwrap();
/// q.try_publish(String::from("hello")).unwrap();
/// {
///     let d = q.try_receive().unwrap();
///     assert_eq!(d.len(), 5); // derefs to the String
///     // dropped without a settle: requeued
/// }
/// let d = q.try_receive().unwrap();
/// assert!(d.redelivered());
/// assert_eq!(d.delivery_count(), 2);
/// d.ack().unwrap();
/// ```
#[must_use = "a delivery dropped without ack or nack is requeued"]
pub struct Delivery<'q, T> {
    pub(crate) queue: &'q AckQueue<T>,
    pub(crate) seq: u64,
    /// The entry holding the message, and its generation: with `count`
    /// and the queue's identity, the delivery's [`Tag`].
    pub(crate) index: u32,
    pub(crate) gen: u32,
    /// The delivery count, which is also the tag's attempt.
    pub(crate) count: u32,
    /// Still counted among the entry's holders.
    pub(crate) holding: bool,
}

/// Writes the API that [`Delivery`] and
/// [`OwnedDelivery`](super::OwnedDelivery) share, from one source: the
/// accessors, the settles, `detach`, `Deref`, the requeue on drop, and
/// `Debug`. Both guards have the same fields and differ only in how they
/// hold the queue (`&'q AckQueue<T>` or `Arc<AckQueue<T>>`), which
/// `self.queue` derefs through alike; so every guarantee of one is a
/// guarantee of the other. A guard keeps its tag's fields but the queue's
/// identity, which its queue has: a guard is small, and comes back from a
/// receive in few moves.
///
/// An owned guard's `Arc` is a field, dropped after `Drop::drop` has run:
/// the requeue of an unsettled guard reaches the queue before the last
/// handle, if this is it, drops the queue and every value still in it.
macro_rules! delivery_api {
    ($guard:ident $(<$lt:lifetime>)?) => {
        impl<$($lt,)? T> $guard<$($lt,)? T> {
            /// The tag naming this delivery, to settle it by tag
            /// ([`AckQueue::ack`](crate::AckQueue::ack) and the like),
            /// possibly from another thread while this guard lives. (The
            /// guard's own settles then take a CAS they otherwise skip.)
            pub fn tag(&self) -> $crate::ack::Tag {
                self.queue.hand_out_tag(self.index);
                self.own_tag()
            }

            /// The tag, kept inside the crate (not handed out).
            #[inline]
            pub(crate) fn own_tag(&self) -> $crate::ack::Tag {
                $crate::ack::Tag {
                    queue: self.queue.table.id(),
                    index: self.index,
                    gen: self.gen,
                    attempt: self.count,
                }
            }

            /// The message's publish sequence number.
            pub fn seq(&self) -> $crate::ack::Seq {
                $crate::ack::Seq(self.seq)
            }

            /// How many times the message has been delivered, this time
            /// included: 1 on the first delivery.
            pub fn delivery_count(&self) -> u32 {
                self.count
            }

            /// Whether the message was delivered before.
            pub fn redelivered(&self) -> bool {
                self.count > 1
            }

            /// Acknowledges the message: it is settled and will not be
            /// delivered again.
            ///
            /// # Errors
            ///
            /// [`AckError::Stale`](crate::AckError::Stale) if the lease
            /// expired (the message is, or will be, delivered again or
            /// dead-lettered);
            /// [`AckError::AlreadySettled`](crate::AckError::AlreadySettled)
            /// if it was settled by tag meanwhile.
            pub fn ack(mut self) -> Result<(), $crate::AckError> {
                self.holding = false;
                self.queue.ack_guarded(self.own_tag())
            }

            /// Rejects the message: with `requeue`, it is delivered again
            /// (or dead-lettered if it reached `max_deliveries`); without,
            /// it goes to the dead letters now.
            ///
            /// # Errors
            ///
            /// As [`ack`](Self::ack).
            pub fn nack(mut self, requeue: bool) -> Result<(), $crate::AckError> {
                self.holding = false;
                let how = if requeue {
                    $crate::ack::Settle::Requeue(None)
                } else {
                    $crate::ack::Settle::Reject
                };
                self.queue.settle(self.own_tag(), how, true)
            }

            /// Requeues the message, to be delivered again no sooner than
            /// `delay` from now (on the queue's clock). Delayed messages
            /// are found by the same scan as expired leases, and keep
            /// counting against `max_in_flight` while they wait.
            ///
            /// # Errors
            ///
            /// As [`ack`](Self::ack).
            pub fn nack_after(mut self, delay: ::core::time::Duration) -> Result<(), $crate::AckError> {
                self.holding = false;
                self.queue
                    .settle(self.own_tag(), $crate::ack::Settle::delayed(delay), true)
            }

            /// Extends the lease so that it ends no sooner than `by` from
            /// now: the heartbeat of a long task. Does nothing but check
            /// the tag on a queue without leases.
            ///
            /// # Errors
            ///
            /// As [`ack`](Self::ack).
            pub fn extend_lease(&self, by: ::core::time::Duration) -> Result<(), $crate::AckError> {
                self.queue.extend_lease(self.own_tag(), by)
            }

            /// Gives up the guard without settling: the delivery stays in
            /// flight (its lease, if any, keeps running) and is settled
            /// later by tag, possibly from another thread.
            pub fn detach(mut self) -> $crate::ack::Tag {
                self.holding = false;
                self.queue.release_holder(self.index);
                self.own_tag()
            }
        }

        impl<$($lt,)? T> ::core::ops::Deref for $guard<$($lt,)? T> {
            type Target = T;

            fn deref(&self) -> &T {
                let entry = self.queue.table.get(self.index);
                // SAFETY: this guard is counted in the entry's holders, and
                // an entry's value is dropped or moved out only once its
                // holders reach zero (module docs of `ack`), so the value
                // is initialized and stays so for the guard's lifetime.
                // Holders only ever read it.
                entry.value.with(|p| unsafe { (*p).assume_init_ref() })
            }
        }

        impl<$($lt,)? T> Drop for $guard<$($lt,)? T> {
            fn drop(&mut self) {
                if self.holding {
                    self.holding = false;
                    // The result only says whether the requeue happened; a
                    // stale guard just lets go of the message.
                    let _ = self
                        .queue
                        .settle(self.own_tag(), $crate::ack::Settle::Requeue(None), true);
                }
            }
        }

        impl<$($lt,)? T> ::core::fmt::Debug for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(stringify!($guard))
                    .field("tag", &self.own_tag())
                    .field("seq", &self.seq)
                    .field("delivery_count", &self.count)
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(super) use delivery_api;

delivery_api!(Delivery<'q>);

/// Why a message went to the dead letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeadReason {
    /// A consumer nacked it without requeue.
    Rejected,
    /// It was delivered `max_deliveries` times without an ack.
    MaxDeliveries,
}

/// A message taken out of the dead letters; taking it settles it.
///
/// # Examples
///
/// ```
/// use ackring::{AckQueue, DeadReason};
///
/// let q = AckQueue::builder().build().unwrap();
/// q.try_publish("poison").unwrap();
/// q.try_receive().unwrap().nack(false).unwrap();
/// let dead = q.try_receive_dead_letter().unwrap();
/// assert_eq!(dead.reason(), DeadReason::Rejected);
/// assert_eq!(dead.delivery_count(), 1);
/// assert_eq!(dead.into_inner(), "poison");
/// ```
pub struct DeadLetter<T> {
    pub(crate) value: T,
    pub(crate) seq: u64,
    pub(crate) count: u32,
    pub(crate) reason: DeadReason,
}

impl<T> DeadLetter<T> {
    /// The message.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The message's publish sequence number.
    pub fn seq(&self) -> Seq {
        Seq(self.seq)
    }

    /// How many times it was delivered.
    pub fn delivery_count(&self) -> u32 {
        self.count
    }

    /// Why it was dead-lettered.
    pub fn reason(&self) -> DeadReason {
        self.reason
    }
}

impl<T> Deref for DeadLetter<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> fmt::Debug for DeadLetter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("seq", &self.seq)
            .field("delivery_count", &self.count)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}
