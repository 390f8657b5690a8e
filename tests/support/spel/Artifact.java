package kujira.spel;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * kork's Artifact (kork-artifacts/.../model/Artifact.java): the same getters, so that {@code
 * #triggerResolvedArtifactByType('docker/image').reference} and {@code ['reference']} resolve
 * through the property accessors as upstream. Unknown JSON keys go to metadata, as the upstream
 * builder's @JsonAnySetter does.
 */
public final class Artifact {
  private final String type;
  private final boolean customKind;
  private final String name;
  private final String version;
  private final String location;
  private final String reference;
  private final Map<String, Object> metadata;
  private final String artifactAccount;
  private final String provenance;
  private final String uuid;

  @SuppressWarnings("unchecked")
  static Artifact fromMap(Map<String, Object> json) {
    Map<String, Object> metadata = new HashMap<>();
    Object declared = json.get("metadata");
    if (declared instanceof Map) {
      metadata.putAll((Map<String, Object>) declared);
    }
    for (Map.Entry<String, Object> e : json.entrySet()) {
      switch (e.getKey()) {
        case "type":
        case "customKind":
        case "name":
        case "version":
        case "location":
        case "reference":
        case "metadata":
        case "artifactAccount":
        case "provenance":
        case "uuid":
        case "kind":
          break;
        default:
          metadata.put(e.getKey(), e.getValue());
      }
    }
    return new Artifact(
        (String) json.get("type"),
        Boolean.TRUE.equals(json.get("customKind")),
        (String) json.get("name"),
        (String) json.get("version"),
        (String) json.get("location"),
        (String) json.get("reference"),
        metadata,
        (String) json.get("artifactAccount"),
        (String) json.get("provenance"),
        (String) json.get("uuid"));
  }

  private Artifact(
      String type,
      boolean customKind,
      String name,
      String version,
      String location,
      String reference,
      Map<String, Object> metadata,
      String artifactAccount,
      String provenance,
      String uuid) {
    this.type = type;
    this.customKind = customKind;
    this.name = name;
    this.version = version;
    this.location = location;
    this.reference = reference;
    this.metadata = metadata;
    this.artifactAccount = artifactAccount;
    this.provenance = provenance;
    this.uuid = uuid;
  }

  public String getType() {
    return type;
  }

  public boolean isCustomKind() {
    return customKind;
  }

  public String getName() {
    return name;
  }

  public String getVersion() {
    return version;
  }

  public String getLocation() {
    return location;
  }

  public String getReference() {
    return reference;
  }

  public Map<String, Object> getMetadata() {
    return metadata;
  }

  /** Declared as returning Object upstream too, so the method resolver refuses it in SpEL. */
  public Object getMetadata(String key) {
    return metadata.get(key);
  }

  public String getArtifactAccount() {
    return artifactAccount;
  }

  public String getProvenance() {
    return provenance;
  }

  public String getUuid() {
    return uuid;
  }

  /** Jackson's view of the upstream class (@JsonInclude NON_NULL). */
  Map<String, Object> toMap() {
    Map<String, Object> out = new LinkedHashMap<>();
    putIfNotNull(out, "type", type);
    out.put("customKind", customKind);
    putIfNotNull(out, "name", name);
    putIfNotNull(out, "version", version);
    putIfNotNull(out, "location", location);
    putIfNotNull(out, "reference", reference);
    out.put("metadata", new LinkedHashMap<>(metadata));
    putIfNotNull(out, "artifactAccount", artifactAccount);
    putIfNotNull(out, "provenance", provenance);
    putIfNotNull(out, "uuid", uuid);
    return out;
  }

  private static void putIfNotNull(Map<String, Object> out, String key, Object value) {
    if (value != null) {
      out.put(key, value);
    }
  }

  @Override
  public String toString() {
    return "Artifact(type="
        + type
        + ", customKind="
        + customKind
        + ", name="
        + name
        + ", version="
        + version
        + ", location="
        + location
        + ", reference="
        + reference
        + ", metadata="
        + metadata
        + ", artifactAccount="
        + artifactAccount
        + ", provenance="
        + provenance
        + ", uuid="
        + uuid
        + ")";
  }
}
