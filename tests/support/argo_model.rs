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
//! Time is counted in controller "ticks": the scenario runner calls [`ArgoModel::tick`]
//! before every read of the Rollout, so a polling script sees the controller progress one
//! step per poll, including the moments where the status does not yet describe the
//! deployed template.

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
    /// Every change the controller made, for failure messages.
    pub log: Vec<String>,
}

/// Ticks a new revision needs to become available in the preview.
const READY_AFTER: u32 = 2;
/// Ticks after which an update that makes no progress is Degraded.
const PROGRESS_DEADLINE: u32 = 4;

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
            log: Vec::new(),
        }
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

    fn set_phase(&mut self, phase: &str, message: &str) {
        if self.phase != phase || self.message != message {
            self.log.push(format!("phase {phase} {message}"));
        }
        self.phase = phase.to_string();
        self.message = message.to_string();
    }

    /// One reconciliation of the controller.
    pub fn tick(&mut self) {
        self.observed_generation = self.rollout_generation;
        if self.delay_expired {
            for rs in &mut self.replica_sets {
                if rs.scale_down_deadline {
                    rs.scale_down_deadline = false;
                    rs.replicas = 0;
                }
            }
        }
        let Some(image) = self.deployment_image.clone() else {
            return;
        };
        if self.workload_observed_generation != self.deployment_generation {
            self.workload_observed_generation = self.deployment_generation;
            self.observe_template(&image);
            return;
        }
        self.reconcile(&image);
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
        self.current = Some(hash);
        // resetRolloutStatus
        self.pause_conditions.clear();
        self.controller_pause = false;
        self.abort = false;
        self.progress = 0;
        self.set_phase("Progressing", "more replicas need to be updated");
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
            if let Some(p) = self.preview.take()
                && let Some(rs) = self.rs_mut(&p)
            {
                rs.replicas = 0;
            }
            self.pause_conditions.clear();
            let revision = self.revision_of(&current).unwrap_or(0);
            self.set_phase(
                "Degraded",
                &format!("RolloutAborted: Rollout aborted update to revision {revision}"),
            );
            return;
        }
        if fully_promoted {
            // The active revision's pods: failing ones make the Rollout Progressing
            // ("updated replicas are still becoming available"), then, at the progress
            // deadline, Degraded (CalculateRolloutPhase).
            match health {
                Health::FailsUnderTraffic if self.progress >= PROGRESS_DEADLINE => self.set_phase(
                    "Degraded",
                    "ProgressDeadlineExceeded: ReplicaSet has timed out progressing.",
                ),
                Health::FailsUnderTraffic => self.set_phase(
                    "Progressing",
                    "updated replicas are still becoming available",
                ),
                _ => self.set_phase("Healthy", ""),
            }
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
            } else if health == Health::Degraded && self.progress >= PROGRESS_DEADLINE {
                self.set_phase(
                    "Degraded",
                    "ProgressDeadlineExceeded: ReplicaSet has timed out progressing.",
                );
            }
            return;
        }
        self.preview = Some(current.clone());
        let available = matches!(health, Health::Healthy | Health::FailsUnderTraffic)
            && self.progress >= READY_AFTER;
        if !available {
            if health == Health::Degraded && self.progress >= PROGRESS_DEADLINE {
                self.set_phase(
                    "Degraded",
                    "ProgressDeadlineExceeded: ReplicaSet has timed out progressing.",
                );
            } else {
                self.set_phase("Progressing", "waiting for the preview to become available");
            }
            return;
        }
        if self.controller_pause && self.pause_conditions.is_empty() {
            // Promoted: the user cleared the pause condition.
            self.promote_stable(&current);
            return;
        }
        if !self.controller_pause {
            self.controller_pause = true;
            self.pause_conditions = vec!["BlueGreenPause".into()];
        }
        self.set_phase("Paused", "BlueGreenPause");
    }

    fn promote_stable(&mut self, hash: &str) {
        let previous = self.active.clone();
        self.active = Some(hash.to_string());
        self.stable = Some(hash.to_string());
        self.preview = Some(hash.to_string());
        self.controller_pause = false;
        self.pause_conditions.clear();
        if let Some(prev) = previous.filter(|p| p != hash)
            && let Some(rs) = self.rs_mut(&prev)
        {
            rs.scale_down_deadline = true;
        }
        if let Some(rs) = self.rs_mut(hash) {
            rs.scale_down_deadline = false;
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
            if let Some(a) = &self.active {
                status["blueGreen"]["activeSelector"] = json!(a);
            }
            if let Some(p) = &self.preview {
                status["blueGreen"]["previewSelector"] = json!(p);
            }
            if self.controller_pause {
                status["controllerPause"] = json!(true);
            }
            if self.abort {
                status["abort"] = json!(true);
            }
            let available = match (&self.active, self.phase.as_str()) {
                (Some(_), "Healthy" | "Paused") => self.replicas,
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
                         "strategy": {"blueGreen": {"activeService": self.app,
                                                    "previewService": format!("{}-preview", self.app),
                                                    "autoPromotionEnabled": false}}},
                "status": status,
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
