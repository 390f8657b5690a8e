//! From the command line's PATHs to the list of value files, each with the name it has in
//! messages and the path it has in the output (relative to the repository root, so the
//! output does not depend on where kujira-gen runs).

use crate::diag::Diagnostic;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub const VALUE_FILE_NAME: &str = "value.json";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    /// As the user named it (a file given, or a directory given joined with the walk).
    pub display: String,
    /// Relative to the repository root, `/`-separated.
    pub source: String,
}

/// Files are taken as given (any name); directories are searched for files named
/// `value.json`, in sorted order, skipping hidden directories (`.git`...). A file reached
/// twice is compiled once. `root`: see [`source_path`]. A directory without a value file
/// is an error (a CI job pointed at the wrong directory must not pass), unless
/// `allow_empty`. A `value.json` that is not a regular file (a FIFO, a device, a link to
/// one) is skipped with a warning: reading it could block or never end.
pub fn discover(
    paths: &[PathBuf],
    root: Option<&Path>,
    allow_empty: bool,
) -> (Vec<Input>, Vec<Diagnostic>) {
    let mut inputs = Vec::new();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    let root = root.map(|r| r.canonicalize().unwrap_or_else(|_| r.to_path_buf()));
    let cwd = std::env::current_dir().ok();
    let mut push = |path: PathBuf, inputs: &mut Vec<Input>| {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        if seen.insert(canonical.clone()) {
            let display = path.to_string_lossy().into_owned();
            let source = source_path(&canonical, root.as_deref(), cwd.as_deref())
                .unwrap_or_else(|| display.replace('\\', "/"));
            inputs.push(Input {
                path,
                display,
                source,
            });
        }
    };
    for p in paths {
        let display = p.to_string_lossy().into_owned();
        match std::fs::metadata(p) {
            Err(e) => problems.push(Diagnostic::error(
                display,
                format!("cannot read: {}", super::io_reason(&e)),
            )),
            Ok(m) if m.is_dir() => {
                let mut found = 0;
                let walk = walkdir::WalkDir::new(p)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_entry(|e| {
                        e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                    });
                for entry in walk {
                    match entry {
                        Ok(e) if e.file_name() == VALUE_FILE_NAME && e.depth() > 0 => {
                            // Links are followed: a link to a regular file is a value file.
                            match std::fs::metadata(e.path()) {
                                Ok(m) if m.is_file() => {
                                    found += 1;
                                    push(e.into_path(), &mut inputs);
                                }
                                Ok(m) => problems.push(Diagnostic::warning(
                                    e.path().to_string_lossy().into_owned(),
                                    format!(
                                        "skipped: {}",
                                        super::ReadError::NotRegular {
                                            what: super::describe_target(
                                                e.path(),
                                                super::file_kind(m.file_type())
                                            )
                                        }
                                    ),
                                )),
                                Err(err) => problems.push(Diagnostic::warning(
                                    e.path().to_string_lossy().into_owned(),
                                    format!("skipped: cannot read: {}", super::io_reason(&err)),
                                )),
                            }
                        }
                        Ok(_) => {}
                        Err(e) => problems.push(Diagnostic::error(
                            e.path()
                                .map_or(display.clone(), |x| x.to_string_lossy().into_owned()),
                            format!(
                                "cannot read: {}",
                                e.io_error().map_or_else(|| e.to_string(), super::io_reason)
                            ),
                        )),
                    }
                }
                if found == 0 && !allow_empty {
                    problems.push(Diagnostic::error(
                        display,
                        format!(
                            "no {VALUE_FILE_NAME} found in this directory (--allow-empty accepts that)"
                        ),
                    ));
                }
            }
            Ok(_) => push(p.clone(), &mut inputs),
        }
    }
    (inputs, problems)
}

/// For `validate --changed`: the value files that changed files affect. A changed file
/// named `value.json` is one; any other changed file affects the `value.json` files in
/// its directory and the directories above it (up to the repository root) that name it
/// (a value file may only name files inside its own directory tree, so these are the
/// only candidates). A directory is kept as given. Files that no value file names are
/// dropped: they are not kujira-gen's business.
pub fn affected_by(changed: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let add = |p: PathBuf, out: &mut Vec<PathBuf>| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    for path in changed {
        if path.is_dir() || path.file_name().is_some_and(|n| n == VALUE_FILE_NAME) {
            add(path.clone(), &mut out);
            continue;
        }
        let Ok(target) = path.canonicalize() else {
            continue;
        };
        for dir in path.ancestors().skip(1) {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            let candidate = dir.join(VALUE_FILE_NAME);
            if names_file(&candidate, &target) {
                add(candidate, &mut out);
            }
            if dir.join(".git").exists() || dir == Path::new(".") {
                break;
            }
        }
    }
    out
}

