package kujira.spel;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.springframework.expression.spel.support.StandardEvaluationContext;

/**
 * The {@code #helper(...)} functions Orca registers, with upstream semantics:
 *
 * <ul>
 *   <li>orca-core/.../expressions/functions/StageExpressionFunctionProvider.java: currentStage,
 *       currentUser, stageByRefId, stage, stageExists, judgment, judgement;
 *   <li>.../functions/ArtifactExpressionFunctionProvider.java: triggerResolvedArtifact,
 *       triggerResolvedArtifactByType, resolvedArtifacts;
 *   <li>kork ExpressionsSupport.java: JsonExpressionFunctionProvider (toJson),
 *       StringExpressionFunctionProvider (toInt, toFloat, toBoolean, toBase64, fromBase64,
 *       alphanumerical), FlowExpressionFunctionProvider (doNotEval, on by default);
 *   <li>.../functions/UrlExpressionFunctionProvider.java: readJson.
 * </ul>
 *
 * Registered but not modelled (they throw, saying so): fromUrl, jsonFromUrl, yamlFromUrl,
 * propertiesFromUrl, readYaml, readAllYaml, deployedServerGroups, manifestLabelValue,
 * fetchReference. A function whose first parameter is the execution is "execution aware":
 * PipelineExpressionEvaluator rewrites {@code #fn(} into {@code #fn( #root.execution, }.
 */
public final class Functions {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private static final Map<String, Method> FUNCTIONS = new LinkedHashMap<>();
  private static final Set<String> EXECUTION_AWARE = new TreeSet<>();

