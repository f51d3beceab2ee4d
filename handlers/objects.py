"""Intellectual objects: list and show."""

from handlers.common import list_response, show_response
from models.intellectual_object import OBJECTS


async def list_objects(caller, target, **params):
    return await list_response(OBJECTS, caller, params, target)


async def show_object(caller, id: str):
    return await show_response(OBJECTS.get, caller, id)
