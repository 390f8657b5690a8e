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
/// twice is compiled once. `root`: see [`source_path`].
pub fn discover(paths: &[PathBuf], root: Option<&Path>) -> (Vec<Input>, Vec<Diagnostic>) {
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
                        Ok(e) if e.file_type().is_file() && e.file_name() == VALUE_FILE_NAME => {
                            found += 1;
                            push(e.into_path(), &mut inputs);
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
                if found == 0 {
                    problems.push(Diagnostic::warning(
                        display,
                        format!("no {VALUE_FILE_NAME} found in this directory"),
                    ));
                }
            }
            Ok(_) => push(p.clone(), &mut inputs),
        }
    }
    (inputs, problems)
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

fn git_root(file: &Path) -> Option<PathBuf> {
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
        let (inputs, problems) =
            discover(&[root.join("teams"), root.join("teams/a/value.json")], None);
        assert!(problems.is_empty(), "{problems:?}");
        let sources: Vec<&str> = inputs.iter().map(|i| i.source.as_str()).collect();
        assert_eq!(sources, ["teams/a/value.json", "teams/b/value.json"]);
    }

    #[test]
    fn missing_paths_and_empty_directories_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let (inputs, problems) = discover(&[missing.clone(), dir.path().to_path_buf()], None);
        assert!(inputs.is_empty());
        assert_eq!(problems.len(), 2);
        assert_eq!(
            problems[0].message,
            "cannot read: No such file or directory"
        );
        assert_eq!(problems[1].message, "no value.json found in this directory");
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
