//! Diagnostics: one problem in one file, printed for people or as JSON for tools.
//!
//! Every step of the data's path (load, validate, render, check) reports problems as
//! `Diagnostic`s so that `validate` can collect all of them across all files in one run
//! and print them in a single format.

use crate::term::{Palette, Tone};
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Information worth recording, not a problem (an exemption from the release policy
    /// that applies, listed for audits).
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One problem. `line`/`column` are 1-based and point into `file`; `path` is the key path
/// inside the file's data (`ScenarioTest.Collection`, `pipelines[0].stages[2]`) when the
/// problem has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub severity: Severity,
    pub path: Option<String>,
    pub message: String,
    /// Further lines (a Jsonnet evaluation trace, a hint); printed indented below.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The value files whose rendering met this problem, when it is in a template: one
    /// template error is reported once for every team it affects (see [`merge_repeated`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub affects: Vec<String>,
}

impl Diagnostic {
    pub fn error(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, file, message)
    }

    pub fn warning(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, file, message)
    }

    pub fn note(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, file, message)
    }

    fn new(severity: Severity, file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            column: None,
            severity,
            path: None,
            message: message.into(),
            notes: Vec::new(),
            affects: Vec::new(),
        }
    }

    pub fn at(mut self, position: Option<(usize, usize)>) -> Self {
        if let Some((line, column)) = position {
            self.line = Some(line);
            self.column = Some(column);
        }
        self
    }

    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.path = (!path.is_empty()).then_some(path);
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col: severity: path: message`, the form editors and CI annotators parse,
    /// followed by the notes, each indented by four spaces.
    pub fn human(&self) -> String {
        self.styled(&Palette::default())
    }

    /// [`Self::human`], with the location and severity in colour when `palette` is on.
    pub fn styled(&self, palette: &Palette) -> String {
        let mut location = self.file.clone();
        if let Some(line) = self.line {
            let _ = write!(location, ":{line}");
            if let Some(column) = self.column {
                let _ = write!(location, ":{column}");
            }
        }
        location.push(':');
        let tone = match self.severity {
            Severity::Error => Tone::Problem,
            Severity::Warning => Tone::Warning,
            Severity::Note => Tone::Hunk,
        };
        let mut out = format!(
            "{} {}: ",
            palette.paint(Tone::Location, &location),
            palette.paint(tone, self.severity.as_str())
        );
        if let Some(path) = &self.path {
            let _ = write!(out, "{path}: ");
        }
        out.push_str(&self.message);
        for note in &self.notes {
            let _ = write!(out, "\n    {note}");
        }
        if let Some(line) = self.affects_line() {
            let _ = write!(out, "\n    {line}");
        }
        out
    }

    /// `while rendering teams/a/value.json`, or `while rendering 3 value files: ...`.
    pub fn affects_line(&self) -> Option<String> {
        match self.affects.as_slice() {
            [] => None,
            [one] => Some(format!("while rendering {one}")),
            many => {
                let shown: Vec<&str> = many
                    .iter()
                    .take(MAX_AFFECTED_SHOWN)
                    .map(String::as_str)
                    .collect();
                let mut line = format!(
                    "while rendering {} value files: {}",
                    many.len(),
                    shown.join(", ")
                );
                if many.len() > MAX_AFFECTED_SHOWN {
                    let _ = write!(
                        line,
                        " and {} more (--format json lists all)",
                        many.len() - MAX_AFFECTED_SHOWN
                    );
                }
                Some(line)
            }
        }
    }
}

/// How many affected value files a person is shown; the JSON format lists all.
const MAX_AFFECTED_SHOWN: usize = 20;

/// Merges diagnostics that are the same problem met while rendering different value files
/// (a template error): one diagnostic, listing every value file in `affects`, at the place
/// of the first. Others are left as they are.
pub fn merge_repeated(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    type Key = (
        String,
        Option<usize>,
        Option<usize>,
        Severity,
        Option<String>,
        String,
        Vec<String>,
    );
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len());
    let mut seen: std::collections::HashMap<Key, usize> = std::collections::HashMap::new();
    for d in diagnostics {
        if d.affects.is_empty() {
            out.push(d);
            continue;
        }
        let key = (
            d.file.clone(),
            d.line,
            d.column,
            d.severity,
            d.path.clone(),
            d.message.clone(),
            d.notes.clone(),
        );
        match seen.get(&key) {
            Some(&i) => {
                for f in d.affects {
                    if !out[i].affects.contains(&f) {
                        out[i].affects.push(f);
                    }
                }
            }
            None => {
                seen.insert(key, out.len());
                out.push(d);
            }
        }
    }
    out
}

/// Prints diagnostics for people: one block per diagnostic, in the order given.
pub fn render_human(diagnostics: &[Diagnostic]) -> String {
    render_styled(diagnostics, &Palette::default())
}

/// [`render_human`] in colour when `palette` is on.
pub fn render_styled(diagnostics: &[Diagnostic], palette: &Palette) -> String {
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&d.styled(palette));
        out.push('\n');
    }
    out
}

/// GitHub Actions workflow commands (`::error file=F,line=L,col=C::message`): the runner
/// shows each one on the pull request's diff at that line. Notes go into the message.
/// A file as GitHub names it in a pull request: relative to the repository root, with
/// `/`, whatever directory the job runs in (an annotation on any other path is not shown
/// on the pull request's files). Unchanged outside a repository.
fn repository_path(file: &str) -> String {
    let absolute = crate::platform::resolve::absolute(std::path::Path::new(file));
    match crate::values::discover::git_root(&absolute)
        .and_then(|root| absolute.strip_prefix(root).ok().map(|p| p.to_path_buf()))
    {
        Some(rest) => rest.to_string_lossy().replace('\\', "/"),
        None => file.to_string(),
    }
}

pub fn render_github(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let file = repository_path(&d.file);
        let mut props = vec![format!("file={}", github_property(&file))];
        if let Some(line) = d.line {
            props.push(format!("line={line}"));
            if let Some(col) = d.column {
                props.push(format!("col={col}"));
            }
        }
        props.push(format!("title={}", github_property("kujira-gen")));
        let mut message = match &d.path {
            Some(p) => format!("{p}: {}", d.message),
            None => d.message.clone(),
        };
        for note in d.notes.iter().cloned().chain(d.affects_line()) {
            message.push('\n');
            message.push_str(&note);
        }
        // GitHub's three levels: error, warning, notice.
        let level = match d.severity {
            Severity::Note => "notice",
            other => other.as_str(),
        };
        let _ = writeln!(
            out,
            "::{level} {}::{}",
            props.join(","),
            github_data(&message)
        );
    }
    out
}

/// Escaping of a workflow command's message (actions/toolkit, `escapeData`).
fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of a workflow command's property value (actions/toolkit, `escapeProperty`).
fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Prints diagnostics as a pretty JSON array (`--format json`).
pub fn render_json(diagnostics: &[Diagnostic]) -> String {
    // Serialising plain data with string keys cannot fail.
    let mut out = serde_json::to_string_pretty(diagnostics).unwrap_or_else(|_| "[]".into());
    out.push('\n');
    out
}

pub fn count_errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}

pub fn count_warnings(diagnostics: &[Diagnostic]) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count()
}

/// Words that make a key name a secret's (`DB_PASSWORD`, `apiToken`, `BASIC_AUTH`).
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "credential",
    "credentials",
    "auth",
    "authorization",
    "privatekey",
    "passphrase",
];

/// Two-word secrets (`api_key`, `privateKey`, `accessKey`).
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("private", "key"),
    ("access", "key"),
    ("client", "key"),
];

/// Whether a key's name says that its value is a secret. The name is split into words
/// (at `_`, `-`, `.` and camelCase humps) so that `AUTHOR` or `TOKENIZER_MODEL` are not
/// taken for secrets while `BASIC_AUTH` and `clientSecret` are.
pub fn is_secret_key(key: &str) -> bool {
    let words = words(key);
    words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()))
        || words
            .windows(2)
            .any(|p| SECRET_PAIRS.contains(&(p[0].as_str(), p[1].as_str())))
}

fn words(key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Replaces every occurrence of each secret in the messages and notes with `***`.
/// A last line of defence for text we do not compose ourselves (Jsonnet errors).
pub fn scrub(diagnostics: &mut [Diagnostic], secrets: &[String]) {
    if secrets.is_empty() {
        return;
    }
    let scrub_one = |text: &mut String| {
        for s in secrets {
            if text.contains(s.as_str()) {
                *text = text.replace(s.as_str(), "***");
            }
        }
    };
    for d in diagnostics {
        scrub_one(&mut d.message);
        d.notes.iter_mut().for_each(&scrub_one);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_format_with_position_and_path() {
        let d = Diagnostic::error("teams/a/value.json", "expected an integer, got \"3\"")
            .at(Some((12, 5)))
            .with_path("Replicas");
        assert_eq!(
            d.human(),
            "teams/a/value.json:12:5: error: Replicas: expected an integer, got \"3\""
        );
    }

    #[test]
    fn human_format_without_position_prints_notes_indented() {
        let d = Diagnostic::warning("x.json", "odd")
            .with_note("first")
            .with_note("second");
        assert_eq!(d.human(), "x.json: warning: odd\n    first\n    second");
    }

    #[test]
    fn the_same_template_error_is_merged_across_value_files() {
        let at = |team: &str| {
            let mut d = Diagnostic::error("t/main.jsonnet", "boom").at(Some((2, 3)));
            d.affects.push(format!("teams/{team}/value.json"));
            d
        };
        let other = Diagnostic::error("teams/c/value.json", "bad").at(Some((1, 1)));
        let merged = merge_repeated(vec![at("a"), other.clone(), at("b"), at("a")]);
        assert_eq!(merged.len(), 2);
        assert_eq!(
            merged[0].affects,
            vec!["teams/a/value.json", "teams/b/value.json"]
        );
        assert_eq!(merged[1], other);
        assert_eq!(
            merged[0].human(),
            "t/main.jsonnet:2:3: error: boom\n    while rendering 2 value files: teams/a/value.json, teams/b/value.json"
        );
    }

    #[test]
    fn a_long_list_of_affected_files_is_cut_for_people() {
        let mut d = Diagnostic::error("t", "boom");
        d.affects = (0..25).map(|i| format!("f{i}")).collect();
        let line = d.affects_line().unwrap();
        assert!(
            line.starts_with("while rendering 25 value files: f0, f1,"),
            "{line}"
        );
        assert!(
            line.ends_with("f19 and 5 more (--format json lists all)"),
            "{line}"
        );
    }

    #[test]
    fn github_workflow_commands_escape_what_the_runner_parses() {
        let d = Diagnostic::error("teams/a,b/value.json", "100% wrong: x")
            .at(Some((8, 15)))
            .with_path("Replicas")
            .with_note("second line");
        assert_eq!(
            render_github(&[d, Diagnostic::warning("t", "w")]),
            "::error file=teams/a%2Cb/value.json,line=8,col=15,title=kujira-gen::Replicas: 100%25 wrong: x%0Asecond line\n\
             ::warning file=t,title=kujira-gen::w\n"
        );
    }

    #[test]
    fn styled_output_colours_location_and_severity_only() {
        let d = Diagnostic::error("f", "m").at(Some((1, 2)));
        assert_eq!(d.styled(&Palette::new(false)), "f:1:2: error: m");
        let coloured = d.styled(&Palette::new(true));
        assert!(coloured.contains("\x1b[1mf:1:2:\x1b[0m"), "{coloured:?}");
        assert!(coloured.ends_with("error\x1b[0m: m"), "{coloured:?}");
    }

    #[test]
    fn secret_keys_are_recognised_by_name() {
        assert!(is_secret_key("DB_PASSWORD"));
        assert!(is_secret_key("apiToken"));
        assert!(is_secret_key("ClientSecret"));
        assert!(is_secret_key("BASIC_AUTH"));
        assert!(is_secret_key("api_key"));
        assert!(is_secret_key("privateKey"));
        assert!(is_secret_key("credentials"));
        assert!(!is_secret_key("Replicas"));
        assert!(!is_secret_key("LOG_LEVEL"));
        assert!(!is_secret_key("AUTHOR"));
        assert!(!is_secret_key("TOKENIZER_MODEL"));
        assert!(!is_secret_key("KEY_PREFIX"));
    }

    #[test]
    fn scrub_replaces_secret_values_everywhere() {
        let mut ds =
            vec![Diagnostic::error("f", "value hunter2 is wrong").with_note("near hunter2")];
        scrub(&mut ds, &["hunter2".to_string()]);
        assert_eq!(ds[0].message, "value *** is wrong");
        assert_eq!(ds[0].notes, vec!["near ***".to_string()]);
    }

    #[test]
    fn json_format_has_the_documented_fields() {
        let d = Diagnostic::error("f.json", "bad")
            .at(Some((1, 2)))
            .with_path("A");
        let v: serde_json::Value = serde_json::from_str(&render_json(&[d])).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"file": "f.json", "line": 1, "column": 2,
                "severity": "error", "path": "A", "message": "bad"}])
        );
    }
}
