// The Kubernetes objects of a release, deployed together by the Deploy stage.
local kube = import '../lib/kube.libsonnet';
local config = import '../config.libsonnet';

{
  names(r):: {
    rollout: r.application,
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
      template: {
        metadata: { labels: $.podLabels(r) },
        spec: {
          containers: [
            kube.container(r.application, r.image, env=(if r.env == {} then null else $.env(r)), resources=r.resources) + {
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
      strategy: {
        blueGreen: {
          activeService: n.activeService,
          previewService: n.previewService,
          // The pipeline tests the preview and promotes it itself.
          autoPromotionEnabled: r.autoPromotion,
          scaleDownDelaySeconds: r.scaleDownDelaySeconds,
        },
      },
    },
  },

  // Lets the pipeline's jobs read, promote, abort and undo Rollouts in the application's
  // namespace, and nothing else.
  releaseAccess(r)::
    local n = $.names(r);
    [
      kube.serviceAccount(n.releaseAccount, r.namespace),
      kube.role(n.releaseAccount, r.namespace, [
        { apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['get', 'list', 'watch', 'patch', 'update'] },
        // promote and abort patch the status subresource (Argo Rollouts >= 0.10).
        { apiGroups: ['argoproj.io'], resources: ['rollouts/status'], verbs: ['get', 'patch', 'update'] },
        // undo reads the previous revision from its ReplicaSet.
        { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'watch'] },
      ]),
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
    + [
      kube.service($.names(r).activeService, r.namespace, $.podLabels(r), r.port),
      kube.service($.names(r).previewService, r.namespace, $.podLabels(r), r.port),
      $.rollout(r),
    ],
}
