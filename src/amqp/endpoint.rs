//! Where the broker is: the URL, parsed once when a handle connects and
//! kept for every reconnection, the certificates a TLS connection trusts,
//! and the URL as it may be printed, with its password masked.
//!
//! The URL's password is in no `Debug` or `Display` output and in no
//! error of this crate: a URL that does not parse is reported without the
//! URL, and the parsed form (whose `Debug` shows the password) is never
//! printed.

use std::fmt;

use lapin::uri::{AMQPScheme, AMQPUri};
use lapin::{Connection, ConnectionProperties};

use super::error::classify;
use crate::api::Error;
use crate::error::ConfigError;

/// The broker to connect to, and how.
pub(super) struct Endpoint {
    /// Holds the password: never printed.
    uri: AMQPUri,
    /// Extra trusted certificates (PEM) for `amqps://`.
    #[cfg(feature = "tls")]
    ca_pem: Option<String>,
}

impl Endpoint {
    /// Parses `raw`, an `amqp://` or (with the `tls` feature) `amqps://`
    /// URL; `ca_pem` is what a TLS connection trusts besides the system's
    /// roots.
    pub(super) fn parse(
        raw: &str,
        #[cfg(feature = "tls")] ca_pem: Option<String>,
    ) -> Result<Self, Error> {
        let invalid = |reason| {
            Error::Config(ConfigError::Invalid {
                field: "url",
                reason,
            })
        };
        // The parser's message quotes the URL, password and all: it is
        // not passed on.
        let mut uri: AMQPUri = raw.parse().map_err(|_| {
            invalid("not an AMQP URL (amqp://user:password@host:port/vhost, the vhost URL-encoded)")
        })?;
        // lapin's parser takes the host from the URL's domain name only,
        // and puts `localhost` where the host is an IP address.
        let host = url::Url::parse(raw)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned));
        if let Some(host) = host {
            uri.authority.host = host;
        }
        if uri.scheme == AMQPScheme::AMQPS && !cfg!(feature = "tls") {
            // Without TLS, lapin would send the credentials in the clear
            // to the TLS port.
            return Err(invalid(
                "amqps:// needs the crate's `tls` feature; this build has no TLS",
            ));
        }
        Ok(Endpoint {
            uri,
            #[cfg(feature = "tls")]
            ca_pem,
        })
    }

    /// Opens a connection to the broker.
    pub(super) async fn connect(&self, props: ConnectionProperties) -> Result<Connection, Error> {
        #[cfg(feature = "tls")]
        let connected = {
            let tls = lapin::tcp::OwnedTLSConfig {
                cert_chain: self.ca_pem.clone(),
                ..Default::default()
            };
            Connection::connect_uri_with_config(self.uri.clone(), props, tls).await
        };
        #[cfg(not(feature = "tls"))]
        let connected = Connection::connect_uri(self.uri.clone(), props).await;
        connected.map_err(classify)
    }
}

/// A URL as it may be printed: its password replaced by `***`; the whole
/// of it replaced if it does not parse (its parts are then unknown).
pub(super) struct Redacted<'a>(pub(super) &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(self.0) {
            Ok(mut url) if !url.cannot_be_a_base() => {
                if url.password().is_some() && url.set_password(Some("***")).is_err() {
                    return f.write_str("<a URL that cannot be shown>");
                }
                f.write_str(url.as_str())
            }
            _ => f.write_str("<not a URL>"),
        }
    }
}

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Endpoint, Error> {
        Endpoint::parse(
            raw,
            #[cfg(feature = "tls")]
            None,
        )
    }

    #[test]
    fn the_password_is_masked() {
        let shown = Redacted("amqp://app:s3cret%2Fpw@broker.example:5671/prod").to_string();
        assert_eq!(shown, "amqp://app:***@broker.example:5671/prod");
        let shown = Redacted("amqps://app:s3cret@10.0.0.7/%2f").to_string();
        assert_eq!(shown, "amqps://app:***@10.0.0.7/%2f");
        assert_eq!(Redacted("amqp://localhost").to_string(), "amqp://localhost");
        // Not a URL: nothing of it is shown.
        assert_eq!(Redacted("app:s3cret@broker").to_string(), "<not a URL>");
        assert_eq!(
            format!("{:?}", Redacted("amqp://a:b@h")),
            "\"amqp://a:***@h\""
        );
    }

    #[test]
    fn an_invalid_url_is_a_config_error_without_the_url() {
        let err = parse("amqp://app:s3cret@broker:notaport/x")
            .err()
            .expect("invalid");
        assert!(matches!(
            err,
            Error::Config(ConfigError::Invalid { field: "url", .. })
        ));
        assert!(!format!("{err} {err:?}").contains("s3cret"));
    }

    #[test]
    fn an_ip_address_is_the_host() {
        let e = parse("amqp://guest:guest@10.1.2.3:5673/%2f").expect("valid");
        assert_eq!(e.uri.authority.host, "10.1.2.3");
        assert_eq!(e.uri.authority.port, 5673);
        assert_eq!(e.uri.vhost, "/");
        let e = parse("amqp://guest:guest@broker.example/%2f").expect("valid");
        assert_eq!(e.uri.authority.host, "broker.example");
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn amqps_without_the_tls_feature_is_refused() {
        let err = parse("amqps://guest:guest@broker.example/%2f")
            .err()
            .expect("refused");
        assert!(matches!(
            err,
            Error::Config(ConfigError::Invalid { field: "url", .. })
        ));
    }

    #[cfg(feature = "tls")]
    #[test]
    fn amqps_with_the_tls_feature_is_taken() {
        let e = parse("amqps://guest:guest@broker.example/%2f").expect("valid");
        assert_eq!(e.uri.scheme, AMQPScheme::AMQPS);
        assert_eq!(e.uri.authority.port, 5671);
    }
}
