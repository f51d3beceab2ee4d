"""Writing generic files: create (one, or a batch of up to 10,000), update and delete.

Each request is one transaction that also refreshes the counters of the objects it touched
(models.stats): a rejected request leaves nothing behind, and readers never see counters out of
step with the files. A batch is checked in full, in Python, before anything is written (one
query fetches all of its objects), then written table by table in bulk (models.storage.bulk_insert):
written row by row, a 10,000-file ingest would spend its time on round trips.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import peewee

from models import deletion_checks
from models.caller import Caller
from models.checksum import Checksum
from models.errors import Conflict, NotFound
from models.file_detail import file_detail
from models.generic_file import NEVER_CHECKED, GenericFile
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.record_writes import (
    CHECKSUM_FIELDS,
    CHUNK,
    EVENT_FIELDS,
    STORAGE_FIELDS,
    NestedRecords,
    Problems,
    at,
    duplicate_event_identifiers,
    nested_records,
    require_institution,
    stored_values,
)
from models.stats import refresh_object_stats
from models.storage import bulk_insert
from models.storage.base import utcnow
from models.storage.db import connection, database, locked, write_transaction
from models.storage.query import parse_datetime
from models.storage_record import StorageRecord

F = GenericFile
FILE_FIELDS = [
    F.file_format,
    F.size,
    F.identifier,
    F.intellectual_object,
    F.created_at,
    F.updated_at,
    F.state,
    F.last_fixity_check,
    F.institution,
    F.storage_option,
    F.uuid,
    F.mod_time,
]
_IDENTIFIER, _UUID = 2, 10  # positions in a FILE_FIELDS tuple

# The deletion event names the preservation services as the agent, as the reference does.
DELETION_AGENT = "APTrust preservation services"
DELETION_OBJECT = "Minio S3 library"


def create_file(caller: Caller, institution_id: int, body: dict) -> dict:
    with connection():
        [(file_id, _, _)] = _create(institution_id, [body], lambda i: "")
        return file_detail(caller, str(file_id))


def create_files(caller: Caller, institution_id: int, bodies: list[dict]) -> list[dict]:
    """Every file of `bodies` or none; a summary of each new file, in request order."""
    with connection():
        created = _create(institution_id, bodies, lambda i: f"[{i}]")
    return [{"id": i, "identifier": identifier, "uuid": key} for i, identifier, key in created]


def _create(institution_id: int, bodies: list[dict], where: Callable[[int], str]) -> list:
    with write_transaction():
        require_institution(institution_id)
        plan = _Plan(institution_id, utcnow())
        objects = _objects(institution_id, bodies, where, plan.problems)
        for i, body in enumerate(bodies):
            plan.add(body, where(i), objects[body["intellectual_object_id"]])
        plan.problems.raise_if_any()
        if plan.repeats:
            raise Conflict("The request repeats an identifier", errors=plan.repeats)
        file_ids = plan.write()
        refresh_object_stats(objects)
    return [
        (file_id, row[_IDENTIFIER], row[_UUID])
        for file_id, row in zip(file_ids, plan.files, strict=True)
    ]


def _objects(institution_id: int, bodies: list[dict], where, problems: Problems) -> dict:
    """The objects the files name, by id: 404 naming each file whose object does not exist;
    a file of another institution's object is a problem of its own."""
    O = IntellectualObject
    wanted = list({body["intellectual_object_id"] for body in bodies})
    found = {}
    for start in range(0, len(wanted), CHUNK):
        query = (
            O.select(O.id, O.identifier, O.institution.alias("institution_id"), O.storage_option)
            .where(O.id.in_(wanted[start : start + CHUNK]))
            .dicts()
        )
        found.update((row["id"], row) for row in query)
    missing = [
        {
            "name": at(where(i), "intellectual_object_id"),
            "in": "body",
            "message": f"no intellectual object has id {body['intellectual_object_id']}",
        }
        for i, body in enumerate(bodies)
        if body["intellectual_object_id"] not in found
    ]
    if missing:
        raise NotFound(
            "An intellectual object the request names does not exist", errors=missing[:100]
        )
    for i, body in enumerate(bodies):
        owner = found[body["intellectual_object_id"]]["institution_id"]
        if owner != institution_id:
            problems.add(
                at(where(i), "intellectual_object_id"),
                f"the object belongs to institution {owner}, not {institution_id}",
            )
    return found


