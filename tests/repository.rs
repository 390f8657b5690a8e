//! The GitOps repository as one unit: every command finds the platform's settings and
//! template overrides from each value file (never from the current directory), a change
//! to a platform file is judged by every team it governs, clashes are checked against
//! the whole repository, and a new team starts valid. docs/platform.md, "Where the
//! settings are".

mod support;

use support::test::Test;

/// A policy that every team breaks (Replicas at least 3), a team, and a template override
/// of the soak time.
fn repository() -> Test {
    Test::new()
        .write(
            ".kujira/policy.json",
            r#"{"Rules": [{"Name": "three-replicas", "Description": "Three replicas survive a zone outage.", "MinReplicas": 3}]}"#,
        )
        .write(
            ".kujira/templates/config.libsonnet",
            "(import 'builtin/config.libsonnet') + { timeouts+: { verifySoakSeconds: 300 } }\n",
        )
        .write(
            "teams/shop/value.json",
            r#"{"Application": "shop", "Notification": "shop", "Email": "shop@example.com", "Account": "gke", "Image": "gcr.io/p/shop", "Replicas": 2}"#,
        )
}

fn policy_file() -> &'static str {
    r#"{"Rules": [{"Name": "three-replicas", "Description": "Three replicas survive a zone outage.", "MinReplicas": 3}]}"#
}

#[test]
fn the_policy_applies_wherever_the_command_runs() {
    // From the repository root, from the team's directory, and from outside with an
    // absolute path: the same error.
    for (cwd, path) in [("", "teams/shop/value.json"), ("teams/shop", "value.json")] {
        let out = repository()
            .current_dir(cwd)
            .args(["validate", path])
            .output();
        assert_eq!(out.status, 1, "{cwd}: {}", out.stderr);
        assert!(
            out.stderr.contains("three-replicas"),
            "{cwd}: {}",
            out.stderr
        );
    }
    let test = repository();
    let absolute = test.path().join("teams/shop/value.json");
    let elsewhere = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(support::test::BIN)
        .current_dir(elsewhere.path())
        .args(["validate".as_ref(), absolute.as_os_str()])
        .env_remove("KUJIRA_PLATFORM")
        .env_remove("KUJIRA_TEMPLATES")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("three-replicas"), "{stderr}");
}

#[test]
fn the_platform_templates_are_used_by_every_command() {
    let test = repository().write(".kujira/policy.json", "{}");
    let out = test.args(["build", "teams/shop/value.json"]).output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(r#""value": "300""#),
        "the override's soak time (SOAK_SECONDS 300) is not in the pipeline"
    );
    // --templates still wins.
    let out = repository()
        .write(".kujira/policy.json", "{}")
        .write(
            "other/config.libsonnet",
            "(import 'builtin/config.libsonnet')\n",
        )
        .args(["build", "teams/shop/value.json", "--templates", "other"])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(out.stdout.contains(r#""value": "120""#), "{}", out.stdout);
}

#[test]
fn a_changed_platform_file_validates_every_team_it_governs() {
    for changed in [".kujira/policy.json", ".kujira/templates/config.libsonnet"] {
        let out = repository()
            .args(["validate", "--changed", changed])
            .output();
        assert_eq!(out.status, 1, "{changed}: {}", out.stderr);
        assert!(
            out.stderr.contains("teams/shop/value.json"),
            "{changed}: {}",
            out.stderr
        );
    }
    // A file nobody names is still nobody's business.
    let out = repository()
        .write("README.json", "{}")
        .args(["validate", "--changed", "README.json"])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "0 files ok\n");
}

/// A team whose scenario test is the Postman collection `teams/shop/c.json`.
fn team_with_collection() -> Test {
    Test::new()
        .write(
            "teams/shop/value.json",
            r#"{"Application": "shop", "Notification": "shop", "Email": "shop@example.com", "Account": "gke", "Image": "gcr.io/p/shop", "ScenarioTest": {"Collection": "c.json"}}"#,
        )
        .write("teams/shop/c.json", r#"{"info": {"name": "c"}, "item": []}"#)
}

#[test]
fn a_deleted_postman_file_fails_the_team_naming_it() {
    let test = team_with_collection();
    // Given explicitly (as a CI job lists a commit's files), though it no longer exists.
    std::fs::remove_file(test.path().join("teams/shop/c.json")).unwrap();
    let out = test
        .args(["validate", "--changed", "teams/shop/c.json"])
        .output();
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("teams/shop/value.json"),
        "{}",
        out.stderr
    );
}

/// `test`'s files committed in a real git repository (in place of its bare `.git`).
fn committed(test: Test) -> Test {
    let git = |args: &[&str]| support::git::git(test.path(), args);
    std::fs::remove_dir_all(test.path().join(".git")).unwrap();
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "teams"]);
    test
}

