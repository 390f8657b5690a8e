package kujira.spel;

/** Orca's ExecutionType (orca-api); like upstream, not an allowed SpEL return type. */
public enum ExecutionType {
  PIPELINE,
  ORCHESTRATION
}
