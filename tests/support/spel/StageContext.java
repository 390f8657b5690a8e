package kujira.spel;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Orca's StageContext (orca-core/.../pipeline/model/StageContext.java): a stage's context map whose
 * {@code get} falls back to the outputs of the stage's ancestors (itself first, then the stages it
 * depends on) when the key is not in the context. Every other Map operation, containsKey included,
 * sees the context alone. So with allowUnknownKeys a bare {@code ${someOutput}} resolves to an
 * upstream stage's output.
 */
public final class StageContext implements Map<String, Object> {
  private final StageExecution stage;
  private final Map<String, Object> delegate;

  StageContext(StageExecution stage, Map<String, Object> delegate) {
    this.stage = stage;
    this.delegate = delegate;
  }

  /** The copy precomputeValues makes: same stage, a new map of the same entries. */
  StageContext(StageContext other) {
    this(other.stage, new HashMap<>(other.delegate));
  }

  StageExecution stage() {
    return stage;
  }

  Map<String, Object> delegate() {
    return delegate;
  }

  @Override
  public Object get(Object key) {
    if (delegate.containsKey(key)) {
      return delegate.get(key);
    }
    for (StageExecution ancestor : stage.ancestors()) {
      if (ancestor.getOutputs().containsKey(key)) {
        return ancestor.getOutputs().get(key);
      }
    }
    return null;
  }

  public Object getCurrentOnly(Object key, Object defaultValue) {
    return delegate.getOrDefault(key, defaultValue);
  }

  @SuppressWarnings("unchecked")
  public <E> List<E> getAll(Object key) {
    List<E> result = new ArrayList<>();
    for (StageExecution ancestor : stage.ancestors()) {
      if (ancestor.getOutputs().containsKey(key)) {
        result.add((E) ancestor.getOutputs().get(key));
      }
    }
    if (delegate.containsKey(key)) {
      result.add(0, (E) delegate.get(key));
    }
    Trigger trigger = stage.getExecution().getTrigger();
    if ("artifacts".equals(key)) {
      result.add((E) trigger.getArtifacts());
    } else if ("resolvedExpectedArtifacts".equals(key)) {
      result.add((E) trigger.getResolvedExpectedArtifacts());
    }
    return result;
  }

  @Override
  public int size() {
    return delegate.size();
  }

  @Override
  public boolean isEmpty() {
    return delegate.isEmpty();
  }

  @Override
  public boolean containsKey(Object key) {
    return delegate.containsKey(key);
  }

  @Override
  public boolean containsValue(Object value) {
    return delegate.containsValue(value);
  }

  @Override
  public Object put(String key, Object value) {
    return delegate.put(key, value);
  }

  @Override
  public Object remove(Object key) {
    return delegate.remove(key);
  }

  @Override
  public void putAll(Map<? extends String, ?> m) {
    delegate.putAll(m);
  }

  @Override
  public void clear() {
    delegate.clear();
  }

  @Override
  public Set<String> keySet() {
    return delegate.keySet();
  }

  @Override
  public Collection<Object> values() {
    return delegate.values();
  }

  @Override
  public Set<Entry<String, Object>> entrySet() {
    return delegate.entrySet();
  }

  @Override
  public boolean equals(Object o) {
    return delegate.equals(o);
  }

  @Override
  public int hashCode() {
    return delegate.hashCode();
  }

  @Override
  public String toString() {
    return delegate.toString();
  }
}
