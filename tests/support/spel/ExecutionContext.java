package kujira.spel;

/**
 * Orca's ExecutionContext thread-local (orca-core/.../ExecutionContext.java), reduced to what the
 * helpers read: the running stage's id and the authenticated user. Orca sets it in
 * AuthenticationAware.withAuth around planning and task execution (StartStageHandler,
 * RunTaskHandler) but not around StartStageHandler.shouldSkip, where stageEnabled is evaluated.
 */
final class ExecutionContext {
  private static String stageId;
  private static String user;
  private static boolean set;

  private ExecutionContext() {}

  static void set(String currentStageId, String authenticatedUser) {
    stageId = currentStageId;
    user = authenticatedUser;
    set = true;
  }

  static void clear() {
    stageId = null;
    user = null;
    set = false;
  }

  static boolean isSet() {
    return set;
  }

  static String stageId() {
    return stageId;
  }

  static String user() {
    return user;
  }
}
