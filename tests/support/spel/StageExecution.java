package kujira.spel;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The stage object that {@code #stage(...)} returns: the getters and SpEL-visible methods of
 * Orca's StageExecutionImpl (orca-core/.../pipeline/model/StageExecutionImpl.java), with the
 * ancestor walk of StageExecutionInternals.getAncestorsImpl.
 */
public final class StageExecution {
  private final String id;
  private final String refId;
  private final String type;
  private final String name;
  private final PipelineExecution execution;
  private Long startTime;
  private Long endTime;
  private Long startTimeExpiry;
  private Long scheduledTime;
  private ExecutionStatus status = ExecutionStatus.NOT_STARTED;
  private StageContext context;
  private Map<String, Object> outputs = new LinkedHashMap<>();
  private final List<Map<String, Object>> tasks = new ArrayList<>();
  private SyntheticStageOwner syntheticStageOwner;
  private String parentStageId;
  private Collection<String> requisiteStageRefIds = Collections.emptySet();

  StageExecution(
      PipelineExecution execution,
      String id,
      String refId,
      String type,
      String name,
      Map<String, Object> context) {
    this.execution = execution;
    this.id = id;
    this.refId = refId;
    this.type = type;
    this.name = name;
    setContext(context);
  }

  /** StageExecutionImpl.setContext: a plain map is wrapped in a StageContext for this stage. */
  void setContext(Map<String, Object> context) {
    this.context =
        context instanceof StageContext
            ? (StageContext) context
            : new StageContext(this, context);
  }

  void setOutputs(Map<String, Object> outputs) {
    this.outputs = outputs;
  }

  void setStatus(ExecutionStatus status) {
    this.status = status;
  }

  void setTimes(Long startTime, Long endTime, Long startTimeExpiry, Long scheduledTime) {
    this.startTime = startTime;
    this.endTime = endTime;
    this.startTimeExpiry = startTimeExpiry;
    this.scheduledTime = scheduledTime;
  }

  void setSyntheticStageOwner(SyntheticStageOwner owner) {
    this.syntheticStageOwner = owner;
  }

  void setParentStageId(String parentStageId) {
    this.parentStageId = parentStageId;
  }

  void setRequisiteStageRefIds(Collection<String> refIds) {
    this.requisiteStageRefIds = refIds;
  }

  public String getId() {
    return id;
  }

  public String getRefId() {
    return refId;
  }

  public String getType() {
    return type;
  }

  public String getName() {
    return name;
  }

  public PipelineExecution getExecution() {
    return execution;
  }

  public Long getStartTime() {
    return startTime;
  }

  public Long getEndTime() {
    return endTime;
  }

  public Long getStartTimeExpiry() {
    return startTimeExpiry;
  }

  public Long getScheduledTime() {
    return scheduledTime;
  }

  public ExecutionStatus getStatus() {
    return status;
  }

  public Map<String, Object> getContext() {
    return context;
  }

  StageContext stageContext() {
    return context;
  }

  public Map<String, Object> getOutputs() {
    return outputs;
  }

  public List<Map<String, Object>> getTasks() {
    return tasks;
  }

  public SyntheticStageOwner getSyntheticStageOwner() {
    return syntheticStageOwner;
  }

  public String getParentStageId() {
    return parentStageId;
  }

  public Collection<String> getRequisiteStageRefIds() {
    return requisiteStageRefIds;
  }

  /** "mostly for convenience to endusers using SpEL" upstream: SUCCEEDED only. */
  public boolean getHasSucceeded() {
    return status == ExecutionStatus.SUCCEEDED;
  }

  /** TERMINAL only (FAILED_CONTINUE is not "failed" here), as upstream. */
  public boolean getHasFailed() {
    return status == ExecutionStatus.TERMINAL;
  }

  public boolean isJoin() {
    return requisiteStageRefIds.size() > 1;
  }

  public boolean isManualJudgmentType() {
    return "manualJudgment".equals(type);
  }

  public StageExecution getParent() {
    return parentStageId == null ? null : execution.stageById(parentStageId);
  }

  public StageExecution getTopLevelStage() {
    StageExecution top = this;
    while (top.getParentStageId() != null) {
      StageExecution parent = execution.stageById(top.getParentStageId());
      if (parent == null) {
        throw new IllegalStateException(
            "Could not find stage by parentStageId (stage: " + top.getId() + ")");
      }
      top = parent;
    }
    return top;
  }

  /** This stage, then its ancestors: requisite stages (and their synthetic stages), parents. */
  public List<StageExecution> ancestors() {
    List<StageExecution> out = new ArrayList<>();
    out.add(this);
    out.addAll(ancestorsOf(this, new HashSet<>(), false));
    return out;
  }

  public List<StageExecution> directAncestors() {
    List<StageExecution> out = new ArrayList<>();
    out.add(this);
    out.addAll(ancestorsOf(this, new HashSet<>(), true));
    return out;
  }

  // StageExecutionInternals.getAncestorsImpl. It records refIds as visited but compares parent
  // stage *ids* against them; kept as upstream has it.
  private static List<StageExecution> ancestorsOf(
      StageExecution stage, Set<String> visited, boolean directParentOnly) {
    visited.add(stage.getRefId());
    List<StageExecution> all = stage.getExecution().getStages();
    if (!directParentOnly && !stage.getRequisiteStageRefIds().isEmpty()) {
      List<StageExecution> previous = new ArrayList<>();
      for (StageExecution it : all) {
        if (!visited.contains(it.getRefId())
            && stage.getRequisiteStageRefIds().contains(it.getRefId())) {
          previous.add(it);
        }
      }
      List<StageExecution> out = new ArrayList<>(previous);
      for (StageExecution s : all) {
        if (s.getSyntheticStageOwner() == null) {
          continue;
        }
        for (StageExecution p : previous) {
          if (p.getId().equals(s.getParentStageId())) {
            out.add(s);
            break;
          }
        }
      }
      for (StageExecution p : previous) {
        out.addAll(ancestorsOf(p, visited, directParentOnly));
      }
      return out;
    } else if (stage.getParentStageId() != null && !visited.contains(stage.getParentStageId())) {
      List<StageExecution> out = new ArrayList<>();
      if (stage.getSyntheticStageOwner() == SyntheticStageOwner.STAGE_AFTER) {
        for (StageExecution it : all) {
          if (stage.getParentStageId().equals(it.getParentStageId())
              && it.getSyntheticStageOwner() == SyntheticStageOwner.STAGE_BEFORE) {
            out.add(it);
          }
        }
      }
      for (StageExecution it : all) {
        if (it.getId().equals(stage.getParentStageId())) {
          out.add(it);
          out.addAll(ancestorsOf(it, visited, directParentOnly));
          break;
        }
      }
      return out;
    }
    return Collections.emptyList();
  }

  @Override
  public String toString() {
    return "Stage {id='" + id + "', executionId='" + execution.getId() + "'}";
  }
}
