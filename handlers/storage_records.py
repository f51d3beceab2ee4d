"""Storage records (admin API): list and show."""

from handlers.common import list_response, show_response
from models.storage_record import STORAGE_RECORDS


async def list_storage_records(caller, target, **params):
    return await list_response(STORAGE_RECORDS, caller, params, target)


async def show_storage_record(caller, id: int):
    return await show_response(STORAGE_RECORDS.get, caller, id)
