"""Generic files: list (with latest digests) and show (with checksums, events, storage)."""

from handlers.common import list_response, show_response
from models.file_detail import file_detail
from models.file_views import FILES


async def list_files(caller, target, **params):
    return await list_response(FILES, caller, params, target)


async def show_file(caller, id: str):
    return await show_response(file_detail, caller, id)
