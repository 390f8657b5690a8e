// The Jobs the pipeline runs.
//
// Rules these follow, each traced to its upstream source in docs/spinnaker-rules.md:
// - A job reports to the pipeline by printing `SPINNAKER_PROPERTY_<key>=<value>` lines;
//   Clouddriver lower-cases the key (PropertyParser), skips lines with an empty value, and
//   Orca stores the properties in the stage's context (and, for a job that succeeded, in
//   its outputs too). So keys are printed in lower case, values are never empty, and the
//   pipeline reads them from `context`, which also holds them after a failed job.
// - A job killed at its `activeDeadlineSeconds` loses its pod, and with it its log: the
//   scripts end by themselves WAIT_SECONDS before that deadline.
// - Orca evaluates `${...}` in a Run Job's manifest when the stage starts: the scripts
//   never contain `${` (shell's `$VAR` is fine), and values from earlier stages come in
//   through expressions in `env` only.
local kube = import '../lib/kube.libsonnet';
local config = import '../config.libsonnet';
local manifests = import 'manifests.libsonnet';
local slo = import 'slo.libsonnet';

local labels(r, step) = {
  'kujira-gen.io/application': r.application,
  'kujira-gen.io/step': step,
};

// Margin between a script's own time budget and the Job's deadline.
local marginSeconds = 60;

// Reads the Rollout and its pod-template Deployment into shell variables. The Rollout's
// status describes the Deployment's template only once `workloadObservedGeneration` equals
// the Deployment's generation (the controller records it: rollout/sync.go), and its spec
// once `observedGeneration` equals its generation; `controllerPause` true with no pause
// condition means a promotion the controller has not acted on yet (the same rules as the
// kubectl plugin's GetRolloutPhase, utils/rollout/rolloututil.go).
local readState = |||
  workload=$(kubectl get deployment "$WORKLOAD" -n "$NAMESPACE" -o jsonpath='{.metadata.generation}')
  state=$(kubectl get rollout "$ROLLOUT" -n "$NAMESPACE" -o jsonpath='{.metadata.generation}|{.status.observedGeneration}|{.status.workloadObservedGeneration}|{.status.controllerPause}|{.status.pauseConditions[*].reason}|{.status.blueGreen.activeSelector}|{.status.phase}|{.status.currentPodHash}|{.status.stableRS}|{.status.message}')
  IFS='|' read -r generation observed workload_observed controller_pause reasons active phase current stable message <<EOF
  $state
  EOF
  observed_all=no
  if [ "$generation" = "$observed" ] && [ "$workload" = "$workload_observed" ]; then
    if [ "$controller_pause" != true ] || [ -n "$reasons" ]; then
      observed_all=yes
    fi
  fi
|||;

