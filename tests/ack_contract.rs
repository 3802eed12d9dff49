//! The contract of the ack API (`tests/contract/mod.rs`) on the in-process
//! backend, `AckQueue`.

mod common;
mod contract;

use std::sync::Arc;

use ackring::AckQueue;
use contract::{Config, Fixture};

/// In-process queues: another handle is another `Arc` of the same queue,
/// and there is no connection to kill.
struct InProcess;

impl Fixture for InProcess {
    type Q = Arc<AckQueue<Vec<u8>>>;

    fn queue(&self, config: Config) -> Self::Q {
        let mut builder = AckQueue::builder()
            .capacity(256)
            .max_in_flight(usize::from(config.prefetch));
        if let Some(k) = config.max_deliveries {
            builder = builder.max_deliveries(k);
        }
        if let Some(ttl) = config.ttl {
            builder = builder.ttl(ttl);
        }
        Arc::new(builder.build().expect("valid configuration"))
    }

    fn another(&self, q: &Self::Q) -> Self::Q {
        Arc::clone(q)
    }

    fn killable(&self, q: &Self::Q) -> (Self::Q, Box<dyn Fn() + Send + Sync>) {
        (Arc::clone(q), Box::new(|| {}))
    }

    fn severable(&self, q: &Self::Q) -> (Self::Q, Box<dyn Fn() + Send + Sync>) {
        (Arc::clone(q), Box::new(|| {}))
    }
}

contract_suite!(Some(InProcess));
