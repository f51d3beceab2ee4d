"""Institutions (admin API): list and show by id or identifier."""

from handlers.common import list_response, show_response
from models.institution import INSTITUTIONS


async def list_institutions(caller, target, **params):
    return await list_response(INSTITUTIONS, caller, params, target)


async def show_institution(caller, id: str):
    return await show_response(INSTITUTIONS.get, caller, id)