/// Whether the value file at `value_file` names `target` (canonical) in one of its file
/// keys. A value file that cannot be read or parsed counts as naming it: validating it
/// then reports why.
fn names_file(value_file: &Path, target: &Path) -> bool {
    if !value_file.is_file() {
        return false;
    }
    let Ok(bytes) = super::read_bounded(value_file, super::MAX_VALUE_FILE_BYTES) else {
        return true;
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return true;
    };
    let dir = value_file.parent().unwrap_or(Path::new("."));
    super::files::FILE_KEYS.iter().any(|(pointer, _)| {
        value
            .pointer(pointer)
            .and_then(serde_json::Value::as_str)
            .and_then(|written| dir.join(written).canonicalize().ok())
            .is_some_and(|p| p == target)
    })
}

/// `file` relative to the repository root: `root` when given, else the nearest directory
/// above `file` that holds `.git`, else the current directory. `None` when `file` is not
/// below that root.
pub fn source_path(file: &Path, root: Option<&Path>, cwd: Option<&Path>) -> Option<String> {
    let root = match root {
        Some(r) => r.to_path_buf(),
        None => git_root(file).or_else(|| cwd.and_then(|c| c.canonicalize().ok()))?,
    };
    let rel = file.strip_prefix(&root).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// The nearest directory above `file` that holds `.git`.
pub fn git_root(file: &Path) -> Option<PathBuf> {
    file.ancestors()
        .skip(1)
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn directories_are_searched_in_order_and_files_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join(".git")).unwrap();
        for d in ["teams/b", "teams/a", ".hidden"] {
            fs::create_dir_all(root.join(d)).unwrap();
            fs::write(root.join(d).join("value.json"), "{}").unwrap();
        }
        fs::write(root.join("teams/a/other.json"), "{}").unwrap();
        let (inputs, problems) = discover(
            &[root.join("teams"), root.join("teams/a/value.json")],
            None,
            false,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let sources: Vec<&str> = inputs.iter().map(|i| i.source.as_str()).collect();
        assert_eq!(sources, ["teams/a/value.json", "teams/b/value.json"]);
    }

    #[test]
    fn missing_paths_and_empty_directories_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let (inputs, problems) =
            discover(&[missing.clone(), dir.path().to_path_buf()], None, false);
        assert!(inputs.is_empty());
        assert_eq!(problems.len(), 2);
        assert_eq!(
            problems[0].message,
            "cannot read: No such file or directory"
        );
        assert_eq!(
            problems[1].message,
            "no value.json found in this directory (--allow-empty accepts that)"
        );
        assert!(problems[1].is_error());
        let (_, allowed) = discover(&[dir.path().to_path_buf()], None, true);
        assert!(allowed.is_empty(), "{allowed:?}");
    }

    #[test]
    fn changed_files_select_the_value_files_that_name_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::create_dir_all(root.join("teams/a/tests")).unwrap();
        fs::create_dir_all(root.join("teams/b")).unwrap();
        fs::write(
            root.join("teams/a/value.json"),
            r#"{"ScenarioTest": {"Collection": "tests/c.json"}}"#,
        )
        .unwrap();
        fs::write(root.join("teams/a/tests/c.json"), "{}").unwrap();
        fs::write(root.join("teams/a/tests/unrelated.json"), "{}").unwrap();
        fs::write(root.join("teams/b/value.json"), "{}").unwrap();
        let got = affected_by(&[
            root.join("teams/a/tests/c.json"),
            root.join("teams/a/tests/unrelated.json"),
            root.join("teams/b/value.json"),
        ]);
        assert_eq!(
            got,
            vec![
                root.join("teams/a/value.json"),
                root.join("teams/b/value.json")
            ]
        );
    }

    #[test]
    fn an_explicit_root_wins() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let f = root.join("x/value.json");
        assert_eq!(
            source_path(&f, Some(&root), None).as_deref(),
            Some("x/value.json")
        );
        assert_eq!(source_path(&f, Some(&root.join("y")), None), None);
    }
}
