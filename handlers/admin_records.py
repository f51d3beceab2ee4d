"""Admin writes of checksums, PREMIS events and storage records."""

from models import record_writes
from registry.web.responses import json_response
from registry.web.threads import run_write

BASE = "/admin-api/v3"


def _created(record: dict, path: str):
    return json_response(record, 201, headers={"Location": f"{BASE}/{path}/{record['id']}"})


async def create_checksum(caller, institution_id: int, body: dict):
    record = await run_write(record_writes.create_checksum, caller, institution_id, body)
    return _created(record, "checksums/show")


async def create_event(caller, body: dict):
    return _created(await run_write(record_writes.create_event, caller, body),
                    "events/show")


async def create_storage_record(caller, institution_id: int, body: dict):
    record = await run_write(record_writes.create_storage_record, caller,
                                     institution_id, body)
    return _created(record, "storage_records/show")
