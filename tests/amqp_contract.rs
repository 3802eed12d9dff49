//! The contract of the ack API (`tests/contract/mod.rs`) on the AMQP
//! backend, against a real RabbitMQ server: the URL in `ACKRING_AMQP_URL`
//! (`amqp://guest:guest@127.0.0.1:5672/%2f` for a local server); and
//! beside it the checks only the AMQP backend has: recovery from a
//! severed connection (through a relay on loopback, `tests/broker`),
//! stale deliveries, what a call sees while the broker cannot be reached,
//! and the password kept out of every printed value.
//!
//! Without the variable the tests print why and pass, but where `CI` is
//! set (`.ci/run` sets it and starts a server) they fail instead: CI never
//! skips them.
//!
//! Every check gets queues of its own, deleted when it ends.

mod broker;
mod common;
mod contract;

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ackring::amqp::{AmqpQueue, AmqpQueueBuilder};
use ackring::api::{Acknowledge, Consumer, Error, Producer, Queue};
use ackring::AckError;
use broker::{authority, delete_queues, required, unique_name, Relay, URL_VAR};
use common::wait::wait_for;
use contract::{Config, Fixture};

/// The server to test against, if one is named.
fn rabbit() -> Option<Rabbit> {
    required(URL_VAR, "the AMQP contract tests").map(|url| Rabbit {
        url,
        made: Mutex::new(HashMap::new()),
    })
}

/// Queues on a RabbitMQ server, each with a name of its own.
struct Rabbit {
    url: String,
    /// The queues made, with their settings (every handle on a queue must
    /// declare it alike).
    made: Mutex<HashMap<String, Config>>,
}

impl Rabbit {
    fn builder(&self, url: &str, name: &str, config: Config) -> AmqpQueueBuilder {
        let mut builder = AmqpQueue::builder(url, name)
            .max_in_flight(config.prefetch)
            .max_backoff(Duration::from_millis(200));
        if let Some(k) = config.max_deliveries {
            builder = builder.max_deliveries(k);
        }
        if let Some(ttl) = config.ttl {
            builder = builder.ttl(ttl);
        }
        builder
    }

    fn connect(&self, url: &str, name: &str, config: Config) -> AmqpQueue<Vec<u8>> {
        self.builder(url, name, config)
            .connect()
            .expect("connect to the RabbitMQ server")
    }

    fn config_of(&self, name: &str) -> Config {
        self.made.lock().unwrap()[name]
    }

    /// A new queue's name, recorded for deletion.
    fn name(&self, config: Config) -> String {
        let name = unique_name("ackring-contract");
        self.made.lock().unwrap().insert(name.clone(), config);
        name
    }
}

impl Fixture for Rabbit {
    type Q = AmqpQueue<Vec<u8>>;

    fn queue(&self, config: Config) -> Self::Q {
        let name = self.name(config);
        self.connect(&self.url, &name, config)
    }

    fn another(&self, q: &Self::Q) -> Self::Q {
        let config = self.config_of(q.queue_name());
        self.connect(&self.url, q.queue_name(), config)
    }

    fn killable(&self, q: &Self::Q) -> (Self::Q, Box<dyn Fn() + Send + Sync>) {
        let config = self.config_of(q.queue_name());
        let relay = Relay::new(&self.url);
        let victim = self.connect(relay.url(), q.queue_name(), config);
        // A crashed process does not come back.
        let kill = move || {
            relay.set_down(true);
            relay.kill();
        };
        (victim, Box::new(kill))
    }

    fn severable(&self, q: &Self::Q) -> (Self::Q, Box<dyn Fn() + Send + Sync>) {
        let config = self.config_of(q.queue_name());
        let relay = Relay::new(&self.url);
        let handle = self.connect(relay.url(), q.queue_name(), config);
        (handle, Box::new(move || relay.kill()))
    }
}

impl Drop for Rabbit {
    fn drop(&mut self) {
        let names: Vec<String> = self.made.lock().unwrap().keys().cloned().collect();
        delete_queues(&self.url, names);
    }
}

contract_suite!(rabbit());

#[test]
fn authority_of_urls() {
    let (host, from, to) = authority("amqp://guest:guest@127.0.0.1:5672/%2f");
    assert_eq!(host, "127.0.0.1:5672");
    assert_eq!(
        &"amqp://guest:guest@127.0.0.1:5672/%2f"[from..to],
        "127.0.0.1:5672"
    );
    assert_eq!(authority("amqp://localhost").0, "localhost:5672");
}

