"""Restoration requests: the member API's only write."""

from models.restore import restore_file, restore_object
from registry.spec import MEMBER_SPEC
from registry.web.locations import Location, created
from registry.web.threads import run_write

SHOW_ITEM = Location(MEMBER_SPEC, "show_item")


async def request_object_restore(caller, id: str):
    return created(await run_write(restore_object, caller, id), SHOW_ITEM)


async def request_file_restore(caller, id: str):
    return created(await run_write(restore_file, caller, id), SHOW_ITEM)
