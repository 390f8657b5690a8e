// SLO-gated releases: the Argo Rollouts analysis of the new version's metrics, the
// error-budget gate, and the canary strategy. Pure functions of a team's normalized SLO
// settings (`normalize`, below) and the normalized release `r` (values.libsonnet).
// Design, formulas and the upstream behaviour relied on: docs/slo.md.
//
// Every PromQL query is built from "good" and "total" request rates, each a query with
// two placeholders: `$window` (the range the rates are computed over) and `$selector`
// (label matchers choosing the measured pods). The SLI over a range is
//
//   sum(good) / sum(total)
//
// and every generated query returns exactly one sample: the SLI, or -1 when there is no
// data (no series, or no requests: 0/0 is NaN, which `>= 0` drops). So a measurement is
// never an error because of an empty answer, and conditions only compare `result[0]`
// (Argo Rollouts gives a vector's values to the conditions as a list of floats:
// metricproviders/prometheus/prometheus.go `processResponse`).
local kube = import '../lib/kube.libsonnet';
local config = import '../config.libsonnet';
local defaultPlatform = import '../slo-platform.libsonnet';

local get(o, k, default) = if o != null && std.objectHas(o, k) then o[k] else default;

// Replaces each `$name` of `values` in `text`; longer names first, so that `$le` never
// eats the start of a longer placeholder.
local fill(text, values) =
  local names = std.sort(std.objectFields(values), function(n) -std.length(n));
  std.foldl(function(s, n) std.strReplace(s, '$' + n, values[n]), names, text);

local noPlaceholderLeft(text, what) =
  if std.length(std.findSubstr('$', text)) > 0
  then error '%s: unknown placeholder in %s (allowed: see docs/slo.md)' % [what, text]
  else text;

local pad(s, width) = std.repeat('0', width - std.length(s)) + s;
local trimZeros(s) = std.rstripChars(s, '0');

// A number with at most `decimals` decimals as exact decimal digits: 99.9 -> 999000 with
// decimals = 4. Computing thresholds from these integers keeps them exact (99.9 / 100 is
// 0.9990000000000001 in floating point, which a measured 0.999 would fail).
local scaled(x, decimals, what) =
  local factor = std.pow(10, decimals);
  local n = std.floor(x * factor + 0.5);
  if std.abs(x * factor - n) > 1e-6 then error '%s: %s has more than %d decimals' % [what, std.toString(x), decimals]
  else n;

// n / 10^decimals as a decimal string without trailing zeros: (999000, 6) -> "0.999".
local decimalString(n, decimals) =
  local factor = std.pow(10, decimals);
  local whole = std.floor(n / factor);
  local frac = trimZeros(pad(std.toString(n - whole * factor), decimals));
  std.toString(whole) + (if frac == '' then '' else '.' + frac);

// Go's strconv.FormatFloat(x, 'g', -1, 64) of a decimal string such as "0.00005" or
// "1000000" (what Go's and Python's clients write for very small or large bucket bounds,
// and Prometheus 3 keeps): an exponent when it is below -4 or at least 6, else `text`.
local goFloat(text) =
  local parts = std.split(text, '.');
  local whole = parts[0];
  local frac = if std.length(parts) > 1 then parts[1] else '';
  local digits = whole + frac;
  local lead = std.length(digits) - std.length(std.lstripChars(digits, '0'));
  local significant = std.rstripChars(std.lstripChars(digits, '0'), '0');
  local exp = std.length(whole) - 1 - lead;
  local mantissa = significant[0] + (if std.length(significant) > 1 then '.' + significant[1:] else '');
  local e = std.abs(exp);
  if significant == '' || (exp >= -4 && exp < 6) then text
  else mantissa + 'e' + (if exp < 0 then '-' else '+') + (if e < 10 then '0' else '') + std.toString(e);

// The `le` label of a histogram bucket at `seconds`, as a regular expression in a PromQL
// string matching every spelling a client or server writes: Go's client writes 1 as "1"
// and 0.00005 as "5e-05", Python's 1 as "1.0", and Prometheus 3 rewrites every classic
// bucket bound to its OpenMetrics form, with ".0" after a whole number ("1" -> "1.0";
// Prometheus v3 model/textparse/promparse.go and openmetricsparse.go
// `normalizeFloatsInLabelValues`). So 1 matches `1(\.0)?`, 0.3 only `0\.3`.
local leRegex(seconds, what) =
  local text = decimalString(scaled(seconds, 6, what), 6);
  local whole = std.length(std.findSubstr('.', text)) == 0;
  local escape(t) = std.strReplace(std.strReplace(t, '.', '\\\\.'), '+', '\\\\+');
  local decimal = escape(text) + (if whole then '(\\\\.0)?' else '');
  if goFloat(text) == text then decimal else decimal + '|' + escape(goFloat(text));

local analysisArg = 'pod-template-hash';
local tokenArg = 'prometheus-token';

local objective(name, o, platform, r) =
  local what = 'SLO.Objectives.' + name;
  // The objective in ten-thousandths of a percent is the fraction of good requests
  // needed in parts per million: 99.9 -> 999000.
  local ppm = scaled(o.Objective, 4, what + '.Objective');
  local threshold = get(o, 'ThresholdSeconds', null);
  local fromMetric = std.objectHas(o, 'Metric');
  local labels = get(o, 'Labels', {});
  // In a template, `$selector` is the service's matchers, the SLO's labels, then the pod
  // matcher (left as `$selector` until the query is built for a context).
  local templateSelector = std.join(',', [fill(platform.serviceMatchers, { namespace: r.namespace, application: r.application })]
                                         + ['%s="%s"' % [k, labels[k]] for k in std.objectFields(labels)]
                                         + ['$selector']);
  local templates = platform.queryTemplates[if o.Type == 'Latency' then 'latency' else 'availability'];
  local fromTemplate(t) = fill(t, {
    metric: o.Metric,
    le: if threshold == null then '$le' else leRegex(threshold, what + '.ThresholdSeconds'),
    selector: templateSelector,
  });
  {
    name: name,
    type: o.Type,
    objectivePercent: decimalString(ppm, 4),
    // The SLI must reach `target`; the error budget is the fraction `allowed` of bad requests.
    target: decimalString(ppm, 6),
    allowed: decimalString(1000000 - ppm, 6),
    window: get(o, 'Window', '28d'),
    thresholdSeconds: threshold,
    good: if fromMetric then fromTemplate(templates.good) else o.Good,
    total: if fromMetric then fromTemplate(templates.total) else o.Total,
    // Below this many requests a measurement is no evidence either way (Inconclusive).
    minRequests: get(o, 'MinRequests', platform.analysis.minRequests),
  };

