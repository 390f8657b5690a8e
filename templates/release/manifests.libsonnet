// The Kubernetes objects of a release, deployed together by the Deploy stage.
local kube = import '../lib/kube.libsonnet';
local config = import '../config.libsonnet';
local slo = import 'slo.libsonnet';
local sloRules = import 'slo_rules.libsonnet';

{
  names(r):: {
    rollout: r.application,
    // Holds the pod template the Rollout runs (see `podTemplate` below).
    podTemplate: r.application + '-pod-template',
    activeService: r.application,
    previewService: r.application + '-preview',
    // Identity of the pipeline's own jobs (promote, abort, undo, wait).
    releaseAccount: r.application + '-release',
    scenarioConfigMap: r.application + '-scenario-test',
  },

  // Pods of the application carry this label; the Services select on it. The pipeline's
  // jobs must not carry it, or the Services would send traffic to them.
  podLabels(r):: { app: r.application },

  env(r):: [
    local v = r.env[name];
    if std.isString(v) then { name: name, value: v }
    else if std.objectHas(v, 'Secret') then { name: name, valueFrom: { secretKeyRef: { name: v.Secret, key: v.Key } } }
    else { name: name, valueFrom: { configMapKeyRef: { name: v.ConfigMap, key: v.Key } } }
    for name in std.objectFields(r.env)
  ],

  // The pod template of the application, in a Deployment that never runs a pod itself.
  //
  // Why a Deployment: Spinnaker binds the trigger's `docker/image` artifact only into the
  // containers of kinds whose Clouddriver handler has artifact replacers (Deployment,
  // ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, Pod); a Rollout is an unregistered
  // custom resource with none, and a required artifact bound nowhere fails the Deploy
  // stage (docs/spinnaker-rules.md, "Artifact binding"). Clouddriver binds the image here;
  // the Rollout reads the template through `workloadRef` (Argo Rollouts resolves and
  // watches it: rollout/templateref.go). `replicas: 0` and `scaleDown: never`: Argo
  // Rollouts owns the pods; this Deployment only carries the template.
  //
  // Its name differs from the Rollout's: the Deployment controller and Argo Rollouts name
  // ReplicaSets `<owner>-<hash of the template>` with the same hash function, so equal
  // names would make the two controllers collide on ReplicaSet names.
  podTemplate(r):: {
    local n = $.names(r),
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    // With `match-name-only` the image is written without a tag (values.libsonnet
    // parseImage), which binds only in that mode: the annotation tells `validate`
    // (check/artifact_binding.rs) which mode to check the binding in. Kubernetes and
    // Clouddriver ignore it.
    metadata: kube.metadata(n.podTemplate, r.namespace, $.podLabels(r))
              + (if r.artifactBinding == 'match-name-and-tag' then {}
                 else { annotations+: { 'kujira-gen.io/artifact-binding': r.artifactBinding } }),
    spec: {
      replicas: 0,
      selector: { matchLabels: $.podLabels(r) },
      template: {
        metadata: { labels: $.podLabels(r) },
        spec: {
          containers: [
            // Clouddriver replaces the image with the trigger's artifact (values.libsonnet, inManifest).
            kube.container(r.application, r.imageParts.inManifest, env=(if r.env == {} then null else $.env(r)), resources=r.resources) + {
              ports: [{ name: 'http', containerPort: r.port, protocol: 'TCP' }],
              readinessProbe: {
                httpGet: { path: r.healthCheckPath, port: 'http' },
                periodSeconds: 5,
                failureThreshold: 3,
              },
            },
          ],
        },
      },
    },
  },

  rollout(r):: {
    local n = $.names(r),
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: kube.metadata(n.rollout, r.namespace, $.podLabels(r), {
      // A Rollout is a custom resource Spinnaker does not know: deploy it in place,
      // never as name-v001, name-v002...
      'strategy.spinnaker.io/versioned': 'false',
    }),
    spec: {
      replicas: r.replicas,
      revisionHistoryLimit: config.revisionHistoryLimit,
      selector: { matchLabels: $.podLabels(r) },
      workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: n.podTemplate, scaleDown: 'never' },
      strategy: if r.canary != null then {
        // Weights and pauses, an analysis after each weight with SLOs, the first step held
        // for the test and the judgment (slo.libsonnet `canary`, docs/slo.md "Canary").
        canary: slo.canary(r, r.slo, r.canary, testFirst=r.scenarioTest != null || r.manualJudgment != null),
      } else {
        blueGreen: {
          activeService: n.activeService,
          previewService: n.previewService,
          // Always false: the pipeline promotes (also with AutoPromotion, right after the
          // preview is ready), so that it knows which revision it replaced and can switch
          // back to it when Verify fails.
          autoPromotionEnabled: false,
          scaleDownDelaySeconds: r.scaleDownDelaySeconds,
        } + slo.blueGreen(r, r.slo),
      },
    } + (if r.canary == null then {} else {
           // A rollback to the revision that served before goes straight back to it,
           // without the canary steps, their pauses and analyses (rollout/sync.go
           // isRollbackWithinWindow: the previous ReplicaSet is within one revision).
           rollbackWindow: { revisions: 1 },
         }),
  },

  // Exactly what the pipeline's jobs do, and nothing else (docs/spinnaker-rules.md,
  // "Permissions of the release jobs", lists each call with its upstream source):
  // - the wait and settle scripts (kubectl): get the Rollout and the pod-template
  //   Deployment, list ReplicaSets by label, and promote by patching rollouts/status
  //   (`kubectl patch --subresource=status` gets the subresource first);
  // - kubectl-argo-rollouts `promote`: get rollouts, patch rollouts/status (and rollouts,
  //   when spec.paused is set);
  // - `abort`: patch rollouts/status;
  // - `undo`: get rollouts, list replicasets, patch the workloadRef Deployment;
  // - `status`: list and watch rollouts, replicasets, pods, experiments, analysisruns
  //   and deployments (its informers; it waits for their caches before its --timeout
  //   starts counting, so a missing one hangs the job).
  releaseAccess(r)::
    local n = $.names(r);
    [
      kube.serviceAccount(n.releaseAccount, r.namespace),
      kube.role(n.releaseAccount, r.namespace, [
        { apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['get', 'list', 'watch', 'patch'] },
        // kubectl patch --subresource=status reads the subresource before patching it.
        { apiGroups: ['argoproj.io'], resources: ['rollouts/status'], verbs: ['get', 'patch'] },
        { apiGroups: ['argoproj.io'], resources: ['experiments', 'analysisruns'], verbs: ['list', 'watch'] },
        { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list', 'watch'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch', 'patch'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
      ] + (if r.slo == null then [] else slo.releaseRoleRules)),
      kube.roleBinding(n.releaseAccount, r.namespace, n.releaseAccount, n.releaseAccount),
    ],

  scenarioConfigMap(r):: kube.configMap(
    $.names(r).scenarioConfigMap,
    r.namespace,
    { 'collection.json': r.scenarioTest.collection }
    + (if r.scenarioTest.environment == null then {} else { 'environment.json': r.scenarioTest.environment }),
    annotations={
      // The test job names this ConfigMap directly: keep its name stable.
      'strategy.spinnaker.io/versioned': 'false',
    },
  ),

  all(r)::
    $.releaseAccess(r)
    + (if r.scenarioTest == null then [] else [$.scenarioConfigMap(r)])
    // Before the Rollout that names them.
    + slo.analysisTemplates(r, r.slo, r.canary)
    + [
      kube.service($.names(r).activeService, r.namespace, $.podLabels(r), r.port),
      // Blue-green: the preview. Canary: the canary's own Service, which Argo Rollouts
      // points at the canary pods (the test's target; the Gateway API's second backend).
      kube.service(if r.canary == null then $.names(r).previewService else slo.names(r).canaryService,
                   r.namespace, $.podLabels(r), r.port),
      $.podTemplate(r),
      $.rollout(r),
    ]
    // The SLOs' recording and alerting rules (PrometheusRule or GMP Rules), deployed and
    // versioned with the application that defines them.
    + sloRules.manifests(r),
}
