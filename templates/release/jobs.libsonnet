// The Jobs the pipeline runs. Their shell scripts avoid `${`: Spinnaker would take it
// for the start of a SpEL expression.
local kube = import '../lib/kube.libsonnet';
local config = import '../config.libsonnet';
local manifests = import 'manifests.libsonnet';

local labels(r, step) = {
  'kujira-gen.io/application': r.application,
  'kujira-gen.io/step': step,
};

// Waits until the new revision is up in the preview service and paused for promotion,
// and says whether there is a new revision at all (re-deploying the running image gives
// none: nothing to test or promote).
local waitScript = |||
  set -eu
  while true; do
    s=$(kubectl get rollout "$ROLLOUT" -n "$NAMESPACE" -o jsonpath='{.metadata.generation}|{.status.observedGeneration}|{.status.phase}|{.status.currentPodHash}|{.status.stableRS}|{.status.pauseConditions[*].reason}|{.status.message}')
    generation=$(echo "$s" | cut -d'|' -f1)
    observed=$(echo "$s" | cut -d'|' -f2)
    phase=$(echo "$s" | cut -d'|' -f3)
    current=$(echo "$s" | cut -d'|' -f4)
    stable=$(echo "$s" | cut -d'|' -f5)
    reasons=$(echo "$s" | cut -d'|' -f6)
    if [ "$generation" = "$observed" ]; then
      if [ -n "$current" ] && [ "$current" = "$stable" ] && [ "$phase" = "Healthy" ]; then
        echo "No new revision: $ROLLOUT already runs it."
        echo "SPINNAKER_PROPERTY_NEW_REVISION=false"
        exit 0
      fi
      if [ "$phase" = "Degraded" ]; then
        echo "Rollout $ROLLOUT is Degraded: $(echo "$s" | cut -d'|' -f7)"
        exit 1
      fi
      case " $reasons " in
        *" BlueGreenPause "*)
          echo "Revision $current is ready in the preview service."
          echo "SPINNAKER_PROPERTY_NEW_REVISION=true"
          exit 0
          ;;
      esac
    fi
    sleep 5
  done
|||;

local rolloutsCommand(r, name, args) =
  kube.container(name, config.images.rolloutsPlugin, args=args + [manifests.names(r).rollout, '--namespace', r.namespace],
                 resources=config.jobResources);

{
  waitForPreview(r):: kube.job(
    r.application + '-wait-preview-', r.namespace, labels(r, 'wait-preview'),
    [kube.container('wait', config.images.kubectl, command=['/bin/sh', '-c'], args=[waitScript],
                    env=[
                      { name: 'ROLLOUT', value: manifests.names(r).rollout },
                      { name: 'NAMESPACE', value: r.namespace },
                    ],
                    resources=config.jobResources)],
    serviceAccountName=manifests.names(r).releaseAccount,
    activeDeadlineSeconds=config.timeouts.waitForPreviewSeconds,
    ttlSecondsAfterFinished=config.jobTtlSecondsAfterFinished,
  ),

  // newman exits non-zero when an assertion fails; with backoffLimit 0 the Job, and so the
  // stage, fails.
  scenarioTest(r)::
    local n = manifests.names(r);
    local url = 'http://%s.%s.svc.cluster.local:%d' % [n.previewService, r.namespace, r.port];
    kube.job(
      r.application + '-scenario-test-', r.namespace, labels(r, 'scenario-test'),
      [kube.container(
        'newman', r.scenarioTest.image,
        args=['run', '/etc/newman/collection.json']
             + (if r.scenarioTest.environment == null then [] else ['--environment', '/etc/newman/environment.json'])
             + ['--env-var', 'baseUrl=' + url, '--reporters', 'cli', '--color', 'off'],
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

  // Returns once the Rollout is Healthy; fails when it turns Degraded or times out.
  verify(r):: kube.job(
    r.application + '-verify-', r.namespace, labels(r, 'verify'),
    [rolloutsCommand(r, 'verify', ['status', '--timeout', '%ds' % (config.timeouts.verifySeconds - 30)])],
    serviceAccountName=manifests.names(r).releaseAccount,
    activeDeadlineSeconds=config.timeouts.verifySeconds,
    ttlSecondsAfterFinished=config.jobTtlSecondsAfterFinished,
  ),

  // abort scales the preview down and leaves traffic on the stable version; undo then
  // resets the Rollout's spec to that version so it is Healthy again. Init containers
  // run in order, before the main container.
  rollback(r):: kube.job(
    r.application + '-rollback-', r.namespace, labels(r, 'rollback'),
    [rolloutsCommand(r, 'undo', ['undo'])],
    initContainers=[rolloutsCommand(r, 'abort', ['abort'])],
    serviceAccountName=manifests.names(r).releaseAccount,
    activeDeadlineSeconds=config.timeouts.rollbackSeconds,
    ttlSecondsAfterFinished=config.jobTtlSecondsAfterFinished,
  ),
}
