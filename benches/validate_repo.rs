//! Times `kujira-gen validate` and `build -o` on a generated GitOps repository: the figures
//! of README's "Performance" section.
//!
//! `cargo bench --bench validate_repo [-- TEAMS [RUNS]] [-- --10k]`. Runs the real release
//! binary (process start, schema compilation, every team), so the figures are what a
//! pre-commit hook or CI job sees:
//!
//! - `validate` of one value file (what pre-commit runs): median of 31 runs;
//! - `validate` of TEAMS teams (default 1000): median of RUNS (default 5) runs, peak
//!   resident memory (of one more run, under `/usr/bin/time`), with one thread and with
//!   all cores;
//! - per team against the seed's way: the C++ `jsonnet` binary, one process per team,
//!   evaluating the same templates with the team's values (what a hand-written sponnet file
//!   per team costs; it validates nothing), on a sample of teams, same run;
//! - `build -o` of TEAMS teams: median of RUNS runs and peak memory;
//! - with `--10k`: 10,000 teams, one run, wall and peak memory against TEAMS' (linear time,
//!   flat memory).
//!
//! `KUJIRA_BENCH_BEFORE=/path/to/an/older/kujira-gen` runs that binary too, interleaved
//! with this one, for before/after figures measured in the same run (the machine is
//! shared and noisy: compare ratios). Several, separated like `PATH`, are named by their
//! paths.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/repo.rs"]
mod repo;

const BIN: &str = env!("CARGO_BIN_EXE_kujira-gen");

/// Teams rendered the seed's way (each takes a C++ `jsonnet` process of about a second).
const SEED_SAMPLE: usize = 8;

struct Run {
    wall: Duration,
    peak_kib: Option<u64>,
}

