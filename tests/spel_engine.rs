//! The SpEL engine (tests/support/spel.rs) against upstream behaviour: each test encodes facts
//! read in Orca's or kork's sources or test specs (named on the test), not kujira-gen's output.
//! Upstream paths are in the spinnaker/spinnaker monorepo; `orca-core` stands for
//! `orca/orca-core/src/{main,test}/...`.
//!
//! Without Java or the Debian jars these tests print what to install and pass without checking
//! anything; under CI=true they fail instead.

mod support;

use serde_json::{Value, json};
use support::spel::{Level, Message, Spel, TaskStatus};

/// The engine, or return from the test (skipped) when it is not installed outside CI.
macro_rules! engine {
    () => {
        match Spel::start() {
            Some(engine) => engine,
            None => return,
        }
    };
}

const EXECUTION_ID: &str = "01HEXECUTION0000000000000A";

/// A pipeline execution: a trigger with parameters and a resolved docker artifact, then the
/// given stages.
fn execution(stages: Value) -> Value {
    json!({
        "id": EXECUTION_ID,
        "application": "shop",
        "name": "release",
        "status": "RUNNING",
        "trigger": {
            "type": "manual",
            "user": "dev@example.com",
            "parameters": {"tag": "1.2.3", "count": 3, "flag": "true"},
            "resolvedExpectedArtifacts": [{
                "id": "ea-1",
                "matchArtifact": {"type": "docker/image", "name": "registry/shop"},
                "boundArtifact": {
                    "type": "docker/image",
                    "name": "registry/shop",
                    "version": "1.2.3",
                    "reference": "registry/shop:1.2.3"
                }
            }]
        },
        "stages": stages
    })
}

/// Deploy (1, SUCCEEDED, outputs) -> Approve (2, manual judgment with input) -> Promote (3).
fn release() -> Value {
    execution(json!([
        {
            "refId": "1", "name": "Deploy", "type": "deployManifest", "status": "SUCCEEDED",
            "context": {"account": "prod-k8s", "manifestName": "rollout shop"},
            "outputs": {"outputs.createdArtifacts": [], "previewUrl": "http://shop-preview"}
        },
        {
            "refId": "2", "name": "Approve", "type": "manualJudgment", "status": "SUCCEEDED",
            "requisiteStageRefIds": ["1"],
            "context": {"judgmentInput": "promote", "judgmentStatus": "continue"}
        },
        {
            "refId": "3", "name": "Promote", "type": "wait", "status": "NOT_STARTED",
            "requisiteStageRefIds": ["2"], "context": {"waitTime": 1}
        }
    ]))
}

fn with_stage_enabled(mut execution: Value, ref_id: &str, expression: Value) -> Value {
    let stages = execution["stages"].as_array_mut().expect("stages array");
    let stage = stages
        .iter_mut()
        .find(|s| s["refId"] == ref_id)
        .expect("stage with that refId");
    stage["context"]["stageEnabled"] = json!({"type": "expression", "expression": expression});
    execution
}

fn only_message(messages: &[Message]) -> &Message {
    assert_eq!(
        messages.len(),
        1,
        "expected one summary entry: {messages:#?}"
    );
    &messages[0]
}

/// orca-core ContextParameterProcessorSpec "can find a stage in an execution and get its
/// status"; OptionalStageSupportSpec "nested" (`['status'].toString()`); ExecutionStatus.java
/// (a CharSequence, so `== 'SUCCEEDED'` compares text).
#[test]
fn stage_status_compares_as_text() {
    let mut spel = engine!();
    let exec = release();
    for source in [
        "${#stage('Deploy')['status'].toString() == 'SUCCEEDED'}",
        "${#stage('Deploy')['status'] == 'SUCCEEDED'}",
        "${#stage('Deploy').status == 'SUCCEEDED'}",
        "${#stage('Deploy').hasSucceeded}",
    ] {
        let out = spel.evaluate(source, &exec, "3");
        assert_eq!(out.value, json!(true), "{source}: {out:#?}");
        assert_eq!(out.java_type, "Boolean");
        assert!(out.messages.is_empty(), "{source}: {out:#?}");
    }
    let out = spel.evaluate("${#stage('Deploy').hasFailed}", &exec, "3");
    assert_eq!(out.value, json!(false));

    let mut failed = release();
    failed["stages"][0]["status"] = json!("TERMINAL");
    let out = spel.evaluate(
        "succeeded: ${#stage(\"Deploy\")[\"status\"] == \"SUCCEEDED\"}",
        &failed,
        "3",
    );
    assert_eq!(out.value, json!("succeeded: false"));
    let out = spel.evaluate("${#stage('Deploy').hasFailed}", &failed, "3");
    assert_eq!(out.value, json!(true));
}

