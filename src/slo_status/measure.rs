//! The queries of every target against its provider, and what they mean for the error
//! budget and the gate (docs/slo.md, "The error budget"; "Error budgets at a glance").
//!
//! Identical queries (environments measured alike, SLOs of one platform) are asked once.
//! Queries run a few at a time; a failure stays with the rows that needed it.

use super::prometheus::{Client, Sample};
use super::targets::{Provider, Target};
use crate::compile::parallel_map;
use std::collections::BTreeMap;
use std::time::Duration;

/// How to query.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Replaces every provider's address (a port-forward, a proxy).
    pub address: Option<String>,
    /// The value of the token variable, when set.
    pub token: Option<String>,
    /// Per query, connecting included.
    pub timeout: Duration,
    /// Queries in flight at once.
    pub parallel: usize,
}

/// The budget as the gate's rule reads the measured SLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Some budget left: SLI above the target.
    Left,
    /// Spent: SLI at or below the target.
    Exhausted,
    /// No requests in the window.
    NoData,
    /// The query failed.
    Unknown,
}

/// What the budget gate would do with a release started now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Passes,
    Blocks,
    /// The environment turned the gate off (`SLO.ErrorBudgetGate: false`).
    Off,
    /// The query failed here (the gate itself blocks when its own query fails).
    Unknown,
}

/// One row: a target and what was measured.
#[derive(Debug, Clone)]
pub struct Status {
    pub target: Target,
    /// The SLI over the SLO's window (0 when every request failed).
    pub sli: Option<f64>,
    /// `(1 - SLI) / allowed`, as a percentage.
    pub spent_percent: Option<f64>,
    /// The error ratio over the burn window divided by the allowed one.
    pub burn_rate: Option<f64>,
    pub budget: Budget,
    pub gate: Gate,
    /// Something to know that is not an error (no traffic).
    pub notes: Vec<String>,
    /// Queries that failed, one line each.
    pub errors: Vec<String>,
}

/// Answers by provider (an index into the clients) and query.
type Answers = BTreeMap<(usize, String), Result<Sample, String>>;

/// Measures every target; rows in the targets' order.
pub fn measure(targets: Vec<Target>, settings: &Settings) -> Vec<Status> {
    let mut providers: Vec<&Provider> = Vec::new();
    let mut provider_of = Vec::with_capacity(targets.len());
    for t in &targets {
        let i = match providers.iter().position(|p| **p == t.provider) {
            Some(i) => i,
            None => {
                providers.push(&t.provider);
                providers.len() - 1
            }
        };
        provider_of.push(i);
    }
    let clients: Vec<Client> = providers
        .iter()
        .map(|p| {
            Client::new(
                p,
                settings.address.as_deref(),
                settings.token.as_deref(),
                settings.timeout,
            )
        })
        .collect();
    // The gate's queries count a missing good series as 0 (slo.libsonnet `sli`), so "no
    // data" means no requests: one query per SLI and window is enough.
    let queries: Vec<(usize, String)> = targets
        .iter()
        .zip(&provider_of)
        .flat_map(|(t, &p)| {
            [&t.objective.budget_query, &t.objective.burn_query].map(|q| (p, q.clone()))
        })
        .collect();
    let answers = ask(&queries, settings.parallel, &clients);
    targets
        .into_iter()
        .zip(provider_of)
        .map(|(t, p)| judge(t, p, &answers, clients[p].address()))
        .collect()
}

fn ask(queries: &[(usize, String)], parallel: usize, clients: &[Client]) -> Answers {
    let mut unique: Vec<&(usize, String)> = queries.iter().collect();
    unique.sort();
    unique.dedup();
    let results = parallel_map(
        &unique,
        parallel,
        || (),
        |(), (provider, query)| clients[*provider].query(query),
    );
    unique.into_iter().cloned().zip(results).collect()
}

fn reading(provider: usize, sli: &str, answers: &Answers) -> Result<Sample, String> {
    answers
        .get(&(provider, sli.to_string()))
        .cloned()
        .unwrap_or_else(|| Err("not queried".into()))
}

fn judge(target: Target, provider: usize, answers: &Answers, address: &str) -> Status {
    let o = &target.objective;
    let mut status = Status {
        sli: None,
        spent_percent: None,
        burn_rate: None,
        budget: Budget::Unknown,
        gate: Gate::Unknown,
        notes: Vec::new(),
        errors: Vec::new(),
        target: target.clone(),
    };
    // Both come from the templates as decimal strings; an override could break them.
    let (Ok(goal), Ok(allowed)) = (o.target.parse::<f64>(), o.allowed.parse::<f64>()) else {
        status.errors.push(format!(
            "the templates gave target {:?} and allowed {:?}: not numbers",
            o.target, o.allowed
        ));
        return status;
    };
    let spent = |sli: f64| (1.0 - sli) / allowed * 100.0;
    let mut gate_sees_exhausted = None;
    match reading(provider, &o.budget_query, answers) {
        Ok(Sample::Value(v)) => {
            status.sli = Some(v);
            status.spent_percent = Some(spent(v));
            // The gate's rule, on the exact target: spent when SLI <= target.
            let exhausted = v <= goal;
            status.budget = if exhausted {
                Budget::Exhausted
            } else {
                Budget::Left
            };
            gate_sees_exhausted = Some(exhausted);
        }
        Ok(Sample::NoData) => {
            status.budget = Budget::NoData;
            gate_sees_exhausted = Some(false);
            status.notes.push(format!("no requests in {}", o.window));
        }
        Err(e) => status.errors.push(e),
    }
    match reading(provider, &o.burn_query, answers) {
        Ok(Sample::Value(v)) => status.burn_rate = Some((1.0 - v) / allowed),
        Ok(Sample::NoData) => {
            // Said once when the whole window was quiet.
            if status.budget != Budget::NoData {
                status
                    .notes
                    .push(format!("no requests in {}", o.burn_window));
            }
        }
        Err(e) => {
            if !status.errors.contains(&e) {
                status.errors.push(e);
            }
        }
    }
    status.gate = match (target.budget_gate, gate_sees_exhausted) {
        (false, _) => Gate::Off,
        (true, Some(true)) => Gate::Blocks,
        (true, Some(false)) => Gate::Passes,
        (true, None) => Gate::Unknown,
    };
    if status.errors.is_empty() {
        return status;
    }
    // Name the provider once, unless the message already does.
    for e in &mut status.errors {
        if !e.contains(address) {
            *e = format!("{address}: {e}");
        }
    }
    status
}
