//! Where `import "x"` finds its file.
//!
//! The templates form one tree of logical paths (`main.jsonnet`, `lib/stages.libsonnet`).
//! Each logical path is served from the `--templates` directory when the file is there,
//! else from the copy embedded in the binary: a platform team overrides one file by
//! putting just that file in its directory. Order for `import "p"` from file F:
//!
//! 1. relative to F: inside the template tree (override dir, then embedded) when F is a
//!    template file, else next to F on disk;
//! 2. each `-J` library directory, in the order given;
//! 3. the template tree's root (so a `-J` library can import the built-in helpers).
//!
//! `builtin/<path>` always names the embedded file, so an override can wrap the built-in
//! version of the file it replaces. Absolute imports are read from disk as is (templates
//! are trusted code, unlike values).

use super::embedded;
use jrsonnet_evaluator::error::ErrorKind;
use jrsonnet_evaluator::{AsPathLike, ImportResolver, ResolvePathOwned, Result, SourcePath};
use jrsonnet_gcmodule::Acyclic;
use jrsonnet_ir::SourcePathT;
use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::{Component, Path, PathBuf};

/// A template file: where it sits in the template tree (if it does) and where its bytes
/// come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Acyclic)]
pub struct TemplateFile {
    /// Logical path in the template tree, `/`-separated; empty for library files.
    logical: String,
    /// Set for files on disk; unset for embedded ones.
    disk: Option<String>,
    /// How the file is named in messages.
    display: String,
}

impl TemplateFile {
    fn embedded(logical: &str) -> Self {
        Self {
            logical: logical.to_string(),
            disk: None,
            display: format!("{}{logical}", embedded::DISPLAY_PREFIX),
        }
    }

    fn disk(logical: Option<&str>, path: &Path) -> Self {
        Self {
            logical: logical.unwrap_or_default().to_string(),
            disk: Some(path.to_string_lossy().into_owned()),
            display: display_path(path),
        }
    }

    fn in_tree(&self) -> bool {
        !self.logical.is_empty()
    }
}

/// Paths under the current directory are shown relative to it, like the user typed them.
fn display_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

impl fmt::Display for TemplateFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl SourcePathT for TemplateFile {
    fn is_default(&self) -> bool {
        false
    }
    fn path(&self) -> Option<&Path> {
        // `None` makes jrsonnet name the file by its `Display`, which is what we want for
        // both kinds: relative to the current directory, or `<embedded>/...`.
        None
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn dyn_hash(&self, mut hasher: &mut dyn Hasher) {
        self.hash(&mut hasher)
    }
    fn dyn_eq(&self, other: &dyn SourcePathT) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn dyn_debug(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, fmt)
    }
}

/// Logical prefix under which the embedded templates stay reachable when overridden.
pub const BUILTIN_PREFIX: &str = "builtin/";

#[derive(Debug, Clone, Default, Acyclic)]
pub struct Resolver {
    /// `--templates DIR`, made absolute.
    overrides: Option<String>,
    /// `-J` directories, made absolute.
    jpath: Vec<String>,
}

impl Resolver {
    pub fn new(overrides: Option<&Path>, jpath: &[PathBuf]) -> Self {
        let abs = |p: &Path| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.to_path_buf())
                .to_string_lossy()
                .into_owned()
        };
        Self {
            overrides: overrides.map(abs),
            jpath: jpath.iter().map(|p| abs(p)).collect(),
        }
    }

    /// The file at a logical path of the template tree, if there is one. `builtin/<path>`
    /// is always the embedded file, so that an override can wrap the file it replaces
    /// (its own imports still resolve through the overrides).
    pub fn tree_file(&self, logical: &str) -> Option<TemplateFile> {
        if let Some(builtin) = logical.strip_prefix(BUILTIN_PREFIX) {
            return embedded::get(builtin).map(|_| TemplateFile::embedded(builtin));
        }
        if let Some(dir) = &self.overrides {
            let p = Path::new(dir).join(logical);
            if p.is_file() {
                return Some(TemplateFile::disk(Some(logical), &p));
            }
        }
        embedded::get(logical).map(|_| TemplateFile::embedded(logical))
    }

    fn disk_file(path: &Path) -> Option<TemplateFile> {
        path.is_file().then(|| TemplateFile::disk(None, path))
    }
}

