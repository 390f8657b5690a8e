//! Run Jobs that run the Argo Rollouts kubectl plugin, checked against the Role their
//! service account is bound to by the same pipeline (`upstream::argo_plugin`,
//! `upstream::rbac`; docs/spinnaker-rules.md "Permissions of the release jobs"). A call the
//! Role does not grant fails the job, or, for `status`, makes it wait for an informer
//! cache that never fills until the Job's deadline kills it, after traffic has switched.

use super::Report;
use super::manifests::Found;
use super::view::{PipelineView, quote};
use crate::upstream::artifact_replacer::image_name;
use crate::upstream::{argo_plugin, rbac};
use serde_json::Value;

const PLUGIN: &str = "kubectl-argo-rollouts";

pub fn check(view: &PipelineView, found: &[Found], report: &mut Report) {
    // Manifests that come from an artifact, or that cannot be read, may bind the account:
    // then nothing is known.
    let all_known = view
        .stages
        .iter()
        .filter(|s| s.stage_type() == Some("deployManifest"))
        .all(|s| {
            s.str_field("source") != Some("artifact")
                && s.stage.get("manifests").is_some_and(Value::is_array)
        });
    if !all_known {
        return;
    }
    for stage in &view.stages {
        if stage.stage_type() != Some("runJobManifest") {
            continue;
        }
        let Some(job) = stage.stage.get("manifest") else {
            continue;
        };
        let Some(pod) = job.pointer("/spec/template/spec") else {
            continue;
        };
        let namespace = job
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let account = pod
            .get("serviceAccountName")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let manifest_path = stage.field_path("manifest");
        for list in ["initContainers", "containers"] {
            let Some(Value::Array(cs)) = pod.get(list) else {
                continue;
            };
            for (i, c) in cs.iter().enumerate() {
                let Some(argv) = plugin_args(c) else { continue };
                let at = format!("{manifest_path}.spec.template.spec.{list}[{i}]");
                check_container(found, namespace, account, &argv, &at, report);
            }
        }
    }
}

/// The plugin's arguments when the container runs the plugin, else `None`.
fn plugin_args(container: &Value) -> Option<Vec<&str>> {
    let strings = |key: &str| -> Vec<&str> {
        container
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let command = strings("command");
    let args = strings("args");
    let image = container.get("image").and_then(Value::as_str).unwrap_or("");
    let is_plugin_image = image_name(image).ends_with(PLUGIN);
    if command.is_empty() {
        // The plugin image's entrypoint is the plugin itself.
        return is_plugin_image.then_some(args);
    }
    let mut argv: Vec<&str> = command.into_iter().chain(args).collect();
    if argv
        .first()
        .is_some_and(|c| c.rsplit('/').next() == Some(PLUGIN))
    {
        argv.remove(0);
        return Some(argv);
    }
    if argv.len() >= 3
        && argv[0].rsplit('/').next() == Some("kubectl")
        && argv[1] == "argo"
        && argv[2] == "rollouts"
    {
        return Some(argv[3..].to_vec());
    }
    None
}

/// The positional arguments, without flags and their values.
fn positional<'a>(argv: &[&'a str]) -> Vec<&'a str> {
    // Flags of these subcommands that take a value as the next argument.
    const VALUED: &[&str] = &[
        "--namespace",
        "-n",
        "--timeout",
        "-t",
        "--to-revision",
        "--kubeconfig",
        "--context",
    ];
    let mut out = Vec::new();
    let mut skip = false;
    for a in argv {
        if skip {
            skip = false;
        } else if VALUED.contains(a) {
            skip = true;
        } else if !a.starts_with('-') {
            out.push(*a);
        }
    }
    out
}