/// A message's own time to live (`expiration`): not delivered in time, it
/// goes to the dead letters with reason `Expired`, while one published
/// beside it without a time to live waits as long as it must.
#[test]
fn a_messages_own_ttl_expires_it_on_the_broker() {
    let Some(fx) = rabbit() else { return };
    let q = fx.queue(Config {
        prefetch: 1,
        ..Config::default()
    });
    q.publish(contract::msg(0)).expect("publish");
    let held = q
        .receive_timeout(fx.patience())
        .expect("receive")
        .expect("a delivery");
    q.publish_with_ttl(contract::msg(1), Duration::from_millis(200))
        .expect("publish with a time to live");
    q.publish(contract::msg(2)).expect("publish");
    std::thread::sleep(Duration::from_millis(500));
    held.ack().expect("ack");
    let d = q
        .receive_timeout(fx.patience())
        .expect("receive")
        .expect("the message without a time to live");
    assert_eq!(contract::num(&d), 2);
    d.ack().expect("ack");
    let dead = q
        .receive_dead_letter_timeout(fx.patience())
        .expect("dead letters")
        .expect("the expired message");
    assert_eq!(contract::num(&dead), 1);
    assert_eq!(dead.reason(), ackring::DeadReason::Expired);
    q.close();
}

/// Waits for the handle to be connected again after `recoveries` earlier
/// recoveries.
fn recovered(q: &AmqpQueue<Vec<u8>>, recoveries: u64) -> bool {
    wait_for(Duration::from_secs(10), || {
        let stats = q.stats();
        stats.connected && stats.recoveries >= recoveries
    })
}

/// Deliveries handed out before the connection was lost are stale once it
/// is restored: acks and nacks, single and batch, return `Stale` at once
/// (no frame on the new connection, where their tags would name other
/// deliveries), and the broker delivers each message again, marked
/// redelivered; nothing panics or hangs.
#[test]
fn stale_settles_after_recovery() {
    let Some(fx) = rabbit() else { return };
    let config = Config::default();
    let name = fx.name(config);
    let relay = Relay::new(&fx.url);
    let q = fx.connect(relay.url(), &name, config);
    for i in 0..4 {
        q.publish(contract::msg(i)).expect("publish");
    }
    let held: Vec<_> = (0..4)
        .map(|_| {
            q.receive_timeout(fx.patience())
                .unwrap()
                .expect("a delivery")
        })
        .collect();
    relay.kill();
    assert!(recovered(&q, 1), "not recovered: {:?}", q.stats());
    let mut held = held.into_iter();
    let start = Instant::now();
    let (a, b) = (held.next().unwrap(), held.next().unwrap());
    assert!(matches!(a.ack(), Err(Error::Ack(AckError::Stale))));
    assert!(matches!(b.nack(false), Err(Error::Ack(AckError::Stale))));
    let mut errors = Vec::new();
    assert_eq!(q.ack_batch(held, &mut errors), 0);
    assert_eq!(errors.len(), 2);
    assert!(errors
        .iter()
        .all(|(_, e)| matches!(e, Error::Ack(AckError::Stale))));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "a stale settle waited"
    );
    // Each comes again, on the new connection, and is acked there.
    let mut again: Vec<_> = (0..4)
        .map(|_| {
            let d = q
                .receive_timeout(fx.patience())
                .unwrap()
                .expect("redelivered");
            let seen = (contract::num(&d), d.redelivered());
            d.ack().expect("ack on the new connection");
            seen
        })
        .collect();
    again.sort_unstable();
    assert_eq!(again, [(0, true), (1, true), (2, true), (3, true)]);
    assert!(q.receive_timeout(fx.quiet()).unwrap().is_none());
    assert_eq!(q.stats().recoveries, 1);
}

/// Recovery declares the queue, its dead-letter exchange and queue again:
/// deleted behind the handle's back, they are there once it reconnects,
/// and a rejected message reaches the dead letters.
#[test]
fn recovery_declares_the_queue_again() {
    let Some(fx) = rabbit() else { return };
    let config = Config::default();
    let name = fx.name(config);
    let relay = Relay::new(&fx.url);
    let q = fx.connect(relay.url(), &name, config);
    delete_queues(&fx.url, vec![name.clone()]);
    // Without its queue the message comes back: no route.
    let refused = q.publish(contract::msg(0)).expect_err("no queue");
    assert_eq!(
        refused.error().reply_code(),
        Some(312),
        "{:?}",
        refused.error()
    );
    relay.kill();
    q.publish(contract::msg(1))
        .expect("the queue is declared again on the new connection");
    let d = q
        .receive_timeout(fx.patience())
        .unwrap()
        .expect("a delivery");
    assert_eq!(contract::num(&d), 1);
    d.nack(false).expect("reject");
    let dead = q
        .receive_dead_letter_timeout(fx.patience())
        .unwrap()
        .expect("the dead letters are declared again too");
    assert_eq!(contract::num(&dead), 1);
    assert_eq!(q.stats().recoveries, 1);
}

