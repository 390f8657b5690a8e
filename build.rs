//! Embeds the commit kujira-gen was built from into `--version`:
//! `KUJIRA_GEN_VERSION` = `0.1.0 (commit 0123456789ab)`.
//!
//! The commit comes from `KUJIRA_GEN_COMMIT` when set (a container build, where `.git` is
//! not copied in), else from git when this package is the top of a git checkout (not when
//! it is vendored inside another repository), else there is none and the version is
//! plain `0.1.0`. Nothing in that part can fail the build.
//!
//! Also prepares the Kubernetes and Argo Rollouts schemas the output checks embed
//! (`src/check/schema_embed.rs`: pod template copies cut out, descriptions dropped,
//! repeated subschemas shared, minified) into `OUT_DIR`, so that the binary parses 0.1 MB
//! of JSON at start instead of 2.7 MB. A schema that cannot be prepared fails the build.

use std::path::Path;
use std::process::Command;

// The tests' half of the module (undoing what it prepares) is unused here.
#[allow(dead_code)]
#[path = "src/check/schema_embed.rs"]
mod schema_embed;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    embed_schemas();
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let dir = Path::new(&manifest_dir);
    println!("cargo:rerun-if-env-changed=KUJIRA_GEN_COMMIT");

    let from_env = std::env::var("KUJIRA_GEN_COMMIT")
        .ok()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    let commit = from_env.or_else(|| {
        let top = git(dir, &["rev-parse", "--show-toplevel"])?;
        let same = Path::new(&top).canonicalize().ok()? == dir.canonicalize().ok()?;
        if !same {
            return None;
        }
        // Rebuild when HEAD moves: HEAD itself (a checkout) and the branch it points to
        // (a commit). Both paths come from git, which knows about worktrees.
        // A path that does not exist would rerun this script on every build.
        let branch = git(dir, &["symbolic-ref", "-q", "HEAD"]);
        for what in ["HEAD", "packed-refs"].into_iter().chain(branch.as_deref()) {
            if let Some(p) = git(dir, &["rev-parse", "--git-path", what])
                && dir.join(&p).exists()
            {
                println!("cargo:rerun-if-changed={}", dir.join(p).display());
            }
        }
        git(dir, &["rev-parse", "--short=12", "HEAD"])
    });
    let full = match commit {
        Some(c) => format!("{version} (commit {c})"),
        None => version,
    };
    println!("cargo:rustc-env=KUJIRA_GEN_VERSION={full}");
}

fn embed_schemas() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    println!("cargo:rerun-if-changed=src/check/schema_embed.rs");
    for (name, source, cut) in schema_embed::CUTS {
        let path = Path::new("schemas").join(source);
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let schema: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        let prepared = schema_embed::prepare(schema, *cut)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let json = serde_json::to_string(&prepared).expect("a JSON value serialises");
        std::fs::write(Path::new(&out).join(name), json)
            .unwrap_or_else(|e| panic!("write {name}: {e}"));
    }
}
