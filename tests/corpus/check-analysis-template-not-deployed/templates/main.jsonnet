// The AnalysisTemplate and the canary Service are left out of the Deploy stage.
local builtin = import 'builtin/main.jsonnet';
local keep(m) = !(m.kind == 'AnalysisTemplate' || (m.kind == 'Service' && m.metadata.name == 'shop-canary'));
local editStage(s) = if s.type == 'deployManifest' then s + { manifests: [m for m in s.manifests if keep(m)] } else s;
function(values) builtin(values) + {
  pipelines: [p + { stages: [editStage(s) for s in p.stages] } for p in super.pipelines],
}
