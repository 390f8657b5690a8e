//! The release scenario table: every combination of trigger, scenario test, manual judgment
//! and auto-promotion, through every way a release can go, run end to end and compared,
//! stage by stage, with what must happen.
//!
//! Nothing here takes kujira-gen's word for what Spinnaker does:
//! - the pipeline is the one `kujira-gen` generates, run by a model of Orca
//!   (`support::orca`) whose every expression is evaluated by Spring's SpEL with Orca's
//!   functions and rules (`support::spel`);
//! - the wait and settle jobs are the generated shell scripts, run by `/bin/sh` with the
//!   real `kubectl` against a Kubernetes API server (`support::fake_kube`) that enforces the
//!   generated Role and serves a model of the Argo Rollouts controller
//!   (`support::argo_model`); their logs are read the way Clouddriver's PropertyParser reads
//!   them (`kujira_gen::upstream::property_parser`);
//! - Clouddriver's artifact binding, and the permissions each kubectl-argo-rollouts
//!   subcommand needs, are the models of `kujira_gen::upstream`, written from their source.
//!
//! A script run is a pure function of the script, its environment, the cluster's state and
//! the Role: its result is memoised on those, so each distinct run happens once.
//! Without Java (the SpEL engine) or kubectl, the tests say so and are skipped, unless CI is
//! set, where they fail.

mod support;

use kujira_gen::upstream::{argo_plugin, artifact_replacer, rbac};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::argo_model::{ArgoModel, Health};
use support::fake_kube::FakeKube;
use support::orca::{self, Execution, JobResult, Judgment, World};
use support::spel::Spel;
use support::test::BIN;

const OLD_TAG: &str = "1.0.0";
const NEW_TAG: &str = "2.0.0";

/// How a release goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Outcome {
    /// The new revision is ready, the test passes, the judgment promotes, Verify is healthy.
    Promoted,
    TestFails,
    JudgmentRollsBack,
    JudgmentStopped,
    /// Continued through the API without an input.
    JudgmentWithoutInput,
    /// The running image is deployed again.
    NothingNew,
    /// The application's first release: nothing runs yet.
    FirstRelease,
    NewRevisionDegraded,
    WaitTimesOut,
    PromoteFails,
    /// The promoted revision fails under live traffic, and the rollback comes within
    /// `scaleDownDelaySeconds` ...
    VerifyFails,
    /// ... or after it, when the previous revision has been scaled down.
    VerifyFailsAfterScaleDown,
    /// Nothing new, but the running revision is Degraded.
    RunningVersionDegraded,
    /// Started by hand with an empty `tag`.
    EmptyTag,
}

use Outcome::*;

const OUTCOMES: &[Outcome] = &[
    Promoted,
    TestFails,
    JudgmentRollsBack,
    JudgmentStopped,
    JudgmentWithoutInput,
    NothingNew,
    FirstRelease,
    NewRevisionDegraded,
    WaitTimesOut,
    PromoteFails,
    VerifyFails,
    VerifyFailsAfterScaleDown,
    RunningVersionDegraded,
    EmptyTag,
];

/// Which version serves traffic at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Serving {
    /// The new version, stable and active.
    New,
    /// The version that served before, stable and active again; no update in progress.
    Previous,
    /// Nothing was changed: the version that served before, and no new revision at all.
    Unchanged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Config {
    trigger: &'static str,
    test: bool,
    judgment: bool,
    auto: bool,
}

impl Config {
    fn applies(&self, o: Outcome) -> bool {
        match o {
            TestFails => self.test,
            JudgmentRollsBack | JudgmentStopped | JudgmentWithoutInput => self.judgment,
            EmptyTag => self.trigger == "manual",
            _ => true,
        }
    }

    fn value_file(&self) -> Value {
        let mut v = json!({
            "Application": "shop",
            "Notification": "shop-releases",
            "Email": "shop@example.com",
            "Account": "gke",
            "Namespace": "shop",
            "Image": "gcr.io/acme/shop",
        });
        v["Trigger"] = match self.trigger {
            "docker" => json!({"Type": "docker"}),
            "pubsub" => json!({"Type": "pubsub", "Subscription": "gcr"}),
            "webhook" => json!({"Type": "webhook"}),
            _ => json!({"Type": "manual"}),
        };
        if self.test {
            v["ScenarioTest"] = json!({"Collection": "c.json"});
        }
        if self.judgment {
            v["ManualJudgment"] = json!(true);
        }
        if self.auto {
            v["AutoPromotion"] = json!(true);
        }
        v
    }
}

