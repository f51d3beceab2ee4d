-- Each request creates one new file, with one checksum and one storage record, in one object.
-- Identifier and UUID are made of the run's tag (a number), wrk's thread and a counter.
-- Arguments: the institution's id, the object's id, the object's identifier, the tag.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "threads.lua")

function init(args)
  path = "/admin-api/v3/files/create/" .. args[1]
  object_id = args[2]
  prefix = args[3] .. "/wbench-" .. args[4]
  tag = tonumber(args[4])
  counter = 0
end

function request()
  counter = counter + 1
  local key = string.format("%08x-%04x-4000-8000-%012x", tag, tid, counter)
  local body = string.format(
    '{"identifier":"%s-%d-%d.bin","intellectual_object_id":%s,' ..
    '"file_format":"application/octet-stream","size":%d,"uuid":"%s",' ..
    '"checksums":[{"algorithm":"sha256","datetime":"2024-05-01T12:00:00Z",' ..
    '"digest":"%s"}],' ..
    '"storage_records":[{"url":"https://s3.example.org/preservation/%s"}]}',
    prefix, tid, counter, object_id, 1000 + counter, key,
    string.rep(string.format("%08x", counter), 8), key)
  return wrk.format("POST", path, nil, body)
end
