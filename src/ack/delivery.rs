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
    /// The delivery count of this delivery (the state word keeps 16 bits
    /// of it: `State::attempt_bits`).
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
    /// The entry holding the message.
    pub(crate) index: u32,
    /// The delivery count, which is also the tag's attempt.
    pub(crate) count: u32,
}

/// Writes the API that [`Delivery`] and
/// [`OwnedDelivery`](super::OwnedDelivery) share, from one source: the
/// accessors, the settles, `detach`, `Deref`, the requeue on drop, and
/// `Debug`. Both guards have the same fields and differ only in how they
/// hold the queue: `&'q AckQueue<T>` or `Arc<AckQueue<T>>`, the `$queue`
/// type, which `self.queue` derefs through alike. So every guarantee of
/// one is a guarantee of the other.
///
/// A guard is the queue handle, its entry's index and its delivery count:
/// two words, which a receive hands back in registers. The rest of its tag
/// and its sequence number are read from the entry, which cannot change
/// them while the guard is one of its holders:
///
/// - an entry is freed, and its generation bumped, only once its holders
///   are gone;
/// - the sequence number is written only by the receive that fills it.
///
/// A guard counts among its entry's holders from its receive until it is
/// consumed. `ack`, `nack`, `detach` and the batch settles take it apart
/// without its `Drop` (`into_parts`), which otherwise requeues.
///
/// An owned guard's `Arc` is a field, dropped after `Drop::drop` has run:
/// the requeue of an unsettled guard reaches the queue before the last
/// handle, if this is it, drops the queue and every value still in it.
/// A consumed owned guard's `Arc` is dropped after its settle, likewise.
macro_rules! delivery_api {
    ($guard:ident $(<$lt:lifetime>)?, $queue:ty) => {
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
                self.queue.tag_of_holder(self.index, self.count)
            }

            /// Takes the guard apart without its `Drop`: the queue handle,
            /// the entry index and the delivery count. The caller owes the
            /// guard's place among the entry's holders: a settle or a
            /// `let_go`.
            #[inline(always)]
            pub(crate) fn into_parts(self) -> ($queue, u32, u32) {
                let this = ::core::mem::ManuallyDrop::new(self);
                // SAFETY: `this` is neither used nor dropped after this
                // read, so the queue handle is moved out exactly once.
                let queue = unsafe { ::core::ptr::read(&this.queue) };
                (queue, this.index, this.count)
            }

            /// The message's publish sequence number.
            pub fn seq(&self) -> $crate::ack::Seq {
                $crate::ack::Seq(self.queue.seq_of_holder(self.index))
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
            #[inline]
            pub fn ack(self) -> Result<(), $crate::AckError> {
                let (queue, index, count) = self.into_parts();
                queue.ack_guarded(index, count)
            }

            /// Rejects the message: with `requeue`, it is delivered again
            /// (or dead-lettered if it reached `max_deliveries`); without,
            /// it goes to the dead letters now.
            ///
            /// # Errors
            ///
            /// As [`ack`](Self::ack).
            pub fn nack(self, requeue: bool) -> Result<(), $crate::AckError> {
                let how = if requeue {
                    $crate::ack::Settle::Requeue(None)
                } else {
                    $crate::ack::Settle::Reject
                };
                let tag = self.own_tag();
                let (queue, _, _) = self.into_parts();
                queue.settle(tag, how, true)
            }

            /// Requeues the message, to be delivered again no sooner than
            /// `delay` from now (on the queue's clock). Delayed messages
            /// are found by the same scan as expired leases, and keep
            /// counting against `max_in_flight` while they wait.
            ///
            /// # Errors
            ///
            /// As [`ack`](Self::ack).
            pub fn nack_after(self, delay: ::core::time::Duration) -> Result<(), $crate::AckError> {
                let tag = self.own_tag();
                let (queue, _, _) = self.into_parts();
                queue.settle(tag, $crate::ack::Settle::delayed(delay), true)
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
            pub fn detach(self) -> $crate::ack::Tag {
                let tag = self.own_tag();
                let (queue, index, _) = self.into_parts();
                queue.let_go(index);
                tag
            }
        }

        impl<$($lt,)? T> ::core::ops::Deref for $guard<$($lt,)? T> {
            type Target = T;

            #[inline]
            fn deref(&self) -> &T {
                // SAFETY: a guard's entry index is one the queue gave out.
                let entry = unsafe { self.queue.table.get_unchecked(self.index) };
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
                // Not consumed (`into_parts`), so still a holder: requeue.
                // The result only says whether the requeue happened; a
                // stale guard just lets go of the message.
                let _ = self
                    .queue
                    .settle(self.own_tag(), $crate::ack::Settle::Requeue(None), true);
            }
        }

        impl<$($lt,)? T> ::core::fmt::Debug for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(stringify!($guard))
                    .field("tag", &self.own_tag())
                    .field("seq", &self.seq().get())
                    .field("delivery_count", &self.count)
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(super) use delivery_api;

delivery_api!(Delivery<'q>, &'q AckQueue<T>);

/// Why a message went to the dead letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeadReason {
    /// A consumer nacked it without requeue.
    Rejected,
    /// It was delivered `max_deliveries` times without an ack.
    MaxDeliveries,
    /// Its time to live ran out before its first delivery
    /// ([`AckQueueBuilder::ttl`](crate::AckQueueBuilder::ttl),
    /// [`AckQueue::try_publish_with_ttl`](crate::AckQueue::try_publish_with_ttl)).
    /// Its delivery count is 0.
    Expired,
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
