//! Measures the output checks: `Checker::new()` (schema compilation) and `check()` per
//! bundle, on the realistic blue-green bundle of the unit tests (12 manifests: a Rollout,
//! 2 Services, a ConfigMap, a ServiceAccount, a Role, a RoleBinding and 5 Jobs).
//!
//!     cargo bench --bench check [-- BUNDLES]
//!
//! BUNDLES (default 1000) is the size of the simulated repository checked on all cores.

use kujira_gen::bundle::Bundle;
use kujira_gen::check::Checker;
use std::time::{Duration, Instant};

const BUNDLE: &str = include_str!("../src/check/testdata/blue_green.json");

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`: take the first numeric argument.
    let bundles: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    let value: serde_json::Value = serde_json::from_str(BUNDLE)?;
    let clean = Bundle::from_rendered("teams/sample/value.json", value.clone())
        .map_err(anyhow::Error::msg)?;
    let broken = {
        let mut v = value;
        // A few schema errors, so that the error walk is measured too.
        let m = &mut v["pipelines"][0]["stages"][0]["manifests"];
        m[4]["spec"]["ports"][0]["port"] = "80".into();
        m[6]["spec"]["replicas"] = "2".into();
        m[6]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = 1.into();
        Bundle::from_rendered("teams/sample/value.json", v).map_err(anyhow::Error::msg)?
    };

    let mut compile_times = Vec::new();
    let mut checker = None;
    for _ in 0..5 {
        let t = Instant::now();
        checker = Some(Checker::new()?);
        compile_times.push(t.elapsed());
    }
    compile_times.sort();
    let checker = checker.ok_or_else(|| anyhow::anyhow!("no checker"))?;
    println!(
        "Checker::new():                 min {:>9.2?}  median {:>9.2?}  (5 runs)",
        compile_times[0], compile_times[2]
    );

    assert!(
        checker.check(&clean, "f").is_empty(),
        "the clean bundle is not clean"
    );
    let errors = checker.check(&broken, "f").len();
    for (label, bundle) in [
        ("check(), clean bundle", &clean),
        ("check(), 3 schema errors", &broken),
    ] {
        let runs = 2000;
        let t = Instant::now();
        for _ in 0..runs {
            std::hint::black_box(checker.check(std::hint::black_box(bundle), "f"));
        }
        let per = t.elapsed() / runs;
        println!("{label:<31} {per:>9.2?} per bundle (mean of {runs})");
    }
    println!("  ({errors} diagnostics for the broken bundle)");

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = Instant::now();
    let checker = &checker;
    let clean = &clean;
    std::thread::scope(|s| {
        for k in 0..threads {
            s.spawn(move || {
                for _ in (k..bundles).step_by(threads) {
                    std::hint::black_box(checker.check(clean, "f"));
                }
            });
        }
    });
    let wall: Duration = t.elapsed();
    println!("{bundles} bundles on {threads} threads:    {wall:>9.2?} wall (after compilation)");
    Ok(())
}
