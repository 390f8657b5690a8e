//! Stage references inside SpEL expressions: `#stage('Name')`, `#stageByRefId('id')` and
//! `#judgment('Name')`. Orca resolves them when the expression runs; a name that matches no
//! stage then fails the expression (or, in `stageEnabled`, silently skips the stage), long
//! after the template was written. Checked in `stageEnabled.expression` and, because the
//! same mistake is as likely there, in `checkPreconditions` expression preconditions.

use super::Report;
use super::path;
use super::view::{PipelineView, StageView, kind_of, quote};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// `#stage('Name')`: the first stage with this name.
    Stage,
    /// `#stageByRefId('id')`
    ByRefId,
    /// `#judgment('Name')` (Orca also accepts the spelling `#judgement`): the
    /// `manualJudgment` stage with this name.
    Judgment,
}

#[derive(Debug, PartialEq, Eq)]
pub struct StageRef<'e> {
    pub kind: RefKind,
    /// The argument, with SpEL's doubled quotes undone.
    pub arg: String,
    /// The reference as written, for messages.
    pub text: &'e str,
}

/// The references whose argument is a string literal. Anything else (`#stage(name)`,
/// `#stage('a' + x)`) cannot be resolved without running the pipeline and is skipped.
pub fn parse(expr: &str) -> Vec<StageRef<'_>> {
    let bytes = expr.as_bytes();
    let mut refs = Vec::new();
    let mut i = 0;
    while let Some(offset) = expr[i..].find('#') {
        let start = i + offset;
        i = start + 1;
        let name_end = expr[i..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(expr.len(), |n| i + n);
        let kind = match &expr[i..name_end] {
            "stage" => RefKind::Stage,
            "stageByRefId" => RefKind::ByRefId,
            "judgment" | "judgement" => RefKind::Judgment,
            _ => continue,
        };
        let mut j = skip_spaces(bytes, name_end);
        if bytes.get(j) != Some(&b'(') {
            continue;
        }
        j = skip_spaces(bytes, j + 1);
        let Some((arg, after)) = string_literal(expr, j) else {
            continue;
        };
        let close = skip_spaces(bytes, after);
        if bytes.get(close) != Some(&b')') {
            continue;
        }
        refs.push(StageRef {
            kind,
            arg,
            text: &expr[start..=close],
        });
        i = close + 1;
    }
    refs
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// A SpEL string literal starting at byte `at`: `'...'` or `"..."`, where a doubled quote
/// stands for one. Returns the value and the byte after the closing quote.
fn string_literal(expr: &str, at: usize) -> Option<(String, usize)> {
    let bytes = expr.as_bytes();
    let quote = *bytes.get(at)?;
    if quote != b'\'' && quote != b'"' {
        return None;
    }
    let mut value = String::new();
    let mut i = at + 1;
    loop {
        let rel = expr.get(i..)?.find(quote as char)?;
        value.push_str(&expr[i..i + rel]);
        i += rel + 1;
        if bytes.get(i) == Some(&quote) {
            value.push(quote as char);
            i += 1;
        } else {
            return Some((value, i));
        }
    }
}

pub fn check(view: &PipelineView, report: &mut Report) {
    for stage in &view.stages {
        check_stage_enabled(view, stage, report);
        if stage.stage_type() == Some("checkPreconditions") {
            check_preconditions(view, stage, report);
        }
    }
}

fn check_stage_enabled(view: &PipelineView, stage: &StageView, report: &mut Report) {
    let se_path = stage.field_path("stageEnabled");
    let se = match stage.stage.get("stageEnabled") {
        None | Some(Value::Null) => return,
        Some(Value::Object(se)) => se,
        Some(other) => {
            report.error(
                se_path,
                format!(
                    "`stageEnabled` must be an object {{type: \"expression\", expression}}, got {}",
                    kind_of(other)
                ),
            );
            return;
        }
    };
    // "expression" is the only optionality type Orca knows; it rejects the stage otherwise.
    match se.get("type") {
        Some(Value::String(t)) if t == "expression" => {}
        None | Some(Value::Null) => report.error(
            &se_path,
            "`stageEnabled` has no `type`; it must be \"expression\"",
        ),
        Some(other) => report.error(
            path::key(&se_path, "type"),
            format!(
                "`stageEnabled.type` must be \"expression\", got {}",
                describe_scalar(other)
            ),
        ),
    }
    match se.get("expression") {
        Some(Value::String(expr)) => {
            check_expression(view, expr, &path::key(&se_path, "expression"), report)
        }
        None | Some(Value::Null) => report.error(se_path, "`stageEnabled` has no `expression`"),
        Some(other) => report.error(
            path::key(&se_path, "expression"),
            format!(
                "`stageEnabled.expression` must be a string, got {}",
                kind_of(other)
            ),
        ),
    }
}

fn check_preconditions(view: &PipelineView, stage: &StageView, report: &mut Report) {
    let list_path = stage.field_path("preconditions");
    let Some(items) = report.stage_array(
        stage,
        "preconditions",
        "a checkPreconditions stage needs `preconditions`",
    ) else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let item_path = path::index(&list_path, i);
        if item.get("type").and_then(Value::as_str) != Some("expression") {
            continue;
        }
        match item.pointer("/context/expression") {
            Some(Value::String(expr)) => {
                let at = path::key(&path::key(&item_path, "context"), "expression");
                check_expression(view, expr, &at, report);
            }
            None | Some(Value::Null) => report.error(
                item_path,
                "an expression precondition needs `context.expression`",
            ),
            Some(other) => report.error(
                path::key(&path::key(&item_path, "context"), "expression"),
                format!("`expression` must be a string, got {}", kind_of(other)),
            ),
        }
    }
}

