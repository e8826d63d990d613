-- wrk script: POST /api/v1/assets with a unique name per request (thread id + counter).
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id
end

function request()
  counter = counter + 1
  local body = string.format('{"kind":"dataset","name":"load-%d-%d-%d","sensitivity":"internal","lifecycle":"development","environment":"development"}', thread_id, counter, math.random(1, 1000000000))
  -- wrk.format replaces wrk.headers when given headers: copy them (the -H authorization) first.
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["content-type"] = "application/json"
  return wrk.format("POST", nil, headers, body)
end
