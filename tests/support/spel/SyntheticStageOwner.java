package kujira.spel;

/**
 * Orca's SyntheticStageOwner (orca-api). Not an allowed SpEL return type upstream, so
 * {@code #stage('x').syntheticStageOwner} is refused there and here.
 */
public enum SyntheticStageOwner {
  STAGE_BEFORE,
  STAGE_AFTER
}
