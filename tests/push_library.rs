//! `plan::run` and `plan::apply` against the fake Gate, with bundles built in the test:
//! many pipelines, bounded parallelism, mixed faults, and races between the plan and the
//! writes.

mod support;

use kujira_gen::bundle::Bundle;
use kujira_gen::gate::config::Settings;
use kujira_gen::gate::{Client, RetryPolicy};
use kujira_gen::plan::apply::{Outcome, apply};
use kujira_gen::plan::planner::{Action, Flags, plan};
use kujira_gen::plan::read::ReadOptions;
use kujira_gen::plan::run::{self, DiffOptions, PushOptions, Status, declared, fetch_remote};
use kujira_gen::term::Palette;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::fake_gate::{FakeGate, Fault, Target};

fn bundle(app: &str, pipelines: usize) -> Bundle {
    let ps: Vec<_> = (0..pipelines)
        .map(|i| {
            json!({"name": format!("pipeline-{i:02}"), "application": app,
                "stages": [{"refId": "1", "type": "wait", "waitTime": i}]})
        })
        .collect();
    let mut b = Bundle::from_rendered(
        &format!("teams/{app}/value.json"),
        json!({"application": {"name": app, "email": "t@example.com", "cloudProviders": "kubernetes"},
            "pipelines": ps}),
    )
    .unwrap();
    b.finalize();
    b
}

fn client(gate: &FakeGate) -> Client {
    Client::connect(&Settings::plain(&gate.url), RetryPolicy::fast()).unwrap()
}

fn reads(parallel: usize) -> ReadOptions {
    ReadOptions {
        parallel,
        ..ReadOptions::default()
    }
}

fn push(client: &Client, bundles: &[Bundle], parallel: usize) -> (Status, String) {
    let mut out = Vec::new();
    let status = run::push(
        client,
        bundles.to_vec(),
        &PushOptions {
            read: reads(parallel),
            ..PushOptions::default()
        },
        &mut out,
        &Palette::default(),
        &mut |_| Ok(true),
        &mut |_, _| {},
    )
    .unwrap();
    (status, String::from_utf8(out).unwrap())
}

fn in_sync(client: &Client, bundles: &[Bundle]) -> bool {
    let mut out = Vec::new();
    let status = run::diff(
        client,
        bundles.to_vec(),
        &DiffOptions {
            summary_only: true,
            prune: true,
            ..DiffOptions::default()
        },
        &mut out,
        &Palette::default(),
    )
    .unwrap();
    status == Status::InSync
}

#[test]
fn writes_are_parallel_but_bounded() {
    let gate = FakeGate::start();
    gate.inject(Target::Save, Fault::Delay(Duration::from_millis(30)), 1000);
    let bundles = [bundle("many", 12)];
    let c = client(&gate);
    let mut seen = Vec::new();
    let mut out = Vec::new();
    let status = run::push(
        &c,
        bundles.to_vec(),
        &PushOptions {
            read: reads(3),
            ..PushOptions::default()
        },
        &mut out,
        &Palette::default(),
        &mut |_| Ok(true),
        &mut |done, total| seen.push((done, total)),
    )
    .unwrap();
    assert_eq!(status, Status::InSync);
    assert!(
        gate.max_concurrent_saves() <= 3,
        "{}",
        gate.max_concurrent_saves()
    );
    assert_eq!(seen, (1..=12).map(|d| (d, 12)).collect::<Vec<_>>());
    assert_eq!(gate.pipelines("many").len(), 12);

    // Results are reported in plan order, whatever order the writes finished in.
    let text = String::from_utf8(out).unwrap();
    let created: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("created many/"))
        .collect();
    let expected: Vec<String> = (0..12)
        .map(|i| format!("created many/pipeline-{i:02}"))
        .collect();
    assert_eq!(created, expected);
    assert!(in_sync(&c, &bundles));
}

