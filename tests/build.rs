//! `kujira-gen build`: the generated pipelines, files written with -o, template overrides.

mod support;

use support::test::{Test, project_dir};

const MINIMAL: &str = r#"{
  "Application": "sample",
  "Notification": "sample-channel",
  "Repo": "github",
  "Email": "team-sample@example.com",
  "Account": "gke-production",
  "Image": "gcr.io/example-project/sample"
}
"#;

/// The full bundle of every bundled example, as `build FILE` prints it.
#[test]
fn examples_snapshots() {
    // Each example with a value file at its top; `gitops/` is a repository of its own
    // (tests/platform.rs).
    let mut names: Vec<String> = std::fs::read_dir(project_dir().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("value.json").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 4, "{names:?}");
    for name in names {
        let out = Test::new()
            .example(&name)
            .args(["build", &format!("{name}/value.json")])
            .output();
        assert_eq!(out.status, 0, "{name}: {}", out.stderr);
        assert_eq!(out.stderr, "", "{name}");
        insta::assert_snapshot!(format!("example_{name}"), out.stdout);
    }
}

#[test]
fn sample_is_the_seed_file_plus_three_keys() {
    let text = std::fs::read_to_string(project_dir().join("examples/sample/value.json")).unwrap();
    assert_eq!(text, MINIMAL);
}

#[test]
fn output_does_not_depend_on_the_current_directory() {
    let from_root = Test::new()
        .write("teams/sample/value.json", MINIMAL)
        .args(["build", "teams/sample/value.json"])
        .output();
    let from_team = Test::new()
        .write("teams/sample/value.json", MINIMAL)
        .current_dir("teams/sample")
        .args(["build", "value.json"])
        .output();
    assert_eq!(from_root.status, 0, "{}", from_root.stderr);
    assert_eq!(from_root.stdout, from_team.stdout);
    assert!(
        from_root
            .stdout
            .contains("\"source\": \"teams/sample/value.json\"")
    );
}

#[test]
fn same_input_gives_byte_identical_output() {
    let a = Test::new()
        .example("scenario-test")
        .args(["build", "scenario-test/value.json"])
        .output();
    let b = Test::new()
        .example("scenario-test")
        .args(["build", "scenario-test/value.json"])
        .output();
    assert_eq!(a.status, 0);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn thread_count_does_not_change_the_output() {
    let run = |jobs: &str| {
        let out = Test::new()
            .example("sample")
            .example("scenario-test")
            .example("manual-judgment")
            .example("pubsub")
            .args(["validate", "--format", "json", "-j", jobs, "."])
            .output();
        assert_eq!(out.status, 0, "{}", out.stderr);
        let built = Test::new()
            .example("sample")
            .example("scenario-test")
            .example("manual-judgment")
            .example("pubsub")
            .args(["build", ".", "-o", "out", "-j", jobs])
            .output();
        assert_eq!(built.status, 0, "{}", built.stderr);
        let mut files: Vec<(String, String)> = walkdir::WalkDir::new(built.dir.path().join("out"))
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e
                    .path()
                    .strip_prefix(built.dir.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (rel, std::fs::read_to_string(e.path()).unwrap())
            })
            .collect();
        files.sort();
        (out.stdout, files)
    };
    let one = run("1");
    assert_eq!(one.1.len(), 8);
    assert_eq!(one, run("4"));
}

#[test]
fn output_directory_gets_one_file_per_application_and_pipeline() {
    let out = Test::new()
        .example("sample")
        .example("pubsub")
        .args(["build", ".", "-o", "out"])
        .stderr("wrote 4 files for 2 applications to out\n")
        .run();
    let mut files: Vec<String> = walkdir::WalkDir::new(out.dir.path().join("out"))
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(out.dir.path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "out/sample/application.json",
            "out/sample/release.json",
            "out/search/application.json",
            "out/search/release.json"
        ]
    );

    // Each pipeline file is the pipeline object itself, as `spin pipeline save -f` takes it.
    let printed = Test::new()
        .example("sample")
        .args(["build", "sample/value.json"])
        .output();
    let bundle: serde_json::Value = serde_json::from_str(&printed.stdout).unwrap();
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.dir.path().join("out/sample/release.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(written, bundle["pipelines"][0]);
}

#[test]
fn nothing_is_written_unless_every_input_compiled() {
    let out = Test::new()
        .example("sample")
        .write("broken/value.json", "{\"Application\": \"broken\",}\n")
        .args(["build", "sample", "broken", "-o", "out"])
        .status(1)
        .stderr("broken/value.json:1:25: error: trailing comma: expected another member after `,`\n1 error in 1 of 2 files\n")
        .run();
    assert!(!out.dir.path().join("out").exists());
}

