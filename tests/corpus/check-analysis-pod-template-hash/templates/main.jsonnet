// The Rollout's analyses take the hash from a ReplicaSet Argo Rollouts does not know by
// that name (only Latest and Stable), and an AnalysisTemplate asks for an argument the
// Rollout does not give.
local builtin = import 'builtin/main.jsonnet';
local edit(m) =
  if m.kind == 'Rollout' then m + { spec+: { strategy+: { blueGreen+: {
    prePromotionAnalysis+: { args: [{ name: 'pod-template-hash', valueFrom: { podTemplateHashValue: 'Preview' } }] },
  } } } }
  else if m.kind == 'AnalysisTemplate' then m + { spec+: { args+: [{ name: 'service' }] } }
  else m;
local editStage(s) = if s.type == 'deployManifest' then s + { manifests: [edit(m) for m in s.manifests] } else s;
function(values) builtin(values) + {
  pipelines: [p + { stages: [editStage(s) for s in p.stages] } for p in super.pipelines],
}