fn configs() -> Vec<Config> {
    let mut out = Vec::new();
    for trigger in ["docker", "pubsub", "webhook", "manual"] {
        for (test, judgment, auto) in [
            (false, false, false),
            (true, false, false),
            (false, true, false),
            (true, true, false),
            (false, false, true),
        ] {
            out.push(Config {
                trigger,
                test,
                judgment,
                auto,
            });
        }
    }
    out
}

/// The expected status of each stage (stages a configuration does not have are ignored),
/// the execution's status and Slack event, and who serves at the end.
fn expected(o: Outcome) -> (Vec<(&'static str, &'static str)>, &'static str, Serving) {
    const S: &str = "SUCCEEDED";
    const FC: &str = "FAILED_CONTINUE";
    const SK: &str = "SKIPPED";
    const T: &str = "TERMINAL";
    const NS: &str = "NOT_STARTED";
    let rolled_back = |wait, test, approve, promote, verify| {
        (
            vec![
                ("Check parameters", S),
                ("Deploy", S),
                ("Wait for preview", wait),
                ("Scenario test", test),
                ("Approve promotion", approve),
                ("Promote", promote),
                ("Verify", verify),
                ("Roll back", S),
                ("Fail release", T),
            ],
            T,
            Serving::Previous,
        )
    };
    let untouched = |wait, fail, status, serving| {
        (
            vec![
                ("Check parameters", S),
                ("Deploy", S),
                ("Wait for preview", wait),
                ("Scenario test", SK),
                ("Approve promotion", SK),
                ("Promote", SK),
                ("Verify", SK),
                ("Roll back", SK),
                ("Fail release", fail),
            ],
            status,
            serving,
        )
    };
    match o {
        Promoted => (
            vec![
                ("Check parameters", S),
                ("Deploy", S),
                ("Wait for preview", S),
                ("Scenario test", S),
                ("Approve promotion", S),
                ("Promote", S),
                ("Verify", S),
                ("Roll back", SK),
                ("Fail release", SK),
            ],
            S,
            Serving::New,
        ),
        TestFails => rolled_back(S, FC, SK, SK, SK),
        JudgmentRollsBack | JudgmentWithoutInput => rolled_back(S, S, S, SK, SK),
        JudgmentStopped => rolled_back(S, S, FC, SK, SK),
        NewRevisionDegraded | WaitTimesOut => rolled_back(FC, SK, SK, SK, SK),
        PromoteFails => rolled_back(S, S, S, FC, SK),
        VerifyFails | VerifyFailsAfterScaleDown => rolled_back(S, S, S, S, FC),
        NothingNew => untouched(S, SK, S, Serving::Unchanged),
        FirstRelease => untouched(S, SK, S, Serving::New),
        RunningVersionDegraded => untouched(FC, T, T, Serving::Unchanged),
        EmptyTag => (
            vec![
                ("Check parameters", T),
                ("Deploy", NS),
                ("Wait for preview", NS),
                ("Scenario test", NS),
                ("Approve promotion", NS),
                ("Promote", NS),
                ("Verify", NS),
                ("Roll back", NS),
                ("Fail release", NS),
            ],
            T,
            Serving::Unchanged,
        ),
    }
}

// ---------------------------------------------------------------- the world

/// What a script run gave, memoised.
#[derive(Clone)]
struct ScriptRun {
    stdout: String,
    status: Option<i32>,
    timed_out: bool,
    stderr: String,
    after: ArgoModel,
}

struct Cluster<'a> {
    kube: &'a FakeKube,
    model: Arc<Mutex<ArgoModel>>,
    outcome: Outcome,
    /// The Role the release's jobs run with, from the Deploy stage.
    rules: Vec<Value>,
    cache: &'a mut HashMap<String, ScriptRun>,
    /// The image reference Deploy bound into the pod template.
    deployed: Option<String>,
    /// Every job run, for failure messages.
    log: Vec<String>,
}

fn model_key(m: &ArgoModel) -> String {
    let mut m = m.clone();
    m.log.clear();
    format!("{m:?}")
}

