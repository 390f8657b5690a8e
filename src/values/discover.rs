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
                for entry in walk(p) {
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

/// For `validate --changed`: the value files and directories that changed files affect.
/// - A changed `value.json`, or a directory, is itself. A deleted `value.json` (see
///   [`deleted_value_files`]) affects nothing: a team that is gone has nothing to validate.
/// - A file of a platform directory (`.kujira/`: defaults, policy, SLO settings, template
///   overrides), or of the `platform` or `templates` directory given, affects every team
///   that platform governs: the directory that holds `.kujira/` (for a directory given, the
///   repository root above it).
/// - Any other file, present or deleted, affects the `value.json` files in its directory
///   and the directories above it (up to the repository root) that name it (a value file
///   may only name files inside its own directory tree, so these are the only candidates).
///   Files that no value file names are dropped: they are not kujira-gen's business.
pub fn affected_by(
    changed: &[PathBuf],
    platform: Option<&Path>,
    templates: Option<&Path>,
) -> Vec<PathBuf> {
    use crate::platform::resolve::absolute;
    let mut out: Vec<PathBuf> = Vec::new();
    let add = |p: PathBuf, out: &mut Vec<PathBuf>| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    let given: Vec<PathBuf> = platform
        .into_iter()
        .chain(templates)
        .map(absolute)
        .collect();
    for path in changed {
        if path.is_dir() || path.file_name().is_some_and(|n| n == VALUE_FILE_NAME) {
            if !is_deleted_value_file(path) {
                add(path.clone(), &mut out);
            }
            continue;
        }
        let target = absolute(path);
        if let Some(governed) = governed_by_platform_file(&target, &given) {
            add(crate::platform::resolve::relative(&governed), &mut out);
            continue;
        }
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
            if absolute(dir).join(".git").exists() || dir == Path::new(".") {
                break;
            }
        }
    }
    out
}

fn is_deleted_value_file(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == VALUE_FILE_NAME) && path.symlink_metadata().is_err()
}

/// The value files among `changed` that no longer exist (a team removed in the commit).
pub fn deleted_value_files(changed: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    changed
        .iter()
        .filter(|p| is_deleted_value_file(p) && seen.insert(crate::platform::resolve::absolute(p)))
        .cloned()
        .collect()
}

/// The `Application` a value file deleted in the commit being prepared declared, from its
/// last committed version (`git show HEAD:./PATH`); `None` outside git or when HEAD does
/// not have it (a CI job naming a file the checked-out commit deleted).
pub fn application_at_head(path: &Path) -> Option<String> {
    let spec = format!("HEAD:./{}", path.to_string_lossy());
    let out = std::process::Command::new("git")
        .args(["show", &spec])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    super::application_of(&out.stdout)
}

/// The files deleted in the commit being prepared, moves included (`git diff --cached
/// --no-renames --diff-filter=D`), relative to the current directory; none outside a git
/// work tree or without git.
pub fn staged_deletions() -> Vec<PathBuf> {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| o.stdout)
    };
    // Without rename detection: a file moved (`git mv`) is a deletion of its old path for
    // every team naming it, and git's default (`diff.renames`) would list it as a rename.
    let Some(deleted) = run(&[
        "diff",
        "--cached",
        "--no-renames",
        "--name-only",
        "--diff-filter=D",
        "-z",
    ]) else {
        return Vec::new();
    };
    // Most commits delete nothing: the second git process only when needed.
    if deleted.is_empty() {
        return Vec::new();
    }
    let Some(top) = run(&["rev-parse", "--show-toplevel"]) else {
        return Vec::new();
    };
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim_end_matches('\n'));
    deleted
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| crate::platform::resolve::relative(&top.join(String::from_utf8_lossy(p).as_ref())))
        .collect()
}

