package kujira.spel;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether Orca skips a stage because of its stageEnabled, as StartStageHandler.shouldSkip
 * (orca-queue) asks OptionalStageSupport.isOptional (orca-core/.../model/OptionalStageSupport.java):
 *
 * <ol>
 *   <li>shouldSkip clones the stage (new id, no name, no outputs; refId, requisiteStageRefIds,
 *       synthetic owner and parent kept) and merges its context: every ${...} in the context is
 *       evaluated first (ExpressionAware.withMergedContext, allowUnknownKeys on). No
 *       ExecutionContext is set at this point, so #currentStage() cannot work here.
 *   <li>stageEnabled.type other than "expression" (any case): not optional, unless the stage is
 *       synthetic or has a parent, whose answer it takes.
 *   <li>expression missing, null or blank: not optional.
 *   <li>"${" + expression + "}" is processed with allowUnknownKeys on; the result's text must be
 *       "true" or "false" in any case, else InvalidExpression and the stage is skipped.
 * </ol>
 */
final class OptionalStages {
  private OptionalStages() {}

  static Map<String, Object> shouldSkip(StageExecution stage) {
    ExecutionContext.clear();
    PipelineExecution execution = stage.getExecution();
    Map<String, Object> clonedContext = new LinkedHashMap<>(stage.stageContext().delegate());
    // StageExecutionImpl(execution, type, context) takes these three out of the context map.
    clonedContext.remove("refId");
    clonedContext.remove("startTimeExpiry");
    clonedContext.remove("requisiteStageRefIds");
    StageExecution clone =
        new StageExecution(
            execution, "01CLONEDSTAGE0000000000000", stage.getRefId(), stage.getType(), null,
            clonedContext);
    clone.setRequisiteStageRefIds(stage.getRequisiteStageRefIds());
    clone.setSyntheticStageOwner(stage.getSyntheticStageOwner());
    clone.setParentStageId(stage.getParentStageId());
    mergeContext(clone);
    return isOptional(clone, stage.getRefId());
  }

  /** ExpressionAware.withMergedContext: the stage's context with its expressions evaluated. */
  static void mergeContext(StageExecution stage) {
    Evaluator.Processed processed =
        Evaluator.process(
            stage.stageContext().delegate(), Evaluator.buildExecutionContext(stage), true);
    stage.setContext(new StageContext(stage, processed.result));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> isOptional(StageExecution stage, String refId) {
    Map<String, Object> stageEnabled = (Map<String, Object>) stage.getContext().get("stageEnabled");
    Object rawType = stageEnabled == null ? null : stageEnabled.get("type");
    String type = rawType == null ? null : ((String) rawType).toLowerCase();
    if (!"expression".equals(type)) {
      if (stage.getSyntheticStageOwner() != null || stage.getParentStageId() != null) {
        StageExecution parent = null;
        for (StageExecution s : stage.getExecution().getStages()) {
          if (s.getId().equals(stage.getParentStageId())) {
            parent = s;
            break;
          }
        }
        if (parent == null) {
          throw new IllegalStateException(
              String.format("stage %s not found", stage.getParentStageId()));
        }
        return isOptional(parent, parent.getRefId());
      }
      return answer(false, refId, null, null, Collections.emptyList());
    }
    Object expression = stageEnabled.get("expression");
    if (expression == null || (expression instanceof String && ((String) expression).isBlank())) {
      return answer(false, refId, null, null, Collections.emptyList());
    }
    // stage.mapTo("/stageEnabled", ...) binds the value to a String field with Jackson, which
    // accepts scalars and refuses objects and arrays.
    if (expression instanceof Map || expression instanceof List) {
      throw new IllegalArgumentException(
          "stageEnabled.expression is not a string: Orca's mapTo fails and the stage errors");
    }
    String source = String.valueOf(expression);
    Evaluator.Processed processed =
        Evaluator.process(
            Map.of("expression", String.format("${%s}", source)),
            Evaluator.buildExecutionContext(stage),
            true);
    String result = processed.result.get("expression").toString();
    // Upstream's pattern is "\$\{(. *)}" (one character, then spaces), kept as it is.
    Matcher matcher = Pattern.compile("\\$\\{(. *)}").matcher(result);
    if (matcher.matches()) {
      result = matcher.group(1);
    }
    List<Map<String, Object>> messages = processed.summary.toJson();
    if (!List.of("true", "false").contains(result.toLowerCase())) {
      String invalid =
          String.format("Conditional Expression '%s' could not be evaluated", source);
      return answer(true, refId, result, invalid, messages);
    }
    return answer(!Boolean.parseBoolean(result), refId, result, null, messages);
  }

  private static Map<String, Object> answer(
      boolean skip,
      String decidedBy,
      String result,
      String invalidExpression,
      List<Map<String, Object>> messages) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("skip", skip);
    out.put("decidedBy", decidedBy);
    out.put("result", result);
    out.put("invalidExpression", invalidExpression);
    out.put("messages", messages);
    return out;
  }
}