class _Plan:
    """The rows a create request will write, and which body field sent each unique key."""

    def __init__(self, institution_id: int, now):
        self.institution_id, self.now = institution_id, now
        self.problems = Problems()
        self.files: list[tuple] = []
        self.nested: list[NestedRecords] = []
        self.identifiers: dict[str, str] = {}
        self.uuids: dict[str, str] = {}
        self.events: dict[str, str] = {}
        self.repeats: list[dict] = []

    def add(self, body: dict, where: str, obj: dict) -> None:
        problems, now = self.problems, self.now
        sent = body.get("institution_id")
        if sent is not None and sent != self.institution_id:
            problems.add(
                at(where, "institution_id"),
                f"must be the institution of the path ({self.institution_id})",
            )
        identifier, key = body["identifier"], body["uuid"].lower()
        prefix = obj["identifier"] + "/"
        if not identifier.startswith(prefix) or len(identifier) == len(prefix):
            problems.add(
                at(where, "identifier"),
                f"must be its object's identifier, a slash and a path ({prefix}...)",
            )
        nested = nested_records(body, where, None, self.institution_id, obj["id"], problems)
        last_fixity = body.get("last_fixity_check")
        last_fixity = parse_datetime(last_fixity) if last_fixity else NEVER_CHECKED
        if nested.fixity is not None and nested.fixity > last_fixity:
            last_fixity = nested.fixity
        mtime = body.get("mtime")
        self.files.append(
            (
                body["file_format"],
                body["size"],
                identifier,
                obj["id"],
                now,
                now,
                body.get("state", "A"),
                last_fixity,
                self.institution_id,
                body.get("storage_option") or obj["storage_option"],
                key,
                parse_datetime(mtime) if mtime else None,
            )
        )
        self.nested.append(nested)
        self._unique(self.identifiers, identifier, at(where, "identifier"))
        self._unique(self.uuids, key, at(where, "uuid"))
        for event_identifier, name in nested.event_names:
            self._unique(self.events, event_identifier, name)

    def _unique(self, seen: dict, value: str, name: str) -> None:
        claim(seen, value, name, self.repeats)

    def write(self) -> list[int]:
        try:
            with database.atomic():  # a savepoint: PostgreSQL needs one to survive the error
                ids = bulk_insert.insert(F, FILE_FIELDS, self.files, key=F.identifier)
                file_ids = [ids[row[_IDENTIFIER]] for row in self.files]
                insert_nested(file_ids, self.nested, self.now)
        except peewee.IntegrityError:
            raise conflict(self.identifiers, self.uuids, self.events) from None
        return file_ids


def claim(seen: dict, value: str, name: str, repeats: list) -> None:
    """Record that body field `name` sends the unique key `value`, or that it repeats one."""
    if value in seen:
        repeats.append(
            {"name": name, "in": "body", "message": f"repeats {seen[value]} of this request"}
        )
    else:
        seen[value] = name


def insert_nested(file_ids: list[int], nested: list[NestedRecords], now) -> None:
    pairs = list(zip(file_ids, nested, strict=True))
    bulk_insert.insert(
        Checksum, CHECKSUM_FIELDS, [(f, *v, now, now) for f, n in pairs for v in n.checksums]
    )
    bulk_insert.insert(
        PremisEvent, EVENT_FIELDS, [(f, *v, now, now) for f, n in pairs for v in n.events]
    )
    bulk_insert.insert(StorageRecord, STORAGE_FIELDS, [(f, v) for f, n in pairs for v in n.storage])


def conflict(identifiers: dict, uuids: dict, events: dict) -> Conflict:
    """The 409 after a unique key was refused: which keys (each mapped to the field that sent
    it) other records hold already."""
    errors = []
    for field, names, noun in ((F.identifier, identifiers, "identifier"), (F.uuid, uuids, "UUID")):
        used = stored_values(field, list(names))
        errors += [
            {"name": name, "in": "body", "message": f"another file has this {noun}"}
            for value, name in names.items()
            if value in used
        ]
    errors += duplicate_event_identifiers(events).errors
    return Conflict("An identifier or UUID of the request is in use already", errors=errors[:100])


