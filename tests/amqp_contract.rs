//! The contract of the ack API (`tests/contract/mod.rs`) on the AMQP
//! backend, against a real RabbitMQ server: the URL in `ACKRING_AMQP_URL`
//! (`amqp://guest:guest@127.0.0.1:5672/%2f` for a local server).
//!
//! Without the variable the tests print why and pass, but where `CI` is
//! set (`.ci/run` sets it and starts a server) they fail instead: CI never
//! skips them.
//!
//! Every check gets queues of its own, deleted when it ends. The killed
//! connection goes through a TCP relay on loopback that this file runs:
//! killing it shuts both sockets, so the client loses its connection
//! abruptly and the broker sees it drop without a goodbye.

mod contract;

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use ackring::amqp::AmqpQueue;
use contract::{Config, Fixture};
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};

/// The variable naming the server.
const URL_VAR: &str = "ACKRING_AMQP_URL";

/// Whether this run is CI's (which must never skip).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The server to test against, if one is named.
fn rabbit() -> Option<Rabbit> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(Rabbit {
            url,
            made: Mutex::new(HashMap::new()),
        }),
        _ if in_ci() => panic!(
            "{URL_VAR} is not set, and CI is: the AMQP contract tests must run against a server"
        ),
        _ => {
            eprintln!(
                "skipped: no RabbitMQ server named. Set {URL_VAR}=amqp://guest:guest@127.0.0.1:5672/%2f \
                 to run the AMQP contract tests."
            );
            None
        }
    }
}

/// Queues on a RabbitMQ server, each with a name of its own.
struct Rabbit {
    url: String,
    /// The queues made, with their settings (every handle on a queue must
    /// declare it alike).
    made: Mutex<HashMap<String, Config>>,
}

impl Rabbit {
    fn connect(&self, url: &str, name: &str, config: Config) -> AmqpQueue<Vec<u8>> {
        let mut builder = AmqpQueue::builder(url, name).max_in_flight(config.prefetch);
        if let Some(k) = config.max_deliveries {
            builder = builder.max_deliveries(k);
        }
        builder.connect().expect("connect to the RabbitMQ server")
    }

    fn config_of(&self, name: &str) -> Config {
        self.made.lock().unwrap()[name]
    }
}

impl Fixture for Rabbit {
    type Q = AmqpQueue<Vec<u8>>;

    fn queue(&self, config: Config) -> Self::Q {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!(
            "ackring-contract-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, SeqCst)
        );
        self.made.lock().unwrap().insert(name.clone(), config);
        self.connect(&self.url, &name, config)
    }

    fn another(&self, q: &Self::Q) -> Self::Q {
        let config = self.config_of(q.queue_name());
        self.connect(&self.url, q.queue_name(), config)
    }

    fn killable(&self, q: &Self::Q) -> (Self::Q, Box<dyn Fn() + Send + Sync>) {
        let config = self.config_of(q.queue_name());
        let (url, kill) = relay(&self.url);
        (self.connect(&url, q.queue_name(), config), kill)
    }
}

impl Drop for Rabbit {
    fn drop(&mut self) {
        let names: Vec<String> = self.made.lock().unwrap().keys().cloned().collect();
        if names.is_empty() {
            return;
        }
        let url = self.url.clone();
        let deleted = futures::executor::block_on(async move {
            let conn = Connection::connect(&url, ConnectionProperties::default()).await?;
            let ch = conn.create_channel().await?;
            for name in names {
                let options = QueueDeleteOptions::default();
                ch.queue_delete(&name, options).await?;
                ch.queue_delete(&format!("{name}.dead"), options).await?;
                ch.exchange_delete(&format!("{name}.dlx"), ExchangeDeleteOptions::default())
                    .await?;
            }
            conn.close(200, "done").await
        });
        if let Err(e) = deleted {
            eprintln!("could not delete the test queues: {e}");
        }
    }
}

/// The `host:port` of an AMQP URL (port 5672 if it names none).
fn authority(url: &str) -> (String, usize, usize) {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let at = rest.find('@').map_or(0, |i| i + 1);
    let end = rest[at..].find('/').map_or(rest.len(), |i| at + i);
    let host = &rest[at..end];
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5672")
    };
    (host, start + at, start + end)
}

/// A relay on loopback to the server of `url`, for one connection: the
/// URL to connect through it, and the call that kills the connection (both
/// sockets shut down at once).
fn relay(url: &str) -> (String, Box<dyn Fn() + Send + Sync>) {
    let (upstream, from, to) = authority(url);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
    let port = listener.local_addr().expect("relay address").port();
    let sockets: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    let held = Arc::clone(&sockets);
    thread::spawn(move || -> io::Result<()> {
        let (client, _) = listener.accept()?;
        let server = TcpStream::connect(&upstream)?;
        held.lock()
            .unwrap()
            .extend([client.try_clone()?, server.try_clone()?]);
        let pump = |mut from: TcpStream, mut to: TcpStream| {
            thread::spawn(move || {
                let _ = io::copy(&mut from, &mut to);
                let _ = to.shutdown(Shutdown::Both);
            })
        };
        pump(client.try_clone()?, server.try_clone()?);
        pump(server, client);
        Ok(())
    });
    let through = format!("{}127.0.0.1:{port}{}", &url[..from], &url[to..]);
    let kill = move || {
        for socket in sockets.lock().unwrap().iter() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    };
    (through, Box::new(kill))
}

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

contract_suite!(rabbit());
