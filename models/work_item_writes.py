"""Admin writes of work items: create, update, and requeue to a stage.

The spec checks types, enums, lengths and e-mail formats; the references to objects, files and
deletion requests, the fields that must not change, and the stages an ingest may go back to are
checked here. At most one restore of an object (or file) may be unfinished: the database's
partial unique indexes refuse a second one, which answers 409. A restore item that an update
takes to `Success` sends its `Restoration Completed` alert in the same transaction
(models.restore_alerts); one created at `Success` records a restore finished elsewhere (history
being loaded, as `registry seed --from-fixtures` does) and sends nothing.
"""

from __future__ import annotations

import datetime as dt

import peewee

from models.caller import Caller
from models.deletion_request import DeletionRequest
from models.errors import Conflict, NotFound, RuleViolation, body_error
from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.restore_alerts import alert_restoration_completed, alerts_on_success
from models.storage.base import utcnow
from models.storage.db import connection, database, locked, write_transaction
from models.storage.query import parse_datetime
from models.work_item import ITEMS, WorkItem

TEXT = (
    "name",
    "etag",
    "bucket",
    "user",
    "note",
    "action",
    "stage",
    "status",
    "outcome",
    "node",
    "aptrust_approver",
    "inst_approver",
)
TIMES = ("bag_date", "date_processed", "queued_at", "stage_started_at")
DEFAULTS = {"retry": False, "needs_admin_review": False, "pid": 0, "size": 0}
# 0 means "none" here: clients written for the reference server send Go's zero values.
REFERENCES = {
    "intellectual_object_id": IntellectualObject,
    "generic_file_id": GenericFile,
    "deletion_request_id": DeletionRequest,
}
IMMUTABLE = ("name", "etag", "action")
SET_ONCE = ("intellectual_object_id", "generic_file_id")
INGEST_STAGES = (
    "Receive",
    "Validate",
    "Reingest Check",
    "Copy To Staging",
    "Format Identification",
    "Store",
    "Storage Validation",
    "Record",
    "Cleanup",
)
GO_ZERO_TIME = dt.datetime(1, 1, 1)


def create_work_item(caller: Caller, institution_id: int, body: dict) -> dict:
    with connection(), write_transaction():
        if Institution.get_or_none(Institution.id == institution_id) is None:
            raise NotFound(f"No institution has id {institution_id}")
        errors = _identity_errors(body, expected_id=0, institution_id=institution_id)
        values = _values(body)
        _check(values, errors, institution_id)
        now = utcnow()
        item_id = _saved(
            lambda: WorkItem.insert(
                **_columns(values),
                institution=institution_id,
                created_at=now,
                updated_at=now,
            ).execute()
        )
        return ITEMS.find_by(caller, id=item_id)


def update_work_item(caller: Caller, item_id: int, body: dict) -> dict:
    with connection(), write_transaction():
        stored = _locked(item_id)
        errors = _identity_errors(
            body, expected_id=item_id, institution_id=stored.institution_id, update=True
        )
        values = _values(body)
        for name in IMMUTABLE:
            if name in body and body[name] != getattr(stored, name):
                errors.append(body_error(name, f"cannot change (it is {getattr(stored, name)})"))
            values[name] = getattr(stored, name)
        for name in SET_ONCE:
            current = getattr(stored, name)
            if name not in body:
                values[name] = current
            elif current is not None and values[name] != current:
                errors.append(body_error(name, f"cannot change once set (it is {current})"))
        _check(values, errors, stored.institution_id)
        now = utcnow()
        _saved(
            lambda: (
                WorkItem.update(**_columns(values), updated_at=now)
                .where(WorkItem.id == item_id)
                .execute()
            )
        )
        if alerts_on_success(stored.action, stored.status, values["status"]):
            alert_restoration_completed(item_id, now)
        return ITEMS.find_by(caller, id=item_id)


