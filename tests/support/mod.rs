//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod fake_gate;
pub mod spel;
pub mod test;
