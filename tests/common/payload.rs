//! Message payloads that carry their number, for the tests that run
//! through the backends' byte payloads.

/// The payload of message `i`.
pub fn msg(i: usize) -> Vec<u8> {
    i.to_string().into_bytes()
}

/// The message number a payload names.
pub fn num(payload: &[u8]) -> usize {
    std::str::from_utf8(payload)
        .expect("utf-8 payload")
        .parse()
        .expect("a number")
}
