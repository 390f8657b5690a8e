//! A JSON Schema validation error in plain words, at a path people can follow:
//! `spec.replicas: expected an integer, got "3"`, `spec.foo: unknown field `foo``.
//!
//! jsonschema's own texts quote whole values (a Secret's data, a long script) and speak in
//! schema keywords; these messages quote at most a short scalar, and never one stored
//! under a key whose name looks secret.

use super::path;
use crate::describe::{self, kind_of};
use crate::diag::is_secret_key;
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, error::ValidationErrorKind};
use serde_json::Value;
use std::borrow::Cow;

/// One problem, ready for a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `base` followed by the path inside the validated value.
    pub path: String,
    pub message: String,
    pub notes: Vec<String>,
    /// A field the schema does not define (`additionalProperties: false`).
    pub unknown_field: bool,
    /// The offending value is a string holding a `${...}` SpEL expression, which Spinnaker
    /// replaces (with a value of any type) before the manifest reaches Kubernetes.
    pub value_is_expression: bool,
}

/// The findings for one error of validating `root` (the value given to the validator)
/// against `schema` (the raw schema, for naming the allowed fields and forms). `base` is
/// the path of `root` in the bundle.
pub fn findings(
    error: &ValidationError<'_>,
    root: &Value,
    schema: &Value,
    base: &str,
) -> Vec<Finding> {
    let at = locate(root, error, base);
    let got = describe::value(error.instance(), at.secret);
    let value_is_expression = error.instance().as_str().is_some_and(|s| s.contains("${"));
    let finding = |message: String| Finding {
        path: at.path.clone(),
        message,
        notes: Vec::new(),
        unknown_field: false,
        value_is_expression,
    };
    let message = match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed = allowed_fields(schema, error.schema_path().as_str());
            return unexpected
                .iter()
                .map(|field| Finding {
                    path: path::key(&at.path, field),
                    message: format!("unknown field `{field}`{}", suggestion(field, &allowed)),
                    notes: Vec::new(),
                    unknown_field: true,
                    value_is_expression: false,
                })
                .collect();
        }
        ValidationErrorKind::Type { kind } => {
            format!("expected {}, got {got}", describe::expected_types(kind))
        }
        ValidationErrorKind::Required { property } => match property.as_str() {
            Some(p) => format!("missing required field `{p}`"),
            None => format!("missing required field {property}"),
        },
        ValidationErrorKind::Enum { options } => {
            format!("expected {}, got {got}", one_of_values(options))
        }
        ValidationErrorKind::Constant { expected_value } => {
            format!(
                "expected {}, got {got}",
                describe::value(expected_value, false)
            )
        }
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. } => {
            match branch_types(schema, error.schema_path().as_str()) {
                Some(types) => format!("expected {types}, got {got}"),
                None => {
                    let mut f = finding(format!(
                        "does not match any of the allowed forms, got {got}"
                    ));
                    f.notes = branch_notes(error, root, schema, base, &at.path);
                    return vec![f];
                }
            }
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            // The Kubernetes schemas write int-or-string as oneOf[string|null, integer|null]:
            // an explicit null matches both branches.
            match branch_types(schema, error.schema_path().as_str()) {
                Some(types) if error.instance().is_null() => {
                    format!("expected {types}, got null")
                }
                _ => format!(
                    "matches more than one of the allowed forms, but must match exactly one, got {got}"
                ),
            }
        }
        ValidationErrorKind::Minimum { limit } => format!("must be at least {limit}, got {got}"),
        ValidationErrorKind::Maximum { limit } => format!("must be at most {limit}, got {got}"),
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("must be greater than {limit}, got {got}")
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("must be less than {limit}, got {got}")
        }
        ValidationErrorKind::MultipleOf { multiple_of } => {
            format!("must be a multiple of {multiple_of}, got {got}")
        }
        ValidationErrorKind::MinLength { limit } => format!(
            "must be at least {limit} characters long, got {}",
            char_count(error.instance())
        ),
        ValidationErrorKind::MaxLength { limit } => format!(
            "must be at most {limit} characters long, got {}",
            char_count(error.instance())
        ),
        ValidationErrorKind::MinItems { limit } => format!(
            "must have at least {limit} item{}, got {}",
            plural(*limit),
            len_of(error.instance())
        ),
        ValidationErrorKind::MaxItems { limit } => format!(
            "must have at most {limit} item{}, got {}",
            plural(*limit),
            len_of(error.instance())
        ),
        ValidationErrorKind::MinProperties { limit } => format!(
            "must have at least {limit} field{}, got {}",
            plural(*limit),
            len_of(error.instance())
        ),
        ValidationErrorKind::MaxProperties { limit } => format!(
            "must have at most {limit} field{}, got {}",
            plural(*limit),
            len_of(error.instance())
        ),
        ValidationErrorKind::UniqueItems => "must not contain the same item twice".to_string(),
        ValidationErrorKind::Pattern { pattern } => {
            format!("must match the pattern `{pattern}`, got {got}")
        }
        ValidationErrorKind::Format { format } => {
            format!("expected a valid `{format}`, got {got}")
        }
        ValidationErrorKind::FalseSchema | ValidationErrorKind::Not { .. } => {
            format!("is not allowed here, got {got}")
        }
        // Keywords the vendored schemas do not use; jsonschema's own text, with values
        // masked, is better than nothing.
        _ => error.masked_with("***").to_string(),
    };
    vec![finding(message)]
}

