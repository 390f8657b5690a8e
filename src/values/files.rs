//! Files a value file points at (the Postman collection and environment), read safely.
//!
//! Whatever such a file holds ends up in a pipeline that everyone with Spinnaker access
//! can read, so a value file may only point at files inside its own directory tree:
//! absolute paths, `..` that leaves the tree, and symbolic links that lead out of it are
//! refused before anything is read.

use super::{ValueFile, io_reason, parse};
use crate::diag::{Diagnostic, is_secret_key};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Component, Path};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    PostmanCollection,
    PostmanEnvironment,
}

/// The keys that name files, and what each file must be.
pub const FILE_KEYS: &[(&str, Kind)] = &[
    ("/ScenarioTest/Collection", Kind::PostmanCollection),
    ("/ScenarioTest/Environment", Kind::PostmanEnvironment),
];

/// Kubernetes refuses ConfigMaps over 1 MiB; leave room for the object around the data.
pub const MAX_EMBEDDED_BYTES: usize = 1_000_000;

/// What was read: contents by the path as written in the value file, the values of
/// secret-looking keys found in them (never to be echoed), and the problems.
#[derive(Debug, Default)]
pub struct Loaded {
    pub files: BTreeMap<String, String>,
    pub secrets: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn load(file: &ValueFile) -> Loaded {
    let mut out = Loaded::default();
    // `value.json` given bare has the parent "", which is the current directory.
    let dir = match file.path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let mut total = 0usize;
    // The top-level keys, and the same keys in each environment.
    let environments = file
        .value
        .get("Environments")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let keys: Vec<(String, Kind)> = FILE_KEYS
        .iter()
        .map(|(p, k)| (p.to_string(), *k))
        .chain((0..environments).flat_map(|i| {
            FILE_KEYS
                .iter()
                .map(move |(p, k)| (format!("/Environments/{i}{p}"), *k))
        }))
        .collect();
    for (pointer, kind) in &keys {
        let pointer = pointer.as_str();
        let Some(written) = file.value.pointer(pointer).and_then(Value::as_str) else {
            continue;
        };
        if written.is_empty() || out.files.contains_key(written) {
            continue;
        }
        match read_inside(&dir, written) {
            Err(reason) => out
                .diagnostics
                .push(file.diagnostic(pointer, false, reason)),
            Ok(text) => {
                total += text.len();
                let display = display_beside(&file.display, written);
                out.diagnostics.extend(check_contents(
                    file,
                    pointer,
                    *kind,
                    &display,
                    &text,
                    &mut out.secrets,
                ));
                out.files.insert(written.to_string(), text);
            }
        }
    }
    if total > MAX_EMBEDDED_BYTES {
        out.diagnostics.push(file.diagnostic(
            "/ScenarioTest",
            false,
            format!("the scenario files are {total} bytes together; a ConfigMap holds at most {MAX_EMBEDDED_BYTES}"),
        ));
    }
    out
}

/// How a referenced file is named in messages: beside the value file, as the user sees it.
fn display_beside(value_display: &str, written: &str) -> String {
    match Path::new(value_display).parent() {
        Some(p) if !p.as_os_str().is_empty() => format!("{}/{written}", p.to_string_lossy()),
        _ => written.to_string(),
    }
}

/// Reads `written` relative to `dir`, refusing anything that leaves `dir`.
fn read_inside(dir: &Path, written: &str) -> Result<String, String> {
    let rel = Path::new(written);
    if rel.is_absolute() || written.starts_with('\\') || written.get(1..3) == Some(":\\") {
        return Err(format!(
            "`{written}` is an absolute path; name a file relative to the value file's directory"
        ));
    }
    let mut depth = 0i32;
    for c in rel.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => depth = -1,
        }
        if depth < 0 {
            return Err(format!(
                "`{written}` leaves the value file's directory; files must be inside it"
            ));
        }
    }
    let base = dir
        .canonicalize()
        .map_err(|e| format!("cannot read the value file's directory: {}", io_reason(&e)))?;
    let target = base.join(rel);
    let real = target
        .canonicalize()
        .map_err(|e| format!("cannot read `{written}`: {}", io_reason(&e)))?;
    if !real.starts_with(&base) {
        return Err(format!(
            "`{written}` is a link to a file outside the value file's directory; files must be inside it"
        ));
    }
    let meta = std::fs::metadata(&real)
        .map_err(|e| format!("cannot read `{written}`: {}", io_reason(&e)))?;
    if !meta.is_file() {
        return Err(format!("`{written}` is not a regular file"));
    }
    if meta.len() > MAX_EMBEDDED_BYTES as u64 {
        return Err(format!(
            "`{written}` is {} bytes; a ConfigMap holds at most {MAX_EMBEDDED_BYTES}",
            meta.len()
        ));
    }
    let bytes =
        std::fs::read(&real).map_err(|e| format!("cannot read `{written}`: {}", io_reason(&e)))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("`{written}` is not UTF-8 text"))?;
    Ok(text)
}

