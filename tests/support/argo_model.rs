//! A model of the Argo Rollouts controller (v1.9.1) for one blue-green Rollout whose pod
//! template comes from a Deployment (`workloadRef`), as far as the release pipeline can
//! observe it: the Rollout's status, its ReplicaSets and the Deployment. The release
//! scenario tests serve these objects to the real `kubectl` of the generated job scripts
//! (through `fake_kube`), and apply the plugin's commands to it.
//!
//! Modelled from the controller's source (docs/spinnaker-rules.md, "Argo Rollouts"):
//! - `rollout/templateref.go`, `rollout/sync.go` `persistRolloutStatus`: the template comes
//!   from the Deployment; `status.workloadObservedGeneration` records the Deployment
//!   generation the status describes, `status.observedGeneration` the Rollout's.
//! - `rollout/replicaset.go`, `utils/replicaset`: a template gets the ReplicaSet with its
//!   hash, reused when it exists, and the revision after the highest one.
//! - `rollout/bluegreen.go`: a new revision is scaled up behind the preview Service and
//!   pauses (`BlueGreenPause`) once available, unless it is fast-tracked: the first
//!   revision (the active Service has no selector yet) or a ReplicaSet still within its
//!   scale-down delay. Promotion points the active Service at it and makes it stable
//!   (`promoteStable`); the previous stable ReplicaSet keeps running for
//!   `scaleDownDelaySeconds` (a scale-down deadline annotation), then is scaled to zero.
//! - `rollout/sync.go` `resetRolloutStatus`: a template change clears pause conditions and
//!   abort; `rollout/controller.go`: an abort of a fully promoted Rollout is cleared.
//! - `utils/rollout/rolloututil.go` `CalculateRolloutPhase`: Healthy, Progressing, Paused,
//!   Degraded (an aborted update is Degraded, `RolloutAborted`).
//!
//! - Analyses (rollout/analysis.go, analysis/analysis.go, utils/analysis): with a
//!   blue-green `prePromotionAnalysis` the run `<rollout>-<hash>-<revision>-pre` starts once
//!   the preview is available, not for the first revision nor for a ReplicaSet within its
//!   scale-down delay (`skipPrePromotionAnalysisRun`), and the `BlueGreenPause` comes only
//!   after it succeeded (`reconcileBlueGreenPause`, `completedPrePromotionAnalysis`); with
//!   `postPromotionAnalysis` the promoted revision becomes active but stays unstable until
//!   its `-post` run succeeded (sync.go `shouldFullPromote`), the previous one keeps
//!   running, and the phase is Progressing "waiting for analysis to complete"
//!   (rolloututil.go). A Failed or Error run aborts the update and, after a promotion,
//!   switches the active Service back to the stable revision (service.go
//!   `reconcileActiveService`); an Inconclusive one adds the `InconclusiveAnalysis` pause
//!   (`setPauseOrAbortForBlueGreen`). Each run measures every metric once per tick; a
//!   measurement is evaluated with the template's own conditions and limits
//!   (`support::argo_analysis`, from analysis/analysis.go and utils/evaluate); the values
//!   measured are the scenario's ([`Sli`]), never a query.
//! - Canary (rollout/canary.go, utils/replicaset/canary.go): the steps run in order from
//!   `status.currentStepIndex`; `setWeight`/`setCanaryScale` complete once the canary pods
//!   are available, `pause` adds `CanaryPauseStep` (a duration ends it by itself, no
//!   duration waits for a promote), `analysis` runs `<rollout>-<hash>-<revision>-<index>` and
//!   the next step waits for its success; a background analysis starts at `startingStep`.
//!   A Failed or Error run aborts (the canary is scaled down, the step index returns to 0),
//!   an Inconclusive one pauses. After the last step the canary becomes stable ("Completed
//!   all N canary steps"). An update back to the stable template skips the steps, and so
//!   does one back to the ReplicaSet just before the stable one with `rollbackWindow`
//!   (sync.go `isRollbackWithinWindow`).
//!
//! Time is counted in controller "ticks": the scenario runner calls [`ArgoModel::tick`]
//! before every read of the Rollout, so a polling script sees the controller progress one
//! step per poll, including the moments where the status does not yet describe the
//! deployed template.

use super::argo_analysis::{self as analysis, Phase};
use serde_json::{Value, json};

/// How the pods of one image behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Become ready and stay healthy.
    Healthy,
    /// Never become ready: the update makes no progress until Argo Rollouts' progress
    /// deadline marks it Degraded.
    Degraded,
    /// Never become ready and never reach the progress deadline within the test.
    Stuck,
    /// Ready in the preview, but failing once they take live traffic.
    FailsUnderTraffic,
}

/// What the analyses of one version measure, in the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sli {
    /// Every objective met: 99.95 % for every SLI.
    Met,
    /// The `availability` SLI at 99.5 % (below a 99.9 % objective); the others met.
    BreaksAvailability,
    /// No requests: the generated queries answer -1.
    NoData,
    /// The provider cannot be reached: every measurement is an error.
    Unreachable,
}

/// The kind of an AnalysisRun, as the Rollout's status names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    PrePromotion,
    PostPromotion,
    Step(usize),
    Background,
}

