package kujira.spel;

import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.expression.EvaluationContext;
import org.springframework.expression.EvaluationException;
import org.springframework.expression.Expression;
import org.springframework.expression.ParseException;
import org.springframework.expression.ParserContext;
import org.springframework.expression.common.CompositeStringExpression;
import org.springframework.expression.common.TemplateParserContext;
import org.springframework.expression.spel.SpelEvaluationException;
import org.springframework.expression.spel.SpelMessage;
import org.springframework.expression.spel.standard.SpelExpression;
import org.springframework.expression.spel.standard.SpelExpressionParser;
import org.springframework.expression.spel.support.StandardEvaluationContext;

/**
 * Orca's expression pipeline on top of Spring SpEL, one class per upstream role:
 *
 * <ul>
 *   <li>ContextParameterProcessor.java: {@link #process}, {@link #buildExecutionContext},
 *       precomputeValues;
 *   <li>PipelineExpressionEvaluator.java: template parser context "${" "}", the rewrite of
 *       execution-aware functions, ExecutionStatus results turned into strings;
 *   <li>kork ExpressionsSupport.java: the evaluation context (type locator, method resolver,
 *       property accessors, functions);
 *   <li>kork ExpressionTransform.java: {@link #transform} and friends.
 * </ul>
 */
final class Evaluator {
  static final String SUMMARY = "expressionEvaluationSummary";

  private static final ParserContext TEMPLATE = new TemplateParserContext("${", "}");
  private static final List<String> EXECUTION_AWARE_ALIASES = List.of("deployedServerGroups");

  /**
   * Spring 6.1+ refuses an expression longer than SpelParserConfiguration's default 10,000
   * characters (InternalSpelExpressionParser.checkExpressionLength; Orca leaves
   * expression.maxExpressionLength at -1, meaning that default). Spring 4.3 has no limit, so the
   * check is made here, on each ${...} part as Spring does.
   */
  static final int MAX_EXPRESSION_LENGTH = 10_000;

  private static final SpelExpressionParser PARSER =
      new SpelExpressionParser() {
        @Override
        protected SpelExpression doParseExpression(String expressionString, ParserContext context)
            throws ParseException {
          if (expressionString.length() > MAX_EXPRESSION_LENGTH) {
            throw new ExpressionTooLongException();
          }
          return super.doParseExpression(expressionString, context);
        }
      };

  /** Spring 6's SpelMessage.MAX_EXPRESSION_LENGTH_EXCEEDED, which Spring 4.3 lacks. */
  static final class ExpressionTooLongException extends EvaluationException {
    ExpressionTooLongException() {
      super(
          "EL1079E: SpEL expression is too long, exceeding the threshold of '10,000' characters");
    }
  }

  private Evaluator() {}

  // ---- ContextParameterProcessor

  /** A processed map and the summary of its evaluation. */
  static final class Processed {
    final Map<String, Object> result;
    final Summary summary;

    Processed(Map<String, Object> result, Summary summary) {
      this.result = result;
      this.summary = summary;
    }
  }

  /**
   * ContextParameterProcessor.process: transform every string of {@code source} against the root
   * built by precomputeValues; when something failed, the summary goes under
   * "expressionEvaluationSummary" in the result.
   */
  static Processed process(
      Map<String, Object> source, Map<String, Object> context, boolean allowUnknownKeys) {
    Summary summary = new Summary();
    if (source.isEmpty()) {
      return new Processed(new HashMap<>(), summary);
    }
    EvaluationContext evaluationContext =
        buildEvaluationContext(precomputeValues(context), allowUnknownKeys);
    Map<String, Object> result = transformMap(source, evaluationContext, summary);
    if (summary.failureCount() > 0) {
      result.put(SUMMARY, summary.toJson());
    }
    return new Processed(result, summary);
  }

  /**
   * ContextParameterProcessor.buildExecutionContext(stage): the stage's context (its own entries,
   * copied) plus {@code execution} (the object) and {@code trigger} (the trigger as a Map), kept
   * as a StageContext of the stage so unknown keys still fall back to upstream outputs.
   * (templateVariables, added for SpEL v4 executions, is not modelled.)
   */
  static StageContext buildExecutionContext(StageExecution stage) {
    Map<String, Object> augmented = new HashMap<>(stage.stageContext().delegate());
    augmented.put("execution", stage.getExecution());
    augmented.put("trigger", stage.getExecution().getTrigger().toMap());
    return new StageContext(stage, augmented);
  }

