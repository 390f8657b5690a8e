// `kujira-gen slo status` entry point: function(values) -> what to measure for a team.
//
// Called with exactly the input main.jsonnet gets (the value file with the platform's
// defaults and `_kujira`, see main.jsonnet), so that each environment's SLOs are
// normalized by the same code as its release, and the PromQL is the budget gate's own
// (slo.libsonnet `budgetQuery`, `sli`): the status reports what the gate would see.
//
// Result: { application, environments: [{ name, budgetGate, provider, objectives }] },
// environments without SLOs left out. Per objective:
//   budgetQuery   the gate's SLI over the SLO's window (-1: no requests; a missing good
//                 series counts as 0, so an all-failing service reads 0);
//   burnQuery     the same SLI over `burnWindow`, for the burn rate.
local normalize = import 'release/values.libsonnet';
local slo = import 'release/slo.libsonnet';

// The burn rate's window: the error ratio over the last hour against the allowed one
// (a fast-burn window, as in the Google SRE workbook's multiwindow alerts).
local burnWindow = '1h';

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
            burnQuery: slo.sli(o, r.slo.matchers.allPods, burnWindow),
          }
          for o in r.slo.objectives
        ],
      }
      for r in releases
      if r.slo != null
    ],
  }
