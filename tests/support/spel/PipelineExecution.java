package kujira.spel;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code execution} of the root object: the getters and SpEL-visible methods of Orca's
 * PipelineExecutionImpl (orca-core/.../pipeline/model/PipelineExecutionImpl.java).
 */
public final class PipelineExecution {
  private final String id;
  private final String application;
  private final String name;
  private final ExecutionStatus status;
  private final Trigger trigger;
  private final List<StageExecution> stages = new ArrayList<>();
  private final Long startTime;
  private final Long endTime;
  private final Long buildTime;
  private final AuthenticationDetails authentication;
  private final String origin;
  private final String description;
  private final String pipelineConfigId;
  private final String spelEvaluator;
  private final List<Map<String, Object>> notifications;
  private final Map<String, Object> templateVariables;

  PipelineExecution(
      String id,
      String application,
      String name,
      ExecutionStatus status,
      Trigger trigger,
      Long startTime,
      Long endTime,
      Long buildTime,
      AuthenticationDetails authentication,
      String origin,
      String description,
      String pipelineConfigId,
      String spelEvaluator,
      List<Map<String, Object>> notifications,
      Map<String, Object> templateVariables) {
    this.id = id;
    this.application = application;
    this.name = name;
    this.status = status;
    this.trigger = trigger;
    this.startTime = startTime;
    this.endTime = endTime;
    this.buildTime = buildTime;
    this.authentication = authentication;
    this.origin = origin;
    this.description = description;
    this.pipelineConfigId = pipelineConfigId;
    this.spelEvaluator = spelEvaluator;
    this.notifications = notifications;
    this.templateVariables = templateVariables;
  }

  /** Upstream returns the ExecutionType enum, which SpEL's allowlist refuses. */
  public ExecutionType getType() {
    return ExecutionType.PIPELINE;
  }

  public String getId() {
    return id;
  }

  public String getApplication() {
    return application;
  }

  public String getName() {
    return name;
  }

  public ExecutionStatus getStatus() {
    return status;
  }

  public Trigger getTrigger() {
    return trigger;
  }

  public List<StageExecution> getStages() {
    return stages;
  }

  public Long getStartTime() {
    return startTime;
  }

  public Long getEndTime() {
    return endTime;
  }

  public Long getBuildTime() {
    return buildTime;
  }

  public AuthenticationDetails getAuthentication() {
    return authentication;
  }

  public String getOrigin() {
    return origin;
  }

  public String getDescription() {
    return description;
  }

  public String getPipelineConfigId() {
    return pipelineConfigId;
  }

  public String getSpelEvaluator() {
    return spelEvaluator;
  }

  public List<Map<String, Object>> getNotifications() {
    return notifications;
  }

  public Map<String, Object> getTemplateVariables() {
    return templateVariables;
  }

  public boolean isCanceled() {
    return false;
  }

  public boolean isLimitConcurrent() {
    return false;
  }

  public boolean isKeepWaitingPipelines() {
    return false;
  }

  /**
   * PipelineExecutionImpl.getContext: the outputs of the top-level stages in topological order,
   * later keys winning, except that two collections under one key are concatenated without
   * duplicates.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  public Map<String, Object> getContext() {
    Map<String, Object> out = new HashMap<>();
    for (StageExecution stage : topologicalSort()) {
      for (Map.Entry<String, Object> e : stage.getOutputs().entrySet()) {
        if (e.getValue() == null) {
          // Collectors.toMap upstream refuses null values.
          throw new NullPointerException(
              "null output '" + e.getKey() + "' of stage " + stage.getId());
        }
        Object previous = out.get(e.getKey());
        if (previous instanceof Collection && e.getValue() instanceof Collection) {
          Set<Object> merged = new LinkedHashSet<>((Collection) previous);
          merged.addAll((Collection) e.getValue());
          out.put(e.getKey(), new ArrayList<>(merged));
        } else {
          out.put(e.getKey(), e.getValue());
        }
      }
    }
    return out;
  }

  private List<StageExecution> topologicalSort() {
    List<StageExecution> unsorted = new ArrayList<>();
    for (StageExecution s : stages) {
      if (s.getParentStageId() == null) {
        unsorted.add(s);
      }
    }
    List<StageExecution> sorted = new ArrayList<>();
    Set<String> refIds = new HashSet<>();
    while (!unsorted.isEmpty()) {
      List<StageExecution> sortable = new ArrayList<>();
      for (StageExecution s : unsorted) {
        if (refIds.containsAll(s.getRequisiteStageRefIds())) {
          sortable.add(s);
        }
      }
      if (sortable.isEmpty()) {
        throw new IllegalStateException("Invalid stage relationships found");
      }
      for (StageExecution s : sortable) {
        unsorted.remove(s);
        refIds.add(s.getRefId());
        sorted.add(s);
      }
    }
    return sorted;
  }

  public StageExecution namedStage(String type) {
    for (StageExecution s : stages) {
      if (type.equals(s.getType())) {
        return s;
      }
    }
    return null;
  }

  public StageExecution stageById(String stageId) {
    for (StageExecution s : stages) {
      if (s.getId().equals(stageId)) {
        return s;
      }
    }
    throw new IllegalArgumentException("No stage with id " + stageId);
  }

  public StageExecution stageByRef(String refId) {
    for (StageExecution s : stages) {
      if (refId.equals(s.getRefId())) {
        return s;
      }
    }
    throw new IllegalArgumentException("No stage with refId " + refId);
  }
}
