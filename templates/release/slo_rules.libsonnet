// Prometheus recording and alerting rules for a team's SLOs: multi-window, multi-burn-rate
// alerts as in the Google SRE Workbook, chapter "Alerting on SLOs" (and as Sloth and Pyrra
// generate them). Pure functions of the normalized release `r` (values.libsonnet: `r.slo`
// from slo.libsonnet `normalize`, `r.sloRules` from `settings` below). Design, the math and
// where this matches or differs from Sloth and Pyrra: docs/slo-alerts.md.
//
// For every objective `o` and every window W an alert needs, one recording rule
//
//   kujira_slo:sli_error:ratio_rate<W> = 1 - ((sum(GOOD) or on() vector(0)) / sum(TOTAL))
//
// over every pod of the application (GOOD/TOTAL: the objective's queries, `$window` = W).
// A good series that does not exist yet (no request has succeeded) counts as zero instead
// of making the ratio disappear; no requests at all is 0/0 = NaN, which no comparison
// passes, so a service without traffic never alerts. Each row of the alert table
// `{severity, longWindow, shortWindow, burnRate}` is then one alert:
//
//   ratio_<long> > burnRate * budget  and  ratio_<short> > burnRate * budget
//
// with `budget` the objective's allowed error fraction (`o.allowed`, e.g. 0.001 for 99.9%).
local kube = import '../lib/kube.libsonnet';

local get(o, k, default) = if o != null && std.objectHas(o, k) then o[k] else default;

local unitSeconds = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

// Seconds of a Prometheus duration with one unit (5m, 1h, 3d), or an error naming `what`.
// The platform's file is checked with positions first (src/platform/slo_rules.rs); this is
// the backstop for templates given other settings.
local seconds(d, what) =
  local digits = if std.isString(d) && std.length(d) >= 2 then d[:std.length(d) - 1] else '';
  local unit = if std.isString(d) && std.length(d) >= 2 then d[std.length(d) - 1] else '';
  if digits == '' || !std.objectHas(unitSeconds, unit) || digits[0] == '0'
     || !std.all([std.member('0123456789', c) for c in std.stringChars(digits)])
  then error '%s: %s is not a duration such as 30s, 5m, 1h or 3d (.kujira/slo.json, docs/slo-alerts.md)' % [what, std.manifestJsonMinified(d)]
  else std.parseInt(digits) * unitSeconds[unit];

// Replaces each `$name` of `values` in `text`, longer names first (as slo.libsonnet does).
local fill(text, values) =
  local names = std.sort(std.objectFields(values), function(n) -std.length(n));
  std.foldl(function(s, n) std.strReplace(s, '$' + n, values[n]), names, text);

// Days (or hours) in words for the annotations: 1.944 days, 10 hours.
local inWords(s) =
  local round1(x) = std.round(x * 10) / 10;
  if s >= 2 * 86400 then '%s days' % std.toString(round1(s / 86400))
  else '%s hours' % std.toString(round1(s / 3600));

