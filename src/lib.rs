//! # ackring
//!
//! A bounded lock-free multi-producer multi-consumer ring buffer for
//! latency-sensitive code inside one process.
//!
//! - [`channel`]: the ring as a channel, [`channel::bounded`] giving a
//!   [`Sender`](channel::Sender) and a [`Receiver`](channel::Receiver)
//!   that disconnect when the last of a side is dropped, in the shape of
//!   crossbeam-channel's and tokio's `mpsc`.
//! - [`Ring<T>`]: the queue, shared by reference. Fixed capacity (exactly
//!   what you ask for), no allocation after construction, linearizable
//!   `try_*` calls, blocking calls with a choice of [`WaitStrategy`] (by
//!   default, spin a few microseconds, then sleep), batch calls that claim
//!   a run of positions at once; `force_push`, `close` with `send`/`recv`
//!   calls that report it, owned and draining iterators.
//! - [`AckQueue<T>`]: message-queue semantics on the same ring algorithm.
//!   A consumer receives a [`Delivery`], processes it and acks it; until
//!   then the queue tracks the message, and a nack, a dropped delivery
//!   (say, from a panicking consumer) or an expired lease delivers it
//!   again. Deliveries come borrowed, or owned ([`OwnedDelivery`], from an
//!   `Arc<AckQueue<T>>`) to hand to another thread or a pool. It offers a
//!   prefetch limit (`max_in_flight`), leases with heartbeats, delayed
//!   requeues, dead letters after `max_deliveries` with a bound of their
//!   own, batch receive and batch ack, and confirmations per message and as a watermark so producers
//!   learn their messages were processed: what RabbitMQ, SQS and NATS
//!   JetStream users know, in process and without a broker. A slow, hung
//!   or dead-lettered message holds back nothing but itself.
//!   [`AckQueueBuilder::build_handles`] gives it as a [`Publisher`] and a
//!   [`Worker`], which close it when the last of a side is dropped.
//! - [`api`]: the ack API as traits ([`api::Producer`], [`api::Consumer`],
//!   [`api::Acknowledge`]) with a [`api::Capabilities`] value per backend.
//!   `AckQueue` implements them in process; with the `amqp` feature,
//!   `amqp::AmqpQueue` implements them on a RabbitMQ quorum queue, so
//!   code written against them moves to a broker with a change of
//!   constructor.
//!
//! # The algorithm in brief
//!
//! Dmitry Vyukov's bounded MPMC queue: each slot carries a stamp that says
//! whose turn it is, producers claim positions on one cursor and consumers
//! on the other, one CAS each, and the slot's stamp hands the item over.
//! The source tells it once, with the memory orderings and why the try
//! calls are linearizable, in the module docs of the claim core
//! (`src/ring/claim/mod.rs`); every atomic operation there names the
//! operation it pairs with.
//!
//! # Glossary
//!
//! One word for each thing, in the source and in these docs:
//!
//! - *position*: a cursor value `{ lap, index }`, the `lap`-th use of slot
//!   `index`. Positions may wrap around `u64`: they are compared by their
//!   wrapping difference.
//! - `head`, `tail`: the consumers' and the producers' cursor, the next
//!   position to pop and to push. Once the ring is closed, `tail` carries
//!   the *mark* bit.
//! - *stamp*: a slot's turn, the position that may use it next. A push
//!   finds its slot stamped with its own position; a pop finds its
//!   position + 1.
//! - *claim*: winning a position, or a run of them, with one CAS on a
//!   cursor. The position is then the claimer's alone until it stores the
//!   slot's next stamp.
//! - *publish*: a push's store of the stamp that hands its item to the pop
//!   of its position (in an [`AckQueue`], also the user's call that puts a
//!   message in). *Free*: a pop's store of the stamp that hands the slot
//!   to the push of the next lap; the slot is then *freed*.
//! - *Release*: the memory ordering (`Ordering::Release`), nothing else.
//! - *overtake*: a claim that finishes while the position before it is
//!   claimed and unfinished. It makes the failed claims of the other side
//!   read this side's cursor, which keeps the try calls linearizable.
//! - [`Seq`]: a message's number in an [`AckQueue`], never a slot's stamp.
//! - *wait list* (`WaitList` in the source): one side's waiting threads
//!   and tasks, in the order they began to wait, each in a [`WaitSlot`]. It is *armed* while an entry
//!   may be linked, which is what a notification reads before it takes
//!   the list's lock.
//! - *wake-up*: a notification's taking of an entry off a wait list. The
//!   waiter woken uses it (its next try) or passes it to the next entry.
//! - *key*: a cursor whose SeqCst CAS stands in for a notifier's fence:
//!   `tail` for the poppers' waits, `head` for the pushers'.
//! - *look*: one try of a wait: what a waiter does before it sleeps and
//!   after each wake-up.
//!
//! The ack layer adds:
//!
//! - *place*: a unit of one of an [`AckQueue`]'s bounds (`capacity`,
//!   `max_in_flight`, `dead_letter_capacity`, `delay_capacity`). A message
//!   takes a place and *gives it back*.
//! - *entry*: a delivered message's place in the queue's table, until it
//!   is settled.
//! - *delivery*: one hand-out of a message to a consumer, held as a
//!   [`Delivery`] guard or named by its [`Tag`]. Its *attempt* is the
//!   delivery it names (a field of the entry's state word). The *delivery
//!   count* is how many times the message was delivered: 1 the first time.
//! - *holder*: a live guard that may read the message; a guard *lets go*
//!   when it is dropped or settled.
//! - *settle*: an ack, a nack (requeue or reject) or an expiry of a
//!   delivery. A *confirmation* tells a producer that a message was
//!   settled ([`AckQueue::is_settled`], [`AckQueue::wait_settled`]). A
//!   *publisher confirm* is a broker's acknowledgement of a publish (the
//!   AMQP backend), never a confirmation.
//! - *extensions*: the lease extensions of a delivery, counted (modulo 16)
//!   in its state word so that a scan that read an older deadline fails.
//! - *due*: a delayed publish is *published* when due; a delayed requeue
//!   is *readied* (made ready for redelivery) when due.
//!
//! The AMQP backend adds:
//!
//! - *link*: one connection to the broker with its channels. A handle's
//!   links are numbered from 0 in the order they are opened (the *link
//!   number*), so that the loss of an old link is not taken for the loss
//!   of the current one.
//! - *reconnection*: the opening of a new link after the current one was
//!   lost.

