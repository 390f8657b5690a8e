// Platform-wide SLO settings: the metric provider and how SLOs given by metric names
// become PromQL. Format and every default: schemas/platform-slo.schema.json; design:
// docs/slo.md.
//
// Override it for everyone like config.libsonnet: `kujira-gen --templates DIR` with
// DIR/slo-platform.libsonnet, for example
//
//   (import 'builtin/slo-platform.libsonnet') + {
//     provider: { address: 'http://prometheus.monitoring.svc.cluster.local:9090', auth: { type: 'none' } },
//   }
{
  // null: no provider. A team that declares SLOs then gets an error naming this setting.
  provider: null,

  // Label matchers selecting one application's series (SLOs given by metric names).
  serviceMatchers: 'namespace="$namespace"',
  // The series of one ReplicaSet's pods: the scrape configuration must copy the pods'
  // `rollouts-pod-template-hash` label (or use pod=~"$rollout-$hash-.*").
  podMatcher: 'rollouts_pod_template_hash="$hash"',
  // Every pod of the application, for the error budget (also series without the label).
  allPodsMatcher: 'rollouts_pod_template_hash=~".*"',

  queryTemplates: {
    availability: {
      good: 'sum(rate($metric{code!~"5..",$selector}[$window]))',
      total: 'sum(rate($metric{$selector}[$window]))',
    },
    latency: {
      good: 'sum(rate($metric_bucket{le=~"$le",$selector}[$window]))',
      total: 'sum(rate($metric_count{$selector}[$window]))',
    },
  },

  analysis: {
    interval: '1m',
    count: 5,
    window: '2m',
    failureLimit: 0,
    consecutiveErrorLimit: 4,
    noData: 'pass',
    timeoutSeconds: 30,
  },

  budget: {
    timeoutSeconds: 300,
  },
}
