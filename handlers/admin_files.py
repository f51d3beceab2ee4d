"""Admin writes of generic files: create (one or a batch), update, delete."""

from models import file_writes
from registry.web.responses import json_response
from registry.web.threads import run_write

FILE_PATH = "/admin-api/v3/files/show/{}"


async def create_file(caller, institution_id: int, body: dict):
    record = await run_write(file_writes.create_file, caller, institution_id, body)
    return json_response(record, 201, headers={"Location": FILE_PATH.format(record["id"])})


async def create_file_batch(caller, institution_id: int, parsed_body):
    # Up to 10,000 files: parsed once, by the body validator (registry/web/binding.py).
    created = await run_write(file_writes.create_files, caller, institution_id, parsed_body)
    return json_response({"count": len(created), "next": "", "previous": "",
                          "results": created}, 201)


async def update_file(caller, id: int, body: dict):
    return json_response(await run_write(file_writes.update_file, caller, id, body))


async def delete_file(caller, id: int):
    return json_response(await run_write(file_writes.delete_file, caller, id))
