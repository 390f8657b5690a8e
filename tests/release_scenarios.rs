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
use support::argo_model::{ArgoModel, Health, Sli};
use support::fake_kube::FakeKube;
use support::orca::{self, Execution, JobResult, Judgment, World};
use support::prometheus::{self, Prometheus};
use support::spel::Spel;
use support::test::BIN;

const OLD_TAG: &str = "1.0.0";
const NEW_TAG: &str = "2.0.0";

/// Where the generated jobs find the metric provider (the scenarios' `.kujira/slo.json`):
/// a cluster DNS name, which the test resolves to the Prometheus holding the outcome's
/// series (see `Cluster::run_job`).
const PROVIDER: &str = "http://prometheus.monitoring.svc.cluster.local:9090";

/// How long the scenario test takes (fake seconds): well within the preview analysis'
/// 5 measurements a minute apart ...
const TEST_SECONDS: i64 = 30;
/// ... and longer than all of it.
const TEST_SECONDS_TOO_LONG: i64 = 600;

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
    /// An SLO's error budget is spent (a real Prometheus over `budget-spent.om`).
    BudgetExhausted,
    /// ... and the run carries the override parameter `budgetOverride`.
    BudgetOverridden,
    /// The budget job cannot reach the provider.
    BudgetUnreachable,
    /// The preview breaks the availability SLO during its analysis.
    PreviewAnalysisFails,
    /// The preview gets too few requests during its analysis: Inconclusive.
    PreviewAnalysisInconclusive,
    /// The provider becomes unreachable during the preview's analysis.
    PreviewAnalysisErrors,
    /// No scenario test sends the preview anything: no evidence, never a pass.
    PreviewWithoutTraffic,
    /// The scenario test runs longer than the preview analysis: its last requests were
    /// never measured ("unmeasured"), so the preview is not promoted.
    TestOutlastsAnalysis,
    /// Verify fails after the scale-down delay: the previous revision comes back through
    /// the preview, whose pre-promotion analysis finds no traffic (Inconclusive, the
    /// `InconclusiveAnalysis` pause); the roll back promotes it fully.
    ReturnHeldByAnalysis,
    /// The promoted version breaks the availability SLO under live traffic.
    PromotedAnalysisFails,
    PromotedAnalysisInconclusive,
    PromotedAnalysisErrors,
    /// The promoted version's analysis job dies without a log (its pod evicted, or killed
    /// at its deadline): its stage has no `analysis_message`, and Orca's StageContext would
    /// hand out the preview analysis' "Every SLO was met" in its place.
    PromotedAnalysisDiesWithoutLog,
    /// The canary breaks the availability SLO at a step (or in the background analysis).
    CanaryAnalysisFails,
    CanaryAnalysisInconclusive,
    CanaryAnalysisErrors,
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
    BudgetExhausted,
    BudgetOverridden,
    BudgetUnreachable,
    PreviewAnalysisFails,
    PreviewAnalysisInconclusive,
    PreviewAnalysisErrors,
    PreviewWithoutTraffic,
    TestOutlastsAnalysis,
    ReturnHeldByAnalysis,
    PromotedAnalysisFails,
    PromotedAnalysisInconclusive,
    PromotedAnalysisErrors,
    PromotedAnalysisDiesWithoutLog,
    CanaryAnalysisFails,
    CanaryAnalysisInconclusive,
    CanaryAnalysisErrors,
];

/// The release strategy of a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    BlueGreen,
    /// Replica-count weights, an analysis after each weight.
    Canary,
    /// Through the Gateway API plugin.
    CanaryRouted,
    /// Replica-count weights, one background analysis.
    CanaryBackground,
}

/// The SLO gates of a configuration (its objectives are always `availability` 99.9 % and
/// `latency` 99 % within 0.3 s, the series of the budget fixtures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slo {
    preview: bool,
    post: bool,
    budget: bool,
}

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
    strategy: Strategy,
    slo: Option<Slo>,
    /// Runs the outcomes whose scripts wait until their deadline (each distinct one costs
    /// ~100 polls): only the configurations listed as exhaustive.
    slow_outcomes: bool,
}

impl Config {
    fn blue_green(trigger: &'static str, test: bool, judgment: bool, auto: bool) -> Self {
        Config {
            trigger,
            test,
            judgment,
            auto,
            strategy: Strategy::BlueGreen,
            slo: None,
            slow_outcomes: true,
        }
    }

    fn canary(&self) -> bool {
        self.strategy != Strategy::BlueGreen
    }

    /// A canary held at its first step for the test or the judgment.
    fn held(&self) -> bool {
        self.canary() && (self.test || self.judgment)
    }

    fn applies(&self, o: Outcome) -> bool {
        let slo = self.slo;
        let gate = |f: fn(&Slo) -> bool| slo.as_ref().is_some_and(f);
        let blue_green = !self.canary();
        match o {
            TestFails => self.test,
            JudgmentRollsBack | JudgmentStopped | JudgmentWithoutInput => self.judgment,
            EmptyTag => self.trigger == "manual",
            WaitTimesOut => self.slow_outcomes && (blue_green || self.held()),
            PromoteFails => blue_green || self.held(),
            BudgetExhausted | BudgetOverridden | BudgetUnreachable => gate(|s| s.budget),
            PreviewAnalysisFails | PreviewAnalysisErrors => blue_green && gate(|s| s.preview),
            PreviewAnalysisInconclusive => self.test && blue_green && gate(|s| s.preview),
            PreviewWithoutTraffic => !self.test && blue_green && gate(|s| s.preview),
            TestOutlastsAnalysis => self.test && blue_green && gate(|s| s.preview),
            ReturnHeldByAnalysis => blue_green && gate(|s| s.preview),
            PromotedAnalysisFails | PromotedAnalysisErrors => blue_green && gate(|s| s.post),
            PromotedAnalysisInconclusive => blue_green && gate(|s| s.post),
            PromotedAnalysisDiesWithoutLog => blue_green && gate(|s| s.post),
            CanaryAnalysisFails | CanaryAnalysisErrors => self.canary() && gate(|s| s.preview),
            CanaryAnalysisInconclusive => self.canary() && gate(|s| s.preview),
            _ => true,
        }
    }

