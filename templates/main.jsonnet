// kujira-gen entry point: function(values) { application, pipelines }.
//
// `values` is a team's value.json (validated against schemas/value.schema.json), with the
// platform's defaults (`.kujira/defaults.json`) filled in, plus `_kujira`:
//   source: the value file's path from the repository root;
//   files: { <path as written in the value file>: <contents> } of the files it names;
//   environments: [{ name, values }], in release order: each environment's name (null for
//     a file without `Environments`) and the values that apply to it (top-level keys with
//     the environment's own applied; see src/values/environments.rs);
//   platformDefaults: the top-level keys the platform filled in.
// A template called without `_kujira.environments` renders one environment from `values`.
local normalize = import 'release/values.libsonnet';
local release = import 'release/pipeline.libsonnet';
local config = import 'config.libsonnet';
local sloRules = import 'release/slo_rules.libsonnet';

function(values)
  local kujira = if std.objectHas(values, '_kujira') then values._kujira else {};
  local environments =
    if std.objectHas(kujira, 'environments') then kujira.environments
    else [{ name: null, values: values }];
  local pipelineName(env) = if env.name == null then config.pipelineName else '%s-%s' % [config.pipelineName, env.name];
  local releases = [
    normalize(environments[i].values + { _kujira: kujira }) + {
      environment: environments[i].name,
      pipelineName: pipelineName(environments[i]),
      // Each environment after the first is started by the one before it, when that one
      // succeeded, with the image it released.
      previousPipeline: if i == 0 then null else pipelineName(environments[i - 1]),
    }
    for i in std.range(0, std.length(environments) - 1)
  ];
  // The SLOs' rules of every environment, for `build -o` to write as a Prometheus rule
  // file (release/slo_rules.libsonnet); absent without SLOs.
  local ruleGroups = std.flattenArrays([sloRules.groups(r) for r in releases]);
  {
    application: release.application(releases[0]),
    pipelines: [release.pipeline(r) for r in releases],
  } + (if ruleGroups == [] then {} else { sloRules: { groups: ruleGroups } })
