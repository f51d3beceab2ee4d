"""PREMIS events: list and show (by id or event identifier)."""

from handlers.common import list_response, show_response
from models.premis_event import EVENTS


async def list_events(caller, target, **params):
    return await list_response(EVENTS, caller, params, target)


async def show_event(caller, id: str):
    return await show_response(EVENTS.get, caller, id)