def stored_file(file_id: int) -> dict:
    """The file's row, locked until the transaction ends on PostgreSQL (SQLite's write
    transaction holds the whole database already); 404 if there is none."""
    query = (
        F.select(
            F.id,
            F.identifier,
            F.intellectual_object.alias("intellectual_object_id"),
            F.institution.alias("institution_id"),
            F.state,
            F.storage_option,
            F.uuid,
            F.created_at,
        )
        .where(F.id == file_id)
        .dicts()
    )
    row = locked(query).first()
    if row is None:
        raise NotFound(f"No generic file has id {file_id}")
    return row


def delete_file(caller: Caller, file_id: int) -> dict:
    with connection():
        with write_transaction():
            stored = stored_file(file_id)
            approval = deletion_checks.check_file(stored)
            now = utcnow()
            F.update(state="D", updated_at=now).where(F.id == file_id).execute()
            PremisEvent.insert(
                identifier=str(uuid.uuid4()),
                event_type="deletion",
                date_time=now,
                outcome="Success",
                agent=DELETION_AGENT,
                object=DELETION_OBJECT,
                detail="File deleted from preservation storage",
                **approval.outcome,
                intellectual_object=stored["intellectual_object_id"],
                generic_file=file_id,
                institution=stored["institution_id"],
                created_at=now,
                updated_at=now,
            ).execute()
            StorageRecord.delete().where(StorageRecord.generic_file == file_id).execute()
            refresh_object_stats([stored["intellectual_object_id"]])
        return file_detail(caller, str(file_id))


def update_file(caller: Caller, file_id: int, body: dict) -> dict:
    with connection():
        with write_transaction():
            stored = stored_file(file_id)
            problems = Problems()
            _check_unchanged(body, stored, problems)
            if body["state"] == "D" and stored["state"] == "A":
                problems.add(
                    "state", "a file is deleted with delete_file, which records the deletion event"
                )
            if stored["state"] == "A" and body["storage_option"] != stored["storage_option"]:
                problems.add(
                    "storage_option",
                    f"cannot change while the file is active (it is {stored['storage_option']})",
                )
            object_id = stored["intellectual_object_id"]
            nested = nested_records(
                body,
                "",
                file_id,
                stored["institution_id"],
                object_id,
                problems,
                _record_ids(file_id, body),
            )
            problems.raise_if_any()
            events, repeats = {}, []
            for event_identifier, name in nested.event_names:
                claim(events, event_identifier, name, repeats)
            if repeats:
                raise Conflict("The request repeats an identifier", errors=repeats)
            key = body["uuid"].lower()
            last_fixity = parse_datetime(body["last_fixity_check"])
            if nested.fixity is not None and nested.fixity > last_fixity:
                last_fixity = nested.fixity
            mtime = body.get("mtime")
            now = utcnow()
            try:
                with database.atomic():  # a savepoint: PostgreSQL needs one to survive the error
                    F.update(
                        file_format=body["file_format"],
                        size=body["size"],
                        uuid=key,
                        state=body["state"],
                        storage_option=body["storage_option"],
                        last_fixity_check=last_fixity,
                        updated_at=now,
                        mod_time=parse_datetime(mtime) if mtime else None,
                    ).where(F.id == file_id).execute()
                    insert_nested([file_id], [nested], now)
            except peewee.IntegrityError:
                uuids = {key: "uuid"} if key != stored["uuid"] else {}
                raise conflict({}, uuids, events) from None
            refresh_object_stats([object_id])
        return file_detail(caller, str(file_id))


def _check_unchanged(body: dict, stored: dict, problems: Problems) -> None:
    """What a file update may repeat but not change."""
    if "id" in body and body["id"] != stored["id"]:
        problems.add("id", f"must be the id of the path ({stored['id']})")
    if "identifier" in body and body["identifier"] != stored["identifier"]:
        problems.add("identifier", f"cannot change (it is {stored['identifier']})")
    for name in ("institution_id", "intellectual_object_id"):
        if name in body and body[name] != stored[name]:
            problems.add(name, f"cannot change (it is {stored[name]})")


def _record_ids(file_id: int, body: dict) -> dict:
    """The ids of the file's records of each kind the body sends with an id."""
    models = {"checksums": Checksum, "premis_events": PremisEvent, "storage_records": StorageRecord}
    ids = {}
    for kind, model in models.items():
        if any(data.get("id") for data in body.get(kind) or ()):
            query = model.select(model.id).where(model.generic_file == file_id).tuples()
            ids[kind] = {row[0] for row in query}
        else:
            ids[kind] = set()
    return ids
