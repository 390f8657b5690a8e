function(values) {
  application: { name: values.Application,
}
