-- apollo's wrk script for the ops load scenario (ops-profile/apollo.py): a mix of reads and writes of apollo's
-- real resource (/v1/items), so the load exercises routing, JSON, SQLite
-- reads and SQLite writes, not only a cheap health check.
--   per 10 requests: 1 POST (a new, uniquely named item), 1 PATCH of a seeded
--   item, 1 list (GET /v1/items?limit=20), 7 GETs of seeded items.
-- Arguments after "--": a run token (keeps names unique across runs and
-- ports), then the ids of the seeded items. The toolkit appends its done()
-- (phoenix_rpm/ops/report.lua), which prints the figures it parses.
local token = "run"
local ids = {}
local counter = 0
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tag", tostring(nthreads))
end

function init(args)
  token = args[1] or token
  for i = 2, #args do ids[#ids + 1] = args[i] end
  if #ids == 0 then error("mix.lua: no item ids given after the run token") end
end

local json = {["Content-Type"] = "application/json"}

function request()
  counter = counter + 1
  local r = counter % 10
  local id = ids[(counter % #ids) + 1]
  if r == 0 then
    local body = string.format('{"item": {"name": "load-%s-%s-%d", "value": {"n": %d}}}',
                               token, tag or "1", counter, counter)
    return wrk.format("POST", "/v1/items", json, body)
  elseif r == 3 then
    return wrk.format("PATCH", "/v1/items/" .. id, json,
                      string.format('{"value": {"patched": %d}}', counter))
  elseif r == 5 then
    return wrk.format("GET", "/v1/items?limit=20")
  end
  return wrk.format("GET", "/v1/items/" .. id)
end
