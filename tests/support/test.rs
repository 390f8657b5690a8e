//! Runs the real `kujira-gen` binary in a temporary directory and compares its stdout,
//! stderr and exit status exactly (in the style of casey/just's `Test`).
//!
//! ```ignore
//! Test::new().write("a/value.json", "{}").args(["validate", "a"]).status(1).stderr("...").run();
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a run may take before the test fails instead of hanging (a regression that
/// makes kujira-gen block, e.g. on a FIFO, must fail the test run, not stall it). Generous:
/// the machine is shared and a debug binary is slow.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

pub const BIN: &str = env!("CARGO_BIN_EXE_kujira-gen");

/// The project's own directory (examples, templates).
pub fn project_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub struct Test {
    pub dir: TempDir,
    args: Vec<String>,
    current_dir: PathBuf,
    env: Vec<(String, String)>,
    stdin: Option<String>,
    stdout: String,
    stderr: String,
    status: i32,
    timeout: Duration,
}

pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
    pub dir: TempDir,
}

impl Default for Test {
    fn default() -> Self {
        Self::new()
    }
}

impl Test {
    /// A fresh temporary directory that looks like the root of a repository (it holds
    /// `.git`), so source paths in the output are relative to it.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        std::fs::create_dir(dir.path().join(".git")).expect("create .git");
        Self {
            dir,
            args: Vec::new(),
            current_dir: PathBuf::new(),
            env: Vec::new(),
            stdin: None,
            stdout: String::new(),
            stderr: String::new(),
            status: 0,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Fails the test when the run takes longer than this (the process is killed).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(self, path: &str, contents: impl AsRef<[u8]>) -> Self {
        let full = self.dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create parent directories");
        }
        std::fs::write(full, contents).expect("write test file");
        self
    }

    /// Copies `examples/<name>/` of the project, with everything under it, to the root of
    /// the test directory (an example that is a repository of its own).
    pub fn example_tree(self, name: &str) -> Self {
        fn copy(from: &Path, to: &Path) {
            std::fs::create_dir_all(to).expect("create directory");
            for entry in std::fs::read_dir(from).expect("read example") {
                let entry = entry.expect("read example entry");
                let target = to.join(entry.file_name());
                if entry.path().is_dir() {
                    copy(&entry.path(), &target);
                } else {
                    std::fs::copy(entry.path(), target).expect("copy example file");
                }
            }
        }
        copy(&project_dir().join("examples").join(name), self.dir.path());
        self
    }

    /// Copies `examples/<name>/` of the project to `<name>/` in the test directory.
    pub fn example(self, name: &str) -> Self {
        let from = project_dir().join("examples").join(name);
        let mut test = self;
        for entry in std::fs::read_dir(&from).expect("read example") {
            let entry = entry.expect("read example entry");
            let contents = std::fs::read(entry.path()).expect("read example file");
            test = test.write(
                &format!("{name}/{}", entry.file_name().to_string_lossy()),
                contents,
            );
        }
        test
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_string());
        self
    }

    pub fn args<const N: usize>(mut self, args: [&str; N]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Relative to the test directory.
    pub fn current_dir(mut self, dir: &str) -> Self {
        self.current_dir = PathBuf::from(dir);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn stdin(mut self, input: &str) -> Self {
        self.stdin = Some(input.to_string());
        self
    }

    pub fn stdout(mut self, expected: &str) -> Self {
        self.stdout = expected.to_string();
        self
    }

    pub fn stderr(mut self, expected: &str) -> Self {
        self.stderr = expected.to_string();
        self
    }

    pub fn status(mut self, expected: i32) -> Self {
        self.status = expected;
        self
    }

    /// Runs and asserts stdout, stderr and status exactly.
    pub fn run(self) -> Output {
        let (stdout, stderr, status) = (self.stdout.clone(), self.stderr.clone(), self.status);
        let out = self.output();
        assert_eq!(
            out.stdout, stdout,
            "stdout differs (stderr was:\n{})",
            out.stderr
        );
        assert_eq!(out.stderr, stderr, "stderr differs");
        assert_eq!(
            out.status, status,
            "exit status differs (stderr was:\n{})",
            out.stderr
        );
        out
    }

    /// [`Self::run`], comparing stdout after `normalise` (for parts that differ per run).
    pub fn run_with(self, normalise: fn(&str) -> String) -> Output {
        let (stdout, stderr, status) = (self.stdout.clone(), self.stderr.clone(), self.status);
        let out = self.output();
        assert_eq!(
            normalise(&out.stdout),
            stdout,
            "stdout differs (stderr was:\n{})",
            out.stderr
        );
        assert_eq!(out.stderr, stderr, "stderr differs");
        assert_eq!(out.status, status, "exit status differs");
        out
    }

    /// Runs without assertions, for snapshot tests.
    pub fn output(self) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(&self.args)
            .current_dir(self.dir.path().join(&self.current_dir))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in [
            "KUJIRA_TEMPLATES",
            "KUJIRA_GATE_ENDPOINT",
            "KUJIRA_GATE_TOKEN",
            "KUJIRA_SPIN_CONFIG",
            "KUJIRA_GATE_TIMEOUT",
            "KUJIRA_GATE_RETRY_BUDGET",
            "KUJIRA_GATE_BACKOFF",
            "KUJIRA_GATE_BULK_LIMIT",
            "KUJIRA_PLATFORM",
            "KUJIRA_TODAY",
            "NO_COLOR",
            "CLICOLOR_FORCE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", self.dir.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start kujira-gen");
        if let Some(input) = &self.stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        // Read both pipes on threads (a full pipe would block the child), wait with a
        // deadline.
        let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut buf);
                }
                buf
            })
        };
        let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
        let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for kujira-gen") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "kujira-gen {:?} did not finish within {:?}: killed",
                    self.args, self.timeout
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Output {
            stdout: String::from_utf8_lossy(&stdout.join().expect("stdout reader")).into_owned(),
            stderr: String::from_utf8_lossy(&stderr.join().expect("stderr reader")).into_owned(),
            status: status.code().unwrap_or(-1),
            dir: self.dir,
        }
    }
}
