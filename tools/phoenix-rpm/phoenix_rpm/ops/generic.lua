-- The generic wrk script of the ops load scenario, for a project without an
-- ops profile (phoenix_rpm.ops.profile): every request is a GET of the health
-- check path. Arguments after "--": a run token, then the path.
local path = "/healthcheck"

function init(args)
  path = args[2] or path
end

function request()
  return wrk.format("GET", path)
end
