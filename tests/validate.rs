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
fn a_directory_without_value_files_is_an_error_unless_allowed() {
    Test::new()
        .write("empty/README.md", "nothing here")
        .args(["validate", "empty"])
        .status(1)
        .stderr(
            "empty: error: no value.json found in this directory (--allow-empty accepts that)\n\
             1 error in 1 of 1 file\n",
        )
        .run();
    Test::new()
        .write("empty/README.md", "nothing here")
        .args(["validate", "--allow-empty", "empty"])
        .stdout("0 files ok\n")
        .run();
}

#[test]
fn strict_makes_warnings_fail() {
    let with_warning = GOOD.replace("}", ", \"Env\": {\"API_TOKEN\": \"abcd-1234\"}}");
    Test::new()
        .write("value.json", with_warning)
        .args(["validate", "--strict", "value.json"])
        .status(1)
        .stderr(
            "value.json:1:129: error: Env.API_TOKEN: `API_TOKEN` looks like a secret: its value would be readable by \
             everyone with Spinnaker access; use {\"Secret\": \"<secret name>\", \"Key\": \"<key>\"}\n\
             1 error in 1 of 1 file\n",
        )
        .run();
}

#[test]
fn github_format_prints_workflow_commands() {
    let out = Test::new()
        .write("teams/a/value.json", "{\n  \"Replicas\": \"2\"\n}\n")
        .args(["validate", "--format", "github", "teams"])
        .output();
    assert_eq!(out.status, 1);
    assert!(
        out.stdout
            .lines()
            .all(|l| l.starts_with("::error file=teams/a/value.json,line=")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("::error file=teams/a/value.json,line=2,col=15,title=kujira-gen::Replicas: expected an integer, got \"2\"\n"),
        "{}",
        out.stdout
    );
    assert_eq!(out.stderr, "6 errors in 1 of 1 file\n");
}

#[test]
fn changed_files_validate_the_value_files_that_name_them() {
    let with_test = GOOD.replace(
        "}",
        ", \"ScenarioTest\": {\"Collection\": \"c.postman_collection.json\"}}",
    );
    let test = Test::new()
        .write("teams/a/value.json", with_test)
        .write("teams/a/c.postman_collection.json", "{\"info\": {}}")
        .write("teams/b/value.json", "not json")
        .write("teams/a/notes.json", "{}");
    // Only the collection changed (and an unrelated file): team a is validated, b is not.
    test.args(["validate", "--changed", "teams/a/c.postman_collection.json", "teams/a/notes.json"])
        .status(1)
        .stderr(
            "teams/a/value.json:1:139: error: ScenarioTest.Collection: `teams/a/c.postman_collection.json` is not a \
             Postman collection (v2.0 or v2.1): its `info.schema` does not name the collection format v2.0 or v2.1\n\
             1 error in 1 of 1 file\n",
        )
        .run();
    Test::new()
        .write("notes.json", "{}")
        .args(["validate", "--changed", "notes.json"])
        .stdout("0 files ok\n")
        .run();
}

#[test]
fn a_template_error_is_printed_once_at_the_override_file_with_every_team() {
    // config.libsonnet is also a built-in file: the error is located in the override.
    Test::new()
        .write("teams/a/value.json", GOOD)
        .write("teams/b/value.json", GOOD.replace("\"a\"", "\"b\""))
        .write(
            "platform/config.libsonnet",
            "{\n  pipelineName: error 'pipelineName is not set',\n}\n",
        )
        .write(
            "platform/main.jsonnet",
            "local config = import 'config.libsonnet';\n\
             function(values) { application: { name: values.Application }, pipelines: [{ name: config.pipelineName }] }\n",
        )
        .args(["validate", "--templates", "platform", "teams"])
        .status(1)
        .stderr(
            "platform/config.libsonnet:2:17: error: pipelineName is not set\n    \
             at platform/config.libsonnet:2:17: error statement\n    \
             at platform/main.jsonnet:2:90: field <pipelineName> access\n    \
             field <name> evaluation\n    \
             elem <0> manifestification\n    \
             field <pipelines> manifestification\n    \
             while rendering 2 value files: teams/a/value.json, teams/b/value.json\n\
             1 error in 2 of 2 files\n",
        )
        .run();
}

#[cfg(unix)]
mod not_regular_files {
    use super::*;
    use std::time::Duration;

    /// A regression that reads a FIFO or /dev/zero blocks: fail instead of hanging.
    const LIMIT: Duration = Duration::from_secs(60);

    fn fifo(test: &Test, path: &str) {
        let full = test.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(&full)
            .status()
            .unwrap();
        assert!(status.success());
    }

    #[test]
    fn a_fifo_named_on_the_command_line_is_an_error_not_a_hang() {
        let test = Test::new();
        fifo(&test, "teams/b/value.json");
        test.args(["validate", "teams/b/value.json"])
            .timeout(LIMIT)
            .status(1)
            .stderr(
                "teams/b/value.json: error: not a regular file (a FIFO); a value file must be a regular file\n\
                 1 error in 1 of 1 file\n",
            )
            .run();
    }

    #[test]
    fn a_link_to_dev_zero_is_an_error_not_a_hang() {
        let test = Test::new().write("teams/b/.keep", "");
        std::os::unix::fs::symlink("/dev/zero", test.path().join("teams/b/value.json")).unwrap();
        test.args(["validate", "teams/b/value.json"])
            .timeout(LIMIT)
            .status(1)
            .stderr(
                "teams/b/value.json: error: not a regular file (a character device, through a symbolic link to \
                 /dev/zero); a value file must be a regular file\n1 error in 1 of 1 file\n",
            )
            .run();
    }

    #[test]
    fn a_directory_walk_warns_about_them_and_strict_fails() {
        let make = || {
            let test = Test::new().write("teams/a/value.json", GOOD);
            fifo(&test, "teams/b/value.json");
            std::fs::create_dir_all(test.path().join("teams/c")).unwrap();
            std::os::unix::fs::symlink("/dev/zero", test.path().join("teams/c/value.json"))
                .unwrap();
            test
        };
        make()
            .args(["validate", "teams"])
            .timeout(LIMIT)
            .stdout("1 file ok (2 warnings)\n")
            .stderr(
                "teams/b/value.json: warning: skipped: not a regular file (a FIFO); a value file must be a regular file\n\
                 teams/c/value.json: warning: skipped: not a regular file (a character device, through a symbolic \
                 link to /dev/zero); a value file must be a regular file\n",
            )
            .run();
        let out = make()
            .args(["validate", "--strict", "teams"])
            .timeout(LIMIT)
            .status(1)
            .output();
        assert!(
            out.stderr.ends_with("2 errors in 2 of 3 files\n"),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn a_value_file_over_the_limit_is_refused() {
        let big = format!("{{\"Application\": \"{}\"}}", "a".repeat(1024 * 1024));
        Test::new()
            .write("value.json", big)
            .args(["validate", "value.json"])
            .timeout(LIMIT)
            .status(1)
            .stderr(
                "value.json: error: larger than 1048576 bytes; a value file may have at most 1048576\n\
                 1 error in 1 of 1 file\n",
            )
            .run();
    }
}

/// Colour on a terminal, none with TERM=dumb or NO_COLOR: the binary's stderr is a real
/// pseudo-terminal here.
#[cfg(target_os = "linux")]
mod colour {
    use super::*;
    use std::io::Read;
    use std::os::fd::FromRawFd;

    fn stderr_on_a_terminal(env: &[(&str, &str)]) -> String {
        let test = Test::new().write("value.json", "{\"Replicas\": \"2\"}");
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two new descriptors into the integers it is given.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty failed");
        // SAFETY: both descriptors were just opened and are owned by these files alone.
        let (mut master, slave) = unsafe {
            (
                std::fs::File::from_raw_fd(master),
                std::fs::File::from_raw_fd(slave),
            )
        };
        let mut cmd = std::process::Command::new(support::test::BIN);
        cmd.args(["validate", "value.json"])
            .current_dir(test.path())
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR")
            // anstream colours a terminal of any TERM when `CI` is set (.ci/run sets it).
            .env_remove("CI")
            .stdout(std::process::Stdio::null())
            .stderr(slave);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        // The parent's copy of the slave went into `cmd`; drop it so reads end.
        drop(cmd);
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match master.read(&mut buf) {
                Ok(0) | Err(_) => break, // EIO once the child closed the terminal
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(child.wait().unwrap().code(), Some(1));
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn validate_colours_a_terminal() {
        let s = stderr_on_a_terminal(&[("TERM", "xterm-256color")]);
        assert!(
            s.contains("\x1b[1mvalue.json:1:1:\x1b[0m \x1b[1m\x1b[31merror\x1b[0m"),
            "{s:?}"
        );
    }

    #[test]
    fn term_dumb_and_no_color_mean_no_colour() {
        for env in [
            vec![("TERM", "dumb")],
            vec![("TERM", "xterm-256color"), ("NO_COLOR", "1")],
        ] {
            let s = stderr_on_a_terminal(&env);
            assert!(!s.contains('\x1b'), "{env:?}: {s:?}");
            assert!(s.contains("value.json:1:1: error: "), "{env:?}: {s:?}");
        }
    }
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