  /**
   * ContextParameterProcessor.precomputeValues: a copy, then {@code parameters} = the trigger's
   * parameters when there are any (else an existing key is kept, else an empty map), and {@code
   * scmInfo} (only the one-element list case is modelled: it becomes that element; otherwise
   * null, as upstream does for triggers without build info).
   */
  @SuppressWarnings("unchecked")
  static Map<String, Object> precomputeValues(Map<String, Object> context) {
    Map<String, Object> copy =
        context instanceof StageContext
            ? new StageContext((StageContext) context)
            : new HashMap<>(context);
    Object rawTrigger = copy.get("trigger");
    Map<String, Object> parameters = null;
    if (rawTrigger instanceof Map) {
      parameters = Trigger.fromMap((Map<String, Object>) rawTrigger).getParameters();
    } else if (rawTrigger instanceof Trigger) {
      parameters = ((Trigger) rawTrigger).getParameters();
    }
    if (parameters != null && !parameters.isEmpty()) {
      copy.put("parameters", parameters);
    } else if (!copy.containsKey("parameters")) {
      copy.put("parameters", Collections.emptyMap());
    }
    Object scm = copy.get("scmInfo");
    if (scm instanceof List && ((List<Object>) scm).size() == 1) {
      copy.put("scmInfo", ((List<Object>) scm).get(0));
    } else if (scm instanceof List && ((List<Object>) scm).size() >= 2) {
      throw new UnsupportedOperationException(
          "scmInfo with several entries is not modelled (Orca picks a non-master branch)");
    } else {
      copy.put("scmInfo", null);
    }
    return copy;
  }

  // ---- ExpressionsSupport.buildEvaluationContext

  static StandardEvaluationContext buildEvaluationContext(Object root, boolean allowUnknownKeys) {
    StandardEvaluationContext context = new StandardEvaluationContext(root);
    context.setTypeLocator(new AllowListTypeLocator());
    // kork's ArtifactUriToReferenceConverter only differs from the standard converter when an
    // artifact store is configured, and kork's EntityPropertyAccessor reads nothing without one
    // (ArtifactStore.getInstance() == null): the default converter and no entity accessor.
    context.setMethodResolvers(Collections.singletonList(new FilteredMethodResolver()));
    context.setPropertyAccessors(
        List.of(new MapPropertyAccessor(allowUnknownKeys), new FilteredPropertyAccessor()));
    Functions.registerAll(context);
    return context;
  }

  // ---- PipelineExpressionEvaluator.includeExecutionParameter

  /**
   * {@code #fn(} becomes {@code #fn( #root.execution, } for each execution-aware function,
   * unless the text already holds that form; the bare alias deployedServerGroups becomes a call.
   * Textual, as upstream: {@code #currentStage()} becomes {@code #currentStage( #root.execution,
   * )}, which SpEL accepts (a trailing comma before ')' adds no argument, in 4.3 and 6.2 alike).
   */
  static String includeExecutionParameter(String e) {
    String expression = e;
    for (String fn : Functions.executionAware()) {
      if (expression.contains("#" + fn) && !expression.contains("#" + fn + "( #root.execution, ")) {
        expression = expression.replaceAll("#" + fn + "\\(", "#" + fn + "( #root.execution, ");
      }
    }
    for (String a : EXECUTION_AWARE_ALIASES) {
      if (expression.contains(a) && !expression.contains("#" + a + "( #root.execution, ")) {
        expression = expression.replaceAll(a, "#" + a + "( #root.execution)");
      }
    }
    return expression;
  }

  // ---- ExpressionTransform

  @SuppressWarnings("unchecked")
  static Map<String, Object> transformMap(
      Map<String, Object> source, EvaluationContext context, Summary summary) {
    Map<String, Object> result = new HashMap<>();
    Map<String, Object> copy = Collections.unmodifiableMap(source);
    for (Map.Entry<String, Object> entry : source.entrySet()) {
      String key = transform(entry.getKey(), context, summary, copy).toString();
      Object value = entry.getValue();
      if (value instanceof Map) {
        result.put(key, transformMap((Map<String, Object>) value, context, summary));
      } else if (value instanceof List) {
        result.put(key, transformList((List<Object>) value, context, summary, copy));
      } else {
        result.put(key, transform(value, context, summary, copy));
      }
    }
    return result;
  }

  @SuppressWarnings("unchecked")
  static List<Object> transformList(
      List<Object> source,
      EvaluationContext context,
      Summary summary,
      Map<String, Object> additionalContext) {
    List<Object> result = new ArrayList<>();
    for (Object o : source) {
      if (o instanceof Map) {
        result.add(transformMap((Map<String, Object>) o, context, summary));
      } else if (o instanceof List) {
        result.add(transformList((List<Object>) o, context, summary, additionalContext));
      } else {
        result.add(transform(o, context, summary, additionalContext));
      }
    }
    return result;
  }

