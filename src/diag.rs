//! Diagnostics: one problem in one file, printed for people or as JSON for tools.
//!
//! Every step of the data's path (load, validate, render, check) reports problems as
//! `Diagnostic`s so that `validate` can collect all of them across all files in one run
//! and print them in a single format.

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
        let mut out = self.file.clone();
        if let Some(line) = self.line {
            let _ = write!(out, ":{line}");
            if let Some(column) = self.column {
                let _ = write!(out, ":{column}");
            }
        }
        let _ = write!(out, ": {}: ", self.severity.as_str());
        if let Some(path) = &self.path {
            let _ = write!(out, "{path}: ");
        }
        out.push_str(&self.message);
        for note in &self.notes {
            let _ = write!(out, "\n    {note}");
        }
        out
    }
}

/// Prints diagnostics for people: one block per diagnostic, in the order given.
pub fn render_human(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&d.human());
        out.push('\n');
    }
    out
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
