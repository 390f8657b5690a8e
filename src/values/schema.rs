//! The value file's JSON Schema, and its errors in plain words.
//!
//! `jsonschema` reports *that* something failed (a `oneOf`, a `pattern`); teams need to
//! know *what to write instead*. So each error is rewritten: unknown keys get a "did you
//! mean", `oneOf` failures are narrowed to the alternative the value was meant to be
//! (by its type, or by its `Type` key), patterns are explained with the schema's
//! `patternErrorMessage` (the keyword VS Code also shows), and values of keys that look
//! secret are never echoed.

use super::parse::escape_pointer;
use crate::describe::{self, closest};
use crate::diag::is_secret_key;
use crate::trusted_schema;
use anyhow::{Context, Result};
use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::Value;

pub const SCHEMA_TEXT: &str = include_str!("../../schemas/value.schema.json");

/// One schema violation, located by JSON pointer. `at_key` asks for the key's position
/// rather than the value's (an unknown key is wrong as a key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub pointer: String,
    pub at_key: bool,
    pub message: String,
}

pub struct ValueSchema {
    validator: Validator,
    schema: Value,
}

impl ValueSchema {
    pub fn new() -> Result<Self> {
        let schema: Value =
            serde_json::from_str(SCHEMA_TEXT).context("the embedded value schema is not JSON")?;
        Self::with_schema(schema)
    }

    /// Another draft 2020-12 schema explained the same way (the platform's defaults and
    /// policy files).
    pub fn with_schema(schema: Value) -> Result<Self> {
        let validator = trusted_schema::compile(&schema, Draft::Draft202012)
            .map_err(|e| anyhow::anyhow!("an embedded schema does not compile: {e}"))?;
        Ok(Self { validator, schema })
    }

    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// Every violation, in document order of the schema's keywords.
    pub fn check(&self, value: &Value) -> Vec<Issue> {
        let mut out = Vec::new();
        for e in self.validator.iter_errors(value) {
            self.explain(&e, &mut out);
        }
        out.dedup();
        // `Aplication` is reported with "did you mean `Application`?": saying that
        // `Application` is missing as well would only repeat it.
        let suggested: Vec<(String, String)> = out
            .iter()
            .filter_map(|i| {
                let key = i
                    .message
                    .split("did you mean `")
                    .nth(1)?
                    .split('`')
                    .next()?;
                let parent = i.pointer.rsplit_once('/')?.0;
                Some((parent.to_string(), key.to_string()))
            })
            .collect();
        out.retain(|i| {
            !suggested.iter().any(|(parent, key)| {
                i.pointer == *parent
                    && i.message
                        .starts_with(&format!("missing required key `{key}`"))
            })
        });
        out
    }