def requeue_work_item(caller: Caller, item_id: int, stage: str) -> dict:
    with connection(), write_transaction():
        stored = _locked(item_id)
        if stored.action == "Ingest" and stage not in INGEST_STAGES:
            raise RuleViolation(
                f"An Ingest item cannot be requeued to {stage}",
                errors=[
                    body_error(
                        "stage", "an Ingest item goes back to one of: " + ", ".join(INGEST_STAGES)
                    )
                ],
            )
        _saved(
            lambda: (
                WorkItem.update(
                    stage=stage,
                    status="Pending",
                    retry=True,
                    needs_admin_review=False,
                    node=None,
                    pid=0,
                    outcome="",
                    note=f"Requeued for {stage}",
                    updated_at=utcnow(),
                )
                .where(WorkItem.id == item_id)
                .execute()
            )
        )
        return ITEMS.find_by(caller, id=item_id)


def _locked(item_id: int) -> WorkItem:
    query = WorkItem.select().where(WorkItem.id == item_id)
    stored = locked(query).first()
    if stored is None:
        raise NotFound(f"No work item has id {item_id}")
    return stored


def _saved(write):
    try:
        with database.atomic():  # a savepoint: PostgreSQL needs one to survive the error
            return write()
    except peewee.IntegrityError:
        raise Conflict(
            "Another restore of the same object or file is unfinished; at most one "
            "may be pending at a time"
        ) from None


def _identity_errors(
    body: dict, *, expected_id: int, institution_id: int, update: bool = False
) -> list[dict]:
    errors = []
    if body.get("id") is not None and body["id"] != expected_id:
        errors.append(
            body_error(
                "id",
                f"must equal the id in the path ({expected_id})"
                if update
                else "must be 0 (or absent): ids are assigned by the server",
            )
        )
    if body.get("institution_id") is not None and body["institution_id"] != institution_id:
        where = "of the work item (it cannot change)" if update else "of the path"
        errors.append(
            body_error("institution_id", f"must be the institution {where}, {institution_id}")
        )
    return errors


def _values(body: dict) -> dict:
    """The body's writable fields, absent ones as null or their default."""
    values = {name: body.get(name) for name in TEXT}
    for name in TIMES:
        values[name] = _time(body.get(name))
    for name, default in DEFAULTS.items():
        values[name] = body.get(name, default)
    for name in REFERENCES:
        values[name] = body.get(name) or None
    return values


def _time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    parsed = parse_datetime(value)
    return None if parsed == GO_ZERO_TIME else parsed


def _check(values: dict, errors: list[dict], institution_id: int) -> None:
    """Raise for the rules the spec cannot express: blank texts (422), then references to
    records that do not exist (404), then to records of another institution (422)."""
    for name in ("name", "bucket"):
        if not (values[name] or "").strip():
            errors.append(body_error(name, "must not be blank"))
    for name in ("bag_date", "date_processed"):
        if values[name] is None:
            errors.append(body_error(name, "must be a real date, not the zero time"))
    _raise_invalid(errors)
    found = {
        name: model.get_or_none(model.id == values[name])
        for name, model in REFERENCES.items()
        if values[name] is not None
    }
    missing = [name for name, record in found.items() if record is None]
    if missing:
        raise NotFound(
            f"No record matches {', '.join(missing)}",
            errors=[body_error(name, f"no such record ({values[name]})") for name in missing],
        )
    for name, record in found.items():
        if record.institution_id != institution_id:
            errors.append(
                body_error(
                    name,
                    f"belongs to another institution "
                    f"({record.institution_id}, not {institution_id})",
                )
            )
    file = found.get("generic_file_id")
    if file is not None and not errors:
        if values["intellectual_object_id"] is None:
            values["intellectual_object_id"] = file.intellectual_object_id
        elif values["intellectual_object_id"] != file.intellectual_object_id:
            errors.append(
                body_error(
                    "generic_file_id",
                    f"belongs to object {file.intellectual_object_id}, not to the item's object",
                )
            )
    _raise_invalid(errors)


def _columns(values: dict) -> dict:
    """Field values keyed by the model's field names (`intellectual_object`, not `..._id`)."""
    return {(name[:-3] if name in REFERENCES else name): value for name, value in values.items()}


def _raise_invalid(errors: list[dict]) -> None:
    if errors:
        names = ", ".join(dict.fromkeys(e["name"] for e in errors))
        raise RuleViolation(f"Invalid request body field(s): {names}", errors=errors)
