package kujira.spel;

/**
 * What {@code #doNotEval(x)} returns (kork-expressions NotEvaluableExpression.java): {@code
 * #toJson} serialises the wrapped value without refusing the {@code ${} it contains.
 */
public final class NotEvaluableExpression {
  private final Object expression;

  public NotEvaluableExpression(Object expression) {
    this.expression = expression;
  }

  public Object getExpression() {
    return expression;
  }
}
