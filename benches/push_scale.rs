//! Times `kujira-gen push` and `diff` of a generated GitOps repository against the fake
//! Gate (tests/support/fake_gate.rs) with network latency on every request.
//!
//! `cargo bench --bench push_scale [-- TEAMS... [--latency MS] [--parallel N] [--per-app]]`
//! (default: 250 and 1000 teams, 50 ms, the default `--parallel`). For each team count it
//! runs the real release binary: `validate` (the same compile without Gate, for reference:
//! push and diff minus validate is the time spent on Gate; the CPU times, less sensitive
//! to a busy machine than wall times, show the same), a first push into an empty
//! Spinnaker, a push with nothing to change, `diff`, and `diff` with bulk reads turned off
//! (`KUJIRA_GATE_BULK_LIMIT=0`: one read per application, the path taken on a large
//! shared Spinnaker). Each line gives the wall time, the CPU time (user + system) and
//! the peak memory (maximum resident set size) of the kujira-gen process, both from
//! `/usr/bin/time`, and the requests Gate received, by kind. `--per-app` adds a no-op push
//! with bulk reads off.
//!
//! `--serve SECONDS` pushes the first team count once and keeps the fake Gate up, for
//! profiling a single run by hand.
//!
//! `KUJIRA_BIN=/path/to/kujira-gen` measures another build (an older one, for before/after
//! figures); an older build ignores `KUJIRA_GATE_BULK_LIMIT`.

#[path = "../tests/support/fake_gate.rs"]
#[allow(dead_code)]
mod fake_gate;

use fake_gate::FakeGate;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Team `i`: a quarter each of the four kinds teams write (as in benches/validate_repo.rs).
fn write_team(root: &Path, i: usize) {
    write_team_image(root, i, "");
}

/// Team `i` with `suffix` after its image name: another suffix changes every pipeline.
fn write_team_image(root: &Path, i: usize, suffix: &str) {
    let dir = root.join(format!("teams/team-{i:04}"));
    std::fs::create_dir_all(&dir).expect("create team dir");
    let app = format!("team-{i:04}");
    let extra = match i % 4 {
        0 => "",
        1 => r#", "Replicas": 3"#,
        2 => {
            r#", "ManualJudgment": {"Instructions": "Check the dashboard"}, "Trigger": {"Type": "manual"}"#
        }
        _ => {
            r#", "Trigger": {"Type": "pubsub", "Subscription": "gcr"}, "Env": {"LOG_LEVEL": "info"}"#
        }
    };
    let value = format!(
        r#"{{"Application": "{app}", "Notification": "{app}-alerts", "Repo": "github", "Email": "{app}@example.com",
  "Account": "gke-production", "Image": "gcr.io/example/{app}{suffix}"{extra}}}"#
    );
    std::fs::write(dir.join("value.json"), value).expect("write value.json");
}

/// One measured run of kujira-gen: expected to exit 0.
struct Scenario<'a> {
    name: &'static str,
    args: Vec<&'a str>,
    env: &'a [(&'static str, String)],
}

impl<'a> Scenario<'a> {
    fn new(name: &'static str, args: Vec<&'a str>, env: &'a [(&'static str, String)]) -> Self {
        Self { name, args, env }
    }
}

struct Run {
    wall: Duration,
    /// User and system CPU time of the kujira-gen process.
    cpu: Option<Duration>,
    peak_kib: Option<u64>,
    status: i32,
    stderr: String,
}

