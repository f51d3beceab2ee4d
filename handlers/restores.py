"""Restoration requests: the member API's only write."""

from models.restore import restore_file, restore_object
from registry.web.responses import json_response
from registry.web.threads import run_write

ITEM_PATH = "/member-api/v3/items/show/{}"


async def _created(restore, caller, key):
    item = await run_write(restore, caller, key)
    return json_response(item, 201, headers={"Location": ITEM_PATH.format(item["id"])})


async def request_object_restore(caller, id: str):
    return await _created(restore_object, caller, id)


async def request_file_restore(caller, id: str):
    return await _created(restore_file, caller, id)
