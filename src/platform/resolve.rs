//! Which platform settings govern a value file: found from the file, never from the
//! current directory, so that every command, hook and CI job run anywhere resolves the
//! same configuration for the same file.
//!
//! From the file's directory upwards, the nearest `.kujira/` directory, looking no further
//! than the repository root (the first directory that holds `.git`). Its `templates/`
//! directory, when there is one, overrides the built-in templates with the import rules of
//! `--templates`. `--platform DIR` and `--templates DIR` (or their environment variables)
//! override both for every file. Two `.kujira/` directories between a file and the
//! repository root are an error (which one governs would depend on a rule nobody sees),
//! and so is a file outside any repository with no `.kujira/` above it and no
//! `--platform` (nothing says which settings it is released with). docs/platform.md.

use super::DEFAULT_DIR;
use std::path::{Component, Path, PathBuf};

/// The directory of template overrides inside a platform directory.
pub const TEMPLATES_DIR: &str = "templates";

/// The settings that govern one value file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Governing {
    /// The platform directory, as messages name it (relative to the current directory
    /// when it is below it).
    pub platform: Option<PathBuf>,
    /// The template overrides; `None` for the built-in templates.
    pub templates: Option<PathBuf>,
}

impl Governing {
    /// How `--verbose` and JSON reports name the template set.
    pub fn templates_name(&self) -> String {
        self.templates
            .as_ref()
            .map_or_else(|| "built-in".to_string(), |t| t.display().to_string())
    }

    /// How `--verbose` and JSON reports name the platform directory.
    pub fn platform_name(&self) -> String {
        self.platform
            .as_ref()
            .map_or_else(|| "none".to_string(), |p| p.display().to_string())
    }
}

/// What walking up from a directory found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The nearest platform directory.
    Dir(PathBuf),
    /// None up to the repository root.
    None,
    /// Neither a platform directory nor a repository root above.
    OutsideRepository,
    /// Two platform directories: the nearer, then the outer.
    Two(PathBuf, PathBuf),
}

/// Walks up from `start` (a directory, relative to the current one or absolute).
pub fn find(start: &Path) -> Found {
    let absolute = absolute(start);
    let mut found: Option<PathBuf> = None;
    for dir in absolute.ancestors() {
        let candidate = dir.join(DEFAULT_DIR);
        if candidate.is_dir() {
            match &found {
                None => found = Some(candidate),
                Some(near) => return Found::Two(relative(near), relative(&candidate)),
            }
        }
        if dir.join(".git").exists() {
            return found.map_or(Found::None, |d| Found::Dir(relative(&d)));
        }
    }
    found.map_or(Found::OutsideRepository, |d| Found::Dir(relative(&d)))
}

/// The settings for a value file at `file`: the explicit directories when given, else
/// what [`find`] finds from its directory. `Err` with the message for the file.
pub fn for_file(
    file: &Path,
    platform: Option<&Path>,
    templates: Option<&Path>,
) -> Result<Governing, String> {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    for_dir(dir, platform, templates)
}

/// [`for_file`] for the files of a directory (`schema`, `init`: the current one).
pub fn for_dir(
    dir: &Path,
    platform: Option<&Path>,
    templates: Option<&Path>,
) -> Result<Governing, String> {
    let platform = match platform {
        Some(p) => Some(p.to_path_buf()),
        None => match find(dir) {
            Found::Dir(d) => Some(d),
            Found::None => None,
            Found::OutsideRepository => {
                return Err(
                    "not inside a repository (no .git above it) and no .kujira/ above it: say which platform settings apply with --platform DIR (or KUJIRA_PLATFORM)"
                        .to_string(),
                );
            }
            Found::Two(near, outer) => {
                return Err(format!(
                    "governed by two platform directories, {} and {}: a repository has one (merge them, or pass --platform DIR)",
                    near.display(),
                    outer.display()
                ));
            }
        },
    };
    let templates = match templates {
        Some(t) => Some(t.to_path_buf()),
        None => platform
            .as_ref()
            .map(|p| p.join(TEMPLATES_DIR))
            .filter(|t| t.is_dir()),
    };
    Ok(Governing {
        platform,
        templates,
    })
}

/// `path` made absolute without touching the file system (`..` removed lexically).
pub fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// An absolute path as a person in the current directory names it: relative below it
/// (`teams/.kujira`), with `..` above it (`../../.kujira`), absolute when they share
/// nothing but the root.
pub fn relative(path: &Path) -> PathBuf {
    match std::env::current_dir() {
        Ok(cwd) => relative_to(path, &absolute(&cwd)),
        Err(_) => path.to_path_buf(),
    }
}

/// [`relative`] from the absolute directory `cwd` (found once for many paths).
pub fn relative_to(path: &Path, cwd: &Path) -> PathBuf {
    for (up, base) in cwd.ancestors().enumerate() {
        if let Ok(rest) = path.strip_prefix(base) {
            if base.parent().is_none() && up > 0 {
                return path.to_path_buf();
            }
            let mut out: PathBuf = (0..up).map(|_| "..").collect();
            out.push(rest);
            if out.as_os_str().is_empty() {
                out.push(".");
            }
            return out;
        }
    }
    path.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_platform_directory_up_to_the_repository_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("repo/.git")).unwrap();
        std::fs::create_dir_all(root.join("repo/.kujira/templates")).unwrap();
        std::fs::create_dir_all(root.join("repo/teams/a")).unwrap();
        std::fs::create_dir_all(root.join("other/teams/b")).unwrap();
        std::fs::create_dir_all(root.join("bare/teams/c")).unwrap();
        std::fs::create_dir_all(root.join("bare/.git")).unwrap();
        let g = for_file(&root.join("repo/teams/a/value.json"), None, None).unwrap();
        assert_eq!(
            g.platform.map(|p| absolute(&p)),
            Some(root.join("repo/.kujira"))
        );
        assert_eq!(
            g.templates.map(|p| absolute(&p)),
            Some(root.join("repo/.kujira/templates"))
        );
        // A repository without settings: the built-in ones.
        let g = for_file(&root.join("bare/teams/c/value.json"), None, None).unwrap();
        assert_eq!(g, Governing::default());
        // Outside any repository (the temporary directory has no .git above it).
        let e = for_file(&root.join("other/teams/b/value.json"), None, None).unwrap_err();
        assert!(e.starts_with("not inside a repository"), "{e}");
        // The explicit directories win.
        let g = for_file(
            &root.join("other/teams/b/value.json"),
            Some(Path::new("p")),
            Some(Path::new("t")),
        )
        .unwrap();
        assert_eq!(g.platform, Some(PathBuf::from("p")));
        assert_eq!(g.templates, Some(PathBuf::from("t")));
        // Two platform directories.
        std::fs::create_dir_all(root.join("repo/teams/.kujira")).unwrap();
        let e = for_file(&root.join("repo/teams/a/value.json"), None, None).unwrap_err();
        assert!(e.contains("governed by two platform directories"), "{e}");
    }

    #[test]
    fn paths_are_made_absolute_lexically() {
        assert_eq!(
            absolute(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }
}
