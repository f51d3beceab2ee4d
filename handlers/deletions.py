"""Deletion requests: list and show, with the derived approval status."""

from handlers.common import list_response, show_response
from models.deletion_request import DELETIONS


async def list_deletions(caller, target, **params):
    return await list_response(DELETIONS, caller, params, target)


async def show_deletion(caller, id: int):
    return await show_response(DELETIONS.get, caller, id)
