//! `amqps://` (feature `tls`) against the TLS listener of the RabbitMQ node
//! that `.ci/run` starts, whose certificate is signed by an authority
//! `.ci/rabbitmq` makes for the run (`ACKRING_AMQPS_URL`,
//! `ACKRING_AMQPS_CA`): trusted through the builder, a handle publishes,
//! receives and recovers a severed connection over TLS; not trusted, the
//! connection is refused.
//!
//! Without the variables the tests print why and pass; where `CI` is set
//! they fail instead.

mod broker;
mod common;

use std::error::Error as _;
use std::time::Duration;

use ackring::amqp::AmqpQueue;
use ackring::api::{Acknowledge, Consumer, Error, Producer};
use broker::{required, unique_name, Relay, CA_VAR, TLS_URL_VAR};
use common::wait::wait_for;

/// The TLS URL and the authority's PEM, if both are named.
fn tls_server() -> Option<(String, String)> {
    let url = required(TLS_URL_VAR, "the TLS tests")?;
    let ca = required(CA_VAR, "the TLS tests")?;
    let pem = std::fs::read_to_string(&ca).unwrap_or_else(|e| panic!("read {ca}: {e}"));
    Some((url, pem))
}

/// Every message of an error's chain of sources.
fn chain(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text += &format!(" / {s}");
        source = s.source();
    }
    text
}

#[test]
fn a_trusted_broker_is_reached_over_tls_and_recovered() {
    let Some((url, pem)) = tls_server() else {
        return;
    };
    // Through a relay, to sever the connection: the relay passes the TLS
    // bytes as they are, and the certificate names 127.0.0.1 too.
    let relay = Relay::new(&url);
    let q: AmqpQueue<Vec<u8>> = AmqpQueue::builder(relay.url(), unique_name("ackring-tls"))
        .tls_ca_pem(pem)
        .max_backoff(Duration::from_millis(200))
        .connect()
        .expect("connect over TLS with the authority trusted");
    q.publish(b"over tls".to_vec()).expect("publish");
    let d = q
        .receive_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("a delivery");
    assert_eq!(&**d, b"over tls");
    d.ack().expect("ack");

    relay.kill();
    q.publish(b"after the cut".to_vec())
        .expect("published on the restored TLS connection");
    // The cut may drop the ack on its way (in the relay or the socket
    // buffers): the broker then delivers the first message again, marked
    // redelivered, before the second.
    let mut d = q
        .receive_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("a delivery");
    if &**d == b"over tls" {
        assert!(d.redelivered(), "a second delivery is marked redelivered");
        d.ack().expect("ack");
        d = q
            .receive_timeout(Duration::from_secs(10))
            .unwrap()
            .expect("a delivery");
    }
    assert_eq!(&**d, b"after the cut");
    d.ack().expect("ack");
    assert!(wait_for(Duration::from_secs(5), || q.stats().recoveries == 1));
    q.delete().expect("delete the queue");
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let Some((url, _)) = tls_server() else { return };
    let e = AmqpQueue::builder(url.as_str(), unique_name("ackring-tls"))
        .connect::<Vec<u8>>()
        .expect_err("a certificate the client does not trust");
    let text = chain(&e);
    assert!(e.is_unreachable(), "{e:?}");
    assert!(text.contains("certificate"), "{text}");
    assert!(!text.contains("guest:guest"), "{text}");
    eprintln!("untrusted certificate: {text}");
}