// Waits until the revision this release deployed is ready in the preview service and
// paused for promotion, and reports:
// - stable_revision, stable_hash: the revision that serves traffic now (the one a
//   rollback returns to), as soon as the controller has seen the deployed template;
// - new_revision: `true` when the deployed template is not the running one, `false` when
//   it is (a re-deploy of the running image, or the first release, which Argo Rollouts
//   sends traffic to at once: there is nothing to test it against or roll back to).
// Exits 0 when the preview is paused for promotion or there is nothing new; 1 when the
// Rollout is Degraded, the stable revision cannot be found, or time runs out.
local waitScript = |||
  set -eu
  deadline=$(($(date +%%s) + WAIT_SECONDS))
  phase=unknown
  message=
  reported=no
  first_release=no
  while [ "$(date +%%s)" -lt "$deadline" ]; do
  %(readState)s
    if [ "$observed_all" = yes ]; then
      if [ -z "$stable" ]; then
        first_release=yes
        if [ "$phase" = Degraded ]; then
          echo "The first revision of $ROLLOUT is Degraded: $message"
          exit 1
        fi
      else
        if [ "$reported" = no ]; then
          revision=$(kubectl get replicasets -n "$NAMESPACE" -l "$POD_SELECTOR,rollouts-pod-template-hash=$stable" -o jsonpath='{.items[*].metadata.annotations.rollout\.argoproj\.io/revision}')
          if [ -z "$revision" ]; then
            echo "Cannot find the ReplicaSet of the stable revision $stable of $ROLLOUT."
            exit 1
          fi
          echo "SPINNAKER_PROPERTY_stable_revision=$revision"
          echo "SPINNAKER_PROPERTY_stable_hash=$stable"
          if [ "$current" = "$stable" ]; then
            echo "SPINNAKER_PROPERTY_new_revision=false"
          else
            echo "SPINNAKER_PROPERTY_new_revision=true"
          fi
          reported=yes
        fi
        if [ "$current" = "$stable" ]; then
          if [ "$phase" = Healthy ]; then
            if [ "$first_release" = yes ]; then
              echo "First release of $ROLLOUT: Argo Rollouts sent traffic to revision $revision at once (there is no previous version to test against or roll back to)."
            else
              echo "No new revision: $ROLLOUT already runs revision $revision."
            fi
            exit 0
          fi
          if [ "$phase" = Degraded ]; then
            echo "$ROLLOUT is Degraded and no new revision was deployed: $message"
            exit 1
          fi
        else
          if [ "$phase" = Degraded ]; then
            echo "The new revision $current of $ROLLOUT is Degraded: $message"
            exit 1
          fi
          case " $reasons " in
            *" BlueGreenPause "*)
              echo "The new revision $current of $ROLLOUT is ready in the preview service."
              exit 0
              ;;
          esac
        fi
      fi
    fi
    sleep 5
  done
  echo "Timed out after $WAIT_SECONDS s waiting for $ROLLOUT (phase $phase: $message)."
  exit 1
||| % { readState: readState };

// `text` with `old` replaced by `new`, which must occur exactly once: the variants below
// are written as changes of the blue-green scripts, which stay as they are.
local replaceOnce(text, old, new) =
  if std.length(std.findSubstr(old, text)) != 1 then error 'jobs.libsonnet: a script variant no longer matches its script'
  else std.strReplace(text, old, new);

// Lines of a text block moved right by `n` spaces: the wait script's new-revision branch
// is 8 spaces in.
local indent(text, n) = std.join('\n', [if l == '' then l else std.repeat(' ', n) + l for l in std.split(text, '\n')]);

// How the wait script recognises a new revision that is ready.
local bluegreenReady = indent(|||
          case " $reasons " in
            *" BlueGreenPause "*)
              echo "The new revision $current of $ROLLOUT is ready in the preview service."
              exit 0
              ;;
          esac
|||, 8);
local degradedCheck = indent(|||
          if [ "$phase" = Degraded ]; then
            echo "The new revision $current of $ROLLOUT is Degraded: $message"
            exit 1
          fi
|||, 8);

// With a pre-promotion analysis the BlueGreenPause only comes once the analysis has
// succeeded (rollout/bluegreen.go reconcileBlueGreenPause), and the analysis starts when
// the preview's pods are all available (rollout/analysis.go skipPrePromotionAnalysisRun):
// the preview is ready for the scenario test as soon as the Rollout names an AnalysisRun
// of this revision (`<rollout>-<hash>-<revision>-pre`: newAnalysisRunFromRollout). Checked
// before Degraded: an analysis that failed at its first measurement has already aborted
// the Rollout, and the analysis stage reports why.
local waitScriptWithAnalysis = replaceOnce(waitScript, degradedCheck, indent(|||
          analysis=$(kubectl get rollout "$ROLLOUT" -n "$NAMESPACE" -o jsonpath='{.status.blueGreen.prePromotionAnalysisRunStatus.name}')
          case "$analysis" in
            "$ROLLOUT-$current-"*"-pre")
              echo "The new revision $current of $ROLLOUT is ready in the preview service; its analysis $analysis has started."
              exit 0
              ;;
          esac
|||, 8) + degradedCheck);

// A canary held at its first step for the test and the judgment: ready at the first
// CanaryPauseStep, the only pause without a duration (slo.libsonnet `canary`), which
// nothing but the pipeline's Promote ends (rollout/canary.go reconcileCanaryPause).
local waitScriptCanaryHeld = replaceOnce(waitScript, bluegreenReady, indent(|||
          case " $reasons " in
            *" CanaryPauseStep "*)
              echo "The new revision $current of $ROLLOUT runs as the canary, held at its first step."
              exit 0
              ;;
          esac
|||, 8));