#[derive(Debug, Clone)]
pub struct Measurement {
    pub phase: Phase,
    /// When it was taken (Unix seconds of the model's clock).
    pub finished_at: i64,
    /// As the Prometheus provider stores it: `[0.995]`.
    pub value: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MetricResult {
    pub name: String,
    pub phase: Phase,
    pub measurements: Vec<Measurement>,
    /// When the next measurement is due: the run's start, then every `interval`, 10 s
    /// after an error (analysis/analysis.go calculateNextReconcileTime).
    pub next_at: i64,
}

#[derive(Debug, Clone)]
pub struct AnalysisRun {
    pub name: String,
    pub kind: RunKind,
    pub hash: String,
    /// The template's metrics (conditions, limits, count).
    pub metrics: Vec<Value>,
    pub results: Vec<MetricResult>,
    pub phase: Phase,
    pub message: String,
    /// The rollout ended it (terminate: running metrics end Successful).
    pub terminated: bool,
}

/// The Rollout's strategy, from the deployed manifest.
#[derive(Debug, Clone, Default)]
pub enum Strategy {
    /// Blue-green, with the metrics of its analyses' templates.
    #[default]
    BlueGreenPlain,
    BlueGreen {
        pre: Option<Vec<Value>>,
        post: Option<Vec<Value>>,
    },
    Canary {
        steps: Vec<Value>,
        /// The metrics of each analysis step's template, by step index.
        step_metrics: Vec<Option<Vec<Value>>>,
        /// startingStep and the background template's metrics.
        background: Option<(usize, Vec<Value>)>,
        routed: bool,
        rollback_window: bool,
    },
}

#[derive(Debug, Clone)]
pub struct ReplicaSet {
    pub hash: String,
    pub revision: u32,
    pub image: String,
    pub replicas: u32,
    /// Within `scaleDownDelaySeconds` after being replaced as the active revision.
    pub scale_down_deadline: bool,
}

#[derive(Debug, Clone)]
pub struct ArgoModel {
    pub app: String,
    pub namespace: String,
    pub replicas: u32,
    /// The Deployment that holds the template.
    pub deployment_generation: u64,
    pub deployment_image: Option<String>,
    pub rollout_generation: u64,
    pub observed_generation: u64,
    pub workload_observed_generation: u64,
    pub replica_sets: Vec<ReplicaSet>,
    pub current: Option<String>,
    pub stable: Option<String>,
    pub active: Option<String>,
    pub preview: Option<String>,
    pub pause_conditions: Vec<String>,
    pub controller_pause: bool,
    pub abort: bool,
    pub phase: String,
    pub message: String,
    /// Ticks since the current template was observed.
    pub progress: u32,
    /// Pods of these images behave so; every other image is healthy.
    pub health: Vec<(String, Health)>,
    /// Scale-down delays run out on the next tick (the previous revision is gone).
    pub delay_expired: bool,
    pub strategy: Strategy,
    /// What each image's analyses measure before it takes the traffic (preview, canary)
    /// and after it (post-promotion); [`Sli::Met`] otherwise.
    pub sli: Vec<(String, Sli, Sli)>,
    pub runs: Vec<AnalysisRun>,
    /// The runs the status names, by kind.
    pub current_runs: Vec<(RunKind, String)>,
    /// Why the update was aborted (pauseContext's abort message).
    pub abort_message: String,
    pub step_index: Option<usize>,
    /// Ticks since the current canary step started.
    pub step_progress: u32,
    /// `status.promoteFull`: the next revision becomes stable once available, without
    /// its analyses, pauses or steps.
    pub promote_full: bool,
    /// The controller's clock (Unix seconds): set from the scripts' fake clock by
    /// [`ArgoModel::set_now`]; without it, every tick is one minute.
    pub now: i64,
    external_clock: bool,
    /// Every change the controller made, for failure messages.
    pub log: Vec<String>,
}

/// Ticks a new revision needs to become available in the preview.
const READY_AFTER: u32 = 2;
/// Ticks after which an update that makes no progress is Degraded.
const PROGRESS_DEADLINE: u32 = 4;
/// The Rollout's message when that happens (the ReplicaSet's progress condition).
const DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded: ReplicaSet has timed out progressing.";

impl ArgoModel {
    /// An application that has never been released.
    pub fn new(app: &str, namespace: &str, replicas: u32) -> Self {
        Self {
            app: app.to_string(),
            namespace: namespace.to_string(),
            replicas,
            deployment_generation: 0,
            deployment_image: None,
            rollout_generation: 0,
            observed_generation: 0,
            workload_observed_generation: 0,
            replica_sets: Vec::new(),
            current: None,
            stable: None,
            active: None,
            preview: None,
            pause_conditions: Vec::new(),
            controller_pause: false,
            abort: false,
            phase: String::new(),
            message: String::new(),
            progress: 0,
            health: Vec::new(),
            delay_expired: false,
            strategy: Strategy::default(),
            sli: Vec::new(),
            runs: Vec::new(),
            current_runs: Vec::new(),
            abort_message: String::new(),
            step_index: None,
            step_progress: 0,
            promote_full: false,
            now: 1_767_225_600,
            external_clock: false,
            log: Vec::new(),
        }
    }

    /// The analyses measure `preview` before this image takes the traffic, `live` after.
    pub fn with_sli(mut self, image: &str, preview: Sli, live: Sli) -> Self {
        self.sli.push((image.to_string(), preview, live));
        self
    }

