function(values) {
  application: { name: values.Owner },
  pipelines: [],
}
