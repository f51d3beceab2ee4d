"""Admin writes of generic files: create (one or a batch), update, delete."""

from models import file_writes
from registry.spec import ADMIN_SPEC
from registry.web.locations import Location, created
from registry.web.responses import json_response
from registry.web.threads import run_write

SHOW_FILE = Location(ADMIN_SPEC, "show_file")


async def create_file(caller, institution_id: int, body: dict):
    record = await run_write(file_writes.create_file, caller, institution_id, body)
    return created(record, SHOW_FILE)


async def create_file_batch(caller, institution_id: int, parsed_body):
    # Up to 10,000 files: parsed once, by the body validator (registry/web/binding.py).
    records = await run_write(file_writes.create_files, caller, institution_id, parsed_body)
    return json_response(
        {"count": len(records), "next": "", "previous": "", "results": records}, 201
    )


async def update_file(caller, id: int, body: dict):
    return json_response(await run_write(file_writes.update_file, caller, id, body))


async def delete_file(caller, id: int):
    return json_response(await run_write(file_writes.delete_file, caller, id))
