package kujira.spel;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import org.springframework.core.MethodParameter;
import org.springframework.core.convert.TypeDescriptor;
import org.springframework.expression.AccessException;
import org.springframework.expression.EvaluationContext;
import org.springframework.expression.TypedValue;
import org.springframework.expression.spel.support.ReflectivePropertyAccessor;
import org.springframework.util.ReflectionUtils;

/**
 * Property access on objects (and, with allowUnknownKeys off, the fallback for a key missing from
 * a Map). Rule of kork-expressions allowlist/FilteredPropertyAccessor.java: a property without a
 * getter is an IllegalArgumentException (not a quiet "cannot read"), and a getter or field whose
 * type is not returnable is refused.
 *
 * <p>Orca runs Spring Framework 6.2, whose ReflectivePropertyAccessor also accepts a record-style
 * accessor (a public no-argument method named exactly like the property, since Spring 5.3.1) and
 * drops getters returning void. Spring 4.3, which runs this model, has neither, so both are
 * added here: {@code #stage('x').ancestors} reads ancestors() as Orca does. (Spring 4.3 cannot
 * describe such a method as a property, "Not a getter method", so those reads are served here.)
 */
final class FilteredPropertyAccessor extends ReflectivePropertyAccessor {
  @Override
  public boolean canRead(EvaluationContext context, Object target, String name)
      throws AccessException {
    if (recordStyleRead(target, name) != null) {
      return true;
    }
    return super.canRead(context, target, name);
  }

  @Override
  public TypedValue read(EvaluationContext context, Object target, String name)
      throws AccessException {
    Method accessor = recordStyleRead(target, name);
    if (accessor == null) {
      return super.read(context, target, name);
    }
    try {
      ReflectionUtils.makeAccessible(accessor);
      Object value = accessor.invoke(target);
      return new TypedValue(value, new TypeDescriptor(new MethodParameter(accessor, -1)).narrow(value));
    } catch (IllegalAccessException | InvocationTargetException e) {
      throw new AccessException("Unable to access property '" + name + "' through getter method", e);
    }
  }

  /** An allowed record-style accessor that Spring 4.3 would not find, else null. */
  private Method recordStyleRead(Object target, String name) {
    if (target == null || target instanceof Class || target.getClass().isArray()) {
      return null;
    }
    Class<?> type = target.getClass();
    if (super.findGetterForProperty(name, type, false) != null) {
      return null;
    }
    Method m = recordStyleAccessor(name, type, false);
    if (m == null || m.getReturnType() == void.class || !TypeAllowlist.returnable(m.getReturnType())) {
      return null;
    }
    return m;
  }

  @Override
  protected Method findGetterForProperty(String propertyName, Class<?> clazz, boolean mustBeStatic) {
    Method getter = super.findGetterForProperty(propertyName, clazz, mustBeStatic);
    if (getter == null) {
      getter = recordStyleAccessor(propertyName, clazz, mustBeStatic);
    }
    if (getter != null && getter.getReturnType() == void.class) {
      getter = null;
    }
    if (getter == null) {
      throw new IllegalArgumentException(
          String.format("requested getter %s not found on type %s", propertyName, clazz));
    }
    if (!TypeAllowlist.returnable(getter.getReturnType())) {
      throw new IllegalArgumentException(
          String.format(
              "found getter for requested %s but rejected due to return type %s",
              propertyName, getter.getReturnType()));
    }
    return getter;
  }

  private static Method recordStyleAccessor(String name, Class<?> clazz, boolean mustBeStatic) {
    Method bridge = null;
    for (Method m : clazz.getMethods()) {
      if (m.getName().equals(name)
          && m.getParameterCount() == 0
          && (!mustBeStatic || Modifier.isStatic(m.getModifiers()))) {
        if (!m.isBridge()) {
          return m;
        }
        bridge = m;
      }
    }
    return bridge;
  }

  @Override
  protected Field findField(String name, Class<?> clazz, boolean mustBeStatic) {
    Field field = super.findField(name, clazz, mustBeStatic);
    if (field == null) {
      throw new IllegalArgumentException(
          String.format("requested field %s not found on type %s", name, clazz));
    }
    if (!TypeAllowlist.returnable(field.getType())) {
      throw new IllegalArgumentException(
          String.format("found field %s but rejected due to unsupported type %s", name, clazz));
    }
    return field;
  }
}
