package kujira.spel;

import java.util.EnumSet;
import java.util.Set;

/**
 * Orca's stage and execution status (orca/orca-api/.../pipeline/models/ExecutionStatus.java): the
 * same constants with the same complete/halt flags. It is a CharSequence upstream so that
 * {@code #stage('s1').status == 'SUCCEEDED'} compares as text in SpEL; so is this one.
 */
public enum ExecutionStatus implements CharSequence {
  NOT_STARTED(false, false),
  RUNNING(false, false),
  PAUSED(false, false),
  SUSPENDED(false, false),
  SUCCEEDED(true, false),
  FAILED_CONTINUE(true, false),
  TERMINAL(true, true),
  CANCELED(true, true),
  REDIRECT(false, false),
  STOPPED(true, true),
  SKIPPED(true, false),
  BUFFERED(false, false);

  private static final Set<ExecutionStatus> SUCCESSFUL = EnumSet.of(SUCCEEDED, STOPPED, SKIPPED);
  private static final Set<ExecutionStatus> FAILURE =
      EnumSet.of(TERMINAL, STOPPED, FAILED_CONTINUE);

  private final boolean complete;
  private final boolean halt;

  ExecutionStatus(boolean complete, boolean halt) {
    this.complete = complete;
    this.halt = halt;
  }

  public final boolean isComplete() {
    return complete;
  }

  public final boolean isSkipped() {
    return this == SKIPPED;
  }

  public final boolean isHalt() {
    return halt;
  }

  public boolean isSuccessful() {
    return SUCCESSFUL.contains(this);
  }

  public boolean isFailure() {
    return FAILURE.contains(this);
  }

  @Override
  public int length() {
    return toString().length();
  }

  @Override
  public char charAt(int index) {
    return toString().charAt(index);
  }

  @Override
  public CharSequence subSequence(int start, int end) {
    return toString().subSequence(start, end);
  }
}
