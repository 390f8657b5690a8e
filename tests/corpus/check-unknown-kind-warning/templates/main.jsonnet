// Wraps the built-in templates and breaks one manifest of the Deploy stage.
local builtin = import 'builtin/main.jsonnet';
local edit(m) = m;
local editStage(s) = if s.type == 'deployManifest' then s + { manifests: [edit(m) for m in s.manifests] + [{ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'shop', namespace: 'shop' }, spec: {} }] } else s;
function(values) builtin(values) + {
  pipelines: [p + { stages: [editStage(s) for s in p.stages] } for p in super.pipelines],
}
