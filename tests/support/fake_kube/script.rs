//! Runs a shell script the way a Job's container runs it (`/bin/sh -c SCRIPT`), with the
//! real kubectl on PATH, and kills it, with every process it started, at a deadline.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptOutput {
    pub stdout: String,
    pub stderr: String,
    /// The exit code; `None` when a signal ended the script (the timeout's kill).
    pub status: Option<i32>,
    pub timed_out: bool,
    pub elapsed: Duration,
}

/// What to install when kubectl is missing.
pub const INSTALL_HINT: &str = "these tests run the real kubectl (1.32 or newer) against an \
in-process fake API server: install it (the machine image's Debian package `kubectl`, or \
a kubectl binary from the Kubernetes release on PATH), or point KUJIRA_TEST_KUBECTL at one";

/// The kubectl to test with: `$KUJIRA_TEST_KUBECTL`, else `kubectl` on PATH.
pub fn find_kubectl() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KUJIRA_TEST_KUBECTL") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
}

/// The kubectl to test with, or `None` after saying on stderr that the test is skipped
/// and what to install. Under CI (`CI=true`) a missing kubectl fails the test instead.
pub fn require_kubectl() -> Option<PathBuf> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    match kubectl_decision(find_kubectl(), ci) {
        Ok(Some(k)) => Some(k),
        Ok(None) => {
            eprintln!("SKIPPED: kubectl not found; {INSTALL_HINT}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// Run with the kubectl found, skip without one, fail without one under CI.
pub fn kubectl_decision(found: Option<PathBuf>, ci: bool) -> Result<Option<PathBuf>, String> {
    match found {
        Some(k) => Ok(Some(k)),
        None if ci => Err(format!("kubectl not found, and CI=true: {INSTALL_HINT}")),
        None => Ok(None),
    }
}

/// Runs `command` in its own process group, with exactly `env`, killing the group at
/// `timeout`.
pub fn run(mut command: Command, env: &[(String, String)], timeout: Duration) -> ScriptOutput {
    command
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = command.spawn().expect("start /bin/sh");
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let (status, timed_out) = wait(&mut child, start + timeout);
    ScriptOutput {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        status,
        timed_out,
        elapsed: start.elapsed(),
    }
}

fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut out);
        }
        String::from_utf8_lossy(&out).into_owned()
    })
}

fn wait(child: &mut Child, deadline: Instant) -> (Option<i32>, bool) {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                // The script is done; kill what it left running in the background so
                // that the pipes close.
                kill_group(child.id());
                return (status.code(), false);
            }
            Ok(None) if Instant::now() >= deadline => {
                kill_group(child.id());
                let status = child.wait().ok().and_then(|s| s.code());
                return (status, true);
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(_) => return (None, false),
        }
    }
}

/// SIGKILL to the process group the script leads: kubectl and `sleep` included.
fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Writes an executable file.
pub fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write an executable");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .expect("make it executable");
}
