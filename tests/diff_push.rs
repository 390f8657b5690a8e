//! `kujira-gen diff` and `push` end to end: the real binary against the fake Gate on
//! 127.0.0.1, stdout, stderr and exit status compared exactly.

mod support;

use serde_json::{Value, json};
use support::fake_gate::{Auth, FakeGate, Fault, Target, fixture};
use support::test::Test;

/// The sample example against `gate`, with retries fast enough for tests.
fn against(gate: &FakeGate) -> Test {
    Test::new()
        .example("sample")
        .env("KUJIRA_GATE_ENDPOINT", &gate.url)
        .env("KUJIRA_GATE_BACKOFF", "0.005")
        .env("KUJIRA_GATE_RETRY_BUDGET", "3")
        .env("KUJIRA_GATE_TIMEOUT", "5")
}

const PLAN_CREATE: &str = "\
+ create application sample
+ create sample/release
Applications: 1 to create, 0 to update.
Plan: 1 to create, 0 to update, 0 unchanged, 0 to prune.
";

const IN_SYNC: &str = "\
= unchanged sample/release
Plan: 0 to create, 0 to update, 1 unchanged, 0 to prune.
";

/// Pushes the sample so that the fake holds it; returns the stored pipeline.
fn pushed(gate: &FakeGate) -> serde_json::Map<String, Value> {
    against(gate)
        .args(["push", "sample"])
        .stdout(&format!(
            "{PLAN_CREATE}created application sample\ncreated sample/release\nPushed: 1 created, 0 updated, 0 unchanged, 0 pruned, 0 failed.\n"
        ))
        .run();
    gate.pipeline("sample", "release").expect("stored")
}

// ---------------------------------------------------------------- diff

#[test]
fn diff_against_an_empty_gate_plans_everything() {
    let gate = FakeGate::start();
    against(&gate)
        .args(["diff", "--summary", "sample"])
        .stdout(PLAN_CREATE)
        .status(3)
        .run();
    assert_eq!(gate.writes(), 0);
}

#[test]
fn diff_reads_one_pipeline_list_per_application() {
    let gate = FakeGate::start();
    Test::new()
        .example("sample")
        .example("pubsub")
        .example("manual-judgment")
        .env("KUJIRA_GATE_ENDPOINT", &gate.url)
        .args(["diff", "--summary", "sample", "pubsub", "manual-judgment"])
        .status(3)
        .output();
    let lists: Vec<String> = gate
        .log()
        .into_iter()
        .filter(|l| l.path.ends_with("/pipelineConfigs"))
        .map(|l| l.path)
        .collect();
    assert_eq!(lists.len(), 3, "{lists:?}");
    assert_eq!(
        gate.count("GET", "/applications"),
        6,
        "one list + one application read each"
    );
    assert_eq!(gate.log().len(), 6, "and nothing else");
}

#[test]
fn after_a_push_diff_reports_no_differences() {
    let gate = FakeGate::start();
    pushed(&gate);
    against(&gate)
        .args(["diff", "sample"])
        .stdout(IN_SYNC)
        .run();
    against(&gate)
        .args(["diff", "--summary", "sample"])
        .stdout(IN_SYNC)
        .run();
}

#[test]
fn diff_ignores_server_fields_and_key_order() {
    let gate = FakeGate::start();
    let stored = pushed(&gate);
    // Re-store it under another id, with every server-managed field and the keys reversed.
    let mut reversed = serde_json::Map::new();
    for (k, v) in stored.iter().rev() {
        reversed.insert(k.clone(), v.clone());
    }
    reversed.insert("id".into(), json!("5f0c-front50-uuid"));
    reversed.insert("createTs".into(), json!("1"));
    reversed.insert("index".into(), json!(7));
    gate.edit_pipeline("sample", "release", |p| *p = reversed.clone());
    against(&gate)
        .args(["diff", "sample"])
        .stdout(IN_SYNC)
        .run();
}

#[test]
fn diff_shows_an_edit_made_in_spinnaker_as_a_unified_diff() {
    let gate = FakeGate::start();
    pushed(&gate);
    gate.edit_pipeline("sample", "release", |p| {
        p.insert("keepWaitingPipelines".into(), json!(true));
    });
    against(&gate)
        .args(["diff", "sample"])
        .stdout(
            "\
! conflict sample/release: was changed in Spinnaker since kujira-gen wrote it; --force overwrites the changes
--- sample/release (Spinnaker)
+++ sample/release (sample/value.json)
@@ -14,7 +14,7 @@
       \"usePriorArtifact\": false
     }
   ],
-  \"keepWaitingPipelines\": true,
+  \"keepWaitingPipelines\": false,
   \"limitConcurrent\": true,
   \"locked\": {
     \"allowUnlockUi\": false,
Plan: 0 to create, 0 to update, 0 unchanged, 0 to prune, 1 conflict.
",
        )
        .status(3)
        .run();
}

#[test]
fn diff_colours_only_when_asked_and_never_with_no_color() {
    let gate = FakeGate::start();
    let out = against(&gate)
        .env("CLICOLOR_FORCE", "1")
        .args(["diff", "--summary", "sample"])
        .status(3)
        .output();
    assert!(
        out.stdout
            .contains("\u{1b}[32m+ create sample/release\u{1b}[0m"),
        "{:?}",
        out.stdout
    );
    against(&gate)
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .args(["diff", "--summary", "sample"])
        .stdout(PLAN_CREATE)
        .status(3)
        .run();
}

#[test]
fn diff_without_paths_is_a_usage_error() {
    let out = Test::new().args(["diff"]).status(2).output();
    assert!(out.stderr.contains("<PATH>..."), "{}", out.stderr);
}

#[test]
fn diff_without_an_endpoint_says_where_to_set_one() {
    let t = Test::new().example("sample");
    let home = t.path().to_path_buf();
    t.args(["diff", "sample"])
        .stderr(&format!(
            "kujira-gen: error: no Gate endpoint: pass --gate URL, set KUJIRA_GATE_ENDPOINT, or set gate.endpoint in {}\n",
            home.join(".spin/config").display()
        ))
        .status(1)
        .run();
}

#[test]
fn the_endpoint_comes_from_the_spin_config_with_vars_expanded() {
    let gate = FakeGate::start();
    Test::new()
        .example("sample")
        .write(
            ".spin/config",
            "gate:\n  endpoint: http://127.0.0.1:${GATE_PORT}\n",
        )
        .env("GATE_PORT", &gate.port().to_string())
        .args(["diff", "--summary", "sample"])
        .stdout(PLAN_CREATE)
        .status(3)
        .run();
}

// ---------------------------------------------------------------- push

#[test]
fn push_creates_the_application_first_then_the_pipeline() {
    let gate = FakeGate::start();
    gate.task_polls(2);
    let stored = pushed(&gate);
    let calls: Vec<String> = gate
        .log()
        .iter()
        .map(|l| format!("{} {} {}", l.method, l.path, l.status))
        .collect();
    assert_eq!(
        calls,
        vec![
            "GET /applications/sample 404",
            "GET /applications/sample/pipelineConfigs 200",
            "POST /tasks 200",
            "GET /tasks/01FAKETASK000001 200",
            "GET /tasks/01FAKETASK000001 200",
            "GET /tasks/01FAKETASK000001 200",
            "POST /pipelines 200",
            // The read-back: is what was written there?
            "GET /applications/sample/pipelineConfigs 200",
        ]
    );
    let app = gate.application("sample").unwrap();
    assert_eq!(app["email"], "team-sample@example.com");
    assert_eq!(
        stored["id"],
        json!(kujira_gen::marker::pipeline_id("sample", "release"))
    );
    assert_eq!(stored["kujiraGen"]["source"], "sample/value.json");
    assert!(!kujira_gen::marker::has_drifted(&stored));
}

#[test]
fn a_push_with_nothing_to_change_makes_no_write_calls() {
    let gate = FakeGate::start();
    pushed(&gate);
    let writes = gate.writes();
    against(&gate)
        .args(["push", "sample"])
        .stdout(&format!(
            "{IN_SYNC}Nothing to write: Spinnaker already matches.\n"
        ))
        .run();
    assert_eq!(gate.writes(), writes);
}

