//! What a user expects of a Rust CLI: --version with the commit, --help with examples and
//! exit codes, shell completions, a man page, `init`, usage errors, and `graph`.

mod support;

use support::test::{BIN, Test};

const GOOD: &str = r#"{"Application": "a", "Notification": "c", "Email": "a@example.com", "Account": "k", "Image": "gcr.io/p/a"}"#;

#[test]
fn version_names_the_commit_when_built_from_git() {
    let out = Test::new().args(["--version"]).output();
    assert_eq!(out.status, 0);
    let expected = format!("kujira-gen {}", env!("CARGO_PKG_VERSION"));
    assert!(out.stdout.starts_with(&expected), "{}", out.stdout);
    // This test runs in a git checkout of kujira-gen (or a build that set the commit).
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Ok(git) = git
        && git.status.success()
        && std::env::var("KUJIRA_GEN_COMMIT").is_err()
    {
        let commit = String::from_utf8_lossy(&git.stdout).trim().to_string();
        assert_eq!(out.stdout, format!("{expected} (commit {commit})\n"));
    }
}

#[test]
fn help_has_examples_and_exit_codes() {
    let out = Test::new().args(["--help"]).output();
    assert_eq!(out.status, 0);
    for part in [
        "Examples:",
        "kujira-gen impact teams/",
        "Exit codes:",
        "2  usage error",
        "3  diff, impact: differences found",
    ] {
        assert!(out.stdout.contains(part), "no {part:?} in:\n{}", out.stdout);
    }
    let out = Test::new().args(["validate", "--help"]).output();
    assert!(
        out.stdout
            .contains("kujira-gen validate --strict --format github teams/"),
        "{}",
        out.stdout
    );
}

#[test]
fn completions_for_every_shell_name_the_commands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = Test::new().args(["completions", shell]).output();
        assert_eq!(out.status, 0, "{shell}: {}", out.stderr);
        for word in ["validate", "impact", "allow-empty"] {
            assert!(out.stdout.contains(word), "{shell}: no {word}");
        }
    }
    let out = Test::new().args(["completions", "tcsh"]).output();
    assert_eq!(out.status, 2);
}

/// Bash completes past the first word: the flags of `validate` after `kujira-gen
/// validate --st`, in a real bash with the generated script sourced.
#[test]
fn bash_completes_the_flags_of_a_subcommand() {
    let out = Test::new().args(["completions", "bash"]).output();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("kujira-gen.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let run = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}'; COMP_WORDS=(kujira-gen validate --st); COMP_CWORD=2; _kujira__gen kujira-gen --st validate; echo \"${{COMPREPLY[*]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "--strict\n",
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn man_pages_are_generated_from_the_definition() {
    let out = Test::new().args(["man"]).output();
    assert_eq!(out.status, 0);
    assert!(
        out.stdout.starts_with(".ie \\n(.g .ds Aq \\(aq"),
        "{}",
        &out.stdout[..80]
    );
    assert!(out.stdout.contains(".TH kujira-gen 1"), "{}", out.stdout);
    let out = Test::new().args(["man", "-o", "man1"]).output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    let page = std::fs::read_to_string(out.dir.path().join("man1/kujira-gen-impact.1")).unwrap();
    assert!(page.contains("\\-\\-old"), "{page}");
    assert!(out.dir.path().join("man1/kujira-gen.1").is_file());
    assert!(out.stderr.starts_with("wrote "), "{}", out.stderr);
    // Every page a page refers to (SEE ALSO: `kujira\-gen\-slo\-status(1)`) was written.
    let dir = out.dir.path().join("man1");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (i, _) in text.match_indices("kujira\\-gen\\-") {
            let rest = &text[i..];
            let Some(end) = rest.find("(1)") else {
                continue;
            };
            let name = rest[..end].replace('\\', "");
            if name.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                assert!(
                    dir.join(format!("{name}.1")).is_file(),
                    "{name}(1) is referred to but not written"
                );
            }
        }
    }
}

