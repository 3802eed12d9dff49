//! What a lapin error means: the broker is unreachable (the connection or
//! a channel is gone; recovery restores them), it refused the call with a
//! reply code, or the two sides do not understand each other. Only
//! [`Error::Unreachable`] makes a handle recover its connection.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use lapin::protocol::{AMQPError, AMQPErrorKind, AMQPHardError};

use crate::api::Error;

/// The [`Error`] a lapin error stands for.
pub(super) fn classify(e: lapin::Error) -> Error {
    use lapin::Error as E;
    match &e {
        E::ProtocolError(amqp) => closed_by_broker(amqp, &e),
        // The connection or a channel is gone, or the socket failed.
        E::IOError(_)
        | E::InvalidConnectionState(_)
        | E::InvalidChannelState(_)
        | E::MissingHeartbeatError => Error::Unreachable(Arc::new(e)),
        // A frame that does not parse or does not serialise, a channel the
        // client does not know, a version the broker does not speak, more
        // channels than negotiated: not something a retry mends.
        _ => Error::Protocol(Arc::new(e)),
    }
}

/// A channel or the connection closed by the broker with `amqp`'s reply
/// code:
///
/// - a forced close (320: the broker shuts down or an operator closed the
///   connection) and an internal error (541) are the broker going away;
/// - the frame errors (501–505) and 540 are protocol errors;
/// - any other code is a refusal.
fn closed_by_broker(amqp: &AMQPError, e: &lapin::Error) -> Error {
    let code = amqp.get_id();
    let source = || Arc::new(e.clone());
    match amqp.kind() {
        AMQPErrorKind::Hard(AMQPHardError::CONNECTIONFORCED | AMQPHardError::INTERNALERROR) => {
            Error::Unreachable(source())
        }
        AMQPErrorKind::Hard(
            AMQPHardError::FRAMEERROR
            | AMQPHardError::SYNTAXERROR
            | AMQPHardError::COMMANDINVALID
            | AMQPHardError::CHANNELERROR
            | AMQPHardError::UNEXPECTEDFRAME
            | AMQPHardError::NOTIMPLEMENTED,
        ) => Error::Protocol(source()),
        _ => Error::Refused {
            code: Some(code),
            text: amqp.get_message().as_str().to_owned(),
            source: Some(source()),
        },
    }
}

/// `e` as an [`Error::Unreachable`]: itself if it is one, else with `e`
/// as its source (a recovery that gave up after a refusal, say).
pub(super) fn unreachable(e: &Error) -> Error {
    match e {
        Error::Unreachable(_) => e.clone(),
        other => Error::Unreachable(Arc::new(other.clone())),
    }
}

/// The broker did not answer within `wait`.
pub(super) fn timed_out(what: &str, wait: Duration) -> Error {
    Error::Unreachable(Arc::new(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what}: no answer from the broker within {wait:?}"),
    )))
}

/// An error this backend describes itself, as text: the source of an
/// [`Error`] where no library error says it.
#[derive(Debug)]
pub(super) struct Why(pub(super) Cow<'static, str>);

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Why {}

impl Why {
    /// An [`Error::Unreachable`] for what `text` says.
    pub(super) fn unreachable(text: impl Into<Cow<'static, str>>) -> Error {
        Error::Unreachable(Arc::new(Why(text.into())))
    }

    /// An [`Error::Protocol`] for what `text` says.
    pub(super) fn protocol(text: impl Into<Cow<'static, str>>) -> Error {
        Error::Protocol(Arc::new(Why(text.into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::protocol::AMQPSoftError;

    fn amqp(kind: AMQPErrorKind, text: &str) -> lapin::Error {
        lapin::Error::ProtocolError(AMQPError::new(kind, text.into()))
    }

    #[test]
    fn refusals_keep_their_reply_code_and_source() {
        let e = classify(amqp(
            AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED),
            "PRECONDITION_FAILED - inequivalent arg 'x-delivery-limit'",
        ));
        assert_eq!(e.reply_code(), Some(406));
        match &e {
            Error::Refused { text, source, .. } => {
                assert!(text.starts_with("PRECONDITION_FAILED"), "{text}");
                assert!(source.is_some());
            }
            other => panic!("{other:?}"),
        }
        assert!(std::error::Error::source(&e).is_some());
        let e = classify(amqp(
            AMQPErrorKind::Hard(AMQPHardError::NOTALLOWED),
            "vhost not found",
        ));
        assert_eq!(e.reply_code(), Some(530));
    }

    #[test]
    fn a_forced_close_and_a_lost_socket_are_unreachable() {
        let forced = classify(amqp(
            AMQPErrorKind::Hard(AMQPHardError::CONNECTIONFORCED),
            "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'",
        ));
        assert!(forced.is_unreachable(), "{forced:?}");
        let io = classify(io::Error::from(io::ErrorKind::ConnectionReset).into());
        assert!(io.is_unreachable(), "{io:?}");
        let gone = classify(lapin::Error::InvalidChannelState(
            lapin::ChannelState::Error,
        ));
        assert!(gone.is_unreachable(), "{gone:?}");
        assert!(classify(lapin::Error::MissingHeartbeatError).is_unreachable());
    }

    #[test]
    fn frame_errors_are_protocol_errors() {
        let e = classify(amqp(
            AMQPErrorKind::Hard(AMQPHardError::UNEXPECTEDFRAME),
            "bad frame",
        ));
        assert!(matches!(e, Error::Protocol(_)), "{e:?}");
        let e = classify(lapin::Error::ChannelsLimitReached);
        assert!(matches!(e, Error::Protocol(_)), "{e:?}");
    }

    #[test]
    fn unreachable_wraps_other_errors_as_its_source() {
        let refused = classify(amqp(
            AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED),
            "no",
        ));
        let e = unreachable(&refused);
        assert!(e.is_unreachable());
        let source = std::error::Error::source(&e).expect("a source");
        assert!(source.to_string().contains("403"), "{source}");
    }
}