#[test]
fn the_application_is_updated_only_when_its_attributes_differ() {
    let gate = FakeGate::start();
    pushed(&gate);
    gate.add_application(json!({"name": "sample", "email": "old@example.com",
        "cloudProviders": "kubernetes", "repoSlug": "sample", "repoType": "github",
        "description": "Pipelines generated by kujira-gen from sample/value.json"}));
    against(&gate)
        .args(["push", "sample"])
        .stdout(
            "\
~ update application sample (email)
= unchanged sample/release
Applications: 0 to create, 1 to update.
Plan: 0 to create, 0 to update, 1 unchanged, 0 to prune.
updated application sample
Pushed: 0 created, 0 updated, 1 unchanged, 0 pruned, 0 failed.
",
        )
        .run();
    assert_eq!(
        gate.application("sample").unwrap()["email"],
        "team-sample@example.com"
    );
    assert_eq!(gate.count("POST", "/tasks"), 2);
    assert_eq!(gate.count("POST", "/pipelines"), 1);
}

#[test]
fn a_failed_application_task_stops_its_pipelines() {
    let gate = FakeGate::start();
    gate.fail_next_task("Application name is invalid");
    against(&gate)
        .args(["push", "sample"])
        .stdout(&format!(
            "{PLAN_CREATE}failed application sample: Create Application: sample: task 01FAKETASK000001 ended TERMINAL: Application name is invalid
failed sample/release: not written: application sample could not be created
Pushed: 0 created, 0 updated, 0 unchanged, 0 pruned, 1 failed.
1 application could not be created or updated.
"
        ))
        .status(1)
        .run();
    assert_eq!(gate.count("POST", "/pipelines"), 0);
}

#[test]
fn an_existing_pipeline_of_the_same_name_keeps_its_id() {
    let gate = FakeGate::start();
    pushed(&gate);
    // Someone saved it earlier under a name that differs in case, with a Front50 id.
    let mut stored = gate.pipeline("sample", "release").unwrap();
    stored.insert("id".into(), json!("1b6d5a0e-front50"));
    stored.insert("name".into(), json!("Release"));
    kujira_gen::marker::stamp(&mut stored, "sample/value.json");
    gate.edit_pipeline("sample", "release", |p| *p = stored.clone());
    against(&gate)
        .args(["push", "sample"])
        .stdout(
            "\
~ update sample/release: renames \"Release\" to \"release\"
Plan: 0 to create, 1 to update, 0 unchanged, 0 to prune.
updated sample/release
Pushed: 0 created, 1 updated, 0 unchanged, 0 pruned, 0 failed.
",
        )
        .run();
    let all = gate.pipelines("sample");
    assert_eq!(all.len(), 1, "never a duplicate");
    assert_eq!(all[0]["id"], "1b6d5a0e-front50");
    assert_eq!(all[0]["name"], "release");
    against(&gate)
        .args(["diff", "sample"])
        .stdout(IN_SYNC)
        .run();
}

#[test]
fn a_pipeline_kujira_gen_did_not_create_is_overwritten_only_with_adopt() {
    let gate = FakeGate::start();
    gate.add_application(json!({"name": "sample", "email": "team-sample@example.com",
        "cloudProviders": "kubernetes", "repoSlug": "sample", "repoType": "github",
        "description": "Pipelines generated by kujira-gen from sample/value.json"}));
    let fixture_pipeline: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("gate/get-pipelineConfig.json")).unwrap(),
    )
    .unwrap();
    let mut hand_made = fixture_pipeline.clone();
    hand_made["application"] = json!("sample");
    hand_made["name"] = json!("RELEASE");
    gate.add_pipeline(hand_made);
    against(&gate)
        .args(["push", "sample"])
        .stdout(
            "\
! conflict sample/release: exists in Spinnaker but was not created by kujira-gen; --adopt takes it over
Plan: 0 to create, 0 to update, 0 unchanged, 0 to prune, 1 conflict.
failed sample/release: exists in Spinnaker but was not created by kujira-gen; --adopt takes it over
Pushed: 0 created, 0 updated, 0 unchanged, 0 pruned, 1 failed.
",
        )
        .status(1)
        .run();
    assert_eq!(gate.writes(), 0);
    assert_eq!(
        gate.pipeline("sample", "release").unwrap()["stages"][0]["type"],
        "wait"
    );

    against(&gate)
        .args(["push", "--adopt", "sample"])
        .stdout(
            "\
~ update sample/release: renames \"RELEASE\" to \"release\"; takes over a pipeline not created by kujira-gen (--adopt)
Plan: 0 to create, 1 to update, 0 unchanged, 0 to prune.
updated sample/release
Pushed: 0 created, 1 updated, 0 unchanged, 0 pruned, 0 failed.
",
        )
        .run();
    let all = gate.pipelines("sample");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["id"], "pipeline_one", "the existing id is kept");
    against(&gate)
        .args(["diff", "sample"])
        .stdout(IN_SYNC)
        .run();
}

#[test]
fn drift_is_reported_and_overwritten_only_with_force() {
    let gate = FakeGate::start();
    pushed(&gate);
    gate.edit_pipeline("sample", "release", |p| {
        p.insert("description".into(), json!("edited in Deck"));
    });
    let conflict = "! conflict sample/release: was changed in Spinnaker since kujira-gen wrote it; --force overwrites the changes\n";
    against(&gate)
        .args(["push", "sample"])
        .stdout(&format!(
            "{conflict}Plan: 0 to create, 0 to update, 0 unchanged, 0 to prune, 1 conflict.
failed sample/release: was changed in Spinnaker since kujira-gen wrote it; --force overwrites the changes
Pushed: 0 created, 0 updated, 0 unchanged, 0 pruned, 1 failed.
"
        ))
        .status(1)
        .run();
    assert_eq!(
        gate.pipeline("sample", "release").unwrap()["description"],
        "edited in Deck"
    );
    against(&gate)
        .args(["push", "--force", "sample"])
        .stdout(
            "\
~ update sample/release: overwrites changes made in Spinnaker (--force)
Plan: 0 to create, 1 to update, 0 unchanged, 0 to prune.
updated sample/release
Pushed: 0 created, 1 updated, 0 unchanged, 0 pruned, 0 failed.
",
        )
        .run();
    against(&gate)
        .args(["diff", "sample"])
        .stdout(IN_SYNC)
        .run();
}

#[test]
fn prune_deletes_only_generated_pipelines_that_are_no_longer_declared() {
    let gate = FakeGate::start();
    pushed(&gate);
    let mut old = gate.pipeline("sample", "release").unwrap();
    old.remove("id");
    old.insert("name".into(), json!("release-v1"));
    kujira_gen::marker::stamp(&mut old, "sample/value.json");
    gate.add_pipeline(Value::Object(old));
    gate.add_pipeline(json!({"application": "sample", "name": "hand-made", "stages": []}));

    against(&gate)
        .args(["diff", "--summary", "sample"])
        .stdout(&format!(
            "{IN_SYNC}Note: 1 generated pipeline is no longer declared: sample/release-v1 (--prune deletes it).\n"
        ))
        .run();
    let plan = "\
= unchanged sample/release
- prune sample/release-v1: generated from sample/value.json, no longer declared
Plan: 0 to create, 0 to update, 1 unchanged, 1 to prune.
";
    against(&gate)
        .args(["diff", "--summary", "--prune", "sample"])
        .stdout(plan)
        .status(3)
        .run();
    against(&gate)
        .args(["push", "--prune", "sample"])
        .stdout(&format!(
            "{plan}pruned sample/release-v1\nPushed: 0 created, 0 updated, 1 unchanged, 1 pruned, 0 failed.\n"
        ))
        .run();
    let names: Vec<Value> = gate
        .pipelines("sample")
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("release"), json!("hand-made")]);
    against(&gate)
        .args(["diff", "--summary", "--prune", "sample"])
        .stdout(IN_SYNC)
        .run();
}

