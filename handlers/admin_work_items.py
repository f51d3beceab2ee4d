"""Admin writes of work items: create, update, and requeue."""

from models import work_item_writes
from registry.spec import ADMIN_SPEC
from registry.web.locations import Location, created
from registry.web.responses import json_response
from registry.web.threads import run_write

SHOW_ITEM = Location(ADMIN_SPEC, "show_item")


async def create_work_item(caller, institution_id: int, body: dict):
    item = await run_write(work_item_writes.create_work_item, caller, institution_id, body)
    return created(item, SHOW_ITEM)


async def update_work_item(caller, id: int, body: dict):
    return json_response(await run_write(work_item_writes.update_work_item, caller, id, body))


async def requeue_work_item(caller, id: int, body: dict):
    return json_response(
        await run_write(work_item_writes.requeue_work_item, caller, id, body["stage"])
    )
