//! The fake Kubernetes API server (tests/support/fake_kube.rs) driven by the real
//! kubectl: the commands the generated Jobs run, RBAC denials with kubectl's exact
//! output, the server's write semantics, scripted state and the script runner. Without
//! kubectl these tests are skipped (they fail under CI=true).

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::fake_kube::api::ApiRequest;
use support::fake_kube::patch::{json_patch, merge_patch};
use support::fake_kube::rbac::{self, Attributes, Rule};
use support::fake_kube::script::{kubectl_decision, require_kubectl};
use support::fake_kube::selector::{labels_match, parse_fields, parse_labels};
use support::fake_kube::{Discovery, FakeKube, Store};

const NS: &str = "shop";
const SA: &str = "release";
const USER: &str = "system:serviceaccount:shop:release";
const TIMEOUT: Duration = Duration::from_secs(30);

/// A server for the ServiceAccount `shop:release`, when kubectl is installed.
fn kube() -> Option<FakeKube> {
    require_kubectl().map(|_| FakeKube::start_as(NS, SA))
}

fn rollout(name: &str, status: Value) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": NS,
            "annotations": {"rollout.argoproj.io/revision": "4"}},
        "spec": {"replicas": 2, "strategy": {"blueGreen": {"activeService": "web-active"}}},
        "status": status,
    })
}

fn paused() -> Value {
    json!({
        "phase": "Paused",
        "observedGeneration": "1",
        "currentPodHash": "7d9f8",
        "stableRS": "5c6b4",
        "message": "BlueGreenPause",
        "pauseConditions": [
            {"reason": "BlueGreenPause", "startTime": "2025-01-01T00:00:00Z"},
            {"reason": "InconclusiveAnalysisRun", "startTime": "2025-01-01T00:00:01Z"}
        ]
    })
}

fn replica_set(name: &str, hash: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": NS,
            "labels": {"app": "web", "rollouts-pod-template-hash": hash}},
        "spec": {"replicas": 1},
    })
}

fn role(rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": SA, "namespace": NS}, "rules": rules})
}

fn generation(kube: &FakeKube, resource: &str, name: &str) -> u64 {
    kube.get(resource, NS, name).expect("the object")["metadata"]["generation"]
        .as_u64()
        .expect("a generation")
}

#[track_caller]
fn assert_output(out: &support::fake_kube::ScriptOutput, status: i32, stdout: &str, stderr: &str) {
    assert_eq!(
        (out.status, out.stdout.as_str(), out.stderr.as_str()),
        (Some(status), stdout, stderr),
        "{out:#?}"
    );
}

// ---- reading ----

#[test]
fn jsonpath_reads_the_rollout_status_fields_the_wait_job_reads() {
    let Some(kube) = kube() else { return };
    kube.put(rollout("web", paused()));
    let out = kube.kubectl(&[
        "get",
        "rollout",
        "web",
        "-n",
        NS,
        "-o",
        "jsonpath={.metadata.generation}|{.status.observedGeneration}|{.status.phase}|{.status.currentPodHash}|{.status.stableRS}|{.status.pauseConditions[*].reason}|{.status.message}",
    ]);
    assert_output(
        &out,
        0,
        "1|1|Paused|7d9f8|5c6b4|BlueGreenPause InconclusiveAnalysisRun|BlueGreenPause",
        "",
    );
    // A dotted annotation key, escaped as in a shell script.
    let out = kube.kubectl(&[
        "get",
        "ro",
        "web",
        "-o",
        r"jsonpath={.metadata.annotations.rollout\.argoproj\.io/revision}",
    ]);
    assert_output(&out, 0, "4", "");
    // A missing field prints nothing; a missing object is the API server's NotFound.
    let out = kube.kubectl(&["get", "rollout", "web", "-o", "jsonpath={.status.abort}"]);
    assert_output(&out, 0, "", "");
    let out = kube.kubectl(&["get", "rollout", "gone", "-o", "jsonpath={.status.phase}"]);
    assert_output(
        &out,
        1,
        "",
        "Error from server (NotFound): rollouts.argoproj.io \"gone\" not found\n",
    );
    // kubectl then asks whether the namespace exists, and says so when it does not.
    let out = kube.kubectl(&["get", "rollout", "web", "-n", "nowhere"]);
    assert_output(
        &out,
        1,
        "",
        "Error from server (NotFound): namespaces \"nowhere\" not found\n",
    );
    let last = kube.api_requests().pop().expect("a request");
    assert_eq!(
        (
            last.verb.as_str(),
            last.resource.as_str(),
            last.name.as_str()
        ),
        ("get", "namespaces", "nowhere")
    );
}

