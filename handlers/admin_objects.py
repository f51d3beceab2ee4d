"""Admin writes of intellectual objects: create, update, delete, and queue a restore."""
from starlette.concurrency import run_in_threadpool

from models import object_writes
from models.restore import restore_object
from registry.responses import json_response

OBJECT_PATH = "/admin-api/v3/objects/show/{}"
ITEM_PATH = "/admin-api/v3/items/show/{}"


async def create_object(caller, institution_id: int, body: dict):
    obj = await run_in_threadpool(object_writes.create_object, caller, institution_id, body)
    return json_response(obj, 201, headers={"Location": OBJECT_PATH.format(obj["id"])})


async def update_object(caller, id: int, body: dict):
    return json_response(await run_in_threadpool(object_writes.update_object, caller, id, body))


async def delete_object(caller, id: int):
    return json_response(await run_in_threadpool(object_writes.delete_object, caller, id))


async def init_object_restore(caller, id: int):
    # The member API's restore request, made by a sysadmin: one rule set for both APIs.
    item = await run_in_threadpool(restore_object, caller, str(id))
    return json_response(item, 201, headers={"Location": ITEM_PATH.format(item["id"])})
