-- A member's request about a different object of institution 1 each time: `restore` takes the
-- objects from the first up, `delete` from the last down, skipping those whose generated work
-- item is still pending (number ending in 7: bench/generate.py ITEM_STATES), whose deletion is
-- rightly refused (409). No request meets the pending request of an earlier one (a 409).
-- Arguments: the number of institutions (objects are spread round-robin), the number of
-- objects, wrk's thread count, where in institution 1's objects this turn starts (each turn
-- takes fresh objects), and the action (`restore` or `delete`).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "threads.lua")

function init(args)
  step = tonumber(args[1])
  per_institution = math.floor(tonumber(args[2]) / step)
  threads = tonumber(args[3])
  offset = tonumber(args[4]) or 0
  action = args[5] or "restore"
  counter = 0
end

function request()
  local n
  repeat
    local k = (offset + tid + threads * counter) % per_institution
    counter = counter + 1
    if action == "delete" then
      k = per_institution - 1 - k
    end
    n = 1 + step * k
  until action ~= "delete" or n % 10 ~= 7
  local path = string.format("/member-api/v3/objects/inst1.bench.edu/bag-%08d/%s", n, action)
  return wrk.format("POST", path)
end
