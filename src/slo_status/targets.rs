//! What `slo status` measures: for every value file, each environment that has SLOs, and
//! each of its objectives with the budget gate's own queries.
//!
//! The queries come from the templates (`slo-status.jsonnet`, evaluated with exactly the
//! input a release render gets, so the platform settings the compiler finds for the file),
//! never built here: the status must measure what the gate measures.

use crate::compile::{self, Compiler, Options};
use crate::diag::{self, Diagnostic};
use crate::render::embedded::SLO_STATUS_ENTRY;
use crate::values::discover;
use serde::Deserialize;
use std::path::PathBuf;

/// How to reach the provider, as the platform's `slo.json` (merged over the built-in
/// settings) says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
pub struct Provider {
    pub address: String,
    pub auth: Auth,
    pub insecure: bool,
}

/// `provider.auth` (schemas/platform-slo.schema.json).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Auth {
    None,
    /// A token in a Kubernetes Secret; `slo status` reads one from the environment.
    Bearer {
        secret: String,
        key: String,
    },
    /// The budget job's metadata-server token; `slo status` uses the address as is.
    #[serde(rename_all = "camelCase")]
    GcpWorkloadIdentity {
        #[serde(default)]
        service_account: Option<String>,
    },
}

/// One objective of one environment, as slo-status.jsonnet describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Objective {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The objective as written, e.g. `99.9`.
    pub objective_percent: String,
    /// The SLI the gate requires, exact decimal (`0.999`).
    pub target: String,
    /// The error budget: the fraction of requests allowed to be bad (`0.001`).
    pub allowed: String,
    pub window: String,
    pub burn_window: String,
    pub budget_query: String,
    pub burn_query: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Environment {
    name: Option<String>,
    budget_gate: bool,
    provider: Provider,
    objectives: Vec<Objective>,
}

#[derive(Debug, Deserialize)]
struct Team {
    application: String,
    environments: Vec<Environment>,
}

/// One SLO of one environment of one team: a row of the report.
#[derive(Debug, Clone)]
pub struct Target {
    /// The value file, as the user named it.
    pub file: String,
    pub application: String,
    /// `None` for a value file without `Environments`.
    pub environment: Option<String>,
    /// Whether the environment's release has the budget gate (`SLO.ErrorBudgetGate`).
    pub budget_gate: bool,
    pub provider: Provider,
    pub objective: Objective,
}

/// Everything found under the paths.
#[derive(Debug, Default)]
pub struct Targets {
    pub targets: Vec<Target>,
    /// Problems in the inputs (warnings too); a file with an error has no targets.
    pub diagnostics: Vec<Diagnostic>,
    /// Value files that compiled but declare no SLO in any environment.
    pub without_slo: Vec<String>,
    /// Value files found.
    pub files: usize,
}

/// Finds the value files under `paths`, validates them as `validate` does and asks the
/// templates what each one's SLOs measure. Errors in one file leave the others measured.
pub fn collect(paths: &[PathBuf], options: &Options) -> anyhow::Result<Targets> {
    let (inputs, problems) =
        discover::discover(paths, options.root.as_deref(), options.allow_empty);
    let mut out = Targets {
        files: inputs.len(),
        diagnostics: problems,
        ..Targets::default()
    };
    // Each value file with the platform settings (and so the provider) that govern it.
    let (groups, unresolved) = compile::group_inputs(inputs, options);
    let mut per_file: Vec<(usize, PerFile)> = unresolved
        .into_iter()
        .map(|(i, d)| (i, (String::new(), Vec::new(), vec![d], false)))
        .collect();
    for (group_options, members) in &groups {
        let compiler = Compiler::new(group_options)?;
        out.diagnostics
            .extend(compiler.platform_problems.iter().cloned());
        let results = compile::parallel_map(
            members,
            options.threads,
            || compiler.renderer(),
            |renderer, (_, input)| measure_file(&compiler, renderer, input),
        );
        per_file.extend(members.iter().map(|(i, _)| *i).zip(results));
    }
    per_file.sort_by_key(|(i, _)| *i);
    for (_, (file, targets, diagnostics, compiled)) in per_file {
        if compiled && targets.is_empty() {
            out.without_slo.push(file);
        }
        out.targets.extend(targets);
        out.diagnostics.extend(diagnostics);
    }
    out.diagnostics = diag::merge_repeated(std::mem::take(&mut out.diagnostics));
    Ok(out)
}

/// One value file's outcome: its name, its rows, its diagnostics, whether it compiled.
type PerFile = (String, Vec<Target>, Vec<Diagnostic>, bool);

fn measure_file(
    compiler: &Compiler,
    renderer: &crate::render::Renderer,
    input: &discover::Input,
) -> PerFile {
    let prepared = match compiler.prepare(input) {
        Ok(p) => p,
        Err(unit) => return (input.display.clone(), Vec::new(), unit.diagnostics, false),
    };
    let mut diagnostics = prepared.diagnostics.clone();
    let found = compiler
        .evaluate_entry(&prepared, renderer, SLO_STATUS_ENTRY)
        .and_then(|json| {
            serde_json::from_value::<Team>(json).map_err(|e| {
                Diagnostic::error(
                    input.display.clone(),
                    format!("template result of {SLO_STATUS_ENTRY}: {e}"),
                )
            })
        });
    let targets = match found {
        Ok(team) => rows(&input.display, team),
        Err(d) => {
            diagnostics.push(d);
            Vec::new()
        }
    };
    compile::finish(&mut diagnostics, &input.display, &prepared.secrets);
    let failed = diag::count_errors(&diagnostics) > 0;
    (input.display.clone(), targets, diagnostics, !failed)
}

fn rows(file: &str, team: Team) -> Vec<Target> {
    let mut rows = Vec::new();
    for env in team.environments {
        for objective in env.objectives {
            rows.push(Target {
                file: file.to_string(),
                application: team.application.clone(),
                environment: env.name.clone(),
                budget_gate: env.budget_gate,
                provider: env.provider.clone(),
                objective,
            });
        }
    }
    rows
}