    /// The platform's SLO settings, `.kujira/slo.json`.
    fn platform(&self) -> Option<Value> {
        self.slo?;
        Some(json!({
            "provider": {"address": PROVIDER, "auth": {"type": "none"}},
        }))
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
        if let Some(slo) = self.slo {
            v["SLO"] = json!({
                "Objectives": {
                    "availability": {"Type": "Availability", "Objective": 99.9, "Window": "28d",
                                     "Metric": "http_requests_total", "Labels": {"service": "shop"}},
                    "latency": {"Type": "Latency", "Objective": 99, "ThresholdSeconds": 0.3,
                                "Metric": "http_request_duration_seconds", "Labels": {"service": "shop"}},
                },
                "PreviewAnalysis": slo.preview,
                "PostPromotionAnalysis": slo.post && !self.canary(),
                "ErrorBudgetGate": slo.budget,
            });
        }
        match self.strategy {
            Strategy::BlueGreen => {}
            Strategy::Canary => {
                v["Canary"] = json!({"Steps": [{"Weight": 25, "Pause": "1m"}, {"Weight": 50}]});
            }
            Strategy::CanaryRouted => {
                v["Canary"] = json!({"Steps": [{"Weight": 10, "Pause": "5m"}, {"Weight": 50}],
                                     "TrafficRouting": {"HTTPRoute": "shop"}});
            }
            Strategy::CanaryBackground => {
                v["Canary"] = json!({"Steps": [{"Weight": 25, "Pause": "1m"}, {"Weight": 50}],
                                     "Analysis": "Background"});
            }
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
            out.push(Config::blue_green(trigger, test, judgment, auto));
        }
    }
    out
}

/// The releases with SLOs and the canary releases: every gate, with and without a test
/// and a judgment, without a test (no evidence), and each kind of canary.
fn slo_configs() -> Vec<Config> {
    let all = Slo {
        preview: true,
        post: true,
        budget: true,
    };
    let with = |strategy, test, judgment, slo: Option<Slo>, slow_outcomes| Config {
        trigger: "docker",
        test,
        judgment,
        auto: false,
        strategy,
        slo,
        slow_outcomes,
    };
    // The wait's timeout costs ~170 polls per distinct script: the blue-green wait's is
    // run by `every_configuration_through_every_outcome`, the held canary's here.
    vec![
        with(Strategy::BlueGreen, true, false, Some(all), false),
        with(Strategy::BlueGreen, true, true, Some(all), false),
        // Without a test the preview analysis measures nothing (a warning): no evidence,
        // never a pass.
        with(Strategy::BlueGreen, false, false, Some(all), false),
        // Only the error budget, by hand (the tag and the override are both parameters).
        Config {
            trigger: "manual",
            ..with(
                Strategy::BlueGreen,
                true,
                false,
                Some(Slo {
                    preview: false,
                    post: false,
                    ..all
                }),
                false,
            )
        },
        with(Strategy::Canary, true, false, Some(all), true),
        with(Strategy::CanaryRouted, true, true, Some(all), false),
        with(Strategy::CanaryBackground, false, false, Some(all), false),
        // Canaries without SLOs: weights and pauses only.
        with(Strategy::Canary, true, false, None, false),
        with(Strategy::CanaryRouted, false, false, None, false),
    ]
}

/// Every stage a release may have, in the order they run.
const STAGES: &[&str] = &[
    "Check parameters",
    "Check provenance",
    "Check error budget",
    "Deploy",
    "Wait for preview",
    "Wait for canary",
    "Scenario test",
    "Analyse preview",
    "Approve promotion",
    "Promote",
    "Analyse promoted",
    "Analyse canary",
    "Verify",
    "Roll back",
    "Fail release",
];