/// ContextParameterProcessorSpec "should get stage status as String": PipelineExpressionEvaluator
/// passes ExecutionStatus to ExpressionTransform as a type to stringify.
#[test]
fn a_status_result_becomes_a_string() {
    let mut spel = engine!();
    let out = spel.evaluate("${#stage('Approve')['status']}", &release(), "3");
    assert_eq!(out.value, json!("SUCCEEDED"));
    assert_eq!(out.java_type, "String");
    let out = spel.evaluate("${#stage('Approve').status}", &release(), "3");
    assert_eq!(out.value, json!("SUCCEEDED"));
    assert_eq!(out.java_type, "String");
}

/// Indexing a Map with a missing key is null, not an exception (Spring's Indexer on a Map);
/// ExpressionTransform then keeps the source and records INFO "... not found".
#[test]
fn stage_outputs_present_and_absent() {
    let mut spel = engine!();
    let exec = release();
    let out = spel.evaluate("${#stage('Deploy')['outputs']['previewUrl']}", &exec, "3");
    assert_eq!(out.value, json!("http://shop-preview"));
    assert!(out.messages.is_empty());

    let source = "${#stage('Deploy')['outputs']['nothingHere']}";
    let out = spel.evaluate(source, &exec, "3");
    assert_eq!(out.value, json!(source), "null keeps the source string");
    let m = only_message(&out.messages);
    assert_eq!(m.level, Level::Info);
    assert_eq!(m.exception_type, None);
    // The summary keys the expression after the execution-aware rewrite.
    assert_eq!(
        m.expression,
        "#stage( #root.execution, 'Deploy')['outputs']['nothingHere']"
    );
    assert!(m.description.ends_with(" not found"), "{m:#?}");

    // The same through property access: allowUnknownKeys makes the missing key null too.
    let out = spel.evaluate("${#stage('Deploy').outputs.nothingHere}", &exec, "3");
    assert_eq!(only_message(&out.messages).level, Level::Info);
}

/// A stage's context is reachable by indexer and by property (StageExecutionImpl.getContext,
/// a Map: an allowed return type in kork's ExpressionsSupport).
#[test]
fn stage_context_values() {
    let mut spel = engine!();
    let exec = release();
    for source in [
        "${#stage('Deploy')['context']['account']}",
        "${#stage('Deploy').context.account}",
        "${#stage('Deploy').context['account']}",
        "${#stageByRefId('1')['context']['account']}",
    ] {
        let out = spel.evaluate(source, &exec, "3");
        assert_eq!(out.value, json!("prod-k8s"), "{source}: {out:#?}");
    }
}

/// StageExpressionFunctionProvider.stage throws SpelHelperFunctionException "Unable to locate
/// [X] using #stage(X) in execution ID"; ExpressionTransform keeps the source and records ERROR;
/// OptionalStageSupport then finds neither "true" nor "false": InvalidExpression, skipped.
#[test]
fn a_missing_stage_throws_and_its_stage_is_skipped() {
    let mut spel = engine!();
    let exec = release();
    let source = "${#stage('Smoke test')['status'].toString() == 'SUCCEEDED'}";
    let out = spel.evaluate(source, &exec, "3");
    assert_eq!(out.value, json!(source));
    let m = only_message(&out.messages);
    assert_eq!(m.level, Level::Error);
    assert_eq!(
        m.exception_type.as_deref(),
        Some("SpelHelperFunctionException")
    );
    assert!(
        m.description.contains(&format!(
            "Unable to locate [Smoke test] using #stage(Smoke test) in execution {EXECUTION_ID}"
        )),
        "{m:#?}"
    );

    let exec = with_stage_enabled(
        release(),
        "3",
        json!("#stage('Smoke test')['status'].toString() == 'SUCCEEDED'"),
    );
    let optional = spel.is_optional(&exec, "3");
    assert!(optional.skip);
    assert_eq!(
        optional.invalid_expression.as_deref(),
        Some(
            "Conditional Expression '#stage('Smoke test')['status'].toString() == 'SUCCEEDED'' \
             could not be evaluated"
        )
    );
    assert_eq!(only_message(&optional.messages).level, Level::Error);
}

