"""A file with everything recorded about it: checksums, PREMIS events, storage records."""

from models.caller import Caller
from models.checksum import CHECKSUM_RECORDS
from models.file_views import FILE_RECORDS
from models.premis_event import EVENT_RECORDS
from models.storage.db import connection
from models.storage_record import STORAGE_RECORDS


def file_detail(caller: Caller, key: str) -> dict:
    with connection():
        record = FILE_RECORDS.get(caller, key)
        file_id = record["id"]
        record["premis_events"] = EVENT_RECORDS.related("generic_file_id", file_id)
        record["checksums"] = CHECKSUM_RECORDS.related("generic_file_id", file_id)
        record["storage_records"] = STORAGE_RECORDS.related("generic_file_id", file_id)
    return record
