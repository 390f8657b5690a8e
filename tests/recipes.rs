//! The CI recipes (`docs/ci/`), the pre-commit hooks and the Dockerfile run kujira-gen
//! commands. Each command must exist with the flags and values given: it is run with
//! `--help` appended (clap rejects an unknown command, flag or value before it gets to
//! `--help`, exit 2). And each recipe's commands run for real, in order, on a copy of the
//! example GitOps repository with a template override added, against the fake Gate
//! (`every_recipe_runs_for_real_on_a_gitops_repository`), as do the hooks'.

mod support;

use serde_json::Value;
use support::test::{BIN, project_dir};

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(project_dir().join(path)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Splits a shell script into simple commands and returns the arguments of those that
/// run kujira-gen. Knows what the recipes use: quotes, `;`, `&&`, `||`, `|`, `if`/`then`,
/// redirections (which end the arguments), `VAR=value` prefixes.
fn kujira_commands(script: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in script.lines() {
        let mut words: Vec<String> = Vec::new();
        let mut current = String::new();
        let mut quote: Option<char> = None;
        let flush = |current: &mut String, words: &mut Vec<String>| {
            if !current.is_empty() {
                words.push(std::mem::take(current));
            }
        };
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => current.push(c),
                (None, '\'' | '"') => quote = Some(c),
                (None, '#') if current.is_empty() => break,
                (None, ' ' | '\t') => flush(&mut current, &mut words),
                (None, ';') => {
                    flush(&mut current, &mut words);
                    words.push(";".into());
                }
                (None, '|' | '&') => {
                    flush(&mut current, &mut words);
                    if chars.peek() == Some(&c) {
                        chars.next();
                    }
                    words.push(";".into());
                }
                (None, c) => current.push(c),
            }
        }
        flush(&mut current, &mut words);
        for command in words.split(|w| w == ";") {
            let mut rest = command
                .iter()
                .skip_while(|w| {
                    matches!(w.as_str(), "if" | "then" | "else" | "do" | "!") || w.contains('=')
                })
                .map(String::as_str);
            if rest.next() == Some("kujira-gen") {
                let args: Vec<String> = rest
                    .take_while(|w| {
                        !w.starts_with('>') && !w.starts_with("2>") && !w.starts_with('<')
                    })
                    .map(str::to_string)
                    .collect();
                out.push(args);
            }
        }
    }
    out
}

