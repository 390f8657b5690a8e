package kujira.spel;

import java.util.Map;
import org.springframework.expression.AccessException;
import org.springframework.expression.EvaluationContext;
import org.springframework.expression.PropertyAccessor;
import org.springframework.expression.TypedValue;

/**
 * {@code map.key} on a Map. Spring's MapAccessor (spring-context, not installed here) reads a key
 * only when the map contains it; kork's allowlist/MapPropertyAccessor.java adds allowUnknownKeys:
 * when on, every key is readable and a missing one reads as null. Orca turns it on for stage
 * context processing, stageEnabled and expression preconditions. When off, a missing key falls
 * through to FilteredPropertyAccessor, which throws.
 */
final class MapPropertyAccessor implements PropertyAccessor {
  private final boolean allowUnknownKeys;

  MapPropertyAccessor(boolean allowUnknownKeys) {
    this.allowUnknownKeys = allowUnknownKeys;
  }

  @Override
  public Class<?>[] getSpecificTargetClasses() {
    return new Class<?>[] {Map.class};
  }

  @Override
  public boolean canRead(EvaluationContext context, Object target, String name) {
    if (allowUnknownKeys) {
      return true;
    }
    return target instanceof Map && ((Map<?, ?>) target).containsKey(name);
  }

  @Override
  public TypedValue read(EvaluationContext context, Object target, String name)
      throws AccessException {
    Map<?, ?> map = (Map<?, ?>) target;
    // get() first: a StageContext answers from upstream outputs for keys it does not contain.
    Object value = map.get(name);
    if (value == null && !map.containsKey(name)) {
      if (allowUnknownKeys) {
        return TypedValue.NULL;
      }
      throw new AccessException("Map does not contain a value for key '" + name + "'");
    }
    return new TypedValue(value);
  }

  @Override
  public boolean canWrite(EvaluationContext context, Object target, String name) {
    return target instanceof Map;
  }

  @Override
  @SuppressWarnings("unchecked")
  public void write(EvaluationContext context, Object target, String name, Object newValue) {
    ((Map<Object, Object>) target).put(name, newValue);
  }
}
