"""The member API's deletion flow: an institutional admin asks for, approves or cancels a
deletion (models.deletion_writes)."""

from models import deletion_writes
from registry.spec import MEMBER_SPEC
from registry.web.locations import Location, created
from registry.web.responses import json_response
from registry.web.threads import run_write

SHOW_DELETION = Location(MEMBER_SPEC, "show_deletion")


async def request_object_deletion(caller, id: str):
    return created(
        await run_write(deletion_writes.request_object_deletion, caller, id), SHOW_DELETION
    )


async def request_file_deletion(caller, id: str):
    return created(
        await run_write(deletion_writes.request_file_deletion, caller, id), SHOW_DELETION
    )


async def approve_deletion(caller, id: int):
    return json_response(await run_write(deletion_writes.approve_deletion, caller, id))


async def cancel_deletion(caller, id: int):
    return json_response(await run_write(deletion_writes.cancel_deletion, caller, id))
