//! `kujira-gen init`: a new team's value.json, with "$schema" for the editor and the keys
//! a team sets on day one. Keys the team must decide, and the platform's defaults do not
//! fill in, are written empty, so that `validate` says what each one needs instead of a
//! made-up value reaching Spinnaker; keys the defaults fill in are left out.

use crate::{InitArgs, Outcome};
use anyhow::{Context, Result, bail};
use kujira_gen::values::discover::{VALUE_FILE_NAME, git_root};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where `init` expects the schema: at the repository root, written by
/// `kujira-gen schema > value.schema.json` (see README, "Editors").
pub const SCHEMA_FILE: &str = "value.schema.json";

pub fn run(args: &InitArgs) -> Result<Outcome> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let abs = dir
        .canonicalize()
        .with_context(|| format!("cannot read {}", dir.display()))?;
    let target = dir.join(VALUE_FILE_NAME);

    let application = match &args.application {
        Some(a) => a.clone(),
        None => abs
            .file_name()
            .map(|n| application_name(&n.to_string_lossy()))
            .filter(|n| !n.is_empty())
            .context("cannot name the application after this directory; give --application")?,
    };
    let root = match &args.root {
        Some(r) => Some(
            r.canonicalize()
                .with_context(|| format!("cannot read {}", r.display()))?,
        ),
        None => git_root(&abs.join(VALUE_FILE_NAME)),
    };
    let schema = match &args.schema {
        Some(s) => s.clone(),
        None => relative_to(&abs, &root.clone().unwrap_or_else(|| abs.clone()))
            .join(SCHEMA_FILE)
            .to_string_lossy()
            .replace('\\', "/"),
    };

    let channel = args
        .channel
        .clone()
        .unwrap_or_else(|| format!("{application}-releases"));
    // What the platform's defaults fill in for this application is left out: an empty
    // value written here would override it (and fail validation).
    let provided = platform_defaults(&abs, &application)?;
    // Set at the top, or in every environment the defaults declare.
    let fills = |key: &str| {
        provided.contains_key(key)
            || provided
                .get("Environments")
                .and_then(Value::as_array)
                .is_some_and(|envs| !envs.is_empty() && envs.iter().all(|e| e.get(key).is_some()))
    };
    let decide = |key: &str, given: &Option<String>| match given {
        Some(v) => Some(v.clone()),
        None if fills(key) => None,
        None => Some(String::new()),
    };
    // In the order a person reads the file (a serde_json map would sort the keys).
    let fields: Vec<(&str, String)> = [
        ("$schema", Some(schema.clone())),
        ("Application", Some(application.clone())),
        ("Notification", Some(channel)),
        ("Repo", Some("github".to_string())),
        ("Email", decide("Email", &args.email)),
        ("Account", decide("Account", &args.account)),
        ("Image", decide("Image", &args.image)),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("  {}: {}", Value::from(*k), Value::from(v.as_str())))
        .collect();
    let text = format!("{{\n{}\n}}\n", body.join(",\n"));

    // create_new: never overwrite a team's file, also not one created a moment ago.
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{} already exists; not overwriting it", target.display())
        }
        Err(e) => return Err(e).with_context(|| format!("cannot write {}", target.display())),
    };
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", target.display()))?;

    eprintln!("wrote {}", target.display());
    let missing: Vec<&str> = fields
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(k, _)| *k)
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "fill in {}, then run: kujira-gen validate {}",
            missing.join(", "),
            target.display()
        );
    }
    if args.schema.is_none() {
        let schema_path = root.unwrap_or(abs).join(SCHEMA_FILE);
        if !schema_path.is_file() {
            eprintln!(
                "note: {schema} does not exist yet; at the repository root, run: kujira-gen schema > {SCHEMA_FILE}"
            );
        }
    }
    Ok(Outcome::Ok)
}

/// The keys the platform's defaults (found from `dir`, as for a value file there) set for
/// `application`; none without a platform directory.
fn platform_defaults(dir: &Path, application: &str) -> Result<serde_json::Map<String, Value>> {
    use kujira_gen::platform::{self, resolve};
    let governing = match resolve::for_dir(dir, None, None) {
        Ok(g) => g,
        // Outside a repository the team starts from the built-in settings.
        Err(_) => return Ok(serde_json::Map::new()),
    };
    let schema = kujira_gen::values::schema::ValueSchema::new()?;
    let (p, _) = platform::load(governing.platform.as_deref(), &schema, &platform::today()?);
    Ok(p.defaults
        .map(|d| d.for_application(application))
        .unwrap_or_default())
}

/// A directory name as an application name: lowercase, `_`, `.` and spaces as `-`, other
/// characters dropped (the schema's DNS-label rule then has little left to complain about).
fn application_name(dir: &str) -> String {
    let mapped: String = dir
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            '_' | '.' | ' ' => Some('-'),
            _ => None,
        })
        .collect();
    mapped.trim_matches('-').to_string()
}

/// The relative path from `from` up to `to` (an ancestor): `../..`; `.` when equal, and
/// `to` itself when it is not an ancestor.
fn relative_to(from: &Path, to: &Path) -> PathBuf {
    match from.strip_prefix(to) {
        Ok(rest) => {
            let ups = rest.components().count();
            if ups == 0 {
                PathBuf::new()
            } else {
                (0..ups).map(|_| "..").collect()
            }
        }
        Err(_) => to.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_names_become_application_names() {
        assert_eq!(application_name("Billing_Service"), "billing-service");
        assert_eq!(application_name("search"), "search");
        assert_eq!(application_name("_x_"), "x");
    }

    #[test]
    fn relative_paths_climb_to_the_root() {
        assert_eq!(
            relative_to(Path::new("/r/teams/a"), Path::new("/r")),
            PathBuf::from("../..")
        );
        assert_eq!(
            relative_to(Path::new("/r"), Path::new("/r")),
            PathBuf::new()
        );
    }
}
