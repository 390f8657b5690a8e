// A template that names the expected artifact as the value file writes a Docker Hub image,
// and puts that name in the pod template: Spinnaker names it index.docker.io/myorg/shop.
local builtin = import 'builtin/main.jsonnet';
local short(p) = p + {
  expectedArtifacts: [a + { matchArtifact+: { name: 'myorg/shop' } } for a in p.expectedArtifacts],
};
function(values) builtin(values) + {
  pipelines: [short(p) for p in super.pipelines],
}
