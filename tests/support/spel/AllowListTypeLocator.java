package kujira.spel;

import org.springframework.expression.EvaluationException;
import org.springframework.expression.TypeLocator;
import org.springframework.expression.spel.SpelEvaluationException;
import org.springframework.expression.spel.SpelMessage;
import org.springframework.expression.spel.support.StandardTypeLocator;

/**
 * T(...) and constructor references: the standard lookup (java.lang is imported), then refused
 * unless the class is instantiable. Rule of kork-expressions allowlist/AllowListTypeLocator.java,
 * which raises the same SpelMessage.
 */
final class AllowListTypeLocator implements TypeLocator {
  private final StandardTypeLocator standard = new StandardTypeLocator();

  @Override
  public Class<?> findType(String typeName) throws EvaluationException {
    Class<?> type = standard.findType(typeName);
    if (TypeAllowlist.instantiable(type)) {
      return type;
    }
    throw new SpelEvaluationException(SpelMessage.EXCEPTION_DURING_PROPERTY_READ, typeName);
  }
}