fn check_container(
    found: &[Found],
    namespace: &str,
    account: &str,
    argv: &[&str],
    at: &str,
    report: &mut Report,
) {
    let words = positional(argv);
    let rollout = if words.first() == Some(&"get") {
        words.get(2)
    } else {
        words.get(1)
    };
    let deployed_rollout = rollout.and_then(|name| {
        found
            .iter()
            .find(|f| f.deployed && f.kind() == Some("Rollout") && f.name() == Some(*name))
    });
    let workload = deployed_rollout.and_then(|f| f.value.pointer("/spec/workloadRef"));
    let workload_kind = workload.and_then(|w| w.get("kind")).and_then(Value::as_str);
    let workload_name = workload.and_then(|w| w.get("name")).and_then(Value::as_str);
    let command = format!("{PLUGIN} {}", words.first().copied().unwrap_or(""));
    let Some(calls) = argo_plugin::calls(&words, workload_kind) else {
        report.warning(
            at,
            format!("`{PLUGIN} {}`: kujira-gen does not know which API calls this subcommand makes, so its permissions are not checked", words.join(" ")),
        );
        return;
    };
    let Some(rules) = bound_rules(found, namespace, account) else {
        report.warning(
            at,
            format!(
                "`{command}` runs as service account {} in namespace {}, which no RoleBinding deployed by this pipeline binds to a Role: its permissions are not checked",
                quote(account),
                quote(namespace)
            ),
        );
        return;
    };
    let missing: Vec<&argo_plugin::Call> = calls
        .iter()
        .filter(|c| {
            let name = match (c.verb, c.resource) {
                ("list" | "watch", _) => None,
                (_, "deployments" | "replicasets" | "podtemplates") => workload_name,
                _ => rollout.copied(),
            };
            let request = rbac::Request {
                verb: c.verb,
                group: c.group,
                resource: c.resource,
                name,
            };
            !rbac::allows(rules.iter().copied(), &request)
        })
        .collect();
    if missing.is_empty() {
        return;
    }
    let list: Vec<String> = missing
        .iter()
        .map(|c| {
            let group = if c.group.is_empty() { "core" } else { c.group };
            format!("{} {} ({group})", c.verb, c.resource)
        })
        .collect();
    let mut whys: Vec<&str> = missing.iter().map(|c| c.why).collect();
    whys.dedup();
    let consequence = if words.first() == Some(&"status") || words.first() == Some(&"get") {
        "it waits for those informers' caches before its --timeout starts counting, so it hangs until the Job's deadline"
    } else {
        "the command fails"
    };
    report.error(
        at,
        format!(
            "`{command}` runs as service account {}, whose Roles in this pipeline do not grant {} (it {}); {consequence}",
            quote(account),
            list.join(", "),
            whys.join("; ")
        ),
    );
}

/// The rules of every Role this pipeline deploys and binds to the service account, or
/// `None` when it binds none (or binds a ClusterRole, which it cannot see).
fn bound_rules<'a>(found: &'a [Found], namespace: &str, account: &str) -> Option<Vec<&'a Value>> {
    let ns_of = |f: &Found| {
        f.value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_string()
    };
    let mut roles = Vec::new();
    let mut any = false;
    for binding in found
        .iter()
        .filter(|f| f.deployed && f.kind() == Some("RoleBinding") && ns_of(f) == namespace)
    {
        let subjects = binding.value.get("subjects").and_then(Value::as_array);
        let binds_account = subjects.is_some_and(|s| {
            s.iter().any(|s| {
                s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                    && s.get("name").and_then(Value::as_str) == Some(account)
                    && s.get("namespace")
                        .and_then(Value::as_str)
                        .unwrap_or(namespace)
                        == namespace
            })
        });
        if !binds_account {
            continue;
        }
        let role_ref = binding.value.get("roleRef");
        if role_ref.and_then(|r| r.get("kind")).and_then(Value::as_str) != Some("Role") {
            return None;
        }
        let role_name = role_ref.and_then(|r| r.get("name")).and_then(Value::as_str);
        any = true;
        roles.extend(
            found
                .iter()
                .filter(|f| f.deployed && f.kind() == Some("Role") && ns_of(f) == namespace)
                .filter(|f| f.name() == role_name)
                .filter_map(|f| f.value.get("rules").and_then(Value::as_array))
                .flatten(),
        );
    }
    any.then_some(roles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plugin_arguments_in_every_form() {
        let c = json!({"image": "quay.io/argoproj/kubectl-argo-rollouts:v1.9.1", "args": ["status", "app", "--timeout", "60s"]});
        assert_eq!(
            plugin_args(&c),
            Some(vec!["status", "app", "--timeout", "60s"])
        );
        let c = json!({"image": "alpine/k8s:1", "command": ["kubectl", "argo", "rollouts", "promote", "app"]});
        assert_eq!(plugin_args(&c), Some(vec!["promote", "app"]));
        let c = json!({"image": "x", "command": ["/usr/local/bin/kubectl-argo-rollouts"], "args": ["abort", "app"]});
        assert_eq!(plugin_args(&c), Some(vec!["abort", "app"]));
        let c = json!({"image": "alpine/k8s:1", "command": ["/bin/sh", "-c"], "args": ["kubectl get rollout"]});
        assert_eq!(plugin_args(&c), None);
        assert_eq!(
            positional(&["undo", "app", "--to-revision", "3", "--namespace", "ns"]),
            vec!["undo", "app"]
        );
    }
}
