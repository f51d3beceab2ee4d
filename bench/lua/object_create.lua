-- Each request creates a new intellectual object of one institution, named by the run's tag,
-- wrk's thread and a counter. Arguments: the institution's id, its identifier, the tag.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "threads.lua")

function init(args)
  path = "/admin-api/v3/objects/create/" .. args[1]
  prefix = args[2] .. "/wbench-" .. args[3]
  counter = 0
end

function request()
  counter = counter + 1
  local identifier = string.format("%s-%d-%d", prefix, tid, counter)
  local body = string.format('{"identifier":"%s","title":"Write bench %d-%d"}', identifier, tid,
                             counter)
  return wrk.format("POST", path, nil, body)
end