    fn explain(&self, e: &ValidationError<'_>, out: &mut Vec<Issue>) {
        let pointer = e.instance_path().as_str().to_string();
        let got = || describe::value(e.instance(), is_secret_pointer(&pointer));
        let node = || self.node_of_keyword(e.schema_path().as_str());
        let issue = |message: String| Issue {
            pointer: pointer.clone(),
            at_key: false,
            message,
        };
        match e.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                let known: Vec<String> = node()
                    .and_then(|n| n.get("properties"))
                    .and_then(Value::as_object)
                    .map(|p| p.keys().cloned().collect())
                    .unwrap_or_default();
                for key in unexpected {
                    out.push(Issue {
                        pointer: format!("{pointer}/{}", escape_pointer(key)),
                        at_key: true,
                        message: unknown_key_message(key, &known),
                    });
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                // A `required` inside `if`/`then` has no `properties` beside it: at the top
                // level, the document's own describe the key.
                let about = node()
                    .and_then(|n| n.get("properties"))
                    .or_else(|| {
                        pointer
                            .is_empty()
                            .then(|| self.schema.get("properties"))
                            .flatten()
                    })
                    .and_then(|p| p.get(name))
                    .and_then(|p| p.get("description"))
                    .and_then(Value::as_str)
                    .map(first_sentence);
                out.push(issue(match about {
                    Some(about) => format!("missing required key `{name}` ({about})"),
                    None => format!("missing required key `{name}`"),
                }));
            }
            ValidationErrorKind::Type { kind } => out.push(issue(format!(
                "expected {}, got {}",
                describe::expected_types(kind),
                got()
            ))),
            ValidationErrorKind::Enum { options } => {
                let options: Vec<&Value> = options
                    .as_array()
                    .map(|a| a.iter().collect())
                    .unwrap_or_default();
                let listed = options
                    .iter()
                    .map(|o| format!("`{}`", plain(o)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut m = format!("expected one of {listed}; got {}", got());
                if let Some(s) = e.instance().as_str()
                    && let Some(best) = closest(s, options.iter().filter_map(|o| o.as_str()))
                {
                    m.push_str(&format!("; did you mean `{best}`?"));
                }
                out.push(issue(m));
            }
            ValidationErrorKind::Constant { expected_value } => out.push(issue(format!(
                "expected `{}`, got {}",
                plain(expected_value),
                got()
            ))),
            ValidationErrorKind::Pattern { pattern } => {
                let explained = node()
                    .and_then(|n| n.get("patternErrorMessage"))
                    .and_then(Value::as_str);
                out.push(issue(match explained {
                    Some(text) => format!("{text}; got {}", got()),
                    None => format!("must match the pattern `{pattern}`; got {}", got()),
                }));
            }
            ValidationErrorKind::Format { format } => out.push(issue(match format.as_str() {
                "email" => format!("expected an email address, got {}", got()),
                "regex" => format!("expected a valid regular expression, got {}", got()),
                other => format!("expected the {other} format, got {}", got()),
            })),
            ValidationErrorKind::MinLength { limit } => out.push(issue(if *limit == 1 {
                "must not be empty".to_string()
            } else {
                format!("must be at least {limit} characters long, got {}", got())
            })),
            ValidationErrorKind::MaxLength { limit } => {
                let len = e.instance().as_str().map_or(0, |s| s.chars().count());
                out.push(issue(format!(
                    "must be at most {limit} characters long, got {len}"
                )))
            }
            ValidationErrorKind::Minimum { limit } => {
                out.push(issue(format!("must be at least {limit}, got {}", got())))
            }
            // The limit itself is refused: "at least 0, got 0" would contradict itself.
            ValidationErrorKind::ExclusiveMinimum { limit } => out.push(issue(format!(
                "must be greater than {limit}, got {}",
                got()
            ))),
            ValidationErrorKind::Maximum { limit } => {
                out.push(issue(format!("must be at most {limit}, got {}", got())))
            }
            ValidationErrorKind::ExclusiveMaximum { limit } => {
                out.push(issue(format!("must be less than {limit}, got {}", got())))
            }
            ValidationErrorKind::MinItems { limit } => out.push(issue(format!(
                "must have at least {limit} item{}",
                if *limit == 1 { "" } else { "s" }
            ))),
            ValidationErrorKind::MaxItems { limit } => {
                out.push(issue(format!("must have at most {limit} items")))
            }
            ValidationErrorKind::UniqueItems => {
                out.push(issue("must not list the same item twice".into()))
            }
            ValidationErrorKind::PropertyNames { error } => {
                let key = error.instance().as_str().unwrap_or_default().to_string();
                let mut inner = Vec::new();
                self.explain(error, &mut inner);
                for i in inner {
                    out.push(Issue {
                        pointer: format!("{pointer}/{}", escape_pointer(&key)),
                        at_key: true,
                        message: format!("invalid key `{key}`: {}", i.message),
                    });
                }
            }
            ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::AnyOf { context } => self.explain_alternatives(e, context, out),
            _ => out.push(issue(e.to_string())),
        }
    }

    /// A value that fits none of the `oneOf` alternatives. When its type or its
    /// discriminator key (`Type` in value files, `type` in the platform's settings) says
    /// which one was meant, that alternative's errors are the useful ones; otherwise list
    /// what is allowed.
    fn explain_alternatives(
        &self,
        e: &ValidationError<'_>,
        branches: &[Vec<ValidationError<'static>>],
        out: &mut Vec<Issue>,
    ) {
        let pointer = e.instance_path().as_str();
        let key = if e.instance().get("Type").is_none() && e.instance().get("type").is_some() {
            "type"
        } else {
            "Type"
        };
        let type_pointer = format!("{pointer}/{key}");
        let instance_kind = std::mem::discriminant(e.instance().as_ref());
        let fits = |errors: &Vec<ValidationError<'static>>| {
            !errors.iter().any(|x| {
                let at = x.instance_path().as_str();
                let here = at == pointer
                    && match x.kind() {
                        ValidationErrorKind::Type { .. } => true,
                        // A `const` of another JSON type (`false` beside an object) is not
                        // the alternative meant.
                        ValidationErrorKind::Constant { expected_value } => {
                            std::mem::discriminant(expected_value.as_ref()) != instance_kind
                        }
                        ValidationErrorKind::Required { property } => property == key,
                        _ => false,
                    };
                here || (at == type_pointer
                    && matches!(
                        x.kind(),
                        ValidationErrorKind::Constant { .. } | ValidationErrorKind::Enum { .. }
                    ))
            })
        };
        let candidates: Vec<usize> = (0..branches.len())
            .filter(|&i| fits(&branches[i]))
            .collect();
        // Several alternatives fit the value's type: the one it is closest to (fewest
        // errors) is most likely the one meant, if there is a single closest.
        let fewest = candidates
            .iter()
            .map(|&i| branches[i].len())
            .min()
            .unwrap_or(0);
        let nearest: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| branches[i].len() == fewest)
            .collect();
        let alternatives = self.alternatives_of(e);
        if let [only] = nearest.as_slice() {
            let mut inner = Vec::new();
            for x in &branches[*only] {
                self.explain(x, &mut inner);
            }
            for mut issue in inner {
                if let Some(hint) = belongs_elsewhere(&issue, &alternatives, *only) {
                    issue.message.push_str(&hint);
                }
                out.push(issue);
            }
            return;
        }
        let types: Vec<String> = alternatives
            .iter()
            .filter_map(|b| {
                b.get("properties")?
                    .get(key)?
                    .get("const")?
                    .as_str()
                    .map(str::to_string)
            })
            .collect();
        let instance_type = e.instance().get(key);
        let message = match (e.instance().as_ref(), instance_type) {
            (Value::Object(_), Some(t)) if !types.is_empty() => {
                let listed = types
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut m = format!(
                    "`{key}` must be one of {listed}; got {}",
                    describe::value(t, false)
                );
                if let Some(s) = t.as_str()
                    && let Some(best) = closest(s, types.iter().map(String::as_str))
                {
                    m.push_str(&format!("; did you mean `{best}`?"));
                }
                out.push(Issue {
                    pointer: type_pointer,
                    at_key: false,
                    message: m,
                });
                return;
            }
            _ => {
                let mut kinds: Vec<&'static str> = alternatives
                    .iter()
                    .filter_map(|b| b.get("type")?.as_str())
                    .map(describe::article)
                    .collect();
                kinds.dedup();
                format!(
                    "expected {}, got {}",
                    describe::join_or(&kinds),
                    describe::value(e.instance(), is_secret_pointer(pointer))
                )
            }
        };
        out.push(Issue {
            pointer: pointer.to_string(),
            at_key: false,
            message,
        });
    }