    /// Clouddriver applies the Rollout (its strategy) and the AnalysisTemplates it names.
    pub fn apply_rollout(&mut self, rollout: &Value, templates: &[Value]) {
        let metrics_of = |reference: Option<&Value>| -> Option<Vec<Value>> {
            let name = reference?.pointer("/templates/0/templateName")?.as_str()?;
            let t = templates
                .iter()
                .find(|t| t.pointer("/metadata/name").and_then(Value::as_str) == Some(name))?;
            t.pointer("/spec/metrics")?.as_array().cloned()
        };
        let strategy = &rollout["spec"]["strategy"];
        self.strategy = if let Some(c) = strategy.get("canary") {
            let steps = c["steps"].as_array().cloned().unwrap_or_default();
            Strategy::Canary {
                step_metrics: steps
                    .iter()
                    .map(|s| metrics_of(s.get("analysis")))
                    .collect(),
                background: metrics_of(c.get("analysis")).map(|m| {
                    (
                        c.pointer("/analysis/startingStep")
                            .and_then(Value::as_u64)
                            .unwrap_or(0) as usize,
                        m,
                    )
                }),
                steps,
                routed: c.get("trafficRouting").is_some(),
                rollback_window: rollout.pointer("/spec/rollbackWindow/revisions")
                    == Some(&json!(1)),
            }
        } else {
            let bg = &strategy["blueGreen"];
            let (pre, post) = (
                metrics_of(bg.get("prePromotionAnalysis")),
                metrics_of(bg.get("postPromotionAnalysis")),
            );
            if pre.is_none() && post.is_none() {
                Strategy::BlueGreenPlain
            } else {
                Strategy::BlueGreen { pre, post }
            }
        };
    }

    fn is_canary(&self) -> bool {
        matches!(self.strategy, Strategy::Canary { .. })
    }

    fn sli_of(&self, image: &str, live: bool) -> Sli {
        self.sli
            .iter()
            .find(|(i, _, _)| i == image)
            .map_or(Sli::Met, |(_, p, l)| if live { *l } else { *p })
    }

    pub fn run(&self, kind: RunKind) -> Option<&AnalysisRun> {
        let name = self
            .current_runs
            .iter()
            .find(|(k, _)| *k == kind)?
            .1
            .clone();
        self.runs.iter().find(|r| r.name == name)
    }

    /// Creates the AnalysisRun of `kind` for the current revision (createAnalysisRun:
    /// named `<rollout>-<hash>-<revision>[-<infix>]`).
    fn start_run(&mut self, kind: RunKind, metrics: Vec<Value>) {
        let Some(hash) = self.current.clone() else {
            return;
        };
        let revision = self.revision_of(&hash).unwrap_or(0);
        let infix = match kind {
            RunKind::PrePromotion => "-pre".to_string(),
            RunKind::PostPromotion => "-post".to_string(),
            RunKind::Step(i) => format!("-{i}"),
            RunKind::Background => String::new(),
        };
        let name = format!("{}-{hash}-{revision}{infix}", self.app);
        self.log.push(format!("analysis run {name} created"));
        self.runs.retain(|r| r.name != name);
        self.runs.push(AnalysisRun {
            name: name.clone(),
            kind,
            hash,
            results: metrics
                .iter()
                .map(|m| MetricResult {
                    name: m["name"].as_str().unwrap_or_default().to_string(),
                    phase: Phase::Pending,
                    measurements: Vec::new(),
                    next_at: self.now,
                })
                .collect(),
            metrics,
            phase: Phase::Running,
            message: String::new(),
            terminated: false,
        });
        self.current_runs.retain(|(k, _)| *k != kind);
        self.current_runs.push((kind, name));
    }

    /// The phase of the current run of `kind`, creating it when `metrics` are given and
    /// there is none for this revision.
    fn run_phase(&mut self, kind: RunKind, metrics: &[Value]) -> Phase {
        let existing = self
            .run(kind)
            .filter(|r| Some(&r.hash) == self.current.as_ref())
            .map(|r| r.phase);
        match existing {
            Some(p) => p,
            None => {
                self.start_run(kind, metrics.to_vec());
                Phase::Running
            }
        }
    }

    /// Ends a running run (cancelAnalysisRuns: `spec.terminate`).
    fn terminate_runs(&mut self) {
        for r in &mut self.runs {
            if !r.phase.completed() {
                r.terminated = true;
                for m in &mut r.results {
                    if !m.phase.completed() {
                        m.phase = Phase::Successful;
                    }
                }
                r.phase = Phase::Successful;
                r.message = "Run Terminated".into();
            }
        }
    }

