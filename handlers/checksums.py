"""Checksums: list and show."""

from handlers.common import list_response, show_response
from models.checksum import CHECKSUMS


async def list_checksums(caller, target, **params):
    return await list_response(CHECKSUMS, caller, params, target)


async def show_checksum(caller, id: int):
    return await show_response(CHECKSUMS.get, caller, id)