{
  // The platform's `rules` settings (slo-platform.libsonnet, merged with .kujira/slo.json)
  // checked and with seconds computed. Errors name the setting.
  settings(platform)::
    local rules = platform.rules;
    // The platform's one scrape interval (slo-platform.libsonnet `scrapeInterval`).
    local scrape = seconds(platform.scrapeInterval, 'scrapeInterval');
    local row(i, a) =
      local at = 'rules.alerts[%d]' % i;
      local long = seconds(get(a, 'longWindow', null), at + '.longWindow');
      local short = seconds(get(a, 'shortWindow', null), at + '.shortWindow');
      local burn = get(a, 'burnRate', null);
      local severity = get(a, 'severity', null);
      if !std.isString(severity) || severity == '' then error '%s.severity: must be a non-empty string, e.g. "page"' % at
      else if !std.isNumber(burn) || burn <= 0 then error '%s.burnRate: must be a number above 0 (how many times faster than the SLO allows the budget is spent), got %s' % [at, std.manifestJsonMinified(burn)]
      else if short >= long then error '%s.shortWindow: %s must be shorter than longWindow %s' % [at, a.shortWindow, a.longWindow]
      // rate() needs two samples in its window: at least twice the scrape interval.
      else if short < 2 * scrape then error '%s.shortWindow: %s is shorter than twice scrapeInterval (%s): rate() over it would have fewer than two samples' % [at, a.shortWindow, platform.scrapeInterval]
      else { severity: severity, longWindow: a.longWindow, shortWindow: a.shortWindow, burnRate: burn, longSeconds: long, shortSeconds: short };
    local format = rules.format;
    if !std.member(['PrometheusRule', 'GMPRules', 'none'], format) then error 'rules.format: must be "PrometheusRule", "GMPRules" or "none", got %s' % std.manifestJsonMinified(format)
    else {
      format: format,
      interval: rules.interval,
      intervalSeconds: seconds(rules.interval, 'rules.interval'),
      scrapeInterval: platform.scrapeInterval,
      labels: get(rules, 'labels', {}),
      alerts: [row(i, rules.alerts[i]) for i in std.range(0, std.length(rules.alerts) - 1)],
    },

  // The windows the alert table needs, shortest first, each once.
  windows(settings)::
    local all = std.flattenArrays([[[a.shortSeconds, a.shortWindow], [a.longSeconds, a.longWindow]] for a in settings.alerts]);
    local sorted = std.sort(all, function(w) w[0]);
    std.foldl(function(acc, w) if std.member([x[1] for x in acc], w[1]) then acc else acc + [w], sorted, []),

  recordName(window):: 'kujira_slo:sli_error:ratio_rate' + window,

  // Identity of an objective's series: unique across applications, environments and
  // objectives (like Sloth's sloth_id), plus what people route alerts on.
  identity(r, o)::
    local id = std.join('-', [r.application] + (if r.environment == null then [] else [r.environment]) + [o.name]);
    { kujira_slo_id: id, kujira_slo: o.name, application: r.application }
    + (if r.environment == null then {} else { environment: r.environment }),

  errorRatio(r, o, window)::
    local q = fill('1 - ((sum(%s) or on() vector(0)) / sum(%s))' % [o.good, o.total], { selector: r.slo.matchers.allPods, window: window });
    if std.length(std.findSubstr('$', q)) > 0
    then error 'SLO.Objectives.%s: unknown placeholder in %s (allowed: see docs/slo.md)' % [o.name, q]
    else q,

  // The selector of one objective's recorded series.
  local selector(labels) = '{kujira_slo_id="%s"}' % labels.kujira_slo_id,

  alert(r, o, a)::
    local labels = $.identity(r, o);
    local threshold = '(%s * %s)' % [std.toString(a.burnRate), o.allowed];
    local budgetSeconds = seconds(o.window, 'SLO.Objectives.%s.Window' % o.name);
    {
      alert: 'KujiraSLOErrorBudgetBurn',
      expr: '(%s%s > %s) and (%s%s > %s)' % [
        $.recordName(a.longWindow), selector(labels), threshold,
        $.recordName(a.shortWindow), selector(labels), threshold,
      ],
      // The identity too, although the expression's result has it: rules differing only
      // in their expression would be duplicates (promtool check rules says so).
      labels: labels {
        severity: a.severity,
        slack_channel: r.slack.channel,
        long_window: a.longWindow,
        short_window: a.shortWindow,
        burn_rate: std.toString(a.burnRate),
      },
      annotations: {
        summary: '%s: SLO %s is burning its error budget %sx too fast' % [r.application, o.name, std.toString(a.burnRate)],
        description: 'SLO %s of %s%s (%s%% over %s): more than %sx the allowed error ratio (%s) over the last %s and the last %s. At that rate the whole %s budget is spent in %s.' % [
          o.name,
          r.application,
          if r.environment == null then '' else ' in ' + r.environment,
          o.objectivePercent,
          o.window,
          std.toString(a.burnRate),
          o.allowed,
          a.longWindow,
          a.shortWindow,
          o.window,
          inWords(budgetSeconds / a.burnRate),
        ],
      },
    },

  // The rule groups of release `r`: one per objective, its recordings first, then its
  // alerts. Prometheus evaluates a group's rules in order, so the alerts read this
  // evaluation's ratios; in separate groups (as Sloth writes them) they would read those
  // of an earlier evaluation.
  groups(r)::
    if r.slo == null || r.sloRules == null || r.sloRules.alerts == [] then []
    else
      local st = r.sloRules;
      std.flattenArrays([
        local labels = $.identity(r, o);
        [{
          name: 'kujira-slo-' + labels.kujira_slo_id,
          interval: st.interval,
          rules: [
            {
              record: $.recordName(w[1]),
              expr: $.errorRatio(r, o, w[1]),
              labels: labels,
            }
            for w in $.windows(st)
          ] + [$.alert(r, o, a) for a in st.alerts],
        }]
        for o in r.slo.objectives
      ]),

  // The resource deployed with the application (format PrometheusRule or GMPRules), or
  // none. Unversioned like the AnalysisTemplate: a name-v002 beside name-v001 would
  // evaluate every rule twice.
  manifests(r)::
    local groups = $.groups(r);
    if groups == [] || r.sloRules.format == 'none' then []
    else [{
      apiVersion: if r.sloRules.format == 'GMPRules' then 'monitoring.googleapis.com/v1' else 'monitoring.coreos.com/v1',
      kind: if r.sloRules.format == 'GMPRules' then 'Rules' else 'PrometheusRule',
      metadata: kube.metadata(r.application + '-slo-rules', r.namespace,
                              r.sloRules.labels { 'kujira-gen.io/application': r.application },
                              { 'strategy.spinnaker.io/versioned': 'false' }),
      spec: { groups: groups },
    }],
}