/// StageExpressionFunctionProvider.judgment: the first stage *named* X of type manualJudgment
/// with a non-null judgmentInput, else SpelHelperFunctionException; `#judgement` is an alias.
/// ContextParameterProcessorSpec "can find a judgment result from execution" (a same-named
/// stage of another type is passed over).
#[test]
fn judgment_needs_a_manual_judgment_stage_with_input() {
    let mut spel = engine!();
    let exec = release();
    for source in ["${#judgment('Approve')}", "${#judgement('Approve')}"] {
        let out = spel.evaluate(source, &exec, "3");
        assert_eq!(out.value, json!("promote"), "{source}");
    }
    let out = spel.evaluate("${#judgment('Approve') == 'promote'}", &exec, "3");
    assert_eq!(out.value, json!(true));

    let mut no_input = release();
    no_input["stages"][1]["context"] = json!({"judgmentStatus": ""});
    let out = spel.evaluate("${#judgment('Approve')}", &no_input, "3");
    let m = only_message(&out.messages);
    assert_eq!(m.level, Level::Error);
    assert!(
        m.description
            .contains("Stage doesn't exist or doesn't contain judgmentInput in its context"),
        "{m:#?}"
    );
    let optional = spel.is_optional(
        &with_stage_enabled(no_input, "3", json!("#judgment('Approve') == 'promote'")),
        "3",
    );
    assert!(optional.skip);
    assert!(optional.invalid_expression.is_some());

    let same_name = execution(json!([
        {"refId": "1", "name": "my stage", "type": "bake",
         "context": {"judgmentInput": "input2"}},
        {"refId": "2", "name": "my stage", "type": "manualJudgment",
         "context": {"judgmentInput": "Real Judgment input"}}
    ]));
    let out = spel.evaluate("${#judgment('my stage')}", &same_name, "1");
    assert_eq!(out.value, json!("Real Judgment input"));
}

/// StageExpressionFunctionProvider.stageExists: by name or id, never throws.
#[test]
fn stage_exists() {
    let mut spel = engine!();
    let mut exec = release();
    exec["stages"][0]["id"] = json!("01HSTAGEDEPLOY000000000000");
    for (source, expected) in [
        ("${#stageExists('Deploy')}", true),
        ("${#stageExists('01HSTAGEDEPLOY000000000000')}", true),
        ("${#stageExists('Smoke test')}", false),
        ("${#stageExists('1')}", false), // a refId is neither a name nor an id
    ] {
        let out = spel.evaluate(source, &exec, "3");
        assert_eq!(out.value, json!(expected), "{source}");
        assert!(out.messages.is_empty());
    }
}

/// Property access vs indexer on a stage object: both go through kork's FilteredPropertyAccessor
/// (Spring's Indexer falls back to the property accessors for a String index on an object, in
/// 4.3 and 6.2 alike); a property without a getter is an IllegalArgumentException "requested
/// getter ... not found", so an ERROR, even with allowUnknownKeys (which covers maps only).
#[test]
fn property_access_and_indexer_on_a_stage() {
    let mut spel = engine!();
    let exec = release();
    for (a, b) in [
        ("${#stage('Deploy').name}", "${#stage('Deploy')['name']}"),
        ("${#stage('Deploy').type}", "${#stage('Deploy')['type']}"),
        ("${#stage('Deploy').refId}", "${#stage('Deploy')['refId']}"),
        (
            "${#stage('Deploy').status}",
            "${#stage('Deploy')['status']}",
        ),
    ] {
        let left = spel.evaluate(a, &exec, "3");
        let right = spel.evaluate(b, &exec, "3");
        assert!(left.messages.is_empty(), "{a}: {left:#?}");
        assert_eq!(left, right, "{a} vs {b}");
    }
    for source in ["${#stage('Deploy').nope}", "${#stage('Deploy')['nope']}"] {
        let out = spel.evaluate(source, &exec, "3");
        assert_eq!(out.value, json!(source));
        let m = only_message(&out.messages);
        assert_eq!(m.level, Level::Error, "{source}");
        assert_eq!(
            m.exception_type.as_deref(),
            Some("IllegalArgumentException")
        );
        assert!(
            m.description.contains("requested getter nope not found"),
            "{m:#?}"
        );
    }
}

