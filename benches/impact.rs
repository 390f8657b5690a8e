//! Times `kujira-gen impact` on a generated repository: every team rendered twice (the
//! built-in templates, and an override that changes every pipeline, and the teams with a
//! scenario test a second way), compared and grouped.
//!
//! `cargo bench --bench impact [-- TEAMS [RUNS]]` (default 1000 teams, median of 5 runs).
//! Runs the real release binary, and `validate` on the same repository in the same run
//! for the ratio (one render per team against two).

#[path = "support/repo.rs"]
mod repo;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kujira-gen");

/// Wraps the built-in entry point: independent of what the built-in pipeline holds.
const OVERRIDE: &str = r#"local builtin = import 'builtin/main.jsonnet';
function(values)
  local b = builtin(values);
  b + { pipelines: [
    p + { description: 'Changed for the benchmark' }
      + (if std.objectHas(values, 'ScenarioTest') then { keepWaitingPipelines: true } else {})
    for p in b.pipelines
  ] }
"#;

fn median_run(args: &[&str], cwd: &Path, runs: usize, expect: i32) -> (Duration, String) {
    let mut last = String::new();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let out = Command::new(BIN)
                .args(args)
                .current_dir(cwd)
                .output()
                .expect("run kujira-gen");
            let elapsed = start.elapsed();
            assert_eq!(
                out.status.code(),
                Some(expect),
                "kujira-gen {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            last = String::from_utf8_lossy(&out.stdout).into_owned();
            elapsed
        })
        .collect();
    times.sort();
    (times[times.len() / 2], last)
}

fn main() {
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let teams = numbers.first().copied().unwrap_or(1000);
    let runs = numbers.get(1).copied().unwrap_or(5).max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join(".git")).expect("create .git");
    for i in 0..teams {
        repo::write_team(dir.path(), i);
    }
    std::fs::create_dir(dir.path().join("platform")).expect("create platform");
    std::fs::write(dir.path().join("platform/main.jsonnet"), OVERRIDE).expect("write override");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{teams} teams, {cores} cores, median of {runs} runs");

    let (validate, _) = median_run(&["validate", "teams"], dir.path(), runs, 0);
    let (same, _) = median_run(
        &["impact", "teams", "--old", "builtin", "--new", "builtin"],
        dir.path(),
        runs,
        0,
    );
    let (changed, report) = median_run(
        &["impact", "teams", "--old", "builtin", "--new", "platform"],
        dir.path(),
        runs,
        3,
    );
    let (json, _) = median_run(
        &[
            "impact", "teams", "--old", "builtin", "--new", "platform", "--format", "json",
        ],
        dir.path(),
        runs,
        3,
    );
    let headline = report.lines().nth(2).unwrap_or("");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "validate (1 render per team):        {:8.1} ms",
        ms(validate)
    );
    println!("impact, nothing changes:             {:8.1} ms", ms(same));
    println!(
        "impact, every team changes:          {:8.1} ms  ({:.3} ms per team)",
        ms(changed),
        ms(changed) / teams as f64
    );
    println!("impact --format json:                {:8.1} ms", ms(json));
    println!(
        "impact / validate:                   {:8.2}x",
        ms(changed) / ms(validate)
    );
    println!("report: {headline}");
}
