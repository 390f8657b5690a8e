//! A real SpEL engine configured the way Spinnaker's Orca configures it, for tests that must know
//! what Orca does with an expression (a `stageEnabled`, an expression precondition, a `${...}`
//! in a stage's context) rather than what kujira-gen believes it does.
//!
//! The engine is the Java program in `tests/support/spel/` (kujira-gen's own code, modelling
//! Orca's rules; docs/spinnaker-rules.md, "Expressions (Orca)", lists them with their upstream
//! files) on top of Debian's Spring SpEL 4.3 and Jackson. It is compiled with `javac` into
//! `CARGO_TARGET_TMPDIR/spel-classes/<hash of the sources>` (again only when a source changes)
//! and started once per test binary; requests and responses are JSON lines on its stdin and
//! stdout, one at a time behind a mutex, so every test shares the one JVM.
//!
//! When Java or the jars are missing, [`Spel::start`] prints what to install and returns `None`
//! (the caller skips its test), unless the environment variable `CI` is set, where it panics
//! with the same explanation: CI must run these tests. `.ci/run` installs the packages.
//!
//! # The execution JSON
//!
//! The execution an expression is evaluated in, as Orca stores it (fields not listed are not
//! modelled; everything but `stages`, and a stage's `refId` and `type`, may be left out):
//!
//! ```json
//! {
//!   "id": "01EXEC...",                 // default "01EXECUTION000000000000000"
//!   "application": "app",              // default "app"
//!   "name": "Deploy to prod",
//!   "status": "RUNNING",               // an ExecutionStatus name; default RUNNING
//!   "authentication": {"user": "a@b.c", "allowedAccounts": ["prod"]},
//!   "trigger": {                       // Orca's DefaultTrigger; every key is kept
//!     "type": "manual",                // default "none"
//!     "user": "a@b.c",                 // default "[anonymous]"
//!     "parameters": {"tag": "1.2.3"},  // becomes the root's `parameters` when not empty
//!     "artifacts": [{"type": "docker/image", "name": "...", "reference": "..."}],
//!     "resolvedExpectedArtifacts": [{"id": "...", "boundArtifact": {"type": "...", ...}}]
//!   },
//!   "stages": [{
//!     "id": "01STAGE...",              // default "01STAGE" + 19 digits of the index
//!     "refId": "1",                    // required
//!     "type": "manualJudgment",        // required
//!     "name": "Approve",
//!     "status": "SUCCEEDED",           // default NOT_STARTED
//!     "context": {"judgmentInput": "go", "stageEnabled": {...}},
//!     "outputs": {"key": "value"},
//!     "requisiteStageRefIds": ["0"],
//!     "parentStageId": null,           // synthetic stages: the parent's id
//!     "syntheticStageOwner": null,     // "STAGE_BEFORE" or "STAGE_AFTER"
//!     "startTime": 1700000000000, "endTime": null
//!   }]
//! }
//! ```
//!
//! The stage named by `stage_ref_id` is the stage whose expressions are being evaluated: its
//! context (plus `execution`, `trigger` and `parameters`) is the root object, and unknown keys
//! fall back to the outputs of the stages it depends on, as in Orca.

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Where Debian's libspring-*-java and libjackson2-*-java put their jars.
const JAVA_DIR: &str = "/usr/share/java";

/// The jars on the engine's class path and the Debian package of each.
const JARS: [(&str, &str); 6] = [
    ("spring3-expression.jar", "libspring-expression-java"),
    ("spring3-core.jar", "libspring-core-java"),
    ("commons-logging.jar", "libcommons-logging-java"),
    ("jackson-databind.jar", "libjackson2-databind-java"),
    ("jackson-core.jar", "libjackson2-core-java"),
    ("jackson-annotations.jar", "libjackson2-annotations-java"),
];

const INSTALL: &str = "apt-get install -y --no-install-recommends default-jdk-headless \
     libspring-expression-java libspring-core-java libjackson2-databind-java";