    /// Every measurement due by now of every running metric of every running run (the
    /// analysis controller: the first when the run starts, then one every `interval`).
    fn measure(&mut self) {
        let images: Vec<(String, String)> = self
            .replica_sets
            .iter()
            .map(|r| (r.hash.clone(), r.image.clone()))
            .collect();
        let stable = self.stable.clone();
        let now = self.now;
        let mut runs = std::mem::take(&mut self.runs);
        for run in runs.iter_mut().filter(|r| !r.phase.completed()) {
            let image = images
                .iter()
                .find(|(h, _)| *h == run.hash)
                .map(|(_, i)| i.clone())
                .unwrap_or_default();
            let live = run.kind == RunKind::PostPromotion
                || (self.is_canary() && stable.as_deref() == Some(run.hash.as_str()));
            let sli = self.sli_of(&image, live);
            for (metric, result) in run.metrics.iter().zip(run.results.iter_mut()) {
                let interval = metric["interval"].as_str().map_or(60, duration_seconds);
                // Without the scripts' clock a tick is one interval: one measurement.
                let mut taken = 0;
                while !result.phase.completed()
                    && result.next_at <= now
                    && (self.external_clock || taken == 0)
                {
                    taken += 1;
                    let value = match sli {
                        Sli::Met => Ok(0.9995),
                        Sli::BreaksAvailability if result.name == "availability" => Ok(0.995),
                        Sli::BreaksAvailability => Ok(0.9995),
                        Sli::NoData => Ok(-1.0),
                        Sli::Unreachable => Err(
                            "Post \"http://prometheus.monitoring.svc.cluster.local:9090/api/v1/query\": dial tcp 10.0.0.10:9090: connect: connection refused"
                                .to_string(),
                        ),
                    };
                    let m = match value {
                        Ok(v) => Measurement {
                            phase: analysis::measurement(metric, &[v]).unwrap_or(Phase::Error),
                            finished_at: result.next_at,
                            value: Some(format!("[{v}]")),
                            message: None,
                        },
                        Err(e) => Measurement {
                            phase: Phase::Error,
                            finished_at: result.next_at,
                            value: None,
                            message: Some(e),
                        },
                    };
                    result.next_at += if m.phase == Phase::Error {
                        10
                    } else {
                        interval
                    };
                    result.measurements.push(m);
                    let phases: Vec<Phase> = result.measurements.iter().map(|m| m.phase).collect();
                    result.phase = analysis::metric_phase(metric, &phases);
                }
            }
            // assessRunStatus: a completed bad metric terminates the others; the run takes
            // the worst phase, with the message of the metric that decided it.
            let bad = run
                .results
                .iter()
                .zip(&run.metrics)
                .filter(|(r, _)| {
                    matches!(r.phase, Phase::Failed | Phase::Error | Phase::Inconclusive)
                })
                .max_by_key(|(r, _)| r.phase);
            if let Some((r, metric)) = bad {
                let count = |p: Phase| r.measurements.iter().filter(|m| m.phase == p).count();
                let limit = |k: &str, d: i64| metric[k].as_i64().unwrap_or(d);
                let why = match r.phase {
                    Phase::Failed => format!(
                        "failed ({}) > failureLimit ({})",
                        count(Phase::Failed),
                        limit("failureLimit", 0)
                    ),
                    Phase::Inconclusive => format!(
                        "inconclusive ({}) > inconclusiveLimit ({})",
                        count(Phase::Inconclusive),
                        limit("inconclusiveLimit", 0)
                    ),
                    _ => format!(
                        "consecutiveErrors ({}) > consecutiveErrorLimit ({})",
                        r.measurements
                            .iter()
                            .rev()
                            .take_while(|m| m.phase == Phase::Error)
                            .count(),
                        limit("consecutiveErrorLimit", 4)
                    ),
                };
                let mut message =
                    format!("Metric \"{}\" assessed {:?} due to {why}", r.name, r.phase);
                if let Some(last) = r.measurements.last().and_then(|m| m.message.clone()) {
                    message.push_str(&format!(": \"Error Message: {last}\""));
                }
                let phase = r.phase;
                for other in &mut run.results {
                    if !other.phase.completed() {
                        other.phase = Phase::Successful;
                    }
                }
                run.phase = phase;
                run.message = message;
            } else if run.results.iter().all(|r| r.phase == Phase::Successful) {
                run.phase = Phase::Successful;
            }
            if run.phase.completed() {
                self.log
                    .push(format!("analysis run {} {:?}", run.name, run.phase));
            }
        }
        self.runs = runs;
    }

    /// An application whose revision `image` (revision 1) has been released and runs
    /// healthy.
    pub fn running(app: &str, namespace: &str, replicas: u32, image: &str) -> Self {
        let mut m = Self::new(app, namespace, replicas);
        m.apply(image, 1);
        while m.phase != "Healthy" {
            m.tick();
        }
        m.log.clear();
        m
    }

    pub fn with_health(mut self, image: &str, health: Health) -> Self {
        self.health.push((image.to_string(), health));
        self
    }

    fn health_of(&self, image: &str) -> Health {
        self.health
            .iter()
            .find(|(i, _)| i == image)
            .map_or(Health::Healthy, |(_, h)| *h)
    }

    /// Clouddriver applies the Deployment (with this image) and the Rollout.
    pub fn apply(&mut self, image: &str, rollout_generation: u64) {
        if self.deployment_image.as_deref() != Some(image) {
            self.deployment_generation += 1;
            self.deployment_image = Some(image.to_string());
            self.log.push(format!("deployment template -> {image}"));
        }
        if self.rollout_generation == 0 {
            self.rollout_generation = rollout_generation;
        }
    }

    /// `undo --to-revision` wrote this revision's template into the Deployment.
    pub fn set_template(&mut self, image: &str) {
        if self.deployment_image.as_deref() != Some(image) {
            self.deployment_generation += 1;
            self.deployment_image = Some(image.to_string());
            self.log
                .push(format!("undo: deployment template -> {image}"));
        }
    }

    /// A status patch `{"status":{"pauseConditions":null}}` (promote).
    pub fn clear_pause_conditions(&mut self) {
        self.pause_conditions.clear();
        self.log.push("pause conditions cleared".into());
    }

    /// The time as the scripts see it (their fake clock), from now on.
    pub fn set_now(&mut self, now: i64) {
        self.now = now;
        self.external_clock = true;
    }

    /// A status patch `{"status":{"promoteFull":true}}` (`promote --full`).
    pub fn set_promote_full(&mut self) {
        self.promote_full = true;
        self.log.push("full promotion requested".into());
    }

    /// Full promotion of an available revision (rollout/sync.go, bluegreen.go, canary.go
    /// with `status.promoteFull`: analyses and pauses are skipped, running runs are
    /// terminated, the pause conditions go, and the flag is reset once the revision is
    /// stable). `false` while the revision is not available yet.
    fn reconcile_promote_full(&mut self, current: &str, available: bool) -> bool {
        if !self.promote_full || !available {
            return false;
        }
        self.pause_conditions.clear();
        self.controller_pause = false;
        self.terminate_runs();
        self.promote_stable(current);
        self.promote_full = false;
        self.log.push(format!("{current} fully promoted"));
        true
    }

    /// A status patch `{"status":{"abort":true}}`.
    pub fn set_abort(&mut self) {
        self.abort = true;
        self.log.push("abort requested".into());
    }

    pub fn hash_of(image: &str) -> String {
        // Stable and short, like a pod template hash.
        let mut h: u32 = 2166136261;
        for b in image.bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(16777619);
        }
        format!("{:x}", h % 0xfffff + 0x100000)
    }

