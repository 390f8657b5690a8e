//! Compiles a JSON Schema that kujira-gen ships (the value schema, the platform files'
//! schemas, the Kubernetes and Argo Rollouts schemas), without checking it against its
//! meta-schema first.
//!
//! `jsonschema` validates every schema it compiles against the meta-schema of its draft,
//! and builds that meta-schema's validator once per process to do so: for a one-file
//! `validate` that was 9M of 60M instructions (the 2020-12 meta-schema validator alone
//! 3.6M), spent proving the same fact about the same embedded text on every run. The crate
//! skips the check only for a root that is `true` or `{}`, and offers no switch, so the
//! schema goes into a registry under its own URI and the compiled root is `{"$ref": URI}`,
//! a draft-7 document too small to matter. The errors are the same, with the same schema
//! paths (jsonschema gives a keyword's place in the document, `/$defs/name/pattern`,
//! with or without the wrapper: tested).
//!
//! What the skipped check would catch is a broken schema in the binary: the tests check
//! every shipped schema, and every schema the platform's defaults derive, against its
//! meta-schema ([`meta_errors`]).

use jsonschema::{Draft, Registry, Validator};
use serde_json::{Value, json};

/// The URI the schema is registered under when it has no `$id`.
const DEFAULT_URI: &str = "urn:kujira-gen:schema";

/// `schema` compiled as `draft` (whatever its `$schema` says), with `format` asserted
/// (every schema kujira-gen ships is meant that way; in 2020-12 it would otherwise only
/// annotate). Errors are the compiler's own words.
pub fn compile(schema: &Value, draft: Draft) -> Result<Validator, String> {
    let uri = schema
        .get("$id")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_URI);
    let registry = Registry::new()
        .add(uri, draft.create_resource_ref(schema))
        .and_then(|r| r.prepare())
        .map_err(|e| e.to_string())?;
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .should_validate_formats(true)
        .with_registry(&registry)
        .build(&json!({ "$ref": uri }))
        .map_err(|e| e.to_string())
}

/// Where `schema` breaks the meta-schema of `draft`, for the tests that stand in for the
/// check [`compile`] skips.
#[cfg(test)]
pub(crate) fn meta_errors(schema: &Value, draft: Draft) -> Vec<String> {
    let meta = match draft {
        Draft::Draft7 => jsonschema::draft7::meta::validate(schema),
        _ => jsonschema::draft202012::meta::validate(schema),
    };
    match meta {
        Ok(()) => Vec::new(),
        Err(e) => vec![format!("{e} at {}", e.instance_path())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r##"{
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:test:one",
        "type": "object",
        "properties": {
            "Name": {"$ref": "#/$defs/name"},
            "Mail": {"type": "string", "format": "email"}
        },
        "required": ["Name"],
        "additionalProperties": false,
        "$defs": {"name": {"type": "string", "pattern": "^[a-z]+$"}}
    }"##;

    fn errors(v: &Validator, instance: &Value) -> Vec<String> {
        v.iter_errors(instance)
            .map(|e| format!("{e} at {} ({})", e.instance_path(), e.schema_path()))
            .collect()
    }

    /// The same errors, at the same schema paths, as the crate's own compile.
    #[test]
    fn errors_are_those_of_a_plain_compile() {
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        let plain = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        let trusted = compile(&schema, Draft::Draft202012).unwrap();
        for instance in [
            json!({"Name": "ok"}),
            json!({"Name": "Not ok", "Mail": "nope", "Other": 1}),
            json!({"Mail": 3}),
            json!([]),
        ] {
            assert_eq!(errors(&trusted, &instance), errors(&plain, &instance));
        }
        assert_eq!(
            errors(&trusted, &json!({"Name": "Not ok", "Other": 1})),
            [
                r#""Not ok" does not match "^[a-z]+$" at /Name (/$defs/name/pattern)"#,
                r#"Additional properties are not allowed ('Other' was unexpected) at  (/additionalProperties)"#
            ]
        );
    }

    /// The draft given wins over the schema's `$schema`: in draft 7, `format` asserts
    /// and `$defs` is not a keyword, `definitions` is.
    #[test]
    fn the_given_draft_wins() {
        let schema = json!({
            "$schema": "http://json-schema.org/schema#",
            "type": "object",
            "properties": {"A": {"$ref": "#/definitions/a"}},
            "definitions": {"a": {"type": "integer"}}
        });
        let v = compile(&schema, Draft::Draft7).unwrap();
        assert_eq!(errors(&v, &json!({"A": 1})), Vec::<String>::new());
        assert_eq!(
            errors(&v, &json!({"A": "x"})),
            [r#""x" is not of type "integer" at /A (/definitions/a/type)"#]
        );
    }

    /// The check [`compile`] skips, on every schema kujira-gen ships that is not a
    /// Kubernetes or Argo one (`check::schemas` tests those), and on the one the
    /// platform's defaults derive from the value schema.
    #[test]
    fn the_shipped_schemas_are_valid_2020_12_schemas() {
        let value: Value = serde_json::from_str(crate::values::schema::SCHEMA_TEXT).unwrap();
        let derived = crate::platform::defaults::schema_for_defaults(&value);
        let texts = [
            crate::platform::policy::SCHEMA_TEXT,
            crate::platform::slo::SCHEMA_TEXT,
        ];
        let mut schemas: Vec<Value> = texts
            .iter()
            .map(|t| serde_json::from_str(t).unwrap())
            .collect();
        schemas.extend([value, derived]);
        for schema in &schemas {
            assert_eq!(
                schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{}",
                schema["$id"]
            );
            assert_eq!(
                meta_errors(schema, Draft::Draft202012),
                Vec::<String>::new()
            );
        }
    }

    #[test]
    fn meta_errors_find_a_broken_schema() {
        assert_eq!(
            meta_errors(&json!({"type": "object"}), Draft::Draft7),
            Vec::<String>::new()
        );
        assert_eq!(
            meta_errors(&json!({"type": 3}), Draft::Draft202012).len(),
            1
        );
        assert_eq!(
            meta_errors(&json!({"minLength": -1}), Draft::Draft7).len(),
            1
        );
    }
}