// A canary whose steps run by themselves: ready as soon as the controller has started it.
local waitScriptCanary = replaceOnce(waitScript, bluegreenReady, indent(|||
          echo "The new revision $current of $ROLLOUT is released by its canary steps."
          exit 0
|||, 8));

// After `abort` and `undo --to-revision` (the init containers), waits until the revision
// that served traffic before this release is the Rollout's stable and active revision
// again. When the promoted revision was already stable and the previous one scaled down
// (a Verify that failed after scaleDownDelaySeconds), the previous revision comes back
// like any update: through the preview, with a pre-promotion analysis that measures a
// version nothing sends traffic to (Inconclusive: the `InconclusiveAnalysis` pause) and
// the `BlueGreenPause`; a canary through its steps (`CanaryPauseStep`, step analyses).
// As soon as it is held by any pause or analysis it is promoted fully, with the patch
// `kubectl argo rollouts promote --full` sends (cmd/promote/promote.go
// `promoteFullPatch`), which skips analyses, pauses and steps (rollout/sync.go,
// bluegreen.go, canary.go: `status.promoteFull`). Polls measure elapsed time, so the
// script ends before the Job's deadline however slow each kubectl call is.
local settleScript = |||
  set -eu
  deadline=$(($(date +%%s) + WAIT_SECONDS))
  promoted=no
  phase=unknown
  message=
  while [ "$(date +%%s)" -lt "$deadline" ]; do
  %(readState)s
    if [ "$observed_all" = yes ]; then
      if [ "$current" != "$STABLE_HASH" ]; then
        echo "$ROLLOUT runs template $current, not revision $STABLE_REVISION ($STABLE_HASH): the undo did not take effect, or another deploy started."
        exit 1
      fi
      if [ "$stable" = "$STABLE_HASH" ] && [ "$active" = "$STABLE_HASH" ] && [ "$phase" = Healthy ]; then
        echo "Rolled back: revision $STABLE_REVISION of $ROLLOUT serves traffic again."
        exit 0
      fi
      if [ "$promoted" = no ] && [ "$stable" != "$STABLE_HASH" ]; then
        runs=$(kubectl get rollout "$ROLLOUT" -n "$NAMESPACE" -o jsonpath='{.status.blueGreen.prePromotionAnalysisRunStatus.name} {.status.canary.currentStepAnalysisRunStatus.name}') || runs=
        held=
        if [ -n "$reasons" ]; then
          held="paused ($reasons)"
        fi
        case " $runs " in
          *"-$STABLE_HASH-"*) held="held by an analysis ($runs)" ;;
        esac
        if [ -n "$held" ]; then
          echo "Revision $STABLE_REVISION of $ROLLOUT is back, $held: promoting it fully, without its analysis and pauses (it served before, and nothing sends it traffic to measure)."
          kubectl patch rollout "$ROLLOUT" -n "$NAMESPACE" --subresource=status --type=merge -p '{"status":{"promoteFull":true}}'
          promoted=yes
        fi
      fi
      if [ "$phase" = Degraded ]; then
        echo "Rolling back $ROLLOUT to revision $STABLE_REVISION failed, the Rollout is Degraded: $message"
        exit 1
      fi
    fi
    sleep 5
  done
  echo "Timed out after $WAIT_SECONDS s waiting for $ROLLOUT to return to revision $STABLE_REVISION (phase $phase: $message)."
  exit 1
||| % { readState: readState };

// A canary Rollout has no active Service: the revision that served before is back once
// it is the stable one and the Rollout is Healthy (with `rollbackWindow` the controller
// skips the steps for it: manifests.libsonnet).
local settleScriptCanary = replaceOnce(settleScript, ' && [ "$active" = "$STABLE_HASH" ]', '');

