package kujira.spel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Orca's DefaultTrigger (orca-core/.../pipeline/model/DefaultTrigger.kt) as TriggerDeserializer.kt
 * builds it for a trigger that looks like no specialised kind: type defaults to "none", user to
 * "[anonymous]", parameters/artifacts/notifications to empty, and every key of the JSON is also
 * kept in {@code other}.
 */
public final class Trigger {
  private final String type;
  private final String correlationId;
  private final String user;
  private final Map<String, Object> parameters;
  private final List<Artifact> artifacts;
  private final List<Map<String, Object>> notifications;
  private final boolean rebake;
  private final boolean dryRun;
  private final boolean strategy;
  private final List<ExpectedArtifact> resolvedExpectedArtifacts;
  private final Map<String, Object> other;

  @SuppressWarnings("unchecked")
  static Trigger fromMap(Map<String, Object> json) {
    List<Artifact> artifacts = new ArrayList<>();
    if (json.get("artifacts") instanceof List) {
      for (Object a : (List<Object>) json.get("artifacts")) {
        artifacts.add(Artifact.fromMap((Map<String, Object>) a));
      }
    }
    List<ExpectedArtifact> resolved = new ArrayList<>();
    if (json.get("resolvedExpectedArtifacts") instanceof List) {
      for (Object a : (List<Object>) json.get("resolvedExpectedArtifacts")) {
        resolved.add(ExpectedArtifact.fromMap((Map<String, Object>) a));
      }
    }
    Object type = json.get("type");
    Object user = json.get("user");
    Object parameters = json.get("parameters");
    Object notifications = json.get("notifications");
    return new Trigger(
        type instanceof String ? (String) type : "none",
        (String) json.get("correlationId"),
        user instanceof String ? (String) user : "[anonymous]",
        parameters instanceof Map
            ? (Map<String, Object>) parameters
            : new LinkedHashMap<String, Object>(),
        artifacts,
        notifications instanceof List
            ? (List<Map<String, Object>>) notifications
            : new ArrayList<Map<String, Object>>(),
        Boolean.TRUE.equals(json.get("rebake")),
        Boolean.TRUE.equals(json.get("dryRun")),
        Boolean.TRUE.equals(json.get("strategy")),
        resolved,
        new LinkedHashMap<>(json));
  }

  private Trigger(
      String type,
      String correlationId,
      String user,
      Map<String, Object> parameters,
      List<Artifact> artifacts,
      List<Map<String, Object>> notifications,
      boolean rebake,
      boolean dryRun,
      boolean strategy,
      List<ExpectedArtifact> resolvedExpectedArtifacts,
      Map<String, Object> other) {
    this.type = type;
    this.correlationId = correlationId;
    this.user = user;
    this.parameters = parameters;
    this.artifacts = artifacts;
    this.notifications = notifications;
    this.rebake = rebake;
    this.dryRun = dryRun;
    this.strategy = strategy;
    this.resolvedExpectedArtifacts = resolvedExpectedArtifacts;
    this.other = other;
  }

  public String getType() {
    return type;
  }

  public String getCorrelationId() {
    return correlationId;
  }

  public String getUser() {
    return user;
  }

  public Map<String, Object> getParameters() {
    return parameters;
  }

  public List<Artifact> getArtifacts() {
    return artifacts;
  }

  public List<Map<String, Object>> getNotifications() {
    return notifications;
  }

  public boolean isRebake() {
    return rebake;
  }

  public boolean isDryRun() {
    return dryRun;
  }

  public boolean isStrategy() {
    return strategy;
  }

  public List<ExpectedArtifact> getResolvedExpectedArtifacts() {
    return resolvedExpectedArtifacts;
  }

  public Map<String, Object> getOther() {
    return other;
  }

  /**
   * The root object's {@code trigger}: ContextParameterProcessor.buildExecutionContext converts the
   * Trigger to a Map with Orca's ObjectMapper. TriggerMixin makes {@code other} a @JsonAnyGetter,
   * written after the declared properties, so the raw JSON keys win over the typed ones.
   */
  Map<String, Object> toMap() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("type", type);
    out.put("correlationId", correlationId);
    out.put("user", user);
    out.put("parameters", parameters);
    List<Object> artifactMaps = new ArrayList<>();
    for (Artifact a : artifacts) {
      artifactMaps.add(a.toMap());
    }
    out.put("artifacts", artifactMaps);
    out.put("notifications", notifications);
    out.put("rebake", rebake);
    out.put("dryRun", dryRun);
    out.put("strategy", strategy);
    List<Object> resolved = new ArrayList<>();
    for (ExpectedArtifact a : resolvedExpectedArtifacts) {
      resolved.add(a.toMap());
    }
    out.put("resolvedExpectedArtifacts", resolved);
    out.putAll(other);
    return out;
  }
}