fn check_expression(view: &PipelineView, expr: &str, at: &str, report: &mut Report) {
    for r in parse(expr) {
        if let Some(problem) = resolve(view, &r) {
            report.error(at, format!("`{}` {problem}", r.text));
        }
    }
}

/// Why the reference resolves to nothing, or `None` when it resolves.
fn resolve(view: &PipelineView, r: &StageRef) -> Option<String> {
    match r.kind {
        RefKind::Stage => {
            if view.stage_named(&r.arg).is_some() {
                return None;
            }
            let names = view.stages.iter().filter_map(|s| s.name());
            Some(format!(
                "refers to stage {}, but no stage in this pipeline has that name{}",
                quote(&r.arg),
                did_you_mean(&r.arg, names)
            ))
        }
        RefKind::ByRefId => {
            if view.stage_with_ref_id(&r.arg).is_some() {
                return None;
            }
            let ids = view.stages.iter().filter_map(|s| s.ref_id());
            Some(format!(
                "refers to refId {}, but no stage in this pipeline has that refId{}",
                quote(&r.arg),
                did_you_mean(&r.arg, ids)
            ))
        }
        RefKind::Judgment => {
            let named: Vec<&StageView> = view
                .stages
                .iter()
                .filter(|s| s.name() == Some(r.arg.as_str()))
                .collect();
            if named
                .iter()
                .any(|s| s.stage_type() == Some("manualJudgment"))
            {
                return None;
            }
            if let Some(s) = named.first() {
                return Some(format!(
                    "refers to stage {}, which is a `{}` stage, not a `manualJudgment`",
                    quote(&r.arg),
                    s.stage_type().unwrap_or("?")
                ));
            }
            let judgments = view
                .stages
                .iter()
                .filter(|s| s.stage_type() == Some("manualJudgment"))
                .filter_map(|s| s.name());
            Some(format!(
                "refers to manual judgment {}, but no `manualJudgment` stage in this pipeline has that name{}",
                quote(&r.arg),
                did_you_mean(&r.arg, judgments)
            ))
        }
    }
}

/// `; did you mean "X"?` for the closest candidate, or nothing when none is close.
fn did_you_mean<'a>(wanted: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let wanted_lower = wanted.to_lowercase();
    let best = candidates
        .map(|c| {
            let score = if c.to_lowercase() == wanted_lower {
                1.0
            } else {
                strsim::jaro_winkler(&wanted_lower, &c.to_lowercase())
            };
            (score, c)
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, c)) => format!("; did you mean {}?", quote(c)),
        None => String::new(),
    }
}

