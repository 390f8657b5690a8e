package kujira.spel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * kujira-gen's model of Orca's expression evaluation, served over stdin/stdout: one JSON request
 * per line in, one JSON response per line out, so a test run starts one JVM. Requests:
 *
 * <pre>
 * {"op":"evaluate","source":"...","execution":{...},"stage":"refId","allowUnknownKeys":true}
 * {"op":"isOptional","execution":{...},"stage":"refId"}
 * {"op":"precondition","expression":"...","execution":{...},"stage":"refId"}
 * {"op":"evaluateExecution","source":"...","execution":{...}}
 * </pre>
 *
 * Responses: {"ok":true,"result":{...}} or {"ok":false,"error":"..."} when the request is
 * malformed or Orca itself would throw (not an expression failure).
 */
public final class SpelServer {
  private SpelServer() {}

  public static void main(String[] args) throws Exception {
    ObjectMapper mapper = new ObjectMapper();
    ExecutionLoader loader = new ExecutionLoader(mapper);
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    // Anything else printing to stdout would corrupt the protocol.
    System.setOut(System.err);
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) {
        continue;
      }
      Map<String, Object> response = new LinkedHashMap<>();
      try {
        response.put("result", handle(mapper.readTree(line), loader));
        response.put("ok", true);
      } catch (Exception e) {
        response.put("ok", false);
        response.put("error", describe(e));
      } finally {
        ExecutionContext.clear();
      }
      out.println(mapper.writeValueAsString(response));
      out.flush();
    }
  }

  private static Object handle(JsonNode request, ExecutionLoader loader) {
    String op = text(request, "op");
    PipelineExecution execution = loader.load(request.get("execution"));
    if ("evaluateExecution".equals(op)) {
      return evaluateExecution(execution, text(request, "source"));
    }
    StageExecution stage = stageByRefId(execution, text(request, "stage"));
    switch (op) {
      case "evaluate":
        JsonNode unknownKeys = request.get("allowUnknownKeys");
        return evaluate(
            stage, text(request, "source"), unknownKeys == null || unknownKeys.asBoolean(true));
      case "isOptional":
        return OptionalStages.shouldSkip(stage);
      case "precondition":
        return ExpressionPrecondition.run(stage, text(request, "expression"));
      default:
        throw new ExecutionLoader.BadRequest("unknown op " + op);
    }
  }

  /**
   * One value of the stage's context processed as Orca processes a stage's context while it runs
   * (ContextParameterProcessor.process with allowUnknownKeys on, the ExecutionContext set to the
   * stage), without a map key to name in the messages. Orca turns allowUnknownKeys off when it
   * processes a whole pipeline at start (OperationsController, DependentPipelineStarter).
   */
  private static Object evaluate(StageExecution stage, String source, boolean allowUnknownKeys) {
    PipelineExecution execution = stage.getExecution();
    String user =
        execution.getAuthentication() == null ? null : execution.getAuthentication().getUser();
    ExecutionContext.set(stage.getId(), user);
    return transformed(Evaluator.buildExecutionContext(stage), source, allowUnknownKeys);
  }

  /** {@code source} processed over {@code root}, with the value, its Java type and the summary. */
  private static Object transformed(
      Map<String, Object> root, String source, boolean allowUnknownKeys) {
    Summary summary = new Summary();
    Object value =
        Evaluator.transform(
            source,
            Evaluator.buildEvaluationContext(Evaluator.precomputeValues(root), allowUnknownKeys),
            summary,
            Map.of());
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("value", Json.plain(value));
    out.put("javaType", value.getClass().getSimpleName());
    out.put("messages", summary.toJson());
    return out;
  }

  /**
   * One string processed with the execution as context, as Orca processes a pipeline's
   * notifications when the execution starts and ends (EchoNotifyingExecutionListener
   * processSpelInNotifications: ContextParameterProcessor.process(notification,
   * buildExecutionContext(execution), true)): the root has {@code execution}, {@code trigger}
   * and {@code parameters}; no stage is current.
   */
  private static Object evaluateExecution(PipelineExecution execution, String source) {
    Map<String, Object> root = new java.util.HashMap<>();
    root.put("execution", execution);
    root.put("trigger", execution.getTrigger().toMap());
    return transformed(root, source, true);
  }

  private static StageExecution stageByRefId(PipelineExecution execution, String refId) {
    for (StageExecution s : execution.getStages()) {
      if (refId.equals(s.getRefId())) {
        return s;
      }
    }
    throw new ExecutionLoader.BadRequest("no stage with refId " + refId + " in the execution");
  }

  private static String text(JsonNode request, String field) {
    JsonNode v = request.get(field);
    if (v == null || !v.isTextual()) {
      throw new ExecutionLoader.BadRequest("request field " + field + " must be a string");
    }
    return v.asText();
  }

  private static String describe(Exception e) {
    if (e instanceof ExecutionLoader.BadRequest) {
      return "bad request: " + e.getMessage();
    }
    StringWriter trace = new StringWriter();
    e.printStackTrace(new PrintWriter(trace));
    List<String> lines = List.of(trace.toString().split("\n"));
    return "Orca would throw: " + String.join("\n", lines.subList(0, Math.min(8, lines.size())));
  }
}