    /// The schemas listed by the failed `oneOf`/`anyOf`, `$ref`s followed.
    fn alternatives_of(&self, e: &ValidationError<'_>) -> Vec<&Value> {
        self.node_of_keyword(e.schema_path().as_str())
            .and_then(|n| n.get("oneOf").or_else(|| n.get("anyOf")))
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|b| self.resolve(b)).collect())
            .unwrap_or_default()
    }

    /// Follows a local `$ref` (`#/$defs/X`).
    fn resolve<'a>(&'a self, node: &'a Value) -> &'a Value {
        match node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(ptr) => self.schema.pointer(ptr).unwrap_or(node),
            None => node,
        }
    }

    /// The schema object that holds the keyword at `keyword_path` (`/properties/A/pattern`
    /// -> the schema of A), following `$ref`s on the way.
    fn node_of_keyword(&self, keyword_path: &str) -> Option<&Value> {
        let segments: Vec<String> = keyword_path
            .split('/')
            .skip(1)
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
        let (_, parents) = segments.split_last()?;
        let mut node = &self.schema;
        for s in parents {
            node = if s == "$ref" {
                self.resolve(node)
            } else if let Value::Array(items) = node {
                items.get(s.parse::<usize>().ok()?)?
            } else {
                node.get(s.as_str())?
            };
        }
        // The keyword itself may sit behind a `$ref` too (`"$ref": ..., "pattern": ...`).
        Some(node)
    }
}

