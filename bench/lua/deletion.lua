-- Each request asks for the deletion of a different object of institution 1, from the last
-- object down (restore requests take them from the first up). Objects whose generated work
-- item is still pending (number ending in 7: bench/generate.py ITEM_STATES) are skipped, as
-- their deletion is rightly refused (409). Arguments: the number of institutions, the number of
-- objects, wrk's thread count, and where this turn starts counting down.
local next_thread = 0

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  step = tonumber(args[1])
  per_institution = math.floor(tonumber(args[2]) / step)
  threads = tonumber(args[3])
  offset = tonumber(args[4]) or 0
  counter = 0
end

function request()
  local n
  repeat
    local k = per_institution - 1 - (offset + tid + threads * counter) % per_institution
    counter = counter + 1
    n = 1 + step * k
  until n % 10 ~= 7
  local path = string.format("/member-api/v3/objects/inst1.bench.edu/bag-%08d/delete", n)
  return wrk.format("POST", path)
end
