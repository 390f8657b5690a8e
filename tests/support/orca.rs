//! A model of how Orca runs a pipeline, for the release scenario tests: which stage starts
//! when, which is skipped, what status each ends with, and how the execution ends. Every
//! expression (`stageEnabled`, expression preconditions, `${...}` in a Run Job's manifest)
//! is evaluated by the real SpEL engine with Orca's rules (`support::spel`); what a stage
//! does in the world (deploying, running a job, waiting for a judgment) is the caller's
//! [`World`].
//!
//! The rules, from Orca's source (docs/spinnaker-rules.md, "Pipeline execution"):
//! - a stage starts when every parent (`requisiteStageRefIds`) is SUCCEEDED,
//!   FAILED_CONTINUE or SKIPPED; it never starts when one is TERMINAL, STOPPED or CANCELED
//!   (`StartStageHandler`, `Stage.kt` `allUpstreamStagesComplete`);
//! - a stage whose `stageEnabled` makes it optional is SKIPPED (`OptionalStageSupport`);
//! - a failed task ends the stage FAILED_CONTINUE with `continuePipeline`, TERMINAL with
//!   `failPipeline` true or absent, STOPPED otherwise (`Stage.kt` `failureStatus`);
//! - a Run Job's properties (Clouddriver's `PropertyParser`) go into the stage's context,
//!   and into its outputs only when the job succeeded (`WaitOnJobCompletion`);
//! - the manual judgment's `judgmentStatus` "continue" succeeds, "stop" fails, and the
//!   chosen input is `judgmentInput` in the context (`ManualJudgmentStage`);
//! - the execution is SUCCEEDED when every stage is SUCCEEDED, SKIPPED or FAILED_CONTINUE
//!   (stages that never started keep NOT_STARTED and make it TERMINAL only through the
//!   TERMINAL stage that stopped them) (`CompleteExecutionHandler`); Slack's
//!   `pipeline.complete` fires for SUCCEEDED, STOPPED and SKIPPED, `pipeline.failed`
//!   otherwise (`EchoNotifyingExecutionListener`).

use super::spel::{Spel, TaskStatus};
use kujira_gen::upstream::property_parser;
use serde_json::{Map, Value, json};

/// How a Kubernetes Job ended, as Clouddriver reports it to Orca.
#[derive(Debug, Clone, PartialEq)]
pub struct JobResult {
    pub succeeded: bool,
    /// The log of the container `propertyFile` names, when Clouddriver can still read it.
    pub log: Option<String>,
    /// Why it failed, for the stage's context and for test failure messages.
    pub message: String,
}

/// A person's answer to a manual judgment.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgment {
    /// "Continue", with the chosen input (or none, as through the API).
    Continue(Option<String>),
    /// "Stop".
    Stop,
}

/// What the stages do outside Orca.
pub trait World {
    /// A Deploy (Manifest) stage: `Err` when Clouddriver fails it.
    fn deploy(&mut self, stage: &Map<String, Value>, trigger: &Value) -> Result<(), String>;
    /// A Run Job (Manifest) stage, its manifest already evaluated by Orca.
    fn run_job(
        &mut self,
        stage_name: &str,
        job: &Value,
        property_container: Option<&str>,
    ) -> JobResult;
    fn judge(&mut self, stage_name: &str) -> Judgment;
}

#[derive(Debug, Clone)]
pub struct StageRun {
    pub name: String,
    pub ref_id: String,
    pub stage_type: String,
    pub status: String,
    pub context: Map<String, Value>,
    pub outputs: Map<String, Value>,
    pub requisites: Vec<String>,
    /// Why the stage was skipped, failed, or what its job said: for test failure messages.
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct Execution {
    pub application: String,
    pub name: String,
    pub trigger: Value,
    pub stages: Vec<StageRun>,
    pub status: String,
}

impl Execution {
    pub fn stage(&self, name: &str) -> Option<&StageRun> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// `pipeline.complete` or `pipeline.failed`.
    pub fn slack_event(&self) -> &'static str {
        if matches!(self.status.as_str(), "SUCCEEDED" | "STOPPED" | "SKIPPED") {
            "pipeline.complete"
        } else {
            "pipeline.failed"
        }
    }

