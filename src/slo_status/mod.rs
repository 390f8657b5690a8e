//! `kujira-gen slo status`: every team's error budgets as the budget gate would see them
//! now. Its own small pipeline beside the release one:
//!
//! `targets` (value files -> validated -> each environment's SLOs and the gate's PromQL,
//! from the templates) -> `measure` (the queries against the platform's provider, over
//! `prometheus`) -> `report` (worst first; a table, JSON or Markdown).
//!
//! Design, figures and exit codes: docs/slo-status.md.

pub mod measure;
pub mod prometheus;
pub mod report;
pub mod targets;