impl Cluster<'_> {
    fn reset_store(&self) {
        let ns = self.model.lock().unwrap().namespace.clone();
        self.kube.with_store(|store| {
            for resource in ["rollouts", "deployments", "replicasets"] {
                let names: Vec<String> = store
                    .list(resource, &ns)
                    .iter()
                    .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
                    .collect();
                for n in names {
                    store.delete(resource, &ns, &n);
                }
            }
        });
    }

    fn run_script(&mut self, script: &str, env: &[(String, String)]) -> ScriptRun {
        let before = self.model.lock().unwrap().clone();
        let key = format!(
            "{script}\n{env:?}\n{}\n{:?}",
            model_key(&before),
            self.rules
        );
        if let Some(hit) = self.cache.get(&key) {
            *self.model.lock().unwrap() = hit.after.clone();
            return hit.clone();
        }
        self.reset_store();
        let model = self.model.clone();
        let refresh = move |store: &mut support::fake_kube::store::Store, m: &ArgoModel| {
            for o in m.objects() {
                store.put(o);
            }
        };
        {
            let m = model.lock().unwrap();
            self.kube.with_store(|store| refresh(store, &m));
        }
        let hook_model = model.clone();
        self.kube.set_hook(move |req, store| {
            if !req.is_resource || !req.allowed {
                return;
            }
            let mut m = hook_model.lock().unwrap();
            if req.resource == "rollouts" && req.subresource.is_empty() && req.verb == "get" {
                m.tick();
            }
            if req.resource == "rollouts" && req.subresource == "status" && req.verb == "patch" {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                if body.pointer("/status/pauseConditions") == Some(&Value::Null) {
                    m.clear_pause_conditions();
                }
                if body.pointer("/status/abort") == Some(&Value::Bool(true)) {
                    m.set_abort();
                }
            }
            refresh(store, &m);
        });
        self.kube
            .set_role(&json!({"kind": "Role", "rules": self.rules}))
            .expect("the generated Role is a valid RBAC Role");
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let out = self.kube.run_script(script, &env, Duration::from_secs(240));
        self.kube.clear_hook();
        let run = ScriptRun {
            stdout: out.stdout,
            status: out.status,
            timed_out: out.timed_out,
            stderr: out.stderr,
            after: model.lock().unwrap().clone(),
        };
        self.cache.insert(key, run.clone());
        run
    }

    /// A container of the Argo Rollouts kubectl plugin, modelled: its permissions
    /// (`upstream::argo_plugin`, checked against the Role) and its effect on the Rollout.
    fn run_plugin(&mut self, args: &[&str]) -> Result<String, String> {
        let words: Vec<&str> = args
            .iter()
            .copied()
            .filter(|a| !a.starts_with("--"))
            .collect();
        let sub = words.first().copied().unwrap_or_default();
        let calls = argo_plugin::calls(&[sub], Some("Deployment"))
            .ok_or_else(|| format!("`{sub}`: not modelled"))?;
        let rollout = self.model.lock().unwrap().app.clone();
        for c in &calls {
            let name = match (c.verb, c.resource) {
                ("list" | "watch", _) => None,
                (_, "deployments") => Some("shop-pod-template"),
                _ => Some(rollout.as_str()),
            };
            let request = rbac::Request {
                verb: c.verb,
                group: c.group,
                resource: c.resource,
                name,
            };
            if !rbac::allows(&self.rules, &request) {
                if sub == "status" {
                    // Its informers never sync: it waits until the Job's deadline kills it.
                    return Err(
                        "killed at activeDeadlineSeconds (informer caches never synced)".into(),
                    );
                }
                return Err(format!("forbidden: {} {}", c.verb, c.resource));
            }
        }
        let mut m = self.model.lock().unwrap();
        match sub {
            "promote" => {
                if self.outcome == PromoteFails {
                    return Err("the promote job failed (API server unavailable)".into());
                }
                if m.pause_conditions.is_empty() {
                    return Ok("rollout promoted (nothing paused)".into());
                }
                m.clear_pause_conditions();
                Ok("rollout promoted".into())
            }
            "abort" => {
                m.set_abort();
                m.tick();
                Ok("rollout aborted".into())
            }
            "undo" => {
                let i = args
                    .iter()
                    .position(|a| *a == "--to-revision")
                    .ok_or("undo without --to-revision")?;
                let revision: u32 = args
                    .get(i + 1)
                    .and_then(|r| r.parse().ok())
                    .ok_or_else(|| format!("invalid --to-revision {:?}", args.get(i + 1)))?;
                let image = m.image_of_revision(revision).ok_or_else(|| {
                    format!("unable to find specified revision {revision} in history")
                })?;
                m.set_template(&image);
                Ok(format!("undo to revision {revision}"))
            }
            "status" => {
                for _ in 0..20 {
                    m.tick();
                    match m.phase.as_str() {
                        "Healthy" => return Ok("Healthy".into()),
                        "Degraded" => {
                            return Err(format!(
                                "The rollout is in a degraded state with message: {}",
                                m.message
                            ));
                        }
                        _ => {}
                    }
                }
                Err("Rollout status watch exceeded timeout".into())
            }
            other => Err(format!("`{other}`: not modelled")),
        }
    }
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

