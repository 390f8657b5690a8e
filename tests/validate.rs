//! `kujira-gen validate`: every problem in every file, in one run, in the format editors
//! and CI annotators parse.

mod support;

use support::test::{Test, project_dir};

/// Each directory of `tests/corpus/` holds one bad input (`value.json`, or several under
/// `teams/`; maybe the files they name, a `templates/` override, the platform's `.kujira/`
/// settings) and its exact diagnostics are a snapshot.
#[test]
fn corpus_of_bad_inputs() {
    let corpus = project_dir().join("tests/corpus");
    let mut cases: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 40,
        "the corpus has only {} cases",
        cases.len()
    );
    for case in cases {
        let dir = corpus.join(&case);
        let mut cmd = std::process::Command::new(support::test::BIN);
        // A case with `teams/` holds several value files; one with `.kujira/` has platform
        // settings. Exemptions expire relative to a fixed day.
        let target = if dir.join("teams").is_dir() {
            "teams"
        } else {
            "value.json"
        };
        cmd.current_dir(&dir)
            .args(["validate", target])
            .env_remove("KUJIRA_TEMPLATES")
            .env_remove("KUJIRA_PLATFORM")
            .env("KUJIRA_TODAY", "2026-12-02");
        if dir.join("templates").is_dir() {
            cmd.args(["--templates", "templates"]);
        }
        if dir.join(".kujira").is_dir() {
            cmd.args(["--platform", ".kujira"]);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stderr.contains("panicked"), "{case}: {stderr}");
        let report = format!(
            "status: {}\n--- stderr\n{stderr}--- stdout\n{stdout}",
            out.status.code().unwrap_or(-1)
        );
        insta::assert_snapshot!(format!("corpus_{case}"), report);
    }
}

const GOOD: &str = r#"{"Application": "a", "Notification": "c", "Email": "a@example.com", "Account": "k", "Image": "gcr.io/p/a"}"#;

#[test]
fn every_problem_in_every_file_in_one_run() {
    Test::new()
        .write("teams/a/value.json", GOOD)
        .write("teams/b/value.json", GOOD.replace("\"a\"", "\"B\"").replace("a@example.com", "nobody"))
        .write("teams/c/value.json", "{\n  \"Application\": \"c\",\n  \"Replicas\": \"2\"\n}\n")
        .args(["validate", "teams"])
        .status(1)
        .stderr(
            "teams/b/value.json:1:17: error: Application: must be a lowercase DNS label: letters a-z, digits and '-', \
             starting with a letter and not ending with '-'; got \"B\"\n\
             teams/b/value.json:1:52: error: Email: expected an email address, got \"nobody\"\n\
             teams/c/value.json:1:1: error: missing required key `Email` (Owner's email address; Spinnaker requires one to create the application)\n\
             teams/c/value.json:1:1: error: missing required key `Notification` (Where Slack notifications go: a channel name (all of starting, complete and failed are notified), or an object choosing the events)\n\
             teams/c/value.json:1:1: error: missing required key `Image` (Container image repository without tag or digest; the tag comes from the artifact that triggers the pipeline)\n\
             teams/c/value.json:1:1: error: missing required key `Account` (Spinnaker Kubernetes account (cluster) to deploy to)\n\
             teams/c/value.json:3:15: error: Replicas: expected an integer, got \"2\"\n\
             7 errors in 2 of 3 files\n",
        )
        .run();
}

#[test]
fn success_prints_one_summary_line() {
    Test::new()
        .example("sample")
        .example("scenario-test")
        .example("manual-judgment")
        .args(["validate", "."])
        .stdout("3 files ok\n")
        .run();
}

#[test]
fn warnings_do_not_fail_validation() {
    Test::new()
        .write("value.json", GOOD.replace("}", ", \"Env\": {\"API_TOKEN\": \"abcd-1234\"}}"))
        .args(["validate", "value.json"])
        .stdout("1 file ok (1 warning)\n")
        .stderr(
            "value.json:1:129: warning: Env.API_TOKEN: `API_TOKEN` looks like a secret: its value would be readable by \
             everyone with Spinnaker access; use {\"Secret\": \"<secret name>\", \"Key\": \"<key>\"}\n",
        )
        .run();
}

#[test]
fn json_format_lists_the_same_diagnostics_for_tools() {
    let out = Test::new()
        .write("value.json", "{\n  \"Replicas\": \"2\"\n}\n")
        .args(["validate", "--format", "json", "value.json"])
        .status(1)
        .output();
    assert_eq!(out.status, 1);
    assert_eq!(out.stderr, "");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 6);
    assert_eq!(
        items[5],
        serde_json::json!({"file": "value.json", "line": 2, "column": 15, "severity": "error",
                           "path": "Replicas", "message": "expected an integer, got \"2\""})
    );
    // A missing key has no path of its own: it is reported at the object.
    assert_eq!(items[0]["path"], serde_json::Value::Null);
}

#[test]
fn json_format_prints_an_empty_array_when_all_is_well() {
    Test::new()
        .example("sample")
        .args(["validate", "--format", "json", "sample"])
        .stdout("[]\n")
        .run();
}

#[test]
fn a_directory_without_value_files_is_a_warning() {
    Test::new()
        .write("empty/README.md", "nothing here")
        .args(["validate", "empty"])
        .stdout("0 files ok (1 warning)\n")
        .stderr("empty: warning: no value.json found in this directory\n")
        .run();
}

#[test]
fn usage_errors_exit_2() {
    let out = Test::new().args(["validate"]).output();
    assert_eq!(out.status, 2);
    assert!(
        out.stderr.contains("required arguments were not provided"),
        "{}",
        out.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_directory_is_refused() {
    let test = Test::new()
        .write("secret.json", "{\"info\": {\"schema\": \"x\"}}")
        .write(
            "team/value.json",
            GOOD.replace("}", ", \"ScenarioTest\": {\"Collection\": \"c.json\"}}"),
        );
    std::os::unix::fs::symlink(
        test.path().join("secret.json"),
        test.path().join("team/c.json"),
    )
    .unwrap();
    test.args(["validate", "team"])
        .status(1)
        .stderr(
            "team/value.json:1:139: error: ScenarioTest.Collection: `c.json` is a link to a file outside the value \
             file's directory; files must be inside it\n1 error in 1 of 1 file\n",
        )
        .run();
}
