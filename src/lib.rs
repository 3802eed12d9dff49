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
//! Dmitry Vyukov's bounded MPMC queue. Every slot carries a sequence
//! number (`seq`, the *stamp*) saying whose turn it is: a slot whose `seq`
//! equals a producer's position is free for that producer; one whose `seq`
//! equals a consumer's position + 1 holds that consumer's item; a pop
//! stores position + one lap, handing the slot to the producer of the next
//! lap. Producers claim positions on the `tail` cursor and consumers on the
//! `head` cursor, one CAS each. A try that finds its slot not ready reads
//! the other cursor to tell an empty (full) ring from a thread that is
//! mid-operation at that slot, which it waits for: the try calls are
//! linearizable.
//!
//! The two cursors are written by different sets of threads, so each sits
//! on its own cache line (`crossbeam_utils::CachePadded`): otherwise every
//! push would invalidate the line every pop reads, and vice versa.
//!
//! The cursors carry no data and are updated with `Relaxed` CAS. The
//! happens-before edges come from the slots: the producer's
//! `seq.store(pos + 1, Release)` pairs with the consumer's `Acquire` load
//! (the item's write is visible to its read), and the consumer's
//! `seq.store(pos + lap, Release)` pairs with the next producer's
//! `Acquire` load (the read is done before the slot is overwritten). The
//! [`ring`](crate::Ring) source documents every atomic operation with the
//! operation it pairs with.
//!
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
pub use error::{
    AckError, CapacityError, Closed, ConfigError, Full, PopError, PublishError, PushError,
};
pub use histogram::HistogramSnapshot;
pub use ring::{IntoIter, Iter, Ring, TryIter};
pub use stats::{Rates, Stats};
pub use wait::{WaitSlot, WaitStrategy};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
