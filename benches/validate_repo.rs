//! Times `kujira-gen validate` and `build -o` on a generated GitOps repository.
//!
//! `cargo bench --bench validate_repo [-- TEAMS [RUNS]]`. Runs the real release binary (process
//! start, schema compilation, every team), so the figures are what a pre-commit hook or CI
//! job sees. Reports the median of RUNS (default 5) runs, with one thread and with all cores,
//! measured in the same run so that their ratio is meaningful on a noisy machine.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/repo.rs"]
mod repo;

const BIN: &str = env!("CARGO_BIN_EXE_kujira-gen");

fn median_run(args: &[&str], cwd: &Path, runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let out = Command::new(BIN)
                .args(args)
                .current_dir(cwd)
                .output()
                .expect("run kujira-gen");
            let elapsed = start.elapsed();
            assert!(
                out.status.success(),
                "kujira-gen {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            elapsed
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; take the first numeric arguments.
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
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{teams} teams, {cores} cores, median of {runs} runs");
    let one = median_run(&["validate", "-j", "1", "teams"], dir.path(), runs);
    let all = median_run(&["validate", "teams"], dir.path(), runs);
    let build = median_run(&["build", "teams", "-o", "out"], dir.path(), runs);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "validate, 1 thread:   {:8.1} ms  ({:.3} ms per team)",
        ms(one),
        ms(one) / teams as f64
    );
    println!(
        "validate, {cores} threads:  {:8.1} ms  ({:.3} ms per team)",
        ms(all),
        ms(all) / teams as f64
    );
    println!("build -o, {cores} threads:  {:8.1} ms", ms(build));
    println!("speed-up with {cores} threads: {:.2}x", ms(one) / ms(all));

    // The same repository under a release policy that every team satisfies (five rules,
    // one per check; docs/platform.md), against an empty platform directory, same run.
    let empty = dir.path().join("no-platform");
    let platform = dir.path().join("platform");
    std::fs::create_dir_all(&empty).expect("create platform dir");
    std::fs::create_dir_all(&platform).expect("create platform dir");
    std::fs::write(platform.join("policy.json"), POLICY).expect("write policy");
    let without = median_run(
        &["validate", "--platform", "no-platform", "teams"],
        dir.path(),
        runs,
    );
    let with = median_run(
        &["validate", "--platform", "platform", "teams"],
        dir.path(),
        runs,
    );
    println!(
        "validate without a policy: {:8.1} ms; with a 5-rule policy: {:8.1} ms ({:+.1}%)",
        ms(without),
        ms(with),
        (ms(with) / ms(without) - 1.0) * 100.0
    );
}

const POLICY: &str = r#"{
  "Rules": [
    {"Name": "gated", "Accounts": ["gke-staging"], "RequireTestOrJudgment": true},
    {"Name": "no-auto", "ForbidAutoPromotion": true},
    {"Name": "replicas", "MinReplicas": 2},
    {"Name": "registries", "AllowedRegistries": ["gcr.io/example/"]},
    {"Name": "heard", "RequireNotificationOn": ["failed"]}
  ],
  "Exemptions": [{"Application": "team-0000", "Rule": "replicas", "Reason": "bench", "Expires": "2099-12-31"}]
}"#;