  /**
   * One value. A string containing "${" is parsed as a template and evaluated: a composite
   * (text around or between ${...}) is built part by part as strings, a null part staying as
   * "${part}" (INFO); a single ${...} yields its value with its own type. An exception leaves the
   * source string and records ERROR; a null result leaves the source string and records INFO.
   * ExecutionStatus results become strings.
   */
  static Object transform(
      Object source,
      EvaluationContext context,
      Summary summary,
      Map<String, Object> additionalContext) {
    if (!(source instanceof String) || !((String) source).contains(TEMPLATE.getExpressionPrefix())) {
      return source;
    }
    String text = (String) source;
    boolean hasUnresolvedExpressions = false;
    String preprocessed = includeExecutionParameter(text);
    Object result = null;
    String escaped = null;
    Exception exception = null;
    try {
      Expression exp = PARSER.parseExpression(preprocessed, TEMPLATE);
      escaped = escapeExpression(exp);
      if (exp instanceof CompositeStringExpression) {
        StringBuilder sb = new StringBuilder();
        for (Expression part : ((CompositeStringExpression) exp).getExpressions()) {
          String value = part.getValue(context, String.class);
          if (value == null) {
            value = String.format("${%s}", part.getExpressionString());
            hasUnresolvedExpressions = true;
          }
          sb.append(value);
        }
        result = sb.toString();
      } else {
        result = exp.getValue(context);
      }
    } catch (Exception e) {
      exception = asSpring62(e);
    }

    Set<String> keys = keysHolding(source, additionalContext);
    Object fields = !keys.isEmpty() ? keys : preprocessed;
    String errorDescription = String.format("Failed to evaluate %s ", fields);
    if (escaped == null) {
      escaped = escapeSimpleExpression(text);
    }
    if (exception != null) {
      Throwable original = deepestCause(exception);
      if (original == null
          || original.getMessage() == null
          || original.getMessage().contains(String.valueOf(exception.getMessage()))) {
        errorDescription += exception.getMessage();
      } else {
        errorDescription += original.getMessage() + " - " + exception.getMessage();
      }
      summary.add(
          escaped,
          Summary.Level.ERROR,
          errorDescription.replaceAll("\\$", ""),
          original == null ? null : upstreamClassName(original));
      result = source;
    } else if (result == null || hasUnresolvedExpressions) {
      summary.add(
          escaped,
          Summary.Level.INFO,
          String.format("%s: %s not found", errorDescription, escaped),
          null);
      if (result == null) {
        result = source;
      }
    }
    summary.appendAttempted(escaped);
    summary.incrementTotalEvaluated();

    if (result instanceof ExecutionStatus) {
      result = result.toString();
    }
    return result;
  }

  /**
   * Spring 6 reports an exception thrown by a registered function with the function's own
   * exception as cause and its message in the text (FunctionReference unwraps the
   * InvocationTargetException); Spring 4.3 wraps the InvocationTargetException and says 'null'.
   * The summary's description and exception type come from these, so rebuild Spring 6's form.
   */
  private static Exception asSpring62(Exception e) {
    if (e instanceof SpelEvaluationException) {
      SpelEvaluationException see = (SpelEvaluationException) e;
      if (see.getMessageCode() == SpelMessage.EXCEPTION_DURING_FUNCTION_CALL
          && see.getCause() instanceof InvocationTargetException
          && see.getCause().getCause() != null) {
        Throwable cause = see.getCause().getCause();
        Object[] inserts = see.getInserts();
        Object name = inserts != null && inserts.length > 0 ? inserts[0] : "?";
        return new SpelEvaluationException(
            see.getPosition(),
            cause,
            SpelMessage.EXCEPTION_DURING_FUNCTION_CALL,
            name,
            cause.getMessage());
      }
    }
    return e;
  }

  /** The exception type Orca would record: Spring 6 raises the length limit as a SpEL error. */
  private static String upstreamClassName(Throwable t) {
    if (t instanceof ExpressionTooLongException) {
      return SpelEvaluationException.class.getSimpleName();
    }
    return t.getClass().getSimpleName();
  }

  private static Throwable deepestCause(Throwable e) {
    Throwable t = e;
    while (t != null && t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t;
  }

  /** ExpressionTransform.escapeSimpleExpression: the inside of a whole "${...}", else no '$'. */
  static String escapeSimpleExpression(String expression) {
    Matcher matcher = Pattern.compile("\\$\\{(.*)}").matcher(expression);
    if (matcher.matches()) {
      return matcher.group(1).trim();
    }
    return expression.replaceAll("\\$", "");
  }

  private static String escapeExpression(Expression expression) {
    if (expression instanceof CompositeStringExpression) {
      StringBuilder sb = new StringBuilder();
      for (Expression e : ((CompositeStringExpression) expression).getExpressions()) {
        sb.append(e.getExpressionString());
      }
      return sb.toString();
    }
    return expression.getExpressionString();
  }

  /** ExpressionTransform.getKeys: the keys whose (map-flattened) value holds the source. */
  private static Set<String> keysHolding(Object value, Map<String, Object> map) {
    Set<String> keys = new HashSet<>();
    if (map == null) {
      return keys;
    }
    for (Map.Entry<String, Object> e : map.entrySet()) {
      List<Object> flat = new ArrayList<>();
      flatten(e.getValue(), flat);
      if (flat.contains(value)) {
        keys.add(e.getKey());
      }
    }
    return keys;
  }

  private static void flatten(Object o, List<Object> out) {
    if (o instanceof Map) {
      for (Map.Entry<?, ?> e : ((Map<?, ?>) o).entrySet()) {
        flatten(e.getKey(), out);
        flatten(e.getValue(), out);
      }
    } else {
      out.add(o);
    }
  }
}