    pub fn rs(&self, hash: &str) -> Option<&ReplicaSet> {
        self.replica_sets.iter().find(|r| r.hash == hash)
    }

    fn rs_mut(&mut self, hash: &str) -> Option<&mut ReplicaSet> {
        self.replica_sets.iter_mut().find(|r| r.hash == hash)
    }

    pub fn revision_of(&self, hash: &str) -> Option<u32> {
        self.rs(hash).map(|r| r.revision)
    }

    pub fn image_of_revision(&self, revision: u32) -> Option<String> {
        self.replica_sets
            .iter()
            .find(|r| r.revision == revision)
            .map(|r| r.image.clone())
    }

    /// The image the active Service sends traffic to.
    pub fn serving(&self) -> Option<String> {
        self.active
            .as_deref()
            .and_then(|h| self.rs(h))
            .map(|r| r.image.clone())
    }

    /// The phase of a fully promoted revision: its failing pods make the Rollout
    /// Progressing ("updated replicas are still becoming available"), then, at the progress
    /// deadline, Degraded (CalculateRolloutPhase).
    fn set_promoted_phase(&mut self, health: Health) {
        match health {
            Health::FailsUnderTraffic if self.progress >= PROGRESS_DEADLINE => {
                self.set_phase("Degraded", DEADLINE_EXCEEDED)
            }
            Health::FailsUnderTraffic => self.set_phase(
                "Progressing",
                "updated replicas are still becoming available",
            ),
            _ => self.set_phase("Healthy", ""),
        }
    }

    /// A revision whose pods never become available: Degraded once the progress deadline
    /// has passed (CalculateRolloutPhase). True when it is.
    fn degraded_at_deadline(&mut self, health: Health) -> bool {
        let past = health == Health::Degraded && self.progress >= PROGRESS_DEADLINE;
        if past {
            self.set_phase("Degraded", DEADLINE_EXCEEDED);
        }
        past
    }

    fn set_phase(&mut self, phase: &str, message: &str) {
        if self.phase != phase || self.message != message {
            self.log.push(format!("phase {phase} {message}"));
        }
        self.phase = phase.to_string();
        self.message = message.to_string();
    }

    /// One reconciliation of the controller (after the analysis controller's measurements).
    pub fn tick(&mut self) {
        if !self.external_clock {
            self.now += 60;
        }
        self.observed_generation = self.rollout_generation;
        if self.delay_expired {
            for rs in &mut self.replica_sets {
                if rs.scale_down_deadline {
                    rs.scale_down_deadline = false;
                    rs.replicas = 0;
                }
            }
        }
        self.measure();
        let Some(image) = self.deployment_image.clone() else {
            return;
        };
        if self.workload_observed_generation != self.deployment_generation {
            self.workload_observed_generation = self.deployment_generation;
            self.observe_template(&image);
            return;
        }
        if self.is_canary() {
            self.reconcile_canary(&image);
        } else {
            self.reconcile(&image);
        }
    }

    fn observe_template(&mut self, image: &str) {
        let hash = Self::hash_of(image);
        let max = self
            .replica_sets
            .iter()
            .map(|r| r.revision)
            .max()
            .unwrap_or(0);
        if self.current.as_deref() == Some(hash.as_str()) {
            return;
        }
        match self.rs_mut(&hash) {
            // A template seen before reuses its ReplicaSet, with the next revision.
            Some(rs) => rs.revision = max + 1,
            None => self.replica_sets.push(ReplicaSet {
                hash: hash.clone(),
                revision: max + 1,
                image: image.to_string(),
                replicas: 0,
                scale_down_deadline: false,
            }),
        }
        self.log
            .push(format!("new template {hash} (revision {})", max + 1));
        // resetRolloutStatus: pauses, abort, the analyses' status and the step index; the
        // runs of the previous template are cancelled (reconcileAnalysisRuns, otherArs).
        self.terminate_runs();
        self.current_runs.clear();
        self.abort_message.clear();
        self.step_index = None;
        if let Strategy::Canary { steps, .. } = &self.strategy {
            // Back to the stable template: no steps ("Rollback to stable ReplicaSets").
            self.step_index = Some(if self.stable.as_deref() == Some(hash.as_str()) {
                steps.len()
            } else {
                0
            });
        }
        self.step_progress = 0;
        self.current = Some(hash);
        self.pause_conditions.clear();
        self.controller_pause = false;
        self.abort = false;
        self.progress = 0;
        self.set_phase("Progressing", "more replicas need to be updated");
    }

    /// The abort branch shared by both strategies: the new revision scaled down, the active
    /// Service back on the stable one, Degraded with the reason (sync.go: "Rollout aborted
    /// update to revision N: <abort message>").
    fn reconcile_abort(&mut self, current: &str) {
        if let Some(p) = self
            .preview
            .take()
            .filter(|p| Some(p) != self.stable.as_ref())
            && let Some(rs) = self.rs_mut(&p)
        {
            rs.replicas = 0;
        }
        if self.is_canary() {
            if let Some(rs) = self.rs_mut(current) {
                rs.replicas = 0;
            }
            self.step_index = Some(0);
        }
        if self.stable.is_some() {
            self.active = self.stable.clone();
        }
        self.terminate_runs();
        // An aborted Rollout keeps no pause condition (pause.go CalculatePauseStatus).
        self.pause_conditions.clear();
        self.controller_pause = false;
        let revision = self.revision_of(current).unwrap_or(0);
        let mut message = format!("RolloutAborted: Rollout aborted update to revision {revision}");
        if !self.abort_message.is_empty() {
            message.push_str(&format!(": {}", self.abort_message));
        }
        self.set_phase("Degraded", &message);
    }

