// A pipeline that names another application.
local builtin = import 'builtin/main.jsonnet';
function(values) builtin(values) + {
  pipelines: [p + { application: 'other' } for p in super.pipelines],
}