/// kork allowlist/MapPropertyAccessor.java and ContextParameterProcessorSpec "when
/// allowUnknownKeys is #allowUnknownKeys it #desc": on, a missing key reads as null (elvis works,
/// a bare reference stays unresolved); off, it is an error; a key present with null or "" is
/// falsy for elvis either way.
#[test]
fn allow_unknown_keys() {
    let mut spel = engine!();
    let exec = execution(json!([{
        "refId": "1", "name": "S", "type": "wait",
        "context": {"exists": "yay", "isempty": "", "isnull": null}
    }]));
    let cases = [
        ("${noexists}-foo", false, json!("${noexists}-foo")),
        ("${noexists ?: \"bacon\"}", true, json!("bacon")),
        (
            "${noexists ?: \"bacon\"}",
            false,
            json!("${noexists ?: \"bacon\"}"),
        ),
        ("${isempty ?: \"bacon\"}", true, json!("bacon")),
        ("${isempty ?: \"bacon\"}", false, json!("bacon")),
        ("${isnull ?: \"bacon\"}", true, json!("bacon")),
        ("${isnull ?: \"bacon\"}", false, json!("bacon")),
        ("${exists}", false, json!("yay")),
    ];
    for (source, allow, expected) in cases {
        let out = spel.evaluate_with_unknown_keys(source, &exec, "1", allow);
        assert_eq!(
            out.value, expected,
            "{source} with allowUnknownKeys={allow}"
        );
    }
    let strict = spel.evaluate_with_unknown_keys("${noexists}", &exec, "1", false);
    assert_eq!(only_message(&strict.messages).level, Level::Error);
    let lenient = spel.evaluate("${noexists}", &exec, "1");
    assert_eq!(lenient.value, json!("${noexists}"));
    assert_eq!(only_message(&lenient.messages).level, Level::Info);
}

/// ExpressionTransform on composite strings; ContextParameterProcessorSpec "should #process"
/// rows (composite, partial resolution) and "should include evaluation summary errors on
/// partially evaluated composite expression".
#[test]
fn composite_strings() {
    let mut spel = engine!();
    let exec = release();
    let out = spel.evaluate("shop-${trigger['parameters']['tag']}-canary", &exec, "3");
    assert_eq!(out.value, json!("shop-1.2.3-canary"));
    assert_eq!(out.java_type, "String");

    // A number or boolean part is converted to text; the whole stays a String.
    let out = spel.evaluate("n=${parameters.count}", &exec, "3");
    assert_eq!(out.value, json!("n=3"));

    let out = spel.evaluate("a.${ENV1}.b.${parameters.tag}", &exec, "3");
    assert_eq!(out.value, json!("a.${ENV1}.b.1.2.3"));
    assert_eq!(only_message(&out.messages).level, Level::Info);

    let out = spel.evaluate("a.${ENV1}.b.${ENV2}", &exec, "3");
    assert_eq!(out.value, json!("a.${ENV1}.b.${ENV2}"));
    assert_eq!(out.messages.len(), 1, "one summary entry for the composite");

    let out = spel.evaluate("a.${'${ESCAPED_LITERAL}'}.b.${parameters.tag}", &exec, "3");
    assert_eq!(out.value, json!("a.${ESCAPED_LITERAL}.b.1.2.3"));
    assert!(out.messages.is_empty());
}

/// ContextParameterProcessor.buildExecutionContext puts the trigger (as a Map) in the root;
/// precomputeValues adds `parameters` from the trigger. ContextParameterProcessorSpec
/// "Correctly evaluates parameters field in the trigger".
#[test]
fn trigger_parameters() {
    let mut spel = engine!();
    let exec = release();
    for source in [
        "${trigger['parameters']['tag']}",
        "${trigger.parameters.tag}",
        "${parameters['tag']}",
        "${parameters.tag}",
        "${execution.trigger.parameters['tag']}",
    ] {
        let out = spel.evaluate(source, &exec, "3");
        assert_eq!(out.value, json!("1.2.3"), "{source}: {out:#?}");
    }
    // A single ${...} keeps the value's type.
    let out = spel.evaluate("${parameters.count}", &exec, "3");
    assert_eq!((out.value, out.java_type.as_str()), (json!(3), "Integer"));

    for (parameters, expected) in [
        (json!({}), "noValue"),
        (json!({"notFound": "xyz"}), "noValue"),
        (json!({"branch": "hello"}), "hello"),
    ] {
        let mut exec = release();
        exec["trigger"]["parameters"] = parameters;
        let out = spel.evaluate("${parameters[\"branch\"] ?: \"noValue\"}", &exec, "3");
        assert_eq!(out.value, json!(expected));
    }
}

/// ArtifactExpressionFunctionProvider(Spec): the bound artifact of the first resolved expected
/// artifact of that type (or name); none is a SpelHelperFunctionException. The Artifact is an
/// object (kork's Artifact), read by getter through `.reference` or `['reference']`.
#[test]
fn trigger_resolved_artifacts() {
    let mut spel = engine!();
    let exec = release();
    for source in [
        "${#triggerResolvedArtifactByType('docker/image')['reference']}",
        "${#triggerResolvedArtifactByType('docker/image').reference}",
        "${#triggerResolvedArtifact('registry/shop')['reference']}",
    ] {
        let out = spel.evaluate(source, &exec, "3");
        assert_eq!(
            out.value,
            json!("registry/shop:1.2.3"),
            "{source}: {out:#?}"
        );
    }
    let out = spel.evaluate("${#triggerResolvedArtifactByType('s3/object')}", &exec, "3");
    let m = only_message(&out.messages);
    assert_eq!(
        m.exception_type.as_deref(),
        Some("SpelHelperFunctionException")
    );
    assert!(
        m.description.contains(&format!(
            "Unable to locate resolved artifact s3/object in trigger execution {EXECUTION_ID}."
        )),
        "{m:#?}"
    );
}