// Watches the promoted revision for SOAK_SECONDS (see `verify` below).
local soakScript = |||
  set -eu
  until=$(($(date +%s) + SOAK_SECONDS))
  unhealthy=0
  while [ "$(date +%s)" -lt "$until" ]; do
    state=$(kubectl get rollout "$ROLLOUT" -n "$NAMESPACE" -o jsonpath='{.status.phase}|{.status.availableReplicas}|{.spec.replicas}|{.status.message}')
    IFS='|' read -r phase available replicas message <<EOF
  $state
  EOF
    case "$phase" in
      Healthy)
        unhealthy=0
        ;;
      Degraded)
        echo "$ROLLOUT is Degraded under live traffic: $message"
        exit 1
        ;;
      *)
        unhealthy=$((unhealthy + 1))
        if [ "$unhealthy" -ge 3 ]; then
          echo "$ROLLOUT is not Healthy under live traffic ($phase: $message; $available of $replicas replicas available)."
          exit 1
        fi
        ;;
    esac
    sleep 5
  done
  echo "$ROLLOUT stayed Healthy for $SOAK_SECONDS s under live traffic."
|||;

local rolloutsCommand(r, name, args) =
  kube.container(name, config.images.rolloutsPlugin, args=args + [manifests.names(r).rollout, '--namespace', r.namespace],
                 resources=config.jobResources);

local scriptContainer(r, name, script, deadline, env=[]) =
  local n = manifests.names(r);
  kube.container(name, config.images.kubectl, command=['/bin/sh', '-c'], args=[script],
                 env=[
                   { name: 'ROLLOUT', value: n.rollout },
                   { name: 'WORKLOAD', value: n.podTemplate },
                   { name: 'NAMESPACE', value: r.namespace },
                   { name: 'POD_SELECTOR', value: std.join(',', ['%s=%s' % [k, manifests.podLabels(r)[k]] for k in std.objectFields(manifests.podLabels(r))]) },
                   { name: 'WAIT_SECONDS', value: std.toString(deadline - marginSeconds) },
                 ] + env,
                 resources=config.jobResources);

