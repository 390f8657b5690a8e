package kujira.spel;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns evaluation results into plain maps, lists and scalars for the JSON response (and for
 * {@code #toJson}). Model objects become the JSON Orca stores for them; a stage leaves out its
 * execution, as Orca's serialisation does, so the graph has no cycle.
 */
final class Json {
  private Json() {}

  static Object plain(Object value) {
    if (value == null
        || value instanceof String
        || value instanceof Number
        || value instanceof Boolean) {
      return value;
    }
    if (value instanceof Character || value instanceof CharSequence || value instanceof Enum) {
      return value.toString();
    }
    if (value instanceof StageContext) {
      return plain(((StageContext) value).delegate());
    }
    if (value instanceof Map) {
      Map<String, Object> out = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        out.put(String.valueOf(e.getKey()), plain(e.getValue()));
      }
      return out;
    }
    if (value instanceof Collection) {
      List<Object> out = new ArrayList<>();
      for (Object o : (Collection<?>) value) {
        out.add(plain(o));
      }
      return out;
    }
    if (value instanceof Object[]) {
      List<Object> out = new ArrayList<>();
      for (Object o : (Object[]) value) {
        out.add(plain(o));
      }
      return out;
    }
    if (value instanceof Artifact) {
      return ((Artifact) value).toMap();
    }
    if (value instanceof ExpectedArtifact) {
      return ((ExpectedArtifact) value).toMap();
    }
    if (value instanceof Trigger) {
      return plain(((Trigger) value).toMap());
    }
    if (value instanceof NotEvaluableExpression) {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("expression", plain(((NotEvaluableExpression) value).getExpression()));
      return out;
    }
    if (value instanceof AuthenticationDetails) {
      AuthenticationDetails a = (AuthenticationDetails) value;
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("user", a.getUser());
      out.put("allowedAccounts", plain(a.getAllowedAccounts()));
      return out;
    }
    if (value instanceof StageExecution) {
      StageExecution s = (StageExecution) value;
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("id", s.getId());
      out.put("refId", s.getRefId());
      out.put("type", s.getType());
      out.put("name", s.getName());
      out.put("startTime", s.getStartTime());
      out.put("endTime", s.getEndTime());
      out.put("status", s.getStatus().name());
      out.put("context", plain(s.stageContext().delegate()));
      out.put("outputs", plain(s.getOutputs()));
      out.put("tasks", plain(s.getTasks()));
      out.put(
          "syntheticStageOwner",
          s.getSyntheticStageOwner() == null ? null : s.getSyntheticStageOwner().name());
      out.put("parentStageId", s.getParentStageId());
      out.put("requisiteStageRefIds", plain(s.getRequisiteStageRefIds()));
      return out;
    }
    if (value instanceof PipelineExecution) {
      PipelineExecution e = (PipelineExecution) value;
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("type", "PIPELINE");
      out.put("id", e.getId());
      out.put("application", e.getApplication());
      out.put("name", e.getName());
      out.put("status", e.getStatus().name());
      out.put("trigger", plain(e.getTrigger()));
      out.put("stages", plain(e.getStages()));
      return out;
    }
    return value.toString();
  }
}