#[test]
fn json_output_is_the_stored_object_with_the_server_fields() {
    let Some(kube) = kube() else { return };
    let stored = kube.put(rollout("web", paused()));
    let out = kube.kubectl(&["get", "rollout", "web", "-o", "json"]);
    assert_eq!(out.status, Some(0), "{out:#?}");
    let printed: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(printed, stored);
    let meta = &printed["metadata"];
    assert_eq!(meta["resourceVersion"], "1");
    assert_eq!(meta["generation"], 1);
    assert!(
        meta["uid"].as_str().is_some_and(|u| u.len() == 36),
        "{meta}"
    );
    assert!(
        meta["creationTimestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
}

#[test]
fn replica_sets_are_listed_by_label() {
    let Some(kube) = kube() else { return };
    kube.put(replica_set("web-abc", "abc"));
    kube.put(replica_set("web-def", "def"));
    let mut other = replica_set("api-abc", "abc");
    other["metadata"]["labels"] = json!({"app": "api"});
    kube.put(other);
    let names = |selector: &str| {
        let out = kube.kubectl(&[
            "get",
            "replicasets",
            "-l",
            selector,
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ]);
        assert_eq!((out.status, out.stderr.as_str()), (Some(0), ""), "{out:#?}");
        out.stdout
    };
    assert_eq!(names("rollouts-pod-template-hash=abc"), "web-abc");
    assert_eq!(names("app=web,rollouts-pod-template-hash!=abc"), "web-def");
    assert_eq!(
        names("rollouts-pod-template-hash in (abc,def)"),
        "web-abc web-def"
    );
    assert_eq!(names("app notin (web)"), "api-abc");
    assert_eq!(names("rollouts-pod-template-hash"), "web-abc web-def");
    assert_eq!(names("!rollouts-pod-template-hash"), "api-abc");
    assert_eq!(names("app=none"), "");
    let list = kube.api_requests().pop().expect("a request");
    assert_eq!(
        (
            list.verb.as_str(),
            list.resource.as_str(),
            list.name.as_str()
        ),
        ("list", "replicasets", "")
    );
}

// ---- writing ----

#[test]
fn a_status_patch_clears_the_pause_conditions_and_nothing_else() {
    let Some(kube) = kube() else { return };
    kube.put(rollout("web", paused()));
    let before = kube.get("rollouts", NS, "web").expect("stored");
    let patch = [
        "patch",
        "rollout",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"pauseConditions":null},"spec":{"replicas":9}}"#,
    ];
    let out = kube.kubectl(&patch);
    assert_output(&out, 0, "rollout.argoproj.io/web patched\n", "");
    let after = kube.get("rollouts", NS, "web").expect("stored");
    assert_eq!(after["status"].get("pauseConditions"), None);
    assert_eq!(after["status"]["phase"], "Paused");
    // Only the status changed: the spec in the patch was ignored, the generation too.
    assert_eq!(after["spec"], before["spec"]);
    assert_eq!(after["metadata"]["generation"], 1);
    assert_eq!(after["metadata"]["resourceVersion"], "2");
    // kubectl reads the status subresource first, then patches it.
    let calls: Vec<(String, String)> = kube
        .api_requests()
        .iter()
        .map(|l| (l.verb.clone(), format!("{}/{}", l.resource, l.subresource)))
        .collect();
    assert_eq!(
        calls,
        [
            ("get".to_string(), "rollouts/status".to_string()),
            ("patch".to_string(), "rollouts/status".to_string())
        ]
    );
    // The same patch again changes nothing: no new resourceVersion, and kubectl says so.
    let out = kube.kubectl(&patch);
    assert_output(&out, 0, "rollout.argoproj.io/web patched (no change)\n", "");
    let again = kube.get("rollouts", NS, "web").expect("stored");
    assert_eq!(again["metadata"]["resourceVersion"], "2");
}

