//! Running git in a test's repository, with a fixed identity (no global configuration
//! needed) and a failure that says which command failed.

use std::path::Path;

/// `git ARGS` in `dir`; panics with git's output when it fails.
pub fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `test`, which needs git, can run here: `false` (after saying so on stderr)
/// without git when CI is unset; a panic without git under `CI=true`, where a skipped test
/// would pass without having run.
pub fn available(test: &str) -> bool {
    let found = std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: git not found; under CI=true this test must run");
        }
        eprintln!("SKIPPED {test}: git not found");
    }
    found
}