/// Runs `kujira-gen ARGS --help` in the project directory (`--version` is run as is).
fn accepted(args: &[String]) -> Result<(), String> {
    let version = args == ["--version"];
    let out = std::process::Command::new(BIN)
        .args(args)
        .args(if version { None } else { Some("--help") })
        .current_dir(project_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = if version {
        "kujira-gen "
    } else {
        "Usage: kujira-gen"
    };
    match out.status.code() {
        Some(0) if stdout.contains(expected) => Ok(()),
        _ => Err(format!(
            "kujira-gen {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

fn check_all(recipe: &str, commands: &[Vec<String>], at_least: usize) {
    assert!(
        commands.len() >= at_least,
        "{recipe}: found only {} kujira-gen commands: {commands:?}",
        commands.len()
    );
    let failures: Vec<String> = commands.iter().filter_map(|c| accepted(c).err()).collect();
    assert!(failures.is_empty(), "{recipe}:\n{}", failures.join("\n"));
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn the_check_itself_rejects_what_does_not_exist() {
    let bad = |args: &[&str]| accepted(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>());
    assert!(bad(&["validate", "--format", "nope", "teams"]).is_err());
    assert!(bad(&["validate", "--nope", "teams"]).is_err());
    assert!(bad(&["frobnicate"]).is_err());
    assert!(bad(&["validate", "--format", "github", "teams"]).is_ok());
    assert_eq!(
        kujira_commands(
            "x=1 kujira-gen diff a || test $? -eq 3; if [ 1 ]; then kujira-gen push --yes b > out; fi"
        ),
        vec![vec!["diff", "a"], vec!["push", "--yes", "b"]]
    );
    assert!(kujira_commands("command -v kujira-gen || cargo install kujira-gen").is_empty());
}

#[test]
fn github_actions_recipe() {
    let v = yaml("docs/ci/github-actions.yml");
    let mut commands = Vec::new();
    for job in v["jobs"].as_object().unwrap().values() {
        for step in job["steps"].as_array().unwrap() {
            for script in strings(&step["run"]) {
                commands.extend(kujira_commands(&script));
            }
        }
    }
    check_all("github-actions.yml", &commands, 5);
}

#[test]
fn google_cloud_build_recipes() {
    for recipe in ["docs/ci/cloudbuild.yaml", "docs/ci/cloudbuild-pr.yaml"] {
        let v = yaml(recipe);
        let mut commands = Vec::new();
        for step in v["steps"].as_array().unwrap() {
            let args = strings(&step["args"]);
            match step["entrypoint"].as_str() {
                Some("kujira-gen") => commands.push(args),
                Some("bash") => {
                    assert_eq!(args.first().map(String::as_str), Some("-c"), "{recipe}");
                    commands.extend(kujira_commands(&args[1]));
                }
                other => panic!("{recipe}: unexpected entrypoint {other:?}"),
            }
        }
        check_all(recipe, &commands, 2);
    }
}

#[test]
fn gitlab_ci_recipe() {
    let v = yaml("docs/ci/gitlab-ci.yml");
    let mut commands = Vec::new();
    for (name, job) in v.as_object().unwrap() {
        if name == "default" || name == "stages" {
            continue;
        }
        for script in strings(&job["script"]) {
            commands.extend(kujira_commands(&script));
        }
    }
    check_all("gitlab-ci.yml", &commands, 4);
}

#[test]
fn pre_commit_hooks() {
    let v = yaml(".pre-commit-hooks.yaml");
    let hooks = v.as_array().unwrap();
    let mut commands = Vec::new();
    for hook in hooks {
        let entry = hook["entry"].as_str().unwrap();
        // pre-commit appends the staged files.
        commands.extend(kujira_commands(&format!("{entry} teams/a/value.json")));
    }
    check_all(".pre-commit-hooks.yaml", &commands, hooks.len());
    let languages: Vec<&str> = hooks
        .iter()
        .filter_map(|h| h["language"].as_str())
        .collect();
    for language in ["rust", "system", "docker"] {
        assert!(languages.contains(&language), "no `{language}` hook");
    }
}

#[test]
fn the_dockerfile_builds_as_the_readme_says_with_a_recent_enough_rust() {
    let docker = std::fs::read_to_string(project_dir().join("Dockerfile")).unwrap();
    let readme = std::fs::read_to_string(project_dir().join("README.md")).unwrap();
    let install = "cargo install --locked --path .";
    let run_lines: Vec<&str> = docker
        .lines()
        .filter(|l| l.trim_start().starts_with("RUN") || l.starts_with("    "))
        .collect();
    assert!(
        run_lines.iter().any(|l| l.contains(install)),
        "the Dockerfile does not run `{install}`"
    );
    // git in the image reads a repository mounted from the host (another owner).
    assert!(
        run_lines
            .iter()
            .any(|l| l.contains("git config --system --add safe.directory '*'")),
        "the image's git refuses a mounted repository (dubious ownership)"
    );
    assert!(
        readme.contains(install),
        "the README does not document `{install}`"
    );
    // The ENTRYPOINT is the installed binary.
    assert!(docker.contains("COPY --from=build /out/bin/kujira-gen /usr/local/bin/kujira-gen"));
    assert!(docker.contains("ENTRYPOINT [\"kujira-gen\"]"));

    let manifest = std::fs::read_to_string(project_dir().join("Cargo.toml")).unwrap();
    let wanted = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    let image = docker
        .lines()
        .find_map(|l| l.strip_prefix("FROM rust:"))
        .unwrap();
    let version = |s: &str| -> Vec<u32> {
        s.split(['.', '-'])
            .take(2)
            .map(|p| p.parse().unwrap())
            .collect()
    };
    assert!(
        version(image) >= version(wanted),
        "the Dockerfile builds with Rust {image}, older than rust-version {wanted}"
    );
}

/// Every kujira-gen command of every recipe, for real, in order, in a GitOps repository
/// (the example repository, committed, then a template override added as a pull request
/// would add it) against the fake Gate: validate passes, impact reports the override's
/// change (3), diff finds the pipelines missing (3), push creates them (0), and a second
/// diff finds nothing (0). CI variables name the base revision (`HEAD` here). The commands
/// run from the repository root, as the recipes do; the platform's settings and template
/// overrides come from `.kujira/` without any flag.
#[test]
fn every_recipe_runs_for_real_on_a_gitops_repository() {
    let recipes: Vec<(&str, Vec<Vec<String>>)> = vec![
        ("github-actions.yml", {
            let v = yaml("docs/ci/github-actions.yml");
            let mut c = Vec::new();
            for job in v["jobs"].as_object().unwrap().values() {
                for step in job["steps"].as_array().unwrap() {
                    for script in strings(&step["run"]) {
                        c.extend(kujira_commands(&script));
                    }
                }
            }
            c
        }),
        ("gitlab-ci.yml", {
            let v = yaml("docs/ci/gitlab-ci.yml");
            let mut c = Vec::new();
            for (name, job) in v.as_object().unwrap() {
                if name != "default" && name != "stages" {
                    for script in strings(&job["script"]) {
                        c.extend(kujira_commands(&script));
                    }
                }
            }
            c
        }),
        ("cloudbuild", {
            let mut c = Vec::new();
            for recipe in ["docs/ci/cloudbuild-pr.yaml", "docs/ci/cloudbuild.yaml"] {
                for step in yaml(recipe)["steps"].as_array().unwrap() {
                    let args = strings(&step["args"]);
                    match step["entrypoint"].as_str() {
                        Some("kujira-gen") => c.push(args),
                        _ => c.extend(kujira_commands(&args[1])),
                    }
                }
            }
            c
        }),
    ];
    if !support::git::available("every_recipe_runs_for_real_on_a_gitops_repository") {
        return;
    }
    for (recipe, commands) in recipes {
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path();
        copy_tree(&project_dir().join("examples/gitops"), root);
        let git = |args: &[&str]| support::git::git(root, args);
        git(&["init", "-q"]);
        git(&["add", "."]);
        git(&["commit", "-q", "-m", "base"]);
        // The pull request: the platform's first template override.
        std::fs::create_dir_all(root.join(".kujira/templates")).unwrap();
        std::fs::write(
            root.join(".kujira/templates/config.libsonnet"),
            "(import 'builtin/config.libsonnet') + { timeouts+: { verifySoakSeconds: 300 } }\n",
        )
        .unwrap();
        let gate = support::fake_gate::FakeGate::start();
        let mut diffs = 0;
        for args in &commands {
            if args.first().map(String::as_str) == Some("--version") {
                continue;
            }
            let args: Vec<String> = args
                .iter()
                .map(|a| {
                    a.replace("origin/${{ github.base_ref }}", "HEAD")
                        .replace("FETCH_HEAD", "HEAD")
                })
                .collect();
            let out = std::process::Command::new(BIN)
                .current_dir(root)
                .args(&args)
                .env("KUJIRA_GATE_ENDPOINT", &gate.url)
                .env("KUJIRA_GATE_TOKEN", "t0ken")
                .env("KUJIRA_TODAY", "2026-12-02")
                .env_remove("KUJIRA_PLATFORM")
                .env_remove("KUJIRA_TEMPLATES")
                .output()
                .unwrap();
            let want: &[i32] = match args[0].as_str() {
                "validate" => &[0],
                "impact" => &[3],
                "push" => &[0],
                // Before the push everything is missing; after it, nothing differs.
                "diff" => {
                    diffs += 1;
                    &[0, 3]
                }
                other => panic!("{recipe}: unexpected command {other}"),
            };
            let code = out.status.code().unwrap_or(-1);
            assert!(
                want.contains(&code),
                "{recipe}: kujira-gen {} exited {code}:\n{}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if args[0] == "impact" {
                let stdout = String::from_utf8_lossy(&out.stdout);
                assert!(
                    stdout.contains("verifySoakSeconds") || stdout.contains("\"300\""),
                    "{recipe}: {stdout}"
                );
            }
            if args[0] == "push" {
                // What was pushed carries the override: the soak time of 300 s.
                let again = std::process::Command::new(BIN)
                    .current_dir(root)
                    .args(["diff", "teams/"])
                    .env("KUJIRA_GATE_ENDPOINT", &gate.url)
                    .env("KUJIRA_GATE_TOKEN", "t0ken")
                    .env("KUJIRA_TODAY", "2026-12-02")
                    .output()
                    .unwrap();
                assert_eq!(
                    again.status.code(),
                    Some(0),
                    "{recipe}: a diff right after the push: {}",
                    String::from_utf8_lossy(&again.stdout)
                );
            }
        }
        assert!(
            diffs > 0 || recipe == "cloudbuild",
            "{recipe}: no diff step"
        );
    }
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The pre-commit hooks, for real: their `files:` patterns take every file type that can
/// change a result (value files and Postman files, the platform's JSON, its Jsonnet
/// template overrides), and their entry, given a staged template override, validates the
/// teams it governs.
#[test]
fn the_pre_commit_hooks_cover_platform_files_and_run_for_real() {
    let v = yaml(".pre-commit-hooks.yaml");
    let repo = tempfile::tempdir().unwrap();
    let root = repo.path();
    copy_tree(&project_dir().join("examples/gitops"), root);
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::create_dir_all(root.join(".kujira/templates")).unwrap();
    // A broken override: every team must fail.
    std::fs::write(
        root.join(".kujira/templates/config.libsonnet"),
        "(import 'builtin/config.libsonnet') + { images+: { newman: error 'broken' } }\n",
    )
    .unwrap();
    for hook in v.as_array().unwrap() {
        let entry = hook["entry"].as_str().unwrap();
        if let Some(files) = hook["files"].as_str() {
            // `\.(json|jsonnet|libsonnet)$`
            let inner = files
                .strip_prefix("\\.(")
                .and_then(|f| f.strip_suffix(")$"))
                .unwrap_or_else(|| panic!("{entry}: unexpected files pattern {files}"));
            let types: Vec<&str> = inner.split('|').collect();
            for needed in ["json", "jsonnet", "libsonnet"] {
                assert!(
                    types.contains(&needed),
                    "{entry}: files {files} misses .{needed}"
                );
            }
        }
        if hook["pass_filenames"] != Value::Bool(true) {
            continue;
        }
        let words: Vec<&str> = entry.split_whitespace().collect();
        assert_eq!(words[0], "kujira-gen");
        let out = std::process::Command::new(BIN)
            .current_dir(root)
            .args(&words[1..])
            .arg(".kujira/templates/config.libsonnet")
            .env("KUJIRA_TODAY", "2026-12-02")
            .env_remove("KUJIRA_PLATFORM")
            .env_remove("KUJIRA_TEMPLATES")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{entry}: {stderr}");
        assert!(stderr.contains("broken"), "{entry}: {stderr}");
    }
}