struct Located {
    path: String,
    /// The value sits under a key that names a secret: never quote it.
    secret: bool,
}

/// Follows the error's instance path through `root`, for the display path (a numeric key
/// in an object stays a key: `data["80"]`) and whether the value is a secret.
fn locate(root: &Value, error: &ValidationError<'_>, base: &str) -> Located {
    let secret_object = root.get("kind").and_then(Value::as_str) == Some("Secret");
    let mut out = Located {
        path: base.to_string(),
        secret: false,
    };
    let mut node = Some(root);
    for (depth, segment) in error.instance_path().segments().enumerate() {
        if let (Some(Value::Array(items)), LocationSegment::Index(i)) = (node, &segment) {
            path::push_index(&mut out.path, *i);
            node = items.get(*i);
            continue;
        }
        let key: Cow<'_, str> = match &segment {
            LocationSegment::Property(p) => Cow::Borrowed(p.as_ref()),
            LocationSegment::Index(i) => Cow::Owned(i.to_string()),
        };
        // A Secret's data is secret whatever its keys are called; so is the `value` of a
        // `{name: "DB_PASSWORD", value: ...}` pair (env vars).
        let sibling_name_is_secret = key == "value"
            && node
                .and_then(|n| n.get("name"))
                .and_then(Value::as_str)
                .is_some_and(is_secret_key);
        if is_secret_key(&key)
            || sibling_name_is_secret
            || (depth == 0 && secret_object && (key == "data" || key == "stringData"))
        {
            out.secret = true;
        }
        path::push_key(&mut out.path, &key);
        node = node.and_then(|n| n.get(key.as_ref()));
    }
    out
}

fn char_count(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{}", s.chars().count()),
        other => kind_of(other).to_string(),
    }
}

fn len_of(v: &Value) -> String {
    match v {
        Value::Array(a) => a.len().to_string(),
        Value::Object(o) => o.len().to_string(),
        other => kind_of(other).to_string(),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// When every branch of the `oneOf`/`anyOf` at `keyword_pointer` only constrains the type
/// (int-or-string), the union of those types in words.
fn branch_types(schema: &Value, keyword_pointer: &str) -> Option<String> {
    let branches = schema.pointer(keyword_pointer)?.as_array()?;
    let mut types = Vec::new();
    for branch in branches {
        let b = branch.as_object()?;
        if b.keys().any(|k| k != "type" && k != "description") {
            return None;
        }
        match b.get("type")? {
            Value::String(t) => types.push(t.as_str()),
            Value::Array(ts) => {
                for t in ts {
                    types.push(t.as_str()?);
                }
            }
            _ => return None,
        }
    }
    Some(describe::expected_type_names(&types))
}

/// Why each branch of a failed `oneOf`/`anyOf` did not match, one note per branch.
fn branch_notes(
    error: &ValidationError<'_>,
    root: &Value,
    schema: &Value,
    base: &str,
    own_path: &str,
) -> Vec<String> {
    let context = match error.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            context
        }
        _ => return Vec::new(),
    };
    context
        .iter()
        .enumerate()
        .filter_map(|(i, branch)| {
            let texts: Vec<String> = branch
                .iter()
                .flat_map(|e| findings(e, root, schema, base))
                .map(|f| match f.path.strip_prefix(own_path) {
                    Some("") => f.message,
                    _ => format!("{}: {}", f.path, f.message),
                })
                .collect();
            (!texts.is_empty()).then(|| format!("form {}: {}", i + 1, texts.join("; ")))
        })
        .collect()
}