/// orca-core OptionalStageSupportSpec "should support expression-based optionality", every row
/// (the pipeline: trigger parameter p1=v1, stage Test1 FAILED_CONTINUE, stage Test2 SUCCEEDED).
#[test]
fn optional_stage_support_spec_table() {
    let mut spel = engine!();
    let base = |stage_enabled: Value| {
        let mut exec = execution(json!([
            {"refId": "1", "name": "Test1", "type": "wait", "status": "FAILED_CONTINUE"},
            {"refId": "2", "name": "Test2", "type": "wait", "status": "SUCCEEDED"},
            {"refId": "3", "type": "wait", "context": {"stageEnabled": stage_enabled}}
        ]));
        exec["trigger"]["parameters"] = json!({"p1": "v1"});
        exec
    };
    let rows = [
        (json!({}), false),
        (json!({"type": "expression"}), false),
        (json!({"type": "expression", "expression": ""}), false),
        (json!({"type": "expression", "expression": null}), false),
        (
            json!({"type": "expression", "expression": "parameters.p1 == 'v1'"}),
            false,
        ),
        (
            json!({"type": "expression", "expression": "parameters.p1 == 'v2'"}),
            true,
        ),
        (
            json!({"type": "expression", "expression":
                "execution.stages.?[name == 'Test2'][0]['status'].toString() == 'FAILED_CONTINUE'"}),
            true,
        ),
        (
            json!({"type": "expression", "expression":
                "execution.stages.?[name == 'Test1'][0]['status'].toString() == 'FAILED_CONTINUE'"}),
            false,
        ),
        (json!({"type": "expression", "expression": "true"}), false),
        (json!({"type": "expression", "expression": "false"}), true),
    ];
    for (stage_enabled, skip) in rows {
        let optional = spel.is_optional(&base(stage_enabled.clone()), "3");
        assert_eq!(optional.skip, skip, "{stage_enabled}: {optional:#?}");
        assert_eq!(optional.invalid_expression, None, "{stage_enabled}");
    }
}

/// OptionalStageSupport.isOptional: a blank expression (or no stageEnabled, or another type) is
/// not optional, without evaluating anything; the result's text is compared case-insensitively.
#[test]
fn blank_or_absent_expression_is_not_optional() {
    let mut spel = engine!();
    for expression in [json!(""), json!("   "), json!(null)] {
        let optional =
            spel.is_optional(&with_stage_enabled(release(), "3", expression.clone()), "3");
        assert!(!optional.skip, "{expression}");
        assert_eq!(optional.result, None);
        assert!(optional.messages.is_empty());
    }
    let optional = spel.is_optional(&release(), "3");
    assert!(!optional.skip);
    assert_eq!(optional.result, None);

    let mut other_type = release();
    other_type["stages"][2]["context"]["stageEnabled"] =
        json!({"type": "somethingElse", "expression": "false"});
    assert!(!spel.is_optional(&other_type, "3").skip);

    // The type is lower-cased; a String result "TRUE" is accepted like the boolean.
    let mut upper = with_stage_enabled(release(), "3", json!("'TRUE'"));
    upper["stages"][2]["context"]["stageEnabled"]["type"] = json!("Expression");
    let optional = spel.is_optional(&upper, "3");
    assert!(!optional.skip, "{optional:#?}");
    assert_eq!(optional.result.as_deref(), Some("TRUE"));
}