{
  // The container that prints the wait job's properties (the stage's `propertyFile`).
  waitContainer:: 'wait',

  // Stage-context keys the wait job reports, for the pipeline's expressions.
  outputs:: {
    newRevision: 'new_revision',
    stableRevision: 'stable_revision',
    stableHash: 'stable_hash',
  },

  waitForPreview(r):: kube.job(
    r.application + '-wait-preview-', r.namespace, labels(r, 'wait-preview'),
    [scriptContainer(r, $.waitContainer,
                     if r.slo != null && r.slo.previewAnalysis then waitScriptWithAnalysis else waitScript,
                     config.timeouts.waitForPreviewSeconds)],
    serviceAccountName=manifests.names(r).releaseAccount,
    activeDeadlineSeconds=config.timeouts.waitForPreviewSeconds,
    ttlSecondsAfterFinished=config.jobTtlSecondsAfterFinished,
  ),

  // The same for a canary: reports the same values, and is ready when the canary is held
  // at its first step (with a test or a judgment) or has started its steps.
  waitForCanary(r):: kube.job(
    r.application + '-wait-canary-', r.namespace, labels(r, 'wait-canary'),
    [scriptContainer(r, $.waitContainer,
                     if r.scenarioTest != null || r.manualJudgment != null then waitScriptCanaryHeld else waitScriptCanary,
                     config.timeouts.waitForPreviewSeconds)],
    serviceAccountName=manifests.names(r).releaseAccount,
    activeDeadlineSeconds=config.timeouts.waitForPreviewSeconds,
    ttlSecondsAfterFinished=config.jobTtlSecondsAfterFinished,
  ),

  // newman exits non-zero when an assertion fails; with backoffLimit 0 the Job, and so the
  // stage, fails. With an SLO analysis of the version under test, the collection runs as
  // many times (`--iteration-count`) as it takes to send each objective's minRequests:
  // fewer requests would leave the analysis without evidence (docs/slo.md, "Timeline").
  scenarioTest(r)::
    local n = manifests.names(r);
    local iterations = slo.testIterations(r.slo, r.scenarioTest.collection);
    local url = 'http://%s.%s.svc.cluster.local:%d' % [if r.canary == null then n.previewService else slo.names(r).canaryService, r.namespace, r.port];
    kube.job(
      r.application + '-scenario-test-', r.namespace, labels(r, 'scenario-test'),
      [kube.container(
        'newman', r.scenarioTest.image,
        args=['run', '/etc/newman/collection.json']
             + (if r.scenarioTest.environment == null then [] else ['--environment', '/etc/newman/environment.json'])
             + ['--env-var', 'baseUrl=' + url, '--reporters', 'cli', '--color', 'off']
             + (if iterations > 1 then ['--iteration-count', std.toString(iterations)] else []),
        resources=config.jobResources,
        volumeMounts=[{ name: 'scenario', mountPath: '/etc/newman', readOnly: true }],
      )],
      volumes=[{ name: 'scenario', configMap: { name: n.scenarioConfigMap } }],
      activeDeadlineSeconds=r.scenarioTest.timeoutSeconds,
      ttlSecondsAfterFinished=config.jobTtlSecondsAfterFinished,
    ),

  promote(r):: kube.job(
    r.application + '-promote-', r.namespace, labels(r, 'promote'),
    [rolloutsCommand(r, 'promote', ['promote'])],
    serviceAccountName=manifests.names(r).releaseAccount,
    activeDeadlineSeconds=config.timeouts.promoteSeconds,
    ttlSecondsAfterFinished=config.jobTtlSecondsAfterFinished,
  ),

  // Verifies the promoted revision under live traffic. `kubectl argo rollouts status` (the
  // init container) returns as soon as the Rollout is Healthy, which a blue-green Rollout
  // is the moment its already-available preview becomes active: it catches a switch that
  // does not happen, not a version that breaks under traffic. The soak script then keeps
  // watching for `verifySoakSeconds`: Degraded, or not Healthy for 15 s running (pods
  // crashing, readiness failing), fails the stage, and the release rolls back.
  //
  // A canary without an analysis stage to wait for its steps (no SLO) is verified from its
  // first step on: `status` waits for every weight and pause too, so the job gets their
  // time (slo.libsonnet canaryDeadlineSeconds) on top of its own.
  verify(r)::
    local seconds = config.timeouts.verifySeconds
                    + (if r.canary != null && (r.slo == null || !r.slo.previewAnalysis)
                       then slo.canaryDeadlineSeconds(r.slo, r.canary) else 0);
    kube.job(
      r.application + '-verify-', r.namespace, labels(r, 'verify'),
      [scriptContainer(r, 'soak', soakScript, seconds, env=[
        { name: 'SOAK_SECONDS', value: std.toString(config.timeouts.verifySoakSeconds) },
      ])],
      initContainers=[
        rolloutsCommand(r, 'verify', ['status', '--timeout', '%ds' % (seconds - marginSeconds - config.timeouts.verifySoakSeconds)]),
      ],
      serviceAccountName=manifests.names(r).releaseAccount,
      activeDeadlineSeconds=seconds,
      ttlSecondsAfterFinished=config.jobTtlSecondsAfterFinished,
    ),

  // Returns the Rollout to the revision that served traffic before this release:
  // `abort` (the preview is scaled down, traffic stays on or returns to the stable
  // ReplicaSet), then `undo --to-revision` that revision (its template is written back
  // into the pod-template Deployment), then the settle script. Undoing to a named
  // revision, never to "the previous one", cannot move a running version backwards: when
  // the template already is that revision, undo changes nothing. Init containers run in
  // order, before the main container. `stableRevision` and `stableHash` are expressions
  // over the wait stage's context, resolved by Orca when this stage starts.
  rollback(r, stableRevision, stableHash):: kube.job(
    r.application + '-rollback-', r.namespace, labels(r, 'rollback'),
    [scriptContainer(r, 'settle', if r.canary == null then settleScript else settleScriptCanary, config.timeouts.rollbackSeconds, env=[
      { name: 'STABLE_REVISION', value: stableRevision },
      { name: 'STABLE_HASH', value: stableHash },
    ])],
    initContainers=[
      rolloutsCommand(r, 'abort', ['abort']),
      rolloutsCommand(r, 'undo', ['undo', '--to-revision', stableRevision]),
    ],
    serviceAccountName=manifests.names(r).releaseAccount,
    activeDeadlineSeconds=config.timeouts.rollbackSeconds,
    ttlSecondsAfterFinished=config.jobTtlSecondsAfterFinished,
  ),
}