/// One entry of Orca's ExpressionEvaluationSummary.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// The expression as the summary keys it: without `${` `}`, after the
    /// `#fn(` -> `#fn( #root.execution, ` rewrite.
    pub expression: String,
    pub level: Level,
    pub description: String,
    /// Simple name of the innermost exception (`SpelEvaluationException`,
    /// `SpelHelperFunctionException`, ...) for errors.
    pub exception_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Evaluation threw: the source string is kept.
    Error,
    /// Evaluation yielded null (or a composite had a null part): the source string is kept.
    Info,
}

/// What ExpressionTransform made of one string.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluated {
    /// The value, as JSON; the source string unchanged when evaluation failed or yielded null.
    pub value: Value,
    /// Java class of the value (`String`, `Boolean`, `Integer`, `LinkedHashMap`,
    /// `StageExecution`, ...): a single `${...}` keeps its type, a composite is a `String`.
    pub java_type: String,
    pub messages: Vec<Message>,
}

impl Evaluated {
    /// The ERROR entries: evaluation threw.
    pub fn errors(&self) -> Vec<&Message> {
        self.messages
            .iter()
            .filter(|m| m.level == Level::Error)
            .collect()
    }
}

/// OptionalStageSupport.isOptional, as StartStageHandler asks it before starting a stage.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Optional {
    /// True: Orca skips the stage (status SKIPPED).
    pub skip: bool,
    /// The refId of the stage whose `stageEnabled` decided: the stage itself, or the parent a
    /// synthetic stage defers to.
    pub decided_by: String,
    /// The evaluated expression's text (`"true"`, `"false"`, or whatever else it produced);
    /// `None` when no expression was evaluated (no `stageEnabled`, or a blank expression).
    pub result: Option<String>,
    /// Set when the stage is skipped because the result was not true/false:
    /// InvalidExpression's message, "Conditional Expression '...' could not be evaluated".
    pub invalid_expression: Option<String>,
    pub messages: Vec<Message>,
}

/// The status ExpressionPreconditionTask returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TaskStatus {
    Succeeded,
    Terminal,
}

/// ExpressionPreconditionTask's result for one precondition.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreconditionResult {
    /// SUCCEEDED when `expression_result` is "true" (any case), else TERMINAL.
    pub status: TaskStatus,
    /// What the task stores as `context.expressionResult`: the evaluated text, or the
    /// expression itself when it could not be evaluated.
    pub expression_result: String,
    /// Whether the task copied the evaluation summary into the stage's context (it does when
    /// something failed and the result does not start with `$`).
    pub summary_included: bool,
    pub messages: Vec<Message>,
}

/// A handle on the test binary's one engine process.
pub struct Spel {
    engine: &'static Mutex<Engine>,
}

struct Engine {
    // Kept so the process is owned for the life of the test binary; it exits on stdin's EOF.
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr_log: PathBuf,
}

enum Launch {
    Ready(Mutex<Engine>),
    /// Java or a jar is not installed: skip, or fail under CI.
    Missing(String),
    /// Installed but broken (the sources do not compile, the JVM does not start): always fail.
    Broken(String),
}

static ENGINE: OnceLock<Launch> = OnceLock::new();