#[test]
fn one_writer_means_one_save_at_a_time() {
    let gate = FakeGate::start();
    gate.inject(Target::Save, Fault::Delay(Duration::from_millis(5)), 1000);
    let bundles = [bundle("serial", 5)];
    let (status, _) = push(&client(&gate), &bundles, 1);
    assert_eq!(status, Status::InSync);
    assert_eq!(gate.max_concurrent_saves(), 1);
}

#[test]
fn nothing_is_lost_or_duplicated_under_mixed_faults() {
    let gate = FakeGate::start();
    for (fault, times) in [
        (Fault::Drop, 3),
        (Fault::DropAfter, 3),
        (Fault::SaveTimeout { lands: true }, 2),
        (Fault::SaveTimeout { lands: false }, 2),
        (Fault::Status(503), 2),
        (Fault::StatusAfter(502), 2),
        (Fault::TooMany(None), 2),
    ] {
        gate.inject(Target::Save, fault, times);
    }
    gate.inject(Target::GetOne, Fault::Status(500), 2);
    gate.inject(Target::List, Fault::Drop, 1);
    let bundles = [bundle("alpha", 20), bundle("beta", 6)];
    let c = client(&gate);
    let (status, out) = push(&c, &bundles, 4);
    assert_eq!(status, Status::InSync, "{out}");
    assert!(
        out.ends_with("Pushed: 26 created, 0 updated, 0 unchanged, 0 pruned, 0 failed.\n"),
        "{out}"
    );
    for (app, n) in [("alpha", 20), ("beta", 6)] {
        let stored = gate.pipelines(app);
        assert_eq!(stored.len(), n, "{app}");
        let mut names: Vec<String> = stored
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "no duplicate names in {app}");
    }
    assert!(in_sync(&c, &bundles));
}

#[test]
fn a_pipeline_created_by_someone_else_after_the_plan_is_not_overwritten() {
    let gate = FakeGate::start();
    let bundles = [bundle("race", 2)];
    let c = client(&gate);
    let apps = declared(bundles.to_vec()).unwrap();
    let remote = fetch_remote(&c, &apps, &reads(2)).unwrap();
    let p = plan(apps, remote, Flags::default());
    assert_eq!(p.steps[0].action, Action::Create);
    // Someone creates a pipeline of the same name in the UI meanwhile.
    gate.add_pipeline(json!({"application": "race", "name": "Pipeline-00", "stages": []}));
    let report = apply(&c, &p, &reads(2), &mut |_, _| {});
    assert_eq!(report.apps, vec![Ok(())]);
    assert_eq!(
        report.steps,
        vec![
            Outcome::Failed("POST /pipelines: 400 Bad Request: A pipeline with name pipeline-00 already exists in application race (another pipeline with this name appeared after the plan was made; run again)".into()),
            Outcome::Created,
        ]
    );
    let hand_made = gate.pipeline("race", "pipeline-00").unwrap();
    assert_eq!(hand_made["name"], "Pipeline-00", "left alone");
    assert_eq!(gate.pipelines("race").len(), 2);
}