#[test]
fn build_with_several_paths_needs_an_output_directory() {
    let out = Test::new()
        .write("a/value.json", GOOD)
        .write("b/value.json", GOOD.replace("\"a\"", "\"b\""))
        .args(["build", "a/value.json", "b/value.json"])
        .output();
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: build prints one value file; give -o DIR to build several\n"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn init_writes_a_value_file_named_after_the_directory() {
    let out = Test::new()
        .write("value.schema.json", "{}")
        .write("teams/Billing_Service/.keep", "")
        .current_dir("teams/Billing_Service")
        .args(["init"])
        .stderr("wrote ./value.json\nfill in Email, Account, Image, then run: kujira-gen validate ./value.json\n")
        .run();
    let written =
        std::fs::read_to_string(out.dir.path().join("teams/Billing_Service/value.json")).unwrap();
    assert_eq!(
        written,
        r#"{
  "$schema": "../../value.schema.json",
  "Application": "billing-service",
  "Notification": "billing-service-releases",
  "Repo": "github",
  "Email": "",
  "Account": "",
  "Image": ""
}
"#
    );
    // What is left to fill in is what validate asks for.
    let out = Test::new()
        .write("value.json", &written)
        .args(["validate", "value.json"])
        .output();
    assert_eq!(out.status, 1);
    assert!(
        out.stderr.contains("Email: expected an email address"),
        "{}",
        out.stderr
    );
}

#[test]
fn init_with_every_value_validates_and_never_overwrites() {
    let test = Test::new()
        .args([
            "init",
            "team",
            "--application",
            "pay",
            "--email",
            "pay@example.com",
            "--account",
            "gke",
            "--image",
            "gcr.io/p/pay",
            "--schema",
            "https://example.com/value.schema.json",
        ])
        .stderr("wrote team/value.json\n")
        .run();
    let dir = test.dir;
    let validate = std::process::Command::new(BIN)
        .args(["validate", "team/value.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
    let again = std::process::Command::new(BIN)
        .args(["init", "team"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&again.stderr),
        "kujira-gen: error: team/value.json already exists; not overwriting it\n"
    );
}

/// A small template set, so that the picture does not depend on the built-in pipeline.
const TWO_STAGES: &str = r##"function(values) {
  application: { name: values.Application, email: values.Email },
  pipelines: [{
    application: values.Application, name: 'release',
    stages: [
      { type: 'wait', name: 'Wait', refId: 'w', requisiteStageRefIds: [], failPipeline: false, continuePipeline: true },
      { type: 'manualJudgment', name: 'Approve', refId: 'a', requisiteStageRefIds: ['w'],
        judgmentInputs: [{ value: 'Go' }, { value: 'Stop' }],
        stageEnabled: { type: 'expression', expression: "#stage('Wait')['status'].toString() == 'SUCCEEDED'" } },
      { type: 'wait', name: 'After', refId: 'x', requisiteStageRefIds: ['a'],
        stageEnabled: { type: 'expression', expression: "#judgment('Approve') == 'Go' and trigger['user'] != 'bot'" } },
    ],
  }],
}
"##;

#[test]
fn graph_draws_stages_edges_and_conditions_in_words() {
    Test::new()
        .write("value.json", GOOD)
        .write("t/main.jsonnet", TWO_STAGES)
        .args(["graph", "value.json", "--templates", "t"])
        .stdout(
            "flowchart TD\n    \
             s0[\"Wait<br/><i>wait</i><br/>the pipeline goes on if it fails\"]\n    \
             s1[\"Approve<br/><i>manualJudgment</i><br/>only if #quot;Wait#quot; succeeded<br/>choices: Go, Stop\"]\n    \
             s2[\"After<br/><i>wait</i><br/>only if #quot;Approve#quot; was answered #quot;Go#quot; and `trigger['user'] != 'bot'`\"]\n    \
             s0 --> s1\n    \
             s1 --> s2\n",
        )
        .run();
}

#[test]
fn graph_as_markdown_and_of_the_builtin_pipeline() {
    let out = Test::new()
        .write("value.json", GOOD)
        .args(["graph", "value.json", "--format", "markdown"])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("### a: "), "{}", out.stdout);
    assert!(
        out.stdout.contains("```mermaid\nflowchart TD\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(" --> "), "{}", out.stdout);
    let out = Test::new()
        .write("value.json", GOOD)
        .args(["graph", "value.json", "--pipeline", "nope"])
        .output();
    assert_eq!(out.status, 1);
    assert_eq!(
        out.stderr,
        "kujira-gen: error: --pipeline nope: no such pipeline; the value files give release\n"
    );
}

/// The README's picture of the pipeline is what `graph` draws today.
#[test]
fn the_readme_pipeline_picture_is_current() {
    let out = Test::new()
        .example("scenario-test")
        .args(["graph", "scenario-test/value.json"])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    let readme = std::fs::read_to_string(support::test::project_dir().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```mermaid\n{}```", out.stdout)),
        "README.md's mermaid block differs from `kujira-gen graph examples/scenario-test/value.json`"
    );
}
