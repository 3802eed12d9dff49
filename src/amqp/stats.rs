//! What a handle's connection has been through: whether it is up, how
//! many times it was restored, how many publishes were sent again, and
//! the last error it met.

use crate::api::Error;

/// A snapshot of a handle's connection and of its recovery, from
/// [`AmqpQueue::stats`](super::AmqpQueue::stats).
///
/// `connected` and `recovering` are both false when the handle is without
/// a connection for good (recovery off or given up, or the handle being
/// dropped).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AmqpStats {
    /// A connection is up now.
    pub connected: bool,
    /// The connection was lost and is being restored.
    pub recovering: bool,
    /// How many times a lost connection was restored.
    pub recoveries: u64,
    /// How many messages were published again because the confirmation
    /// of an earlier attempt was lost with the connection: each may be in
    /// the queue twice.
    pub republished: u64,
    /// The last error of the connection: what made it drop, or what the
    /// last failed reconnection attempt met. Its `Display` never shows the
    /// URL's password.
    pub last_error: Option<Error>,
}