/// `diff --undeclared` lists what a removed team left behind: generated pipelines of an
/// application no value file given declares; not hand-made ones, not declared ones; with
/// one request more (Gate's whole pipeline list).
#[test]
fn undeclared_lists_generated_pipelines_of_applications_nothing_declares() {
    let gate = FakeGate::start();
    let stored = pushed(&gate);
    let mut left = stored.clone();
    left.remove("id");
    left.insert("application".into(), json!("checkout"));
    kujira_gen::marker::stamp(&mut left, "teams/checkout/value.json");
    gate.add_pipeline(Value::Object(left.clone()));
    left.insert("name".into(), json!("rollback"));
    gate.add_pipeline(Value::Object(left));
    gate.add_pipeline(json!({"application": "billing", "name": "hand-made", "stages": []}));
    let listed = "2 generated pipelines of applications the value files do not declare (push leaves them; delete them in Spinnaker when their team is gone):\n  checkout/release (from teams/checkout/value.json)\n  checkout/rollback (from teams/checkout/value.json)\n";
    against(&gate)
        .args(["diff", "--summary", "--undeclared", "sample"])
        .stdout(&format!("{IN_SYNC}{listed}"))
        .run();
    assert_eq!(gate.count("GET", "/pipelineConfigs"), 1);
    let out = against(&gate)
        .args(["diff", "--undeclared", "--format", "json", "sample"])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        doc["undeclared"],
        json!([
            {"application": "checkout", "pipeline": "release", "source": "teams/checkout/value.json"},
            {"application": "checkout", "pipeline": "rollback", "source": "teams/checkout/value.json"}
        ])
    );
    let out = against(&gate)
        .args(["diff", "--undeclared", "--format", "markdown", "sample"])
        .output();
    assert!(
        out.stdout.contains("Generated for applications the value files do not declare (push leaves them): `checkout/release`, `checkout/rollback`."),
        "{}",
        out.stdout
    );
    // Without the flag: not looked for, not in the document.
    let out = against(&gate)
        .args(["diff", "--format", "json", "sample"])
        .output();
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc.get("undeclared"), None);
    // Nothing left behind: said so.
    let gate = FakeGate::start();
    pushed(&gate);
    against(&gate)
        .args(["diff", "--summary", "--undeclared", "sample"])
        .stdout(&format!(
            "{IN_SYNC}No generated pipelines of applications the value files do not declare.\n"
        ))
        .run();
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let gate = FakeGate::start();
    against(&gate)
        .args(["push", "--dry-run", "sample"])
        .stdout(&format!("{PLAN_CREATE}Dry run: nothing was written.\n"))
        .run();
    assert_eq!(gate.writes(), 0);
    assert!(gate.pipelines("sample").is_empty());
}

#[test]
fn every_example_pushes_and_then_diffs_clean() {
    let gate = FakeGate::start();
    let names = ["manual-judgment", "pubsub", "sample", "scenario-test"];
    let mut t = Test::new();
    for n in names {
        t = t.example(n);
    }
    let out = t
        .env("KUJIRA_GATE_ENDPOINT", &gate.url)
        .args([
            "push",
            "--parallel",
            "2",
            "manual-judgment",
            "pubsub",
            "sample",
            "scenario-test",
        ])
        .output();
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .ends_with("Pushed: 4 created, 0 updated, 0 unchanged, 0 pruned, 0 failed.\n"),
        "{}",
        out.stdout
    );
    let mut t = Test::new();
    for n in names {
        t = t.example(n);
    }
    let out = t
        .env("KUJIRA_GATE_ENDPOINT", &gate.url)
        .args([
            "diff",
            "manual-judgment",
            "pubsub",
            "sample",
            "scenario-test",
        ])
        .status(0)
        .output();
    assert!(
        out.stdout
            .ends_with("Plan: 0 to create, 0 to update, 4 unchanged, 0 to prune.\n"),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------- faults

/// Saves the sample with `fault` on the first save, and checks that exactly one pipeline
/// exists afterwards and that diff is clean.
fn push_through(fault: Fault, times: usize, gate: &FakeGate) -> String {
    gate.inject(Target::Save, fault, times);
    let out = against(gate).args(["push", "sample"]).output();
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.ends_with("created sample/release\nPushed: 1 created, 0 updated, 0 unchanged, 0 pruned, 0 failed.\n"),
        "{}",
        out.stdout
    );
    assert_eq!(gate.pipelines("sample").len(), 1, "nothing duplicated");
    against(gate).args(["diff", "sample"]).stdout(IN_SYNC).run();
    out.stderr
}

#[test]
fn a_save_that_answers_400_did_not_succeed_but_lands_is_not_sent_again() {
    let gate = FakeGate::start();
    let stderr = push_through(Fault::SaveTimeout { lands: true }, 1, &gate);
    assert_eq!(
        stderr,
        "kujira-gen: note: sample/release: POST /pipelines: 400 Bad Request: Pipeline save operation did not succeed: 01FAKETASK000003 (status: RUNNING); read back: the save landed\n"
    );
    assert_eq!(gate.count("POST", "/pipelines"), 1, "re-read found it");
    assert_eq!(
        gate.count("GET", "/applications/sample/pipelineConfigs/release"),
        1
    );
}

#[test]
fn a_save_that_answers_400_did_not_succeed_and_did_not_land_is_sent_again() {
    let gate = FakeGate::start();
    push_through(Fault::SaveTimeout { lands: false }, 2, &gate);
    assert_eq!(gate.count("POST", "/pipelines"), 3);
}

#[test]
fn an_old_gate_answering_200_empty_for_a_missing_pipeline_is_understood() {
    let gate = FakeGate::start();
    gate.legacy_empty_200(true);
    push_through(Fault::SaveTimeout { lands: false }, 1, &gate);
    assert_eq!(gate.count("POST", "/pipelines"), 2);
}

#[test]
fn a_connection_dropped_after_the_save_landed_is_not_a_duplicate() {
    let gate = FakeGate::start();
    let stderr = push_through(Fault::DropAfter, 1, &gate);
    assert_eq!(gate.count("POST", "/pipelines"), 1);
    assert_eq!(
        stderr,
        "kujira-gen: note: sample/release: POST /pipelines: the connection closed before a complete answer; read back: the save landed\n"
    );
}

#[test]
fn a_connection_dropped_before_the_save_is_retried() {
    let gate = FakeGate::start();
    push_through(Fault::Drop, 2, &gate);
    assert_eq!(gate.count("POST", "/pipelines"), 3);
}

#[test]
fn server_errors_and_rate_limits_are_retried() {
    let gate = FakeGate::start();
    gate.inject(Target::List, Fault::Status(503), 2);
    gate.inject(Target::GetApplication, Fault::TooMany(Some(0)), 1);
    gate.inject(Target::Task, Fault::Status(502), 1);
    push_through(Fault::StatusAfter(500), 1, &gate);
    assert_eq!(
        gate.count("POST", "/pipelines"),
        1,
        "the 500 landed; the re-read saw it"
    );
    assert_eq!(gate.count("POST", "/tasks"), 2);
}

#[test]
fn a_slow_save_is_abandoned_after_the_request_timeout_and_never_duplicated() {
    let gate = FakeGate::start();
    gate.inject(
        Target::Save,
        Fault::Delay(std::time::Duration::from_millis(1500)),
        1,
    );
    let out = against(&gate)
        .env("KUJIRA_GATE_TIMEOUT", "0.3")
        .args(["push", "sample"])
        .output();
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("POST /pipelines: no complete answer within 300ms"),
        "{}",
        out.stderr
    );
    // The client has exited, so every save it sent is logged or still being handled:
    // wait for the slow one to finish too, then look again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while gate.saves_in_flight() > 0 {
        assert!(std::time::Instant::now() < deadline, "{:?}", gate.log());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(gate.count("POST", "/pipelines") >= 2, "{:?}", gate.log());
    assert_eq!(gate.pipelines("sample").len(), 1);
    against(&gate)
        .args(["diff", "sample"])
        .stdout(IN_SYNC)
        .run();
}

