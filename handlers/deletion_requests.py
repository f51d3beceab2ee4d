"""The member API's deletion flow: an institutional admin asks for, approves or cancels a
deletion (models.deletion_writes)."""

from models import deletion_writes
from registry.web.responses import json_response
from registry.web.threads import run_write

DELETION_PATH = "/member-api/v3/deletions/show/{}"


async def _created(write, caller, key):
    request = await run_write(write, caller, key)
    return json_response(request, 201, headers={"Location": DELETION_PATH.format(request["id"])})


async def request_object_deletion(caller, id: str):
    return await _created(deletion_writes.request_object_deletion, caller, id)


async def request_file_deletion(caller, id: str):
    return await _created(deletion_writes.request_file_deletion, caller, id)


async def approve_deletion(caller, id: int):
    return json_response(await run_write(deletion_writes.approve_deletion, caller, id))


async def cancel_deletion(caller, id: int):
    return json_response(await run_write(deletion_writes.cancel_deletion, caller, id))
