//! The API calls of the Argo Rollouts kubectl plugin's subcommands
//! (argoproj/argo-rollouts v1.9.1, `pkg/kubectl-argo-rollouts/`), so that a Job running one
//! can be checked against the Role its service account is bound to. Calls only made
//! against Argo Rollouts older than v0.10 (before `status` became a subresource) are left
//! out.
//!
//! - `promote` (`cmd/promote/promote.go`): gets the Rollout; patches `rollouts/status`
//!   (pause conditions, or `promoteFull` with `--full`); patches the Rollout itself when
//!   `spec.paused` is set.
//! - `abort` (`cmd/abort/abort.go`): patches `rollouts/status` (`{"status":{"abort":true}}`).
//! - `undo` (`cmd/undo/undo.go`): gets the Rollout (dynamic client), lists ReplicaSets to
//!   find the revision, then patches `spec.template` of the Rollout, or, with a
//!   `workloadRef`, of the referenced Deployment, ReplicaSet or PodTemplate.
//! - `status`, `get rollout` (`cmd/status/status.go`, `cmd/get/get_rollout.go`,
//!   `viewcontroller/viewcontroller.go`): start informers (list and watch) on rollouts,
//!   replicasets, pods, experiments, analysisruns and deployments, and wait for the caches
//!   of all but deployments to fill before anything else, `--timeout` included: a
//!   missing list or watch permission makes the command hang until the Job's deadline.

/// One call, in RBAC's terms, with why the subcommand makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub why: &'static str,
}

const fn call(
    verb: &'static str,
    group: &'static str,
    resource: &'static str,
    why: &'static str,
) -> Call {
    Call {
        verb,
        group,
        resource,
        why,
    }
}

const ARGO: &str = "argoproj.io";

/// The calls `subcommand` makes. `workload_kind` is the kind of the Rollout's
/// `workloadRef`, when it has one (undo patches that object instead of the Rollout).
/// `None` for a subcommand this model does not know.
pub fn calls(subcommand: &[&str], workload_kind: Option<&str>) -> Option<Vec<Call>> {
    let informers = |why: &'static str| {
        vec![
            call("list", ARGO, "rollouts", why),
            call("watch", ARGO, "rollouts", why),
            call("list", "apps", "replicasets", why),
            call("watch", "apps", "replicasets", why),
            call("list", "", "pods", why),
            call("watch", "", "pods", why),
            call("list", ARGO, "experiments", why),
            call("watch", ARGO, "experiments", why),
            call("list", ARGO, "analysisruns", why),
            call("watch", ARGO, "analysisruns", why),
            call("list", "apps", "deployments", why),
            call("watch", "apps", "deployments", why),
        ]
    };
    let first = *subcommand.first()?;
    Some(match first {
        "promote" => vec![
            call("get", ARGO, "rollouts", "reads the Rollout"),
            call(
                "patch",
                ARGO,
                "rollouts/status",
                "clears the pause conditions",
            ),
            call(
                "patch",
                ARGO,
                "rollouts",
                "unpauses a Rollout with spec.paused",
            ),
        ],
        "abort" => vec![call("patch", ARGO, "rollouts/status", "sets status.abort")],
        "undo" => {
            let mut v = vec![
                call("get", ARGO, "rollouts", "reads the Rollout"),
                call(
                    "list",
                    "apps",
                    "replicasets",
                    "finds the revision's ReplicaSet",
                ),
            ];
            v.push(match workload_kind {
                Some("Deployment") => call(
                    "patch",
                    "apps",
                    "deployments",
                    "writes the revision's template into the workloadRef Deployment",
                ),
                Some("ReplicaSet") => call(
                    "patch",
                    "apps",
                    "replicasets",
                    "writes the revision's template into the workloadRef ReplicaSet",
                ),
                Some("PodTemplate") => call(
                    "patch",
                    "",
                    "podtemplates",
                    "writes the revision's template into the workloadRef PodTemplate",
                ),
                _ => call(
                    "patch",
                    ARGO,
                    "rollouts",
                    "writes the revision's template into the Rollout",
                ),
            });
            v
        }
        "status" => informers("its informers list and watch them"),
        "get"
            if subcommand
                .get(1)
                .is_some_and(|s| *s == "rollout" || *s == "ro" || *s == "rollouts") =>
        {
            informers("its informers list and watch them")
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_needs_every_informer() {
        let c = calls(&["status", "app"], None).unwrap();
        assert!(
            c.contains(&call("list", "", "pods", ""))
                || c.iter().any(|x| x.resource == "pods" && x.verb == "list")
        );
        assert_eq!(c.len(), 12);
    }

    #[test]
    fn undo_patches_the_workload_it_references() {
        let c = calls(&["undo", "app"], Some("Deployment")).unwrap();
        assert!(
            c.iter()
                .any(|x| (x.verb, x.group, x.resource) == ("patch", "apps", "deployments"))
        );
        let c = calls(&["undo", "app"], None).unwrap();
        assert!(
            c.iter()
                .any(|x| (x.verb, x.group, x.resource) == ("patch", ARGO, "rollouts"))
        );
    }

    #[test]
    fn unknown_subcommands_are_not_guessed() {
        assert_eq!(calls(&["set", "image"], None), None);
        assert_eq!(calls(&[], None), None);
    }
}