    /// As the SpEL engine expects it (support::spel, "The execution JSON").
    pub fn to_json(&self) -> Value {
        json!({
            "id": "01EXECUTION000000000000000",
            "application": self.application,
            "name": self.name,
            "status": "RUNNING",
            "trigger": self.trigger,
            "stages": self.stages.iter().enumerate().map(|(i, s)| json!({
                "id": format!("01STAGE{i:019}"),
                "refId": s.ref_id,
                "type": s.stage_type,
                "name": s.name,
                "status": s.status,
                "context": s.context,
                "outputs": s.outputs,
                "requisiteStageRefIds": s.requisites,
            })).collect::<Vec<_>>(),
        })
    }

    /// One line per stage, for failure messages.
    pub fn describe(&self) -> String {
        let mut out = format!("execution {} ({})\n", self.status, self.slack_event());
        for s in &self.stages {
            out.push_str(&format!("  {:<20} {:<16} {}\n", s.name, s.status, s.note));
        }
        out
    }
}

fn failure_status(config: &Map<String, Value>) -> &'static str {
    if config.get("continuePipeline") == Some(&Value::Bool(true)) {
        "FAILED_CONTINUE"
    } else if matches!(
        config.get("failPipeline"),
        None | Some(Value::Null) | Some(Value::Bool(true))
    ) {
        "TERMINAL"
    } else {
        "STOPPED"
    }
}

const DONE_OK: [&str; 3] = ["SUCCEEDED", "FAILED_CONTINUE", "SKIPPED"];

/// Runs `pipeline` (as Front50 stores it) started by `trigger` to its end.
pub fn run(pipeline: &Value, trigger: Value, spel: &mut Spel, world: &mut dyn World) -> Execution {
    let stages: Vec<Map<String, Value>> = pipeline["stages"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_object().cloned()).collect())
        .unwrap_or_default();
    let mut ex = Execution {
        application: pipeline["application"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        name: pipeline["name"].as_str().unwrap_or_default().to_string(),
        trigger,
        stages: stages
            .iter()
            .map(|s| {
                let mut context = s.clone();
                for k in ["name", "type", "refId", "requisiteStageRefIds"] {
                    context.remove(k);
                }
                StageRun {
                    name: s
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    ref_id: s
                        .get("refId")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    stage_type: s
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    status: "NOT_STARTED".into(),
                    context,
                    outputs: Map::new(),
                    requisites: s
                        .get("requisiteStageRefIds")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                    note: String::new(),
                }
            })
            .collect(),
        status: "RUNNING".into(),
    };
    loop {
        let startable = (0..ex.stages.len()).find(|&i| {
            let s = &ex.stages[i];
            s.status == "NOT_STARTED"
                && s.requisites.iter().all(|r| {
                    ex.stages
                        .iter()
                        .find(|p| &p.ref_id == r)
                        .is_some_and(|p| DONE_OK.contains(&p.status.as_str()))
                })
        });
        let Some(i) = startable else { break };
        run_stage(&mut ex, i, &stages[i], spel, world);
    }
    let statuses: Vec<&str> = ex.stages.iter().map(|s| s.status.as_str()).collect();
    ex.status = if statuses.iter().all(|s| DONE_OK.contains(s)) {
        "SUCCEEDED"
    } else if statuses.contains(&"TERMINAL") {
        "TERMINAL"
    } else if statuses.contains(&"CANCELED") {
        "CANCELED"
    } else if statuses.contains(&"STOPPED") {
        "SUCCEEDED"
    } else {
        "RUNNING"
    }
    .to_string();
    debug_assert!(ex.stages.iter().all(|s| s.status != "RUNNING"));
    ex
}

