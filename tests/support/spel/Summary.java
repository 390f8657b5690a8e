package kujira.spel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * kork-expressions ExpressionEvaluationSummary.java: per escaped expression, a set of results
 * (level, description, exception type; equal ones are kept once), plus counts of failures and of
 * evaluated expressions.
 */
final class Summary {
  enum Level {
    ERROR,
    INFO
  }

  static final class Result {
    final String expression;
    final Level level;
    final String description;
    final String exceptionType;

    Result(String expression, Level level, String description, String exceptionType) {
      this.expression = expression;
      this.level = level;
      this.description = description;
      this.exceptionType = exceptionType;
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof Result)) {
        return false;
      }
      Result r = (Result) o;
      return level == r.level
          && Objects.equals(description, r.description)
          && Objects.equals(exceptionType, r.exceptionType);
    }

    @Override
    public int hashCode() {
      return Objects.hash(level, description, exceptionType);
    }

    Map<String, Object> toJson() {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("expression", expression);
      out.put("level", level.name());
      out.put("description", description);
      out.put("exceptionType", exceptionType);
      return out;
    }
  }

  private final Map<String, Set<Result>> results = new LinkedHashMap<>();
  private final Set<String> attempts = new LinkedHashSet<>();
  private int failureCount;
  private int totalEvaluated;

  void add(String escapedExpression, Level level, String description, String exceptionType) {
    results
        .computeIfAbsent(escapedExpression, k -> new LinkedHashSet<>())
        .add(new Result(escapedExpression, level, description, exceptionType));
    failureCount++;
  }

  void appendAttempted(String expression) {
    attempts.add(expression);
  }

  void incrementTotalEvaluated() {
    totalEvaluated++;
  }

  int failureCount() {
    return failureCount;
  }

  int totalEvaluated() {
    return totalEvaluated;
  }

  List<Map<String, Object>> toJson() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Set<Result> set : results.values()) {
      for (Result r : set) {
        out.add(r.toJson());
      }
    }
    return out;
  }
}
