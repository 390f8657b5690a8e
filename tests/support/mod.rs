//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod argo_analysis;
pub mod fake_gate;
pub mod prometheus;
pub mod slo;
pub mod test;