#[test]
fn a_save_that_keeps_failing_is_reported_within_the_budget() {
    let gate = FakeGate::start();
    gate.inject(Target::Save, Fault::Status(503), 1000);
    let out = against(&gate)
        .env("KUJIRA_GATE_RETRY_BUDGET", "0.2")
        .args(["push", "sample"])
        .status(1)
        .output();
    assert!(
        out.stdout.contains("failed sample/release: POST /pipelines: 503 Service Unavailable: Service Unavailable (gave up after "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .ends_with("Pushed: 0 created, 0 updated, 0 unchanged, 0 pruned, 1 failed.\n"),
        "{}",
        out.stdout
    );
    assert!(gate.pipelines("sample").is_empty());
}

#[test]
fn a_proxy_html_page_is_reported_with_its_status_and_an_excerpt() {
    let gate = FakeGate::start();
    gate.inject(Target::List, Fault::Html(502), 1000);
    let out = against(&gate)
        .env("KUJIRA_GATE_RETRY_BUDGET", "0.05")
        .args(["diff", "sample"])
        .status(1)
        .output();
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("kujira-gen: error: GET /applications/sample/pipelineConfigs: 502 Bad Gateway: 502 Bad Gateway 502 Bad Gateway nginx (gave up after "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.starts_with("kujira-gen: note: GET /applications/sample/pipelineConfigs: 502 Bad Gateway: 502 Bad Gateway 502 Bad Gateway nginx; retrying in 5ms\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_unreachable_gate_is_a_clear_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = Test::new()
        .example("sample")
        .env("KUJIRA_GATE_ENDPOINT", &format!("http://127.0.0.1:{port}"))
        .env("KUJIRA_GATE_BACKOFF", "0.005")
        .env("KUJIRA_GATE_RETRY_BUDGET", "0.05")
        .args(["diff", "sample"])
        .status(1)
        .output();
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "kujira-gen: error: cannot reach Gate at http://127.0.0.1:{port}: connection refused (gave up after "
        )),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------- authentication

fn assert_secret_free(out: &support::test::Output, secret: &str) {
    assert!(
        !out.stdout.contains(secret),
        "secret in stdout: {}",
        out.stdout
    );
    assert!(
        !out.stderr.contains(secret),
        "secret in stderr: {}",
        out.stderr
    );
}

#[test]
fn basic_auth_from_the_spin_config() {
    let gate = FakeGate::start_with(Auth::Basic {
        user: "ci-bot".into(),
        password: "s3cret-pw".into(),
    });
    let config =
        "auth:\n  enabled: true\n  basic:\n    username: ci-bot\n    password: ${GATE_PASSWORD}\n";
    against(&gate)
        .write(".spin/config", config)
        .env("GATE_PASSWORD", "s3cret-pw")
        .args(["diff", "--summary", "sample"])
        .stdout(PLAN_CREATE)
        .status(3)
        .run();

    let t = against(&gate)
        .write(".spin/config", config)
        .env("GATE_PASSWORD", "wrong-pw");
    let config_path = t.path().join(".spin/config");
    let out = t
        .args(["diff", "sample"])
        .stderr(&format!(
            "kujira-gen: error: GET /applications/sample: 401 Unauthorized: Gate did not accept HTTP basic auth as `ci-bot` (auth.basic in {}) (Gate says: Full authentication is required to access this resource)\n",
            config_path.display()
        ))
        .status(1)
        .run();
    assert_secret_free(&out, "wrong-pw");
}

#[test]
fn credentials_ignored_without_auth_enabled_are_pointed_out() {
    let gate = FakeGate::start_with(Auth::Basic {
        user: "ci-bot".into(),
        password: "pw".into(),
    });
    let t = against(&gate).write(
        ".spin/config",
        "auth:\n  basic:\n    username: ci-bot\n    password: pw\n",
    );
    let path = t.path().join(".spin/config");
    t.args(["diff", "sample"])
        .stderr(&format!(
            "kujira-gen: error: GET /applications/sample: 401 Unauthorized: Gate requires credentials and none were given (set them in the auth section of the spin config, or KUJIRA_GATE_TOKEN; auth.basic in {} is ignored because auth.enabled is not true) (Gate says: Full authentication is required to access this resource)\n",
            path.display()
        ))
        .status(1)
        .run();
}

#[test]
fn bearer_token_from_the_environment() {
    let gate = FakeGate::start_with(Auth::Bearer("tok-123".into()));
    against(&gate)
        .env("KUJIRA_GATE_TOKEN", "tok-123")
        .args(["diff", "--summary", "sample"])
        .stdout(PLAN_CREATE)
        .status(3)
        .run();
    let out = against(&gate)
        .env("KUJIRA_GATE_TOKEN", "tok-wrong")
        .args(["push", "sample"])
        .stderr("kujira-gen: error: GET /applications/sample: 401 Unauthorized: Gate did not accept a bearer token (KUJIRA_GATE_TOKEN) (Gate says: Full authentication is required to access this resource)\n")
        .status(1)
        .run();
    assert_secret_free(&out, "tok-wrong");
}

#[test]
fn oauth2_cached_token_and_api_token_from_the_spin_config() {
    let gate = FakeGate::start_with(Auth::Bearer("cached".into()));
    against(&gate)
        .write(
            ".spin/config",
            "auth:\n  enabled: true\n  oauth2:\n    cachedToken:\n      access_token: cached\n      token_type: bearer\n",
        )
        .args(["diff", "--summary", "sample"])
        .stdout(PLAN_CREATE)
        .status(3)
        .run();
    gate.set_auth(Auth::ApiToken("api-tok".into()));
    against(&gate)
        .write(
            ".spin/config",
            "auth:\n  enabled: true\n  apiToken:\n    token: api-tok\n",
        )
        .args(["push", "sample"])
        .status(0)
        .output();
    assert_eq!(gate.pipelines("sample").len(), 1);
}

#[test]
fn ldap_logs_in_once_and_uses_the_session_cookie() {
    let gate = FakeGate::start_with(Auth::Ldap {
        user: "ci".into(),
        password: "p@ss word".into(),
    });
    let config = |pw: &str| {
        format!("auth:\n  enabled: true\n  ldap:\n    username: ci\n    password: '{pw}'\n")
    };
    pushed_with(
        &gate,
        against(&gate).write(".spin/config", config("p@ss word")),
    );
    assert_eq!(gate.count("POST", "/login"), 1);

    let t = against(&gate).write(".spin/config", config("bad pw"));
    let path = t.path().join(".spin/config");
    let out = t
        .args(["diff", "sample"])
        .stderr(&format!(
            "kujira-gen: error: POST /login: 401 Unauthorized: Gate did not accept an LDAP login as `ci` (auth.ldap in {}) (Gate says: the LDAP login was refused)\n",
            path.display()
        ))
        .status(1)
        .run();
    assert_secret_free(&out, "bad pw");
    assert_secret_free(&out, "bad+pw");
}

fn pushed_with(gate: &FakeGate, t: Test) {
    let out = t.args(["push", "sample"]).output();
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(gate.pipelines("sample").len(), 1);
}

#[test]
fn a_redirect_to_a_login_page_is_explained() {
    let gate = FakeGate::start_with(Auth::LoginRedirect);
    against(&gate)
        .args(["diff", "sample"])
        .stderr("kujira-gen: error: GET /applications/sample: Gate redirected to a login page (https://login.example.com/oauth2/authorize?client_id=gate&state=xyz) instead of answering: it needs credentials for API calls and none were given (set them in the auth section of the spin config, or KUJIRA_GATE_TOKEN)\n")
        .status(1)
        .run();
}

#[test]
fn extra_headers_are_sent_with_every_request() {
    let gate = FakeGate::start();
    gate.require_header("X-Proxy-Key", "k-42");
    let out = against(&gate)
        .args(["diff", "--summary", "sample"])
        .status(1)
        .output();
    assert_eq!(
        out.stderr,
        "kujira-gen: error: GET /applications/sample: 403 Forbidden: not allowed without credentials (Gate says: Forbidden)\n"
    );
    against(&gate)
        .args([
            "diff",
            "--summary",
            "--header",
            "X-Proxy-Key=k-42",
            "sample",
        ])
        .stdout(PLAN_CREATE)
        .status(3)
        .run();
    assert!(gate.seen_headers().last().unwrap()["user-agent"].starts_with("kujira-gen/"));
}

#[test]
fn x509_client_certificates_over_tls() {
    let gate = FakeGate::start_tls(Auth::ClientCert);
    let ca = fixture("tls/ca.pem");
    let config = format!(
        "auth:\n  enabled: true\n  x509:\n    certPath: {}\n    keyPath: {}\n",
        fixture("tls/client.pem").display(),
        fixture("tls/client.key").display()
    );
    against(&gate)
        .write(".spin/config", &config)
        .args([
            "diff",
            "--summary",
            "--ca-cert",
            ca.to_str().unwrap(),
            "sample",
        ])
        .stdout(PLAN_CREATE)
        .status(3)
        .run();
    // Inline PEM works the same.
    let inline = format!(
        "auth:\n  enabled: true\n  x509:\n    cert: |\n{}    key: |\n{}",
        indent(&std::fs::read_to_string(fixture("tls/client.pem")).unwrap()),
        indent(&std::fs::read_to_string(fixture("tls/client.key")).unwrap()),
    );
    against(&gate)
        .write(".spin/config", &inline)
        .args([
            "diff",
            "--summary",
            "--ca-cert",
            ca.to_str().unwrap(),
            "sample",
        ])
        .stdout(PLAN_CREATE)
        .status(3)
        .run();
    // Without the certificate.
    against(&gate)
        .args(["diff", "--summary", "--ca-cert", ca.to_str().unwrap(), "sample"])
        .stderr("kujira-gen: error: GET /applications/sample: 401 Unauthorized: Gate requires credentials and none were given (set them in the auth section of the spin config, or KUJIRA_GATE_TOKEN) (Gate says: Full authentication is required to access this resource)\n")
        .status(1)
        .run();
}

fn indent(pem: &str) -> String {
    pem.lines().map(|l| format!("      {l}\n")).collect()
}

#[test]
fn tls_verification_is_on_unless_insecure() {
    let gate = FakeGate::start_tls(Auth::None);
    let out = against(&gate)
        .args(["diff", "--summary", "sample"])
        .status(1)
        .output();
    assert_eq!(
        out.stderr,
        format!(
            "kujira-gen: error: TLS connection to Gate at {} failed: invalid peer certificate: UnknownIssuer (--ca-cert PATH trusts a private CA; --insecure skips verification)\n",
            gate.url
        )
    );
    against(&gate)
        .args(["diff", "--summary", "--insecure", "sample"])
        .stdout(PLAN_CREATE)
        .status(3)
        .run();
    against(&gate)
        .write(".spin/config", "auth:\n  ignoreCertErrors: true\n")
        .args(["diff", "--summary", "sample"])
        .stdout(PLAN_CREATE)
        .status(3)
        .run();
}

/// Not a test: prints push and diff times for 40 applications with 100 ms per save, by
/// `--parallel`. `cargo test --test diff_push measure -- --ignored --nocapture`
#[test]
#[ignore]
fn measure_push_and_diff_times() {
    let sample =
        std::fs::read_to_string(support::test::project_dir().join("examples/sample/value.json"))
            .unwrap();
    let team = |t: Test, i: usize| {
        t.write(
            &format!("teams/app{i:02}/value.json"),
            sample.replace("\"sample\"", &format!("\"app{i:02}\"")),
        )
    };
    for parallel in ["1", "4", "8"] {
        let gate = FakeGate::start();
        gate.task_polls(0);
        gate.inject(
            Target::Save,
            Fault::Delay(std::time::Duration::from_millis(100)),
            1000,
        );
        let mut t = Test::new();
        for i in 0..40 {
            t = team(t, i);
        }
        let started = std::time::Instant::now();
        let out = t
            .env("KUJIRA_GATE_ENDPOINT", &gate.url)
            .args(["push", "--parallel", parallel, "teams"])
            .output();
        let push = started.elapsed();
        assert_eq!(out.status, 0, "{}", out.stderr);
        let mut t = Test::new();
        for i in 0..40 {
            t = team(t, i);
        }
        let started = std::time::Instant::now();
        let out = t
            .env("KUJIRA_GATE_ENDPOINT", &gate.url)
            .args(["diff", "teams"])
            .output();
        assert_eq!(out.status, 0, "{}", out.stderr);
        eprintln!(
            "40 apps, 100 ms per save: push --parallel {parallel}: {:.2?}; diff afterwards: {:.2?}; max saves in flight {}",
            push,
            started.elapsed(),
            gate.max_concurrent_saves()
        );
    }
}

// ---------------------------------------------------------------- issue 11: never lose,
// never hang, never claim a false success

/// The stored sample pipeline with another id and `name`: a copy of it (duplicated by an
/// older tool or by hand), the marker copied along.
fn copy_of(stored: &serde_json::Map<String, Value>, id: &str, name: &str) -> Value {
    let mut copy = stored.clone();
    copy.insert("id".into(), json!(id));
    copy.insert("name".into(), json!(name));
    Value::Object(copy)
}

fn ids(gate: &FakeGate) -> Vec<String> {
    gate.pipelines("sample")
        .iter()
        .map(|p| p["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn prune_never_deletes_a_declared_pipeline_that_has_a_copy_of_the_same_name() {
    let gate = FakeGate::start();
    let stored = pushed(&gate);
    let declared = stored["id"].as_str().unwrap().to_string();
    gate.add_pipeline(copy_of(&stored, "c0ffee00-copy", "release"));
    let writes = gate.writes();
    let conflict = format!(
        "sample/release (id c0ffee00-copy): a copy of the declared pipeline (id {declared}) under its name; Gate saves and deletes by name and could hit either: delete this copy in Spinnaker, or push --force to delete it safely (renamed first)"
    );
    against(&gate)
        .args(["push", "--prune", "sample"])
        .stdout(&format!(
            "= unchanged sample/release\n! conflict {conflict}\nPlan: 0 to create, 0 to update, 1 unchanged, 0 to prune, 1 conflict.\nfailed {conflict}\nPushed: 0 created, 0 updated, 1 unchanged, 0 pruned, 1 failed.\n"
        ))
        .status(1)
        .run();
    assert_eq!(ids(&gate), vec![declared, "c0ffee00-copy".to_string()]);
    assert_eq!(gate.writes(), writes, "nothing written");
}

#[test]
fn force_deletes_a_copy_whose_name_differs_only_in_case_without_touching_the_declared_one() {
    let gate = FakeGate::start();
    let stored = pushed(&gate);
    let declared = stored["id"].as_str().unwrap().to_string();
    // Gate's list has the copy after the declared pipeline: a delete of "Release" by name
    // would remove the declared one.
    gate.add_pipeline(copy_of(&stored, "c0ffee00-copy", "Release"));
    against(&gate)
        .args(["push", "--prune", "--force", "sample"])
        .stdout(&format!(
            "\
= unchanged sample/release
- prune sample/Release (id c0ffee00-copy): a copy of sample/release (id {declared}); renamed first, then deleted by its new name, which cannot reach {declared} (--force)
Plan: 0 to create, 0 to update, 1 unchanged, 1 to prune.
pruned sample/Release (id c0ffee00-copy)
Pushed: 0 created, 0 updated, 1 unchanged, 1 pruned, 0 failed.
"
        ))
        .run();
    assert_eq!(ids(&gate), vec![declared]);
    let renamed = "Release (copy c0ffee00-copy, deleted by kujira-gen)";
    assert_eq!(
        gate.count(
            "DELETE",
            &format!(
                "/pipelines/sample/{}",
                renamed
                    .replace(' ', "%20")
                    .replace(',', "%2C")
                    .replace('(', "%28")
                    .replace(')', "%29")
            )
        ),
        1,
        "{:?}",
        gate.log()
    );
    against(&gate)
        .args(["diff", "--prune", "sample"])
        .stdout(IN_SYNC)
        .run();
}

#[test]
fn a_pipeline_of_a_declared_name_that_kujira_gen_did_not_create_is_never_deleted() {
    let gate = FakeGate::start();
    let stored = pushed(&gate);
    let declared = stored["id"].as_str().unwrap().to_string();
    gate.add_pipeline(json!({"application": "sample", "name": "RELEASE", "id": "h4nd-made"}));
    let out = against(&gate)
        .args(["push", "--prune", "--force", "sample"])
        .status(1)
        .output();
    assert!(
        out.stdout.contains(&format!("! conflict sample/RELEASE (id h4nd-made): has the name of the declared pipeline (id {declared}) but was not created by kujira-gen")),
        "{}",
        out.stdout
    );
    assert_eq!(ids(&gate), vec![declared, "h4nd-made".to_string()]);
}

#[test]
fn a_login_page_answering_200_to_a_save_is_not_a_success() {
    let gate = FakeGate::start();
    gate.inject(Target::Save, Fault::LoginPage(200), 1000);
    against(&gate)
        .args(["push", "sample"])
        .stdout(&format!(
            "{PLAN_CREATE}created application sample
failed sample/release: POST /pipelines: unexpected answer (200 OK): not Gate's answer: a login page (a single-sign-on proxy in front of Gate?): Sign in - Example SSO Sign in; read back: the pipeline was not saved
Pushed: 0 created, 0 updated, 0 unchanged, 0 pruned, 1 failed.
"
        ))
        .status(1)
        .run();
    assert!(gate.pipelines("sample").is_empty());
    assert_eq!(
        gate.count("POST", "/pipelines"),
        1,
        "the same proxy would answer again"
    );
}

#[test]
fn a_login_page_answering_a_save_that_landed_is_checked_by_reading_back() {
    let gate = FakeGate::start();
    pushed(&gate);
    gate.edit_pipeline("sample", "release", |p| {
        p.insert("description".into(), json!("an older push"));
        kujira_gen::marker::stamp(p, "sample/value.json");
    });
    // The proxy answers with its page, but the save went through to Gate.
    gate.inject(Target::Save, Fault::LoginPageAfter(201), 1);
    against(&gate)
        .args(["push", "sample"])
        .stdout("~ update sample/release\nPlan: 0 to create, 1 to update, 0 unchanged, 0 to prune.\nupdated sample/release\nPushed: 0 created, 1 updated, 0 unchanged, 0 pruned, 0 failed.\n")
        .stderr("kujira-gen: note: sample/release: POST /pipelines: unexpected answer (201 Created): not Gate's answer: a login page (a single-sign-on proxy in front of Gate?): Sign in - Example SSO Sign in; read back: the save landed\n")
        .run();
}

#[test]
fn an_empty_application_answer_is_an_error_and_nothing_is_written() {
    let gate = FakeGate::start();
    gate.inject(
        Target::GetApplication,
        Fault::Body {
            status: 200,
            content_type: "application/json".into(),
            body: String::new(),
        },
        1000,
    );
    against(&gate)
        .args(["push", "sample"])
        .stderr("kujira-gen: error: GET /applications/sample: unexpected answer (200 OK): empty body where JSON was expected\n")
        .status(1)
        .run();
    assert_eq!(gate.writes(), 0);
}

#[test]
fn application_attributes_that_are_not_an_object_are_an_error_and_nothing_is_written() {
    let gate = FakeGate::start();
    pushed(&gate);
    let writes = gate.writes();
    gate.inject(
        Target::GetApplication,
        Fault::Body {
            status: 200,
            content_type: "application/json".into(),
            body: r#"{"name": "sample", "attributes": "email=team-sample@example.com"}"#.into(),
        },
        1000,
    );
    against(&gate)
        .args(["push", "sample"])
        .stderr("kujira-gen: error: GET /applications/sample: unexpected answer (200 OK): `attributes` is not an object\n")
        .status(1)
        .run();
    assert_eq!(gate.writes(), writes);
}

#[test]
fn a_task_status_that_is_not_an_object_ends_the_wait() {
    let gate = FakeGate::start();
    gate.inject(
        Target::TaskStatus,
        Fault::Body {
            status: 200,
            content_type: "application/json".into(),
            body: "\"RUNNING\"".into(),
        },
        1_000_000,
    );
    against(&gate)
        .args(["push", "sample"])
        .stdout(&format!(
            "{PLAN_CREATE}failed application sample: Create Application: sample: task 01FAKETASK000001: GET /tasks/01FAKETASK000001: unexpected answer (200 OK): expected a task object with a status
failed sample/release: not written: application sample could not be created
Pushed: 0 created, 0 updated, 0 unchanged, 0 pruned, 1 failed.
1 application could not be created or updated.
"
        ))
        .status(1)
        .run();
    assert_eq!(gate.count("GET", "/tasks/"), 1);
}

#[test]
fn the_retry_budget_bounds_the_wait_for_an_application_task() {
    let gate = FakeGate::start();
    gate.task_polls(1_000_000);
    let out = against(&gate)
        .env("KUJIRA_GATE_RETRY_BUDGET", "0.3")
        .args(["push", "sample"])
        .status(1)
        .output();
    // Before, the wait was 5 minutes whatever the budget.
    assert!(
        out.stdout.contains("failed application sample: Create Application: sample: task 01FAKETASK000001 is still RUNNING after "),
        "{}",
        out.stdout
    );
}

#[test]
fn credentials_echoed_percent_encoded_in_a_redirect_are_masked() {
    // base64("ci+bot:p@ss/w0rd?~") has '+', '/' and '=': every encoding differs.
    let gate = FakeGate::start_with(Auth::Basic {
        user: "ci+bot".into(),
        password: "p@ss/w0rd?~".into(),
    });
    gate.inject(Target::GetApplication, Fault::RedirectEchoingCredentials, 1);
    let t = against(&gate).write(
        ".spin/config",
        "auth:\n  enabled: true\n  basic:\n    username: ci+bot\n    password: p@ss/w0rd?~\n",
    );
    let config = t.path().join(".spin/config");
    let out = t
        .args(["diff", "sample"])
        .stderr(&format!("kujira-gen: error: GET /applications/sample: Gate redirected to a login page (https://sso.example.com/login?state=Basic%20***&next=%2Fgate) instead of answering: it does not accept HTTP basic auth as `ci+bot` (auth.basic in {}) for API calls (Gate needs an API authentication method such as basic, x509, OAuth bearer tokens or LDAP)\n", config.display()))
        .status(1)
        .run();
    for secret in [
        "p@ss/w0rd?~",
        "p%40ss%2Fw0rd%3F~",
        "Y2krYm90OnBAc3MvdzByZD9+",
        "Y2krYm90OnBAc3MvdzByZD9%2B",
        "Y2krYm90OnBAc3MvdzByZD9",
    ] {
        assert_secret_free(&out, secret);
    }
}

/// Issue 19, 6: a proxy that percent-encodes the token but leaves `/` as it is.
#[test]
fn a_token_echoed_with_some_characters_left_unencoded_is_masked() {
    let token = "tok-4a1b/9f8e+7d==";
    let gate = FakeGate::start_with(Auth::Bearer(token.into()));
    gate.inject(
        Target::GetApplication,
        Fault::RedirectEchoingCredentialsKeeping("/".into()),
        1,
    );
    let out = against(&gate)
        .env("KUJIRA_GATE_TOKEN", token)
        .args(["diff", "sample"])
        .stderr("kujira-gen: error: GET /applications/sample: Gate redirected to a login page (https://sso.example.com/login?state=Bearer%20***&next=%2Fgate) instead of answering: it does not accept a bearer token (KUJIRA_GATE_TOKEN) for API calls (Gate needs an API authentication method such as basic, x509, OAuth bearer tokens or LDAP)\n")
        .status(1)
        .run();
    for secret in [token, "tok-4a1b/9f8e%2B7d%3D%3D", "9f8e%2B7d", "tok-4a1b"] {
        assert_secret_free(&out, secret);
    }
}

#[test]
fn a_pipeline_another_writer_changed_right_after_the_save_is_not_reported_as_updated() {
    let gate = FakeGate::start();
    pushed(&gate);
    // Another version is being pushed at the same time and lands just after ours.
    gate.edit_pipeline("sample", "release", |p| {
        p.insert("description".into(), json!("an older push"));
        kujira_gen::marker::stamp(p, "sample/value.json");
    });
    gate.inject(
        Target::Save,
        Fault::OtherWriterAfter {
            key: "keepWaitingPipelines".into(),
            value: json!(true),
        },
        1,
    );
    against(&gate)
        .args(["push", "sample"])
        .stdout("~ update sample/release
Plan: 0 to create, 1 to update, 0 unchanged, 0 to prune.
failed sample/release: was written, but Spinnaker holds another version when read back (last changed by other-writer@example.com, updateTs 1700000000005): another writer saved it meanwhile (a concurrent push?); run kujira-gen diff
Pushed: 0 created, 0 updated, 0 unchanged, 0 pruned, 1 failed.
")
        .status(1)
        .run();
}

// ---------------------------------------------------------------- reading at scale

/// `n` teams like the sample, applications `app00`, `app01`...
fn teams(gate: &FakeGate, n: usize) -> Test {
    let sample =
        std::fs::read_to_string(support::test::project_dir().join("examples/sample/value.json"))
            .unwrap();
    let mut t = Test::new()
        .env("KUJIRA_GATE_ENDPOINT", &gate.url)
        .env("KUJIRA_GATE_BACKOFF", "0.005")
        .env("KUJIRA_GATE_RETRY_BUDGET", "3");
    for i in 0..n {
        t = t.write(
            &format!("teams/app{i:02}/value.json"),
            sample.replace("\"sample\"", &format!("\"app{i:02}\"")),
        );
    }
    t
}

fn kinds(gate: &FakeGate) -> Vec<(String, usize)> {
    gate.requests_by_kind().into_iter().collect()
}

fn n_unchanged(n: usize) -> String {
    let mut s: String = (0..n)
        .map(|i| format!("= unchanged app{i:02}/release\n"))
        .collect();
    s.push_str(&format!(
        "Plan: 0 to create, 0 to update, {n} unchanged, 0 to prune.\n"
    ));
    s
}

#[test]
fn many_applications_are_read_with_two_bulk_requests() {
    let gate = FakeGate::start();
    gate.app_cache_interval(std::time::Duration::ZERO);
    let out = teams(&gate, 6).args(["push", "teams"]).output();
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    let before = gate.log().len();
    teams(&gate, 6)
        .args(["diff", "--summary", "teams"])
        .stdout(&n_unchanged(6))
        .run();
    let after: Vec<String> = gate.log()[before..]
        .iter()
        .map(|l| format!("{} {}", l.method, l.path))
        .collect();
    assert_eq!(after, vec!["GET /applications", "GET /pipelineConfigs"]);
}

#[test]
fn an_application_missing_from_gates_cached_list_is_read_before_anything_is_created() {
    let gate = FakeGate::start();
    // Gate's list lags: the applications created by this push are not in it yet.
    gate.app_cache_interval(std::time::Duration::from_secs(3600));
    let out = teams(&gate, 6).args(["push", "teams"]).output();
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    let before = gate.requests_by_kind();
    teams(&gate, 6)
        .args(["push", "teams"])
        .stdout(&format!(
            "{}Nothing to write: Spinnaker already matches.\n",
            n_unchanged(6)
        ))
        .run();
    let mut after = gate.requests_by_kind();
    for (k, n) in before {
        *after.entry(k).or_default() -= n;
    }
    after.retain(|_, n| *n > 0);
    assert_eq!(
        after.into_iter().collect::<Vec<_>>(),
        vec![
            ("GET /applications".to_string(), 1),
            ("GET /applications/{app}".to_string(), 6),
            ("GET /pipelineConfigs".to_string(), 1),
        ]
    );
    assert_eq!(
        gate.count("POST", "/tasks"),
        6,
        "each application created once"
    );
}

#[test]
fn a_bulk_answer_over_the_limit_falls_back_to_per_application_reads() {
    let gate = FakeGate::start();
    gate.app_cache_interval(std::time::Duration::ZERO);
    let out = teams(&gate, 6).args(["push", "teams"]).output();
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    // Another team's pipeline of 2 MiB.
    gate.add_pipeline(json!({"application": "other", "name": "big",
        "description": "x".repeat(2 * 1024 * 1024)}));
    let before = gate.log().len();
    teams(&gate, 6)
        .env("KUJIRA_GATE_BULK_LIMIT", "1")
        .args(["diff", "--summary", "teams"])
        .stdout(&n_unchanged(6))
        .stderr("kujira-gen: note: GET /pipelineConfigs: the answer is larger than 1 MiB, more than kujira-gen reads; reading each application's pipelines instead\n")
        .run();
    let lists = gate.log()[before..]
        .iter()
        .filter(|l| l.path.ends_with("/pipelineConfigs") && l.path.starts_with("/applications/"))
        .count();
    assert_eq!(lists, 6);
}

#[test]
fn on_a_large_shared_spinnaker_the_bulk_pipeline_list_is_not_read() {
    let gate = FakeGate::start();
    gate.app_cache_interval(std::time::Duration::ZERO);
    let out = teams(&gate, 6).args(["push", "teams"]).output();
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    // 60 other teams' applications: most of GET /pipelineConfigs would be thrown away.
    for i in 0..60 {
        gate.add_application(json!({"name": format!("other{i}"), "email": "o@example.com"}));
    }
    let before = gate.requests_by_kind();
    teams(&gate, 6)
        .args(["diff", "--summary", "teams"])
        .stdout(&n_unchanged(6))
        .run();
    let mut after = gate.requests_by_kind();
    for (k, n) in before {
        *after.entry(k).or_default() -= n;
    }
    after.retain(|_, n| *n > 0);
    assert_eq!(
        after.into_iter().collect::<Vec<_>>(),
        vec![
            ("GET /applications".to_string(), 1),
            ("GET /applications/{app}/pipelineConfigs".to_string(), 6),
        ]
    );
}

#[test]
fn on_a_large_shared_spinnaker_the_read_back_reads_per_application_too() {
    let gate = FakeGate::start();
    for i in 0..60 {
        gate.add_application(json!({"name": format!("other{i}"), "email": "o@example.com"}));
    }
    let out = teams(&gate, 6).args(["push", "teams"]).output();
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        gate.count("GET", "/pipelineConfigs"),
        0,
        "{:?}",
        gate.requests_by_kind()
    );
    assert_eq!(
        gate.count("GET", "/applications/app00/pipelineConfigs"),
        2,
        "the plan's read and the read-back"
    );
}

#[test]
fn a_push_that_cannot_read_back_what_it_wrote_says_so_and_fails() {
    let gate = FakeGate::start();
    // The plan's read passes; the read-back after the save fails.
    gate.inject_after(1, Target::List, Fault::Status(503), 1000);
    let out = against(&gate)
        .env("KUJIRA_GATE_RETRY_BUDGET", "0.1")
        .args(["push", "sample"])
        .status(1)
        .output();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        &lines[..6],
        &[
            "+ create application sample",
            "+ create sample/release",
            "Applications: 1 to create, 0 to update.",
            "Plan: 1 to create, 0 to update, 0 unchanged, 0 to prune.",
            "created application sample",
            "created sample/release",
        ],
        "{}",
        out.stdout
    );
    assert!(
        lines[7].starts_with("not verified: the pipelines written could not be read back, so whether they are as pushed is unknown: GET /applications/sample/pipelineConfigs: 503 Service Unavailable: Service Unavailable (gave up after "),
        "{}",
        out.stdout
    );
    assert_eq!(gate.pipelines("sample").len(), 1);
}

#[test]
fn reads_follow_parallel() {
    let gate = FakeGate::start();
    gate.gather_gets(8);
    teams(&gate, 16)
        .env("KUJIRA_GATE_BULK_LIMIT", "0")
        .args(["diff", "--summary", "--parallel", "8", "teams"])
        .status(3)
        .output();
    assert_eq!(gate.max_concurrent_gets(), 8);
    assert_eq!(
        kinds(&gate),
        vec![
            ("GET /applications/{app}".to_string(), 16),
            ("GET /applications/{app}/pipelineConfigs".to_string(), 16),
        ]
    );
}

// ---------------------------------------------------------------- machine output

#[test]
fn diff_json_gives_action_reason_and_changed_paths() {
    let gate = FakeGate::start();
    let stored = pushed(&gate);
    gate.edit_pipeline("sample", "release", |p| {
        p.insert("keepWaitingPipelines".into(), json!(true));
    });
    let out = against(&gate)
        .args(["diff", "--format", "json", "sample"])
        .status(3)
        .output();
    assert_eq!(out.stderr, "");
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        doc,
        json!({
            "version": 1,
            "command": "diff",
            "gate": gate.url,
            "inSync": false,
            "summary": {
                "applications": {"create": 0, "update": 0},
                "pipelines": {"create": 0, "update": 0, "unchanged": 0, "prune": 0, "conflict": 1},
            },
            "applications": [{"application": "sample", "action": "unchanged",
                "reason": "as declared", "changedPaths": []}],
            "pipelines": [{
                "application": "sample", "pipeline": "release",
                "id": stored["id"], "remoteId": stored["id"],
                "source": "sample/value.json",
                "action": "conflict", "conflict": "drifted",
                "reason": "was changed in Spinnaker since kujira-gen wrote it; --force overwrites the changes",
                "notes": [], "others": [],
                "changedPaths": ["/keepWaitingPipelines"],
            }],
            "orphans": [],
            "unreadable": [],
        })
    );
}

#[test]
fn push_json_gives_each_result() {
    let gate = FakeGate::start();
    let out = against(&gate)
        .args(["push", "--dry-run", "--format", "json", "sample"])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    let dry: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (&dry["dryRun"], &dry["pushed"], &dry["inSync"]),
        (&json!(true), &Value::Null, &json!(false))
    );
    assert_eq!(dry["pipelines"][0]["action"], "create");
    assert_eq!(dry["pipelines"][0].get("result"), None);
    assert_eq!(gate.writes(), 0);
    let out = against(&gate)
        .args(["push", "--format", "json", "sample"])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let id = kujira_gen::marker::pipeline_id("sample", "release");
    assert_eq!(doc["inSync"], json!(true));
    assert_eq!(doc["dryRun"], json!(false));
    assert_eq!(
        doc["pushed"],
        json!({"created": 1, "updated": 0, "unchanged": 0, "pruned": 0, "failed": 0,
            "applicationsFailed": 0})
    );
    assert_eq!(
        doc["applications"],
        json!([{"application": "sample", "action": "create", "reason": "not in Spinnaker",
            "changedPaths": [""], "result": "created", "error": null}])
    );
    assert_eq!(
        doc["pipelines"],
        json!([{"application": "sample", "pipeline": "release", "id": id, "remoteId": null,
            "source": "sample/value.json", "action": "create", "conflict": null,
            "reason": "not in Spinnaker", "notes": [], "others": [], "changedPaths": [""],
            "result": "created", "error": null}])
    );
    assert_eq!(doc["unverified"], Value::Null);
}

#[test]
fn diff_markdown_is_a_pull_request_comment() {
    let gate = FakeGate::start();
    pushed(&gate);
    gate.edit_pipeline("sample", "release", |p| {
        p.insert("keepWaitingPipelines".into(), json!(true));
    });
    against(&gate)
        .args(["diff", "--format", "markdown", "sample"])
        .stdout(
            "\
### kujira-gen diff

**0 to create, 0 to update, 0 to prune, 1 conflict**; 0 unchanged.

| | pipeline | change | value file |
|---|---|---|---|
| ! | `sample/release` | conflict: was changed in Spinnaker since kujira-gen wrote it; --force overwrites the changes | `sample/value.json` |

<details>
<summary><code>sample/release</code>: conflict (+1 −1)</summary>

```diff
--- sample/release (Spinnaker)
+++ sample/release (sample/value.json)
@@ -14,7 +14,7 @@
       \"usePriorArtifact\": false
     }
   ],
-  \"keepWaitingPipelines\": true,
+  \"keepWaitingPipelines\": false,
   \"limitConcurrent\": true,
   \"locked\": {
     \"allowUnlockUi\": false,
```

</details>
",
        )
        .status(3)
        .run();
    against(&gate)
        .args(["diff", "--format", "markdown", "--summary", "sample"])
        .stdout(
            "\
### kujira-gen diff

**0 to create, 0 to update, 0 to prune, 1 conflict**; 0 unchanged.

| | pipeline | change | value file |
|---|---|---|---|
| ! | `sample/release` | conflict: was changed in Spinnaker since kujira-gen wrote it; --force overwrites the changes | `sample/value.json` |
",
        )
        .status(3)
        .run();
}

// ---------------------------------------------------------------- environments

/// The two-environment example against `gate`.
fn two_environments(gate: &FakeGate) -> Test {
    Test::new()
        .example("two-environments")
        .env("KUJIRA_GATE_ENDPOINT", &gate.url)
        .env("KUJIRA_GATE_BACKOFF", "0.005")
        .env("KUJIRA_GATE_RETRY_BUDGET", "3")
        .env("KUJIRA_GATE_TIMEOUT", "5")
}

/// Removing an environment and pushing with `--prune` deletes that environment's
/// pipeline and nothing else.
#[test]
fn pruning_a_removed_environment_deletes_only_its_pipeline() {
    let gate = FakeGate::start();
    two_environments(&gate)
        .args(["push", "--yes", "two-environments"])
        .output();
    let names = |gate: &FakeGate| {
        let mut n: Vec<String> = gate
            .pipelines("shop")
            .iter()
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(&gate), ["release-production", "release-staging"]);
    let staging_id = gate.pipeline("shop", "release-staging").unwrap()["id"].clone();
    let value = std::fs::read_to_string(
        support::test::project_dir().join("examples/two-environments/value.json"),
    )
    .unwrap();
    let mut v: Value = serde_json::from_str(&value).unwrap();
    v["Environments"].as_array_mut().unwrap().truncate(1);
    let out = two_environments(&gate)
        .write(
            "two-environments/value.json",
            serde_json::to_string_pretty(&v).unwrap(),
        )
        .args(["push", "--yes", "--prune", "two-environments"])
        .output();
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("- prune shop/release-production"),
        "{}",
        out.stdout
    );
    assert_eq!(names(&gate), ["release-staging"]);
    assert_eq!(
        gate.pipeline("shop", "release-staging").unwrap()["id"],
        staging_id
    );
}