/// The fields the object schema owning `additionalProperties` defines.
fn allowed_fields<'s>(schema: &'s Value, keyword_pointer: &str) -> Vec<&'s str> {
    let owner = keyword_pointer
        .strip_suffix("/additionalProperties")
        .unwrap_or("");
    schema
        .pointer(owner)
        .and_then(|o| o.get("properties"))
        .and_then(Value::as_object)
        .map(|props| props.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// `, did you mean `x`?` for a close allowed field (a typo or a wrong case), else nothing.
fn suggestion(field: &str, allowed: &[&str]) -> String {
    match describe::closest(field, allowed.iter().copied()) {
        Some(a) => format!(", did you mean `{a}`?"),
        None => String::new(),
    }
}

/// `"v1"`, `one of "ClusterIP", "NodePort"`: at most eight values listed.
fn one_of_values(options: &Value) -> String {
    let Some(items) = options.as_array() else {
        return describe::value(options, false);
    };
    if let [single] = items.as_slice() {
        return describe::value(single, false);
    }
    let mut listed: Vec<String> = items
        .iter()
        .take(8)
        .map(|v| describe::value(v, false))
        .collect();
    if items.len() > 8 {
        listed.push(format!("... ({} in all)", items.len()));
    }
    format!("one of {}", listed.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every finding for `instance` against `schema`, as `path: message`.
    fn texts(schema: Value, instance: Value) -> Vec<String> {
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(&schema)
            .unwrap();
        let mut out: Vec<String> = v
            .iter_errors(&instance)
            .flat_map(|e| findings(&e, &instance, &schema, "m"))
            .map(|f| {
                let mut s = format!("{}: {}", f.path, f.message);
                for n in f.notes {
                    s.push_str(&format!("\n    {n}"));
                }
                s
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn types_required_and_unknown_fields() {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["containers"],
            "properties": {
                "replicas": {"type": ["integer", "null"]},
                "containers": {"type": "array"},
                "restartPolicy": {"type": "string", "enum": ["Always", "Never", "OnFailure"]},
                "apiVersion": {"type": "string", "enum": ["v1"]}
            }
        });
        let got = texts(
            schema,
            json!({"replicas": "3", "restartpolicy": "Never", "foo": 1, "apiVersion": "v2"}),
        );
        insta::assert_snapshot!(got.join("\n"));
    }

    #[test]
    fn int_or_string_in_both_schema_styles() {
        let schema = json!({
            "type": "object",
            "properties": {
                // yannh/kubernetes-json-schema
                "targetPort": {"oneOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]},
                // the Rollout CRD
                "maxUnavailable": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": true}
            }
        });
        let got = texts(schema, json!({"targetPort": true, "maxUnavailable": [1]}));
        insta::assert_snapshot!(got.join("\n"));
        let schema = json!({"properties": {"targetPort": {"oneOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]}}});
        assert_eq!(
            texts(schema, json!({"targetPort": null})),
            vec!["m.targetPort: expected a string or an integer, got null"]
        );
    }

    #[test]
    fn limits_and_patterns() {
        let schema = json!({
            "properties": {
                "name": {"type": "string", "maxLength": 5, "pattern": "^[a-z]+$"},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "args": {"type": "array", "minItems": 1, "uniqueItems": true},
                "other": {"oneOf": [{"type": "string", "minLength": 2}, {"type": "integer", "minimum": 0}]}
            }
        });
        let got = texts(
            schema,
            json!({"name": "Too-Long", "port": 70000, "args": [], "other": -1}),
        );
        insta::assert_snapshot!(got.join("\n"));
    }

    #[test]
    fn secret_values_are_never_quoted() {
        let schema = json!({
            "type": "object",
            "properties": {
                "kind": {"type": "string"},
                "data": {"additionalProperties": {"type": "string", "pattern": "^[A-Za-z0-9+/=]*$"}},
                "env": {"items": {"properties": {"name": {"type": "string"}, "value": {"type": "string"}}}},
                "apiToken": {"type": "integer"},
                "labels": {"additionalProperties": {"type": "string"}}
            }
        });
        let got = texts(
            schema,
            json!({
                "kind": "Secret",
                "data": {"url": "hunter2!"},
                "env": [{"name": "DB_PASSWORD", "value": 12345}, {"name": "LOG_LEVEL", "value": 3}],
                "apiToken": "s3cr3t",
                "labels": {"auth-key": 42, "team": 7}
            }),
        );
        let all = got.join("\n");
        for secret in ["hunter2", "12345", "s3cr3t", "42"] {
            assert!(!all.contains(secret), "{secret} leaked: {all}");
        }
        insta::assert_snapshot!(all);
    }

    #[test]
    fn numeric_keys_of_objects_stay_keys() {
        let schema = json!({"properties": {"data": {"additionalProperties": {"type": "string"}}, "ports": {"items": {"type": "integer"}}}});
        assert_eq!(
            texts(schema, json!({"data": {"80": 1, "a.b": 2}, "ports": ["x"]})),
            vec![
                r#"m.data["80"]: expected a string, got 1"#,
                r#"m.data["a.b"]: expected a string, got 2"#,
                r#"m.ports[0]: expected an integer, got "x""#,
            ]
        );
    }

    #[test]
    fn long_strings_are_cut() {
        let schema = json!({"properties": {"a": {"type": "integer"}}});
        let long = "x".repeat(100);
        assert_eq!(
            texts(schema, json!({"a": long})),
            vec![format!(
                "m.a: expected an integer, got \"{}...\"",
                "x".repeat(60)
            )]
        );
    }

    #[test]
    fn suggestions_only_for_close_names() {
        assert_eq!(
            suggestion("activeServce", &["activeService", "previewService"]),
            ", did you mean `activeService`?"
        );
        assert_eq!(
            suggestion("Replicas", &["replicas"]),
            ", did you mean `replicas`?"
        );
        assert_eq!(suggestion("foo", &["replicas", "selector"]), "");
    }
}