#[test]
fn a_patch_of_the_main_resource_ignores_status_and_bumps_the_generation() {
    let Some(kube) = kube() else { return };
    kube.put(rollout("web", paused()));
    let out = kube.kubectl(&[
        "patch",
        "rollout",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":3},"status":{"phase":"Healthy"}}"#,
    ]);
    assert_output(&out, 0, "rollout.argoproj.io/web patched\n", "");
    let after = kube.get("rollouts", NS, "web").expect("stored");
    assert_eq!(after["spec"]["replicas"], 3);
    assert_eq!(after["status"], paused());
    assert_eq!(after["metadata"]["generation"], 2);
}

#[test]
fn generation_follows_the_api_servers_rules() {
    let Some(kube) = kube() else { return };
    kube.put(rollout("web", paused()));
    let ok = |args: &[&str], stdout: &str| assert_output(&kube.kubectl(args), 0, stdout, "");

    // A JSON patch of the spec: +1.
    ok(
        &[
            "patch",
            "rollout",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
        ],
        "rollout.argoproj.io/web patched\n",
    );
    assert_eq!(generation(&kube, "rollouts", "web"), 2);
    // A JSON patch of the status subresource, and metadata changes: no change.
    ok(
        &[
            "patch",
            "rollout",
            "web",
            "--subresource=status",
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/status/phase","value":"Healthy"}]"#,
        ],
        "rollout.argoproj.io/web patched\n",
    );
    ok(
        &["annotate", "rollout", "web", "note=x"],
        "rollout.argoproj.io/web annotated\n",
    );
    ok(
        &["label", "rollout", "web", "tier=web"],
        "rollout.argoproj.io/web labeled\n",
    );
    assert_eq!(generation(&kube, "rollouts", "web"), 2);
    let stored = kube.get("rollouts", NS, "web").expect("stored");
    assert_eq!(stored["status"]["phase"], "Healthy");
    assert_eq!(stored["metadata"]["annotations"]["note"], "x");
    assert_eq!(stored["metadata"]["resourceVersion"], "5");

    // A Deployment's annotations count as spec (they are copied to its ReplicaSets).
    kube.put(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS}, "spec": {"replicas": 1}}));
    ok(
        &["label", "deployment", "web", "tier=web"],
        "deployment.apps/web labeled\n",
    );
    assert_eq!(generation(&kube, "deployments", "web"), 1);
    ok(
        &["annotate", "deployment", "web", "note=x"],
        "deployment.apps/web annotated\n",
    );
    assert_eq!(generation(&kube, "deployments", "web"), 2);
    // Without --type kubectl sends a strategic merge patch; read as a merge patch.
    ok(
        &[
            "patch",
            "deployment",
            "web",
            "-p",
            r#"{"spec":{"replicas":2}}"#,
        ],
        "deployment.apps/web patched\n",
    );
    assert_eq!(generation(&kube, "deployments", "web"), 3);
    ok(
        &[
            "patch",
            "deployment",
            "web",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"readyReplicas":2}}"#,
        ],
        "deployment.apps/web patched\n",
    );
    assert_eq!(generation(&kube, "deployments", "web"), 3);

    // A ConfigMap has no generation at all.
    kube.put(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": NS}, "data": {"a": "1"}}));
    ok(
        &[
            "patch",
            "configmap",
            "c",
            "--type=merge",
            "-p",
            r#"{"data":{"a":"2"}}"#,
        ],
        "configmap/c patched\n",
    );
    assert_eq!(
        kube.get("configmaps", NS, "c").expect("stored")["metadata"].get("generation"),
        None
    );
}

