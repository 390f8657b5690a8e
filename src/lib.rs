//! kujira-gen: compiles team value files into Spinnaker blue-green pipelines.
//!
//! The data flows one way through the modules:
//! `values` (load, position, validate) -> `render` (Jsonnet) -> `bundle` (finished
//! `{application, pipelines}`) -> `check` (output checks) -> emit (`bundle`), or
//! `plan` (diff, push) over `gate` (the Gate API client).
//! `compile` drives the first four steps for many files in parallel; `diag` is how every
//! step reports problems.

// A `Diagnostic` is the error type of the steps that can fail on user input; it is
// returned once per file, never in a loop, so its size does not matter.
#![allow(clippy::result_large_err)]

pub mod bundle;
pub mod check;
pub mod compile;
pub mod describe;
pub mod diag;
pub mod doctor;
pub mod gate;
pub mod graph;
pub mod impact;
pub mod marker;
pub mod plan;
pub mod platform;
pub mod render;
pub mod rule_file;
pub mod slo_status;
pub mod term;
pub mod trusted_schema;
pub mod upstream;
pub mod values;