    /// An analysis run ended: Failed or Error aborts, Inconclusive pauses
    /// (setPauseOrAbortForBlueGreen; reconcileStepBasedAnalysisRun and
    /// reconcileBackgroundAnalysisRun for a canary).
    fn after_run(&mut self, phase: Phase, what: &str, kind: RunKind) -> bool {
        match phase {
            Phase::Failed | Phase::Error => {
                let message = self
                    .run(kind)
                    .map(|r| r.message.clone())
                    .unwrap_or_default();
                self.abort = true;
                self.abort_message = if message.is_empty() {
                    format!("{what} analysis phase error/failed")
                } else {
                    format!("{what} analysis phase error/failed: {message}")
                };
                self.log.push(format!("aborted: {}", self.abort_message));
                true
            }
            Phase::Inconclusive => {
                if !self
                    .pause_conditions
                    .iter()
                    .any(|p| p == "InconclusiveAnalysis")
                {
                    self.pause_conditions.push("InconclusiveAnalysis".into());
                    self.controller_pause = true;
                }
                self.set_phase("Paused", "InconclusiveAnalysis");
                true
            }
            _ => false,
        }
    }

    fn reconcile(&mut self, image: &str) {
        let Some(current) = self.current.clone() else {
            return;
        };
        let health = self.health_of(image);
        self.progress += 1;
        let fully_promoted = self.stable.as_deref() == Some(current.as_str());
        if self.abort && fully_promoted {
            self.abort = false;
        }
        if self.abort {
            self.reconcile_abort(&current);
            return;
        }
        if fully_promoted {
            self.set_promoted_phase(health);
            return;
        }
        let replicas = self.replicas;
        if let Some(rs) = self.rs_mut(&current) {
            rs.replicas = replicas;
        }
        let fast_tracked =
            self.active.is_none() || self.rs(&current).is_some_and(|r| r.scale_down_deadline);
        if fast_tracked {
            let ready = match health {
                Health::Healthy | Health::FailsUnderTraffic => {
                    self.rs(&current).is_some_and(|r| r.scale_down_deadline)
                        || self.progress >= READY_AFTER
                }
                Health::Degraded | Health::Stuck => false,
            };
            if ready {
                self.promote_stable(&current);
            } else {
                self.degraded_at_deadline(health);
            }
            return;
        }
        let (pre, post) = match &self.strategy {
            Strategy::BlueGreen { pre, post } => (pre.clone(), post.clone()),
            _ => (None, None),
        };
        if self.active.as_deref() == Some(current.as_str()) {
            // Promoted, not yet stable: the post-promotion analysis decides.
            let Some(metrics) = post else {
                self.promote_stable(&current);
                return;
            };
            if self
                .pause_conditions
                .iter()
                .any(|p| p == "InconclusiveAnalysis")
            {
                return;
            }
            let phase = self.run_phase(RunKind::PostPromotion, &metrics);
            if self.after_run(phase, "Blue/green post-promotion", RunKind::PostPromotion) {
                if self.abort {
                    self.reconcile_abort(&current);
                }
                return;
            }
            if phase == Phase::Successful {
                self.promote_stable(&current);
            } else {
                self.set_phase("Progressing", "waiting for analysis to complete");
            }
            return;
        }
        self.preview = Some(current.clone());
        let available = matches!(health, Health::Healthy | Health::FailsUnderTraffic)
            && self.progress >= READY_AFTER;
        if self.reconcile_promote_full(&current, available) {
            return;
        }
        if !available {
            if !self.degraded_at_deadline(health) {
                self.set_phase("Progressing", "waiting for the preview to become available");
            }
            return;
        }
        if self
            .pause_conditions
            .iter()
            .any(|p| p == "InconclusiveAnalysis")
        {
            return;
        }
        if let Some(metrics) = pre {
            let phase = self.run_phase(RunKind::PrePromotion, &metrics);
            if self.after_run(phase, "Blue/green pre-promotion", RunKind::PrePromotion) {
                if self.abort {
                    self.reconcile_abort(&current);
                }
                return;
            }
            if phase != Phase::Successful {
                // No pause before the analysis succeeded ("not ready for pause:
                // prePromotionAnalysis incomplete").
                self.set_phase("Progressing", "active service cutover pending");
                return;
            }
        }
        if self.controller_pause && self.pause_conditions.is_empty() {
            // Promoted: the user cleared the pause condition. The active Service switches;
            // with a post-promotion analysis the revision becomes stable only after it.
            if post.is_some() {
                self.active = Some(current.clone());
                self.controller_pause = false;
                self.log
                    .push(format!("{current} active, post-promotion analysis next"));
                let metrics = post.unwrap_or_default();
                self.run_phase(RunKind::PostPromotion, &metrics);
                self.set_phase("Progressing", "waiting for analysis to complete");
            } else {
                self.promote_stable(&current);
            }
            return;
        }
        if !self.controller_pause {
            self.controller_pause = true;
            self.pause_conditions = vec!["BlueGreenPause".into()];
        }
        self.set_phase("Paused", "BlueGreenPause");
    }