impl Spel {
    /// The engine, or None after printing to stderr which packages to install when Java or
    /// the jars are missing and the environment variable CI is not set; under CI a missing
    /// engine is a panic with the same explanation.
    pub fn start() -> Option<Spel> {
        match ENGINE.get_or_init(launch) {
            Launch::Ready(engine) => Some(Spel { engine }),
            Launch::Missing(why) => {
                let explanation = format!(
                    "SpEL engine unavailable: {why}. Install it (as root) with:\n  apt-get update && {INSTALL}"
                );
                if under_ci() {
                    panic!("{explanation}\n(CI is set: the SpEL engine tests must run)");
                }
                // Straight to the stream: libtest captures eprintln! of passing tests, and a
                // skip must be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "{explanation}\nSkipping this SpEL engine test."
                );
                None
            }
            Launch::Broken(why) => panic!("SpEL engine broken: {why}"),
        }
    }

    /// ExpressionTransform on one string: the evaluated value, or the source string when
    /// evaluation failed, plus the failure/info messages. The string is processed as Orca
    /// processes a value of the stage's context while the stage runs (allowUnknownKeys on,
    /// `#currentStage()` = this stage).
    pub fn evaluate(&mut self, source: &str, execution: &Value, stage_ref_id: &str) -> Evaluated {
        self.evaluate_with_unknown_keys(source, execution, stage_ref_id, true)
    }

    /// [`Spel::evaluate`] with kork's allowUnknownKeys chosen: off, a key missing from a map is
    /// an error instead of null (Orca turns it off when it processes a whole pipeline as it
    /// starts, OperationsController and DependentPipelineStarter).
    pub fn evaluate_with_unknown_keys(
        &mut self,
        source: &str,
        execution: &Value,
        stage_ref_id: &str,
        allow_unknown_keys: bool,
    ) -> Evaluated {
        self.call(json!({
            "op": "evaluate", "source": source, "execution": execution, "stage": stage_ref_id,
            "allowUnknownKeys": allow_unknown_keys,
        }))
    }

    /// One string processed with the execution as context (no current stage), as Orca
    /// processes a pipeline's notifications when the execution starts and ends
    /// (EchoNotifyingExecutionListener `processSpelInNotifications`).
    pub fn evaluate_execution(&mut self, source: &str, execution: &Value) -> Evaluated {
        self.call(json!({ "op": "evaluateExecution", "source": source, "execution": execution }))
    }

    /// OptionalStageSupport.isOptional for the stage with this refId: `skip` = Orca skips it.
    pub fn is_optional(&mut self, execution: &Value, stage_ref_id: &str) -> Optional {
        self.call(json!({ "op": "isOptional", "execution": execution, "stage": stage_ref_id }))
    }

    /// ExpressionPreconditionTask for one precondition `context.expression` of the
    /// checkPreconditions stage with this refId (run in the synthetic stage Orca plans for it).
    pub fn precondition(
        &mut self,
        expression: &str,
        execution: &Value,
        stage_ref_id: &str,
    ) -> PreconditionResult {
        self.call(json!({
            "op": "precondition", "expression": expression, "execution": execution,
            "stage": stage_ref_id,
        }))
    }

    fn call<T: for<'de> Deserialize<'de>>(&mut self, request: Value) -> T {
        let mut engine = lock(self.engine);
        let line = engine.exchange(&request);
        let response: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!("SpEL engine answered something that is not JSON ({e}): {line}")
        });
        if response["ok"] != Value::Bool(true) {
            panic!(
                "SpEL engine refused the request: {}\nrequest: {request}",
                response["error"].as_str().unwrap_or("(no error text)")
            );
        }
        serde_json::from_value(response["result"].clone())
            .unwrap_or_else(|e| panic!("unexpected SpEL engine result ({e}): {line}"))
    }
}

impl Engine {
    fn exchange(&mut self, request: &Value) -> String {
        let sent = writeln!(self.stdin, "{request}").and_then(|()| self.stdin.flush());
        let mut line = String::new();
        let read = sent.and_then(|()| self.stdout.read_line(&mut line));
        match read {
            Ok(n) if n > 0 => line,
            outcome => panic!(
                "the SpEL engine stopped ({outcome:?}); its stderr ({}):\n{}",
                self.stderr_log.display(),
                fs::read_to_string(&self.stderr_log).unwrap_or_default()
            ),
        }
    }
}

