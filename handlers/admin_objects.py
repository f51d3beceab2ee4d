"""Admin writes of intellectual objects: create, update, delete, queue a restore, and file a
batch deletion request."""

from models import object_writes
from models.batch_deletion import init_batch_delete as file_batch_deletion
from models.restore import restore_object
from registry.spec import ADMIN_SPEC
from registry.web.locations import Location, created
from registry.web.responses import json_response
from registry.web.threads import run_write

SHOW_OBJECT = Location(ADMIN_SPEC, "show_object")
SHOW_ITEM = Location(ADMIN_SPEC, "show_item")
SHOW_DELETION = Location(ADMIN_SPEC, "show_deletion")


async def create_object(caller, institution_id: int, body: dict):
    obj = await run_write(object_writes.create_object, caller, institution_id, body)
    return created(obj, SHOW_OBJECT)


async def update_object(caller, id: int, body: dict):
    return json_response(await run_write(object_writes.update_object, caller, id, body))


async def delete_object(caller, id: int):
    return json_response(await run_write(object_writes.delete_object, caller, id))


async def init_object_restore(caller, id: int):
    # The member API's restore request, made by a sysadmin: one rule set for both APIs.
    item = await run_write(restore_object, caller, str(id))
    return created(item, SHOW_ITEM)


async def init_batch_delete(caller, body: dict, settings):
    # The shared secret comes from the settings the app was created with.
    request = await run_write(file_batch_deletion, caller, body, settings.batch_deletion_key)
    return created(request, SHOW_DELETION)
