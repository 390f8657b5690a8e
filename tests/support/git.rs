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

/// Whether git can be run here (a test needing it says it was skipped otherwise).
pub fn available() -> bool {
    std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}
