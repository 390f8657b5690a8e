//! `kujira-gen doctor`: the installation checked from its Gate (the fake one, on
//! 127.0.0.1): the version, the user, the accounts the value files deploy to, Fiat.

mod support;

use serde_json::json;
use support::fake_gate::FakeGate;
use support::test::Test;

fn team(app: &str, account: &str) -> String {
    format!(
        r#"{{"Application": "{app}", "Notification": "x", "Email": "x@example.com", "Account": "{account}", "Image": "gcr.io/p/{app}"}}"#
    )
}

#[test]
fn a_healthy_installation() {
    let gate = FakeGate::start();
    let out = Test::new()
        .write("teams/a/value.json", team("a", "gke"))
        .args(["doctor", "teams"])
        .env("KUJIRA_GATE_ENDPOINT", &gate.url)
        .output();
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "ok     Gate at {} answers: Spinnaker 1.30.0-fake (supported: 1.30 and newer)\n\
             note   not authenticated (Gate sees no user, or `anonymous`): with authentication on, set KUJIRA_GATE_TOKEN, --header, or the spin config's auth\n\
             ok     account `gke` is a Kubernetes account (teams/a/value.json)\n\
             note   Fiat: no account carries permissions: authorization looks off (nothing to set)\n",
            gate.url
        )
    );
}

#[test]
fn missing_and_wrong_accounts_fail() {
    let gate = FakeGate::start();
    gate.set_accounts(vec![
        json!({"name": "gke", "type": "kubernetes", "permissions": {"WRITE": ["platform"]}}),
        json!({"name": "registry", "type": "dockerRegistry"}),
    ]);
    gate.set_user(Some(json!({"username": "ci-bot"})));
    let out = Test::new()
        .write("teams/a/value.json", team("a", "gke-prod"))
        .write("teams/b/value.json", team("b", "registry"))
        .args(["doctor", "teams"])
        .env("KUJIRA_GATE_ENDPOINT", &gate.url)
        .output();
    assert_eq!(out.status, 1, "{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().skip(1).collect();
    assert_eq!(
        lines,
        vec![
            "ok     authenticated as ci-bot",
            "error  account `gke-prod` does not exist in Spinnaker, or this user may not see it (teams/a/value.json); Kubernetes accounts: gke",
            "error  account `registry` is a `dockerRegistry` account, not a Kubernetes one: Deploy would fail (teams/b/value.json)",
            "note   Fiat: the accounts carry permissions, so authorization is on: triggers need a service account with EXECUTE (RunAsUser, docs/installation.md \"Fiat\")",
        ]
    );
}

#[test]
fn a_gate_that_does_not_answer() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let out = Test::new()
        .write("teams/a/value.json", team("a", "gke"))
        .args(["doctor", "teams"])
        .env("KUJIRA_GATE_ENDPOINT", &url)
        .env("KUJIRA_GATE_RETRY_BUDGET", "1")
        .env("KUJIRA_GATE_BACKOFF", "0.005")
        .output();
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with(&format!("error  Gate at {url} does not answer: ")),
        "{}",
        out.stdout
    );
}