/// OptionalStageSupport.ExpressionOptionalStageEvaluator: a result other than "true"/"false" is
/// an InvalidExpression, and isOptional answers true (skip) for it.
#[test]
fn a_non_boolean_stage_enabled_skips_the_stage() {
    let mut spel = engine!();
    let optional = spel.is_optional(
        &with_stage_enabled(release(), "3", json!("parameters.tag")),
        "3",
    );
    assert!(optional.skip);
    assert_eq!(optional.result.as_deref(), Some("1.2.3"));
    assert_eq!(
        optional.invalid_expression.as_deref(),
        Some("Conditional Expression 'parameters.tag' could not be evaluated")
    );
    assert!(optional.messages.is_empty(), "evaluation itself succeeded");

    // A parameter that is the *string* "true" is fine: the text is what counts.
    let optional = spel.is_optional(
        &with_stage_enabled(release(), "3", json!("parameters.flag")),
        "3",
    );
    assert!(!optional.skip, "{optional:#?}");

    // Outcomes of a real stageEnabled: the judgment decides.
    let go = "#judgment('Approve') == 'promote'";
    assert!(
        !spel
            .is_optional(&with_stage_enabled(release(), "3", json!(go)), "3")
            .skip
    );
    let stop = "#judgment('Approve') == 'rollback'";
    let optional = spel.is_optional(&with_stage_enabled(release(), "3", json!(stop)), "3");
    assert!(optional.skip);
    assert_eq!(optional.invalid_expression, None);
}

/// OptionalStageSupportSpec "should check optionality of parent stages": a synthetic stage with
/// no stageEnabled of its own takes its parent's answer.
#[test]
fn a_synthetic_stage_follows_its_parent() {
    let mut spel = engine!();
    for (expression, skip) in [
        ("parameters.p1 == 'v1'", false),
        ("parameters.p1 == 'v2'", true),
    ] {
        let mut exec = execution(json!([
            {"id": "01HPARENT00000000000000000", "refId": "1", "name": "Test1", "type": "wait",
             "status": "FAILED_CONTINUE",
             "context": {"stageEnabled": {"type": "expression", "expression": expression}}},
            {"refId": "1>1", "name": "Test2", "type": "wait", "status": "SUCCEEDED",
             "parentStageId": "01HPARENT00000000000000000", "syntheticStageOwner": "STAGE_AFTER"}
        ]));
        exec["trigger"]["parameters"] = json!({"p1": "v1"});
        let optional = spel.is_optional(&exec, "1>1");
        assert_eq!(optional.skip, skip, "{expression}");
        assert_eq!(optional.decided_by, "1");
    }
}

/// orca-core ExpressionPreconditionTaskSpec "should evaluate expression precondition against
/// stage context at execution time", every row: the precondition sees the stage's context and
/// the trigger; an unevaluable expression is stored as its own text and the task is TERMINAL.
#[test]
fn expression_precondition_task_spec_table() {
    let mut spel = engine!();
    let rows = [
        (
            "param1 == 'true'",
            json!("true"),
            "true",
            TaskStatus::Succeeded,
        ),
        (
            "param1 == 'true'",
            json!("false"),
            "false",
            TaskStatus::Terminal,
        ),
        (
            "param1 == 'true'",
            Value::Null,
            "false",
            TaskStatus::Terminal,
        ),
        (
            "param1.xxx() == 'true'",
            Value::Null,
            "param1.xxx() == 'true'",
            TaskStatus::Terminal,
        ),
        (
            "trigger.parameters.triggerKey == 'triggerVal'",
            Value::Null,
            "true",
            TaskStatus::Succeeded,
        ),
    ];
    for (expression, param1, expression_result, status) in rows {
        let mut exec = execution(json!([
            {"refId": "1", "name": "Expression", "type": "checkPreconditions",
             "context": {"param1": param1.clone()}}
        ]));
        exec["trigger"]["parameters"] = json!({"triggerKey": "triggerVal"});
        let result = spel.precondition(expression, &exec, "1");
        assert_eq!(
            result.status, status,
            "{expression} with param1={param1}: {result:#?}"
        );
        assert_eq!(result.expression_result, expression_result, "{expression}");
    }
}

/// ExpressionPreconditionTask: false, true and not evaluable (a missing stage), with the status
/// and the summary the task copies into the stage when evaluation failed.
#[test]
fn precondition_outcomes() {
    let mut spel = engine!();
    let mut exec = release();
    exec["stages"][2]["type"] = json!("checkPreconditions");

    let ok = spel.precondition(
        "#stage('Deploy').status.toString() == 'SUCCEEDED'",
        &exec,
        "3",
    );
    assert_eq!(
        (ok.status, ok.expression_result.as_str()),
        (TaskStatus::Succeeded, "true")
    );
    assert!(!ok.summary_included);

    let no = spel.precondition("#judgment('Approve') == 'rollback'", &exec, "3");
    assert_eq!(
        (no.status, no.expression_result.as_str()),
        (TaskStatus::Terminal, "false")
    );

    let broken = spel.precondition("#stage('Smoke test').status == 'SUCCEEDED'", &exec, "3");
    assert_eq!(broken.status, TaskStatus::Terminal);
    assert_eq!(
        broken.expression_result,
        "#stage('Smoke test').status == 'SUCCEEDED'"
    );
    assert!(broken.summary_included, "{broken:#?}");
    assert_eq!(only_message(&broken.messages).level, Level::Error);

    // "TRUE" passes Boolean.valueOf too.
    let upper = spel.precondition("'TRUE'", &exec, "3");
    assert_eq!(upper.status, TaskStatus::Succeeded);
}