/// While the broker cannot be reached, a publish waits for the connection
/// until its call timeout, then fails with `Unreachable` and hands the
/// message back; a receive waits (its timeout passes with nothing). Once
/// the broker is back the same handle publishes and receives, and the
/// message that timed out was never published.
#[test]
fn publish_times_out_while_the_broker_is_unreachable() {
    let Some(fx) = rabbit() else { return };
    let config = Config::default();
    let name = fx.name(config);
    let relay = Relay::new(&fx.url);
    let timeout = Duration::from_millis(1500);
    let q: AmqpQueue<Vec<u8>> = fx
        .builder(relay.url(), &name, config)
        .call_timeout(timeout)
        .connect()
        .expect("connect");
    relay.set_down(true);
    relay.kill();
    assert!(wait_for(Duration::from_secs(5), || !q.stats().connected));
    let start = Instant::now();
    let failed = q
        .publish(contract::msg(0))
        .expect_err("no broker to confirm");
    let waited = start.elapsed();
    assert!(
        waited >= timeout && waited < timeout + Duration::from_secs(2),
        "waited {waited:?}"
    );
    assert!(failed.error().is_unreachable(), "{:?}", failed.error());
    assert!(failed.error().source().is_some(), "the cause is kept");
    assert_eq!(failed.into_inner(), contract::msg(0));
    assert!(q
        .receive_timeout(Duration::from_millis(300))
        .unwrap()
        .is_none());
    let stats = q.stats();
    assert!(!stats.connected && stats.recovering, "{stats:?}");
    assert!(stats.last_error.is_some());

    relay.set_down(false);
    q.publish(contract::msg(1))
        .expect("published once the broker is back");
    let d = q
        .receive_timeout(fx.patience())
        .unwrap()
        .expect("a delivery");
    assert_eq!(contract::num(&d), 1);
    d.ack().expect("ack");
    assert!(q.receive_timeout(fx.quiet()).unwrap().is_none());
    assert_eq!(q.stats().recoveries, 1);
}

/// With recovery off, a lost connection fails the calls at once with
/// `Unreachable`; with a give-up time, once it has passed.
#[test]
fn recovery_off_or_given_up_fails_the_calls() {
    let Some(fx) = rabbit() else { return };
    let config = Config::default();
    let name = fx.name(config);

    let relay = Relay::new(&fx.url);
    let off: AmqpQueue<Vec<u8>> = fx
        .builder(relay.url(), &name, config)
        .recovery(false)
        .connect()
        .expect("connect");
    relay.kill();
    assert!(wait_for(Duration::from_secs(5), || !off.stats().connected));
    let start = Instant::now();
    let failed = off.publish(contract::msg(0)).expect_err("no connection");
    assert!(failed.error().is_unreachable(), "{:?}", failed.error());
    assert!(matches!(off.receive(), Err(Error::Unreachable(_))));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "waited for nothing"
    );
    let stats = off.stats();
    assert!(!stats.connected && !stats.recovering, "{stats:?}");

    let relay = Relay::new(&fx.url);
    let giving_up: AmqpQueue<Vec<u8>> = fx
        .builder(relay.url(), &name, config)
        .max_backoff(Duration::from_millis(100))
        .give_up_after(Duration::from_millis(500))
        .connect()
        .expect("connect");
    relay.set_down(true);
    relay.kill();
    assert!(
        wait_for(Duration::from_secs(5), || {
            let stats = giving_up.stats();
            !stats.connected && !stats.recovering
        }),
        "did not give up: {:?}",
        giving_up.stats()
    );
    relay.set_down(false);
    let start = Instant::now();
    let failed = giving_up.publish(contract::msg(1)).expect_err("given up");
    assert!(failed.error().is_unreachable(), "{:?}", failed.error());
    assert!(matches!(
        giving_up.receive_timeout(Duration::from_secs(5)),
        Err(Error::Unreachable(_))
    ));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "waited for nothing"
    );
    assert_eq!(giving_up.stats().recoveries, 0);
}

