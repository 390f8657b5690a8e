//! A generated GitOps repository of teams, shared by the benchmarks.

use std::path::Path;

const COLLECTION: &str = r#"{
  "info": {"name": "scenario", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
  "item": [{"name": "health", "request": {"method": "GET", "url": "{{baseUrl}}/healthz"},
            "event": [{"listen": "test", "script": {"exec": ["pm.test('ok', () => pm.response.to.have.status(200));"]}}]}]
}"#;

/// Team `i`: a mix of what real teams write (a quarter each: minimal, scenario test,
/// manual judgment, Pub/Sub with environment variables).
pub fn write_team(root: &Path, i: usize) {
    let dir = root.join(format!("teams/team-{i:04}"));
    std::fs::create_dir_all(&dir).expect("create team dir");
    let app = format!("team-{i:04}");
    let extra = match i % 4 {
        0 => String::new(),
        1 => {
            std::fs::write(dir.join("scenario.json"), COLLECTION).expect("write collection");
            r#", "ScenarioTest": {"Collection": "scenario.json"}, "Replicas": 3"#.to_string()
        }
        2 => r#", "ManualJudgment": {"Instructions": "Check the dashboard"}, "Trigger": {"Type": "manual"}"#.to_string(),
        _ => r#", "Trigger": {"Type": "pubsub", "Subscription": "gcr"}, "Env": {"LOG_LEVEL": "info", "DB_PASSWORD": {"Secret": "db", "Key": "password"}}"#.to_string(),
    };
    let value = format!(
        r#"{{"Application": "{app}", "Notification": "{app}-alerts", "Repo": "github", "Email": "{app}@example.com",
  "Account": "gke-production", "Image": "gcr.io/example/{app}"{extra}}}"#
    );
    std::fs::write(dir.join("value.json"), value).expect("write value.json");
}