#[test]
fn custom_resources_refuse_a_strategic_merge_patch() {
    let Some(kube) = kube() else { return };
    kube.put(rollout("web", paused()));
    let out = kube.kubectl(&[
        "patch",
        "rollout",
        "web",
        "-p",
        r#"{"spec":{"replicas":3}}"#,
    ]);
    assert_output(
        &out,
        1,
        "",
        "error: application/strategic-merge-patch+json is not supported by argoproj.io/v1alpha1, Kind=Rollout: the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml\n",
    );
    assert_eq!(kube.count("patch", "rollouts"), 1);
    assert_eq!(generation(&kube, "rollouts", "web"), 1);
}

#[test]
fn annotate_delete_and_create_go_through_the_api() {
    let Some(kube) = kube() else { return };
    kube.put(rollout("web", paused()));
    let out = kube.kubectl(&[
        "annotate",
        "rollout",
        "web",
        "rollout.argoproj.io/revision=5",
        "--overwrite",
    ]);
    assert_output(&out, 0, "rollout.argoproj.io/web annotated\n", "");
    let stored = kube.get("rollouts", NS, "web").expect("stored");
    assert_eq!(
        stored["metadata"]["annotations"]["rollout.argoproj.io/revision"],
        "5"
    );

    let out = kube.kubectl(&["delete", "rollout", "web"]);
    assert_output(&out, 0, "rollout.argoproj.io \"web\" deleted\n", "");
    assert_eq!(kube.get("rollouts", NS, "web"), None);
    let out = kube.kubectl(&["delete", "rollout", "web"]);
    assert_output(
        &out,
        1,
        "",
        "Error from server (NotFound): rollouts.argoproj.io \"web\" not found\n",
    );

    let manifest = kube.dir().join("cm.json");
    std::fs::write(
        &manifest,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings"}, "data": {"a": "1"}})
        .to_string(),
    )
    .expect("write the manifest");
    let path = "cm.json";
    let out = kube.kubectl(&["create", "-f", path]);
    assert_output(&out, 0, "configmap/settings created\n", "");
    assert_eq!(
        kube.get("configmaps", NS, "settings").expect("created")["data"]["a"],
        "1"
    );
    // kubectl's generators for built-in kinds send protobuf, which the fake refuses.
    let out = kube.kubectl(&["create", "configmap", "other", "--from-literal=a=1"]);
    assert_output(
        &out,
        1,
        "",
        "error: failed to create configmap: the body of the request was in an unknown format - accepted media types include: application/json, application/yaml\n",
    );
    let out = kube.kubectl(&["create", "-f", path]);
    assert_output(
        &out,
        1,
        "",
        "Error from server (AlreadyExists): error when creating \"cm.json\": configmaps \"settings\" already exists\n",
    );
}

// ---- RBAC ----

#[test]
fn a_forbidden_get_prints_the_api_servers_message() {
    let Some(kube) = kube() else { return };
    kube.put(rollout("web", paused()));
    kube.set_role(&role(json!([
        {"apiGroups": ["argoproj.io"], "resources": ["rollouts/status"], "verbs": ["get", "patch"]},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
    ])))
    .expect("a Role");
    let out = kube.kubectl(&["get", "rollout", "web", "-o", "jsonpath={.status.phase}"]);
    assert_output(
        &out,
        1,
        "",
        &format!(
            "Error from server (Forbidden): rollouts.argoproj.io \"web\" is forbidden: User \"{USER}\" cannot get resource \"rollouts\" in API group \"argoproj.io\" in the namespace \"shop\"\n"
        ),
    );
    // A list names no object; the core group is "".
    let out = kube.kubectl(&["get", "pods"]);
    assert_output(
        &out,
        1,
        "",
        &format!(
            "Error from server (Forbidden): pods is forbidden: User \"{USER}\" cannot list resource \"pods\" in API group \"\" in the namespace \"shop\"\n"
        ),
    );
    // What the Role grants works.
    let out = kube.kubectl(&["get", "replicasets", "-l", "app=none", "-o", "name"]);
    assert_output(&out, 0, "", "");
    let denied: Vec<_> = kube
        .api_requests()
        .into_iter()
        .filter(|l| !l.allowed)
        .collect();
    assert_eq!(denied.len(), 2, "{denied:#?}");
    assert!(denied.iter().all(|l| l.status == 403));
    assert_eq!(
        (
            denied[0].verb.as_str(),
            denied[0].group.as_str(),
            denied[0].resource.as_str(),
            denied[0].name.as_str()
        ),
        ("get", "argoproj.io", "rollouts", "web")
    );

    // Allowed to get rollouts but not namespaces: kubectl's check of the namespace is
    // denied, and it reports the missing rollout.
    kube.set_role(&role(json!([
        {"apiGroups": ["argoproj.io"], "resources": ["rollouts"], "verbs": ["get"]},
    ])))
    .expect("a Role");
    let out = kube.kubectl(&["get", "rollout", "gone"]);
    assert_output(
        &out,
        1,
        "",
        "Error from server (NotFound): rollouts.argoproj.io \"gone\" not found\n",
    );
    let last = kube.api_requests().pop().expect("a request");
    assert_eq!(
        (last.resource.as_str(), last.name.as_str(), last.status),
        ("namespaces", "shop", 403)
    );
}