    /// A canary update (rollout/canary.go rolloutCanary, syncRolloutStatusCanary).
    fn reconcile_canary(&mut self, image: &str) {
        let Some(current) = self.current.clone() else {
            return;
        };
        let Strategy::Canary {
            steps,
            step_metrics,
            background,
            rollback_window,
            ..
        } = self.strategy.clone()
        else {
            return;
        };
        let health = self.health_of(image);
        self.progress += 1;
        self.step_progress += 1;
        let fully_promoted = self.stable.as_deref() == Some(current.as_str());
        if self.abort && fully_promoted {
            self.abort = false;
        }
        if self.abort {
            self.reconcile_abort(&current);
            return;
        }
        let ready = matches!(health, Health::Healthy | Health::FailsUnderTraffic)
            && (self.step_progress >= READY_AFTER
                || self.rs(&current).is_some_and(|r| r.scale_down_deadline));
        if fully_promoted {
            self.step_index = Some(steps.len());
            self.set_promoted_phase(health);
            return;
        }
        if self.reconcile_promote_full(&current, ready) {
            self.step_index = Some(steps.len());
            return;
        }
        // The first revision, or a return to the previous one within the rollback window:
        // no steps, promoted once available.
        let within_window = rollback_window && {
            let position = |h: &str| self.replica_sets.iter().position(|r| r.hash == h);
            match (
                position(&current),
                self.stable.as_deref().and_then(position),
            ) {
                (Some(c), Some(s)) => c + 1 == s,
                _ => false,
            }
        };
        if self.stable.is_none() || within_window {
            let replicas = self.replicas;
            if let Some(rs) = self.rs_mut(&current) {
                rs.replicas = replicas;
            }
            self.pause_conditions.clear();
            self.step_index = Some(steps.len());
            if ready {
                self.promote_stable(&current);
            } else {
                self.degraded_at_deadline(health);
            }
            return;
        }
        if self
            .pause_conditions
            .iter()
            .any(|p| p == "InconclusiveAnalysis")
        {
            self.set_phase("Paused", "InconclusiveAnalysis");
            return;
        }
        let index = self.step_index.unwrap_or(0);
        // The background analysis, from its starting step.
        if let Some((start, metrics)) = &background
            && index >= *start
            && index < steps.len()
        {
            let phase = self.run_phase(RunKind::Background, metrics);
            if self.after_run(phase, "Background", RunKind::Background) {
                if self.abort {
                    self.reconcile_abort(&current);
                }
                return;
            }
        }
        if index >= steps.len() {
            // "Completed all N canary steps": the background analysis ends with it.
            if ready || self.rs(&current).is_some_and(|r| r.replicas > 0) {
                self.terminate_runs();
                self.promote_stable(&current);
            }
            return;
        }
        let step = &steps[index];
        let advance = |m: &mut Self| {
            m.step_index = Some(index + 1);
            m.step_progress = 0;
            m.current_runs
                .retain(|(k, _)| !matches!(k, RunKind::Step(_)));
            m.log.push(format!("canary step {index} completed"));
        };
        if step.get("setWeight").is_some() || step.get("setCanaryScale").is_some() {
            let weight = step["setWeight"].as_u64().unwrap_or(0) as u32;
            let replicas = if step.get("setCanaryScale").is_some() {
                step.pointer("/setCanaryScale/replicas")
                    .and_then(Value::as_u64)
                    .unwrap_or(1) as u32
            } else {
                (self.replicas * weight).div_ceil(100).max(1)
            };
            if let Some(rs) = self.rs_mut(&current) {
                rs.replicas = replicas;
            }
            if ready {
                advance(self);
                self.set_phase("Progressing", "waiting for all steps to complete");
            } else if !self.degraded_at_deadline(health) {
                self.set_phase("Progressing", "more replicas need to be updated");
            }
        } else if let Some(pause) = step.get("pause") {
            let timed = pause.get("duration").is_some();
            if !self.pause_conditions.iter().any(|p| p == "CanaryPauseStep") {
                if self.controller_pause {
                    // The pause was resumed (promote cleared its condition).
                    self.controller_pause = false;
                    advance(self);
                    self.set_phase("Progressing", "waiting for all steps to complete");
                    return;
                }
                self.pause_conditions.push("CanaryPauseStep".into());
                self.controller_pause = true;
                self.set_phase("Paused", "CanaryPauseStep");
                return;
            }
            if timed {
                // A duration: the pause ends by itself (one tick stands for it).
                self.pause_conditions.retain(|p| p != "CanaryPauseStep");
                self.controller_pause = false;
                advance(self);
                self.set_phase("Progressing", "waiting for all steps to complete");
            }
        } else if step.get("analysis").is_some() {
            let metrics = step_metrics
                .get(index)
                .cloned()
                .flatten()
                .unwrap_or_default();
            let phase = self.run_phase(RunKind::Step(index), &metrics);
            if self.after_run(phase, "Step-based", RunKind::Step(index)) {
                if self.abort {
                    self.reconcile_abort(&current);
                }
                return;
            }
            if phase == Phase::Successful {
                advance(self);
            }
            self.set_phase("Progressing", "waiting for all steps to complete");
        } else {
            advance(self);
        }
    }

    fn promote_stable(&mut self, hash: &str) {
        let previous = self.stable.clone().or(self.active.clone());
        self.active = Some(hash.to_string());
        self.stable = Some(hash.to_string());
        self.preview = Some(hash.to_string());
        self.controller_pause = false;
        self.pause_conditions.clear();
        let replicas = self.replicas;
        let canary_basic = matches!(self.strategy, Strategy::Canary { routed: false, .. });
        if let Some(prev) = previous.filter(|p| p != hash)
            && let Some(rs) = self.rs_mut(&prev)
        {
            if canary_basic {
                // A basic canary scales the old pods down as the new ones come up.
                rs.replicas = 0;
            } else {
                rs.scale_down_deadline = true;
            }
        }
        if let Some(rs) = self.rs_mut(hash) {
            rs.scale_down_deadline = false;
            rs.replicas = replicas;
        }
        self.log.push(format!("{hash} promoted: active and stable"));
        self.progress = 0;
        self.set_phase("Healthy", "");
    }

