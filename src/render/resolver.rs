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
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Where a template file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Origin {
    /// Compiled into the binary.
    Embedded,
    /// A file on disk (absolute path).
    Disk(String),
    /// The resolver's in-memory override tree (read from a git revision).
    Memory,
}

/// A template file: where it sits in the template tree (if it does) and where its bytes
/// come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Acyclic)]
pub struct TemplateFile {
    /// Logical path in the template tree, `/`-separated; empty for library files.
    logical: String,
    origin: Origin,
    /// How the file is named in messages.
    display: String,
}

impl TemplateFile {
    fn embedded(logical: &str) -> Self {
        Self {
            logical: logical.to_string(),
            origin: Origin::Embedded,
            display: format!("{}{logical}", embedded::DISPLAY_PREFIX),
        }
    }

    fn disk(logical: Option<&str>, path: &Path) -> Self {
        Self {
            logical: logical.unwrap_or_default().to_string(),
            origin: Origin::Disk(path.to_string_lossy().into_owned()),
            display: display_path(path),
        }
    }

    fn memory(logical: &str, tree: &MemoryTree) -> Self {
        Self {
            logical: logical.to_string(),
            origin: Origin::Memory,
            display: format!("{}/{logical}", tree.label),
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

/// Override files held in memory, e.g. a template directory as it is in a git revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    /// Names the tree in messages: `origin/main:platform/templates`.
    pub label: String,
    /// Logical path (`/`-separated, relative to the tree) -> contents.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The override tree: `--templates DIR` on disk, or files in memory.
#[derive(Debug, Clone)]
enum Overrides {
    Disk(String),
    Memory(Arc<MemoryTree>),
}

#[derive(Debug, Clone, Default, Acyclic)]
pub struct Resolver {
    overrides: Option<Overrides>,
    /// `-J` directories, made absolute.
    jpath: Vec<String>,
}

fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

impl Resolver {
    pub fn new(overrides: Option<&Path>, jpath: &[PathBuf]) -> Self {
        Self {
            overrides: overrides.map(|d| Overrides::Disk(absolute(d))),
            jpath: jpath.iter().map(|p| absolute(p)).collect(),
        }
    }

    /// Overrides served from memory instead of a directory.
    pub fn in_memory(tree: MemoryTree, jpath: &[PathBuf]) -> Self {
        Self {
            overrides: Some(Overrides::Memory(Arc::new(tree))),
            jpath: jpath.iter().map(|p| absolute(p)).collect(),
        }
    }

    /// The file at a logical path of the template tree, if there is one. `builtin/<path>`
    /// is always the embedded file, so that an override can wrap the file it replaces
    /// (its own imports still resolve through the overrides).
    pub fn tree_file(&self, logical: &str) -> Option<TemplateFile> {
        if let Some(builtin) = logical.strip_prefix(BUILTIN_PREFIX) {
            return embedded::get(builtin).map(|_| TemplateFile::embedded(builtin));
        }
        match &self.overrides {
            Some(Overrides::Disk(dir)) => {
                let p = Path::new(dir).join(logical);
                if p.is_file() {
                    return Some(TemplateFile::disk(Some(logical), &p));
                }
            }
            Some(Overrides::Memory(tree)) if tree.files.contains_key(logical) => {
                return Some(TemplateFile::memory(logical, tree));
            }
            _ => {}
        }
        embedded::get(logical).map(|_| TemplateFile::embedded(logical))
    }

    /// The embedded files this template set uses as they are (not overridden), by
    /// logical path.
    pub fn embedded_in_use(&self) -> Vec<&'static str> {
        embedded::paths()
            .filter(|p| self.tree_file(p) == Some(TemplateFile::embedded(p)))
            .collect()
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
                Some(TemplateFile {
                    origin: Origin::Disk(p),
                    ..
                }) => Path::new(p)
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
        let missing = || ErrorKind::ImportIo(format!("{}: not found", file.display)).into();
        match &file.origin {
            Origin::Disk(p) => std::fs::read(p)
                .map_err(|e| ErrorKind::ImportIo(format!("{}: {e}", file.display)).into()),
            Origin::Embedded => embedded::get(&file.logical)
                .map(|s| s.as_bytes().to_vec())
                .ok_or_else(missing),
            Origin::Memory => match &self.overrides {
                Some(Overrides::Memory(tree)) => {
                    tree.files.get(&file.logical).cloned().ok_or_else(missing)
                }
                _ => Err(missing()),
            },
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
        assert!(matches!(overridden.origin, Origin::Disk(_)));
        let fallback = r.tree_file("main.jsonnet").unwrap();
        assert_eq!(fallback.to_string(), "<embedded>/main.jsonnet");
        assert!(r.tree_file("nope.libsonnet").is_none());
        let builtin = r.tree_file("builtin/config.libsonnet").unwrap();
        assert_eq!(builtin, TemplateFile::embedded("config.libsonnet"));
        let in_use = r.embedded_in_use();
        assert!(in_use.contains(&"main.jsonnet"));
        assert!(!in_use.contains(&"config.libsonnet"));
        assert_eq!(in_use.len(), embedded::paths().count() - 1);
    }

    #[test]
    fn an_in_memory_tree_overrides_like_a_directory() {
        let mut files = BTreeMap::new();
        files.insert("config.libsonnet".to_string(), b"{}".to_vec());
        let r = Resolver::in_memory(
            MemoryTree {
                label: "main:t".into(),
                files,
            },
            &[],
        );
        let f = r.tree_file("config.libsonnet").unwrap();
        assert_eq!(f.to_string(), "main:t/config.libsonnet");
        let loaded = r.load_file_contents(&SourcePath::new(f)).ok().unwrap();
        assert_eq!(loaded, b"{}");
        assert_eq!(
            r.tree_file("main.jsonnet").unwrap().to_string(),
            "<embedded>/main.jsonnet"
        );
    }
}
