package kujira.spel;

import java.util.LinkedHashMap;
import java.util.Map;

/** kork's ExpectedArtifact (kork-artifacts/.../model/ExpectedArtifact.java), its getters. */
public final class ExpectedArtifact {
  private final Artifact matchArtifact;
  private final boolean usePriorArtifact;
  private final boolean useDefaultArtifact;
  private final Artifact defaultArtifact;
  private final String id;
  private final Artifact boundArtifact;

  @SuppressWarnings("unchecked")
  static ExpectedArtifact fromMap(Map<String, Object> json) {
    return new ExpectedArtifact(
        artifact(json.get("matchArtifact")),
        Boolean.TRUE.equals(json.get("usePriorArtifact")),
        Boolean.TRUE.equals(json.get("useDefaultArtifact")),
        artifact(json.get("defaultArtifact")),
        (String) json.get("id"),
        artifact(json.get("boundArtifact")));
  }

  @SuppressWarnings("unchecked")
  private static Artifact artifact(Object json) {
    return json instanceof Map ? Artifact.fromMap((Map<String, Object>) json) : null;
  }

  private ExpectedArtifact(
      Artifact matchArtifact,
      boolean usePriorArtifact,
      boolean useDefaultArtifact,
      Artifact defaultArtifact,
      String id,
      Artifact boundArtifact) {
    this.matchArtifact = matchArtifact;
    this.usePriorArtifact = usePriorArtifact;
    this.useDefaultArtifact = useDefaultArtifact;
    this.defaultArtifact = defaultArtifact;
    this.id = id;
    this.boundArtifact = boundArtifact;
  }

  public Artifact getMatchArtifact() {
    return matchArtifact;
  }

  public boolean isUsePriorArtifact() {
    return usePriorArtifact;
  }

  public boolean isUseDefaultArtifact() {
    return useDefaultArtifact;
  }

  public Artifact getDefaultArtifact() {
    return defaultArtifact;
  }

  public String getId() {
    return id;
  }

  public Artifact getBoundArtifact() {
    return boundArtifact;
  }

  Map<String, Object> toMap() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("matchArtifact", matchArtifact == null ? null : matchArtifact.toMap());
    out.put("usePriorArtifact", usePriorArtifact);
    out.put("useDefaultArtifact", useDefaultArtifact);
    out.put("defaultArtifact", defaultArtifact == null ? null : defaultArtifact.toMap());
    out.put("id", id);
    out.put("boundArtifact", boundArtifact == null ? null : boundArtifact.toMap());
    return out;
  }
}
