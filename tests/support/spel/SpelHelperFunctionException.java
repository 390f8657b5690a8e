package kujira.spel;

/** kork-expressions SpelHelperFunctionException: what the helper functions throw. */
public final class SpelHelperFunctionException extends RuntimeException {
  public SpelHelperFunctionException(String message) {
    super(message);
  }

  public SpelHelperFunctionException(String message, Throwable cause) {
    super(message, cause);
  }
}
