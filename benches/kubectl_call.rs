//! What one call of the real kubectl costs against the fake API server of the tests
//! (tests/support/fake_kube.rs): the price of every `kubectl` line in a Job script run by
//! a test.
//!
//!     cargo bench --profile dev --bench kubectl_call [-- RUNS]
//!
//! (`--profile dev` skips the release build: kubectl's own start-up dominates.) RUNS
//! (default 20) calls per case; prints the median and minimum and each median's ratio to
//! `kubectl version --client`, which only starts the process.

#[path = "../tests/support/mod.rs"]
mod support;

use serde_json::json;
use std::time::Duration;
use support::fake_kube::{FakeKube, ScriptOutput};

fn time(runs: usize, mut call: impl FnMut() -> ScriptOutput) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let out = call();
            assert_eq!(out.status, Some(0), "{out:#?}");
            out.elapsed
        })
        .collect();
    times.sort();
    (times[times.len() / 2], times[0])
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20);
    if support::fake_kube::script::require_kubectl().is_none() {
        return;
    }
    let kube = FakeKube::start_as("shop", "release");
    kube.put(
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "shop"}, "spec": {"replicas": 2},
        "status": {"phase": "Paused", "pauseConditions": [{"reason": "BlueGreenPause"}]}}),
    );
    let get = [
        "get",
        "rollout",
        "web",
        "-o",
        "jsonpath={.status.phase}|{.status.pauseConditions[*].reason}",
    ];
    let cache = kube.cache_dir();
    let mut rows = Vec::new();
    rows.push((
        "kubectl version --client (no server)",
        time(runs, || kube.kubectl(&["version", "--client"])),
    ));
    rows.push((
        "get -o jsonpath, cold discovery cache",
        time(runs, || {
            let _ = std::fs::remove_dir_all(&cache);
            kube.kubectl(&get)
        }),
    ));
    rows.push((
        "get -o jsonpath, warm cache",
        time(runs, || kube.kubectl(&get)),
    ));
    rows.push((
        "patch --subresource=status (get + patch)",
        time(runs, || {
            kube.kubectl(&[
                "patch",
                "rollout",
                "web",
                "--subresource=status",
                "--type=merge",
                "-p",
                r#"{"status":{"message":"x"}}"#,
            ])
        }),
    ));
    let loop_script = "for i in 1 2 3 4 5 6 7 8 9 10; do kubectl get rollout web -o jsonpath='{.status.phase}' >/dev/null; done";
    let (median, min) = time(runs.div_ceil(4), || {
        kube.run_script(loop_script, &[], Duration::from_secs(60))
    });
    rows.push(("sh loop of 10 gets, per get", (median / 10, min / 10)));
    let base = rows[0].1.0.as_secs_f64();
    println!(
        "{runs} runs per case (the loop: {}); median, min, median / client-only",
        runs.div_ceil(4)
    );
    for (label, (median, min)) in rows {
        println!(
            "{label:<42} {median:>9.1?} {min:>9.1?}  {:>5.2}x",
            median.as_secs_f64() / base
        );
    }
}