/// A Postman file deleted (`git rm`) or moved (`git mv`) in the commit fails the team
/// still naming its old path. pre-commit passes only the staged files that exist (none of
/// kujira-gen's, or the new name, which no team names): the deletion comes from git, and
/// a move is a deletion of the old path, though git itself shows it as a rename
/// (`diff.renames` is on by default), which `--diff-filter=D` does not list.
#[test]
fn a_deletion_or_move_staged_in_git_reaches_the_hook() {
    if !support::git::available("a_deletion_or_move_staged_in_git_reaches_the_hook") {
        return;
    }
    let cases: [(&[&str], &str); 2] = [
        (&["rm", "-q", "teams/shop/c.json"], "README.md"),
        (
            &["mv", "teams/shop/c.json", "teams/shop/collection.json"],
            "teams/shop/collection.json",
        ),
    ];
    for (change, passed) in cases {
        let test = committed(team_with_collection());
        support::git::git(test.path(), change);
        let out = test.args(["validate", "--changed", passed]).output();
        assert_eq!(out.status, 1, "{change:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("teams/shop/value.json") && out.stderr.contains("c.json"),
            "{change:?}: {}",
            out.stderr
        );
    }
}

/// Two teams committed, then `teams/shop` removed with `git rm` (not yet committed).
fn shop_removed() -> Test {
    let test = committed(team_with_collection().write(
        "teams/cart/value.json",
        r#"{"Application": "cart", "Notification": "cart", "Email": "cart@example.com", "Account": "gke", "Image": "gcr.io/p/cart"}"#,
    ));
    support::git::git(test.path(), &["rm", "-q", "-r", "teams/shop"]);
    test
}

/// Removing a team is a change the hook lets through (it has nothing to validate), and
/// says what stays behind; so does a CI job that lists the deleted file itself. A team
/// that moved leaves nothing behind.
#[test]
fn a_team_removed_in_the_commit_passes_the_hook_with_a_note() {
    if !support::git::available("a_team_removed_in_the_commit_passes_the_hook_with_a_note") {
        return;
    }
    let note = "teams/shop/value.json: note: deleted: nothing to validate. No value file declares application `shop` any more: its pipelines stay in Spinnaker until they are deleted there (push acts only on applications a value file declares; diff --undeclared lists them)\n";
    // The hook: pre-commit passes no file that is gone.
    shop_removed()
        .args(["validate", "--changed", "README.md"])
        .stdout("0 files ok\n")
        .stderr(note)
        .run();
    // CI: the changed files of a pull request, the deleted ones among them, once each.
    shop_removed()
        .args([
            "validate",
            "--changed",
            "teams/shop/value.json",
            "teams/shop/c.json",
            "teams/cart/value.json",
        ])
        .stdout("1 file ok\n")
        .stderr(note)
        .run();
    // A file whose last version git does not have: what stays behind is not known.
    let test = shop_removed();
    support::git::git(test.path(), &["commit", "-q", "-m", "shop removed"]);
    test.args(["validate", "--changed", "teams/shop/value.json"])
        .stdout("0 files ok\n")
        .stderr("teams/shop/value.json: note: deleted: nothing to validate. Unless another value file declares its application, that application's pipelines stay in Spinnaker until they are deleted there (push acts only on applications a value file declares; diff --undeclared lists them)\n")
        .run();
    // Moved: the application is declared by the file it moved to.
    let test = shop_removed();
    support::git::git(test.path(), &["reset", "-q", "--hard"]);
    support::git::git(test.path(), &["mv", "teams/cart", "teams/basket"]);
    test.args(["validate", "--changed", "teams/basket/value.json"])
        .stdout("1 file ok\n")
        .stderr("")
        .run();
}

#[test]
fn an_application_declared_elsewhere_is_a_clash_for_a_partial_command() {
    let team = |app: &str| {
        format!(
            r#"{{"Application": "{app}", "Notification": "x", "Email": "x@example.com", "Account": "gke", "Image": "gcr.io/p/x"}}"#
        )
    };
    // A GitOps repository: its platform directory governs every team under it.
    let test = || {
        Test::new()
            .write(".kujira/policy.json", "{}")
            .write("teams/payments/value.json", team("payments"))
            .write("teams/payments-v2/value.json", team("Payments"))
    };
    let out = test()
        .args(["validate", "--changed", "teams/payments-v2/value.json"])
        .output();
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("application `Payments` is also declared by teams/payments/value.json"),
        "{}",
        out.stderr
    );
    for command in ["build", "diff", "push"] {
        let out = test()
            .args([command, "teams/payments-v2"])
            .env("KUJIRA_GATE_ENDPOINT", "http://127.0.0.1:9")
            .output();
        assert_eq!(out.status, 1, "{command}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("is also declared by teams/payments/value.json"),
            "{command}: {}",
            out.stderr
        );
    }
    // The other file saved by an editor that writes a byte order mark: still read.
    let out = test()
        .write(
            "teams/payments/value.json",
            format!("\u{feff}{}", team("payments")),
        )
        .args(["validate", "--changed", "teams/payments-v2/value.json"])
        .output();
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("application `Payments` is also declared by teams/payments/value.json"),
        "{}",
        out.stderr
    );
}

