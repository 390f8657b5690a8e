//! The picture of a pipeline: its stage graph (what runs after what) with each stage's
//! condition in words, drawn as a Mermaid flowchart (GitHub draws those in Markdown).
//!
//! Everything is read from the pipeline JSON as Spinnaker sees it (`refId`,
//! `requisiteStageRefIds`, `stageEnabled.expression`...), never from knowledge of the
//! built-in templates, so it draws any template set's pipelines.

pub mod mermaid;
pub mod spel;

use serde_json::{Map, Value};

/// One stage, as the graph needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub ref_id: String,
    pub name: String,
    pub kind: String,
    /// The refIds it waits for.
    pub requisites: Vec<String>,
    /// `stageEnabled.expression`, as written.
    pub condition: Option<String>,
    /// "Ignore the failure": the pipeline goes on when this stage fails.
    pub continues_on_failure: bool,
    /// A manual judgment's choices.
    pub choices: Vec<String>,
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The stages of `pipeline`, in order. Whatever is missing or of the wrong type is left
/// empty: the output checks report such problems, the picture only draws.
pub fn stages(pipeline: &Map<String, Value>) -> Vec<Stage> {
    let Some(Value::Array(items)) = pipeline.get("stages") else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(Value::as_object)
        .map(|s| Stage {
            ref_id: text(s.get("refId")),
            name: text(s.get("name")),
            kind: text(s.get("type")),
            requisites: match s.get("requisiteStageRefIds") {
                Some(Value::Array(r)) => r.iter().map(|x| text(Some(x))).collect(),
                _ => Vec::new(),
            },
            condition: s
                .get("stageEnabled")
                .and_then(|e| e.get("expression"))
                .and_then(Value::as_str)
                .map(str::to_string),
            continues_on_failure: s.get("failPipeline") == Some(&Value::Bool(false))
                && s.get("continuePipeline") == Some(&Value::Bool(true)),
            choices: match s.get("judgmentInputs") {
                Some(Value::Array(inputs)) => inputs
                    .iter()
                    .map(|i| text(i.get("value")))
                    .filter(|v| !v.is_empty())
                    .collect(),
                _ => Vec::new(),
            },
        })
        .collect()
}
