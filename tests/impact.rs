//! `kujira-gen impact`: every team rendered with two template sets, differences grouped.
//! The template sets are small ones written into the test directory, so these tests do
//! not depend on the built-in templates.

mod support;

use support::test::Test;

const A: &str = r#"{"Application": "alpha", "Notification": "c", "Email": "a@example.com", "Account": "k", "Image": "gcr.io/p/alpha"}"#;
const B: &str = r#"{"Application": "beta", "Notification": "c", "Email": "b@example.com", "Account": "k", "Image": "gcr.io/p/beta", "ManualJudgment": true}"#;

/// A complete template set: one pipeline with a wait stage of `wait` seconds and, for teams
/// with a manual judgment, an approval stage; `describe` words the description.
fn templates(wait: u32, describe: &str) -> String {
    format!(
        r##"function(values) {{
  application: {{ name: values.Application, email: values.Email }},
  pipelines: [{{
    application: values.Application,
    name: 'release',
    description: '{describe} ' + values.Application,
    stages: [{{ type: 'wait', name: 'Wait', refId: 'wait', requisiteStageRefIds: [], waitTime: {wait} }}]
      + (if std.objectHas(values, 'ManualJudgment') then [{{
        type: 'manualJudgment', name: 'Approve', refId: 'approve', requisiteStageRefIds: ['wait'],
        judgmentInputs: [{{ value: 'Go' }}],
        stageEnabled: {{ type: 'expression', expression: "#stage('Wait')['status'].toString() == 'SUCCEEDED'" }},
      }}] else []),
  }}],
}}
"##
    )
}

fn repo() -> Test {
    Test::new()
        .write("teams/alpha/value.json", A)
        .write("teams/beta/value.json", B)
        .write("old/main.jsonnet", templates(30, "Release of"))
}

#[test]
fn no_change_exits_0() {
    repo()
        .write("new/main.jsonnet", templates(30, "Release of"))
        .args(["impact", "teams", "--old", "old", "--new", "new"])
        .stdout("old: old\nnew: new\n2 teams compared: 0 changed, 2 unchanged\n")
        .run();
}

#[test]
fn teams_with_the_same_change_are_one_group_with_one_diff() {
    // The description names each team's application: still the same change for both.
    repo()
        .write("new/main.jsonnet", templates(60, "Blue-green release of"))
        .args(["impact", "teams", "--old", "old", "--new", "new"])
        .status(3)
        .stdout(
            r#"old: old
new: new
2 teams compared: 2 changed, 0 unchanged

== 2 teams: 2 changes
  pipelines[release].description: "Release of {app}" -> "Blue-green release of {app}"
  pipelines[release].stages[Wait].waitTime: 30 -> 60
  teams:
    teams/alpha/value.json, teams/beta/value.json
  diff of teams/alpha/value.json:
--- old/alpha/release.json
+++ new/alpha/release.json
@@ -1,6 +1,6 @@
 {
   "application": "alpha",
-  "description": "Release of alpha",
+  "description": "Blue-green release of alpha",
   "id": "ID",
   "name": "release",
   "stages": [
@@ -9,7 +9,7 @@
       "refId": "wait",
       "requisiteStageRefIds": [],
       "type": "wait",
-      "waitTime": 30
+      "waitTime": 60
     }
   ]
 }
"#,
        )
        .run_with(ids);
}