#[test]
fn printing_needs_exactly_one_input() {
    // Several PATHs: a usage error before anything is compiled.
    Test::new()
        .example("sample")
        .example("pubsub")
        .args(["build", "sample", "pubsub"])
        .status(2)
        .stderr(
            "error: build prints one value file; give -o DIR to build several\n\n\
             Usage: kujira-gen build [OPTIONS] <PATH>...\n\nFor more information, try '--help'.\n",
        )
        .run();
    // One directory holding several value files: known only after compiling.
    Test::new()
        .example("sample")
        .example("pubsub")
        .args(["build", "."])
        .status(1)
        .stderr("kujira-gen: error: 2 value files compiled; printing needs exactly one (write them all with -o DIR)\n")
        .run();
}

#[test]
fn invalid_values_print_nothing_on_stdout() {
    Test::new()
        .write("value.json", MINIMAL.replace("\"sample\",\n  \"Notification\"", "\"Sample\",\n  \"Notification\""))
        .args(["build", "value.json"])
        .status(1)
        .stderr(
            "value.json:2:18: error: Application: must be a lowercase DNS label: letters a-z, digits and '-', \
             starting with a letter and not ending with '-'; got \"Sample\"\n1 error in 1 of 1 file\n",
        )
        .run();
}

#[test]
fn missing_input_is_an_error() {
    Test::new()
        .args(["build", "nope/value.json"])
        .status(1)
        .stderr("nope/value.json: error: cannot read: No such file or directory\n1 error in 1 of 1 file\n")
        .run();
}

#[test]
fn a_platform_overrides_one_template_file() {
    let config = std::fs::read_to_string(project_dir().join("templates/config.libsonnet"))
        .unwrap()
        .replace("postman/newman:6-alpine", "mirror.example.com/newman:6");
    let out = Test::new()
        .example("scenario-test")
        .write("platform/config.libsonnet", config)
        .args([
            "build",
            "scenario-test/value.json",
            "--templates",
            "platform",
        ])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("\"image\": \"mirror.example.com/newman:6\"")
    );
    assert!(!out.stdout.contains("postman/newman"));
}

#[test]
fn an_override_can_wrap_the_builtin_entry_point() {
    let main = "local builtin = import 'builtin/main.jsonnet';\n\
                function(values) builtin(values) + { pipelines: [p + { disabled: true } for p in super.pipelines] }\n";
    let out = Test::new()
        .write("value.json", MINIMAL)
        .write("platform/main.jsonnet", main)
        .args(["build", "value.json", "--templates", "platform"])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    let bundle: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(bundle["pipelines"][0]["disabled"], true);
    assert_eq!(bundle["pipelines"][0]["name"], "release");
}

#[test]
fn a_template_directory_that_does_not_exist_is_an_error() {
    Test::new()
        .write("value.json", MINIMAL)
        .args(["build", "value.json", "--templates", "platfrom"])
        .status(1)
        .stderr("kujira-gen: error: --templates platfrom: not a directory\n")
        .run();
    Test::new()
        .write("value.json", MINIMAL)
        .args(["validate", "value.json", "-J", "vendor"])
        .status(1)
        .stderr("kujira-gen: error: -J vendor: not a directory\n")
        .run();
}

#[test]
fn jpath_adds_library_directories() {
    let main = "local lib = import 'naming.libsonnet';\n\
                function(values) { application: { name: values.Application, email: values.Email }, \
                pipelines: [{ application: values.Application, name: lib.name(values), stages: [] }] }\n";
    let out = Test::new()
        .write("value.json", MINIMAL)
        .write("platform/main.jsonnet", main)
        .write(
            "vendor/naming.libsonnet",
            "{ name(v):: 'deploy-' + v.Application }\n",
        )
        .args([
            "build",
            "value.json",
            "--templates",
            "platform",
            "-J",
            "vendor",
        ])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    let bundle: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(bundle["pipelines"][0]["name"], "deploy-sample");
}

#[test]
fn template_errors_name_the_template_line() {
    Test::new()
        .write("value.json", MINIMAL)
        .write("platform/main.jsonnet", "function(values)\n  { application: error 'no application for ' + values.Application }\n")
        .args(["build", "value.json", "--templates", "platform"])
        .status(1)
        .stderr(
            "platform/main.jsonnet:2:18: error: no application for sample\n    \
             at platform/main.jsonnet:2:18: error statement\n    \
             field <application> evaluation\n    \
             while rendering value.json\n\
             1 error in 1 of 1 file\n",
        )
        .run();
}

#[test]
fn schema_prints_the_value_schema() {
    let out = Test::new().args(["schema"]).run_stdout();
    let expected =
        std::fs::read_to_string(project_dir().join("schemas/value.schema.json")).unwrap();
    assert_eq!(out, expected);
}

trait RunStdout {
    fn run_stdout(self) -> String;
}

impl RunStdout for Test {
    fn run_stdout(self) -> String {
        let out = self.output();
        assert_eq!(out.status, 0, "{}", out.stderr);
        assert_eq!(out.stderr, "");
        out.stdout
    }
}

