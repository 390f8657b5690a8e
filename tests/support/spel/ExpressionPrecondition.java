package kujira.spel;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One "expression" precondition of a checkPreconditions stage:
 *
 * <ol>
 *   <li>CheckPreconditionsStage.java plans a synthetic child stage (STAGE_BEFORE, refId
 *       "parentRefId<1", type checkPreconditions) whose context is the parent's context without
 *       "preconditions", plus the precondition (type, context) and preconditionType; its context
 *       map gains cluster/regions/credentials/zones from the parent (null when absent).
 *   <li>RunTaskHandler runs the task with the ExecutionContext set to that stage and the stage's
 *       context merged (its ${...} evaluated).
 *   <li>ExpressionPreconditionTask.java: process "${" + context.expression + "}" (allowUnknownKeys
 *       on), strip a whole "${...}" from the result's text, SUCCEEDED when that text is "true" in
 *       any case (Boolean.valueOf) else TERMINAL; the text is stored as context.expressionResult,
 *       and the evaluation summary is copied to the stage unless the text starts with "$".
 * </ol>
 */
final class ExpressionPrecondition {
  private ExpressionPrecondition() {}

  @SuppressWarnings("unchecked")
  static Map<String, Object> run(StageExecution parent, String expression) {
    PipelineExecution execution = parent.getExecution();
    Map<String, Object> base = new HashMap<>(parent.stageContext().delegate());
    base.remove("preconditions");
    Map<String, Object> preconditionContext = new HashMap<>();
    preconditionContext.put("expression", expression);
    preconditionContext.put("cluster", base.get("cluster"));
    preconditionContext.put("regions", base.get("regions"));
    preconditionContext.put("credentials", base.get("credentials"));
    preconditionContext.put("zones", base.get("zoned"));
    Map<String, Object> context = new HashMap<>(base);
    context.put("type", "checkPreconditions");
    context.put("preconditionType", "expression");
    context.put("context", preconditionContext);

    StageExecution stage =
        new StageExecution(
            execution,
            parent.getId() + "-precondition-1",
            parent.getRefId() + "<1",
            "checkPreconditions",
            "Check precondition (expression)",
            context);
    stage.setParentStageId(parent.getId());
    stage.setSyntheticStageOwner(SyntheticStageOwner.STAGE_BEFORE);
    stage.setStatus(ExecutionStatus.RUNNING);
    execution.getStages().add(stage);

    String user =
        execution.getAuthentication() == null ? null : execution.getAuthentication().getUser();
    ExecutionContext.set(stage.getId(), user);
    try {
      OptionalStages.mergeContext(stage);
      Object merged = stage.getContext().get("context");
      Object bound = merged instanceof Map ? ((Map<String, Object>) merged).get("expression") : null;
      if (bound instanceof Map || bound instanceof List) {
        throw new IllegalArgumentException(
            "context.expression is not a string: Orca's mapTo fails and the task errors");
      }
      String text = merged instanceof Map && !((Map<String, Object>) merged).containsKey("expression")
          ? "false" // StageData.expression's default
          : String.valueOf(bound);
      Evaluator.Processed processed =
          Evaluator.process(
              Map.of("expression", "${" + text + '}'),
              Evaluator.buildExecutionContext(stage),
              true);
      String result = processed.result.get("expression").toString();
      Matcher matcher = Pattern.compile("\\$\\{(.*)}").matcher(result);
      if (matcher.matches()) {
        result = matcher.group(1);
      }
      boolean summaryIncluded =
          !result.trim().startsWith("$") && processed.result.containsKey(Evaluator.SUMMARY);
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("status", Boolean.parseBoolean(result) ? "SUCCEEDED" : "TERMINAL");
      out.put("expressionResult", result);
      out.put("summaryIncluded", summaryIncluded);
      out.put("messages", processed.summary.toJson());
      return out;
    } finally {
      ExecutionContext.clear();
      execution.getStages().remove(stage);
    }
  }
}
