//! Models of the upstream code that runs what kujira-gen generates: how Clouddriver reads
//! a job's log and binds artifacts, what Kubernetes RBAC allows, and which API calls the
//! Argo Rollouts kubectl plugin makes. The output checks (`check/`) apply them to every
//! bundle, and the release scenario tests run generated jobs through them.
//!
//! Each model is written from the upstream source it names (never copied), and each rule
//! is listed with that source in `docs/spinnaker-rules.md`. They take plain values and
//! return plain values: nothing here knows about bundles or diagnostics.

pub mod argo_plugin;
pub mod artifact_replacer;
pub mod property_parser;
pub mod rbac;