/// A publish whose confirmation is lost with the connection is published
/// again on the next one: confirmed, counted in `republished`, and in the
/// queue at least once. The relay holds back the broker's replies, so
/// every publish is taken by the broker and unconfirmed when the
/// connection drops.
#[test]
fn unconfirmed_publishes_are_published_again() {
    let Some(fx) = rabbit() else { return };
    let config = Config::default();
    let name = fx.name(config);
    let relay = Relay::new(&fx.url);
    let q = fx.connect(relay.url(), &name, config);
    let n = 100;
    relay.freeze_replies();
    let confirmed = std::thread::scope(|s| {
        let publishing = s.spawn(|| {
            futures::executor::block_on(futures::future::join_all(
                (0..n).map(|i| q.publish_async(contract::msg(i))),
            ))
        });
        // Long enough for every publish to reach the broker.
        std::thread::sleep(Duration::from_secs(1));
        assert!(
            !publishing.is_finished(),
            "confirmed with the replies held back"
        );
        relay.kill();
        publishing.join().unwrap()
    });
    for (i, c) in confirmed.into_iter().enumerate() {
        c.unwrap_or_else(|e| panic!("publish {i}: {}", e.error()));
    }
    let consumer = fx.another(&q);
    let mut got = Vec::new();
    while let Some(d) = consumer.receive_timeout(fx.quiet()).unwrap() {
        got.push(contract::num(&d));
        d.ack().expect("ack");
    }
    let distinct: std::collections::BTreeSet<_> = got.iter().copied().collect();
    let stats = q.stats();
    let duplicates = got.len() - distinct.len();
    eprintln!(
        "confirmations lost with the connection: published {n}, consumed {} distinct, \
         {duplicates} duplicates, {} published again",
        distinct.len(),
        stats.republished
    );
    assert_eq!(distinct.len(), n, "lost some");
    assert_eq!(stats.republished, n as u64, "each was unconfirmed");
    assert!(duplicates > 0 && duplicates as u64 <= stats.republished);
    assert_eq!(stats.recoveries, 1);
}

/// The URL's password is in no printed value: not the builder's `Debug`,
/// not the handle's, not any error of a connection that failed, whatever
/// its cause.
#[test]
fn the_password_is_never_printed() {
    let secret = "pw-s3cret-Xy";
    let url = format!("amqp://guest:{secret}@127.0.0.1:1/%2f");
    let builder = AmqpQueue::builder(url.as_str(), "q");
    let shown = format!("{builder:?}");
    assert!(!shown.contains(secret), "{shown}");
    assert!(
        shown.contains("amqp://guest:***@127.0.0.1:1/%2f"),
        "{shown}"
    );
    let chain = |e: &Error| {
        let mut text = format!("{e} {e:?}");
        let mut source = e.source();
        while let Some(s) = source {
            text += &format!(" / {s} {s:?}");
            source = s.source();
        }
        text
    };
    // Nothing listens on port 1.
    let e = builder.connect::<Vec<u8>>().expect_err("nothing listens");
    assert!(e.is_unreachable(), "{e:?}");
    assert!(!chain(&e).contains(secret), "{}", chain(&e));
    // A URL that does not parse.
    let e = AmqpQueue::builder(format!("amqp://guest:{secret}@host:port/"), "q")
        .connect::<Vec<u8>>()
        .expect_err("not a URL");
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    assert!(!chain(&e).contains(secret), "{}", chain(&e));

    let Some(fx) = rabbit() else { return };
    // A password the broker refuses.
    let (host, from, to) = authority(&fx.url);
    let wrong = format!("amqp://guest:{secret}@{host}{}", &fx.url[to..]);
    let _ = from;
    let e = AmqpQueue::builder(wrong.as_str(), unique_name("ackring-login"))
        .connect::<Vec<u8>>()
        .expect_err("a wrong password");
    assert!(!chain(&e).contains(secret), "{}", chain(&e));
    assert_eq!(e.reply_code(), Some(403), "the login refused: {e:?}");
    // A live handle, and the last error of a lost connection.
    let config = Config::default();
    let name = fx.name(config);
    let relay = Relay::new(&fx.url);
    let q = fx.connect(relay.url(), &name, config);
    relay.kill();
    assert!(recovered(&q, 1));
    let shown = format!("{q:?} {:?}", q.stats());
    assert!(!shown.contains("guest:guest"), "{shown}");
    let last = q.stats().last_error.expect("the loss is recorded");
    assert!(!chain(&last).contains("guest:guest"), "{}", chain(&last));
}