/// For an unknown key that another alternative accepts (`Subscription` on a docker
/// trigger): the `Type` it belongs to.
fn belongs_elsewhere(issue: &Issue, alternatives: &[&Value], chosen: usize) -> Option<String> {
    if !issue.at_key || !issue.message.starts_with("unknown key") {
        return None;
    }
    let key = issue
        .pointer
        .rsplit('/')
        .next()?
        .replace("~1", "/")
        .replace("~0", "~");
    alternatives
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != chosen)
        .find_map(|(_, b)| {
            b.get("properties")?.get(&key)?;
            let t = b.get("properties")?.get("Type")?.get("const")?.as_str()?;
            Some(format!("; `{key}` belongs to Type `{t}`"))
        })
}

fn is_secret_pointer(pointer: &str) -> bool {
    pointer.split('/').any(is_secret_key)
}

fn first_sentence(text: &str) -> String {
    text.split(". ")
        .next()
        .unwrap_or(text)
        .trim_end_matches('.')
        .to_string()
}

/// A value as it would be written in the file, without quotes for strings.
fn plain(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn unknown_key_message(key: &str, known: &[String]) -> String {
    match closest(key, known.iter().map(String::as_str)) {
        Some(best) if best.eq_ignore_ascii_case(key) => {
            format!("unknown key `{key}`; did you mean `{best}`? (keys are case-sensitive)")
        }
        Some(best) => format!("unknown key `{key}`; did you mean `{best}`?"),
        None if known.is_empty() => format!("unknown key `{key}`"),
        None => {
            let listed = known
                .iter()
                .filter(|k| *k != "$schema")
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>();
            format!("unknown key `{key}` (allowed: {})", listed.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "Application": "sample", "Notification": "sample-channel", "Repo": "github",
            "Email": "team@example.com", "Account": "k8s", "Image": "gcr.io/p/sample"
        })
    }

    fn messages(v: Value) -> Vec<String> {
        let s = ValueSchema::new().unwrap();
        s.check(&v)
            .into_iter()
            .map(|i| format!("{} {}", i.pointer, i.message))
            .collect()
    }

    fn with(key: &str, value: Value) -> Value {
        let mut v = minimal();
        v[key] = value;
        v
    }

    #[test]
    fn the_minimal_file_is_valid() {
        assert_eq!(messages(minimal()), Vec::<String>::new());
    }

    #[test]
    fn wrong_types_name_what_is_expected() {
        assert_eq!(
            messages(with("Replicas", json!("3"))),
            vec!["/Replicas expected an integer, got \"3\""]
        );
    }

    #[test]
    fn misspelt_and_miscased_keys_get_suggestions() {
        let mut v = minimal();
        v["Aplication"] = json!("x");
        v["replicas"] = json!(2);
        assert_eq!(
            messages(v),
            vec![
                "/Aplication unknown key `Aplication`; did you mean `Application`?",
                "/replicas unknown key `replicas`; did you mean `Replicas`? (keys are case-sensitive)",
            ]
        );
    }

    #[test]
    fn enums_suggest_the_closest_value() {
        assert_eq!(
            messages(with("Repo", json!("githb"))),
            vec![
                "/Repo expected one of `github`, `gitlab`, `bitbucket`, `stash`; got \"githb\"; did you mean `github`?"
            ]
        );
    }

    #[test]
    fn one_of_is_narrowed_by_type_key() {
        assert_eq!(
            messages(with("Trigger", json!({"Type": "pubsub"}))),
            vec![
                "/Trigger missing required key `Subscription` (Name of the Pub/Sub subscription configured in Spinnaker (Echo))"
            ]
        );
        assert_eq!(
            messages(with("Trigger", json!({"Type": "dokcer"}))),
            vec![
                "/Trigger/Type `Type` must be one of `docker`, `pubsub`, `webhook`, `manual`; got \"dokcer\"; did you mean `docker`?"
            ]
        );
    }

    #[test]
    fn one_of_is_narrowed_by_value_type() {
        assert_eq!(
            messages(with(
                "Notification",
                json!({"Channel": "x", "When": ["done"]})
            )),
            vec![
                "/Notification/When/0 expected one of `starting`, `complete`, `failed`; got \"done\""
            ]
        );
        assert_eq!(
            messages(with("Notification", json!(42))),
            vec!["/Notification expected a string or an object, got 42"]
        );
    }

    #[test]
    fn secret_values_are_never_echoed() {
        let v = with("Env", json!({"DB_PASSWORD": 12345}));
        let m = messages(v);
        assert_eq!(
            m,
            vec!["/Env/DB_PASSWORD expected a string or an object, got ***"]
        );
    }

    #[test]
    fn missing_required_keys_are_explained() {
        let mut v = minimal();
        v.as_object_mut().unwrap().remove("Email");
        assert_eq!(
            messages(v),
            vec!["/ missing required key `Email` (Owner's email address; Spinnaker requires one to create the application)"
                .replace("/ ", " ")]
        );
    }

    /// Editors show `description` and offer `examples` through `"$schema"`: every key a
    /// team can write has both (directly or through its `$ref`).
    #[test]
    fn every_property_is_documented_with_examples() {
        fn walk(schema: &Value, node: &Value, at: &str, missing: &mut Vec<String>) {
            let resolved = match node
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
            {
                Some(r) => schema.pointer(r).unwrap(),
                None => node,
            };
            if let Some(props) = node.get("properties").and_then(Value::as_object) {
                for (k, p) in props {
                    let target = match p
                        .get("$ref")
                        .and_then(Value::as_str)
                        .and_then(|r| r.strip_prefix('#'))
                    {
                        Some(r) => schema.pointer(r).unwrap(),
                        None => p,
                    };
                    for field in ["description", "examples"] {
                        if p.get(field).is_none() && target.get(field).is_none() {
                            missing.push(format!("{at}/{k}: {field}"));
                        }
                    }
                    walk(schema, p, &format!("{at}/{k}"), missing);
                }
            }
            for key in ["oneOf", "additionalProperties"] {
                match resolved.get(key) {
                    Some(Value::Array(alts)) => {
                        alts.iter().for_each(|a| walk(schema, a, at, missing))
                    }
                    Some(v @ Value::Object(_)) => walk(schema, v, at, missing),
                    _ => {}
                }
            }
        }
        let s = ValueSchema::new().unwrap();
        let mut missing = Vec::new();
        walk(s.schema(), s.schema(), "", &mut missing);
        assert_eq!(missing, Vec::<String>::new());
    }
}
