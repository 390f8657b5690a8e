// Adds a second pipeline whose name differs from the first only in case.
local builtin = import 'builtin/main.jsonnet';
function(values) builtin(values) + {
  pipelines: super.pipelines + [super.pipelines[0] + { name: 'Release' }],
}
