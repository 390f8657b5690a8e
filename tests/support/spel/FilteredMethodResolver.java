package kujira.spel;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.springframework.expression.spel.support.ReflectiveMethodResolver;

/**
 * Method calls in SpEL: the reflective resolver, minus Object's methods other than equals,
 * hashCode and toString, minus Boolean.getBoolean, Integer.getInteger, Long.getLong and every
 * method of java.lang.Class, minus every method whose declared return type is not returnable.
 * Rule of kork-expressions allowlist/FilteredMethodResolver.java.
 */
final class FilteredMethodResolver extends ReflectiveMethodResolver {
  private static final Set<Method> REJECTED = rejected();

  private static Set<Method> rejected() {
    try {
      Set<Method> allowedObjectMethods =
          Set.of(
              Object.class.getMethod("equals", Object.class),
              Object.class.getMethod("hashCode"),
              Object.class.getMethod("toString"));
      Set<Method> out = new HashSet<>();
      for (Method m : Object.class.getMethods()) {
        if (!allowedObjectMethods.contains(m)) {
          out.add(m);
        }
      }
      for (Method m : Boolean.class.getMethods()) {
        if (m.getName().equals("getBoolean")) {
          out.add(m);
        }
      }
      for (Method m : Integer.class.getMethods()) {
        if (m.getName().equals("getInteger")) {
          out.add(m);
        }
      }
      for (Method m : Long.class.getMethods()) {
        if (m.getName().equals("getLong")) {
          out.add(m);
        }
      }
      for (Method m : Class.class.getMethods()) {
        out.add(m);
      }
      return out;
    } catch (NoSuchMethodException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  protected Method[] getMethods(Class<?> type) {
    List<Method> out = new ArrayList<>();
    for (Method m : super.getMethods(type)) {
      if (!REJECTED.contains(m) && TypeAllowlist.returnable(m.getReturnType())) {
        out.add(m);
      }
    }
    return out.toArray(new Method[0]);
  }
}