#[test]
fn a_forbidden_status_patch_prints_the_subresource() {
    let Some(kube) = kube() else { return };
    kube.put(rollout("web", paused()));
    let patch = [
        "patch",
        "rollout",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"pauseConditions":null}}"#,
    ];
    // Rights on the rollout are no rights on its status.
    kube.set_rules(vec![Rule {
        api_groups: vec!["argoproj.io".into()],
        resources: vec!["rollouts".into()],
        resource_names: vec![],
        verbs: vec!["*".into()],
    }]);
    let out = kube.kubectl(&patch);
    assert_output(
        &out,
        1,
        "",
        &format!(
            "Error from server (Forbidden): rollouts.argoproj.io \"web\" is forbidden: User \"{USER}\" cannot get resource \"rollouts/status\" in API group \"argoproj.io\" in the namespace \"shop\"\n"
        ),
    );
    // kubectl reads the status before patching it: get alone is not enough either.
    kube.set_role(&role(json!([
        {"apiGroups": ["argoproj.io"], "resources": ["rollouts/status"], "verbs": ["get"]},
    ])))
    .expect("a Role");
    let out = kube.kubectl(&patch);
    assert_output(
        &out,
        1,
        "",
        &format!(
            "Error from server (Forbidden): rollouts.argoproj.io \"web\" is forbidden: User \"{USER}\" cannot patch resource \"rollouts/status\" in API group \"argoproj.io\" in the namespace \"shop\"\n"
        ),
    );
    assert_eq!(
        kube.get("rollouts", NS, "web").expect("stored")["status"],
        paused()
    );
    // `*/status` grants every status subresource.
    kube.set_role(&role(json!([
        {"apiGroups": ["argoproj.io"], "resources": ["*/status"], "verbs": ["get", "patch"]},
    ])))
    .expect("a Role");
    assert_output(
        &kube.kubectl(&patch),
        0,
        "rollout.argoproj.io/web patched\n",
        "",
    );
}

#[test]
fn resource_names_rules_cover_a_list_by_field_selector() {
    let Some(kube) = kube() else { return };
    kube.put(rollout("web", paused()));
    kube.put(rollout("api", paused()));
    kube.set_role(&role(json!([
        {"apiGroups": ["argoproj.io"], "resources": ["rollouts"], "resourceNames": ["web"],
         "verbs": ["get", "list"]},
    ])))
    .expect("a Role");
    let get = |args: &[&str]| kube.kubectl(args);
    assert_output(
        &get(&["get", "rollout", "web", "-o", "name"]),
        0,
        "rollout.argoproj.io/web\n",
        "",
    );
    assert_output(
        &get(&[
            "get",
            "rollouts",
            "--field-selector",
            "metadata.name=web",
            "-o",
            "name",
        ]),
        0,
        "rollout.argoproj.io/web\n",
        "",
    );
    assert_output(
        &get(&["get", "rollout", "api", "-o", "name"]),
        1,
        "",
        &format!(
            "Error from server (Forbidden): rollouts.argoproj.io \"api\" is forbidden: User \"{USER}\" cannot get resource \"rollouts\" in API group \"argoproj.io\" in the namespace \"shop\"\n"
        ),
    );
    assert_output(
        &get(&["get", "rollouts", "-o", "name"]),
        1,
        "",
        &format!(
            "Error from server (Forbidden): rollouts.argoproj.io is forbidden: User \"{USER}\" cannot list resource \"rollouts\" in API group \"argoproj.io\" in the namespace \"shop\"\n"
        ),
    );
}