/// When `target` (absolute) is a platform file, the directory whose teams it governs.
fn governed_by_platform_file(target: &Path, given: &[PathBuf]) -> Option<PathBuf> {
    for dir in given {
        if target.starts_with(dir) {
            // The repository holding the directory, else the directory above it.
            return Some(
                repository_root(dir)
                    .or_else(|| dir.parent().map(Path::to_path_buf))
                    .unwrap_or_else(|| dir.clone()),
            );
        }
    }
    target
        .ancestors()
        .skip(1)
        .find(|a| {
            a.file_name()
                .is_some_and(|n| n == crate::platform::DEFAULT_DIR)
        })
        .and_then(Path::parent)
        .map(Path::to_path_buf)
}

/// Whether the value file at `value_file` names `target` (absolute, compared without
/// touching the file system, so that a deleted file is still recognised) in one of its
/// file keys. A value file that cannot be read or parsed counts as naming it: validating
/// it then reports why.
fn names_file(value_file: &Path, target: &Path) -> bool {
    use crate::platform::resolve::absolute;
    if !value_file.is_file() {
        return false;
    }
    let Ok(bytes) = super::read_bounded(value_file, super::MAX_VALUE_FILE_BYTES) else {
        return true;
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(super::without_bom(&bytes)) else {
        return true;
    };
    let dir = absolute(value_file.parent().unwrap_or(Path::new(".")));
    let canonical = target.canonicalize().ok();
    super::files::FILE_KEYS.iter().any(|(pointer, _)| {
        value
            .pointer(pointer)
            .and_then(serde_json::Value::as_str)
            .is_some_and(|written| {
                let named = absolute(&dir.join(written));
                named == target
                    || canonical
                        .as_ref()
                        .is_some_and(|c| named.canonicalize().ok().as_ref() == Some(c))
            })
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

/// Everything under `dir` in sorted order, hidden directories (`.git`...) skipped: where
/// value files are looked for.
fn walk(dir: &Path) -> impl Iterator<Item = walkdir::Result<walkdir::DirEntry>> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
}

/// The paths of the value files under `dirs`, found as [`discover`] finds them, each
/// once, but without what an input needs (its canonical path and its place in the
/// repository): for reading every other team's `Application` on each commit, where those
/// lookups cost more than the reading. Unreadable directories are passed over.
pub fn value_files_under(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    dirs.iter()
        .flat_map(|d| walk(d))
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == VALUE_FILE_NAME && e.depth() > 0)
        .map(walkdir::DirEntry::into_path)
        .filter(|p| seen.insert(p.clone()))
        .collect()
}

/// The nearest directory above `file` that holds `.git`.
pub fn git_root(file: &Path) -> Option<PathBuf> {
    repository_root(file.parent()?)
}

/// `dir`, or the nearest directory above it, that holds `.git`.
pub fn repository_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
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
        let got = affected_by(
            &[
                root.join("teams/a/tests/c.json"),
                root.join("teams/a/tests/unrelated.json"),
                root.join("teams/b/value.json"),
            ],
            None,
            None,
        );
        assert_eq!(
            got,
            vec![
                root.join("teams/a/value.json"),
                root.join("teams/b/value.json")
            ]
        );
        // A deleted file is still found by the value file that names it.
        fs::remove_file(root.join("teams/a/tests/c.json")).unwrap();
        let got = affected_by(&[root.join("teams/a/tests/c.json")], None, None);
        assert_eq!(got, vec![root.join("teams/a/value.json")]);
    }

    #[test]
    fn a_changed_platform_file_affects_every_team_it_governs() {
        use crate::platform::resolve::absolute;
        let dir = tempfile::tempdir().unwrap();
        let root = absolute(dir.path());
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::create_dir_all(root.join(".kujira/templates/release")).unwrap();
        fs::create_dir_all(root.join("platform/templates")).unwrap();
        for changed in [
            ".kujira/policy.json",
            ".kujira/templates/release/jobs.libsonnet",
            "platform/templates/main.jsonnet",
        ] {
            let got = affected_by(
                &[root.join(changed)],
                None,
                Some(&root.join("platform/templates")),
            );
            assert_eq!(
                got.iter().map(|p| absolute(p)).collect::<Vec<_>>(),
                vec![root.clone()],
                "{changed}"
            );
        }
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
