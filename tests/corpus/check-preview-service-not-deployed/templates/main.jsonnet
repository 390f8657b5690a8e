// Wraps the built-in templates and breaks one manifest of the Deploy stage.
local builtin = import 'builtin/main.jsonnet';
local edit(m) = if m.kind == 'Service' && m.metadata.name == 'shop-preview' then m + { metadata+: { name: 'shop-canary' } } else m;
local editStage(s) = if s.type == 'deployManifest' then s + { manifests: [edit(m) for m in s.manifests] } else s;
function(values) builtin(values) + {
  pipelines: [p + { stages: [editStage(s) for s in p.stages] } for p in super.pipelines],
}
