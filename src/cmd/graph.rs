//! `kujira-gen graph`: the stage graph of a value file's pipelines, as Mermaid.

use crate::{GraphArgs, GraphFormat, Outcome};
use anyhow::{Result, bail};
use kujira_gen::graph;
use serde_json::Value;
use std::io::Write;

pub fn run(args: &GraphArgs) -> Result<Outcome> {
    let bundles = match super::compile_or_report(&args.compile) {
        Ok(b) => b,
        Err(outcome) => return Ok(outcome),
    };
    let name = |p: &serde_json::Map<String, Value>| {
        p.get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut chosen = Vec::new();
    for b in &bundles {
        let app = b.application_name().unwrap_or("").to_string();
        for p in &b.pipelines {
            if args.pipeline.as_ref().is_none_or(|want| *want == name(p)) {
                chosen.push((app.clone(), name(p), graph::stages(p)));
            }
        }
    }
    if let Some(want) = &args.pipeline
        && chosen.is_empty()
    {
        let names: Vec<String> = bundles
            .iter()
            .flat_map(|b| b.pipelines.iter().map(name))
            .collect();
        bail!(
            "--pipeline {want}: no such pipeline; the value files give {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        GraphFormat::Mermaid => {
            let [(_, _, stages)] = chosen.as_slice() else {
                let names: Vec<String> =
                    chosen.iter().map(|(a, p, _)| format!("{a}/{p}")).collect();
                bail!(
                    "Mermaid text holds one pipeline and {} match ({}); choose one with --pipeline NAME and one value file, or use --format markdown",
                    chosen.len(),
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                );
            };
            out.write_all(graph::mermaid::flowchart(stages).as_bytes())?;
        }
        GraphFormat::Markdown => {
            for (app, pipeline, stages) in &chosen {
                write!(
                    out,
                    "### {app}: {pipeline}\n\n```mermaid\n{}```\n\n",
                    graph::mermaid::flowchart(stages)
                )?;
            }
        }
    }
    out.flush()?;
    Ok(Outcome::Ok)
}