//! # When to use it, and when not
//!
//! Use it when threads of one process hand each other work at high rates
//! and a bounded buffer is the right back-pressure: trading systems, game
//! engines, telemetry pipelines, work schedulers, and async services: the
//! [`future`] module's futures wait without blocking a thread, on any
//! runtime. Do not use it across processes or as an unbounded queue.
//!
//! # Example
//!
//! ```
//! use ackring::channel;
//!
//! let (tx, rx) = channel::bounded(4);
//! std::thread::spawn(move || {
//!     for i in 1..=10_u32 {
//!         tx.send(i).unwrap(); // waits while the channel is full
//!     }
//! }); // `tx` dropped: the channel closes once drained
//! let total: u32 = rx.iter().sum();
//! assert_eq!(total, 55);
//! ```
//!
//! # AckQueue example
//!
//! ```
//! use ackring::AckQueue;
//! use std::time::Duration;
//!
//! let (publisher, worker) = AckQueue::builder()
//!     .capacity(128)
//!     .max_in_flight(4)
//!     .lease(Duration::from_secs(30))
//!     .max_deliveries(3)
//!     .build_handles()
//!     .unwrap();
//! let seq = publisher.publish("resize image 42").unwrap();
//! let delivery = worker.receive().unwrap();
//! assert_eq!(*delivery, "resize image 42");
//! delivery.ack().unwrap(); // settled: never delivered again
//! assert!(publisher.wait_settled(seq, Duration::from_secs(1)));
//! ```

mod ack;
#[cfg(feature = "amqp")]
pub mod amqp;
pub mod api;
pub mod channel;
mod drop_each;
mod error;
#[cfg(feature = "metrics")]
pub mod export;
pub mod future;
mod histogram;
mod pos;
mod ring;
mod stats;
mod sync;
mod wait;

#[cfg(feature = "stream")]
pub use ack::WorkerStream;
pub use ack::{
    AckQueue, AckQueueBuilder, BatchItem, Clock, DeadLetter, DeadReason, Deliveries, Delivery,
    LatencySnapshot, ManualClock, MonotonicClock, OwnedDeliveries, OwnedDelivery, Publisher,
    Redelivery, Seq, Tag, Worker,
};
#[allow(deprecated)]
pub use error::PublishError;
pub use error::{AckError, CapacityError, Closed, ConfigError, Full, PopError, PushError};
pub use histogram::HistogramSnapshot;
pub use ring::{IntoIter, Iter, Ring, TryIter};
pub use stats::{Rates, Stats};
pub use wait::{WaitSlot, WaitStrategy};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