#[test]
fn settings_must_be_unambiguous() {
    let team = r#"{"Application": "shop", "Notification": "shop", "Email": "shop@example.com", "Account": "gke", "Image": "gcr.io/p/shop"}"#;
    let out = Test::new()
        .write(".kujira/policy.json", policy_file())
        .write("teams/.kujira/policy.json", "{}")
        .write("teams/shop/value.json", team)
        .args(["validate", "teams"])
        .output();
    assert_eq!(out.status, 1);
    assert_eq!(
        out.stderr,
        "teams/shop/value.json: error: governed by two platform directories, teams/.kujira and .kujira: a repository has one (merge them, or pass --platform DIR)\n1 error in 1 of 1 file\n"
    );
    // Outside any repository, without --platform.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("value.json"), team).unwrap();
    let out = std::process::Command::new(support::test::BIN)
        .current_dir(dir.path())
        .args(["validate", "value.json"])
        .env_remove("KUJIRA_PLATFORM")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "value.json: error: not inside a repository (no .git above it) and no .kujira/ above it: say which platform settings apply with --platform DIR (or KUJIRA_PLATFORM)\n1 error in 1 of 1 file\n"
    );
}

#[test]
fn a_new_team_starts_valid_in_the_editor_and_in_validate() {
    let test = Test::new()
        .example_tree("gitops")
        .write("teams/newteam/.keep", "");
    let init = std::process::Command::new(support::test::BIN)
        .current_dir(test.path().join("teams/newteam"))
        .arg("init")
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let written = std::fs::read_to_string(test.path().join("teams/newteam/value.json")).unwrap();
    assert_eq!(
        written,
        "{\n  \"$schema\": \"../../value.schema.json\",\n  \"Application\": \"newteam\",\n  \"Notification\": \"newteam-releases\",\n  \"Repo\": \"github\"\n}\n",
        "keys the platform's defaults fill in are left out"
    );
    let schema = std::process::Command::new(support::test::BIN)
        .current_dir(test.path().join("teams/newteam"))
        .arg("schema")
        .output()
        .unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&schema.stdout).unwrap();
    let file: serde_json::Value = serde_json::from_str(&written).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&file)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "the editor's schema refuses it: {errors:?}"
    );
    let out = test
        .env("KUJIRA_TODAY", "2026-12-02")
        .args(["validate", "teams/newteam/value.json"])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
}

#[test]
fn kujira_today_must_be_a_date() {
    let out = repository()
        .env("KUJIRA_TODAY", "tomorrow")
        .args(["validate", "teams"])
        .output();
    assert_eq!(out.status, 1);
    assert_eq!(
        out.stderr,
        "kujira-gen: error: KUJIRA_TODAY=\"tomorrow\": expected a date as YYYY-MM-DD, e.g. 2026-12-31\n"
    );
}

#[test]
fn graph_names_the_pipelines_there_are() {
    let out = Test::new()
        .example("two-environments")
        .args([
            "graph",
            "--pipeline",
            "bogus",
            "two-environments/value.json",
        ])
        .output();
    assert_eq!(out.status, 1);
    assert_eq!(
        out.stderr,
        "kujira-gen: error: --pipeline bogus: no such pipeline; the value files give release-staging, release-production\n"
    );
}

/// GitHub places an annotation on a pull request's file only when its path is relative to
/// the repository root, whatever directory the job runs in.
#[test]
fn github_annotations_name_files_from_the_repository_root() {
    let out = repository()
        .current_dir("teams")
        .args(["validate", "--format", "github", "shop/value.json"])
        .output();
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("::error file=teams/shop/value.json,line=1,"),
        "{}",
        out.stdout
    );
}

/// `--verbose` names each file's platform directory and template set, in the human
/// output and in `validate --format json`; `impact` names its two template sets.
#[test]
fn verbose_names_the_settings_each_file_used() {
    let out = repository()
        .write(".kujira/policy.json", "{}")
        .current_dir("teams")
        .args(["validate", "-v", "shop"])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "shop/value.json: note: platform ../.kujira, templates ../.kujira/templates\n"
    );
    let out = repository()
        .write(".kujira/policy.json", "{}")
        .args(["validate", "--verbose", "--format", "json", "teams"])
        .output();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        json[0]["message"],
        "platform .kujira, templates .kujira/templates"
    );
    let out = repository()
        .write(".kujira/policy.json", "{}")
        .args([
            "impact", "-v", "teams", "--old", "builtin", "--new", "builtin",
        ])
        .output();
    assert!(
        out.stderr.starts_with(
            "teams/shop/value.json: note: platform .kujira, templates builtin and builtin\n"
        ),
        "{}",
        out.stderr
    );
}
