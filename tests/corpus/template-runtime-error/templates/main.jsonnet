function(values)
  if values.Repo == 'github' then error 'github is not supported here' else {}
