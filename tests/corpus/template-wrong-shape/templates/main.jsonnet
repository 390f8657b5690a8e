function(values) [values.Application]
