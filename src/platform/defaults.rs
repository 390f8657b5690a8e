//! `defaults.json`: values the platform fills in for every value file that does not set
//! them. It is a partial value file: any top-level key of the value schema except
//! `Application`, including `Environments` (the platform's environments, used by files that
//! list none, and merged by name into the environments of files that do). In strings,
//! `{Application}` stands for the application's name: `"Image":
//! "gcr.io/acme/{Application}"`, `"Email": "{Application}-owners@acme.example"`.
//!
//! A key the platform sets is no longer required in value files; the schema `kujira-gen
//! schema` prints says so, with the platform's value as the `default`.

use crate::diag::Diagnostic;
use crate::values::schema::ValueSchema;
use crate::values::{self, ValueFile, discover::Input};
use serde_json::{Map, Value};
use std::path::Path;

pub const FILE_NAME: &str = "defaults.json";
pub const PLACEHOLDER: &str = "{Application}";
/// A valid application name, put in place of the placeholder to validate the defaults.
const SAMPLE_APPLICATION: &str = "sample";

#[derive(Debug)]
pub struct Defaults {
    /// How messages name the file.
    pub display: String,
    pub values: Map<String, Value>,
}

impl Defaults {
    /// The defaults for one application, placeholders filled in.
    pub fn for_application(&self, application: &str) -> Map<String, Value> {
        match substitute(&Value::Object(self.values.clone()), application) {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The top-level keys the platform sets.
    pub fn keys(&self) -> Vec<&str> {
        self.values.keys().map(String::as_str).collect()
    }
}

fn substitute(v: &Value, application: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace(PLACEHOLDER, application)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|x| substitute(x, application)).collect())
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), substitute(x, application)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The value schema for a defaults file: nothing required, no `Application`.
pub fn schema_for_defaults(value_schema: &Value) -> Value {
    let mut s = value_schema.clone();
    if let Some(m) = s.as_object_mut() {
        m.remove("required");
        m.remove("$id");
        if let Some(Value::Object(props)) = m.get_mut("properties") {
            props.remove("Application");
        }
        m.insert(
            "description".into(),
            Value::String(
                "The platform's defaults for kujira-gen value files (`.kujira/defaults.json`)."
                    .into(),
            ),
        );
    }
    s
}

/// Reads and validates the defaults file. `Err` when it cannot be read or parsed at all.
pub fn load(
    path: &Path,
    value_schema: &ValueSchema,
) -> Result<(Defaults, Vec<Diagnostic>), Diagnostic> {
    let file = read(path)?;
    let mut problems = values::duplicate_keys(&file);
    let Value::Object(map) = &file.value else {
        return Err(file.diagnostic(
            "",
            false,
            "the platform's defaults must be a JSON object of value-file keys",
        ));
    };
    if map.contains_key("Application") {
        problems.push(file.diagnostic(
            "/Application",
            true,
            "the platform cannot set `Application`: each value file names its own",
        ));
    }
    let schema = ValueSchema::with_schema(schema_for_defaults(value_schema.schema()))
        .map_err(|e| Diagnostic::error(file.display.clone(), format!("{e:#}")))?;
    let sample = substitute(&file.value, SAMPLE_APPLICATION);
    for issue in schema.check(&sample) {
        if issue.pointer == "/Application" {
            continue;
        }
        let mut d = file.diagnostic(&issue.pointer, issue.at_key, issue.message);
        if file
            .value
            .pointer(&issue.pointer)
            .and_then(Value::as_str)
            .is_some_and(|s| s.contains(PLACEHOLDER))
        {
            d = d.with_note(format!(
                "checked with {PLACEHOLDER} read as `{SAMPLE_APPLICATION}`"
            ));
        }
        problems.push(d);
    }
    // The platform's environments are every team's that lists none: one without an
    // account, with none at the top either, leaves those teams nowhere to deploy. Said
    // once, here, instead of in every team's file.
    if !map.contains_key("Account")
        && let Some(Value::Array(envs)) = map.get("Environments")
    {
        for (i, env) in envs.iter().enumerate() {
            if env.is_object() && env.get("Account").is_none() {
                let name = env.get("Name").and_then(Value::as_str).unwrap_or("?");
                problems.push(file.diagnostic(
                    &format!("/Environments/{i}"),
                    false,
                    format!("environment `{name}` has no `Account`, and the defaults set none at the top level: the teams using the platform's environments would deploy nowhere; set `Account` in this environment (or at the top level)"),
                ));
            }
        }
    }
    Ok((
        Defaults {
            display: file.display.clone(),
            values: map.clone(),
        },
        problems,
    ))
}

/// Reads a platform file (JSON, with positions), refusing what is not a small regular
/// file.
pub fn read(path: &Path) -> Result<ValueFile, Diagnostic> {
    let display = path.to_string_lossy().into_owned();
    let input = Input {
        path: path.to_path_buf(),
        display: display.clone(),
        source: display,
    };
    values::load(&input)
}

/// The value schema as this platform sees it: keys it sets are no longer required, and
/// carry its value as `default` and a note in their description.
pub fn annotate_schema(value_schema: &Value, defaults: &Defaults) -> Value {
    let mut s = value_schema.clone();
    let keys = defaults.keys();
    if let Some(Value::Array(required)) = s.get_mut("required") {
        required.retain(|k| !k.as_str().is_some_and(|k| keys.contains(&k)));
    }
    // `Account` is required without `Environments`: with the platform's environments (or
    // its Account) a team's file needs neither, so the editor must not ask for it.
    let only_account = s.pointer("/then/required") == Some(&serde_json::json!(["Account"]));
    if only_account
        && (keys.contains(&"Environments") || keys.contains(&"Account"))
        && let Some(o) = s.as_object_mut()
    {
        o.remove("if");
        o.remove("then");
    }
    if let Some(Value::Object(props)) = s.get_mut("properties") {
        for (k, v) in &defaults.values {
            if let Some(Value::Object(p)) = props.get_mut(k) {
                let before = p
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                p.insert(
                    "description".into(),
                    Value::String(format!(
                        "{before} Set by the platform ({}) when absent: {}",
                        defaults.display,
                        serde_json::to_string(v).unwrap_or_default()
                    )),
                );
                p.insert("default".into(), v.clone());
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_are_filled_everywhere() {
        let d = Defaults {
            display: "d.json".into(),
            values: json!({"Image": "gcr.io/acme/{Application}", "Environments": [{"Name": "prod", "Namespace": "{Application}-prod"}]})
                .as_object()
                .unwrap()
                .clone(),
        };
        let v = d.for_application("shop");
        assert_eq!(v["Image"], json!("gcr.io/acme/shop"));
        assert_eq!(v["Environments"][0]["Namespace"], json!("shop-prod"));
    }

    #[test]
    fn the_annotated_schema_drops_what_the_platform_sets_from_required() {
        let schema = json!({"required": ["Application", "Account", "Email"], "properties": {"Account": {"description": "The account."}}});
        let d = Defaults {
            display: ".kujira/defaults.json".into(),
            values: json!({"Account": "gke"}).as_object().unwrap().clone(),
        };
        let s = annotate_schema(&schema, &d);
        assert_eq!(s["required"], json!(["Application", "Email"]));
        assert_eq!(s["properties"]["Account"]["default"], json!("gke"));
        assert_eq!(
            s["properties"]["Account"]["description"],
            json!("The account. Set by the platform (.kujira/defaults.json) when absent: \"gke\"")
        );
    }
}
