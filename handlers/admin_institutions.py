"""Institutions (admin API): create, update and deactivate; each answers the institution."""

from models import institution_writes as writes
from registry.spec import ADMIN_SPEC
from registry.web.locations import Location, created
from registry.web.responses import json_response
from registry.web.threads import run_write

SHOW_INSTITUTION = Location(ADMIN_SPEC, "show_institution")


async def create_institution(caller, body: dict):
    view = await run_write(writes.create_institution, caller, body)
    return created(view, SHOW_INSTITUTION)


async def update_institution(caller, id: int, body: dict):
    return json_response(await run_write(writes.update_institution, caller, id, body))


async def deactivate_institution(caller, id: int):
    return json_response(await run_write(writes.deactivate_institution, caller, id))
