// kujira-gen entry point: function(values) { application, pipelines }.
//
// `values` is a team's value.json (validated against schemas/value.schema.json) plus
// `_kujira: { source: <value file path from the repository root>,
//             files: { <path as written in the value file>: <contents> } }`.
local normalize = import 'release/values.libsonnet';
local release = import 'release/pipeline.libsonnet';

function(values)
  local r = normalize(values);
  {
    application: release.application(r),
    pipelines: [release.pipeline(r)],
  }
