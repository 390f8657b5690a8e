// `kujira-gen slo status` entry point: function(values) -> what to measure for a team.
//
// Called with exactly the input main.jsonnet gets (the value file with the platform's
// defaults and `_kujira`, see main.jsonnet), so that each environment's SLOs are
// normalized by the same code as its release, and the PromQL is the budget gate's own
// (slo.libsonnet `budgetQuery`, `sli`): the status reports what the gate would see.
//
// Result: { application, environments: [{ name, budgetGate, provider, objectives }] },
// environments without SLOs left out. Per objective:
//   budgetQuery   the gate's SLI over the SLO's window (-1: no data);
//   burnQuery     the same SLI over `burnWindow`, for the burn rate;
//   *TrafficQuery 1 when the window saw requests, -1 when it saw none: a SLI query
//                 answering -1 with traffic means the good-request series does not
//                 exist (a counter created on the first success, so every request failed).
local normalize = import 'release/values.libsonnet';
local slo = import 'release/slo.libsonnet';

// The burn rate's window: the error ratio over the last hour against the allowed one
// (a fast-burn window, as in the Google SRE workbook's multiwindow alerts).
local burnWindow = '1h';

// An SLI whose good requests are its total requests: 1 with requests, -1 without.
local trafficQuery(o, selector, window) = slo.sli(o { good: o.total }, selector, window);

function(values)
  local kujira = if std.objectHas(values, '_kujira') then values._kujira else {};
  local environments =
    if std.objectHas(kujira, 'environments') then kujira.environments
    else [{ name: null, values: values }];
  local releases = [normalize(e.values + { _kujira: kujira }) + { environment: e.name } for e in environments];
  {
    application: releases[0].application,
    environments: [
      {
        name: r.environment,
        namespace: r.namespace,
        budgetGate: r.slo.budgetGate,
        provider: {
          address: r.slo.provider.budgetAddress,
          auth: r.slo.provider.auth,
          insecure: r.slo.provider.insecure,
        },
        objectives: [
          {
            name: o.name,
            type: o.type,
            objectivePercent: o.objectivePercent,
            target: o.target,
            allowed: o.allowed,
            window: o.window,
            burnWindow: burnWindow,
            budgetQuery: slo.budgetQuery(r.slo, o),
            budgetTrafficQuery: trafficQuery(o, r.slo.matchers.allPods, o.window),
            burnQuery: slo.sli(o, r.slo.matchers.allPods, burnWindow),
            burnTrafficQuery: trafficQuery(o, r.slo.matchers.allPods, burnWindow),
          }
          for o in r.slo.objectives
        ],
      }
      for r in releases
      if r.slo != null
    ],
  }