#[test]
fn a_wrong_token_is_unauthorized() {
    let Some(kube) = kube() else { return };
    let out = kube.kubectl(&["get", "rollouts", "--token", "not-the-token"]);
    assert_eq!(out.status, Some(1), "{out:#?}");
    // kubectl's words for a 401 to its discovery request, after five retries.
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.last(),
        Some(
            &"error: You must be logged in to the server (the server has asked for the client to provide credentials)"
        ),
        "{out:#?}"
    );
    assert_eq!(lines.len(), 6, "{out:#?}");
    let answered: Vec<u16> = kube
        .requests()
        .iter()
        .filter(|l| l.path != "/version")
        .map(|l| l.status)
        .collect();
    assert_eq!(answered, [401; 5]);
}

// The generated Jobs run under the generated Role in tests/release_scenarios.rs.

#[test]
fn a_hook_moves_the_rollout_while_a_script_polls() {
    let Some(kube) = kube() else { return };
    kube.put(rollout("web", json!({"phase": "Progressing"})));
    kube.set_hook(|req: &ApiRequest, store: &mut Store| {
        if req.is("get", "rollouts", "web") {
            let n = store
                .get("rollouts", NS, "web")
                .and_then(|r| {
                    r["metadata"]["annotations"]["polls"]
                        .as_str()
                        .map(str::to_string)
                })
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(0)
                + 1;
            store.update("rollouts", NS, "web", |r| {
                r["metadata"]["annotations"]["polls"] = json!(n.to_string());
                if n == 3 {
                    r["status"]["phase"] = json!("Paused");
                }
            });
        }
    });
    kube.fake_sleep(true);
    let script = r#"
        until [ "$(kubectl get rollout "$ROLLOUT" -o jsonpath='{.status.phase}')" = Paused ]; do
          echo waiting; sleep 10
        done
        echo paused"#;
    let out = kube.run_script(script, &[("ROLLOUT", "web")], TIMEOUT);
    assert_output(&out, 0, "waiting\nwaiting\npaused\n", "");
    assert_eq!(kube.sleeps(), ["10", "10"]);
    assert_eq!(kube.count("get", "rollouts"), 3);
}

#[test]
fn kubectl_wait_sees_a_change_through_a_watch() {
    let Some(kube) = kube() else { return };
    kube.put(rollout("web", json!({"phase": "Progressing"})));
    std::thread::scope(|s| {
        s.spawn(|| {
            // Once kubectl watches, the controller pauses the rollout.
            while kube.count("watch", "rollouts") == 0 {
                std::thread::sleep(Duration::from_millis(10));
            }
            kube.merge(
                "rollouts",
                NS,
                "web",
                json!({"status": {"phase": "Paused"}}),
            );
        });
        let out = kube.kubectl(&[
            "wait",
            "rollout/web",
            "--for=jsonpath={.status.phase}=Paused",
            "--timeout=20s",
        ]);
        assert_output(&out, 0, "rollout.argoproj.io/web condition met\n", "");
    });
}

#[test]
fn legacy_discovery_is_enough_for_kubectl() {
    let Some(kube) = kube() else { return };
    kube.set_discovery(Discovery::Legacy);
    kube.put(rollout("web", paused()));
    let out = kube.kubectl(&["get", "ro", "web", "-o", "jsonpath={.status.phase}"]);
    assert_output(&out, 0, "Paused", "");
    let paths: Vec<String> = kube.requests().iter().map(|l| l.path.clone()).collect();
    for p in ["/api", "/apis", "/api/v1", "/apis/argoproj.io/v1alpha1"] {
        assert!(paths.iter().any(|x| x == p), "{p} not in {paths:?}");
    }
}

