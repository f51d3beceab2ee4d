-- Each request asks for the restore of a different object of institution 1, so that no request
-- meets the pending restore of an earlier one (which would be a 409). Arguments: the number of
-- institutions (objects are spread round-robin), the number of objects, wrk's thread count, and
-- where in institution 1's objects this turn starts (each turn takes fresh objects: requests
-- still in flight when the previous turn ended may leave a restore pending).
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
  local k = (offset + tid + threads * counter) % per_institution
  counter = counter + 1
  local path = string.format("/member-api/v3/objects/inst1.bench.edu/bag-%08d/restore",
                             1 + step * k)
  return wrk.format("POST", path)
end
