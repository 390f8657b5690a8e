//! The fake Gate against the real Gate responses in tests/fixtures/gate: same shapes, same
//! status codes, same error bodies. And kujira-gen against those real responses.

mod support;

use kujira_gen::gate::config::Settings;
use kujira_gen::gate::{Client, RetryPolicy};
use kujira_gen::plan::planner::{Action, Conflict, Flags, plan};
use kujira_gen::plan::read::ReadOptions;
use kujira_gen::plan::run::{declared, fetch_remote};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use support::fake_gate::{FakeGate, fixture};

fn read_fixture(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(&format!("gate/{name}"))).unwrap())
        .unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// Raw HTTP, without kujira-gen's client: status and body.
fn call(method: &str, url: &str, body: Option<&Value>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, Some(b)) => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(b.to_string()),
        _ => agent.post(url).send_empty(),
    }
    .unwrap();
    (
        resp.status().as_u16(),
        resp.body_mut().read_to_string().unwrap(),
    )
}

#[test]
fn save_answers_an_empty_200_and_the_list_adds_the_server_fields() {
    let gate = FakeGate::start();
    let body = read_fixture("save-pipeline-body.json");
    assert_eq!(
        call("POST", &format!("{}/pipelines", gate.url), Some(&body)),
        (200, String::new())
    );
    let (status, list) = call(
        "GET",
        &format!("{}/applications/app/pipelineConfigs", gate.url),
        None,
    );
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&list).unwrap();
    let real: Value = read_fixture("list-pipelineConfigs.json");
    let real_keys = keys(&real[0]);
    let fake_keys = keys(&list[0]);
    // The real list has everything the saved body had plus index; the fake also says
    // schema "1", as Front50 does.
    assert!(
        real_keys.is_subset(&fake_keys),
        "{real_keys:?} vs {fake_keys:?}"
    );
    assert_eq!(list[0]["index"], 0);
    assert_eq!(list[0]["schema"], "1");
    assert!(
        list[0]["updateTs"].is_string(),
        "updateTs is a string, like the fixture's"
    );
    assert_eq!(list[0]["id"], "pipeline1", "a given id is kept");
}

#[test]
fn a_case_insensitive_duplicate_name_is_refused_with_gates_400_body() {
    let gate = FakeGate::start();
    let mut body = read_fixture("save-pipeline-body.json");
    call("POST", &format!("{}/pipelines", gate.url), Some(&body));
    body["id"] = json!("another-id");
    body["name"] = json!(" PIPELINE1 ");
    let (status, text) = call("POST", &format!("{}/pipelines", gate.url), Some(&body));
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"error": "Bad Request",
            "message": "A pipeline with name PIPELINE1 already exists in application app",
            "status": 400, "timestamp": 1549378739199u64})
    );
    // Without an id, too; with the same id it is an update.
    body.as_object_mut().unwrap().remove("id");
    assert_eq!(
        call("POST", &format!("{}/pipelines", gate.url), Some(&body)).0,
        400
    );
    body["id"] = json!("pipeline1");
    assert_eq!(
        call("POST", &format!("{}/pipelines", gate.url), Some(&body)).0,
        200
    );
    assert_eq!(gate.pipelines("app").len(), 1);
    assert_eq!(gate.pipelines("app")[0]["name"], "PIPELINE1", "trimmed");
}

#[test]
fn a_missing_pipeline_is_404_or_the_old_empty_200() {
    let gate = FakeGate::start();
    let url = format!("{}/applications/app/pipelineConfigs/nope", gate.url);
    let (status, body) = call("GET", &url, None);
    assert_eq!(status, 404);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["status"], 404);
    gate.legacy_empty_200(true);
    assert_eq!(call("GET", &url, None), (200, String::new()));
    // Unknown applications have no pipelines.
    assert_eq!(
        call(
            "GET",
            &format!("{}/applications/nope/pipelineConfigs", gate.url),
            None
        ),
        (200, "[]".into())
    );
}

#[test]
fn delete_answers_200_also_when_nothing_was_there() {
    let gate = FakeGate::start();
    assert_eq!(
        call("DELETE", &format!("{}/pipelines/app/nope", gate.url), None).0,
        200
    );
}

#[test]
fn application_tasks_answer_like_gate() {
    let gate = FakeGate::start();
    gate.task_polls(1);
    let body = read_fixture("post-tasks-createApplication-body.json");
    let (status, text) = call("POST", &format!("{}/tasks", gate.url), Some(&body));
    assert_eq!(status, 200);
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        keys(&reply),
        keys(&read_fixture("post-tasks-response.json"))
    );
    let task_url = format!("{}{}", gate.url, reply["ref"].as_str().unwrap());
    let first: Value = serde_json::from_str(&call("GET", &task_url, None).1).unwrap();
    assert_eq!(first["status"], "RUNNING");
    let done: Value = serde_json::from_str(&call("GET", &task_url, None).1).unwrap();
    assert_eq!(
        done["status"],
        read_fixture("get-task-status.json")["status"]
    );

    let (status, app) = call("GET", &format!("{}/applications/app", gate.url), None);
    assert_eq!(status, 200);
    let app: Value = serde_json::from_str(&app).unwrap();
    let real = read_fixture("get-application-expanded.json");
    assert!(keys(&real).is_subset(&keys(&app)));
    // The attributes Gate adds and the list form of cloudproviders, as in the fixture.
    for k in [
        "createTs",
        "updateTs",
        "lastModifiedBy",
        "user",
        "email",
        "name",
    ] {
        assert!(app["attributes"].get(k).is_some(), "{k}");
    }
    assert_eq!(
        app["attributes"]["cloudproviders"],
        json!(["gce", "kubernetes"])
    );
    // Everything of the real non-expanded answer but what clouddriver and Fiat add.
    let missing: Vec<String> = keys(&read_fixture("get-application.json"))
        .difference(&keys(&app["attributes"]))
        .cloned()
        .collect();
    assert_eq!(missing, vec!["accounts", "permissions"]);
    assert_eq!(
        call("GET", &format!("{}/applications/other", gate.url), None).0,
        404
    );
}