/// A staging pipeline that existed before kujira-gen (another id, adopted) keeps its id,
/// and production's pipeline trigger names that id, not the one kujira-gen would give it.
#[test]
fn the_next_environment_triggers_on_the_id_the_previous_pipeline_really_has() {
    let gate = FakeGate::start();
    gate.add_application(json!({"name": "shop", "email": "shop-team@example.com"}));
    gate.add_pipeline(json!({"application": "shop", "name": "release-staging", "id": "made-by-hand", "stages": []}));
    let out = two_environments(&gate)
        .args(["push", "--yes", "--adopt", "two-environments"])
        .output();
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    let staging = gate.pipeline("shop", "release-staging").unwrap();
    assert_eq!(staging["id"], "made-by-hand");
    let production = gate.pipeline("shop", "release-production").unwrap();
    assert_eq!(production["triggers"][0]["type"], "pipeline");
    assert_eq!(production["triggers"][0]["pipeline"], "made-by-hand");
    // What was saved is what the marker says: the next diff finds both in sync.
    two_environments(&gate)
        .args(["diff", "--summary", "two-environments"])
        .stdout("= unchanged shop/release-staging\n= unchanged shop/release-production\nPlan: 0 to create, 0 to update, 2 unchanged, 0 to prune.\n")
        .run();
}

/// Issue 19, 5: `KUJIRA_GATE_ANSWER_LIMIT` bounds (and raises) the answer read.
#[test]
fn the_answer_limit_is_a_setting() {
    let gate = FakeGate::start();
    gate.add_pipeline(json!({"application": "sample", "name": "made-in-deck",
        "description": "x".repeat(1536 * 1024), "stages": []}));
    against(&gate)
        .env("KUJIRA_GATE_ANSWER_LIMIT", "1")
        .args(["diff", "--summary", "sample"])
        .stdout("! cannot read application sample: GET /applications/sample/pipelineConfigs: the answer is larger than 1 MiB, more than kujira-gen reads (KUJIRA_GATE_ANSWER_LIMIT, in MiB, raises the limit); nothing of application sample is compared or written\nPlan: 0 to create, 0 to update, 0 unchanged, 0 to prune.\n")
        .status(1)
        .run();
    against(&gate)
        .env("KUJIRA_GATE_ANSWER_LIMIT", "2")
        .args(["diff", "--summary", "sample"])
        .stdout(PLAN_CREATE)
        .status(3)
        .run();
}