{
  // The platform's settings: `.kujira/slo.json` (null when absent) merged over the
  // built-in defaults of slo-platform.libsonnet, key by key (a JSON merge patch).
  platform(file):: if file == null then defaultPlatform else std.mergePatch(defaultPlatform, file),

  // The value file's `SLO` (null when absent) with every default applied, against the
  // platform's settings (`platform` above). Defaults are those documented in
  // schemas/value.schema.json ($defs/SLO) and schemas/platform-slo.schema.json.
  normalize(values, r, platform=defaultPlatform)::
    if values == null then null
    else if get(platform, 'provider', null) == null then
      error 'SLO: the platform has no metric provider. The platform team sets `provider` (address and auth of the Prometheus HTTP API) in .kujira/slo.json (docs/slo.md, "Platform settings").'
    else
      local analysis = get(values, 'Analysis', {});
      local auth = get(platform.provider, 'auth', { type: 'none' });
      {
        objectives: [objective(name, values.Objectives[name], platform, r) for name in std.objectFields(values.Objectives)],
        previewAnalysis: get(values, 'PreviewAnalysis', true),
        postPromotionAnalysis: get(values, 'PostPromotionAnalysis', true),
        budgetGate: get(values, 'ErrorBudgetGate', true),
        analysis: platform.analysis {
          interval: get(analysis, 'Interval', platform.analysis.interval),
          count: get(analysis, 'Count', platform.analysis.count),
          timeoutSeconds: get(platform.analysis, 'timeoutSeconds', 30),
        },
        provider: {
          // Argo Rollouts' Prometheus provider cannot authenticate to Google: with
          // workload identity the controller reads the frontend proxy.
          analysisAddress: if auth.type == 'gcpWorkloadIdentity' then auth.analysisAddress else platform.provider.address,
          budgetAddress: platform.provider.address,
          auth: auth,
          insecure: get(platform.provider, 'insecure', false),
        },
        matchers: {
          pods: fill(platform.podMatcher, { hash: '{{args.%s}}' % analysisArg, rollout: r.application }),
          allPods: fill(platform.allPodsMatcher, { rollout: r.application }),
        },
        scrapeInterval: platform.scrapeInterval,
        budget: {
          timeoutSeconds: platform.budget.timeoutSeconds,
          image: get(platform.budget, 'image', config.images.kubectl),
        },
      },

  // The value file's `Canary` (null when absent), normalized.
  normalizeCanary(values)::
    if values == null then null
    else
      local weights = [s.Weight for s in values.Steps];
      if weights != std.sort(weights) || std.length(std.set(weights)) != std.length(weights)
      then error 'Canary.Steps: weights must increase from step to step, got %s' % std.toString(weights)
      else {
        steps: [{ weight: s.Weight, pause: get(s, 'Pause', null) } for s in values.Steps],
        analysis: get(values, 'Analysis', 'Steps'),
        httpRoute: get(get(values, 'TrafficRouting', null), 'HTTPRoute', null),
      },

  names(r):: {
    analysisTemplate: r.application + '-slo',
    // Canary background analysis: the same metrics, measured until the rollout ends.
    backgroundTemplate: r.application + '-slo-background',
    canaryService: r.application + '-canary',
    stableService: r.application,
    // The containers whose logs hold the jobs' outputs (the stages' `propertyFile`).
    budgetContainer: 'budget',
    analysisContainer: 'analysis',
  },

  // The name of the Rollout's analysis argument carrying the measured pod-template hash,
  // and of the Gateway API traffic router plugin (as the plugin registers itself).
  analysisArg:: analysisArg,
  gatewayApiPlugin:: 'argoproj-labs/gatewayAPI',

  // The SLI of objective `o` over `window` for the series `selector` matches: one sample,
  // the ratio of good to total requests, or -1 without data. A good series that does not
  // exist (no request has succeeded: client libraries create a label set on its first
  // request) counts as 0, so an all-failing service reads 0, not "no data".
  sli(o, selector, window)::
    local q = fill('(((sum(%s) or on() vector(0)) / sum(%s)) >= 0) or on() vector(-1)' % [o.good, o.total], { selector: selector, window: window });
    noPlaceholderLeft(q, 'SLO.Objectives.' + o.name),

  // `query` with every call of rate( or increase( turned into max_over_time(: over a
  // counter, the largest value in the range, which for series of the measured pods
  // (created on their first request, after the pods started) is the number of requests
  // they served since they started, their first sample included. rate() and increase()
  // never count a series' first sample, so a burst of failures between two scrapes that
  // creates a `code="500"` series would be invisible to them (docs/slo.md, "Counting").
  countingQuery(query)::
    local replaceCall(text, name) =
      local at = std.findSubstr(name + '(', text);
      local word(c) = std.length(std.findSubstr(c, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:')) > 0;
      local calls = [i for i in at if i == 0 || !word(text[i - 1])];
      local starts = [0] + [i + std.length(name) for i in calls];
      local ends = calls + [std.length(text)];
      std.join('max_over_time', [text[starts[k]:ends[k]] for k in std.range(0, std.length(starts) - 1)]);
    replaceCall(replaceCall(query, 'increase'), 'rate'),

  // The analysis query: over the measured ReplicaSet's pods (their hash comes in as the
  // analysis argument), the requests they served since they started, good (a missing
  // series is 0) over total. One sample: the SLI when at least `minRequests` requests
  // were counted, otherwise -1 - (requests counted), so -1 is "no request at all" and
  // -4 "3 requests" (docs/slo.md, "No pass without evidence").
  analysisQuery(s, o)::
    local good = 'sum(%s)' % $.countingQuery(o.good);
    local total = 'sum(%s)' % $.countingQuery(o.total);
    local q = fill('((%(good)s or on() vector(0)) / (%(total)s >= %(min)d)) or on() (-1 - (%(total)s or on() vector(0)))' % {
      good: good,
      total: total,
      min: o.minRequests,
    }, { selector: s.matchers.pods, window: s.analysis.window });
    noPlaceholderLeft(q, 'SLO.Objectives.' + o.name),

  // The error-budget query: every pod, over the SLO's window.
  budgetQuery(s, o):: $.sli(o, s.matchers.allPods, o.window),

  // Argo Rollouts `successCondition` / `failureCondition` (utils/evaluate/evaluate.go:
  // success and failure both false is Inconclusive). A negative result (too few
  // requests) is neither: never a pass without evidence.
  conditions(s, o):: {
    successCondition: 'result[0] >= ' + o.target,
    failureCondition: 'result[0] >= 0 && result[0] < ' + o.target,
  },

  analysisMetric(s, o, counted=true):: {
    name: o.name,
    interval: s.analysis.interval,
    failureLimit: s.analysis.failureLimit,
    // Measurements before the traffic arrives are Inconclusive (too few requests); only
    // `count` of them in a row make the metric Inconclusive: a metric is Successful after
    // `count` measurements with at least one success and no failure beyond failureLimit
    // (analysis/analysis.go assessMetricStatus). Counts are cumulative, so once the
    // traffic has come every later measurement judges all of it.
    inconclusiveLimit: s.analysis.count - 1,
    consecutiveErrorLimit: s.analysis.consecutiveErrorLimit,
    provider: {
      prometheus: {
        address: s.provider.analysisAddress,
        query: $.analysisQuery(s, o),
        timeout: s.analysis.timeoutSeconds,
      } + (if s.provider.insecure then { insecure: true } else {})
        + (if s.provider.auth.type == 'bearer'
           then { headers: [{ key: 'Authorization', value: 'Bearer {{args.%s}}' % tokenArg }] }
           else {}),
    },
  } + $.conditions(s, o)
    + (if counted then { count: s.analysis.count } else {}),

  // One metric per objective. Without `count` (background analysis) each metric measures
  // every interval until the Rollout ends the run.
  analysisTemplate(r, s, name, counted=true):: {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: kube.metadata(name, r.namespace, { 'kujira-gen.io/application': r.application }, {
      // The Rollout names it: deployed in place, never as name-v001 (like the Rollout, a
      // kind Clouddriver does not know).
      'strategy.spinnaker.io/versioned': 'false',
    }),
    spec: {
      args: [{ name: analysisArg }]
            + (if s.provider.auth.type == 'bearer'
               then [{ name: tokenArg, valueFrom: { secretKeyRef: { name: s.provider.auth.secret, key: s.provider.auth.key } } }]
               else []),
      metrics: [$.analysisMetric(s, o, counted) for o in s.objectives],
    },
  },

  // The AnalysisTemplates the Rollout refers to, for the Deploy stage. `c` is the
  // normalized canary (null for blue-green).
  analysisTemplates(r, s, c=null)::
    if s == null then []
    else
      // A background analysis is followed by a counted one before the last step (see
      // `canary`), which uses the counted template.
      local counted = if c == null then s.previewAnalysis || s.postPromotionAnalysis else s.previewAnalysis;
      local background = c != null && s.previewAnalysis && c.analysis == 'Background';
      (if counted then [$.analysisTemplate(r, s, $.names(r).analysisTemplate)] else [])
      + (if background then [$.analysisTemplate(r, s, $.names(r).backgroundTemplate, counted=false)] else []),

  // A Rollout's reference to an analysis of the newest ReplicaSet's pods: the preview
  // before promotion, the promoted version after it, the canary (utils/analysis/factory.go
  // `BuildArgumentsForRolloutAnalysisRun`: `Latest` is the new ReplicaSet, `Stable` the
  // stable one; any other value leaves the argument empty, silently).
  analysisRef(r, template):: {
    templates: [{ templateName: template }],
    args: [{ name: analysisArg, valueFrom: { podTemplateHashValue: 'Latest' } }],
  },

  // Fields to add to the Rollout's `spec.strategy.blueGreen`.
  blueGreen(r, s)::
    if s == null then {}
    else (if s.previewAnalysis then { prePromotionAnalysis: $.analysisRef(r, $.names(r).analysisTemplate) } else {})
         + (if s.postPromotionAnalysis then { postPromotionAnalysis: $.analysisRef(r, $.names(r).analysisTemplate) } else {}),

  // The Rollout's `spec.strategy.canary`. `s` may be null (weights and pauses only).
  // `testFirst`: pause once the canary runs, so that the pipeline tests it (through the
  // canary Service) before the next step; with the Gateway API router that is before any
  // real traffic (one canary pod at weight 0), without it at the first weight.
  canary(r, s, c, testFirst=false)::
    local n = $.names(r);
    local routed = c.httpRoute != null;
    local analyse = s != null && s.previewAnalysis;
    local perStep = analyse && c.analysis == 'Steps';
    local weightSteps(i, st) =
      [{ setWeight: st.weight }]
      + (if testFirst && !routed && i == 0 then [{ pause: {} }] else [])
      + (if perStep then [{ analysis: $.analysisRef(r, n.analysisTemplate) }] else [])
      + (if st.pause == null then [] else [{ pause: { duration: st.pause } }]);
    local before = if testFirst && routed
    then [{ setCanaryScale: { replicas: 1 } }, { pause: {} }, { setCanaryScale: { matchTrafficWeight: true } }]
    else [];
    // A background analysis ends with the rollout, Successful whatever it measured
    // (analysis/analysis.go assessMetricStatus: "run terminated"): a canary with too
    // little traffic would be promoted unmeasured. So the last weight is followed by a
    // counted analysis of the same SLOs, which must end Successful before the canary
    // becomes stable.
    local finalCheck = if analyse && !perStep then [{ analysis: $.analysisRef(r, n.analysisTemplate) }] else [];
    {
      canaryService: n.canaryService,
      steps: before + std.flattenArrays([weightSteps(i, c.steps[i]) for i in std.range(0, std.length(c.steps) - 1)]) + finalCheck,
    }
    + (if routed then {
         stableService: n.stableService,
         trafficRouting: { plugins: { [$.gatewayApiPlugin]: { httpRoute: c.httpRoute, namespace: r.namespace } } },
       } else {})
    + (if analyse && !perStep then {
         analysis: $.analysisRef(r, n.backgroundTemplate) { startingStep: std.length(before) },
       } else {}),

  // --- The error-budget gate -------------------------------------------------------

  // The pipeline parameter that lets a release through an exhausted budget: its value is
  // the reason, recorded in the execution (parameters) and in the job's outputs.
  overrideParameter:: {
    name: 'budgetOverride',
    label: 'Error-budget override',
    description: 'Deploy even though an error budget is exhausted: write why (for example the incident this release fixes). Leave empty otherwise.',
    required: false,
    default: '',
    hasOptions: false,
    options: [],
    pinned: false,
  },

  // The keys the budget job prints (lower case: Clouddriver lower-cases them).
  budgetOutputs(s):: {
    result: 'budget_result',  // passed, blocked, overridden
    exhausted: 'budget_exhausted',  // names of exhausted SLOs, comma-separated, or none
    message: 'budget_message',  // one line for people (Slack)
    overrideReason: 'budget_override_reason',  // only when overridden
    perObjective: {
      [o.name]: {
        status: 'budget_%s_status' % o.name,  // ok, exhausted, no_data, short_data, error
        spentPercent: 'budget_%s_spent_percent' % o.name,  // e.g. 42.5, or no_data / short_data / error
        window: 'budget_%s_window' % o.name,
      }
      for o in s.objectives
    },
  },

  // POSIX shell (sh, curl, jq 1.6+). Orca evaluates `${...}` in a Run Job's
  // manifest, and the kubelet expands `$(NAME)` of known variables and `$$` in args:
  // neither appears here.
  budgetScript(s)::
    local out = $.budgetOutputs(s);
    local quote(text) = "'" + std.strReplace(text, "'", "'\\''") + "'";
    local check(o) =
      local k = out.perObjective[o.name];
      |||
        measure %(name)s %(window)s %(objective)s %(target)s %(allowed)s %(query)s %(windowSeconds)d
        echo "SPINNAKER_PROPERTY_%(status)s=$status"
        echo "SPINNAKER_PROPERTY_%(spent)s=$spent"
        echo "SPINNAKER_PROPERTY_%(windowKey)s=%(window)s"
      ||| % {
        name: o.name,
        window: o.window,
        objective: o.objectivePercent,
        target: o.target,
        allowed: o.allowed,
        query: quote($.budgetQuery(s, o)),
        status: k.status,
        spent: k.spentPercent,
        windowKey: k.window,
        windowSeconds: $.windowSeconds(o.window),
      };
    |||
      set -u
      insecure=
      if [ "$INSECURE" = true ]; then insecure=-k; fi
      token=
      case "$AUTH" in
        bearer)
          token=$TOKEN
          ;;
        gcpWorkloadIdentity)
          token=$(curl -sS --fail --max-time 30 -H 'Metadata-Flavor: Google' "$METADATA_TOKEN_URL" | jq -r '.access_token // empty') || token=
          if [ -z "$token" ]; then
            echo "Cannot get an access token from the GKE metadata server ($METADATA_TOKEN_URL): is the job's service account bound to a Google service account (Workload Identity)?"
          fi
          ;;
      esac

      # Prints the single value of an instant query (the generated queries always answer
      # one sample), or fails with Prometheus' answer.
      query() {
        if [ -n "$token" ]; then
          answer=$(curl -sS $insecure --max-time "$QUERY_TIMEOUT_SECONDS" -H "Authorization: Bearer $token" --data-urlencode "query=$1" "$PROMETHEUS_URL/api/v1/query" 2>&1) || { echo "$answer"; return 1; }
        else
          answer=$(curl -sS $insecure --max-time "$QUERY_TIMEOUT_SECONDS" --data-urlencode "query=$1" "$PROMETHEUS_URL/api/v1/query" 2>&1) || { echo "$answer"; return 1; }
        fi
        printf '%%s' "$answer" | jq -er 'if .status == "success" and .data.resultType == "vector" and (.data.result | length) == 1 then .data.result[0].value[1] else error("unexpected answer") end' 2>/dev/null || { echo "$answer" | head -c 500; return 1; }
      }

      # How much data the provider keeps, "15d 1296000" (as Prometheus says it, and in
      # seconds), or empty when it does not say: Prometheus answers GET
      # /api/v1/status/flags with its flags, where storage.tsdb.retention.time "0s" and no
      # size limit mean the 15d default (web/api/v1, cmd/prometheus/main.go); Managed
      # Prometheus and other Prometheus-API servers do not answer it.
      if [ -n "$token" ]; then
        flags=$(curl -sS $insecure --fail --max-time "$QUERY_TIMEOUT_SECONDS" -H "Authorization: Bearer $token" "$PROMETHEUS_URL/api/v1/status/flags" 2>/dev/null) || flags=
      else
        flags=$(curl -sS $insecure --fail --max-time "$QUERY_TIMEOUT_SECONDS" "$PROMETHEUS_URL/api/v1/status/flags" 2>/dev/null) || flags=
      fi
      kept=$(printf '%%s' "$flags" | jq -r '
        def seconds: [scan("([0-9]+)(ms|y|w|d|h|m|s)") | (.[0] | tonumber) * ({"ms": 0, "y": 31536000, "w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}[.[1]])] | add // 0;
        (.data["storage.tsdb.retention.time"] // "") as $time
        | (.data["storage.tsdb.retention.size"] // "0B") as $size
        | if $time == "" then empty
          elif ($time | seconds) > 0 then $time + " " + ($time | seconds | tostring)
          elif $size == "0B" then "15d 1296000"
          else empty end' 2>/dev/null) || kept=
      kept_text=$(echo "$kept" | cut -d' ' -f1)
      kept_seconds=$(echo "$kept" | cut -d' ' -s -f2)

      exhausted=
      errors=
      summary=
      # measure NAME WINDOW OBJECTIVE TARGET ALLOWED QUERY WINDOW_SECONDS: sets status and
      # spent. spent = (1 - SLI) / ALLOWED, in percent of the budget; exhausted when the
      # SLI is at or below TARGET (docs/slo.md, "Error budget"). A window longer than the
      # data the provider keeps cannot be judged: rate() over it silently covers less.
      measure() {
        if [ -n "$kept_seconds" ] && [ "$kept_seconds" -lt "$7" ]; then
          verdict="short_data short_data"
          echo "$1: $PROMETHEUS_URL keeps $kept_text of data, less than the $2 window."
        elif value=$(query "$6"); then
          verdict=$(jq -nr --arg v "$value" --arg target "$4" --arg allowed "$5" '
            ($v | tonumber) as $sli
            | if $sli < 0 then "no_data no_data"
              else (((1 - $sli) / ($allowed | tonumber) * 1000 | round) / 10) as $spent
              | (if $sli <= ($target | tonumber) then "exhausted" else "ok" end) + " " + ($spent | tostring)
              end') || verdict="error error"
        else
          echo "$1: querying $PROMETHEUS_URL failed: $value"
          verdict="error error"
        fi
        status=$(echo "$verdict" | cut -d' ' -f1)
        spent=$(echo "$verdict" | cut -d' ' -f2)
        case "$status" in
          exhausted)
            exhausted="$exhausted,$1"
            summary="$summary $1 spent $spent%% of its $2 budget (objective $3%%);"
            ;;
          ok)
            summary="$summary $1 spent $spent%% of its $2 budget;"
            ;;
          no_data)
            summary="$summary $1 had no requests in $2;"
            ;;
          short_data)
            errors="$errors,$1"
            summary="$summary $1 cannot be judged: the metric provider keeps $kept_text of data, less than its $2 window;"
            ;;
          *)
            errors="$errors,$1"
            summary="$summary $1 could not be measured;"
            ;;
        esac
        echo "SLO $1 (objective $3%% over $2): $status, $spent%% of the error budget spent."
      }

      %(checks)s
      exhausted=$(echo "$exhausted" | sed 's/^,//')
      errors=$(echo "$errors" | sed 's/^,//')
      reason=$(printf '%%s' "$BUDGET_OVERRIDE" | tr '\r\n\t' '   ' | sed 's/^ *//; s/ *$//')
      summary=$(echo "$summary" | sed 's/^ //; s/;$//')
      if [ -z "$exhausted" ] && [ -z "$errors" ]; then
        result=passed
        message="Error budgets left: $summary."
      elif [ -n "$reason" ]; then
        result=overridden
        message="Error budget gate overridden ($reason): $summary."
      else
        result=blocked
        if [ -n "$exhausted" ]; then
          message="Error budget exhausted: $summary. To release anyway, start the pipeline with the parameter %(parameter)s set to the reason."
        else
          message="Error budgets could not be checked ($errors): $summary. To release anyway, start the pipeline with the parameter %(parameter)s set to the reason."
        fi
      fi
      echo "SPINNAKER_PROPERTY_%(exhausted)s=$(if [ -n "$exhausted" ]; then echo "$exhausted"; else echo none; fi)"
      echo "SPINNAKER_PROPERTY_%(result)s=$result"
      echo "SPINNAKER_PROPERTY_%(message)s=$message"
      if [ "$result" = overridden ]; then
        echo "SPINNAKER_PROPERTY_%(reason)s=$reason"
      fi
      echo "$message"
      if [ "$result" = blocked ]; then
        exit 1
      fi
      exit 0
    ||| % {
      checks: std.join('', [check(o) for o in s.objectives]),
      parameter: $.overrideParameter.name,
      exhausted: out.exhausted,
      result: out.result,
      message: out.message,
      reason: out.overrideReason,
    },

  // The Run Job checking every objective's remaining error budget; exits 1 when one is
  // exhausted (or cannot be measured) unless `override` is non-empty. `override` is what
  // the pipeline passes: "${parameters['budgetOverride'] ?: ''}" (the Elvis operator,
  // because an expression evaluating to null would leave its own text, non-empty, behind).
  budgetJob(r, s, override=''):: kube.job(
    r.application + '-error-budget-', r.namespace,
    { 'kujira-gen.io/application': r.application, 'kujira-gen.io/step': 'error-budget' },
    [kube.container(
      $.names(r).budgetContainer, s.budget.image, command=['/bin/sh', '-c'], args=[$.budgetScript(s)],
      env=[
        { name: 'PROMETHEUS_URL', value: std.rstripChars(s.provider.budgetAddress, '/') },
        { name: 'AUTH', value: s.provider.auth.type },
        { name: 'INSECURE', value: std.toString(s.provider.insecure) },
        { name: 'QUERY_TIMEOUT_SECONDS', value: std.toString(std.max(5, std.floor(s.budget.timeoutSeconds / 5))) },
        { name: 'BUDGET_OVERRIDE', value: override },
      ] + (if s.provider.auth.type == 'bearer'
           then [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: s.provider.auth.secret, key: s.provider.auth.key } } }]
           else [])
        + (if s.provider.auth.type == 'gcpWorkloadIdentity'
           then [{ name: 'METADATA_TOKEN_URL', value: 'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token' }]
           else []),
      resources=config.jobResources,
    )],
    serviceAccountName=if s.provider.auth.type == 'gcpWorkloadIdentity' then s.provider.auth.serviceAccount else null,
    activeDeadlineSeconds=s.budget.timeoutSeconds,
    ttlSecondsAfterFinished=config.jobTtlSecondsAfterFinished,
  ),

  // --- The analysis result, for the pipeline ----------------------------------------

  // Where the Rollout's status names the AnalysisRun of each kind (pkg/apis/rollouts/
  // v1alpha1/types.go: BlueGreenStatus, CanaryStatus).
  analysisStatus:: {
    prePromotion: '.status.blueGreen.prePromotionAnalysisRunStatus',
    postPromotion: '.status.blueGreen.postPromotionAnalysisRunStatus',
    canaryStep: '.status.canary.currentStepAnalysisRunStatus',
    canaryBackground: '.status.canary.currentBackgroundAnalysisRunStatus',
  },

  // The keys the analysis wait jobs print.
  analysisOutputs:: {
    result: 'analysis_result',  // successful, failed, error, inconclusive, aborted, timeout
    slo: 'analysis_slo',  // the SLO (metric) that did not pass, or none
    measured: 'analysis_measured',  // e.g. 99.5%, no data, error, or none
    threshold: 'analysis_threshold',  // e.g. at least 99.9% of requests succeeding, or none
    message: 'analysis_message',  // one line for people (Slack)
  },

  // How many times the scenario test runs its collection so that the measured version
  // gets each objective's minRequests from it: ceil(most minRequests / requests in one
  // run of the collection). A Postman collection (v2) nests folders in `item`; an item
  // with a `request` is one request (collections that jump with setNextRequest send
  // another number: the analysis then says how many it counted). 1 without an analysis
  // of the version under test.
  testIterations(s, collection)::
    local count(items) = std.foldl(function(n, i)
                                     n + (if std.objectHas(i, 'request') then 1 else 0)
                                     + (if std.objectHas(i, 'item') && std.isArray(i.item) then count(i.item) else 0),
                                   items, 0);
    local parsed = std.parseJson(collection);
    local perRun = if std.isObject(parsed) && std.objectHas(parsed, 'item') && std.isArray(parsed.item)
    then count(parsed.item) else 0;
    local most = if s == null then 0 else std.foldl(std.max, [o.minRequests for o in s.objectives], 0);
    if s == null || !s.previewAnalysis || perRun == 0 then 1
    else std.max(1, std.ceil(most / perRun)),

  // Seconds of an SLO window such as 28d, 720h or 4w (schemas: Window).
  windowSeconds(w)::
    local n = std.parseInt(w[:std.length(w) - 1]);
    local unit = w[std.length(w) - 1];
    n * (if unit == 'w' then 604800 else if unit == 'd' then 86400 else 3600),

  // Seconds of a duration such as 30s, 5m or 2h (schemas: Duration).
  seconds(d)::
    local n = std.parseInt(d[:std.length(d) - 1]);
    local unit = d[std.length(d) - 1];
    n * (if unit == 'h' then 3600 else if unit == 'm' then 60 else 1),

  // How long one analysis may take: `count` measurements `interval` apart, plus the
  // retries of erroneous measurements (10 s each, up to consecutiveErrorLimit + 1 in a
  // row: analysis/analysis.go DefaultErrorRetryInterval) and a margin.
  analysisSeconds(s)::
    $.seconds(s.analysis.interval) * s.analysis.count + 10 * (s.analysis.consecutiveErrorLimit + 1) + 120,

  // The deadline of a job waiting for one analysis: at least the wait for the preview's,
  // and long enough for the analysis, the margin the script keeps (60 s) included.
  analysisDeadlineSeconds(s):: std.max(config.timeouts.waitForPreviewSeconds, $.analysisSeconds(s) + 300),

  // The deadline of the job that waits for every canary step: each weight's pods becoming
  // ready (up to 5 min), its pause and its analysis.
  canaryDeadlineSeconds(s, c)::
    local perStep = s != null && s.previewAnalysis && c.analysis == 'Steps';
    600 + std.foldl(function(total, st)
                      total + 300 + (if st.pause == null then 0 else $.seconds(st.pause))
                      + (if perStep then $.analysisSeconds(s) else 0),
                    c.steps, 0),

  // What the SLO wait jobs say about each objective.
  local describedSlos(s) = {
    [o.name]: {
      sli: if o.type == 'Latency' && o.thresholdSeconds != null
      then 'of requests within %s s' % std.toString(o.thresholdSeconds)
      else if o.type == 'Latency' then 'of requests fast enough'
      else 'of requests succeeding',
      objective: o.objectivePercent + '%',
      minRequests: o.minRequests,
    }
    for o in s.objectives
  },

  // jq 1.6 program over an AnalysisRun's JSON (`--arg hash`: the measured ReplicaSet's
  // pod-template hash; `--argjson slos`): "running" while the run measures (or measures
  // another revision), else six lines: "done <exit status>", the result, the SLO that did
  // not pass, its last measurement of that phase, the threshold, a message for people.
  // Failed before Error before Inconclusive, as the run's own phase is the worst of its
  // metrics' (utils/analysis/helpers.go). `--argjson notBefore`: when not 0, a successful
  // run whose last measurement (metricResults[].measurements[].finishedAt) is older than
  // it did not measure everything the scenario test sent: "unmeasured". A measurement's value is the string the
  // Prometheus provider stores, `[v1,v2...]` (metricproviders/prometheus/prometheus.go).
  local reportProgram = |||
    def measured: if . == null then "no value"
      else (ltrimstr("[") | rtrimstr("]") | split(",")[0] | tonumber) as $v
      | if $v <= -2 then (-1 - $v | round) as $n | ($n | tostring) + (if $n == 1 then " request" else " requests" end)
        elif $v < 0 then "no data"
        else (($v * 100000 | round) / 1000 | tostring) + "%" end end;
    (.status.phase // "Running") as $phase
    | if (.metadata.labels["rollouts-pod-template-hash"] // "") != $hash then "running"
      elif ($phase == "Successful" or $phase == "Failed" or $phase == "Error" or $phase == "Inconclusive") | not then "running"
      else
        ([.status.metricResults[]? | select(.phase == "Failed")]
         + [.status.metricResults[]? | select(.phase == "Error")]
         + [.status.metricResults[]? | select(.phase == "Inconclusive")]) as $bad
        | ([.status.metricResults[]? | (.measurements // []) | last | (.finishedAt // "1970-01-01T00:00:00Z") | fromdateiso8601] | min // 0) as $last
        | if ($phase == "Successful" or ($bad | length) == 0) and $notBefore > 0 and $last < $notBefore then
            ["done 1", "unmeasured", "none", "none", "none",
             "The analysis " + .metadata.name + " took its last measurement at " + ($last | todate)
             + ", before the scenario test's last requests could be in the data (" + ($notBefore | todate)
             + "): part of what the test sent was not measured. The platform's analysis count x interval must last longer than the test (docs/slo.md, \"Timeline\")."]
          elif $phase == "Successful" or ($bad | length) == 0 then
            ["done 0", "successful", "none", "none", "none", "Every SLO was met (analysis " + .metadata.name + ")."]
          else
            $bad[0] as $m
            | ($slos[$m.name] // {sli: "", objective: "its objective", minRequests: 1}) as $slo
            | ([$m.measurements[]? | select(.phase == $m.phase)] | last) as $last
            | (if $m.phase == "Error" then "error" else ($last.value | measured) end) as $value
            | ("at least " + $slo.objective + " " + $slo.sli) as $threshold
            | ["done 1", ($phase | ascii_downcase), $m.name, $value, $threshold,
               "SLO " + $m.name
               + (if $m.phase == "Error" then " could not be measured: " + (($last.message // $m.message // "") | gsub("[\r\n]"; " "))
                  elif $value == "no data" then ": no requests were measured; it needs at least " + ($slo.minRequests | tostring) + " to judge the version"
                  elif ($value | test(" requests?$")) then ": only " + $value + " measured; it needs at least " + ($slo.minRequests | tostring) + " to judge the version"
                  else ": measured " + $value + " " + $slo.sli + ", needs at least " + $slo.objective end)
               + " (analysis " + .metadata.name + " " + $phase + ")."]
          end
        | .[]
      end
  |||,

  // Shell lines printing the report's properties and exiting with its status (`$report`
  // holds the six lines).
  local printReport(out) = |||
    echo "SPINNAKER_PROPERTY_%(result)s=$(echo "$report" | sed -n 2p)"
    echo "SPINNAKER_PROPERTY_%(slo)s=$(echo "$report" | sed -n 3p)"
    echo "SPINNAKER_PROPERTY_%(measured)s=$(echo "$report" | sed -n 4p)"
    echo "SPINNAKER_PROPERTY_%(threshold)s=$(echo "$report" | sed -n 5p)"
    echo "SPINNAKER_PROPERTY_%(message)s=$(echo "$report" | sed -n 6p)"
    echo "$report" | sed -n 6p
    exit "$(echo "$report" | sed -n 1p | cut -d' ' -f2)"
  ||| % out,

  // After a failed `kubectl get analysisrun` (its output in `$run`): a refusal will not
  // change by waiting, so it ends the job at once; anything else is retried.
  local forbidden = 'case "$run" in *Forbidden*|*forbidden*) ended error "Cannot read AnalysisRun $name: $(echo "$run" | tr \'\\n\' \' \')" ;; esac',

  // Shell lines reporting an end without an analysis result: `$1` the result, `$2` the
  // message (a function, `ended`).
  local endedFunction(out) = |||
    ended() {
      echo "SPINNAKER_PROPERTY_%(result)s=$1"
      echo "SPINNAKER_PROPERTY_%(slo)s=none"
      echo "SPINNAKER_PROPERTY_%(measured)s=none"
      echo "SPINNAKER_PROPERTY_%(threshold)s=none"
      echo "SPINNAKER_PROPERTY_%(message)s=$2"
      echo "$2"
      exit 1
    }
  ||| % out,

  // POSIX shell (sh, kubectl, jq 1.6+): waits until the AnalysisRun the Rollout's status
  // names (`which`: a field of analysisStatus) for the current revision has completed,
  // and reports which SLO failed, what was measured and what it needed. With
  // READY_REASON set, a successful analysis is reported only once the Rollout shows that
  // pause condition: the pre-promotion analysis is followed by the BlueGreenPause, which
  // the controller adds only after the analysis succeeded (rollout/bluegreen.go
  // reconcileBlueGreenPause), and a `promote` sent before it would find nothing to
  // resume. An Inconclusive run pauses the Rollout (InconclusiveAnalysis), a Failed or
  // Error one aborts it (rollout/analysis.go setPauseOrAbortForBlueGreen): both are
  // reported as not passed.
  analysisWaitScript(s, which)::
    local out = $.analysisOutputs;
    |||
      set -u
      %(ended)s
      deadline=$(($(date +%%s) + WAIT_SECONDS))
      # The scenario test ended before this job started: its requests are all in the data
      # one scrape interval later, and the analysis must have measured after that.
      not_before=0
      if [ "$MEASURED_AFTER_SECONDS" -gt 0 ]; then
        not_before=$(($(date +%%s) + MEASURED_AFTER_SECONDS))
      fi
      while [ "$(date +%%s)" -lt "$deadline" ]; do
        state=$(kubectl get rollout "$ROLLOUT" -n "$NAMESPACE" -o jsonpath='{.status.currentPodHash}|{%(status)s.name}|{.status.phase}|{.status.pauseConditions[*].reason}|{.status.message}') || state='||||'
        current=$(echo "$state" | cut -d'|' -f1)
        name=$(echo "$state" | cut -d'|' -f2)
        phase=$(echo "$state" | cut -d'|' -f3)
        reasons=$(echo "$state" | cut -d'|' -f4)
        message=$(echo "$state" | cut -d'|' -f5-)
        report=running
        if [ -n "$name" ]; then
          if run=$(kubectl get analysisrun "$name" -n "$NAMESPACE" -o json 2>&1); then
            report=$(printf '%%s' "$run" | jq -r --arg hash "$current" --argjson notBefore "$not_before" --argjson slos '%(slos)s' '%(program)s') || report=running
          else
            %(forbidden)s
          fi
        fi
        case "$report" in
          "done 0"*)
            case " $reasons " in
              *" $READY_REASON "*) ;;
              *) if [ -n "$READY_REASON" ]; then report=running; fi ;;
            esac
            ;;
        esac
        case "$report" in
          "done "*)
      %(print)s
            ;;
        esac
        if [ -z "$name" ] && [ "$phase" = Degraded ]; then
          ended aborted "$ROLLOUT is Degraded before its analysis started: $message"
        fi
        sleep "$POLL_SECONDS"
      done
      ended timeout "The analysis of $ROLLOUT did not complete within $WAIT_SECONDS s."
    ||| % {
      status: $.analysisStatus[which],
      slos: std.manifestJsonMinified(describedSlos(s)),
      program: std.strReplace(reportProgram, "'", "'\\''"),
      print: std.join('\n', ['        ' + l for l in std.split(std.rstripChars(printReport(out), '\n'), '\n')]),
      ended: std.rstripChars(endedFunction(out), '\n'),
      forbidden: forbidden,
    },

  // The Run Job running analysisWaitScript for the Rollout `rollout` as `serviceAccount`,
  // the release's (it reads the Rollout and the AnalysisRun: releaseRoleRules). Exits 0
  // when every SLO was met. Names come in as arguments so that manifests.libsonnet, which
  // names them, can import this file without an import cycle.
  analysisWaitJob(r, s, which, deadlineSeconds, rollout, serviceAccount, testFirst=false):: kube.job(
    r.application + '-analysis-', r.namespace,
    { 'kujira-gen.io/application': r.application, 'kujira-gen.io/step': 'analysis' },
    [kube.container(
      $.names(r).analysisContainer, config.images.kubectl, command=['/bin/sh', '-c'], args=[$.analysisWaitScript(s, which)],
      env=[
        { name: 'ROLLOUT', value: rollout },
        { name: 'NAMESPACE', value: r.namespace },
        // Stop 60 s before the deadline, so that the log can still be read.
        { name: 'WAIT_SECONDS', value: std.toString(deadlineSeconds - 60) },
        { name: 'POLL_SECONDS', value: '10' },
        { name: 'READY_REASON', value: if which == 'prePromotion' then 'BlueGreenPause' else '' },
        // The preview analysis measures the scenario test: it must measure after the
        // test's last requests were scraped.
        { name: 'MEASURED_AFTER_SECONDS', value: std.toString(if which == 'prePromotion' && testFirst then $.seconds(s.scrapeInterval) else 0) },
      ],
      resources=config.jobResources,
    )],
    serviceAccountName=serviceAccount,
    activeDeadlineSeconds=deadlineSeconds,
    ttlSecondsAfterFinished=config.jobTtlSecondsAfterFinished,
  ),

  // POSIX shell (sh, kubectl, jq 1.6+): waits until the canary release of the current
  // revision has gone through every step (the revision is then the stable one and the
  // Rollout Healthy: rollout/sync.go shouldFullPromote, "Completed all N canary steps"),
  // or has stopped: aborted (Degraded: a Failed or Error step or background analysis
  // aborts it, rollout/analysis.go), or paused by an Inconclusive analysis. It then
  // reports the analysis that stopped it, as analysisWaitScript does.
  canaryWaitScript(s)::
    local out = $.analysisOutputs;
    |||
      set -u
      %(ended)s
      deadline=$(($(date +%%s) + WAIT_SECONDS))
      not_before=0
      while [ "$(date +%%s)" -lt "$deadline" ]; do
        state=$(kubectl get rollout "$ROLLOUT" -n "$NAMESPACE" -o jsonpath='{.status.currentPodHash}|{.status.stableRS}|{.status.canary.currentStepAnalysisRunStatus.name}|{.status.canary.currentBackgroundAnalysisRunStatus.name}|{.status.phase}|{.status.pauseConditions[*].reason}|{.status.message}') || state='||||||'
        current=$(echo "$state" | cut -d'|' -f1)
        stable=$(echo "$state" | cut -d'|' -f2)
        step_run=$(echo "$state" | cut -d'|' -f3)
        background_run=$(echo "$state" | cut -d'|' -f4)
        phase=$(echo "$state" | cut -d'|' -f5)
        reasons=$(echo "$state" | cut -d'|' -f6)
        message=$(echo "$state" | cut -d'|' -f7-)
        if [ -n "$current" ] && [ "$current" = "$stable" ] && [ "$phase" = Healthy ]; then
          echo "SPINNAKER_PROPERTY_%(result)s=successful"
          echo "SPINNAKER_PROPERTY_%(slo)s=none"
          echo "SPINNAKER_PROPERTY_%(measured)s=none"
          echo "SPINNAKER_PROPERTY_%(threshold)s=none"
          echo "SPINNAKER_PROPERTY_%(message)s=Every canary step passed its analysis: $ROLLOUT runs revision $current."
          echo "Every canary step passed its analysis: $ROLLOUT runs revision $current."
          exit 0
        fi
        stopped=no
        case " $reasons " in
          *" InconclusiveAnalysis "*) stopped=yes ;;
        esac
        if [ "$phase" = Degraded ]; then
          stopped=yes
        fi
        if [ "$stopped" = yes ]; then
          for name in $step_run $background_run; do
            if run=$(kubectl get analysisrun "$name" -n "$NAMESPACE" -o json 2>&1); then
              report=$(printf '%%s' "$run" | jq -r --arg hash "$current" --argjson notBefore "$not_before" --argjson slos '%(slos)s' '%(program)s') || report=running
              case "$report" in
                "done 1"*)
      %(print)s
                  ;;
              esac
            else
              %(forbidden)s
            fi
          done
          ended aborted "The canary release of $ROLLOUT stopped ($phase): $message"
        fi
        sleep "$POLL_SECONDS"
      done
      ended timeout "The canary release of $ROLLOUT did not complete within $WAIT_SECONDS s."
    ||| % {
      slos: std.manifestJsonMinified(describedSlos(s)),
      program: std.strReplace(reportProgram, "'", "'\\''"),
      print: std.join('\n', ['            ' + l for l in std.split(std.rstripChars(printReport(out), '\n'), '\n')]),
      ended: std.rstripChars(endedFunction(out), '\n'),
      forbidden: forbidden,
      result: out.result,
      slo: out.slo,
      measured: out.measured,
      threshold: out.threshold,
      message: out.message,
    },

  // The Run Job running canaryWaitScript (see analysisWaitJob).
  canaryWaitJob(r, s, c, rollout, serviceAccount)::
    local deadline = $.canaryDeadlineSeconds(s, c);
    kube.job(
      r.application + '-canary-', r.namespace,
      { 'kujira-gen.io/application': r.application, 'kujira-gen.io/step': 'canary' },
      [kube.container(
        $.names(r).analysisContainer, config.images.kubectl, command=['/bin/sh', '-c'], args=[$.canaryWaitScript(s)],
        env=[
          { name: 'ROLLOUT', value: rollout },
          { name: 'NAMESPACE', value: r.namespace },
          { name: 'WAIT_SECONDS', value: std.toString(deadline - 60) },
          { name: 'POLL_SECONDS', value: '10' },
        ],
        resources=config.jobResources,
      )],
      serviceAccountName=serviceAccount,
      activeDeadlineSeconds=deadline,
      ttlSecondsAfterFinished=config.jobTtlSecondsAfterFinished,
    ),

  // Rules the release jobs' Role needs on top of manifests.libsonnet's to read the
  // AnalysisRun named in the Rollout's status (docs/slo.md, "Permissions").
  releaseRoleRules:: [
    { apiGroups: ['argoproj.io'], resources: ['analysisruns'], verbs: ['get'] },
  ],
}