impl World for Cluster<'_> {
    fn deploy(
        &mut self,
        stage: &serde_json::Map<String, Value>,
        trigger: &Value,
    ) -> Result<(), String> {
        // Orca resolves the required artifacts from the trigger; Clouddriver binds them.
        let artifacts = trigger["artifacts"].as_array().cloned().unwrap_or_default();
        let mut manifests = stage["manifests"].as_array().cloned().unwrap_or_default();
        for a in &artifacts {
            let (Some(name), Some(reference)) = (a["name"].as_str(), a["reference"].as_str())
            else {
                continue;
            };
            let mut bound = false;
            for m in &mut manifests {
                for image in artifact_replacer::replaceable_images(&m.clone()) {
                    if artifact_replacer::image_name(image.image) == name {
                        *m.pointer_mut(&image.pointer).unwrap() = json!(reference);
                        bound = true;
                    }
                }
            }
            if !bound {
                return Err(format!(
                    "The following required artifacts could not be bound: '{name}'"
                ));
            }
        }
        for m in &manifests {
            match m["kind"].as_str() {
                Some("Role") => self.rules = m["rules"].as_array().cloned().unwrap_or_default(),
                Some("Deployment") => {
                    let image = m["spec"]["template"]["spec"]["containers"][0]["image"]
                        .as_str()
                        .unwrap_or_default();
                    self.deployed = Some(image.to_string());
                    self.model.lock().unwrap().apply(image, 1);
                }
                Some("Rollout") if m["spec"].get("workloadRef").is_none() => {
                    return Err(
                        "this model serves Rollouts that take their template from a Deployment"
                            .into(),
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn run_job(
        &mut self,
        stage_name: &str,
        job: &Value,
        property_container: Option<&str>,
    ) -> JobResult {
        if stage_name == "Roll back" && self.outcome == VerifyFailsAfterScaleDown {
            // The rollback starts after scaleDownDelaySeconds.
            let mut m = self.model.lock().unwrap();
            m.delay_expired = true;
            m.tick();
        }
        let spec = &job["spec"]["template"]["spec"];
        let containers: Vec<&Value> = spec["initContainers"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(spec["containers"].as_array().into_iter().flatten())
            .collect();
        let mut log = None;
        for c in containers {
            let name = c["name"].as_str().unwrap_or_default();
            let image = c["image"].as_str().unwrap_or_default();
            let command = strings(&c["command"]);
            let args = strings(&c["args"]);
            let result: Result<String, String> = if command == ["/bin/sh", "-c"] {
                let env: Vec<(String, String)> = c["env"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        (
                            e["name"].as_str().unwrap_or_default().to_string(),
                            e["value"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                let run = self.run_script(args[0], &env);
                if Some(name) == property_container {
                    log = (!run.timed_out).then(|| run.stdout.clone());
                }
                self.log.push(format!(
                    "{stage_name}/{name}: exit {:?}\n{}{}",
                    run.status, run.stdout, run.stderr
                ));
                if run.status == Some(0) {
                    Ok(run.stdout)
                } else {
                    Err(format!(
                        "exit {:?}: {}{}",
                        run.status, run.stdout, run.stderr
                    ))
                }
            } else if image.contains("kubectl-argo-rollouts") {
                let r = self.run_plugin(&args);
                self.log
                    .push(format!("{stage_name}/{name} {args:?}: {r:?}"));
                r
            } else if image.starts_with("postman/newman") {
                if self.outcome == TestFails {
                    Err("2 assertions failed".into())
                } else {
                    Ok("all assertions passed".into())
                }
            } else {
                Err(format!("no model of container image {image}"))
            };
            if let Err(m) = result {
                return JobResult {
                    succeeded: false,
                    log,
                    message: m,
                };
            }
        }
        JobResult {
            succeeded: true,
            log,
            message: String::new(),
        }
    }

    fn judge(&mut self, _stage_name: &str) -> Judgment {
        match self.outcome {
            JudgmentRollsBack => Judgment::Continue(Some("Roll back".into())),
            JudgmentStopped => Judgment::Stop,
            JudgmentWithoutInput => Judgment::Continue(None),
            _ => Judgment::Continue(Some("Promote".into())),
        }
    }
}

// ---------------------------------------------------------------- running

struct Engines {
    spel: Spel,
    kube: FakeKube,
    cache: HashMap<String, ScriptRun>,
}

fn engines() -> Option<Engines> {
    support::fake_kube::script::require_kubectl()?;
    let spel = Spel::start()?;
    let kube = FakeKube::start_as("shop", "shop-release");
    kube.fake_sleep(true);
    Some(Engines {
        spel,
        kube,
        cache: HashMap::new(),
    })
}

/// The bundle `kujira-gen build` prints for a value file.
fn build(value: &Value) -> Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join("value.json"), value.to_string()).unwrap();
    std::fs::write(
        dir.path().join("c.json"),
        include_str!("../examples/scenario-test/scenario.postman_collection.json"),
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .current_dir(dir.path())
        .args(["build", "value.json"])
        .env_remove("KUJIRA_TEMPLATES")
        .env_remove("KUJIRA_PLATFORM")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The trigger Orca starts the pipeline with, its artifacts resolved (for a manual run,
/// the expected artifact's default reference, evaluated as Orca evaluates the pipeline at
/// start).
fn trigger(pipeline: &Value, kind: &str, tag: &str, spel: &mut Spel) -> Value {
    let image = "gcr.io/acme/shop";
    match kind {
        "manual" => {
            let mut t = json!({"type": "manual", "user": "dev@example.com", "parameters": {"tag": tag}, "artifacts": []});
            let reference = pipeline["expectedArtifacts"][0]["defaultArtifact"]["reference"]
                .as_str()
                .unwrap();
            let exec = json!({"trigger": t, "stages": [{"refId": "start", "type": "wait"}]});
            let resolved = spel.evaluate(reference, &exec, "start").value;
            t["artifacts"] =
                json!([{"type": "docker/image", "name": image, "reference": resolved}]);
            t
        }
        other => {
            json!({"type": other, "artifacts": [{"type": "docker/image", "name": image, "reference": format!("{image}:{tag}")}]})
        }
    }
}

struct Run {
    execution: Execution,
    model: ArgoModel,
    deployed: Option<String>,
    log: Vec<String>,
}

fn run_release(
    e: &mut Engines,
    pipeline: &Value,
    trigger: Value,
    model: ArgoModel,
    outcome: Outcome,
) -> Run {
    let model = Arc::new(Mutex::new(model));
    let mut cluster = Cluster {
        kube: &e.kube,
        model: model.clone(),
        outcome,
        rules: Vec::new(),
        cache: &mut e.cache,
        deployed: None,
        log: Vec::new(),
    };
    let execution = orca::run(pipeline, trigger, &mut e.spel, &mut cluster);
    let deployed = cluster.deployed.clone();
    let log = std::mem::take(&mut cluster.log);
    let model = model.lock().unwrap().clone();
    Run {
        execution,
        model,
        deployed,
        log,
    }
}

fn initial_cluster(outcome: Outcome) -> ArgoModel {
    let old = format!("gcr.io/acme/shop:{OLD_TAG}");
    let new = format!("gcr.io/acme/shop:{NEW_TAG}");
    match outcome {
        FirstRelease => ArgoModel::new("shop", "shop", 2),
        NewRevisionDegraded => {
            ArgoModel::running("shop", "shop", 2, &old).with_health(&new, Health::Degraded)
        }
        WaitTimesOut => {
            ArgoModel::running("shop", "shop", 2, &old).with_health(&new, Health::Stuck)
        }
        VerifyFails | VerifyFailsAfterScaleDown => {
            ArgoModel::running("shop", "shop", 2, &old).with_health(&new, Health::FailsUnderTraffic)
        }
        RunningVersionDegraded => {
            ArgoModel::running("shop", "shop", 2, &old).with_health(&old, Health::FailsUnderTraffic)
        }
        _ => ArgoModel::running("shop", "shop", 2, &old),
    }
}

fn deployed_tag(outcome: Outcome) -> &'static str {
    match outcome {
        NothingNew | RunningVersionDegraded => OLD_TAG,
        EmptyTag => "",
        _ => NEW_TAG,
    }
}

/// Who serves at the end, or why the end state is a defect.
fn serving(m: &ArgoModel, before: &ArgoModel) -> Result<Serving, String> {
    let new = format!("gcr.io/acme/shop:{NEW_TAG}");
    let old = format!("gcr.io/acme/shop:{OLD_TAG}");
    if m.current != m.stable {
        return Err(format!(
            "a revision is left in the preview, not promoted: current {:?}, stable {:?}",
            m.current, m.stable
        ));
    }
    if m.active != m.stable {
        return Err("the active Service does not point at the stable revision".into());
    }
    match m.serving() {
        Some(i) if i == new => Ok(Serving::New),
        Some(i) if i == old && m.replica_sets.len() == before.replica_sets.len() => {
            Ok(Serving::Unchanged)
        }
        Some(i) if i == old => Ok(Serving::Previous),
        other => Err(format!("serving {other:?}")),
    }
}

/// Compares one run with the table; `Err` says what differs.
fn compare(run: &Run, before: &ArgoModel, outcome: Outcome) -> Result<(), String> {
    let (stages, status, who) = expected(outcome);
    let mut problems = Vec::new();
    for (name, want) in stages {
        if let Some(s) = run.execution.stage(name)
            && s.status != want
        {
            problems.push(format!("{name}: {} (expected {want})", s.status));
        }
    }
    if run.execution.status != status {
        problems.push(format!(
            "execution {} (expected {status})",
            run.execution.status
        ));
    }
    let slack = if status == "SUCCEEDED" {
        "pipeline.complete"
    } else {
        "pipeline.failed"
    };
    if run.execution.slack_event() != slack {
        problems.push(format!(
            "Slack {} (expected {slack})",
            run.execution.slack_event()
        ));
    }
    match serving(&run.model, before) {
        Ok(s) if s == who => {}
        Ok(s) => problems.push(format!("{s:?} serves (expected {who:?})")),
        Err(e) => problems.push(e),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n{}cluster: {:?}\n{}",
            problems.join("; "),
            run.execution.describe(),
            run.model.log,
            run.log.join("\n")
        ))
    }
}

#[test]
fn every_configuration_through_every_outcome() {
    let Some(mut e) = engines() else { return };
    let mut failures = Vec::new();
    let mut count = 0;
    for config in configs() {
        let bundle = build(&config.value_file());
        let pipeline = &bundle["pipelines"][0];
        for &outcome in OUTCOMES.iter().filter(|o| config.applies(**o)) {
            count += 1;
            let before = initial_cluster(outcome);
            let trigger = trigger(pipeline, config.trigger, deployed_tag(outcome), &mut e.spel);
            let run = run_release(&mut e, pipeline, trigger, before.clone(), outcome);
            if let Err(why) = compare(&run, &before, outcome) {
                failures.push(format!("{config:?} {outcome:?}: {why}"));
            }
        }
    }
    assert!(count >= 180, "only {count} scenarios");
    assert!(
        failures.is_empty(),
        "{} of {count} scenarios differ from the table:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Every string of `v` rewritten by `f`.
fn rewrite(v: &mut Value, f: &dyn Fn(&str) -> String) {
    match v {
        Value::String(s) => *s = f(s),
        Value::Array(items) => items.iter_mut().for_each(|x| rewrite(x, f)),
        Value::Object(m) => m.values_mut().for_each(|x| rewrite(x, f)),
        _ => {}
    }
}

/// The table is a judge, not a mirror: the three defects the release once had each make a
/// promoted release differ from it.
#[test]
fn the_table_catches_the_old_defects() {
    let Some(mut e) = engines() else { return };
    let config = Config {
        trigger: "docker",
        test: true,
        judgment: false,
        auto: false,
    };
    let bundle = build(&config.value_file());
    let run = |e: &mut Engines, pipeline: &Value| {
        let before = initial_cluster(Promoted);
        let trigger = trigger(pipeline, config.trigger, NEW_TAG, &mut e.spel);
        let run = run_release(e, pipeline, trigger, before.clone(), Promoted);
        compare(&run, &before, Promoted).map(|()| run.execution.describe())
    };
    assert_eq!(run(&mut e, &bundle["pipelines"][0]).map(|_| ()), Ok(()));

    // 1. The job output read under the key as printed: Clouddriver stores it lower-cased.
    let mut upper = bundle["pipelines"][0].clone();
    rewrite(&mut upper, &|s| {
        s.replace("['new_revision']", "['NEW_REVISION']")
    });
    let why = run(&mut e, &upper).expect_err("an upper-case key must break the release");
    assert!(
        why.contains("Scenario test: SKIPPED (expected SUCCEEDED)"),
        "{why}"
    );
    assert!(
        why.contains("a revision is left in the preview, not promoted"),
        "{why}"
    );

    // 2. The Role without `list pods`: `kubectl-argo-rollouts status` waits for its pod
    // informer until the Job's deadline.
    let mut no_pods = bundle["pipelines"][0].clone();
    for m in no_pods["stages"][0]["manifests"].as_array_mut().unwrap() {
        if m["kind"] == "Role" {
            let rules = m["rules"].as_array_mut().unwrap();
            rules.retain(|r| r["resources"] != json!(["pods"]));
        }
    }
    let why = run(&mut e, &no_pods).expect_err("a Role without list pods must break Verify");
    assert!(
        why.contains("Verify: FAILED_CONTINUE (expected SUCCEEDED)"),
        "{why}"
    );
    assert!(why.contains("informer caches never synced"), "{why}");

    // 3. The image back in the Rollout, where Clouddriver binds nothing.
    let mut unbound = bundle["pipelines"][0].clone();
    let manifests = unbound["stages"][0]["manifests"].as_array_mut().unwrap();
    let template = manifests
        .iter()
        .find(|m| m["kind"] == "Deployment")
        .unwrap()["spec"]["template"]
        .clone();
    manifests.retain(|m| m["kind"] != "Deployment");
    for m in manifests.iter_mut().filter(|m| m["kind"] == "Rollout") {
        m["spec"].as_object_mut().unwrap().remove("workloadRef");
        m["spec"]["template"] = template.clone();
    }
    let why = run(&mut e, &unbound).expect_err("an unbound image must fail the Deploy stage");
    assert!(
        why.contains("Deploy: TERMINAL (expected SUCCEEDED)"),
        "{why}"
    );
    assert!(
        why.contains("required artifacts could not be bound"),
        "{why}"
    );
}

/// Orca's DependentPipelineStarter: a pipeline trigger on `parent`'s pipeline fires when
/// the parent execution ends with one of its statuses (SUCCEEDED is `successful`), and the
/// triggered execution receives the parent's artifacts (its stages' output artifacts, then
/// its trigger's).
fn dependent_trigger(child: &Value, parent_pipeline: &Value, parent: &Execution) -> Option<Value> {
    let status = match parent.status.as_str() {
        "SUCCEEDED" => "successful",
        "CANCELED" => "canceled",
        _ => "failed",
    };
    let t = child["triggers"].as_array()?.iter().find(|t| {
        t["type"] == "pipeline"
            && t["enabled"] == true
            && t["pipeline"] == parent_pipeline["id"]
            && t["status"]
                .as_array()
                .is_some_and(|s| s.contains(&json!(status)))
    })?;
    Some(json!({
        "type": "pipeline",
        "parentPipelineId": t["pipeline"],
        "artifacts": parent.trigger["artifacts"],
    }))
}

/// Staging, then production: production runs only after staging succeeded, with exactly
/// the image staging released; each environment ends in one of the release's end states.
#[test]
fn two_environments() {
    let Some(mut e) = engines() else { return };
    let mut value = Config {
        trigger: "docker",
        test: true,
        judgment: false,
        auto: false,
    }
    .value_file();
    value.as_object_mut().unwrap().remove("Account");
    value["Environments"] = json!([
        {"Name": "staging", "Account": "gke-staging", "Replicas": 1},
        {"Name": "production", "Account": "gke-production", "ManualJudgment": true, "ScenarioTest": false}
    ]);
    let bundle = build(&value);
    let (staging, production) = (&bundle["pipelines"][0], &bundle["pipelines"][1]);
    assert_eq!(
        (staging["name"].as_str(), production["name"].as_str()),
        (Some("release-staging"), Some("release-production"))
    );
    let mut failures = Vec::new();
    for (staging_outcome, production_outcome) in [
        (Promoted, Some(Promoted)),
        (Promoted, Some(VerifyFails)),
        (Promoted, Some(JudgmentRollsBack)),
        (TestFails, None),
        (NewRevisionDegraded, None),
        (NothingNew, Some(NothingNew)),
    ] {
        let before = initial_cluster(staging_outcome);
        let trigger = trigger(
            staging,
            "docker",
            deployed_tag(staging_outcome),
            &mut e.spel,
        );
        let first = run_release(&mut e, staging, trigger, before.clone(), staging_outcome);
        if let Err(why) = compare(&first, &before, staging_outcome) {
            failures.push(format!("staging {staging_outcome:?}: {why}"));
        }
        let next = dependent_trigger(production, staging, &first.execution);
        match (production_outcome, next) {
            (None, None) => {}
            (None, Some(_)) => {
                failures.push(format!("staging {staging_outcome:?} started production"))
            }
            (Some(_), None) => failures.push(format!(
                "staging {staging_outcome:?} did not start production"
            )),
            (Some(outcome), Some(trigger)) => {
                let before = initial_cluster(outcome);
                let second = run_release(&mut e, production, trigger, before.clone(), outcome);
                if let Err(why) = compare(&second, &before, outcome) {
                    failures.push(format!(
                        "production {outcome:?} after staging {staging_outcome:?}: {why}"
                    ));
                }
                if second.deployed != first.deployed {
                    failures.push(format!(
                        "production deployed {:?}, staging released {:?}",
                        second.deployed, first.deployed
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The controller model against the behaviour it models (rollout/bluegreen.go, sync.go).
mod argo_model {
    use super::support::argo_model::{ArgoModel, Health};

    fn settle(m: &mut ArgoModel, ticks: u32) {
        for _ in 0..ticks {
            m.tick();
        }
    }

    #[test]
    fn a_new_revision_pauses_in_the_preview_and_promotion_makes_it_stable() {
        let mut m = ArgoModel::running("app", "ns", 2, "img:1");
        let old = m.stable.clone().unwrap();
        m.apply("img:2", 1);
        m.tick();
        assert_eq!(m.phase, "Progressing");
        settle(&mut m, 3);
        assert_eq!(m.phase, "Paused");
        assert_eq!(m.pause_conditions, vec!["BlueGreenPause"]);
        assert_eq!(m.active.as_deref(), Some(old.as_str()));
        m.clear_pause_conditions();
        m.tick();
        assert_eq!(m.phase, "Healthy");
        assert_eq!(m.serving().as_deref(), Some("img:2"));
        assert!(m.rs(&old).unwrap().scale_down_deadline);
    }

    #[test]
    fn abort_then_undo_returns_to_the_stable_revision() {
        let mut m = ArgoModel::running("app", "ns", 2, "img:1");
        m.apply("img:2", 1);
        settle(&mut m, 4);
        m.set_abort();
        m.tick();
        assert_eq!(m.phase, "Degraded");
        m.set_template("img:1");
        settle(&mut m, 2);
        assert_eq!(m.phase, "Healthy");
        assert_eq!(m.serving().as_deref(), Some("img:1"));
        assert_eq!(m.current, m.stable);
    }

    #[test]
    fn a_return_after_the_scale_down_delay_pauses_like_an_update() {
        let mut m = ArgoModel::running("app", "ns", 2, "img:1")
            .with_health("img:2", Health::FailsUnderTraffic);
        m.apply("img:2", 1);
        settle(&mut m, 4);
        m.clear_pause_conditions();
        m.tick();
        assert_eq!(m.phase, "Healthy");
        settle(&mut m, 5);
        assert_eq!(m.phase, "Degraded");
        m.delay_expired = true;
        m.tick();
        m.set_template("img:1");
        settle(&mut m, 4);
        assert_eq!(m.phase, "Paused");
        m.clear_pause_conditions();
        m.tick();
        assert_eq!(m.serving().as_deref(), Some("img:1"));
        assert_eq!(m.phase, "Healthy");
    }
}