/// The expected status of each stage (stages a configuration does not have are ignored),
/// the execution's status and Slack event, and who serves at the end.
fn expected(
    config: &Config,
    o: Outcome,
) -> (Vec<(&'static str, &'static str)>, &'static str, Serving) {
    const S: &str = "SUCCEEDED";
    const FC: &str = "FAILED_CONTINUE";
    const SK: &str = "SKIPPED";
    const T: &str = "TERMINAL";
    const NS: &str = "NOT_STARTED";
    let wait = if config.canary() {
        "Wait for canary"
    } else {
        "Wait for preview"
    };
    let position = |name: &str| STAGES.iter().position(|s| *s == name).unwrap_or(0);
    // Everything before `at` succeeded, `at` ended as `status`, everything after it up to
    // Verify was skipped, the release rolled back.
    let rolled_back = |at: &str, status: &'static str| {
        let i = position(at);
        let stages = STAGES
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let s = match *name {
                    "Roll back" => S,
                    "Fail release" => T,
                    _ if j < i => S,
                    _ if j == i => status,
                    _ => SK,
                };
                (*name, s)
            })
            .collect();
        (stages, T, Serving::Previous)
    };
    // The wait ended as `wait_status`; nothing after it ran but Fail release.
    let untouched = |wait_status: &'static str, fail, status, serving| {
        let i = position(wait);
        let stages = STAGES
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let s = match *name {
                    "Fail release" => fail,
                    _ if j < i => S,
                    _ if j == i => wait_status,
                    _ => SK,
                };
                (*name, s)
            })
            .collect();
        (stages, status, serving)
    };
    // Stopped at `at` (TERMINAL), nothing after it started.
    let stopped = |at: &str| {
        let i = position(at);
        let stages = STAGES
            .iter()
            .enumerate()
            .map(|(j, name)| {
                (
                    *name,
                    if j < i {
                        S
                    } else if j == i {
                        T
                    } else {
                        NS
                    },
                )
            })
            .collect();
        (stages, T, Serving::Unchanged)
    };
    let promoted = || {
        let stages = STAGES
            .iter()
            .map(|name| {
                (
                    *name,
                    if matches!(*name, "Roll back" | "Fail release") {
                        SK
                    } else {
                        S
                    },
                )
            })
            .collect();
        (stages, S, Serving::New)
    };
    // The canary's steps ran by themselves after the wait: what notices a new revision
    // that never becomes available is the stage waiting for them.
    let canary_waiter = if config.slo.is_some_and(|s| s.preview) {
        "Analyse canary"
    } else {
        "Verify"
    };
    match o {
        Promoted | BudgetOverridden => promoted(),
        TestFails => rolled_back("Scenario test", FC),
        JudgmentRollsBack | JudgmentWithoutInput => rolled_back("Promote", SK),
        JudgmentStopped => rolled_back("Approve promotion", FC),
        NewRevisionDegraded if config.canary() && !config.held() => rolled_back(canary_waiter, FC),
        NewRevisionDegraded | WaitTimesOut => rolled_back(wait, FC),
        PromoteFails => rolled_back("Promote", FC),
        VerifyFails | VerifyFailsAfterScaleDown | ReturnHeldByAnalysis => rolled_back("Verify", FC),
        PreviewAnalysisFails
        | PreviewAnalysisInconclusive
        | PreviewAnalysisErrors
        | PreviewWithoutTraffic
        | TestOutlastsAnalysis => rolled_back("Analyse preview", FC),
        PromotedAnalysisFails
        | PromotedAnalysisInconclusive
        | PromotedAnalysisErrors
        | PromotedAnalysisDiesWithoutLog => rolled_back("Analyse promoted", FC),
        CanaryAnalysisFails | CanaryAnalysisInconclusive | CanaryAnalysisErrors => {
            rolled_back("Analyse canary", FC)
        }
        NothingNew => untouched(S, SK, S, Serving::Unchanged),
        FirstRelease => untouched(S, SK, S, Serving::New),
        RunningVersionDegraded => untouched(FC, T, T, Serving::Unchanged),
        EmptyTag => stopped("Check parameters"),
        BudgetExhausted | BudgetUnreachable => stopped("Check error budget"),
    }
}

/// What the release's Slack notification must add to Echo's text (`message.<event>.text`,
/// evaluated as Orca evaluates it at the end of the execution): empty, or containing this.
fn expected_message(config: &Config, o: Outcome) -> &'static str {
    match o {
        // A canary whose steps ran by themselves: the stage waiting for them says why the
        // update stopped.
        NewRevisionDegraded
            if config.canary() && !config.held() && config.slo.is_some_and(|s| s.preview) =>
        {
            "The canary release of shop stopped (Degraded): ProgressDeadlineExceeded: "
        }
        BudgetExhausted => {
            "Error budget exhausted: availability spent 150% of its 28d budget (objective 99.9%); latency spent 50% of its 28d budget. To release anyway, start the pipeline with the parameter budgetOverride set to the reason."
        }
        BudgetUnreachable => "Error budgets could not be checked (availability,latency)",
        BudgetOverridden => {
            "Error budget gate overridden (INC-42 hotfix): availability spent 150% of its 28d budget (objective 99.9%)"
        }
        PreviewAnalysisFails | PromotedAnalysisFails | CanaryAnalysisFails => {
            "SLO availability: measured 99.5% of requests succeeding, needs at least 99.9% (analysis shop-"
        }
        PreviewAnalysisInconclusive
        | PromotedAnalysisInconclusive
        | CanaryAnalysisInconclusive
        | PreviewWithoutTraffic => {
            "SLO availability: no requests were measured; it needs at least 20 to judge the version (analysis shop-"
        }
        TestOutlastsAnalysis => {
            "before the scenario test's last requests could be in the data (2026-01-01T00:"
        }
        PreviewAnalysisErrors | PromotedAnalysisErrors | CanaryAnalysisErrors => {
            "SLO availability could not be measured: Post \"http://prometheus.monitoring.svc.cluster.local:9090/api/v1/query\": dial tcp 10.0.0.10:9090: connect: connection refused (analysis shop-"
        }
        // Its own stage, never an ancestor's: the preview's analysis said every SLO was
        // met, which is not what happened after the switch.
        PromotedAnalysisDiesWithoutLog => {
            "Analyse promoted failed without reporting a result (its job left no log to read)"
        }
        _ => "",
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
    /// The fake clock when the script ended (its sleeps move it on).
    clock_after: i64,
}