/// Docker Hub images, and registries with a port, under both of Clouddriver's binding
/// modes: the expected artifact has the name a docker trigger's artifact carries (echo
/// AbstractOCIRegistryEvent: the account's registry host, `/`, the repository Igor reports),
/// and the pod template binds it in the installation's mode
/// (`upstream::artifact_replacer`, a model of Clouddriver's Replacer), never in a Rollout.
#[test]
fn image_names_match_the_trigger_and_bind_in_both_modes() {
    use kujira_gen::upstream::artifact_replacer::{Binding, binds_in};
    let cases = [
        ("myorg/app", "index.docker.io/myorg/app"),
        ("app", "index.docker.io/library/app"),
        ("docker.io/myorg/app", "index.docker.io/myorg/app"),
        ("docker.io/app", "index.docker.io/library/app"),
        ("index.docker.io/myorg/app", "index.docker.io/myorg/app"),
        ("gcr.io/p/app", "gcr.io/p/app"),
        (
            "registry.example.com:5000/team/app",
            "registry.example.com:5000/team/app",
        ),
    ];
    for (image, spinnaker_name) in cases {
        for mode in [Binding::NameAndTag, Binding::NameOnly] {
            let value = MINIMAL
                .replace("gcr.io/example-project/sample", image)
                .replace(
                    "\"Repo\": \"github\",",
                    &format!(
                        "\"Repo\": \"github\",\n  \"ArtifactBinding\": \"{}\",",
                        mode.setting()
                    ),
                );
            let out = Test::new()
                .write("value.json", &value)
                .args(["build", "value.json"])
                .output();
            assert_eq!(out.status, 0, "{image} {mode:?}: {}", out.stderr);
            let bundle: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            let p = &bundle["pipelines"][0];
            let trigger = &p["triggers"][0];
            let echo_name = format!(
                "{}/{}",
                trigger["registry"].as_str().unwrap(),
                trigger["repository"].as_str().unwrap()
            );
            let expected = p["expectedArtifacts"][0]["matchArtifact"]["name"]
                .as_str()
                .unwrap();
            assert_eq!(
                (echo_name.as_str(), expected),
                (spinnaker_name, spinnaker_name),
                "{image} {mode:?}"
            );
            let manifests = p["stages"][0]["manifests"].as_array().unwrap();
            let binds = |m: Binding| {
                manifests
                    .iter()
                    .filter(|x| binds_in(x, spinnaker_name, m))
                    .map(|x| x["kind"].as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            };
            assert_eq!(binds(mode), ["Deployment"], "{image} {mode:?}");
            // A registry with a port: what binds in one mode binds nothing in the other,
            // so the platform must say which mode its Clouddriver runs.
            let other = match mode {
                Binding::NameAndTag => Binding::NameOnly,
                Binding::NameOnly => Binding::NameAndTag,
            };
            let in_other = binds(other);
            if image.contains(":5000") {
                assert!(in_other.is_empty(), "{image} {mode:?}: {in_other:?}");
            } else {
                assert_eq!(in_other, ["Deployment"], "{image} {mode:?}");
            }
            let check = Test::new()
                .write("value.json", &value)
                .args(["validate", "value.json"])
                .output();
            assert_eq!(check.status, 0, "{image} {mode:?}: {}", check.stderr);
        }
    }
}

/// Fiat: each environment's triggers run as its `RunAsUser` (the docker trigger of the
/// first, the pipeline trigger of the next); without one, no trigger has `runAsUser`.
#[test]
fn triggers_run_as_the_environments_service_account() {
    let value = MINIMAL.replace(
        "  \"Account\": \"gke-production\",\n",
        r#"  "Environments": [
    {"Name": "staging", "Account": "gke-staging", "RunAsUser": "stage-bot@managed-service-account"},
    {"Name": "production", "Account": "gke-production", "RunAsUser": "prod-bot@managed-service-account"}
  ],
"#,
    );
    let out = Test::new()
        .write("value.json", &value)
        .args(["build", "value.json"])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    let bundle: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let triggers = |i: usize| {
        bundle["pipelines"][i]["triggers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["type"].as_str().unwrap().to_string(),
                    t["runAsUser"].as_str().map(str::to_string),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        triggers(0),
        [(
            "docker".to_string(),
            Some("stage-bot@managed-service-account".to_string())
        )]
    );
    assert_eq!(
        triggers(1),
        [(
            "pipeline".to_string(),
            Some("prod-bot@managed-service-account".to_string())
        )]
    );

    let plain = Test::new()
        .write("value.json", MINIMAL)
        .args(["build", "value.json"])
        .output();
    assert_eq!(plain.status, 0, "{}", plain.stderr);
    assert!(!plain.stdout.contains("runAsUser"), "{}", plain.stdout);
}