/// Pipeline ids are UUIDs derived from names; the tests do not need to know them.
fn ids(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines() {
        match line.find("\"id\": \"") {
            Some(i) => out.push_str(&format!("{}\"id\": \"ID\",", &line[..i])),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[test]
fn different_changes_are_different_groups_largest_first() {
    // Only teams with an approval stage get a new condition on it.
    let new = templates(30, "Release of").replace(
        "'SUCCEEDED'\"",
        "'SUCCEEDED' and #stage('Wait')['outputs']['READY'] == 'true'\"",
    );
    let out = repo()
        .write("teams/gamma/value.json", B.replace("beta", "gamma"))
        .write("new/main.jsonnet", new)
        .args([
            "impact", "teams", "--old", "old", "--new", "new", "--format", "json",
        ])
        .status(3)
        .output();
    assert_eq!(out.status, 3, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["teams"], 3);
    assert_eq!(v["changed"], 2);
    assert_eq!(v["unchanged"], 1);
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        groups[0]["teams"],
        serde_json::json!(["teams/beta/value.json", "teams/gamma/value.json"])
    );
    assert_eq!(
        groups[0]["changes"],
        serde_json::json!([{
            "path": "pipelines[release].stages[Approve].stageEnabled.expression",
            "old": "\"#stage('Wait')['status'].toString() == 'SUCCEEDED'\"",
            "new": "\"#stage('Wait')['status'].toString() == 'SUCCEEDED' and #stage('Wait')['outputs']['READY'] == 'true'\""
        }])
    );
    // The condition is part of the stage graph: both pictures come with the report.
    let graph = &groups[0]["graphs"][0];
    assert_eq!(graph["pipeline"], "release");
    assert!(
        graph["new"].as_str().unwrap().contains(
            "only if #quot;Wait#quot; succeeded and #quot;Wait#quot; reported READY = true"
        ),
        "{graph}"
    );
    assert!(
        groups[0]["diff"]
            .as_str()
            .unwrap()
            .starts_with("--- old/beta/release.json\n")
    );
}

#[test]
fn markdown_has_a_summary_table_and_folded_diffs() {
    let out = repo()
        .write("new/main.jsonnet", templates(60, "Release of"))
        .args([
            "impact", "teams", "--old", "old", "--new", "new", "--format", "markdown",
        ])
        .status(3)
        .output();
    assert_eq!(out.status, 3, "{}", out.stderr);
    let md = out.stdout;
    assert!(
        md.starts_with("### kujira-gen impact: 2 of 2 teams change\n\n"),
        "{md}"
    );
    assert!(
        md.contains("| teams | change |\n|---:|---|\n| 2 | `pipelines[release].stages[Wait].waitTime`: `30` → `60` |\n"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>2 teams: 1 change</summary>"),
        "{md}"
    );
    assert!(md.contains("```diff\n--- old/alpha/release.json\n"), "{md}");
    assert!(md.contains("\n</details>\n"), "{md}");
}

#[test]
fn an_error_in_the_new_templates_is_reported_once_for_every_team() {
    repo()
        .write(
            "new/main.jsonnet",
            "function(values)\n  error 'no pipelines for ' + 'anyone'\n",
        )
        .args(["impact", "teams", "--old", "old", "--new", "new"])
        .status(1)
        .stderr(
            "new/main.jsonnet:2:3: error: no pipelines for anyone\n    \
             at new/main.jsonnet:2:3: error statement\n    \
             during TLA call\n    \
             while rendering 2 value files: teams/alpha/value.json, teams/beta/value.json\n",
        )
        .stdout("old: old\nnew: new\n2 teams compared: 0 changed, 0 unchanged, 2 failed\n")
        .run();
}

#[test]
fn a_git_revision_is_read_without_a_checkout() {
    let test = repo().write("tpl/main.jsonnet", templates(30, "Release of"));
    let git = |args: &[&str]| support::git::git(test.path(), args);
    std::fs::remove_dir(test.path().join(".git")).unwrap();
    git(&["init", "-q"]);
    git(&["add", "tpl"]);
    git(&["commit", "-q", "-m", "templates"]);
    // The working tree changes after the commit; the revision keeps the old text.
    let test = test.write("tpl/main.jsonnet", templates(45, "Release of"));
    let out = test
        .args([
            "impact", "teams", "--old", "HEAD:tpl", "--new", "tpl", "--format", "json",
        ])
        .status(3)
        .output();
    assert_eq!(out.status, 3, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["old"], "HEAD:tpl");
    assert_eq!(
        v["groups"][0]["changes"][0]["path"],
        "pipelines[release].stages[Wait].waitTime"
    );
    assert_eq!(v["groups"][0]["changes"][0]["old"], "30");
}

#[test]
fn an_error_in_a_git_revision_names_the_revision() {
    let test = repo();
    let out = test
        .args(["impact", "teams", "--old", "HEAD:tpl", "--new", "old"])
        .status(1)
        .output();
    assert_eq!(out.status, 1);
    // `repo()`'s `.git` is an empty directory: HEAD names no commit.
    assert_eq!(
        out.stderr,
        "kujira-gen: error: HEAD:tpl: `HEAD` is not a revision of this repository (is it fetched?)\n"
    );
}

/// The pull request that adds the platform's first template override: the directory does
/// not exist in the base revision, which rendered with the built-in templates; that is
/// what it is compared as (not git's "Not a valid object name").
#[test]
fn a_directory_missing_in_the_old_revision_is_named() {
    let test = repo().write("tpl/main.jsonnet", templates(30, "Release of"));
    let git = |args: &[&str]| support::git::git(test.path(), args);
    std::fs::remove_dir(test.path().join(".git")).unwrap();
    git(&["init", "-q"]);
    git(&["add", "teams"]);
    git(&["commit", "-q", "-m", "teams only"]);
    let out = test
        .args(["impact", "teams", "--old", "HEAD:tpl", "--new", "tpl"])
        .status(3)
        .output();
    assert_eq!(out.status, 3, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "kujira-gen: note: HEAD:tpl: `tpl` does not exist in `HEAD`: it rendered with the built-in templates, which it is compared as\n"
        ),
        "{}",
        out.stderr
    );
    let builtin = repo()
        .write("tpl/main.jsonnet", templates(30, "Release of"))
        .args(["impact", "teams", "--old", "builtin", "--new", "tpl"])
        .status(3)
        .output();
    assert_eq!(
        out.stdout.lines().skip(1).collect::<Vec<_>>(),
        builtin.stdout.lines().skip(1).collect::<Vec<_>>(),
        "the same report as against `builtin`"
    );
}

#[test]
fn a_template_set_that_is_neither_builtin_nor_a_directory_is_refused() {
    repo()
        .args(["impact", "teams", "--old", "nope", "--new", "old"])
        .status(1)
        .stderr(
            "kujira-gen: error: --old nope: no such directory (expected `builtin`, a directory, or REV:DIR for a directory in a git revision)\n",
        )
        .run();
}

#[test]
fn the_builtin_set_against_itself_changes_nothing() {
    let out = repo()
        .args(["impact", "teams", "--old", "builtin", "--new", "builtin"])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .ends_with("2 teams compared: 0 changed, 2 unchanged\n"),
        "{}",
        out.stdout
    );
}