/// kork allowlist/AllowListTypeLocator.java, FilteredMethodResolver.java; ContextParameterProcessorSpec
/// "should not System.exit", "should not allow bad type", "should not allow bad method".
#[test]
fn the_allowlist_refuses_types_and_methods() {
    let mut spel = engine!();
    let exec = release();
    for source in [
        "${T(java.lang.System).exit(1)}",
        "${T(java.lang.Runtime).runtime.exit(1)}",
        "${ new java.net.URL('http://example.com').openConnection() }",
        "${T(java.lang.Boolean).forName('java.net.URI').getSimpleName()}",
        "${ new java.lang.Integer(1).wait(100000) }",
        "${ new java.lang.Integer(1).getClass().getSimpleName() }",
    ] {
        let out = spel.evaluate(source, &exec, "3");
        assert_eq!(out.value, json!(source), "{source} must stay unevaluated");
        let m = only_message(&out.messages);
        assert_eq!(m.level, Level::Error, "{source}");
        assert_eq!(
            m.exception_type.as_deref(),
            Some("SpelEvaluationException"),
            "{source}: {m:#?}"
        );
    }
    // A getter whose return type is not on the list (PipelineExecution.getType: ExecutionType).
    let out = spel.evaluate("${execution.type}", &exec, "3");
    let m = only_message(&out.messages);
    assert!(
        m.description.contains("rejected due to return type"),
        "{m:#?}"
    );
    // Map.get returns Object, so the method resolver hides it; the indexer works.
    let out = spel.evaluate("${trigger['parameters'].get('tag')}", &exec, "3");
    assert_eq!(only_message(&out.messages).level, Level::Error);
    let out = spel.evaluate("${trigger['parameters'].containsKey('tag')}", &exec, "3");
    assert_eq!(out.value, json!(true));
}

/// kork ExpressionsSupport's string and JSON helpers, Orca's readJson; ContextParameterProcessorSpec
/// "base64 encode and decode", "should #process" rows, "can not toJson an execution with
/// expressions in the context".
#[test]
fn helper_functions() {
    let mut spel = engine!();
    let exec = execution(json!([{
        "refId": "1", "name": "Wait1", "type": "wait",
        "context": {"replaceMe": "newValue", "replaceTest": "stack-with-hyphens",
                    "comments": "${#toJson(execution)}"}
    }]));
    for (source, expected) in [
        ("${#toBase64(\"Yo Dawg\")}", json!("WW8gRGF3Zw==")),
        ("${#fromBase64(\"WW8gRGF3Zw==\")}", json!("Yo Dawg")),
        (
            "${ #alphanumerical(replaceTest) }",
            json!("stackwithhyphens"),
        ),
        (
            "${ replaceTest.replaceAll(\"-\",\"\") }",
            json!("stackwithhyphens"),
        ),
        (
            "${#readJson('{ \"newValue\":\"two\" }')[#root.replaceMe]}",
            json!("two"),
        ),
        ("${#toInt('42') + 1}", json!(43)),
        ("${#toBoolean('TRUE')}", json!(true)),
    ] {
        let out = spel.evaluate(source, &exec, "1");
        assert_eq!(out.value, expected, "{source}: {out:#?}");
    }
    let out = spel.evaluate("${#toJson(execution)}", &exec, "1");
    let m = only_message(&out.messages);
    assert!(
        m.description
            .contains("result for toJson cannot contain an expression"),
        "{m:#?}"
    );
}

/// ContextParameterProcessorSpec "Correctly evaluates expressions that refer to outputs of prior
/// stages": StageContext.get falls back to the outputs of the stage's ancestors.
#[test]
fn outputs_of_prior_stages_are_bare_names() {
    let mut spel = engine!();
    let exec = execution(json!([
        {"refId": "1", "name": "Evaluate namespace", "type": "evaluateVariables",
         "status": "SUCCEEDED", "outputs": {"keyA": "valueA", "keyB": "valueB"}},
        {"refId": "2", "name": "Deploy manifest", "type": "deployManifest",
         "requisiteStageRefIds": ["1"], "context": {"account": "k8s"}},
        {"refId": "3", "name": "Unrelated", "type": "wait"}
    ]));
    let out = spel.evaluate("${keyA}/${keyB}", &exec, "2");
    assert_eq!(out.value, json!("valueA/valueB"));
    // Not an ancestor of stage 3.
    let out = spel.evaluate("${keyA}", &exec, "3");
    assert_eq!(out.value, json!("${keyA}"));
    // The stageEnabled of a downstream stage sees them too.
    let optional = spel.is_optional(
        &with_stage_enabled(exec, "2", json!("keyA == 'valueA'")),
        "2",
    );
    assert!(!optional.skip, "{optional:#?}");
}