/// `a/b` + `../c` -> `a/c`; `None` when the result would leave the tree.
fn join_logical(base_dir: &str, rel: &Path) -> Option<String> {
    let mut parts: Vec<String> = base_dir
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    for c in rel.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn parent_logical(logical: &str) -> &str {
    logical.rsplit_once('/').map_or("", |(dir, _)| dir)
}

impl ImportResolver for Resolver {
    fn resolve_from(&self, from: &SourcePath, path: &dyn AsPathLike) -> Result<SourcePath> {
        let rel = path.as_path();
        let rel: &Path = rel.as_ref();
        let found = if rel.is_absolute() {
            Self::disk_file(rel)
        } else {
            let from_file = from.downcast_ref::<TemplateFile>();
            let relative = match from_file {
                Some(f) if f.in_tree() => {
                    join_logical(parent_logical(&f.logical), rel).and_then(|l| self.tree_file(&l))
                }
                Some(TemplateFile { disk: Some(p), .. }) => Path::new(p)
                    .parent()
                    .and_then(|d| Self::disk_file(&d.join(rel))),
                // The entry point is resolved from "nowhere": the tree's root.
                _ => join_logical("", rel).and_then(|l| self.tree_file(&l)),
            };
            relative
                .or_else(|| {
                    self.jpath
                        .iter()
                        .find_map(|d| Self::disk_file(&Path::new(d).join(rel)))
                })
                .or_else(|| join_logical("", rel).and_then(|l| self.tree_file(&l)))
        };
        match found {
            Some(f) => Ok(SourcePath::new(f)),
            None => Err(ErrorKind::ImportFileNotFound(
                from.clone(),
                ResolvePathOwned::Path(rel.to_path_buf()),
            )
            .into()),
        }
    }

    fn load_file_contents(&self, resolved: &SourcePath) -> Result<Vec<u8>> {
        let Some(file) = resolved.downcast_ref::<TemplateFile>() else {
            return Err(ErrorKind::ImportIo(format!("cannot load {resolved}")).into());
        };
        match &file.disk {
            Some(p) => std::fs::read(p)
                .map_err(|e| ErrorKind::ImportIo(format!("{}: {e}", file.display)).into()),
            None => embedded::get(&file.logical)
                .map(|s| s.as_bytes().to_vec())
                .ok_or_else(|| {
                    ErrorKind::ImportIo(format!("{}: not embedded", file.display)).into()
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_paths_stay_inside_the_tree() {
        assert_eq!(
            join_logical("lib", Path::new("x.libsonnet")).as_deref(),
            Some("lib/x.libsonnet")
        );
        assert_eq!(
            join_logical("lib", Path::new("../main.jsonnet")).as_deref(),
            Some("main.jsonnet")
        );
        assert_eq!(join_logical("", Path::new("../x")), None);
        assert_eq!(
            join_logical("", Path::new("./a/./b")).as_deref(),
            Some("a/b")
        );
    }

    #[test]
    fn an_override_directory_wins_and_falls_back_to_embedded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.libsonnet"), "{}").unwrap();
        let r = Resolver::new(Some(dir.path()), &[]);
        let overridden = r.tree_file("config.libsonnet").unwrap();
        assert!(overridden.disk.is_some());
        let fallback = r.tree_file("main.jsonnet").unwrap();
        assert_eq!(fallback.to_string(), "<embedded>/main.jsonnet");
        assert!(r.tree_file("nope.libsonnet").is_none());
        let builtin = r.tree_file("builtin/config.libsonnet").unwrap();
        assert_eq!(builtin, TemplateFile::embedded("config.libsonnet"));
    }
}
