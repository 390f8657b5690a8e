//! `slo.json`: the platform's SLO settings, the one place where the platform team sets the
//! metric provider every team's SLOs are measured with (the Prometheus HTTP API's address
//! and authentication), the query templates and the analysis defaults. Every key is
//! optional: the templates merge the file over their built-in defaults
//! (templates/slo-platform.libsonnet). Format: schemas/platform-slo.schema.json; design:
//! docs/slo.md, "Platform settings".
//!
//! kujira-gen reads it so that a team declaring SLOs without a provider gets an error in
//! its own value file, at `SLO`, that says what the platform must set and where, before any
//! template runs.

use super::defaults;
use crate::diag::Diagnostic;
use crate::values::schema::ValueSchema;
use serde_json::{Map, Value};
use std::path::Path;

pub const FILE_NAME: &str = "slo.json";
pub const SCHEMA_TEXT: &str = include_str!("../../schemas/platform-slo.schema.json");

#[derive(Debug)]
pub struct SloSettings {
    /// How messages name the file.
    pub display: String,
    /// The file's keys, as the templates receive them (`_kujira.slo`).
    pub values: Map<String, Value>,
}

impl SloSettings {
    /// Whether a metric provider is set (a `provider` that is not null).
    pub fn has_provider(&self) -> bool {
        self.values.get("provider").is_some_and(|p| !p.is_null())
    }

    /// The data retention the platform declares for its provider (`provider.retention`),
    /// as written and in seconds.
    pub fn retention(&self) -> Option<(String, u64)> {
        let text = self.values.get("provider")?.get("retention")?.as_str()?;
        Some((text.to_string(), super::slo_rules::seconds(text)?))
    }
}

/// Reads and validates the settings file. `Err` when it cannot be read or parsed at all.
pub fn load(path: &Path) -> Result<(SloSettings, Vec<Diagnostic>), Diagnostic> {
    let file = defaults::read(path)?;
    let mut problems = crate::values::duplicate_keys(&file);
    let Value::Object(map) = &file.value else {
        return Err(file.diagnostic(
            "",
            false,
            "the platform's SLO settings must be a JSON object (schemas/platform-slo.schema.json)",
        ));
    };
    let schema: Value = serde_json::from_str(SCHEMA_TEXT)
        .map_err(|e| Diagnostic::error(file.display.clone(), format!("embedded schema: {e}")))?;
    let schema = ValueSchema::with_schema(schema)
        .map_err(|e| Diagnostic::error(file.display.clone(), format!("{e:#}")))?;
    for issue in schema.check(&file.value) {
        problems.push(file.diagnostic(&issue.pointer, issue.at_key, issue.message));
    }
    // What the schema cannot say about the alert table (only once the schema is satisfied
    // there, so that one mistake gives one message).
    if !problems
        .iter()
        .any(|p| p.path.as_deref().is_some_and(|k| k.starts_with("rules")))
    {
        problems.extend(super::slo_rules::check(&file));
    }
    Ok((
        SloSettings {
            display: file.display.clone(),
            values: map.clone(),
        },
        problems,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> (SloSettings, Vec<Diagnostic>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, text).unwrap();
        load(&path).map_err(|d| d.human()).unwrap()
    }

    #[test]
    fn a_provider_is_enough_and_each_mistake_has_a_position() {
        let (s, problems) =
            load_text(r#"{"provider": {"address": "http://prometheus.monitoring:9090"}}"#);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(s.has_provider());
        assert_eq!(s.retention(), None);
        let (s, _) = load_text(r#"{"provider": {"address": "http://p:9090", "retention": "15d"}}"#);
        assert_eq!(s.retention(), Some(("15d".to_string(), 15 * 86_400)));
        let (s, problems) = load_text(
            "{\n  \"provider\": null,\n  \"analysis\": {\"count\": 0, \"minRequests\": 0}\n}\n",
        );
        assert!(!s.has_provider());
        let found: Vec<String> = problems.iter().map(Diagnostic::human).collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].contains(":3:25: error: analysis.count"),
            "{found:?}"
        );
        assert!(
            found[1].contains(":3:43: error: analysis.minRequests: must be at least 1"),
            "{found:?}"
        );
    }
}