#[test]
fn the_runner_kills_a_script_and_its_children_at_the_timeout() {
    let Some(kube) = kube() else { return };
    let out = kube.run_script(
        "echo started; sleep 600 & echo $! > sleeper.pid; wait",
        &[],
        Duration::from_millis(500),
    );
    assert!(out.timed_out, "{out:#?}");
    assert_eq!((out.status, out.stdout.as_str()), (None, "started\n"));
    let pid = std::fs::read_to_string(kube.dir().join("sleeper.pid")).expect("the pid");
    let proc = format!("/proc/{}", pid.trim());
    // Killed: gone once init has reaped it.
    let gone = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        std::fs::read_to_string(format!("{proc}/stat")).map_or(true, |s| s.contains(") Z "))
    });
    assert!(gone, "{proc} still runs");
    // A script that ends in time is not a timeout.
    let out = kube.run_script("exit 3", &[], TIMEOUT);
    assert_eq!((out.status, out.timed_out), (Some(3), false));
}

#[test]
fn missing_kubectl_skips_unless_ci() {
    let found = std::path::PathBuf::from("/usr/bin/kubectl");
    assert_eq!(kubectl_decision(Some(found.clone()), true), Ok(Some(found)));
    assert_eq!(kubectl_decision(None, false), Ok(None));
    let err = kubectl_decision(None, true).expect_err("CI must fail");
    assert!(err.starts_with("kubectl not found, and CI=true: "), "{err}");
    assert!(err.contains("`kubectl`"), "{err}");
}

// ---- the parts, without kubectl ----

#[test]
fn label_selectors_parse_like_the_api_server() {
    let obj = json!({"metadata": {"labels": {"app": "web", "hash": "abc"}}});
    let m = |s: &str| labels_match(&parse_labels(s).expect("a selector"), &obj);
    assert!(m("app=web,hash==abc"));
    assert!(m("app in (api, web),tier notin (db)"));
    assert!(m("hash,!tier"));
    assert!(!m("app!=web"));
    assert!(!m("app notin (web)"));
    assert!(m(""));
    assert!(parse_labels("app in web").is_err());
    assert_eq!(
        parse_fields("spec.x=1").expect_err("unsupported"),
        "field label not supported: spec.x"
    );
}

#[test]
fn patches_follow_the_rfcs() {
    let mut doc = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
    merge_patch(
        &mut doc,
        &json!({"a": {"b": null, "c": [3]}, "e": {"f": 1}}),
    );
    assert_eq!(doc, json!({"a": {"c": [3]}, "d": "x", "e": {"f": 1}}));
    let patched = json_patch(
        &doc,
        &json!([
            {"op": "add", "path": "/a/c/-", "value": 4},
            {"op": "add", "path": "/a/c/0", "value": 0},
            {"op": "copy", "from": "/d", "path": "/g~1h"},
            {"op": "move", "from": "/e/f", "path": "/f"},
            {"op": "test", "path": "/f", "value": 1},
            {"op": "remove", "path": "/e"},
            {"op": "replace", "path": "/d", "value": "y"},
        ]),
    )
    .expect("applies");
    assert_eq!(
        patched,
        json!({"a": {"c": [0, 3, 4]}, "d": "y", "g/h": "x", "f": 1})
    );
    // All or nothing.
    assert!(json_patch(&doc, &json!([{"op": "remove", "path": "/nope"}])).is_err());
    assert!(json_patch(&doc, &json!([{"op": "test", "path": "/d", "value": "z"}])).is_err());
}

