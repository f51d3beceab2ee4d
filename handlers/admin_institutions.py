"""Institutions (admin API): create, update and deactivate; each answers the institution."""

from models import institution_writes as writes
from models.institution import INSTITUTIONS
from registry.locations import Location, created
from registry.responses import json_response
from registry.spec import ADMIN_SPEC
from registry.threads import run_write

SHOW_INSTITUTION = Location(ADMIN_SPEC, "show_institution")


def _write_then_read(caller, write, *args) -> dict:
    """Run the write (its own transaction), then read the view as the caller sees it."""
    return INSTITUTIONS.get(caller, write(*args))


async def create_institution(caller, body: dict):
    view = await run_write(_write_then_read, caller, writes.create_institution, body)
    return created(view, SHOW_INSTITUTION)


async def update_institution(caller, id: int, body: dict):
    return json_response(await run_write(
        _write_then_read, caller, writes.update_institution, id, body))


async def deactivate_institution(caller, id: int):
    return json_response(await run_write(
        _write_then_read, caller, writes.deactivate_institution, id))
