// The pod template back in the Rollout, as kujira-gen generated it before: Clouddriver
// binds no artifact into a Rollout, so the Deploy stage fails on the required image.
local builtin = import 'builtin/main.jsonnet';
local editStage(s) = if s.type == 'deployManifest' then s + {
  local template = [m for m in s.manifests if m.kind == 'Deployment'][0].spec.template,
  manifests: [
    if m.kind == 'Rollout' then m + { spec: { [k]: m.spec[k] for k in std.objectFields(m.spec) if k != 'workloadRef' } + { template: template } } else m
    for m in s.manifests
    if m.kind != 'Deployment'
  ],
} else s;
function(values) builtin(values) + {
  pipelines: [p + { stages: [editStage(s) for s in p.stages] } for p in super.pipelines],
}