struct Cluster<'a> {
    kube: &'a FakeKube,
    /// Where the budget job's queries go for this outcome (`PROVIDER` resolved).
    provider: String,
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
            for resource in ["rollouts", "deployments", "replicasets", "analysisruns"] {
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
            "{script}\n{env:?}\n{}\n{:?}\n{}",
            model_key(&before),
            self.rules,
            self.kube.clock()
        );
        if let Some(hit) = self.cache.get(&key) {
            *self.model.lock().unwrap() = hit.after.clone();
            self.kube.set_clock(hit.clock_after);
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
        let clock = self.kube.dir().join("clock");
        self.kube.set_hook(move |req, store| {
            if !req.is_resource || !req.allowed {
                return;
            }
            let mut m = hook_model.lock().unwrap();
            if req.resource == "rollouts" && req.subresource.is_empty() && req.verb == "get" {
                // The controller runs on the scripts' clock (the fake `sleep` moves it).
                if let Some(now) = std::fs::read_to_string(&clock)
                    .ok()
                    .and_then(|t| t.trim().parse().ok())
                {
                    m.set_now(now);
                }
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
                if body.pointer("/status/promoteFull") == Some(&Value::Bool(true)) {
                    m.set_promote_full();
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
            clock_after: self.kube.clock(),
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
                    // cmd/promote/promote.go getPatches: a canary without a pause condition
                    // is moved to its next step (the current one is skipped).
                    if let Some(i) = m.step_index {
                        m.step_index = Some(i + 1);
                        return Ok(format!("rollout promoted to step {}", i + 1));
                    }
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
                for _ in 0..60 {
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
        let templates: Vec<Value> = manifests
            .iter()
            .filter(|m| m["kind"] == "AnalysisTemplate")
            .cloned()
            .collect();
        for m in &manifests {
            match m["kind"].as_str() {
                Some("Role") => self.rules = m["rules"].as_array().cloned().unwrap_or_default(),
                Some("Rollout") if m["spec"].get("workloadRef").is_some() => {
                    self.model.lock().unwrap().apply_rollout(m, &templates);
                }
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
        if stage_name == "Roll back"
            && matches!(
                self.outcome,
                VerifyFailsAfterScaleDown | ReturnHeldByAnalysis
            )
        {
            // The rollback starts after scaleDownDelaySeconds.
            let mut m = self.model.lock().unwrap();
            m.delay_expired = true;
            m.tick();
        }
        if stage_name == "Analyse promoted" && self.outcome == PromotedAnalysisDiesWithoutLog {
            // Clouddriver finds the Job Failed and its pod gone: no log, no properties.
            self.log.push(format!("{stage_name}: pod evicted, no log"));
            return JobResult {
                succeeded: false,
                log: None,
                message: "the job's pod was evicted; its log is gone".into(),
            };
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
                        let name = e["name"].as_str().unwrap_or_default().to_string();
                        let value = e["value"].as_str().unwrap_or_default();
                        // The provider's address as the cluster resolves it for this outcome.
                        if name == "PROMETHEUS_URL" && value == PROVIDER {
                            return (name, self.provider.clone());
                        }
                        (name, value.to_string())
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
                // The test takes its time (the preview analysis measures meanwhile).
                self.kube
                    .advance_clock(if self.outcome == TestOutlastsAnalysis {
                        TEST_SECONDS_TOO_LONG
                    } else {
                        TEST_SECONDS
                    });
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
    /// The error budgets, for the releases with a budget gate (started on first use).
    budgets: Option<Budgets>,
}

/// Two real Prometheus servers over the budget fixtures, their series moved to the
/// release's namespace `shop` and to a minute ago (the budget job queries "now"): one
/// with budget left, one with the availability budget spent.
struct Budgets {
    healthy: Prometheus,
    spent: Prometheus,
    /// Where nothing listens.
    unreachable: String,
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
        budgets: None,
    })
}

impl Engines {
    /// The Prometheus servers, or None (after saying why) without prometheus, promtool,
    /// curl or jq, unless CI is set.
    fn budgets(&mut self) -> Option<&Budgets> {
        if self.budgets.is_none() {
            let test = "release_scenarios (error budgets)";
            if !prometheus::available(test, &["curl", "jq"]) {
                return None;
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let shift = now - 60 - prometheus::T0;
            let healthy = prometheus::start_rewritten(
                test,
                &["budget-healthy.om"],
                shift,
                &[("namespace=\"shop-healthy\"", "namespace=\"shop\"")],
            )?;
            let spent = prometheus::start_rewritten(
                test,
                &["budget-spent.om"],
                shift,
                &[("namespace=\"shop-spent\"", "namespace=\"shop\"")],
            )?;
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let unreachable = format!("http://{}", listener.local_addr().unwrap());
            drop(listener);
            self.budgets = Some(Budgets {
                healthy,
                spent,
                unreachable,
            });
        }
        self.budgets.as_ref()
    }
}

/// The bundle `kujira-gen build` prints for a value file, with the platform's SLO settings
/// when given.
fn build_with(value: &Value, platform: Option<&Value>) -> Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join("value.json"), value.to_string()).unwrap();
    std::fs::write(
        dir.path().join("c.json"),
        include_str!("../examples/scenario-test/scenario.postman_collection.json"),
    )
    .unwrap();
    if let Some(p) = platform {
        std::fs::create_dir(dir.path().join(".kujira")).unwrap();
        std::fs::write(dir.path().join(".kujira/slo.json"), p.to_string()).unwrap();
    }
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

fn build(value: &Value) -> Value {
    build_with(value, None)
}

/// The override a run carries in `BudgetOverridden` (the reason, as a person writes it).
const OVERRIDE_REASON: &str = "INC-42 hotfix";

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

/// [`trigger`] for `outcome`: a run that overrides the budget gate carries the parameter
/// (Deck's manual start, or a re-run with it).
fn trigger_for(pipeline: &Value, config: &Config, outcome: Outcome, spel: &mut Spel) -> Value {
    let mut t = trigger(pipeline, config.trigger, deployed_tag(outcome), spel);
    if outcome == BudgetOverridden {
        t["parameters"]["budgetOverride"] = json!(OVERRIDE_REASON);
    }
    t
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
    let provider = match (e.budgets.as_ref(), outcome) {
        (Some(b), BudgetExhausted | BudgetOverridden) => b.spent.url.clone(),
        (Some(b), BudgetUnreachable) => b.unreachable.clone(),
        (Some(b), _) => b.healthy.url.clone(),
        (None, _) => PROVIDER.to_string(),
    };
    // Each release starts at the same time: the model's clock and the scripts' agree,
    // and a script run with the same state and clock is the same run (the cache).
    e.kube.set_clock(support::fake_kube::FAKE_EPOCH);
    let mut model = model;
    model.set_now(support::fake_kube::FAKE_EPOCH);
    let model = Arc::new(Mutex::new(model));
    let mut cluster = Cluster {
        kube: &e.kube,
        provider,
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
    let running = || ArgoModel::running("shop", "shop", 2, &old);
    match outcome {
        FirstRelease => ArgoModel::new("shop", "shop", 2),
        NewRevisionDegraded => running().with_health(&new, Health::Degraded),
        WaitTimesOut => running().with_health(&new, Health::Stuck),
        VerifyFails | VerifyFailsAfterScaleDown => {
            running().with_health(&new, Health::FailsUnderTraffic)
        }
        ReturnHeldByAnalysis => running()
            .with_health(&new, Health::FailsUnderTraffic)
            .with_sli(&old, Sli::NoData, Sli::NoData),
        RunningVersionDegraded => running().with_health(&old, Health::FailsUnderTraffic),
        PreviewAnalysisFails | CanaryAnalysisFails => {
            running().with_sli(&new, Sli::BreaksAvailability, Sli::Met)
        }
        PreviewAnalysisInconclusive | CanaryAnalysisInconclusive | PreviewWithoutTraffic => {
            running().with_sli(&new, Sli::NoData, Sli::Met)
        }
        PreviewAnalysisErrors | CanaryAnalysisErrors => {
            running().with_sli(&new, Sli::Unreachable, Sli::Met)
        }
        PromotedAnalysisFails => running().with_sli(&new, Sli::Met, Sli::BreaksAvailability),
        PromotedAnalysisInconclusive => running().with_sli(&new, Sli::Met, Sli::NoData),
        PromotedAnalysisErrors => running().with_sli(&new, Sli::Met, Sli::Unreachable),
        _ => running(),
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

/// The text the release's Slack notification adds for `event` (`pipeline.complete`,
/// `pipeline.failed`), as Orca evaluates it with the execution: None without one.
fn slack_text(pipeline: &Value, event: &str, execution: &Value, spel: &mut Spel) -> Option<Value> {
    let text = pipeline.pointer(&format!("/notifications/0/message/{event}/text"))?;
    Some(spel.evaluate_execution(text.as_str()?, execution).value)
}

/// Compares one run with the table; `Err` says what differs.
fn compare(
    run: &Run,
    before: &ArgoModel,
    config: &Config,
    outcome: Outcome,
    pipeline: &Value,
    spel: &mut Spel,
) -> Result<(), String> {
    let (stages, status, who) = expected(config, outcome);
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
    // What Slack says besides the status: the budget's and the analyses' reasons.
    let said = slack_text(pipeline, slack, &run.execution.to_json(), spel);
    let want = expected_message(config, outcome);
    match &said {
        None if want.is_empty() => {}
        Some(Value::String(s)) if want.is_empty() && s.is_empty() => {}
        Some(Value::String(s)) if !want.is_empty() && s.contains(want) => {}
        other => problems.push(format!("Slack text {other:?} (expected {want:?})")),
    }
    // The text explains a failure: a success message in it came from a stage other than
    // the one that failed (StageContext's fallback to ancestors' outputs).
    if let Some(Value::String(s)) = &said
        && s.contains("Every SLO was met")
    {
        problems.push(format!("Slack text reports a success: {s:?}"));
    }
    if outcome == BudgetOverridden {
        let recorded = run
            .execution
            .stage("Check error budget")
            .and_then(|s| s.context.get("budget_override_reason"));
        if recorded != Some(&json!(OVERRIDE_REASON))
            || run.execution.trigger["parameters"]["budgetOverride"] != OVERRIDE_REASON
        {
            problems.push(format!(
                "the override is not recorded in the execution: {recorded:?}"
            ));
        }
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

/// Runs every outcome that applies to each configuration; the failures, and how many ran.
fn run_table(e: &mut Engines, configs: &[Config]) -> (Vec<String>, usize) {
    let mut failures = Vec::new();
    let mut count = 0;
    for config in configs {
        let bundle = build_with(&config.value_file(), config.platform().as_ref());
        let pipeline = &bundle["pipelines"][0];
        // Orca evaluates the notifications when the execution starts, too: every stage is
        // NOT_STARTED then, and the text must stay as written for the end.
        if let Some(text) = pipeline.pointer("/notifications/0/message/pipeline.failed/text") {
            let start = json!({"stages": pipeline["stages"].as_array().unwrap().iter()
                .map(|s| json!({"refId": s["refId"], "type": s["type"], "name": s["name"]}))
                .collect::<Vec<_>>()});
            let value = e
                .spel
                .evaluate_execution(text.as_str().unwrap(), &start)
                .value;
            if &value != text {
                failures.push(format!(
                    "{config:?}: the Slack text changed at the start: {value}"
                ));
            }
        }
        for &outcome in OUTCOMES.iter().filter(|o| config.applies(**o)) {
            count += 1;
            let before = initial_cluster(outcome);
            let trigger = trigger_for(pipeline, config, outcome, &mut e.spel);
            let run = run_release(e, pipeline, trigger, before.clone(), outcome);
            if let Err(why) = compare(&run, &before, config, outcome, pipeline, &mut e.spel) {
                failures.push(format!("{config:?} {outcome:?}: {why}"));
            }
        }
    }
    (failures, count)
}

#[test]
fn every_configuration_through_every_outcome() {
    let Some(mut e) = engines() else { return };
    let (failures, count) = run_table(&mut e, &configs());
    assert!(count >= 180, "only {count} scenarios");
    assert!(
        failures.is_empty(),
        "{} of {count} scenarios differ from the table:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The releases with SLOs (budget gate, preview and post-promotion analyses) and the
/// canary releases, through the same outcomes and their own: a spent budget (with and
/// without the override, and unreachable), analyses that pass, fail, stay inconclusive or
/// cannot reach the provider, before and after the switch and between canary weights. The
/// budget job queries a real Prometheus; every analysis is the controller model's,
/// evaluated with the generated templates' conditions.
#[test]
fn slo_and_canary_releases_through_every_outcome() {
    let Some(mut e) = engines() else { return };
    if e.budgets().is_none() {
        return;
    }
    let started = std::time::Instant::now();
    let (failures, count) = run_table(&mut e, &slo_configs());
    eprintln!(
        "{count} SLO and canary scenarios in {:?}",
        started.elapsed()
    );
    assert!(count >= 100, "only {count} scenarios");
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
    let config = Config::blue_green("docker", true, false, false);
    let bundle = build(&config.value_file());
    let run = |e: &mut Engines, pipeline: &Value| {
        let before = initial_cluster(Promoted);
        let trigger = trigger(pipeline, config.trigger, NEW_TAG, &mut e.spel);
        let run = run_release(e, pipeline, trigger, before.clone(), Promoted);
        compare(&run, &before, &config, Promoted, pipeline, &mut e.spel)
            .map(|()| run.execution.describe())
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

/// The Role of a release with SLOs is exactly enough, and the table notices less: without
/// `get analysisruns` the analysis job cannot read the AnalysisRun the Rollout names, and
/// the release that would have been promoted rolls back instead.
#[test]
fn the_table_catches_a_role_without_the_analysis_rule() {
    let Some(mut e) = engines() else { return };
    let config = Config {
        slo: Some(Slo {
            preview: true,
            post: false,
            budget: false,
        }),
        ..Config::blue_green("docker", true, false, false)
    };
    let bundle = build_with(&config.value_file(), config.platform().as_ref());
    let run = |e: &mut Engines, pipeline: &Value| {
        let before = initial_cluster(Promoted);
        let trigger = trigger_for(pipeline, &config, Promoted, &mut e.spel);
        let run = run_release(e, pipeline, trigger, before.clone(), Promoted);
        compare(&run, &before, &config, Promoted, pipeline, &mut e.spel)
            .map(|()| run.execution.describe())
    };
    assert_eq!(run(&mut e, &bundle["pipelines"][0]).map(|_| ()), Ok(()));
    let mut pipeline = bundle["pipelines"][0].clone();
    let deploy = pipeline["stages"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["type"] == "deployManifest")
        .unwrap();
    for m in deploy["manifests"].as_array_mut().unwrap() {
        if m["kind"] == "Role" {
            let rules = m["rules"].as_array_mut().unwrap();
            let before = rules.len();
            rules.retain(|r| r != &json!({"apiGroups": ["argoproj.io"], "resources": ["analysisruns"], "verbs": ["get"]}));
            assert_eq!(rules.len(), before - 1, "the Role has the rule");
        }
    }
    let why = run(&mut e, &pipeline).expect_err("a Role without get analysisruns must break it");
    assert!(
        why.contains("Analyse preview: FAILED_CONTINUE (expected SUCCEEDED)"),
        "{why}"
    );
    assert!(why.contains("Previous serves (expected New)"), "{why}");
}

/// Orca's DependentPipelineStarter: a pipeline trigger on `parent`'s pipeline fires when
/// the parent execution ends with one of its statuses (SUCCEEDED is `successful`), and the
/// triggered execution receives the parent execution (`parentExecution`) and its artifacts
/// (its stages' output artifacts, then its trigger's).
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
    let mut parent_json = parent_execution(parent, "01STAGINGEXECUTION");
    parent_json["pipelineConfigId"] = t["pipeline"].clone();
    Some(json!({
        "type": "pipeline",
        "user": "[anonymous]",
        "parentExecution": parent_json,
        "parentPipelineStageId": null,
        "artifacts": parent.trigger["artifacts"],
    }))
}

/// Staging, then production: production runs only after staging succeeded, with exactly
/// the image staging released; each environment ends in one of the release's end states.
#[test]
fn two_environments() {
    let Some(mut e) = engines() else { return };
    let config = Config::blue_green("docker", true, false, false);
    let mut value = config.value_file();
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
        if let Err(why) = compare(
            &first,
            &before,
            &config,
            staging_outcome,
            staging,
            &mut e.spel,
        ) {
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
                if let Err(why) =
                    compare(&second, &before, &config, outcome, production, &mut e.spel)
                {
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

/// The controller model against the behaviour it models (rollout/bluegreen.go, sync.go,
/// canary.go, analysis.go).
mod argo_model {
    use super::support::argo_analysis::Phase;
    use super::support::argo_model::{ArgoModel, Health, RunKind, Sli};
    use serde_json::{Value, json};

    /// An AnalysisTemplate `t` with one metric as kujira-gen generates it (five
    /// measurements, no failure tolerated, no data inconclusive).
    fn template() -> Value {
        json!({"metadata": {"name": "t"}, "spec": {"metrics": [{
            "name": "availability", "interval": "1m", "count": 5, "failureLimit": 0,
            "consecutiveErrorLimit": 4,
            "successCondition": "result[0] >= 0.999",
            "failureCondition": "result[0] >= 0 && result[0] < 0.999"}]}})
    }

    fn reference() -> Value {
        json!({"templates": [{"templateName": "t"}]})
    }

    fn blue_green(pre: bool, post: bool) -> Value {
        let mut bg = json!({"activeService": "app", "previewService": "app-preview"});
        if pre {
            bg["prePromotionAnalysis"] = reference();
        }
        if post {
            bg["postPromotionAnalysis"] = reference();
        }
        json!({"spec": {"strategy": {"blueGreen": bg}}})
    }

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
    fn the_pause_comes_after_the_pre_promotion_analysis() {
        let mut m = ArgoModel::running("app", "ns", 2, "img:1");
        m.apply_rollout(&blue_green(true, false), &[template()]);
        m.apply("img:2", 1);
        settle(&mut m, 4);
        // The preview is available and measured; no pause yet.
        let run = m.run(RunKind::PrePromotion).expect("a pre-promotion run");
        assert_eq!(
            run.name,
            format!("app-{}-2-pre", ArgoModel::hash_of("img:2"))
        );
        assert!(m.pause_conditions.is_empty());
        assert_eq!(m.message, "active service cutover pending");
        settle(&mut m, 5);
        assert_eq!(
            m.run(RunKind::PrePromotion).unwrap().phase,
            Phase::Successful
        );
        assert_eq!(m.pause_conditions, vec!["BlueGreenPause"]);
    }

    #[test]
    fn a_failed_pre_promotion_analysis_aborts_with_its_reason() {
        let mut m = ArgoModel::running("app", "ns", 2, "img:1").with_sli(
            "img:2",
            Sli::BreaksAvailability,
            Sli::Met,
        );
        let stable = m.stable.clone();
        m.apply_rollout(&blue_green(true, false), &[template()]);
        m.apply("img:2", 1);
        settle(&mut m, 6);
        assert_eq!(m.phase, "Degraded");
        assert!(
            m.message.ends_with("Blue/green pre-promotion analysis phase error/failed: Metric \"availability\" assessed Failed due to failed (1) > failureLimit (0)"),
            "{}",
            m.message
        );
        assert_eq!(m.active, stable);
    }

    #[test]
    fn a_failed_post_promotion_analysis_switches_back() {
        let mut m = ArgoModel::running("app", "ns", 2, "img:1").with_sli(
            "img:2",
            Sli::Met,
            Sli::BreaksAvailability,
        );
        let old = m.stable.clone();
        m.apply_rollout(&blue_green(false, true), &[template()]);
        m.apply("img:2", 1);
        settle(&mut m, 4);
        m.clear_pause_conditions();
        m.tick();
        // Active, not stable, until the post-promotion analysis passed.
        assert_eq!(m.active, m.current);
        assert_eq!(m.stable, old);
        assert_eq!(m.message, "waiting for analysis to complete");
        settle(&mut m, 2);
        assert_eq!(m.phase, "Degraded");
        assert_eq!(m.active, old, "traffic switched back");
        assert!(m.rs(old.as_deref().unwrap()).unwrap().replicas > 0);
    }

    #[test]
    fn no_data_is_inconclusive_when_the_template_says_so() {
        let mut m =
            ArgoModel::running("app", "ns", 2, "img:1").with_sli("img:2", Sli::NoData, Sli::Met);
        m.apply_rollout(&blue_green(true, false), &[template()]);
        m.apply("img:2", 1);
        settle(&mut m, 6);
        assert_eq!(m.pause_conditions, vec!["InconclusiveAnalysis"]);
        assert_eq!(m.phase, "Paused");
    }

    #[test]
    fn canary_steps_hold_measure_and_complete() {
        let rollout = json!({"spec": {"rollbackWindow": {"revisions": 1}, "strategy": {"canary": {
            "canaryService": "app-canary",
            "steps": [{"setWeight": 25}, {"pause": {}}, {"analysis": reference()},
                      {"pause": {"duration": "1m"}}, {"setWeight": 50}]}}}});
        let mut m = ArgoModel::running("app", "ns", 2, "img:1");
        m.apply_rollout(&rollout, &[template()]);
        m.apply("img:2", 1);
        settle(&mut m, 4);
        assert_eq!(m.pause_conditions, vec!["CanaryPauseStep"]);
        assert_eq!(m.step_index, Some(1));
        m.clear_pause_conditions();
        settle(&mut m, 3);
        assert_eq!(m.step_index, Some(2));
        assert!(m.run(RunKind::Step(2)).is_some());
        settle(&mut m, 12);
        assert_eq!(m.phase, "Healthy");
        assert_eq!(m.stable, m.current);
        assert_eq!(m.serving().as_deref(), Some("img:2"));
        // Back to the previous revision within the rollback window: no steps.
        m.set_template("img:1");
        settle(&mut m, 4);
        assert_eq!(m.serving().as_deref(), Some("img:1"));
        assert_eq!(m.phase, "Healthy");
    }

    #[test]
    fn a_failed_canary_step_aborts_back_to_the_first_step() {
        let rollout = json!({"spec": {"strategy": {"canary": {
            "steps": [{"setWeight": 25}, {"analysis": reference()}, {"setWeight": 50}]}}}});
        let mut m = ArgoModel::running("app", "ns", 2, "img:1").with_sli(
            "img:2",
            Sli::Unreachable,
            Sli::Met,
        );
        m.apply_rollout(&rollout, &[template()]);
        m.apply("img:2", 1);
        settle(&mut m, 10);
        assert_eq!(m.phase, "Degraded");
        assert_eq!(m.step_index, Some(0));
        assert!(m.message.contains("Step-based analysis phase error/failed: Metric \"availability\" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4)"), "{}", m.message);
        let canary = m.current.clone().unwrap();
        assert_eq!(m.rs(&canary).unwrap().replicas, 0);
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

/// The staging execution as production's trigger carries it: Orca serialises the parent
/// PipelineExecution into the trigger (PipelineTrigger.parentExecution), its final status
/// included.
fn parent_execution(run: &Execution, id: &str) -> Value {
    let mut p = run.to_json();
    p["id"] = json!(id);
    p["status"] = json!(run.status);
    p["pipelineConfigId"] = json!("staging-pipeline-id");
    p
}

/// Every way production can be started, each with the trigger Orca builds for it, and the
/// execution it names: production deploys only an image from a SUCCEEDED run of staging,
/// and a refusal names the parent execution and its status.
#[test]
fn production_deploys_only_what_staging_released() {
    let Some(mut e) = engines() else { return };
    let config = Config::blue_green("docker", true, false, false);
    let mut value = config.value_file();
    value.as_object_mut().unwrap().remove("Account");
    value["Environments"] = json!([
        {"Name": "staging", "Account": "gke-staging", "Replicas": 1},
        {"Name": "production", "Account": "gke-production", "ScenarioTest": false}
    ]);
    let bundle = build(&value);
    let (staging, production) = (&bundle["pipelines"][0], &bundle["pipelines"][1]);
    let production_config = Config {
        test: false,
        ..config
    };

    // Staging runs: one that released the new image, an older one that released it too,
    // one whose test failed, one still running (Deck lists executions of any status).
    let staging_run = |e: &mut Engines, outcome| {
        let before = initial_cluster(outcome);
        let t = trigger(staging, "docker", deployed_tag(outcome), &mut e.spel);
        let run = run_release(e, staging, t, before.clone(), outcome);
        compare(&run, &before, &config, outcome, staging, &mut e.spel)
            .unwrap_or_else(|why| panic!("staging {outcome:?}: {why}"));
        run
    };
    let succeeded = staging_run(&mut e, Promoted);
    let failed = staging_run(&mut e, TestFails);
    let ok = parent_execution(&succeeded.execution, "01STAGINGSUCCEEDED");
    let old_ok = parent_execution(&succeeded.execution, "01STAGINGOLDSUCCEEDED");
    let terminal = parent_execution(&failed.execution, "01STAGINGTERMINAL");
    let mut running = parent_execution(&failed.execution, "01STAGINGRUNNING");
    running["status"] = json!("RUNNING");
    let mut other_pipeline = parent_execution(&succeeded.execution, "01PRODUCTIONEARLIER");
    other_pipeline["name"] = json!("release-production");
    let artifacts = |p: &Value| p["trigger"]["artifacts"].clone();

    // orca-front50 DependentPipelineStarter: the pipeline trigger of a SUCCEEDED parent.
    let by_trigger = |p: &Value| {
        json!({"type": "pipeline", "user": "[anonymous]", "parentExecution": p,
               "parentPipelineStageId": null, "artifacts": artifacts(p),
               "correlationId": format!("{}_null_production_0", p["id"].as_str().unwrap())})
    };
    // orca-web OperationsController: a start with `parentPipelineId` (Deck's manual-run
    // dialog, PipelineTriggerTemplate.tsx, or the API) gets the execution of that id, of
    // any status, and its artifacts.
    let by_parent_id = |p: &Value, user: &str| {
        json!({"type": "pipeline", "user": user, "application": "shop",
               "pipeline": "staging-pipeline-id", "parentPipelineId": p["id"],
               "isPipeline": true, "parentStatus": p["status"], "parentExecution": p,
               "parentPipelineName": p["name"], "artifacts": artifacts(p)})
    };
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        ("the pipeline trigger", by_trigger(&ok), None),
        (
            "a re-run of an old successful staging execution, which triggers production",
            by_trigger(&old_ok),
            None,
        ),
        (
            "Deck, a successful staging execution chosen",
            by_parent_id(&old_ok, "dev@example.com"),
            None,
        ),
        (
            "Deck, the newest staging execution pre-selected: it failed",
            by_parent_id(&terminal, "dev@example.com"),
            Some("execution 01STAGINGTERMINAL of shop/release-staging whose status is TERMINAL"),
        ),
        (
            "the API, a staging execution still running",
            by_parent_id(&running, "ci@example.com"),
            Some("execution 01STAGINGRUNNING of shop/release-staging whose status is RUNNING"),
        ),
        (
            "the API, an execution of another pipeline",
            by_parent_id(&other_pipeline, "ci@example.com"),
            Some(
                "execution 01PRODUCTIONEARLIER of shop/release-production whose status is SUCCEEDED",
            ),
        ),
        (
            "the API, without a parent, the image given as an artifact",
            json!({"type": "manual", "user": "ci@example.com", "parameters": {},
                   "artifacts": artifacts(&ok)}),
            Some("no execution of release-staging"),
        ),
        (
            "a re-run of a production execution: its stored trigger",
            by_trigger(&ok),
            None,
        ),
    ];
    let mut failures = Vec::new();
    for (how, t, refusal) in cases {
        let before = initial_cluster(Promoted);
        let run = run_release(&mut e, production, t, before.clone(), Promoted);
        match refusal {
            None => {
                if let Err(why) = compare(
                    &run,
                    &before,
                    &production_config,
                    Promoted,
                    production,
                    &mut e.spel,
                ) {
                    failures.push(format!("{how}: {why}"));
                }
                if run.deployed != succeeded.deployed {
                    failures.push(format!(
                        "{how}: production deployed {:?}, staging released {:?}",
                        run.deployed, succeeded.deployed
                    ));
                }
            }
            Some(names) => {
                let check = run.execution.stage("Check provenance");
                let deploy = run.execution.stage("Deploy").map(|s| s.status.as_str());
                let ok = check.is_some_and(|c| c.status == "TERMINAL" && c.note.contains(names))
                    && deploy == Some("NOT_STARTED")
                    && run.execution.status == "TERMINAL"
                    && run.deployed.is_none();
                if !ok {
                    failures.push(format!(
                        "{how}: not refused before Deploy naming {names:?}\n{}",
                        run.execution.describe()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // The judge: without the check, Deck's pre-selected failed staging run deploys the
    // image it did not release.
    let mut unchecked = production.clone();
    rewrite(&mut unchecked, &|s| {
        if s.starts_with("trigger['parentExecution'] != null") {
            "true".to_string()
        } else {
            s.to_string()
        }
    });
    let run = run_release(
        &mut e,
        &unchecked,
        by_parent_id(&terminal, "dev@example.com"),
        initial_cluster(Promoted),
        Promoted,
    );
    assert_eq!(
        run.execution.stage("Deploy").map(|s| s.status.as_str()),
        Some("SUCCEEDED"),
        "{}",
        run.execution.describe()
    );
}
