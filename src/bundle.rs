//! The compiled result of one value file, `{application, pipelines}`, and how it is written.
//!
//! A bundle leaves this module finished: every pipeline carries a deterministic `id` (when
//! the template did not set one) and the kujira-gen marker (see [`crate::marker`]), so that
//! `build -o`, `diff` and `push` all see the same bytes.

use crate::describe::kind_of;
use crate::marker;
use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The value file, relative to the repository root (`teams/sample/value.json`).
    pub source: String,
    /// The Spinnaker application (`name`, `email`, `cloudProviders`...).
    pub application: Map<String, Value>,
    pub pipelines: Vec<Map<String, Value>>,
    /// The SLOs' Prometheus rules, `{groups: [...]}` (templates/release/slo_rules.libsonnet),
    /// when the team has SLOs: `build -o` writes them as a rule file
    /// ([`crate::rule_file`]). Not part of [`Bundle::to_json`], which stays
    /// `{application, pipelines}`.
    pub slo_rules: Option<Value>,
}

impl Bundle {
    /// Takes what a template produced. Only the shape is checked here; the contents are
    /// checked by [`crate::check`].
    pub fn from_rendered(source: &str, rendered: Value) -> Result<Self, String> {
        let Value::Object(mut top) = rendered else {
            return Err(format!(
                "the template must produce an object {{application, pipelines}}, got {}",
                kind_of(&rendered)
            ));
        };
        let application = match top.remove("application") {
            Some(Value::Object(a)) => a,
            Some(other) => {
                return Err(format!(
                    "`application` must be an object, got {}",
                    kind_of(&other)
                ));
            }
            None => return Err("the template's result has no `application`".into()),
        };
        let pipelines = match top.remove("pipelines") {
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, p)| match p {
                    Value::Object(p) => Ok(p),
                    other => Err(format!(
                        "`pipelines[{i}]` must be an object, got {}",
                        kind_of(&other)
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => {
                return Err(format!(
                    "`pipelines` must be an array, got {}",
                    kind_of(&other)
                ));
            }
            None => return Err("the template's result has no `pipelines`".into()),
        };
        let slo_rules = match top.remove("sloRules") {
            None | Some(Value::Null) => None,
            Some(rules @ Value::Object(_)) if rules.get("groups").is_some_and(Value::is_array) => {
                Some(rules)
            }
            Some(other) => {
                let got = match &other {
                    Value::Object(_) => "an object without a `groups` array",
                    v => kind_of(v),
                };
                return Err(format!(
                    "`sloRules` must be an object {{groups: [...]}} (a Prometheus rule file), got {got}"
                ));
            }
        };
        if let Some(extra) = top.keys().next() {
            return Err(format!(
                "the template's result has an unexpected key `{extra}` (allowed: application, pipelines, sloRules)"
            ));
        }
        Ok(Self {
            source: source.to_string(),
            application,
            pipelines,
            slo_rules,
        })
    }

    pub fn application_name(&self) -> Option<&str> {
        self.application.get("name").and_then(Value::as_str)
    }

    /// Adds what every generated pipeline carries: a deterministic id and the marker; and
    /// resolves pipeline triggers that name a pipeline of this bundle.
    pub fn finalize(&mut self) {
        self.add_ids();
        self.resolve_pipeline_triggers();
        for p in &mut self.pipelines {
            marker::stamp(p, &self.source);
        }
    }

    /// [`Bundle::finalize`] for a bundle that is only checked (see
    /// [`marker::stamp_unhashed`]): the same content apart from the digest.
    pub fn finalize_unhashed(&mut self) {
        self.add_ids();
        self.resolve_pipeline_triggers();
        for p in &mut self.pipelines {
            marker::stamp_unhashed(p, &self.source);
        }
    }

    /// A pipeline trigger may name a pipeline of this bundle (the templates cannot compute
    /// ids): it gets that pipeline's id. Before stamping, which digests it.
    pub fn resolve_pipeline_triggers(&mut self) {
        let ids: Vec<(String, Value)> = self
            .pipelines
            .iter()
            .filter_map(|p| Some((p.get("name")?.as_str()?.to_string(), p.get("id")?.clone())))
            .collect();
        for p in &mut self.pipelines {
            if let Some(Value::Array(triggers)) = p.get_mut("triggers") {
                for t in triggers.iter_mut() {
                    if t.get("type").and_then(Value::as_str) != Some("pipeline") {
                        continue;
                    }
                    let named = t
                        .get("pipeline")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    if let Some((_, id)) =
                        named.and_then(|n| ids.iter().find(|(name, _)| *name == n))
                    {
                        t["pipeline"] = id.clone();
                    }
                }
            }
        }
    }

    /// Gives each pipeline without an `id` its deterministic one.
    pub fn add_ids(&mut self) {
        let app_name = self.application_name().map(str::to_string);
        for p in &mut self.pipelines {
            let app = p
                .get("application")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| app_name.clone());
            let name = p.get("name").and_then(Value::as_str).map(str::to_string);
            if !p.contains_key("id")
                && let (Some(app), Some(name)) = (app, name)
            {
                p.insert("id".into(), Value::String(marker::pipeline_id(&app, &name)));
            }
        }
    }

    /// `{"application": ..., "pipelines": [...]}`, what `build FILE` prints.
    pub fn to_json(&self) -> Value {
        let mut top = Map::new();
        top.insert(
            "application".into(),
            Value::Object(self.application.clone()),
        );
        top.insert(
            "pipelines".into(),
            Value::Array(self.pipelines.iter().cloned().map(Value::Object).collect()),
        );
        Value::Object(top)
    }
}

/// Containers nested deeper than this in a pipeline cannot be read back: serde_json's
/// parser stops at 128 levels (its recursion limit), and `diff` and `push` hold each
/// pipeline as text they parse again ([`crate::plan::packed`]). The output checks refuse
/// a deeper one, so that `validate` says so before a push does.
pub const MAX_DEPTH: usize = 120;

/// Whether objects and arrays are nested more than [`MAX_DEPTH`] levels in `pipeline`
/// (which is the first level).
pub fn too_deep(pipeline: &Map<String, Value>) -> bool {
    fn depth_exceeds(v: &Value, left: usize) -> bool {
        match v {
            Value::Object(m) => left == 0 || m.values().any(|c| depth_exceeds(c, left - 1)),
            Value::Array(a) => left == 0 || a.iter().any(|c| depth_exceeds(c, left - 1)),
            _ => false,
        }
    }
    MAX_DEPTH == 0 || pipeline.values().any(|v| depth_exceeds(v, MAX_DEPTH - 1))
}

/// Pretty JSON with a final newline: the one format for stdout, files and snapshots.
pub fn to_pretty(v: &Value) -> String {
    // Serialising a `Value` cannot fail.
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// A file name for a pipeline or application: path separators and control characters
/// become `_`, so a name can never leave its directory.
pub fn file_stem(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    match cleaned.trim() {
        "" | "." | ".." => "_".to_string(),
        t => t.to_string(),
    }
}

/// The rule file of a team with SLOs, beside its pipelines (see [`crate::rule_file`]).
pub const RULE_FILE: &str = "slo-rules.yaml";

/// What one bundle writes with `build -o DIR`: `<application>/application.json`,
/// `<application>/<pipeline name>.json` and, with SLOs, `<application>/slo-rules.yaml`
/// (paths relative to DIR), as text. Made on the compile's worker threads
/// ([`crate::compile::compile_keeping`]): a thousand teams' files as text take a fifth of
/// the memory of their parsed bundles.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputFiles {
    /// The value file they come from.
    pub source: String,
    pub files: Vec<(PathBuf, String)>,
}

impl From<Bundle> for OutputFiles {
    fn from(b: Bundle) -> Self {
        let app_dir = PathBuf::from(file_stem(b.application_name().unwrap_or("_")));
        let mut files = vec![(
            app_dir.join("application.json"),
            to_pretty(&Value::Object(b.application)),
        )];
        for p in b.pipelines {
            let name = p.get("name").and_then(Value::as_str).unwrap_or("_");
            files.push((
                app_dir.join(format!("{}.json", file_stem(name))),
                to_pretty(&Value::Object(p)),
            ));
        }
        if let Some(rules) = &b.slo_rules {
            files.push((
                app_dir.join(RULE_FILE),
                crate::rule_file::to_yaml(rules, &b.source),
            ));
        }
        Self {
            source: b.source,
            files,
        }
    }
}

/// Every bundle's files under `dir`. Computed in full before anything is written, so
/// that a clash is reported without leaving half a tree behind.
pub fn output_files(bundles: Vec<OutputFiles>, dir: &Path) -> Result<BTreeMap<PathBuf, String>> {
    // path -> (body, value file that produced it)
    let mut files: BTreeMap<PathBuf, (String, String)> = BTreeMap::new();
    // lower-cased path -> path, to catch names that differ only in case
    let mut folded: BTreeMap<String, PathBuf> = BTreeMap::new();
    for b in bundles {
        for (relative, body) in b.files {
            let path = dir.join(relative);
            // Front50 compares pipeline names case-insensitively, and so do some file
            // systems: two names that differ only in case would overwrite each other.
            let key = path.to_string_lossy().to_lowercase();
            if let Some(first) = folded.get(&key) {
                let other = files.get(first).map(|(_, s)| s.as_str()).unwrap_or("");
                bail!(
                    "{} would be written twice (by {} and by {}; names that differ only in case count as the same)",
                    path.display(),
                    other,
                    b.source
                );
            }
            folded.insert(key, path.clone());
            files.insert(path, (body, b.source.clone()));
        }
    }
    Ok(files.into_iter().map(|(k, (body, _))| (k, body)).collect())
}

/// Writes each file atomically: into a temporary file beside it, then renamed over it, so
/// a reader never sees half a file. Not fsync'd: the output can always be rebuilt, and
/// syncing made writing a thousand teams' files ten times slower. Other files in `dir` are
/// left alone.
pub fn write_files(files: &BTreeMap<PathBuf, String>) -> Result<()> {
    for (path, body) in files {
        let parent = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create directory {}", parent.display()))?;
        let file_name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = parent.join(format!(".{file_name}.kujira-gen.tmp"));
        let result = (|| -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(body.as_bytes())?;
            fs::rename(&tmp, path)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(e).with_context(|| format!("cannot write {}", path.display()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle(v: Value) -> Bundle {
        Bundle::from_rendered("teams/a/value.json", v).unwrap()
    }

    #[test]
    fn rejects_results_of_the_wrong_shape() {
        let e = Bundle::from_rendered("f", json!([])).unwrap_err();
        assert_eq!(
            e,
            "the template must produce an object {application, pipelines}, got an array"
        );
        let e = Bundle::from_rendered("f", json!({"application": {}})).unwrap_err();
        assert_eq!(e, "the template's result has no `pipelines`");
        let e =
            Bundle::from_rendered("f", json!({"application": {}, "pipelines": [1]})).unwrap_err();
        assert_eq!(e, "`pipelines[0]` must be an object, got a number");
        let e = Bundle::from_rendered("f", json!({"application": {}, "pipelines": [], "x": 1}))
            .unwrap_err();
        assert_eq!(
            e,
            "the template's result has an unexpected key `x` (allowed: application, pipelines, sloRules)"
        );
        let e = Bundle::from_rendered(
            "f",
            json!({"application": {}, "pipelines": [], "sloRules": {"rules": []}}),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "`sloRules` must be an object {groups: [...]} (a Prometheus rule file), got an object without a `groups` array"
        );
    }

    #[test]
    fn finalize_adds_a_deterministic_id_and_keeps_a_given_one() {
        let mut b = bundle(json!({"application": {"name": "a"}, "pipelines": [
            {"name": "release", "application": "a"},
            {"name": "other", "application": "a", "id": "fixed"},
        ]}));
        b.finalize();
        let id = b.pipelines[0]["id"].as_str().unwrap().to_string();
        assert_eq!(id, marker::pipeline_id("a", "release"));
        assert_eq!(b.pipelines[1]["id"], "fixed");
        assert!(b.pipelines[0].contains_key(marker::MARKER_KEY));
    }

    #[test]
    fn file_stems_cannot_escape_their_directory() {
        assert_eq!(file_stem("deploy/prod"), "deploy_prod");
        assert_eq!(file_stem(".."), "_");
        assert_eq!(file_stem("Release 1"), "Release 1");
    }

    #[test]
    fn output_files_refuses_names_that_differ_only_in_case() {
        let b = bundle(json!({"application": {"name": "a"}, "pipelines": [
            {"name": "Release"}, {"name": "release"}]}));
        let e = output_files(vec![b.into()], Path::new("out"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("would be written twice"), "{e}");
    }

    #[test]
    fn write_files_writes_every_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let b = bundle(json!({"application": {"name": "a"}, "pipelines": [{"name": "r"}]}));
        let files = output_files(vec![b.into()], dir.path()).unwrap();
        write_files(&files).unwrap();
        let mut names: Vec<_> = fs::read_dir(dir.path().join("a"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, vec!["application.json", "r.json"]);
        assert_eq!(
            fs::read_to_string(dir.path().join("a/r.json")).unwrap(),
            "{\n  \"name\": \"r\"\n}\n"
        );
    }
}
