"""Work items: list and show."""

from handlers.common import list_response, show_response
from models.work_item import ITEMS


async def list_items(caller, target, **params):
    return await list_response(ITEMS, caller, params, target)


async def show_item(caller, id: int):
    return await show_response(ITEMS.get, caller, id)