  static {
    try {
      define("currentStage", PipelineExecution.class);
      define("currentUser");
      define("stageByRefId", PipelineExecution.class, String.class);
      define("stage", PipelineExecution.class, String.class);
      define("stageExists", PipelineExecution.class, String.class);
      define("judgment", PipelineExecution.class, String.class);
      define("judgement", PipelineExecution.class, String.class);
      define("triggerResolvedArtifact", PipelineExecution.class, String.class);
      define("triggerResolvedArtifactByType", PipelineExecution.class, String.class);
      define("resolvedArtifacts", PipelineExecution.class);
      define("toJson", Object.class);
      define("toInt", String.class);
      define("toFloat", String.class);
      define("toBoolean", String.class);
      define("toBase64", String.class);
      define("fromBase64", String.class);
      define("alphanumerical", String.class);
      define("doNotEval", Object.class);
      define("readJson", String.class);
      define("fromUrl", String.class);
      define("jsonFromUrl", String.class);
      define("yamlFromUrl", String.class);
      define("propertiesFromUrl", String.class);
      define("readYaml", String.class);
      define("readAllYaml", String.class);
      define("fetchReference", String.class);
      define("deployedServerGroups", PipelineExecution.class, String[].class);
      define(
          "manifestLabelValue",
          PipelineExecution.class,
          String.class,
          String.class,
          String.class);
    } catch (NoSuchMethodException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static void define(String name, Class<?>... parameters) throws NoSuchMethodException {
    FUNCTIONS.put(name, Functions.class.getDeclaredMethod(name, parameters));
    if (parameters.length > 0 && parameters[0] == PipelineExecution.class) {
      EXECUTION_AWARE.add(name);
    }
  }

  private Functions() {}

  static void registerAll(StandardEvaluationContext context) {
    for (Map.Entry<String, Method> f : FUNCTIONS.entrySet()) {
      context.registerFunction(f.getKey(), f.getValue());
    }
  }

  static Set<String> executionAware() {
    return EXECUTION_AWARE;
  }

  // ---- StageExpressionFunctionProvider

  public static StageExecution currentStage(PipelineExecution execution) {
    if (!ExecutionContext.isSet()) {
      throw new SpelHelperFunctionException(
          "An execution context is required for this function");
    }
    String currentStageId = ExecutionContext.stageId();
    for (StageExecution s : execution.getStages()) {
      if (s.getId().equalsIgnoreCase(currentStageId)) {
        return s;
      }
    }
    throw new SpelHelperFunctionException("No stage found with id '" + currentStageId + "'");
  }

  public static String currentUser() {
    if (!ExecutionContext.isSet() || ExecutionContext.user() == null) {
      return "anonymous";
    }
    return ExecutionContext.user();
  }

  public static StageExecution stageByRefId(PipelineExecution execution, String refId) {
    if (refId == null) {
      throw new SpelHelperFunctionException(
          String.format(
              "Stage refId must not be null in #stageByRefId in execution %s",
              execution.getId()));
    }
    for (StageExecution s : execution.getStages()) {
      if (refId.equals(s.getRefId())) {
        return s;
      }
    }
    throw new SpelHelperFunctionException(
        String.format(
            "Unable to locate [%1$s] using #stageByRefId(%1$s) in execution %2$s",
            refId, execution.getId()));
  }

  /** By name or id, the first match in execution order. */
  public static StageExecution stage(PipelineExecution execution, String id) {
    for (StageExecution s : execution.getStages()) {
      if (id != null && (id.equals(s.getName()) || id.equals(s.getId()))) {
        return s;
      }
    }
    throw new SpelHelperFunctionException(
        String.format(
            "Unable to locate [%s] using #stage(%s) in execution %s", id, id, execution.getId()));
  }

  public static boolean stageExists(PipelineExecution execution, String id) {
    for (StageExecution s : execution.getStages()) {
      if (id != null && (id.equals(s.getName()) || id.equals(s.getId()))) {
        return true;
      }
    }
    return false;
  }

  /**
   * The first stage named {@code id} (by name only) of type manualJudgment whose context has a
   * non-null judgmentInput; otherwise a SpelHelperFunctionException.
   */
  public static String judgment(PipelineExecution execution, String id) {
    for (StageExecution s : execution.getStages()) {
      if (id != null
          && id.equals(s.getName())
          && s.getContext() != null
          && s.getType().equals("manualJudgment")
          && s.getContext().get("judgmentInput") != null) {
        return (String) s.getContext().get("judgmentInput");
      }
    }
    throw new SpelHelperFunctionException(
        String.format(
            "Unable to locate manual Judgment stage [%s] using #judgment(%s) in execution %s. "
                + "Stage doesn't exist or doesn't contain judgmentInput in its context ",
            id, id, execution.getId()));
  }

  public static String judgement(PipelineExecution execution, String id) {
    return judgment(execution, id);
  }

  // ---- ArtifactExpressionFunctionProvider

  public static Artifact triggerResolvedArtifact(PipelineExecution execution, String name) {
    for (ExpectedArtifact e : execution.getTrigger().getResolvedExpectedArtifacts()) {
      if (e.getBoundArtifact() != null && name.equals(e.getBoundArtifact().getName())) {
        return e.getBoundArtifact();
      }
    }
    throw missingArtifact(name, execution);
  }

  public static Artifact triggerResolvedArtifactByType(PipelineExecution execution, String type) {
    for (ExpectedArtifact e : execution.getTrigger().getResolvedExpectedArtifacts()) {
      if (e.getBoundArtifact() != null && type.equals(e.getBoundArtifact().getType())) {
        return e.getBoundArtifact();
      }
    }
    throw missingArtifact(type, execution);
  }

  private static SpelHelperFunctionException missingArtifact(
      String nameOrType, PipelineExecution execution) {
    return new SpelHelperFunctionException(
        String.format(
            "Unable to locate resolved artifact %s in trigger execution %s.",
            nameOrType, execution.getId()));
  }

  /** Private upstream too; Spring makes registered functions accessible. */
  @SuppressWarnings("unchecked")
  private static List<Object> resolvedArtifacts(PipelineExecution execution) {
    List<Object> out = new ArrayList<>();
    for (StageExecution s : execution.getStages()) {
      out.addAll(
          (List<Object>) s.getOutputs().getOrDefault("artifacts", Collections.emptyList()));
    }
    return out;
  }

  // ---- kork JsonExpressionFunctionProvider, StringExpressionFunctionProvider, FlowExpression...

  public static String toJson(Object o) {
    try {
      if (o instanceof NotEvaluableExpression) {
        return MAPPER.writeValueAsString(Json.plain(((NotEvaluableExpression) o).getExpression()));
      }
      String converted = MAPPER.writeValueAsString(Json.plain(o));
      if (converted != null && converted.contains("${")) {
        throw new SpelHelperFunctionException("result for toJson cannot contain an expression");
      }
      return converted;
    } catch (Exception e) {
      throw new SpelHelperFunctionException(String.format("#toJson(%s) failed", o), e);
    }
  }

  public static Integer toInt(String str) {
    return Integer.valueOf(str);
  }

  public static Float toFloat(String str) {
    return Float.valueOf(str);
  }

  public static Boolean toBoolean(String str) {
    return Boolean.valueOf(str);
  }

  public static String toBase64(String text) {
    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }

  public static String fromBase64(String text) {
    return new String(Base64.getDecoder().decode(text), StandardCharsets.UTF_8);
  }

  public static String alphanumerical(String str) {
    return str.replaceAll("[^A-Za-z0-9]", "");
  }

  public static NotEvaluableExpression doNotEval(Object o) {
    return new NotEvaluableExpression(o);
  }

  // ---- UrlExpressionFunctionProvider (the parts that need no network)

  public static Object readJson(String text) {
    try {
      if (text.startsWith("[")) {
        return MAPPER.readValue(text, List.class);
      }
      return MAPPER.readValue(text, Map.class);
    } catch (Exception e) {
      throw new SpelHelperFunctionException(String.format("#readJson(%s) failed", text), e);
    }
  }

  // ---- registered upstream, not modelled here

  private static SpelHelperFunctionException notModelled(String name) {
    return new SpelHelperFunctionException(
        "#" + name + " is registered in Orca but not modelled by kujira-gen's SpEL test engine");
  }

  public static String fromUrl(String url) {
    throw notModelled("fromUrl");
  }

  public static Object jsonFromUrl(String url) {
    throw notModelled("jsonFromUrl");
  }

  public static Object yamlFromUrl(String url) {
    throw notModelled("yamlFromUrl");
  }

  public static Map<String, Object> propertiesFromUrl(String url) {
    throw notModelled("propertiesFromUrl");
  }

  public static Object readYaml(String text) {
    throw notModelled("readYaml");
  }

  public static List<Object> readAllYaml(String text) {
    throw notModelled("readAllYaml");
  }

  public static String fetchReference(String ref) {
    throw notModelled("fetchReference");
  }

  public static List<Map<String, Object>> deployedServerGroups(
      PipelineExecution execution, String... ids) {
    throw notModelled("deployedServerGroups");
  }

  public static String manifestLabelValue(
      PipelineExecution execution, String stageName, String kind, String labelKey) {
    throw notModelled("manifestLabelValue");
  }
}