#[test]
fn requests_are_authorized_as_the_api_server_sees_them() {
    let q = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let r = |m: &str, p: &str, query| ApiRequest::new(m, p, query, "", Vec::new());
    let base = "/apis/argoproj.io/v1alpha1/namespaces/ns/rollouts";
    let cases = [
        (r("GET", &format!("{base}/web"), q(&[])), "get", "web", ""),
        (r("GET", base, q(&[])), "list", "", ""),
        (r("GET", base, q(&[("watch", "1")])), "watch", "", ""),
        (
            r(
                "GET",
                base,
                q(&[("watch", "false"), ("fieldSelector", "metadata.name=web")]),
            ),
            "list",
            "web",
            "",
        ),
        (
            r(
                "GET",
                "/apis/argoproj.io/v1alpha1/watch/namespaces/ns/rollouts",
                q(&[]),
            ),
            "watch",
            "",
            "",
        ),
        (
            r("PATCH", &format!("{base}/web/status"), q(&[])),
            "patch",
            "web",
            "status",
        ),
        (
            r("PUT", &format!("{base}/web"), q(&[])),
            "update",
            "web",
            "",
        ),
        (r("POST", base, q(&[])), "create", "", ""),
        (
            r("DELETE", &format!("{base}/web"), q(&[])),
            "delete",
            "web",
            "",
        ),
        (r("DELETE", base, q(&[])), "deletecollection", "", ""),
    ];
    for (req, verb, name, sub) in &cases {
        assert_eq!(
            (
                req.verb.as_str(),
                req.name.as_str(),
                req.subresource.as_str(),
                req.namespace.as_str(),
                req.resource.as_str()
            ),
            (*verb, *name, *sub, "ns", "rollouts"),
            "{} {} {:?}",
            req.method,
            req.path,
            req.query
        );
    }
    let core = r("GET", "/api/v1/namespaces/ns/pods", q(&[]));
    assert_eq!(
        (core.group.as_str(), core.verb.as_str(), core.is_resource),
        ("", "list", true)
    );
    assert!(!r("GET", "/apis/argoproj.io/v1alpha1", q(&[])).is_resource);

    let a = Attributes {
        user: USER,
        verb: "update",
        group: "",
        resource: "pods",
        subresource: "",
        namespace: "",
        name: "p",
    };
    assert_eq!(
        rbac::forbidden_message(&a),
        format!(
            "pods \"p\" is forbidden: User \"{USER}\" cannot update resource \"pods\" in API group \"\" at the cluster scope"
        )
    );
    let rule = |resources: &[&str], verbs: &[&str]| Rule {
        api_groups: vec!["*".into()],
        resources: resources.iter().map(|s| s.to_string()).collect(),
        resource_names: vec![],
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
    };
    let status = Attributes {
        subresource: "status",
        verb: "patch",
        ..a.clone()
    };
    assert!(rule(&["*"], &["*"]).allows(&status));
    assert!(rule(&["*/status"], &["patch"]).allows(&status));
    assert!(!rule(&["pods"], &["patch"]).allows(&status));
    assert!(!rule(&["pods/*"], &["patch"]).allows(&status));
    assert!(!rule(&["*/status"], &["patch"]).allows(&Attributes {
        subresource: "",
        ..status.clone()
    }));
}

#[test]
fn a_write_that_changes_nothing_keeps_the_resource_version() {
    let mut store = Store::default();
    let stored = store.put(rollout("web", paused()));
    assert_eq!(stored["metadata"]["resourceVersion"], "1");
    assert!(store.merge(
        "rollouts",
        NS,
        "web",
        json!({"status": {"phase": "Paused"}})
    ));
    assert_eq!(store.revision(), 1);
    assert!(store.merge(
        "rollouts",
        NS,
        "web",
        json!({"status": {"phase": "Healthy"}})
    ));
    assert_eq!(
        store.get("rollouts", NS, "web").expect("stored")["metadata"]["resourceVersion"],
        "2"
    );
    assert!(!store.merge("rollouts", NS, "nope", json!({})));
    assert_eq!(
        store
            .delete("ro", NS, "web")
            .map(|o| o["metadata"]["name"].clone()),
        Some(json!("web"))
    );
    assert_eq!(store.revision(), 3);
}
