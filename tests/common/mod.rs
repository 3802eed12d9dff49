//! Fixtures shared by the integration tests, one concept a file. Each test
//! binary declares `mod common;` and uses the part it needs.

// Each test binary uses only part of this module.
#![allow(dead_code)]

pub mod asynch;
pub mod counting;
pub mod drops;
pub mod lease;
pub mod payload;
pub mod rng;
pub mod settles;
pub mod wait;
