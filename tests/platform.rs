//! The platform team's settings (`.kujira/defaults.json`, `.kujira/policy.json`,
//! `.kujira/slo.json`) on the bundled GitOps repository example, `examples/gitops`: the
//! seed's three-key value file is complete there, the policy is applied with its exemption,
//! the schemas say which keys the platform sets, and the teams with SLOs (blue-green and
//! canary) get the metric provider and the per-environment budget gate.

mod support;

use support::test::{Test, project_dir};

/// The example repository with exemptions judged on a fixed day.
fn gitops() -> Test {
    Test::new()
        .example_tree("gitops")
        .env("KUJIRA_TODAY", "2026-12-02")
}

#[test]
fn the_repository_validates_with_its_exemption_listed() {
    gitops()
        .args(["validate", "teams"])
        .stdout("4 files ok\n")
        .stderr(
            ".kujira/policy.json:32:5: note: Exemptions[0]: exemption active until 2099-12-31: application `billing` may break rule `production-replicas` (Single-writer batch consumer until the queue migration (PLAT-812).)\n\
             teams/billing/value.json:9:29: note: Environments[1].Replicas: policy rule `production-replicas` (.kujira/policy.json:16:5): environment `production` breaks it: it runs 1 replica; set `\"Replicas\": 2` or more\n    \
             exempted until 2099-12-31 (.kujira/policy.json:32:5): Single-writer batch consumer until the queue migration (PLAT-812).\n",
        )
        .run();
}

#[test]
fn an_expired_exemption_fails_the_repository() {
    gitops()
        .env("KUJIRA_TODAY", "2100-01-01")
        .args(["validate", "teams"])
        .status(1)
        .stderr(
            ".kujira/policy.json:36:18: error: Exemptions[0].Expires: the exemption of application `billing` from rule `production-replicas` expired on 2099-12-31: the application must follow the rule again, or the platform team renews the exemption with a new date and reason\n\
             teams/billing/value.json:9:29: error: Environments[1].Replicas: policy rule `production-replicas` (.kujira/policy.json:16:5): environment `production` breaks it: it runs 1 replica; set `\"Replicas\": 2` or more\n    \
             One replica cannot survive a node upgrade.\n\
             2 errors in 2 of 5 files\n",
        )
        .run();
}

#[test]
fn the_bundles_are_snapshots() {
    for team in ["sample", "billing", "slo-blue-green", "slo-canary"] {
        let out = gitops()
            .args(["build", &format!("teams/{team}/value.json")])
            .output();
        assert_eq!(out.status, 0, "{team}: {}", out.stderr);
        insta::assert_snapshot!(format!("gitops_{team}"), out.stdout);
    }
}

#[test]
fn the_three_key_file_is_complete_on_this_platform_only() {
    let text =
        std::fs::read_to_string(project_dir().join("examples/gitops/teams/sample/value.json"))
            .unwrap();
    assert_eq!(
        text,
        "{\"Application\": \"sample\", \"Notification\": \"sample-channel\", \"Repo\": \"github\"}\n"
    );
    // Without the platform's settings, the built-in ones require the rest.
    gitops()
        .args(["validate", "--platform", "teams", "teams/sample/value.json"])
        .status(1)
        .stderr(
            "teams/sample/value.json:1:1: error: missing required key `Email` (Owner's email address; Spinnaker requires one to create the application)\n\
             teams/sample/value.json:1:1: error: missing required key `Image` (Container image repository without tag or digest; the tag comes from the artifact that triggers the pipeline)\n\
             teams/sample/value.json:1:1: error: missing required key `Account` (Spinnaker Kubernetes account (cluster) to deploy to)\n\
             1 error in 1 of 1 file\n"
                .replace("1 error in", "3 errors in")
                .as_str(),
        )
        .run();
}

#[test]
fn the_value_schema_says_what_the_platform_sets() {
    let out = gitops().args(["schema"]).output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        schema["required"],
        serde_json::json!(["Application", "Notification"])
    );
    assert_eq!(
        schema["properties"]["Image"]["default"],
        "europe-docker.pkg.dev/acme/apps/{Application}"
    );
    assert!(
        schema["properties"]["Email"]["description"]
            .as_str()
            .unwrap()
            .ends_with("Set by the platform (.kujira/defaults.json) when absent: \"{Application}-owners@acme.example\"")
    );
}