#[test]
fn a_prune_whose_answer_was_lost_is_confirmed_by_reading_back() {
    let gate = FakeGate::start();
    let c = client(&gate);
    let (status, _) = push(&c, &[bundle("p", 3)], 2);
    assert_eq!(status, Status::InSync);
    gate.inject(Target::Delete, Fault::DropAfter, 1);
    gate.inject(Target::Delete, Fault::Status(503), 1);
    let smaller = [bundle("p", 1)];
    let mut out = Vec::new();
    let status = run::push(
        &c,
        smaller.to_vec(),
        &PushOptions {
            flags: Flags {
                prune: true,
                ..Flags::default()
            },
            read: reads(1),
            ..PushOptions::default()
        },
        &mut out,
        &Palette::default(),
        &mut |_| Ok(true),
        &mut |_, _| {},
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(status, Status::InSync, "{out}");
    assert_eq!(
        out,
        "\
= unchanged p/pipeline-00
- prune p/pipeline-01: generated from teams/p/value.json, no longer declared
- prune p/pipeline-02: generated from teams/p/value.json, no longer declared
Plan: 0 to create, 0 to update, 1 unchanged, 2 to prune.
pruned p/pipeline-01
pruned p/pipeline-02
Pushed: 0 created, 0 updated, 1 unchanged, 2 pruned, 0 failed.
"
    );
    assert_eq!(gate.pipelines("p").len(), 1);
    assert!(in_sync(&c, &smaller));
}

#[test]
fn a_prune_never_deletes_a_pipeline_that_lost_its_marker_meanwhile() {
    let gate = FakeGate::start();
    let c = client(&gate);
    push(&c, &[bundle("q", 2)], 1);
    let smaller = [bundle("q", 1)];
    let apps = declared(smaller.to_vec()).unwrap();
    let remote = fetch_remote(&c, &apps, &reads(1)).unwrap();
    let p = plan(
        apps,
        remote,
        Flags {
            prune: true,
            ..Flags::default()
        },
    );
    assert_eq!(p.steps[1].action, Action::Prune);
    // The first delete fails without effect; meanwhile someone replaces the pipeline
    // with a hand-made one of the same name.
    gate.inject(Target::Delete, Fault::Status(503), 1);
    gate.edit_pipeline("q", "pipeline-01", |p| {
        p.remove("kujiraGen");
    });
    let report = apply(&c, &p, &reads(1), &mut |_, _| {});
    assert_eq!(
        report.steps[1],
        Outcome::Failed("DELETE /pipelines/q/pipeline-01: 503 Service Unavailable: Service Unavailable; meanwhile a pipeline not created by kujira-gen has this name, so it was left alone".into())
    );
    assert!(gate.pipeline("q", "pipeline-01").is_some());
}

#[test]
fn an_application_task_that_never_finishes_is_reported() {
    let gate = FakeGate::start();
    gate.task_polls(1_000_000);
    let policy = RetryPolicy {
        budget: Duration::from_millis(100),
        ..RetryPolicy::fast()
    };
    let c = Client::connect(&Settings::plain(&gate.url), policy).unwrap();
    let (status, out) = push(&c, &[bundle("slow", 1)], 1);
    assert_eq!(status, Status::Failed);
    let line = out
        .lines()
        .find(|l| l.starts_with("failed application slow"))
        .unwrap();
    assert!(
        line.starts_with("failed application slow: Create Application: slow: task 01FAKETASK000001 is still RUNNING after "),
        "{line}"
    );
    assert!(
        out.contains("failed slow/pipeline-00: not written: application slow could not be created")
    );
}

#[test]
fn retries_are_reported_as_notices() {
    let gate = FakeGate::start();
    gate.inject(Target::List, Fault::Status(503), 1);
    let notes = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = notes.clone();
    let c = client(&gate).with_notices(Arc::new(move |n: &str| {
        sink.lock().unwrap().push(n.to_string())
    }));
    assert!(!in_sync(&c, &[bundle("n", 1)]));
    assert_eq!(
        *notes.lock().unwrap(),
        vec![
            "GET /applications/n/pipelineConfigs: 503 Service Unavailable: Service Unavailable; retrying in 5ms"
        ]
    );
}

#[test]
fn an_answer_over_the_size_limit_is_not_retried() {
    let gate = FakeGate::start();
    gate.add_application(json!({"name": "big", "email": "t@example.com"}));
    gate.inject(
        Target::List,
        Fault::Body {
            status: 200,
            content_type: "application/json".into(),
            body: format!("[{}]", vec!["{}"; 2000].join(",")),
        },
        1000,
    );
    let c = client(&gate).with_body_limit(1024);
    let apps = declared(vec![bundle("big", 1)]).unwrap();
    let e = fetch_remote(&c, &apps, &reads(4)).unwrap_err().to_string();
    assert_eq!(
        gate.count("GET", "/applications/big/pipelineConfigs"),
        1,
        "{e}"
    );
}

// ------------------------------------------------ issue 19: the wider attack

/// A bundle of application `app` with one wait pipeline per name.
/// [`named`] with one pipeline, `release`, whose description changed since a push.
fn changed(app: &str) -> Bundle {
    let mut b = named(app, &["release"]);
    b.pipelines[0].insert("description".into(), json!("changed"));
    b.pipelines[0].remove("kujiraGen");
    b.finalize();
    b
}

fn named(app: &str, names: &[&str]) -> Bundle {
    let ps: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            json!({"name": n, "application": app,
                "stages": [{"refId": "1", "type": "wait", "waitTime": i}]})
        })
        .collect();
    let mut b = Bundle::from_rendered(
        &format!("teams/{app}/value.json"),
        json!({"application": {"name": app, "email": "t@example.com", "cloudProviders": "kubernetes"},
            "pipelines": ps}),
    )
    .unwrap();
    b.finalize();
    b
}