/// The file must be JSON of the right Postman kind. Syntax errors point into the file
/// itself; a wrong kind points at the key that names it.
fn check_contents(
    file: &ValueFile,
    pointer: &str,
    kind: Kind,
    display: &str,
    text: &str,
    secrets: &mut Vec<String>,
) -> Vec<Diagnostic> {
    let parsed = match parse::parse(text) {
        Ok(p) => p,
        Err(e) => {
            let lines = parse::LineIndex::new(text);
            return vec![
                Diagnostic::error(display, format!("not valid JSON: {}", e.message))
                    .at(Some(lines.position(text, e.offset))),
            ];
        }
    };
    let v = &parsed.value;
    let what = match kind {
        Kind::PostmanCollection => "a Postman collection (v2.0 or v2.1)",
        Kind::PostmanEnvironment => "a Postman environment",
    };
    let problem = match kind {
        Kind::PostmanCollection => {
            let schema = v
                .pointer("/info/schema")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !schema.contains("schema.getpostman.com/json/collection/v2") {
                Some("its `info.schema` does not name the collection format v2.0 or v2.1")
            } else if !v.get("item").is_some_and(Value::is_array) {
                Some("it has no `item` array")
            } else {
                None
            }
        }
        Kind::PostmanEnvironment => {
            if !v.get("values").is_some_and(Value::is_array) {
                Some("it has no `values` array")
            } else {
                None
            }
        }
    };
    let mut out = Vec::new();
    if let Some(p) = problem {
        out.push(file.diagnostic(pointer, false, format!("`{display}` is not {what}: {p}")));
        return out;
    }
    if kind == Kind::PostmanEnvironment {
        for (i, entry) in v
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let key = entry.get("key").and_then(Value::as_str).unwrap_or("");
            let value = entry.get("value").and_then(Value::as_str).unwrap_or("");
            if is_secret_key(key) && !value.is_empty() {
                secrets.push(value.to_string());
                let lines = parse::LineIndex::new(text);
                let at = parsed
                    .spans
                    .get(&format!("/values/{i}/value"))
                    .map(|s| lines.position(text, s.value));
                out.push(
                    Diagnostic::warning(
                        display,
                        format!("`{key}` looks like a secret; everyone with Spinnaker access can read this file's contents in the pipeline"),
                    )
                    .at(at),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_may_not_leave_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("team")).unwrap();
        std::fs::write(dir.path().join("secret.json"), "{}").unwrap();
        std::fs::write(dir.path().join("team/ok.json"), "{}").unwrap();
        let team = dir.path().join("team");
        assert!(read_inside(&team, "ok.json").is_ok());
        assert!(read_inside(&team, "./ok.json").is_ok());
        assert_eq!(
            read_inside(&team, "../secret.json").unwrap_err(),
            "`../secret.json` leaves the value file's directory; files must be inside it"
        );
        assert_eq!(
            read_inside(&team, "/etc/passwd").unwrap_err(),
            "`/etc/passwd` is an absolute path; name a file relative to the value file's directory"
        );
        assert_eq!(
            read_inside(&team, "missing.json").unwrap_err(),
            "cannot read `missing.json`: No such file or directory"
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_out_of_the_directory_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("team")).unwrap();
        std::fs::write(dir.path().join("secret.json"), "{}").unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("secret.json"),
            dir.path().join("team/link.json"),
        )
        .unwrap();
        assert_eq!(
            read_inside(&dir.path().join("team"), "link.json").unwrap_err(),
            "`link.json` is a link to a file outside the value file's directory; files must be inside it"
        );
    }
}