/// Runs `bin`, under `/usr/bin/time` (for the peak resident set size) when `peak` is asked
/// for and it exists.
fn run(bin: &str, args: &[&str], cwd: &Path, peak: bool) -> Run {
    let time = Path::new("/usr/bin/time");
    let rss_file = cwd.join(".rss");
    let mut cmd = if peak && time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let start = Instant::now();
    let out = cmd
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run kujira-gen");
    let wall = start.elapsed();
    assert!(
        out.status.success(),
        "{bin} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peak_kib = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()));
    let _ = std::fs::remove_file(&rss_file);
    Run { wall, peak_kib }
}

/// Median wall time of `runs` runs of each binary, interleaved so that all see the same
/// load, and the peak memory of one more run each. The timed runs start the binary
/// itself: under `/usr/bin/time` a one-file `validate` took 1.7 ms longer (measured),
/// time that is not kujira-gen's.
fn median_runs(bins: &[String], args: &[&str], cwd: &Path, runs: usize) -> Vec<(Duration, u64)> {
    let mut all: Vec<Vec<Duration>> = bins.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (bin, out) in bins.iter().zip(&mut all) {
            out.push(run(bin, args, cwd, false).wall);
        }
    }
    bins.iter()
        .zip(all)
        .map(|(bin, mut walls)| {
            walls.sort();
            let peak = run(bin, args, cwd, true).peak_kib.unwrap_or(0);
            (walls[walls.len() / 2], peak)
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn name(bin: &str) -> &str {
    if bin == BIN { "now" } else { bin }
}

/// TEAMS teams in a git repository with everything committed, as a pre-commit hook finds
/// it (its `git diff --cached` reads the index); a bare `.git` directory without git.
fn repository(teams: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..teams {
        repo::write_team(dir.path(), i);
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args([
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@example.com",
            ])
            .args(args)
            .current_dir(dir.path())
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let committed =
        git(&["init", "-q"]) && git(&["add", "-A"]) && git(&["commit", "-q", "-m", "teams"]);
    if !committed {
        let _ = std::fs::remove_dir_all(dir.path().join(".git"));
        std::fs::create_dir(dir.path().join(".git")).expect("create .git");
    }
    dir
}

/// The seed's way for team `i`: its values, plus what kujira-gen adds (`_kujira`: source,
/// the files it names, one environment), evaluated by C++ `jsonnet` over the same templates.
/// Median time per team, or why it could not run.
fn seed_per_team(root: &Path) -> Result<Duration, String> {
    let templates = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut times = Vec::new();
    for i in 0..SEED_SAMPLE {
        let team = root.join(format!("teams/team-{i:04}"));
        let text = std::fs::read_to_string(team.join("value.json")).map_err(|e| e.to_string())?;
        let mut values: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let mut files = serde_json::Map::new();
        if let Some(c) = values
            .get("ScenarioTest")
            .and_then(|s| s.get("Collection"))
            .and_then(|c| c.as_str())
        {
            let body = std::fs::read_to_string(team.join(c)).map_err(|e| e.to_string())?;
            files.insert(c.to_string(), body.into());
        }
        let kujira = serde_json::json!({
            "source": format!("teams/team-{i:04}/value.json"),
            "files": files,
            "environments": [{"name": null, "values": values.clone()}],
            "platformDefaults": [],
        });
        values.insert("_kujira".into(), kujira);
        let input = root.join(format!("seed-{i}.json"));
        std::fs::write(&input, serde_json::Value::Object(values).to_string())
            .map_err(|e| e.to_string())?;
        let start = Instant::now();
        let out = Command::new("jsonnet")
            .arg("-J")
            .arg(&templates)
            .arg("--tla-code-file")
            .arg(format!("values={}", input.display()))
            .arg(templates.join("main.jsonnet"))
            .output()
            .map_err(|e| format!("jsonnet: {e}"))?;
        times.push(start.elapsed());
        if !out.status.success() {
            return Err(format!(
                "jsonnet failed on team {i}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; take the first numeric arguments.
    let numbers: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let ten_k = args.iter().any(|a| a == "--10k");
    let teams = numbers.first().copied().unwrap_or(1000);
    let runs = numbers.get(1).copied().unwrap_or(5).max(1);
    let mut bins = vec![BIN.to_string()];
    if let Some(before) = std::env::var_os("KUJIRA_BENCH_BEFORE") {
        bins.extend(std::env::split_paths(&before).map(|p| p.to_string_lossy().into_owned()));
    }
    let dir = repository(teams);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{teams} teams, {cores} cores, median of {runs} runs");

    let one_file = ["validate", "teams/team-0001/value.json"];
    for (bin, (wall, peak)) in bins
        .iter()
        .zip(median_runs(&bins, &one_file, dir.path(), 31))
    {
        println!(
            "[{}] validate, one file:      {:8.1} ms  ({:.0} MB peak, median of 31)",
            name(bin),
            ms(wall),
            mb(peak)
        );
    }
    let all = median_runs(&bins, &["validate", "teams"], dir.path(), runs);
    for (bin, (wall, peak)) in bins.iter().zip(&all) {
        println!(
            "[{}] validate, {cores} threads:     {:8.1} ms  ({:.3} ms per team, {:.0} MB peak)",
            name(bin),
            ms(*wall),
            ms(*wall) / teams as f64,
            mb(*peak)
        );
    }
    let one = median_runs(&bins, &["validate", "-j", "1", "teams"], dir.path(), runs);
    for (bin, (wall, _)) in bins.iter().zip(&one) {
        println!(
            "[{}] validate, 1 thread:      {:8.1} ms  ({:.3} ms per team)",
            name(bin),
            ms(*wall),
            ms(*wall) / teams as f64
        );
    }
    match seed_per_team(dir.path()) {
        Ok(seed) => {
            println!(
                "seed's way (C++ jsonnet, one process per team): {:.1} ms per team (median of {SEED_SAMPLE})",
                ms(seed)
            );
            for (bin, (wall, _)) in bins.iter().zip(&all) {
                let per_team = ms(*wall) / teams as f64;
                println!(
                    "[{}] per team {:.0}x faster than the seed's way",
                    name(bin),
                    ms(seed) / per_team
                );
            }
        }
        Err(why) => println!("seed's way not measured: {why}"),
    }
    let build = median_runs(&bins, &["build", "teams", "-o", "out"], dir.path(), runs);
    for (bin, (wall, peak)) in bins.iter().zip(&build) {
        println!(
            "[{}] build -o, {cores} threads:  {:8.1} ms  ({:.0} MB peak)",
            name(bin),
            ms(*wall),
            mb(*peak)
        );
    }

    // The same repository under a release policy that every team satisfies (five rules,
    // one per check; docs/platform.md), against an empty platform directory, same run.
    let empty = dir.path().join("no-platform");
    let platform = dir.path().join("platform");
    std::fs::create_dir_all(&empty).expect("create platform dir");
    std::fs::create_dir_all(&platform).expect("create platform dir");
    std::fs::write(platform.join("policy.json"), POLICY).expect("write policy");
    let without = median_runs(
        &bins[..1],
        &["validate", "--platform", "no-platform", "teams"],
        dir.path(),
        runs,
    )[0]
    .0;
    let with = median_runs(
        &bins[..1],
        &["validate", "--platform", "platform", "teams"],
        dir.path(),
        runs,
    )[0]
    .0;
    println!(
        "validate without a policy: {:8.1} ms; with a 5-rule policy: {:8.1} ms ({:+.1}%)",
        ms(without),
        ms(with),
        (ms(with) / ms(without) - 1.0) * 100.0
    );

    // The repository as one unit (issue 17): its platform directory found from the files,
    // `.kujira/` at the root. A change to the policy validates every team; one changed value
    // file (what the pre-commit hook runs) also reads every other team's `Application`.
    let kujira = dir.path().join(".kujira");
    std::fs::create_dir_all(&kujira).expect("create .kujira");
    std::fs::write(kujira.join("policy.json"), POLICY).expect("write policy");
    let policy_change = median_runs(
        &bins[..1],
        &["validate", "--changed", ".kujira/policy.json"],
        dir.path(),
        runs,
    )[0]
    .0;
    println!(
        "validate --changed .kujira/policy.json ({teams} teams): {:8.1} ms",
        ms(policy_change)
    );
    let hook = median_runs(
        &bins,
        &["validate", "--changed", "teams/team-0001/value.json"],
        dir.path(),
        31,
    );
    let alone = median_runs(&bins, &one_file, dir.path(), 31);
    for ((bin, (hook, _)), (alone, _)) in bins.iter().zip(hook).zip(alone) {
        println!(
            "[{}] one value file through the pre-commit hook: {:8.1} ms (median of 31; the same file without --changed: {:.1} ms)",
            name(bin),
            ms(hook),
            ms(alone)
        );
    }
    std::fs::remove_dir_all(&kujira).expect("remove .kujira");

    if ten_k {
        drop(dir);
        let big = repository(10_000);
        let big_runs = median_runs(&bins, &["validate", "teams"], big.path(), 1);
        for ((bin, (wall, peak)), (small_wall, small_peak)) in
            bins.iter().zip(big_runs).zip(all.iter().copied())
        {
            println!(
                "[{}] validate, 10,000 teams: {:8.1} ms ({:.3} ms per team, {:.2}x the per-team time of {teams}), {:.0} MB peak ({:.0} MB for {teams})",
                name(bin),
                ms(wall),
                ms(wall) / 10_000.0,
                (ms(wall) / 10_000.0) / (ms(small_wall) / teams as f64),
                mb(peak),
                mb(small_peak)
            );
        }
    }
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