fn lock(engine: &Mutex<Engine>) -> MutexGuard<'_, Engine> {
    // A test that panicked mid-request leaves the protocol in step (a panic only happens after
    // a whole line was read, or when the engine is gone), so the engine stays usable.
    engine
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn launch() -> Launch {
    let missing: Vec<String> = JARS
        .iter()
        .filter(|(jar, _)| !Path::new(JAVA_DIR).join(jar).exists())
        .map(|(jar, package)| format!("{JAVA_DIR}/{jar} (package {package})"))
        .collect();
    if !missing.is_empty() {
        return Launch::Missing(format!("missing {}", missing.join(", ")));
    }
    for tool in ["java", "javac"] {
        if Command::new(tool).arg("-version").output().is_err() {
            return Launch::Missing(format!(
                "`{tool}` is not on PATH (a JDK, e.g. default-jdk-headless)"
            ));
        }
    }
    let classes = match compile() {
        Ok(dir) => dir,
        Err(why) => return Launch::Broken(why),
    };
    let stderr_log = classes.with_extension("stderr.log");
    let stderr = match fs::File::create(&stderr_log) {
        Ok(f) => f,
        Err(e) => return Launch::Broken(format!("cannot create {}: {e}", stderr_log.display())),
    };
    let child = Command::new("java")
        // Spring 6, which Orca runs, calls a public interface method when the object's class is
        // not public (Map.keySet().size()); Spring 4.3 makes the class's own method accessible,
        // which Java 17 refuses unless the package is open.
        .args(["--add-opens", "java.base/java.util=ALL-UNNAMED"])
        .args(["--add-opens", "java.base/java.lang=ALL-UNNAMED"])
        .args(["--add-opens", "java.base/java.time=ALL-UNNAMED"])
        // A test-run JVM: start fast, stay small.
        .args(["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss4m"])
        .arg("-cp")
        .arg(class_path(&classes))
        .arg("kujira.spel.SpelServer")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return Launch::Broken(format!("cannot start java: {e}")),
    };
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Launch::Broken("java started without pipes".into());
    };
    Launch::Ready(Mutex::new(Engine {
        _child: child,
        stdin,
        stdout: BufReader::new(stdout),
        stderr_log,
    }))
}

fn class_path(classes: &Path) -> String {
    let mut parts = vec![classes.display().to_string()];
    parts.extend(JARS.iter().map(|(jar, _)| format!("{JAVA_DIR}/{jar}")));
    parts.join(":")
}

fn sources() -> Result<Vec<PathBuf>, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/spel");
    let entries = fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "java"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no Java sources in {}", dir.display()));
    }
    Ok(files)
}

/// Compiles the engine unless this exact set of sources was compiled before; returns the
/// class directory. Concurrent test binaries each compile into their own temporary directory
/// and the first rename wins.
fn compile() -> Result<PathBuf, String> {
    let files = sources()?;
    let mut hash = Sha256::new();
    for file in &files {
        let text = fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        hash.update(
            file.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        hash.update([0]);
        hash.update(&text);
        hash.update([0]);
    }
    let digest: String = hash
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("spel-classes");
    let classes = root.join(&digest);
    if classes.join("kujira/spel/SpelServer.class").exists() {
        return Ok(classes);
    }
    let staging = root.join(format!("{digest}.{}.tmp", std::process::id()));
    fs::create_dir_all(&staging)
        .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let jars: Vec<String> = JARS
        .iter()
        .map(|(jar, _)| format!("{JAVA_DIR}/{jar}"))
        .collect();
    let output = Command::new("javac")
        .args(["-nowarn", "-Xlint:none", "-encoding", "UTF-8", "-d"])
        .arg(&staging)
        .arg("-cp")
        .arg(jars.join(":"))
        .args(&files)
        .output()
        .map_err(|e| format!("cannot run javac: {e}"))?;
    if !output.status.success() {
        let _ = fs::remove_dir_all(&staging);
        return Err(format!(
            "javac failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    if fs::rename(&staging, &classes).is_err() {
        // Another test binary got there first with the same sources.
        let _ = fs::remove_dir_all(&staging);
        if !classes.join("kujira/spel/SpelServer.class").exists() {
            return Err(format!(
                "cannot move compiled classes to {}",
                classes.display()
            ));
        }
    }
    Ok(classes)
}