/// The schemas in `schemas/` are the ones the binary applies.
#[test]
fn the_committed_schemas_are_current() {
    for (which, file) in [
        ("value", "value.schema.json"),
        ("defaults", "defaults.schema.json"),
        ("policy", "policy.schema.json"),
        ("slo", "platform-slo.schema.json"),
    ] {
        let out = Test::new().args(["schema", which]).output();
        assert_eq!(out.status, 0);
        let committed = std::fs::read_to_string(project_dir().join("schemas").join(file)).unwrap();
        assert_eq!(
            out.stdout, committed,
            "schemas/{file} differs from `kujira-gen schema {which}`"
        );
    }
}

/// The platform's environments switch the error-budget gate off in staging
/// (`"SLO": {"ErrorBudgetGate": false}` in `.kujira/defaults.json`): only production checks
/// the budget before it deploys, and only it offers the override parameter; both analyse.
#[test]
fn the_error_budget_is_checked_in_production_only() {
    for (team, analysis) in [
        ("slo-blue-green", "Analyse preview"),
        ("slo-canary", "Analyse canary"),
    ] {
        let out = gitops()
            .args(["build", &format!("teams/{team}/value.json")])
            .output();
        assert_eq!(out.status, 0, "{team}: {}", out.stderr);
        let bundle: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let pipelines = bundle["pipelines"].as_array().unwrap();
        let stages = |i: usize| -> Vec<String> {
            pipelines[i]["stages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(pipelines[0]["name"], "release-staging");
        assert!(
            !stages(0).contains(&"Check error budget".to_string()),
            "{team}"
        );
        assert!(stages(0).contains(&analysis.to_string()), "{team}");
        assert_eq!(pipelines[1]["name"], "release-production");
        // Before the budget: the image must come from a SUCCEEDED run of staging.
        assert_eq!(
            stages(1)[..2],
            ["Check provenance", "Check error budget"],
            "{team}"
        );
        assert!(stages(1).contains(&analysis.to_string()), "{team}");
        assert_eq!(
            pipelines[0]["parameterConfig"],
            serde_json::json!([]),
            "{team}"
        );
        assert_eq!(
            pipelines[1]["parameterConfig"][0]["name"], "budgetOverride",
            "{team}"
        );
    }
}

/// `ArtifactBinding` is a fact of the installation: a team may repeat the platform's
/// value, not contradict it; without a platform value, the team's own is taken.
#[test]
fn a_team_cannot_contradict_the_platforms_artifact_binding() {
    let defaults = r#"{"Email": "{Application}@acme.example", "Account": "gke-production",
  "ArtifactBinding": "match-name-only"}"#;
    let team = |binding: &str| {
        format!(
            r#"{{"Application": "sample", "Notification": "c", "Image": "registry.acme.example:5000/sample",
  "ArtifactBinding": "{binding}"}}"#
        )
    };
    Test::new()
        .write(".kujira/defaults.json", defaults)
        .write("teams/sample/value.json", team("match-name-only"))
        .args(["validate", "teams"])
        .stdout("1 file ok\n")
        .run();
    Test::new()
        .write(".kujira/defaults.json", defaults)
        .write("teams/sample/value.json", team("match-name-and-tag"))
        .args(["validate", "teams"])
        .status(1)
        .stderr(
            "teams/sample/value.json:2:22: error: ArtifactBinding: a setting of the Spinnaker installation, which the platform's defaults state as \"match-name-only\": remove it from this file (pod templates written for \"match-name-and-tag\" do not bind an image whose registry has a port on that installation)\n\
             1 error in 1 of 1 file\n",
        )
        .run();
    Test::new()
        .write(
            ".kujira/defaults.json",
            r#"{"Email": "{Application}@acme.example", "Account": "gke-production"}"#,
        )
        .write("teams/sample/value.json", team("match-name-only"))
        .args(["validate", "teams"])
        .stdout("1 file ok\n")
        .run();
}
