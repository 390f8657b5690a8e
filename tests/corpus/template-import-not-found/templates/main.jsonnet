local lib = import 'lib/missing.libsonnet';
function(values) lib
