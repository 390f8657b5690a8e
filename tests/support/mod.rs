//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod fake_gate;
pub mod fake_kube;
pub mod test;
