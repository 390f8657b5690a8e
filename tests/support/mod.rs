//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod argo_analysis;
pub mod argo_model;
pub mod fake_gate;
pub mod fake_kube;
pub mod git;
pub mod http_head;
pub mod orca;
pub mod prometheus;
pub mod slo;
pub mod spel;
pub mod test;
pub mod traffic;