/// Runs kujira-gen under `/usr/bin/time` (for the peak resident set size) if it exists.
fn run(bin: &str, args: &[&str], cwd: &Path, env: &[(&str, String)]) -> Run {
    let time = Path::new("/usr/bin/time");
    let rss_file = cwd.join(".rss");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f")
            .arg("%M %U %S")
            .arg("-o")
            .arg(&rss_file)
            .arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args).current_dir(cwd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let out = cmd.output().expect("run kujira-gen");
    let wall = started.elapsed();
    // "%M %U %S": peak resident KiB, user and system CPU seconds.
    let measured: Vec<f64> = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().map(str::to_string))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let peak_kib = measured.first().map(|k| *k as u64);
    let cpu = (measured.len() == 3).then(|| Duration::from_secs_f64(measured[1] + measured[2]));
    let _ = std::fs::remove_file(&rss_file);
    Run {
        wall,
        cpu,
        peak_kib,
        status: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn requests(before: &BTreeMap<String, usize>, after: &BTreeMap<String, usize>) -> String {
    let mut parts = Vec::new();
    let mut total = 0;
    for (k, n) in after {
        let d = n - before.get(k).copied().unwrap_or(0);
        if d > 0 {
            total += d;
            parts.push(format!("{d} {k}"));
        }
    }
    format!("{total} requests: {}", parts.join(", "))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut teams: Vec<usize> = Vec::new();
    let mut latency_ms = 50u64;
    let mut parallel: Option<String> = None;
    let mut per_app_push = false;
    let mut serve_secs: Option<u64> = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--latency" => {
                i += 1;
                latency_ms = args.get(i).and_then(|a| a.parse().ok()).unwrap_or(50);
            }
            "--parallel" => {
                i += 1;
                parallel = args.get(i).cloned();
            }
            "--per-app" => per_app_push = true,
            "--serve" => {
                i += 1;
                serve_secs = args.get(i).and_then(|a| a.parse().ok());
            }
            a => {
                if let Ok(n) = a.parse() {
                    teams.push(n);
                }
            }
        }
        i += 1;
    }
    if teams.is_empty() {
        teams = vec![250, 1000];
    }
    let bin = std::env::var("KUJIRA_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_kujira-gen").to_string());
    println!(
        "{bin}\nfake Gate with {latency_ms} ms per request; --parallel {}",
        parallel.as_deref().unwrap_or("default")
    );
    for n in teams {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join(".git")).expect("create .git");
        for i in 0..n {
            write_team(dir.path(), i);
        }
        let gate = FakeGate::start();
        gate.task_polls(0);
        gate.latency(Duration::from_millis(latency_ms));
        let env = vec![("KUJIRA_GATE_ENDPOINT", gate.url.clone())];
        let per_app = {
            let mut e = env.clone();
            e.push(("KUJIRA_GATE_BULK_LIMIT", "0".into()));
            e
        };
        let mut push: Vec<&str> = vec!["push", "--yes"];
        if let Some(p) = &parallel {
            push.extend(["--parallel", p.as_str()]);
        }
        push.push("teams");
        let mut scenarios = vec![
            // The same compile without Gate: what push and diff spend on the value files.
            Scenario::new("validate (no Gate)", vec!["validate", "teams"], &env),
            Scenario::new("first push", push.clone(), &env),
            Scenario::new("no-op push", push.clone(), &env),
        ];
        if per_app_push {
            scenarios.push(Scenario::new(
                "no-op push, per-app reads",
                push.clone(),
                &per_app,
            ));
        }
        scenarios.push(Scenario::new(
            "diff",
            vec!["diff", "--summary", "teams"],
            &env,
        ));
        scenarios.push(Scenario::new(
            "diff, per-app reads",
            vec!["diff", "--summary", "teams"],
            &per_app,
        ));
        println!("\n{n} teams");
        if let Some(secs) = serve_secs {
            // For profiling by hand: push once, then leave the fake Gate up.
            let r = run(&bin, &push, dir.path(), &env);
            println!(
                "pushed (exit {}); serving {} for {secs} s in {}",
                r.status,
                gate.url,
                dir.path().display()
            );
            std::thread::sleep(Duration::from_secs(secs));
            return;
        }
        for sc in scenarios {
            measure(&bin, &sc, dir.path(), &gate);
        }
        // Every pipeline changes (a new image name): a push that updates all of them.
        for i in 0..n {
            write_team_image(dir.path(), i, "-v2");
        }
        measure(
            &bin,
            &Scenario::new("push updating all", push.clone(), &env),
            dir.path(),
            &gate,
        );
    }
    large_answers(&bin, latency_ms);
}

/// Runs one scenario and prints its line.
fn measure(bin: &str, sc: &Scenario, cwd: &Path, gate: &FakeGate) {
    let before = gate.requests_by_kind();
    let r = run(bin, &sc.args, cwd, sc.env);
    if r.status != 0 {
        println!(
            "  {}: exit {}: {}",
            sc.name,
            r.status,
            r.stderr.lines().last().unwrap_or_default()
        );
    }
    println!(
        "  {:<26} {:>7.2} s  {:>6} s CPU  {:>6} MB peak  {}",
        sc.name,
        r.wall.as_secs_f64(),
        r.cpu
            .map_or("?".to_string(), |c| format!("{:.2}", c.as_secs_f64())),
        r.peak_kib
            .map_or("?".to_string(), |k| format!("{:.0}", k as f64 / 1024.0)),
        requests(&before, &gate.requests_by_kind())
    );
}

/// Three applications whose pipeline lists are about 60 MB each (pipelines made in
/// Deck with large descriptions), read at once by a `diff` of their three teams: the
/// answers are parsed as they arrive, not held whole.
fn large_answers(bin: &str, latency_ms: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join(".git")).expect("create .git");
    let gate = FakeGate::start();
    gate.latency(Duration::from_millis(latency_ms));
    for i in 0..3 {
        write_team(dir.path(), i);
        let app = format!("team-{i:04}");
        gate.add_application(serde_json::json!({"name": app, "email": "t@example.com"}));
        for j in 0..60 {
            gate.add_pipeline(serde_json::json!({"application": app,
                "name": format!("made-in-deck-{j}"), "description": "x".repeat(1_000_000),
                "stages": []}));
        }
    }
    let env = vec![("KUJIRA_GATE_ENDPOINT", gate.url.clone())];
    println!(
        "
3 applications with 60 MB pipeline lists"
    );
    for sc in [
        Scenario::new("diff", vec!["diff", "--summary", "teams"], &env),
        Scenario::new("push", vec!["push", "--yes", "teams"], &env),
    ] {
        measure(bin, &sc, dir.path(), &gate);
    }
}