/// Issue 18: `#stage('X')['context']['k']` of a key X's context lacks returns an ancestor's
/// output (StageContext.get), so a failed stage "reports" what a stage before it said;
/// `containsKey` (Guava ForwardingMap, the stage's own map) tells the two apart, and the
/// Slack text uses it.
#[test]
fn a_stage_context_lends_its_ancestors_outputs_but_contains_only_its_own() {
    let mut spel = engine!();
    let exec = execution(json!([
        {"refId": "1", "name": "Analyse preview", "type": "runJobManifest",
         "status": "SUCCEEDED", "context": {"analysis_message": "Every SLO was met."},
         "outputs": {"analysis_message": "Every SLO was met."}},
        {"refId": "2", "name": "Analyse promoted", "type": "runJobManifest",
         "status": "FAILED_CONTINUE", "requisiteStageRefIds": ["1"], "context": {}}
    ]));
    let out = spel.evaluate_execution(
        "${#stage('Analyse promoted')['context']['analysis_message']}",
        &exec,
    );
    assert_eq!(out.value, json!("Every SLO was met."), "{out:#?}");
    let out = spel.evaluate_execution(
        "${#stage('Analyse promoted')['context'].containsKey('analysis_message')}",
        &exec,
    );
    assert_eq!(out.value, json!(false), "{out:#?}");
    let out = spel.evaluate_execution(
        "${#stage('Analyse preview')['context'].containsKey('analysis_message')}",
        &exec,
    );
    assert_eq!(out.value, json!(true), "{out:#?}");
}

/// StartStageHandler.shouldSkip runs outside AuthenticationAware.withAuth, so no
/// ExecutionContext: StageExpressionFunctionProvider.currentStage throws there ("An execution
/// context is required"), while in a running stage it returns that stage. (Read in orca-queue's
/// StartStageHandler.kt and RunTaskHandler.kt; no upstream spec covers the stageEnabled case.)
#[test]
fn current_stage_is_unknown_to_stage_enabled() {
    let mut spel = engine!();
    let exec = release();
    let out = spel.evaluate("${#currentStage()['name']}", &exec, "3");
    assert_eq!(out.value, json!("Promote"), "{out:#?}");
    let optional = spel.is_optional(
        &with_stage_enabled(
            release(),
            "3",
            json!("#currentStage()['name'] == 'Promote'"),
        ),
        "3",
    );
    assert!(optional.skip);
    assert!(
        only_message(&optional.messages)
            .description
            .contains("An execution context is required for this function"),
        "{optional:#?}"
    );
}

/// Orca runs Spring 6.2, not Spring 4.3: its ReflectivePropertyAccessor reads record-style
/// accessors (Spring 5.3.1+), its FunctionReference reports the helper's own exception, and its
/// parser refuses an expression longer than 10,000 characters (6.1+). The engine models all three.
#[test]
fn spring_6_behaviour_on_spring_4() {
    let mut spel = engine!();
    let exec = release();
    // Approve's ancestors: itself and Deploy.
    let out = spel.evaluate("${#stage('Approve').ancestors().size()}", &exec, "3");
    assert_eq!(out.value, json!(2), "{out:#?}");
    let out = spel.evaluate("${#stage('Approve').ancestors.size()}", &exec, "3");
    assert_eq!(out.value, json!(2), "record-style property: {out:#?}");

    let out = spel.evaluate("${#stage('nowhere')}", &exec, "3");
    let m = only_message(&out.messages);
    assert!(
        m.description.contains(
            "A problem occurred whilst attempting to invoke the function 'stage': 'Unable to locate"
        ),
        "{m:#?}"
    );

    let long = format!("${{'{}' == 'x'}}", "a".repeat(10_000));
    let out = spel.evaluate(&long, &exec, "3");
    let m = only_message(&out.messages);
    assert!(
        m.description.contains("SpEL expression is too long"),
        "{m:#?}"
    );
    let fits = format!("${{'{}' == 'x'}}", "a".repeat(9_980));
    assert_eq!(spel.evaluate(&fits, &exec, "3").value, json!(false));
}
