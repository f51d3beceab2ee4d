"""Restoration requests: a member asks for an object or a file back.

A request becomes one work item (stage Requested, status Pending) that the restore services pick
up. At most one restore of the same object (or file) may be pending at a time; the database
enforces it with partial unique indexes (migration 2), so two simultaneous requests cannot
both succeed, whichever process or server they reach.
"""

from __future__ import annotations

import peewee

from models.caller import Caller
from models.enums import COMPLETED_STATUSES, GLACIER_ONLY
from models.errors import Conflict, NotFound, quoted
from models.file_views import FILE_RECORDS
from models.institution import Institution
from models.intellectual_object import OBJECTS, IntellectualObject
from models.storage.base import utcnow
from models.storage.db import connection, database, write_transaction
from models.work_item import ITEMS, WorkItem

OBJECT_RESTORES = ("Restore Object", "Glacier Restore")


def restore_object(caller: Caller, key: str) -> dict:
    with connection():
        obj = OBJECTS.find(caller, key)
        if obj is None:
            raise NotFound(f"No intellectual object matches {quoted(key)}")
        if obj["state"] == "D":
            raise Conflict(f"Object {obj['identifier']} is deleted and cannot be restored")
        action = "Glacier Restore" if obj["storage_option"] in GLACIER_ONLY else "Restore Object"
        item_id = _create(caller, obj["id"], None, action, obj["size"], obj["identifier"])
        return ITEMS.find_by(caller, id=item_id)


def restore_file(caller: Caller, key: str) -> dict:
    with connection():
        record = FILE_RECORDS.find(caller, key)
        if record is None:
            raise NotFound(f"No generic file matches {quoted(key)}")
        if record["state"] == "D":
            raise Conflict(f"File {record['identifier']} is deleted and cannot be restored")
        item_id = _create(
            caller,
            record["intellectual_object_id"],
            record["id"],
            "Restore File",
            record["size"],
            record["identifier"],
        )
        return ITEMS.find_by(caller, id=item_id)


def _create(caller, object_id, file_id, action, size, identifier) -> int:
    now = utcnow()
    with write_transaction():
        source = ingest_source(object_id)
        try:
            with database.atomic():  # a savepoint: PostgreSQL needs one to survive the error
                return WorkItem.insert(
                    intellectual_object=object_id,
                    generic_file=file_id,
                    institution=source["institution_id"],
                    name=source["name"],
                    bucket=source["bucket"],
                    etag=source["etag"],
                    bag_date=source["bag_date"],
                    user=caller.email,
                    action=action,
                    stage="Requested",
                    status="Pending",
                    note="Restore requested",
                    outcome="Not started",
                    retry=True,
                    needs_admin_review=False,
                    pid=0,
                    size=size,
                    date_processed=now,
                    created_at=now,
                    updated_at=now,
                ).execute()
        except peewee.IntegrityError:
            pending = pending_restore(object_id, file_id)
            raise Conflict(
                f"A restore of {identifier} is already pending: work item {pending}",
                existing=("items", pending),
            ) from None


def pending_restore(object_id: int, file_id: int | None) -> int | None:
    """The id of the unfinished restore of the object (or of the file) that the database's
    partial unique index let no second one join (migration 2)."""
    W = WorkItem
    if file_id is None:
        target = (W.intellectual_object == object_id) & W.action.in_(OBJECT_RESTORES)
    else:
        target = (W.generic_file == file_id) & (W.action == "Restore File")
    return (
        W.select(W.id).where(target & W.status.not_in(COMPLETED_STATUSES)).order_by(W.id).scalar()
    )


def ingest_source(object_id: int) -> dict:
    """Name, bucket, etag and bag date of the bag as last ingested (or as the object says)."""
    W, O, I = WorkItem, IntellectualObject, Institution
    ingest = (
        W.select(W.institution.alias("institution_id"), W.name, W.bucket, W.etag, W.bag_date)
        .where(
            (W.intellectual_object == object_id)
            & (W.action == "Ingest")
            & (W.status == "Success")
            & W.stage.in_(("Record", "Cleanup"))
        )
        .order_by(W.updated_at.desc(), W.id.desc())
        .limit(1)
        .dicts()
        .first()
    )
    if ingest:
        return ingest
    obj = (
        O.select(
            O.institution.alias("institution_id"),
            O.bag_name,
            O.etag,
            O.created_at,
            I.receiving_bucket,
        )
        .join(I, on=(O.institution == I.id))
        .where(O.id == object_id)
        .dicts()
        .get()
    )
    return {
        "institution_id": obj["institution_id"],
        "name": f"{obj['bag_name']}.tar",
        "bucket": obj["receiving_bucket"],
        "etag": obj["etag"] or "",
        "bag_date": obj["created_at"],
    }