    /// The Rollout, Deployment and ReplicaSets as the API server would serve them.
    pub fn objects(&self) -> Vec<Value> {
        let labels = json!({"app": self.app});
        let template = |image: &str| {
            json!({"metadata": {"labels": labels},
                   "spec": {"containers": [{"name": self.app, "image": image}]}})
        };
        let mut out = Vec::new();
        if let Some(image) = &self.deployment_image {
            out.push(json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": format!("{}-pod-template", self.app), "namespace": self.namespace,
                             "generation": self.deployment_generation, "labels": labels},
                "spec": {"replicas": 0, "selector": {"matchLabels": labels}, "template": template(image)},
            }));
        }
        if self.rollout_generation > 0 {
            let mut status = json!({
                "observedGeneration": self.observed_generation.to_string(),
                "phase": self.phase,
                "message": self.message,
                "blueGreen": {},
                "canary": {},
            });
            if self.workload_observed_generation > 0 {
                status["workloadObservedGeneration"] =
                    json!(self.workload_observed_generation.to_string());
            }
            if let Some(c) = &self.current {
                status["currentPodHash"] = json!(c);
            }
            if let Some(s) = &self.stable {
                status["stableRS"] = json!(s);
            }
            if !self.is_canary() {
                if let Some(a) = &self.active {
                    status["blueGreen"]["activeSelector"] = json!(a);
                }
                if let Some(p) = &self.preview {
                    status["blueGreen"]["previewSelector"] = json!(p);
                }
            }
            if let Some(i) = self.step_index {
                status["currentStepIndex"] = json!(i);
            }
            // The current runs (RolloutAnalysisRunStatus: name, status, message).
            for (kind, name) in &self.current_runs {
                let Some(run) = self.runs.iter().find(|r| &r.name == name) else {
                    continue;
                };
                let (group, field) = match kind {
                    RunKind::PrePromotion => ("blueGreen", "prePromotionAnalysisRunStatus"),
                    RunKind::PostPromotion => ("blueGreen", "postPromotionAnalysisRunStatus"),
                    RunKind::Step(_) => ("canary", "currentStepAnalysisRunStatus"),
                    RunKind::Background => ("canary", "currentBackgroundAnalysisRunStatus"),
                };
                status[group][field] = json!({"name": run.name, "status": format!("{:?}", run.phase), "message": run.message});
            }
            if self.controller_pause {
                status["controllerPause"] = json!(true);
            }
            if self.abort {
                status["abort"] = json!(true);
            }
            if self.promote_full {
                status["promoteFull"] = json!(true);
            }
            let available = match (&self.active, self.phase.as_str()) {
                (Some(_), "Healthy" | "Paused") => self.replicas,
                (Some(_), _) if self.is_canary() => self.replicas,
                _ => 0,
            };
            status["availableReplicas"] = json!(available);
            if !self.pause_conditions.is_empty() {
                status["pauseConditions"] = Value::Array(
                    self.pause_conditions
                        .iter()
                        .map(|r| json!({"reason": r, "startTime": "2026-12-02T00:00:00Z"}))
                        .collect(),
                );
            }
            out.push(json!({
                "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                "metadata": {"name": self.app, "namespace": self.namespace,
                             "generation": self.rollout_generation},
                "spec": {"replicas": self.replicas,
                         "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                         "name": format!("{}-pod-template", self.app)},
                         "strategy": match &self.strategy {
                             Strategy::Canary { steps, .. } => json!({"canary": {
                                 "canaryService": format!("{}-canary", self.app), "steps": steps}}),
                             _ => json!({"blueGreen": {"activeService": self.app,
                                                       "previewService": format!("{}-preview", self.app),
                                                       "autoPromotionEnabled": false}}),
                         }},
                "status": status,
            }));
        }
        for run in &self.runs {
            let rollout_type = match run.kind {
                RunKind::PrePromotion => "PrePromotion",
                RunKind::PostPromotion => "PostPromotion",
                RunKind::Step(_) => "Step",
                RunKind::Background => "Background",
            };
            out.push(json!({
                "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
                "metadata": {"name": run.name, "namespace": self.namespace,
                             "labels": {"app": self.app, "rollouts-pod-template-hash": run.hash,
                                        "rollout-type": rollout_type}},
                "spec": {"metrics": run.metrics, "terminate": run.terminated},
                "status": {
                    "phase": format!("{:?}", run.phase),
                    "message": run.message,
                    "metricResults": run.results.iter().map(|r| json!({
                        "name": r.name,
                        "phase": format!("{:?}", r.phase),
                        "measurements": r.measurements.iter().map(|m| {
                            let mut v = json!({"phase": format!("{:?}", m.phase),
                                               "finishedAt": rfc3339(m.finished_at)});
                            if let Some(x) = &m.value { v["value"] = json!(x); }
                            if let Some(x) = &m.message { v["message"] = json!(x); }
                            v
                        }).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                },
            }));
        }
        for rs in &self.replica_sets {
            let mut annotations = json!({"rollout.argoproj.io/revision": rs.revision.to_string()});
            if rs.scale_down_deadline {
                annotations["scale-down-deadline"] = json!("2026-12-02T00:00:30Z");
            }
            out.push(json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": format!("{}-{}", self.app, rs.hash), "namespace": self.namespace,
                             "labels": {"app": self.app, "rollouts-pod-template-hash": rs.hash},
                             "annotations": annotations},
                "spec": {"replicas": rs.replicas, "template": template(&rs.image)},
            }));
        }
        out
    }
}

/// Seconds of an analysis interval such as "30s", "1m" or "2h" (60 when unreadable).
fn duration_seconds(text: &str) -> i64 {
    let (n, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = n.parse().unwrap_or(1);
    n * match unit {
        "s" => 1,
        "h" => 3600,
        _ => 60,
    }
}

/// A Kubernetes timestamp (metav1.Time: RFC 3339, seconds, UTC) of Unix seconds.
pub fn rfc3339(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}