fn describe_scalar(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => kind_of(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{check_json, variant};
    use super::*;
    use insta::assert_snapshot;
    use serde_json::json;

    fn parsed(expr: &str) -> Vec<(RefKind, String)> {
        parse(expr).into_iter().map(|r| (r.kind, r.arg)).collect()
    }

    #[test]
    fn parses_literal_references_in_both_quote_styles() {
        assert_eq!(
            parsed(r#"#stage('Deploy')['status'] == 'SUCCEEDED' && #stage( "Wait" )"#),
            vec![
                (RefKind::Stage, "Deploy".to_string()),
                (RefKind::Stage, "Wait".to_string())
            ]
        );
        assert_eq!(
            parsed("#stageByRefId('3') != null and #judgment('Go?') == 'yes' or #judgement(\"x\")"),
            vec![
                (RefKind::ByRefId, "3".to_string()),
                (RefKind::Judgment, "Go?".to_string()),
                (RefKind::Judgment, "x".to_string())
            ]
        );
        assert_eq!(
            parsed("#stage('it''s')"),
            vec![(RefKind::Stage, "it's".to_string())]
        );
        let r = parse("x && #stage ( 'a' ) ");
        assert_eq!(r[0].text, "#stage ( 'a' )");
    }

    #[test]
    fn skips_what_is_not_a_literal_reference() {
        assert!(parsed("#stage(name)").is_empty());
        assert!(parsed("#stage('a' + b)").is_empty());
        assert!(parsed("#stages('a')").is_empty());
        assert!(parsed("#stage('unterminated").is_empty());
        assert!(parsed("#stage").is_empty());
        assert!(parsed("#").is_empty());
        assert!(parsed("#toJson(#stage)").is_empty());
        assert!(parsed("'#é' + #stage('ü')").len() == 1);
    }

    #[test]
    fn unknown_stage_names_and_ref_ids() {
        let v = variant(&[
            (
                "/pipelines/0/stages/2/stageEnabled/expression",
                Some(json!(
                    "#stage('wait for Preview')['outputs']['x'] != 'true' && #stage(\"Build\") != null"
                )),
            ),
            (
                "/pipelines/0/stages/6/stageEnabled/expression",
                Some(json!("#stageByRefId('60')['status'] == 'SUCCEEDED'")),
            ),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn judgment_must_name_a_manual_judgment_stage() {
        let v = variant(&[
            (
                "/pipelines/0/stages/4/stageEnabled/expression",
                Some(json!("#judgment('Promote') == 'Promote'")),
            ),
            (
                "/pipelines/0/stages/5/stageEnabled/expression",
                Some(json!("#judgment('Scenario test') == 'Rollback'")),
            ),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn precondition_expressions_are_checked_too() {
        let v = variant(&[(
            "/pipelines/0/stages/7/preconditions/0/context/expression",
            Some(json!("#judgment('Approve?') == 'Promote'")),
        )]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn preconditions_of_the_wrong_shape() {
        let mut v = variant(&[(
            "/pipelines/0/stages/7/preconditions/0/context",
            Some(json!({"expression": false})),
        )]);
        let mut second = v["pipelines"][0].clone();
        second["name"] = json!("other");
        second["stages"][7]["preconditions"] = json!({"type": "expression"});
        let mut third = v["pipelines"][0].clone();
        third["name"] = json!("third");
        third["stages"][7]["preconditions"] = json!([{"type": "expression", "context": {}}]);
        v["pipelines"]
            .as_array_mut()
            .unwrap()
            .extend([second, third]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn stage_enabled_of_the_wrong_shape() {
        let v = variant(&[
            ("/pipelines/0/stages/2/stageEnabled", Some(json!("true"))),
            (
                "/pipelines/0/stages/4/stageEnabled",
                Some(json!({"type": "always", "expression": 1})),
            ),
            (
                "/pipelines/0/stages/5/stageEnabled",
                Some(json!({"type": "expression"})),
            ),
        ]);
        assert_snapshot!(check_json(v));
    }
}
