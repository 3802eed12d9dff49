//! The RabbitMQ server the AMQP tests run against, and the ways they break
//! the connection to it: the URLs from the environment (`.ci/rabbitmq`
//! exports them), queue names of their own deleted at the end, a TCP relay
//! on loopback whose connections a test kills or refuses, and the broker
//! stopped and started (`rabbitmqctl -n $ACKRING_RABBIT_NODE`).
//!
//! Without a variable a test prints why and passes, but where `CI` is set
//! (`.ci/run` sets it and starts a server) it fails instead: CI never
//! skips them.

// Each test binary uses part of this module.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};

/// The variable naming the server (plain AMQP).
pub const URL_VAR: &str = "ACKRING_AMQP_URL";
/// The variable naming the server's TLS listener.
pub const TLS_URL_VAR: &str = "ACKRING_AMQPS_URL";
/// The variable naming the PEM file of the authority that signed the TLS
/// listener's certificate.
pub const CA_VAR: &str = "ACKRING_AMQPS_CA";
/// The variable naming the RabbitMQ node, for `rabbitmqctl -n`.
pub const NODE_VAR: &str = "ACKRING_RABBIT_NODE";

/// Whether this run is CI's (which must never skip).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The value of `var`, or `None` after saying why the test is skipped
/// (a failure in CI).
pub fn required(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if in_ci() => panic!("{var} is not set, and CI is: {what} must run"),
        _ => {
            eprintln!("skipped: {var} is not set ({what}; `.ci/run` sets it)");
            None
        }
    }
}

/// A queue name no other test uses.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, SeqCst)
    )
}

/// Deletes queues `names`, their dead-letter queues and exchanges, on the
/// server at `url`.
pub fn delete_queues(url: &str, names: Vec<String>) {
    if names.is_empty() {
        return;
    }
    let url = url.to_owned();
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

/// The `host:port` of an AMQP URL (port 5672 if it names none), and where
/// it lies in the URL.
pub fn authority(url: &str) -> (String, usize, usize) {
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

/// A relay on loopback to the server of a URL: every connection made to
/// it is relayed to the server. [`kill`](Relay::kill) shuts both sockets
/// of every connection it relays, so the client loses its connection
/// abruptly and the broker sees it drop without a goodbye; while
/// [`down`](Relay::set_down), a new connection is shut at once, as a
/// broker that cannot be reached; while [`frozen`](Relay::freeze_replies),
/// nothing the server sends reaches the client (publisher confirmations
/// among it).
pub struct Relay {
    url: String,
    sockets: Arc<Mutex<Vec<TcpStream>>>,
    down: Arc<AtomicBool>,
    frozen: Arc<AtomicBool>,
}

impl Relay {
    /// A relay to the server of `url`.
    pub fn new(url: &str) -> Relay {
        let (upstream, from, to) = authority(url);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let port = listener.local_addr().expect("relay address").port();
        let sockets: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let down = Arc::new(AtomicBool::new(false));
        let frozen = Arc::new(AtomicBool::new(false));
        let (held, refusing, gate) = (Arc::clone(&sockets), Arc::clone(&down), Arc::clone(&frozen));
        // Runs as long as the test process: a blocked accept has no
        // tidier end.
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if refusing.load(SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let _ = relay_one(client, &upstream, &held, &gate);
            }
        });
        let through = format!("{}127.0.0.1:{port}{}", &url[..from], &url[to..]);
        Relay {
            url: through,
            sockets,
            down,
            frozen,
        }
    }

    /// The URL to connect through the relay.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Kills every connection it relays now; a frozen relay thaws for
    /// the connections that come next.
    pub fn kill(&self) {
        for socket in self.sockets.lock().unwrap().drain(..) {
            let _ = socket.shutdown(Shutdown::Both);
        }
        self.frozen.store(false, SeqCst);
    }

    /// Holds back everything the server sends until the next
    /// [`kill`](Relay::kill).
    pub fn freeze_replies(&self) {
        self.frozen.store(true, SeqCst);
    }

    /// Refuses new connections (`true`) or relays them again (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, SeqCst);
    }
}

/// Relays one connection: a thread each way; the server's side waits
/// while `frozen`.
fn relay_one(
    client: TcpStream,
    upstream: &str,
    held: &Mutex<Vec<TcpStream>>,
    frozen: &Arc<AtomicBool>,
) -> io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    held.lock()
        .unwrap()
        .extend([client.try_clone()?, server.try_clone()?]);
    let pump = |mut from: TcpStream, mut to: TcpStream, gate: Option<Arc<AtomicBool>>| {
        thread::spawn(move || {
            let mut buf = [0; 16 * 1024];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 {
                    break;
                }
                while gate.as_ref().is_some_and(|g| g.load(SeqCst)) {
                    thread::sleep(Duration::from_millis(1));
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Both);
        })
    };
    pump(client.try_clone()?, server.try_clone()?, None);
    pump(server, client, Some(Arc::clone(frozen)));
    Ok(())
}

/// The RabbitMQ node, stopped and started with `rabbitmqctl`.
pub struct Node(String);

impl Node {
    /// The node named by `ACKRING_RABBIT_NODE`, if it is set.
    pub fn from_env() -> Option<Node> {
        required(NODE_VAR, "the broker restart tests").map(Node)
    }

    fn ctl(&self, what: &str) {
        let out = Command::new("rabbitmqctl")
            .args(["-q", "-n", &self.0, what])
            .output()
            .expect("run rabbitmqctl");
        assert!(
            out.status.success(),
            "rabbitmqctl {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the broker application: every connection drops, no new one
    /// is accepted.
    pub fn stop(&self) {
        self.ctl("stop_app");
    }

    /// Starts the broker application again.
    pub fn start(&self) {
        self.ctl("start_app");
    }

    /// Stops the broker, waits `pause`, starts it again.
    pub fn restart(&self, pause: Duration) {
        self.stop();
        thread::sleep(pause);
        self.start();
    }
}
