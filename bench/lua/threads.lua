-- Numbers wrk's threads 0, 1, 2 ... (`tid` in each thread), so that each asks for records no
-- other thread asks for. Loaded by each scenario script before its own functions.
local next_thread = 0

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
end