fn run_stage(
    ex: &mut Execution,
    i: usize,
    config: &Map<String, Value>,
    spel: &mut Spel,
    world: &mut dyn World,
) {
    let ref_id = ex.stages[i].ref_id.clone();
    let optional = spel.is_optional(&ex.to_json(), &ref_id);
    if optional.skip {
        ex.stages[i].status = "SKIPPED".into();
        ex.stages[i].note = match &optional.invalid_expression {
            Some(m) => format!("skipped: {m}"),
            None => "skipped".into(),
        };
        return;
    }
    ex.stages[i].status = "RUNNING".into();
    let name = ex.stages[i].name.clone();
    let (status, note) = match ex.stages[i].stage_type.as_str() {
        "checkPreconditions" => {
            let mut failed = None;
            for p in config
                .get("preconditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let expression = p
                    .pointer("/context/expression")
                    .and_then(Value::as_str)
                    .unwrap_or("false");
                let result = spel.precondition(expression, &ex.to_json(), &ref_id);
                if result.status == TaskStatus::Terminal
                    && p.get("failPipeline") != Some(&Value::Bool(false))
                {
                    // The stage's context, the message included, is evaluated when the
                    // stage starts (SpEL v4): a `${...}` in it is what Deck shows.
                    let message = p
                        .pointer("/context/failureMessage")
                        .map(|m| evaluate_strings(m, spel, ex, &ref_id));
                    failed = Some(
                        message
                            .as_ref()
                            .and_then(Value::as_str)
                            .unwrap_or("precondition failed")
                            .to_string(),
                    );
                }
            }
            match failed {
                Some(m) => (failure_status(config), m),
                None => ("SUCCEEDED", String::new()),
            }
        }
        "deployManifest" => match world.deploy(config, &ex.trigger) {
            Ok(()) => ("SUCCEEDED", String::new()),
            Err(m) => (failure_status(config), m),
        },
        "runJobManifest" => {
            let job = evaluate_strings(
                &config.get("manifest").cloned().unwrap_or(Value::Null),
                spel,
                ex,
                &ref_id,
            );
            let container = config
                .get("propertyFile")
                .and_then(Value::as_str)
                .map(str::to_string);
            let result = world.run_job(&name, &job, container.as_deref());
            let properties = result
                .log
                .as_deref()
                .filter(|_| container.is_some())
                .and_then(|log| property_parser::parse(log).ok())
                .map(|p| p.values)
                .unwrap_or_default();
            let stage = &mut ex.stages[i];
            for (k, v) in &properties {
                stage.context.insert(k.clone(), v.clone());
                if result.succeeded {
                    stage.outputs.insert(k.clone(), v.clone());
                }
            }
            if result.succeeded {
                ("SUCCEEDED", result.message)
            } else {
                (failure_status(config), result.message)
            }
        }
        "manualJudgment" => match world.judge(&name) {
            Judgment::Continue(input) => {
                let stage = &mut ex.stages[i];
                stage
                    .context
                    .insert("judgmentStatus".into(), json!("continue"));
                if let Some(input) = &input {
                    stage.context.insert("judgmentInput".into(), json!(input));
                }
                ("SUCCEEDED", format!("continued with {input:?}"))
            }
            Judgment::Stop => {
                ex.stages[i]
                    .context
                    .insert("judgmentStatus".into(), json!("stop"));
                (failure_status(config), "stopped".to_string())
            }
        },
        other => panic!("the Orca model does not run `{other}` stages"),
    };
    ex.stages[i].status = status.to_string();
    ex.stages[i].note = note;
}

/// Orca evaluates a stage's context when it starts (SpEL v4): every string with `${`.
fn evaluate_strings(v: &Value, spel: &mut Spel, ex: &Execution, ref_id: &str) -> Value {
    match v {
        Value::String(s) if s.contains("${") => spel.evaluate(s, &ex.to_json(), ref_id).value,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|x| evaluate_strings(x, spel, ex, ref_id))
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), evaluate_strings(x, spel, ex, ref_id)))
                .collect(),
        ),
        other => other.clone(),
    }
}
