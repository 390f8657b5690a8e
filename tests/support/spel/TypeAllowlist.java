package kujira.spel;

import java.net.URLEncoder;
import java.text.SimpleDateFormat;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.temporal.ChronoUnit;
import java.time.temporal.TemporalAdjusters;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Which classes SpEL may name with T(...)/new, and which a getter or method may return.
 *
 * <p>Instantiable: kork-expressions allowlist/InstantiationTypeRestrictor.java. Returnable
 * (allowlist/ReturnTypeRestrictor.java): primitives (and void), arrays of an allowed type, the
 * instantiable types, the collection interfaces and classes of ExpressionsSupport's constructor,
 * Orca's extra types of PipelineExpressionEvaluator (here: Artifact, PipelineExecution,
 * StageExecution, Trigger, ExecutionStatus, AuthenticationDetails; Orca's BuildInfo, SourceControl,
 * Jenkins/Concourse and PausedDetails types are not modelled) and NotEvaluableExpression, which
 * ExpressionsSupport adds because doNotEvalSpel is enabled by default (ExpressionProperties).
 * The match is on the exact declared class: a subtype of an allowed type is refused.
 */
final class TypeAllowlist {
  private static final Set<Class<?>> INSTANTIABLE =
      Set.of(
          String.class,
          Date.class,
          Integer.class,
          Long.class,
          Double.class,
          Byte.class,
          SimpleDateFormat.class,
          Math.class,
          Random.class,
          UUID.class,
          Boolean.class,
          LocalDate.class,
          LocalDateTime.class,
          DayOfWeek.class,
          Instant.class,
          ChronoUnit.class,
          URLEncoder.class,
          TemporalAdjusters.class);

  private static final Set<Class<?>> RETURNABLE = new HashSet<>();

  static {
    RETURNABLE.addAll(
        List.of(
            Collection.class,
            Map.class,
            SortedMap.class,
            List.class,
            Set.class,
            SortedSet.class,
            ArrayList.class,
            LinkedList.class,
            HashSet.class,
            LinkedHashSet.class,
            HashMap.class,
            LinkedHashMap.class,
            TreeMap.class,
            TreeSet.class));
    RETURNABLE.addAll(
        List.of(
            Artifact.class,
            PipelineExecution.class,
            StageExecution.class,
            Trigger.class,
            ExecutionStatus.class,
            AuthenticationDetails.class,
            NotEvaluableExpression.class));
  }

  private TypeAllowlist() {}

  static boolean instantiable(Class<?> type) {
    return INSTANTIABLE.contains(type);
  }

  static boolean returnable(Class<?> type) {
    Class<?> t = type.isArray() ? type.getComponentType() : type;
    return t.isPrimitive() || INSTANTIABLE.contains(t) || RETURNABLE.contains(t);
  }
}