#[test]
fn pipelines_made_in_deck_are_never_taken_over_or_pruned() {
    // The real list of a Deck-made application, served as is.
    let gate = FakeGate::start();
    let deck = read_fixture("list-pipelineConfigs-kubernetes-deck.json");
    let first_name = deck[0]["name"].as_str().unwrap().to_string();
    for p in deck.as_array().unwrap() {
        gate.add_pipeline(p.clone());
    }
    let count = gate.pipelines("kubernetesapp").len();
    assert!(count >= 2);
    let mut b = kujira_gen::bundle::Bundle::from_rendered(
        "teams/k/value.json",
        json!({"application": {"name": "kubernetesapp", "email": "k@example.com"},
            "pipelines": [{"name": first_name, "application": "kubernetesapp", "stages": []}]}),
    )
    .unwrap();
    b.finalize();
    let client = Client::connect(&Settings::plain(&gate.url), RetryPolicy::fast()).unwrap();
    let apps = declared(vec![b]).unwrap();
    let remote = fetch_remote(&client, &apps, &ReadOptions::default()).unwrap();
    assert_eq!(remote[0].pipelines.len(), count);
    let p = plan(
        apps,
        remote,
        Flags {
            prune: true,
            ..Flags::default()
        },
    );
    assert_eq!(p.steps.len(), 1, "unmarked pipelines are never pruned");
    assert_eq!(p.steps[0].action, Action::Conflict(Conflict::NotGenerated));
    let existing: Map<String, Value> = p.steps[0].remote.as_ref().unwrap().body().unwrap();
    assert_eq!(existing["id"], deck[0]["id"]);
}

#[test]
fn delete_by_name_removes_only_the_first_pipeline_of_that_name() {
    // Gate (PipelineController.deletePipeline) picks the first pipeline whose trimmed
    // name matches ignoring case; Front50 (DefaultPipelineDAO.getPipelineId) deletes the
    // first one whose name matches.
    let gate = FakeGate::start();
    gate.add_pipeline(json!({"application": "app", "name": "release", "id": "first"}));
    gate.add_pipeline(json!({"application": "app", "name": "Release", "id": "second"}));
    assert_eq!(
        call(
            "DELETE",
            &format!("{}/pipelines/app/RELEASE", gate.url),
            None
        )
        .0,
        200
    );
    let left: Vec<Value> = gate
        .pipelines("app")
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(left, vec![json!("second")]);
}

#[test]
fn bulk_reads_list_every_application_and_pipeline_with_the_application_cache_lag() {
    let gate = FakeGate::start();
    gate.add_application(json!({"name": "Old", "email": "o@example.com",
        "cloudProviders": "kubernetes"}));
    gate.add_pipeline(json!({"application": "old", "name": "p1", "id": "1"}));
    gate.add_pipeline(json!({"application": "other", "name": "p2", "id": "2"}));
    // An application created by a task shows up in the list only after Gate's refresh.
    let task = read_fixture("post-tasks-createApplication-body.json");
    assert_eq!(
        call("POST", &format!("{}/tasks", gate.url), Some(&task)).0,
        200
    );
    let (status, list) = call("GET", &format!("{}/applications", gate.url), None);
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&list).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["old"], "names lower-cased; the new one not yet");
    assert_eq!(list[0]["email"], "o@example.com");
    assert_eq!(list[0]["cloudproviders"], json!(["kubernetes"]));
    gate.app_cache_interval(std::time::Duration::ZERO);
    let (_, list) = call("GET", &format!("{}/applications", gate.url), None);
    assert_eq!(
        serde_json::from_str::<Value>(&list)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let (status, all) = call("GET", &format!("{}/pipelineConfigs", gate.url), None);
    assert_eq!(status, 200);
    let ids: Vec<Value> = serde_json::from_str::<Value>(&all)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("1"), json!("2")]);
    let kinds: Vec<(String, usize)> = gate.requests_by_kind().into_iter().collect();
    assert_eq!(
        kinds,
        vec![
            ("GET /applications".to_string(), 2),
            ("GET /pipelineConfigs".to_string(), 1),
            ("POST /tasks".to_string(), 1),
        ]
    );
}

#[test]
fn latency_applies_to_every_request() {
    let gate = FakeGate::start();
    gate.latency(std::time::Duration::from_millis(30));
    let started = std::time::Instant::now();
    call("GET", &format!("{}/version", gate.url), None);
    assert!(started.elapsed() >= std::time::Duration::from_millis(30));
}
