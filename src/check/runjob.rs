//! Run Job (Manifest) stages. Orca has no stage builder for the type `runJobManifest`
//! itself: Deck saves such stages with `alias: "runJob"`, and without it the stage fails
//! at run time. The account is read as `account` by some code paths and `credentials` by
//! others, so both must name the same account.

use super::view::{Field, PipelineView, StageView, kind_of, quote, string_field};
use super::{Report, path};
use serde_json::Value;

pub fn check(view: &PipelineView, report: &mut Report) {
    for stage in &view.stages {
        if stage.stage_type() == Some("runJobManifest") {
            check_stage(stage, report);
        }
    }
}

fn check_stage(stage: &StageView, report: &mut Report) {
    expect_value(stage, "alias", "runJob", report);
    expect_value(stage, "cloudProvider", "kubernetes", report);
    check_account(stage, report);
    check_manifest(stage, report);
}

/// `key` must be the string `expected`.
fn expect_value(stage: &StageView, key: &str, expected: &str, report: &mut Report) {
    let why = if key == "alias" {
        " (Orca cannot run a `runJobManifest` stage without it)"
    } else {
        ""
    };
    match stage.stage.get(key) {
        Some(Value::String(s)) if s == expected => {}
        None | Some(Value::Null) => report.error(
            &stage.path,
            format!(
                "a runJobManifest stage needs `{key}: {}`{why}",
                quote(expected)
            ),
        ),
        Some(Value::String(s)) => report.error(
            stage.field_path(key),
            format!("`{key}` must be {}, got {}", quote(expected), quote(s)),
        ),
        Some(other) => report.error(
            stage.field_path(key),
            format!(
                "`{key}` must be {}, got {}",
                quote(expected),
                kind_of(other)
            ),
        ),
    }
}

fn check_account(stage: &StageView, report: &mut Report) {
    let account = string_field(stage.stage, "account");
    let credentials = string_field(stage.stage, "credentials");
    // `credentials` is a secret-looking key name: its value is never quoted.
    for (key, field) in [("account", &account), ("credentials", &credentials)] {
        if let Some(problem) = field.problem(key) {
            report.error(field.path(&stage.path, key), problem);
        }
    }
    if let (Field::Ok(a), Field::Ok(c)) = (account, credentials)
        && a != c
    {
        report.error(
            stage.field_path("credentials"),
            format!(
                "`credentials` must name the same account as `account` ({})",
                quote(a)
            ),
        );
    }
}

fn check_manifest(stage: &StageView, report: &mut Report) {
    // With `source: "artifact"` the Job comes from an artifact at run time.
    if stage.str_field("source") == Some("artifact") {
        return;
    }
    let manifest = match stage.stage.get("manifest") {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => {
            let hint = if stage.stage.contains_key("manifests") {
                " (it has `manifests`, which is deployManifest's field)"
            } else {
                ""
            };
            report.error(
                &stage.path,
                format!("a runJobManifest stage needs `manifest`, the one Job to run{hint}"),
            );
            return;
        }
        Some(Value::Array(items)) => {
            report.error(
                stage.field_path("manifest"),
                format!(
                    "`manifest` must be exactly one manifest (a Job object), got an array of {}",
                    items.len()
                ),
            );
            return;
        }
        Some(other) => {
            report.error(
                stage.field_path("manifest"),
                format!("`manifest` must be a Job object, got {}", kind_of(other)),
            );
            return;
        }
    };
    // A missing or non-string kind, and a Job's apiVersion, are reported with the other
    // manifest checks.
    if let Field::Ok(kind) = string_field(manifest, "kind")
        && kind != "Job"
    {
        report.error(
            path::key(&stage.field_path("manifest"), "kind"),
            format!(
                "a runJobManifest stage runs a `Job` (batch/v1), got kind {}",
                quote(kind)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{check_json, variant};
    use insta::assert_snapshot;
    use serde_json::json;

    #[test]
    fn alias_and_cloud_provider() {
        let v = variant(&[
            ("/pipelines/0/stages/1/alias", None),
            ("/pipelines/0/stages/2/alias", Some(json!("runJobManifest"))),
            ("/pipelines/0/stages/4/cloudProvider", Some(json!("gce"))),
            ("/pipelines/0/stages/5/cloudProvider", None),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn account_and_credentials_must_agree() {
        let v = variant(&[
            (
                "/pipelines/0/stages/1/credentials",
                Some(json!("gke-staging")),
            ),
            ("/pipelines/0/stages/2/credentials", None),
            ("/pipelines/0/stages/4/account", Some(json!(3))),
        ]);
        let out = check_json(v);
        assert!(!out.contains("gke-staging"), "{out}");
        assert_snapshot!(out);
    }

    #[test]
    fn exactly_one_job() {
        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox"}]}}}});
        let v = variant(&[
            (
                "/pipelines/0/stages/1/manifest",
                Some(json!([job.clone(), job])),
            ),
            ("/pipelines/0/stages/2/manifest", None),
            (
                "/pipelines/0/stages/4/manifest",
                Some(json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "c"}, "data": {}})),
            ),
            ("/pipelines/0/stages/5/manifest", Some(json!("kind: Job"))),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn manifests_instead_of_manifest() {
        let mut v = variant(&[]);
        let stage = v["pipelines"][0]["stages"][1].as_object_mut().unwrap();
        let job = stage.remove("manifest").unwrap();
        stage.insert("manifests".into(), json!([job]));
        assert_snapshot!(check_json(v));
    }
}
