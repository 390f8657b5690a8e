//! The pipeline's identity (`application`, `name`) and the minimum shape every other rule
//! relies on (`stages` is an array of objects with a `type` and a `name`).

use super::Report;
use super::path;
use super::view::{Field, PipelineView, kind_of, quote, string_field};
use crate::bundle::Bundle;
use serde_json::Value;
use std::collections::HashMap;

/// The bundle's own application must have a name: every pipeline is compared with it.
pub fn check_application(bundle: &Bundle, report: &mut Report) {
    let field = string_field(&bundle.application, "name");
    if let Some(problem) = field.problem("name") {
        report.error(field.path("application", "name"), problem);
    }
}

/// Pipeline names seen so far in this bundle, folded as Front50 compares them.
#[derive(Default)]
pub struct Names {
    /// folded name -> (pipeline path, name as written)
    seen: HashMap<String, (String, String)>,
}

pub fn check(view: &PipelineView, bundle: &Bundle, names: &mut Names, report: &mut Report) {
    check_application_field(view, bundle, report);
    check_name(view, names, report);
    check_stages_shape(view, report);
}

fn check_application_field(view: &PipelineView, bundle: &Bundle, report: &mut Report) {
    let field = string_field(view.pipeline, "application");
    match field {
        Field::Ok(app) => {
            if let Field::Ok(expected) = string_field(&bundle.application, "name")
                && app != expected
            {
                report.error(
                    path::key(&view.path, "application"),
                    format!(
                        "`application` is {} but the bundle's application is named {}",
                        quote(app),
                        quote(expected)
                    ),
                );
            }
        }
        _ => {
            if let Some(problem) = field.problem("application") {
                report.error(field.path(&view.path, "application"), problem);
            }
        }
    }
}

fn check_name(view: &PipelineView, names: &mut Names, report: &mut Report) {
    let field = string_field(view.pipeline, "name");
    let Field::Ok(name) = field else {
        if let Some(problem) = field.problem("name") {
            report.error(field.path(&view.path, "name"), problem);
        }
        return;
    };
    let name_path = path::key(&view.path, "name");
    let trimmed = name.trim();
    if trimmed != name {
        // Front50 stores the trimmed name: the pipeline read back would never equal ours.
        report.warning(
            &name_path,
            format!(
                "`name` {} has leading or trailing whitespace; Front50 trims it to {}",
                quote(name),
                quote(trimmed)
            ),
        );
    }
    if name.contains('/') {
        // Gate's delete and read by name take the name as one path segment and reject an
        // encoded `%2F` (docs/diff-and-push.md, "Names with /"): push could never delete
        // or replace such a pipeline.
        report.error(
            &name_path,
            format!(
                "`name` {} contains `/`, which Gate cannot take in a URL: a pipeline of this name could never be deleted or renamed by kujira-gen; use another character",
                quote(name)
            ),
        );
    }
    let folded = trimmed.to_lowercase();
    if let Some((first_path, first_name)) = names.seen.get(&folded) {
        report.error(
            name_path,
            format!(
                "pipeline name {} is already used by {first_path} ({}); Front50 compares names trimmed and ignoring case, so one would overwrite the other",
                quote(name),
                quote(first_name)
            ),
        );
    } else {
        names
            .seen
            .insert(folded, (view.path.clone(), name.to_string()));
    }
}

fn check_stages_shape(view: &PipelineView, report: &mut Report) {
    let stages_path = path::key(&view.path, "stages");
    let items = match view.pipeline.get("stages") {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => {
            report.error(&view.path, "missing `stages`");
            return;
        }
        Some(other) => {
            report.error(
                stages_path,
                format!("`stages` must be an array, got {}", kind_of(other)),
            );
            return;
        }
    };
    for (j, item) in items.iter().enumerate() {
        let stage_path = path::index(&stages_path, j);
        let Value::Object(stage) = item else {
            report.error(
                stage_path,
                format!("a stage must be an object, got {}", kind_of(item)),
            );
            continue;
        };
        for key in ["type", "name"] {
            let field = string_field(stage, key);
            if let Some(problem) = field.problem(key) {
                report.error(field.path(&stage_path, key), problem);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{check_json, variant};
    use insta::assert_snapshot;
    use serde_json::json;

    #[test]
    fn pipeline_without_application_or_name() {
        let v = variant(&[
            ("/pipelines/0/application", None),
            ("/pipelines/0/name", Some(json!("   "))),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn application_and_name_of_the_wrong_type() {
        let v = variant(&[
            ("/pipelines/0/application", Some(json!(7))),
            ("/pipelines/0/name", Some(json!(["release"]))),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn application_differs_from_the_bundle() {
        let v = variant(&[("/pipelines/0/application", Some(json!("Sample")))]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn bundle_application_without_name() {
        let v = variant(&[("/application/name", None)]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn names_clash_trimmed_and_ignoring_case() {
        let mut v = variant(&[]);
        let mut second = v["pipelines"][0].clone();
        second["name"] = json!("release SAMPLE ");
        v["pipelines"].as_array_mut().unwrap().push(second);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn a_name_with_a_slash_is_refused() {
        let v = variant(&[("/pipelines/0/name", Some(json!("deploy/prod")))]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn stages_not_an_array() {
        let v = variant(&[("/pipelines/0/stages", Some(json!({"refId": "1"})))]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn stages_missing() {
        let v = variant(&[("/pipelines/0/stages", None)]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn stage_not_an_object_and_without_type_or_name() {
        let v = variant(&[
            ("/pipelines/0/stages/7", Some(json!("checkPreconditions"))),
            ("/pipelines/0/stages/6/type", None),
            ("/pipelines/0/stages/2/name", Some(json!(""))),
        ]);
        assert_snapshot!(check_json(v));
    }
}
