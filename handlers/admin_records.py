"""Admin writes of checksums, PREMIS events and storage records."""

from models import record_writes
from registry.spec import ADMIN_SPEC
from registry.web.locations import Location, created
from registry.web.threads import run_write

SHOW_CHECKSUM = Location(ADMIN_SPEC, "show_checksum")
SHOW_EVENT = Location(ADMIN_SPEC, "show_event")
SHOW_STORAGE_RECORD = Location(ADMIN_SPEC, "show_storage_record")


async def create_checksum(caller, institution_id: int, body: dict):
    record = await run_write(record_writes.create_checksum, caller, institution_id, body)
    return created(record, SHOW_CHECKSUM)


async def create_event(caller, body: dict):
    return created(await run_write(record_writes.create_event, caller, body), SHOW_EVENT)


async def create_storage_record(caller, institution_id: int, body: dict):
    record = await run_write(record_writes.create_storage_record, caller, institution_id, body)
    return created(record, SHOW_STORAGE_RECORD)
