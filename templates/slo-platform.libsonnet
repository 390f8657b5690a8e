// Platform-wide SLO settings: the built-in defaults of the metric provider and of how SLOs
// given by metric names become PromQL. Format and every default:
// schemas/platform-slo.schema.json; design: docs/slo.md.
//
// A platform team does not change this file: it sets what differs, the provider first, in
// `.kujira/slo.json` of its repository, which kujira-gen validates (with positions), checks
// teams' SLOs against, and merges over these defaults (slo.libsonnet `platform`). One place.
{
  // null: no provider. A team that declares SLOs then gets an error naming this setting
  // (set it in .kujira/slo.json).
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

  // How often the provider scrapes the applications: a request is in the data at most
  // this long after it was served (the preview analysis waits that long after the test).
  scrapeInterval: '15s',

  analysis: {
    interval: '1m',
    count: 5,
    // How far back a measurement looks for the measured pods' series. Counts are
    // cumulative since the pods started (docs/slo.md, "Counting"), so this only needs
    // to reach the last sample of a series that stopped (a container that restarted).
    window: '1h',
    // Fewer requests than this in a measurement is no evidence: Inconclusive.
    minRequests: 20,
    failureLimit: 0,
    consecutiveErrorLimit: 4,
    timeoutSeconds: 30,
  },

  budget: {
    timeoutSeconds: 300,
  },

  // Recording and alerting rules from the SLOs (slo_rules.libsonnet, docs/slo-alerts.md).
  rules: {
    // The resource deployed with the application: PrometheusRule (prometheus-operator),
    // GMPRules (Google Managed Prometheus `Rules`), or none (the rule files of
    // `build -o` only; a cluster without the CRD would refuse the Deploy stage).
    format: 'none',
    // Evaluation interval of the rule groups (Pyrra's is 30s too).
    interval: '30s',
    // Labels of the resource (e.g. what the Prometheus' ruleSelector selects).
    labels: {},
    // The SRE Workbook's table (chapter 5 "Alerting on SLOs", approach 6:
    // multiwindow, multi-burn-rate alerts).
    alerts: [
      { severity: 'page', longWindow: '1h', shortWindow: '5m', burnRate: 14.4 },
      { severity: 'page', longWindow: '6h', shortWindow: '30m', burnRate: 6 },
      { severity: 'ticket', longWindow: '3d', shortWindow: '6h', burnRate: 1 },
    ],
  },
}
