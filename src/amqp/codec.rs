//! How messages become AMQP bodies and back: [`Raw`] bytes, or with the
//! `json` feature [`Json`], so that any AMQP client in any language reads
//! and writes the same queue.

/// An error of a [`Codec`], as text.
pub type CodecError = Box<dyn std::error::Error + Send + Sync>;

/// Encodes messages of type `M` into message bodies and decodes them back.
pub trait Codec<M>: Send + Sync + 'static {
    /// The `content_type` property of the messages it publishes.
    const CONTENT_TYPE: &'static str;

    /// The body of `msg`.
    ///
    /// # Errors
    ///
    /// When `msg` cannot be encoded; the publish then fails with
    /// [`Error::Codec`](crate::api::Error::Codec).
    fn encode(&self, msg: &M) -> Result<Vec<u8>, CodecError>;

    /// The message a body holds.
    ///
    /// # Errors
    ///
    /// When `body` is not a message of this codec. A delivery that does
    /// not decode is rejected to the dead letters; see
    /// [`AmqpQueue`](super::AmqpQueue).
    fn decode(&self, body: Vec<u8>) -> Result<M, CodecError>;
}

/// Message bodies as they are: `Vec<u8>` in, `Vec<u8>` out.
#[derive(Clone, Copy, Debug, Default)]
pub struct Raw;

impl Codec<Vec<u8>> for Raw {
    const CONTENT_TYPE: &'static str = "application/octet-stream";

    fn encode(&self, msg: &Vec<u8>) -> Result<Vec<u8>, CodecError> {
        Ok(msg.clone())
    }

    fn decode(&self, body: Vec<u8>) -> Result<Vec<u8>, CodecError> {
        Ok(body)
    }
}

/// Messages as JSON documents (`serde_json`), `content_type`
/// `application/json`.
///
/// # Examples
///
/// ```
/// use ackring::amqp::{Codec, Json};
///
/// let body = Json.encode(&(7_u32, String::from("resize"))).unwrap();
/// assert_eq!(body, br#"[7,"resize"]"#);
/// let back: (u32, String) = Json.decode(body).unwrap();
/// assert_eq!(back, (7, "resize".into()));
/// ```
#[cfg(feature = "json")]
#[derive(Clone, Copy, Debug, Default)]
pub struct Json;

#[cfg(feature = "json")]
impl<M> Codec<M> for Json
where
    M: serde::Serialize + serde::de::DeserializeOwned,
{
    const CONTENT_TYPE: &'static str = "application/json";

    fn encode(&self, msg: &M) -> Result<Vec<u8>, CodecError> {
        Ok(serde_json::to_vec(msg)?)
    }

    fn decode(&self, body: Vec<u8>) -> Result<M, CodecError> {
        Ok(serde_json::from_slice(&body)?)
    }
}
