-- wrk script: POST the JSON body given after `--`, with every `%s` replaced by a value unique to
-- this request (thread number, counter, random), so create endpoints never see a duplicate name.
-- Keeps wrk's -H headers (wrk.format replaces them when given its own table).
local counter = 0
local thread_id = 0
local template = "{}"
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id
  template = args[1] or template
end

function request()
  counter = counter + 1
  local unique = string.format("%d-%d-%d", thread_id, counter, math.random(1, 1000000000))
  local body = template:gsub("%%s", unique)
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["content-type"] = "application/json"
  return wrk.format("POST", nil, headers, body)
end