fn push_with(
    client: &Client,
    bundles: &[Bundle],
    flags: Flags,
    parallel: usize,
) -> (Status, String) {
    let mut out = Vec::new();
    let status = run::push(
        client,
        bundles.to_vec(),
        &PushOptions {
            flags,
            read: reads(parallel),
            ..PushOptions::default()
        },
        &mut out,
        &Palette::default(),
        &mut |_| Ok(true),
        &mut |_, _| {},
    )
    .unwrap();
    (status, String::from_utf8(out).unwrap())
}

fn ids(gate: &FakeGate, app: &str) -> Vec<String> {
    gate.pipelines(app)
        .iter()
        .map(|p| p["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

const FORCE: Flags = Flags {
    prune: false,
    adopt: false,
    force: true,
};

const PRUNE: Flags = Flags {
    prune: true,
    adopt: false,
    force: false,
};

/// Issue 19, 1: a hand-made `RELEASE` holding the declared id must not make --force delete
/// the generated, in-sync `release` as a "copy".
#[test]
fn force_never_deletes_the_declared_pipeline_for_a_hand_made_one_holding_its_id() {
    let gate = FakeGate::start();
    let c = client(&gate);
    let bundles = [named("held", &["release"])];
    assert_eq!(push(&c, &bundles, 4).0, Status::InSync);
    let declared_id = gate.pipeline("held", "release").unwrap()["id"].clone();
    // The generated pipeline lives under another id (made before kujira-gen chose ids)...
    gate.edit_pipeline("held", "release", |p| {
        p.insert("id".into(), json!("generated-1"));
    });
    // ...and a pipeline made in Deck holds the declared id, its name differing in case.
    gate.add_pipeline(
        json!({"application": "held", "name": "RELEASE", "id": declared_id,
        "stages": []}),
    );
    let (status, out) = push_with(&c, &bundles, FORCE, 4);
    assert_eq!(status, Status::Failed, "{out}");
    assert!(out.contains("! conflict held/RELEASE"), "{out}");
    let mut left = ids(&gate, "held");
    left.sort();
    assert_eq!(
        left,
        vec![
            declared_id.as_str().unwrap().to_string(),
            "generated-1".into()
        ],
        "nothing deleted: {out}"
    );
}

/// Issue 19, 4: Gate and Front50 trim names with Java's `trim()` (control characters
/// too): pruning the generated `old` must not reach a hand-made `old\x1f` that comes first.
#[test]
fn prune_compares_names_like_gate_and_never_deletes_a_foreign_pipeline() {
    let gate = FakeGate::start();
    let c = client(&gate);
    assert_eq!(
        push(&c, &[named("ctl", &["release", "old"])], 4).0,
        Status::InSync
    );
    // Made in Deck afterwards (Front50's duplicate check does not trim the stored name),
    // and first in Front50's list.
    gate.add_pipeline(
        json!({"application": "ctl", "name": "old\u{1f}", "id": "foreign-old",
        "stages": []}),
    );
    gate.move_to_front("foreign-old");
    let (status, out) = push_with(&c, &[named("ctl", &["release"])], PRUNE, 4);
    assert!(
        ids(&gate, "ctl").contains(&"foreign-old".to_string()),
        "the pipeline without the marker is still there: {out}"
    );
    // The generated `old` could not be deleted safely without --force: said, exit 1.
    assert_eq!(status, Status::Failed, "{out}");
    assert!(out.contains("! conflict ctl/old (id "), "{out}");
}

/// Issue 19, 7: a copy renamed by an interrupted --force (kill -9 between the rename and
/// the delete) is deleted by the next push.
#[test]
fn a_copy_left_renamed_by_an_interrupted_force_is_deleted_by_the_next_push() {
    let gate = FakeGate::start();
    let c = client(&gate);
    let bundles = [named("killed", &["release"])];
    assert_eq!(push(&c, &bundles, 4).0, Status::InSync);
    let mut copy = gate.pipeline("killed", "release").unwrap();
    copy.insert("id".into(), json!("copy-1"));
    copy.insert(
        "name".into(),
        json!("release (copy copy-1, deleted by kujira-gen)"),
    );
    copy.insert("disabled".into(), json!(true));
    gate.add_pipeline(serde_json::Value::Object(copy));
    let (status, out) = push(&c, &bundles, 4);
    assert_eq!(status, Status::InSync, "{out}");
    assert!(
        out.contains("pruned killed/release (copy copy-1, deleted by kujira-gen)"),
        "{out}"
    );
    assert_eq!(ids(&gate, "killed").len(), 1, "{out}");
    assert!(in_sync(&c, &bundles));
}

/// Three applications (more than `parallel` 2: the bulk reads serve them), already in
/// Gate's cached application list.
fn three(gate: &FakeGate) -> Vec<Bundle> {
    let names = ["one", "two", "three"];
    for n in names {
        gate.add_application(
            json!({"name": n, "email": "t@example.com", "cloudProviders": "kubernetes"}),
        );
    }
    names.iter().map(|n| named(n, &["release"])).collect()
}

/// Issue 19, 2: right after a push changed an application's attributes, Gate's cached
/// `GET /applications` still has the old ones; diff must not report them.
#[test]
fn what_push_just_wrote_to_an_application_is_not_a_difference() {
    let gate = FakeGate::start();
    let c = client(&gate);
    let mut bundles = three(&gate);
    assert_eq!(push(&c, &bundles, 2).0, Status::InSync);
    bundles[0]
        .application
        .insert("email".into(), json!("new@example.com"));
    let (status, out) = push(&c, &bundles, 2);
    assert_eq!(status, Status::InSync, "{out}");
    assert!(out.contains("updated application one"), "{out}");
    assert!(in_sync(&c, &bundles), "diff right after the push");
    let (status, out) = push(&c, &bundles, 2);
    assert_eq!(status, Status::InSync, "{out}");
    assert!(out.contains("Nothing to write"), "not sent again: {out}");
}

/// Issue 19, 3: a generated copy left out of the bulk pipeline list (Fiat filters it by
/// name) is found by reading the application on its own, and handled like any copy.
#[test]
fn a_copy_missing_from_the_bulk_list_is_found_and_handled() {
    let gate = FakeGate::start();
    let c = client(&gate);
    let mut bundles = three(&gate);
    assert_eq!(push(&c, &bundles, 2).0, Status::InSync);
    let mut copy = gate.pipeline("one", "release").unwrap();
    copy.insert("id".into(), json!("copy-1"));
    copy.insert("name".into(), json!("Release"));
    gate.add_pipeline(serde_json::Value::Object(copy));
    gate.hide_from_bulk("copy-1");
    bundles[0] = changed("one");
    let (status, out) = push(&c, &bundles, 2);
    assert_eq!(status, Status::Failed, "{out}");
    assert!(out.contains("! conflict one/Release (id copy-1)"), "{out}");
    let (status, out) = push_with(&c, &bundles, FORCE, 2);
    assert_eq!(status, Status::InSync, "{out}");
    assert_eq!(ids(&gate, "one").len(), 1, "{out}");
    assert!(in_sync(&c, &bundles));
}

/// Issue 19, 10: an application deleted in Front50 that Gate's cache still names gets
/// created again before its pipelines are saved (bulk and per-application reads alike).
#[test]
fn a_deleted_application_is_created_again_before_its_pipelines_are_saved() {
    for parallel in [2, 4] {
        let gate = FakeGate::start();
        let c = client(&gate);
        let mut bundles = three(&gate);
        assert_eq!(push(&c, &bundles, parallel).0, Status::InSync);
        gate.delete_application("one");
        bundles[0] = named("one", &["release", "second"]);
        let (status, out) = push(&c, &bundles, parallel);
        assert_eq!(status, Status::InSync, "{out}");
        assert!(
            out.contains("created application one"),
            "parallel {parallel}: {out}"
        );
        assert!(gate.application("one").is_some(), "parallel {parallel}");
    }
}

/// Issue 19, the stale-read overwrite: a pipeline edited in Deck while the bulk list was
/// stale is judged on a fresh read: a drift conflict, not overwritten without --force.
#[test]
fn an_edit_hidden_by_a_stale_bulk_list_is_not_overwritten() {
    let gate = FakeGate::start();
    let c = client(&gate);
    let mut bundles = three(&gate);
    assert_eq!(push(&c, &bundles, 2).0, Status::InSync);
    gate.pipeline_cache_interval(Duration::from_secs(60));
    gate.edit_pipeline("one", "release", |p| {
        p.insert("description".into(), json!("edited in Deck"));
    });
    bundles[0] = {
        let mut b = named("one", &["release"]);
        b.pipelines[0].insert("limitConcurrent".into(), json!(false));
        b.pipelines[0].remove("kujiraGen");
        b.finalize();
        b
    };
    let (status, out) = push(&c, &bundles, 2);
    assert_eq!(status, Status::Failed, "{out}");
    assert!(
        out.contains("! conflict one/release: was changed in Spinnaker"),
        "{out}"
    );
    assert_eq!(
        gate.pipeline("one", "release").unwrap()["description"],
        "edited in Deck"
    );
}

/// Issue 19, 9: a save answered with an empty 200 that never landed is reported as what
/// the read-back saw, not blamed on another writer.
#[test]
fn a_save_that_did_not_take_effect_is_reported_as_such() {
    let gate = FakeGate::start();
    let c = client(&gate);
    assert_eq!(
        push(&c, &[named("lost", &["release"])], 4).0,
        Status::InSync
    );
    let b = changed("lost");
    gate.inject(
        Target::Save,
        Fault::Body {
            status: 200,
            content_type: String::new(),
            body: String::new(),
        },
        1,
    );
    let (status, out) = push(&c, &[b], 4);
    assert_eq!(status, Status::Failed, "{out}");
    assert!(
        out.contains("failed lost/release: was written (Gate answered the save), but Spinnaker still holds the version from before the push when read back"),
        "{out}"
    );
    assert!(!out.contains("another writer"), "{out}");
}

/// The stale-read overwrite, between plan and write: an edit made in Deck after the plan
/// (while push waited for its confirmation) is not overwritten.
#[test]
fn an_edit_made_after_the_plan_is_not_overwritten() {
    let gate = FakeGate::start();
    let c = client(&gate);
    assert_eq!(
        push(&c, &[named("late", &["release"])], 4).0,
        Status::InSync
    );
    let b = changed("late");
    let apps = declared(vec![b]).unwrap();
    let remote = fetch_remote(&c, &apps, &reads(4)).unwrap();
    let p = plan(apps, remote, Flags::default());
    assert_eq!(p.steps[0].action, Action::Update);
    gate.edit_pipeline("late", "release", |p| {
        p.insert("description".into(), json!("edited in Deck"));
    });
    let report = apply(&c, &p, &reads(4), &mut |_, _| {});
    assert!(
        matches!(&report.steps[0], Outcome::Failed(why) if why.starts_with("not saved: changed in Spinnaker after the plan was made (last changed by someone@example.com")),
        "{:?}",
        report.steps
    );
    assert_eq!(
        gate.pipeline("late", "release").unwrap()["description"],
        "edited in Deck"
    );
}

/// Issue 19, 8: when a pipeline trigger follows the id of the pipeline it names, the diff
/// shows that field, not the whole pipeline as new.
#[test]
fn a_trigger_following_a_kept_id_is_diffed_field_by_field() {
    let gate = FakeGate::start();
    let c = client(&gate);
    let deploy_id = kujira_gen::marker::pipeline_id("chain", "deploy");
    let mut b = Bundle::from_rendered(
        "teams/chain/value.json",
        json!({"application": {"name": "chain", "email": "t@example.com"},
            "pipelines": [
                {"name": "deploy", "application": "chain", "stages": []},
                {"name": "promote", "application": "chain", "stages": [],
                 "triggers": [{"type": "pipeline", "application": "chain",
                     "pipeline": deploy_id, "enabled": true}]}]}),
    )
    .unwrap();
    b.finalize();
    assert_eq!(push(&c, &[b.clone()], 4).0, Status::InSync);
    // The deploy pipeline is known to Spinnaker under another id (made before kujira-gen).
    gate.edit_pipeline("chain", "deploy", |p| {
        p.insert("id".into(), json!("front50-deploy"));
    });
    let mut out = Vec::new();
    let status = run::diff(
        &c,
        vec![b],
        &DiffOptions {
            format: run::Format::Json,
            ..DiffOptions::default()
        },
        &mut out,
        &Palette::default(),
    )
    .unwrap();
    assert_eq!(status, Status::Differences);
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let promote = doc["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pipeline"] == "promote")
        .unwrap();
    // The field, and the marker whose digest covers it (listed whenever the marker
    // changes: docs/diff-and-push.md, "Machine output").
    assert_eq!(
        promote["changedPaths"],
        json!(["/triggers/0/pipeline", "/kujiraGen"]),
        "{promote}"
    );
}

/// Issue 19, 5: an application whose pipeline list is over the answer limit fails on its
/// own, with the setting that raises the limit; the other applications are pushed.
#[test]
fn an_oversized_application_fails_alone_and_the_others_are_pushed() {
    let gate = FakeGate::start();
    let c = client(&gate).with_body_limit(256 * 1024);
    gate.add_application(json!({"name": "huge", "email": "t@example.com"}));
    gate.add_pipeline(json!({"application": "huge", "name": "made-in-deck",
        "description": "x".repeat(300 * 1024), "stages": []}));
    let bundles = [named("huge", &["release"]), named("small", &["release"])];
    let (status, out) = push(&c, &bundles, 4);
    assert_eq!(status, Status::Failed, "{out}");
    assert!(
        out.starts_with("! cannot read application huge: GET /applications/huge/pipelineConfigs: the answer is larger than 256 KiB, more than kujira-gen reads (KUJIRA_GATE_ANSWER_LIMIT, in MiB, raises the limit); nothing of application huge is compared or written\n"),
        "{out}"
    );
    assert!(out.contains("created small/release"), "{out}");
    assert_eq!(gate.pipelines("small").len(), 1);
    assert_eq!(gate.pipelines("huge").len(), 1, "nothing written to huge");
}

/// A large answer (over the size read whole) is parsed as it arrives: the same result, and
/// the size limit still applies.
#[test]
fn a_large_pipeline_list_is_parsed_as_it_arrives() {
    let gate = FakeGate::start();
    gate.add_application(json!({"name": "large", "email": "t@example.com"}));
    for i in 0..12 {
        gate.add_pipeline(json!({"application": "large", "name": format!("deck-{i}"),
            "description": "x".repeat(1024 * 1024), "stages": []}));
    }
    let c = client(&gate);
    let listed = c.list_pipelines("large").unwrap();
    assert_eq!(listed.len(), 12);
    assert_eq!(listed[11]["name"], "deck-11");
    let small = client(&gate).with_body_limit(10 * 1024 * 1024);
    let err = small.list_pipelines("large").unwrap_err().to_string();
    assert_eq!(
        err,
        "GET /applications/large/pipelineConfigs: the answer is larger than 10 MiB, more than kujira-gen reads"
    );
}
