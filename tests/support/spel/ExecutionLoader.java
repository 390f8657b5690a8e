package kujira.spel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds the model from the request's execution JSON (the shape is documented in
 * tests/support/spel.rs). A malformed execution is a BadRequest, reported to the test as a
 * harness error rather than as an Orca behaviour.
 */
final class ExecutionLoader {
  static final class BadRequest extends RuntimeException {
    BadRequest(String message) {
      super(message);
    }
  }

  private final ObjectMapper mapper;

  ExecutionLoader(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  @SuppressWarnings("unchecked")
  PipelineExecution load(JsonNode json) {
    if (json == null || !json.isObject()) {
      throw new BadRequest("execution must be a JSON object");
    }
    JsonNode auth = json.get("authentication");
    AuthenticationDetails authentication = null;
    if (auth != null && auth.isObject()) {
      List<String> accounts = new ArrayList<>();
      if (auth.has("allowedAccounts")) {
        for (JsonNode a : auth.get("allowedAccounts")) {
          accounts.add(a.asText());
        }
      }
      authentication = new AuthenticationDetails(text(auth, "user", null), accounts);
    }
    Map<String, Object> trigger =
        json.has("trigger") ? object(json.get("trigger"), "trigger") : new LinkedHashMap<>();
    PipelineExecution execution =
        new PipelineExecution(
            text(json, "id", "01EXECUTION000000000000000"),
            text(json, "application", "app"),
            text(json, "name", null),
            status(json, "status", ExecutionStatus.RUNNING),
            Trigger.fromMap(trigger),
            number(json, "startTime"),
            number(json, "endTime"),
            number(json, "buildTime"),
            authentication,
            text(json, "origin", null),
            text(json, "description", null),
            text(json, "pipelineConfigId", null),
            text(json, "spelEvaluator", null),
            json.has("notifications")
                ? (List<Map<String, Object>>) mapper.convertValue(json.get("notifications"), List.class)
                : new ArrayList<>(),
            json.has("templateVariables")
                ? object(json.get("templateVariables"), "templateVariables")
                : null);
    JsonNode stages = json.get("stages");
    if (stages == null || !stages.isArray()) {
      throw new BadRequest("execution.stages must be an array");
    }
    int index = 0;
    for (JsonNode s : stages) {
      execution.getStages().add(stage(execution, s, index++));
    }
    return execution;
  }

  @SuppressWarnings("unchecked")
  private StageExecution stage(PipelineExecution execution, JsonNode json, int index) {
    if (!json.isObject()) {
      throw new BadRequest("stages[" + index + "] must be an object");
    }
    String refId = text(json, "refId", null);
    String type = text(json, "type", null);
    if (refId == null || type == null) {
      throw new BadRequest("stages[" + index + "] needs a refId and a type");
    }
    // Orca's ids are ULIDs; a default that can never equal a stage name or refId.
    String id = text(json, "id", String.format("01STAGE%019d", index));
    Map<String, Object> context =
        json.has("context") ? object(json.get("context"), "context") : new LinkedHashMap<>();
    StageExecution stage =
        new StageExecution(execution, id, refId, type, text(json, "name", null), context);
    stage.setStatus(status(json, "status", ExecutionStatus.NOT_STARTED));
    if (json.has("outputs")) {
      stage.setOutputs(object(json.get("outputs"), "outputs"));
    }
    stage.setTimes(
        number(json, "startTime"),
        number(json, "endTime"),
        number(json, "startTimeExpiry"),
        number(json, "scheduledTime"));
    if (json.has("requisiteStageRefIds")) {
      stage.setRequisiteStageRefIds(
          (Collection<String>) mapper.convertValue(json.get("requisiteStageRefIds"), List.class));
    }
    stage.setParentStageId(text(json, "parentStageId", null));
    String owner = text(json, "syntheticStageOwner", null);
    if (owner != null) {
      try {
        stage.setSyntheticStageOwner(SyntheticStageOwner.valueOf(owner));
      } catch (IllegalArgumentException e) {
        throw new BadRequest("unknown syntheticStageOwner " + owner);
      }
    }
    return stage;
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> object(JsonNode json, String what) {
    if (!json.isObject()) {
      throw new BadRequest(what + " must be a JSON object");
    }
    return mapper.convertValue(json, LinkedHashMap.class);
  }

  private static String text(JsonNode json, String field, String fallback) {
    JsonNode v = json.get(field);
    return v == null || v.isNull() ? fallback : v.asText();
  }

  private static Long number(JsonNode json, String field) {
    JsonNode v = json.get(field);
    return v == null || v.isNull() ? null : v.asLong();
  }

  private static ExecutionStatus status(JsonNode json, String field, ExecutionStatus fallback) {
    String s = text(json, field, null);
    if (s == null) {
      return fallback;
    }
    try {
      return ExecutionStatus.valueOf(s);
    } catch (IllegalArgumentException e) {
      throw new BadRequest("unknown status " + s);
    }
  }
}
