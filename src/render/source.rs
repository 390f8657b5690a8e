//! Which template set renders: the built-in one, a directory of overrides, or a directory
//! as it is in a git revision (read with git itself, no checkout), for comparing two
//! versions of the templates (`kujira-gen impact --old ... --new ...`).

use super::resolver::{MemoryTree, Resolver};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The word that names the templates compiled into the binary.
pub const BUILTIN: &str = "builtin";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    /// The embedded templates.
    Builtin,
    /// Overrides in a directory on disk (like `--templates DIR`).
    Dir(PathBuf),
    /// Overrides as directory `path` is in git revision `rev` (`REV:PATH`, git's own
    /// syntax: PATH from the repository root, or from the current directory when it starts
    /// with `./` or `../`).
    Git { rev: String, path: String },
}

impl TemplateSource {
    /// `builtin`; an existing directory; else `REV:PATH`. A directory on disk wins over the
    /// other readings, so `./builtin` names a directory called `builtin`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        if spec == BUILTIN {
            return Ok(Self::Builtin);
        }
        let p = Path::new(spec);
        if p.is_dir() {
            return Ok(Self::Dir(p.to_path_buf()));
        }
        match spec.split_once(':') {
            // A leading `-` would be read by git as an option.
            Some((rev, path)) if !rev.is_empty() && !rev.starts_with('-') => Ok(Self::Git {
                rev: rev.to_string(),
                path: path.trim_end_matches('/').to_string(),
            }),
            _ if p.exists() => Err(format!("{spec}: not a directory")),
            _ => Err(format!(
                "{spec}: no such directory (expected `{BUILTIN}`, a directory, or REV:DIR for a directory in a git revision)"
            )),
        }
    }

    /// How messages name it.
    pub fn label(&self) -> String {
        match self {
            Self::Builtin => BUILTIN.to_string(),
            Self::Dir(d) => d.display().to_string(),
            Self::Git { rev, path } => format!("{rev}:{path}"),
        }
    }

    /// The import resolver for this template set (reads the git tree now).
    pub fn resolver(&self, jpath: &[PathBuf]) -> Result<Resolver> {
        Ok(match self {
            Self::Builtin => Resolver::new(None, jpath),
            Self::Dir(d) => Resolver::new(Some(d), jpath),
            Self::Git { .. } => Resolver::in_memory(self.read_git()?, jpath),
        })
    }

    fn read_git(&self) -> Result<MemoryTree> {
        let Self::Git { rev, path } = self else {
            bail!("not a git revision");
        };
        let label = self.label();
        let tree = format!("{rev}:{path}");
        // Say which part is missing instead of git's "Not a valid object name".
        if git(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
        .is_err()
        {
            bail!("{label}: `{rev}` is not a revision of this repository (is it fetched?)");
        }
        // A directory of overrides that does not exist yet in that revision (the pull
        // request that adds the platform's first override): the revision rendered with the
        // built-in templates, so that is what it is compared as.
        if git(&["cat-file", "-e", &tree]).is_err() {
            eprintln!(
                "kujira-gen: note: {label}: `{path}` does not exist in `{rev}`: it rendered with the built-in templates, which it is compared as"
            );
            return Ok(MemoryTree {
                label,
                files: BTreeMap::new(),
            });
        }
        // `-r`: every blob below the tree, paths relative to it; `-z`: names verbatim.
        let listing = git(&["ls-tree", "-r", "-z", &tree])
            .with_context(|| format!("{label}: cannot list the templates"))?;
        let mut entries = Vec::new();
        for record in listing.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            // `<mode> SP <type> SP <object> TAB <path>`
            let text = String::from_utf8_lossy(record);
            let Some((meta, name)) = text.split_once('\t') else {
                bail!("{label}: unexpected `git ls-tree` output: {text}");
            };
            let fields: Vec<&str> = meta.split(' ').collect();
            // Regular files only: a symbolic link's blob is its target's name, and a
            // submodule is another repository.
            if let ["100644" | "100755", "blob", object] = fields.as_slice() {
                entries.push((name.to_string(), object.to_string()));
            }
        }
        if entries.is_empty() {
            bail!("{label}: no files in that directory of that revision");
        }
        let blobs = cat_blobs(entries.iter().map(|(_, o)| o.as_str()))
            .with_context(|| format!("{label}: cannot read the templates"))?;
        let files: BTreeMap<String, Vec<u8>> =
            entries.into_iter().map(|(n, _)| n).zip(blobs).collect();
        Ok(MemoryTree { label, files })
    }
}

/// Runs git and returns its stdout; its stderr becomes the error.
fn git(args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("git")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run git")?;
    if !out.status.success() {
        bail!("git: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(out.stdout)
}

/// The contents of each blob, in order, through one `git cat-file --batch`.
fn cat_blobs<'a>(objects: impl Iterator<Item = &'a str>) -> Result<Vec<Vec<u8>>> {
    let request: String = objects.map(|o| format!("{o}\n")).collect();
    let count = request.lines().count();
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run git")?;
    let mut stdin = child.stdin.take().context("git: no stdin")?;
    // Write from another thread: git answers while it reads, and both pipes can fill.
    let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
    let mut reader = BufReader::new(child.stdout.take().context("git: no stdout")?);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        // `<object> SP <type> SP <size> LF <contents> LF`, or `<object> SP missing LF`.
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let parts: Vec<&str> = header.split_whitespace().collect();
        let [_, "blob", size] = parts.as_slice() else {
            bail!("git cat-file: {}", header.trim());
        };
        let size: usize = size.parse().context("git cat-file: bad size")?;
        let mut body = vec![0; size + 1];
        reader.read_exact(&mut body)?;
        body.pop();
        out.push(body);
    }
    drop(reader);
    let _ = writer.join();
    let status = child.wait()?;
    if !status.success() {
        bail!("git cat-file failed");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_read_as_documented() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_string_lossy().into_owned();
        assert_eq!(
            TemplateSource::parse("builtin"),
            Ok(TemplateSource::Builtin)
        );
        assert_eq!(
            TemplateSource::parse(&d),
            Ok(TemplateSource::Dir(dir.path().to_path_buf()))
        );
        assert_eq!(
            TemplateSource::parse("origin/main:platform/templates/"),
            Ok(TemplateSource::Git {
                rev: "origin/main".into(),
                path: "platform/templates".into()
            })
        );
        let missing = TemplateSource::parse("nope").unwrap_err();
        assert!(missing.starts_with("nope: no such directory"), "{missing}");
    }
}
