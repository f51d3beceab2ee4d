"""Checksums, PREMIS events and storage records: the rules they obey and how they are stored.

The same rules hold whether a record arrives alone (`create_checksum`, `create_event`,
`create_storage_record`) or nested in a file write, where the file supplies the ids. Only what
the request schema cannot say is checked here (a digest's length for its algorithm, parents
that must exist and agree with each other): types, enums and formats were checked against the
spec before any of this runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import peewee

from models.caller import Caller
from models.checksum import CHECKSUMS, Checksum
from models.errors import Conflict, NotFound, RuleViolation, clipped
from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.premis_event import EVENTS, PremisEvent
from models.storage.base import utcnow
from models.storage.db import connection, database, write_transaction
from models.storage.query import parse_datetime
from models.storage_record import STORAGE_RECORDS, StorageRecord

DIGEST_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
FIXITY_CHECK = "fixity check"

# Column order of the value tuples below; every tuple starts with the file's id.
CHECKSUM_FIELDS = [
    Checksum.generic_file,
    Checksum.institution,
    Checksum.algorithm,
    Checksum.datetime,
    Checksum.digest,
    Checksum.created_at,
    Checksum.updated_at,
]
EVENT_FIELDS = [
    PremisEvent.generic_file,
    PremisEvent.institution,
    PremisEvent.intellectual_object,
    PremisEvent.identifier,
    PremisEvent.event_type,
    PremisEvent.date_time,
    PremisEvent.outcome,
    PremisEvent.agent,
    PremisEvent.detail,
    PremisEvent.object,
    PremisEvent.outcome_detail,
    PremisEvent.outcome_information,
    PremisEvent.old_uuid,
    PremisEvent.created_at,
    PremisEvent.updated_at,
]
STORAGE_FIELDS = [StorageRecord.generic_file, StorageRecord.url]
# Values per IN (...) list when looking keys up.
CHUNK = 1000


def at(where: str, name: str) -> str:
    """The name of a body field: `name`, `checksums[0].name` or `[3].checksums[0].name`."""
    return f"{where}.{name}" if where else name


class Problems:
    """The offending fields of one request, collected so that one 422 names them all (the
    first hundred of them, as the spec's validation does: a batch may have 10,000)."""

    LIMIT = 100

    def __init__(self):
        self.errors: list[dict] = []

    def add(self, name: str, message: str) -> None:
        self.errors.append({"name": name, "in": "body", "message": message})

    def raise_if_any(self) -> None:
        if self.errors:
            shown = self.errors[: self.LIMIT]
            names = ", ".join(dict.fromkeys(e["name"] for e in shown))
            more = len(self.errors) - len(shown)
            suffix = f" and {more} more" if more else ""
            raise RuleViolation(f"Invalid request body field(s): {names}{suffix}", errors=shown)


def checksum_values(data: dict, where: str, problems: Problems) -> tuple:
    """(algorithm, datetime, digest) of a checksum to store."""
    algorithm, digest = data["algorithm"], data["digest"].lower()
    if len(digest) != DIGEST_LENGTHS[algorithm]:
        problems.add(
            at(where, "digest"),
            f"{algorithm} digests have {DIGEST_LENGTHS[algorithm]} hex digits, not {len(digest)}",
        )
    return algorithm, parse_datetime(data["datetime"]), digest


def event_values(data: dict) -> tuple:
    """(identifier, event_type, date_time, outcome, agent, detail, object, outcome_detail,
    outcome_information, old_uuid) of an event to store."""
    return (
        data["identifier"].lower(),
        data["event_type"],
        parse_datetime(data["date_time"]),
        data["outcome"],
        data["agent"],
        data["detail"],
        data["object"],
        data["outcome_detail"],
        data["outcome_information"],
        data.get("old_uuid"),
    )


def check_same(data: dict, name: str, expected, where: str, problems: Problems) -> None:
    """A nested record may repeat an id its parent supplies (0 and null mean "not sent")."""
    value = data.get(name)
    if value and value != expected:
        owner = "a new file has no id yet" if expected is None else f"the file's is {expected}"
        problems.add(at(where, name), f"must be left out or match the file ({owner})")


NESTED_KINDS = ("checksums", "premis_events", "storage_records")


@dataclass
class NestedRecords:
    """The new records nested in one file write, as value tuples lacking the file's id."""

    checksums: list = field(default_factory=list)
    events: list = field(default_factory=list)
    storage: list = field(default_factory=list)
    event_names: list = field(default_factory=list)  # (event identifier, body field)
    fixity: dt.datetime | None = None  # the date of the newest fixity check event


def nested_records(
    body: dict,
    where: str,
    file_id: int | None,
    institution_id: int,
    object_id: int,
    problems: Problems,
    stored: dict | None = None,
):
    """The new records nested in a file write. A nested record with an id must be one the file
    has already (`stored`: its record ids by kind; None for a new file): it is left as it is."""
    out = NestedRecords()
    for kind in NESTED_KINDS:
        for j, data in enumerate(body.get(kind) or ()):
            here = f"{at(where, kind)}[{j}]"
            if data.get("id"):
                if stored is None or data["id"] not in stored[kind]:
                    problems.add(
                        at(here, "id"),
                        "is not a record of this file (leave id out to add a record)",
                    )
                continue
            check_same(data, "generic_file_id", file_id, here, problems)
            if kind == "checksums":
                out.checksums.append((institution_id, *checksum_values(data, here, problems)))
            elif kind == "storage_records":
                out.storage.append(data["url"])
            else:
                check_same(data, "institution_id", institution_id, here, problems)
                check_same(data, "intellectual_object_id", object_id, here, problems)
                values = event_values(data)
                out.events.append((institution_id, object_id, *values))
                out.event_names.append((values[0], at(here, "identifier")))
                if values[1] == FIXITY_CHECK and (out.fixity is None or values[2] > out.fixity):
                    out.fixity = values[2]
    return out


def require_institution(institution_id: int, name: str | None = None) -> None:
    if not Institution.select().where(Institution.id == institution_id).exists():
        errors = [{"name": name, "in": "body", "message": "no such institution"}] if name else []
        raise NotFound(f"No institution has id {institution_id}", errors=errors)


def _file(file_id: int) -> dict:
    F = GenericFile
    row = (
        F.select(
            F.id,
            F.institution.alias("institution_id"),
            F.intellectual_object.alias("intellectual_object_id"),
        )
        .where(F.id == file_id)
        .dicts()
        .first()
    )
    if row is None:
        raise NotFound(
            f"No generic file has id {file_id}",
            errors=[{"name": "generic_file_id", "in": "body", "message": "no such file"}],
        )
    return row


def _file_of_institution(institution_id: int, file_id: int, problems: Problems) -> dict:
    require_institution(institution_id)
    row = _file(file_id)
    if row["institution_id"] != institution_id:
        problems.add(
            "generic_file_id",
            f"file {file_id} belongs to institution {row['institution_id']}, not {institution_id}",
        )
    return row


def create_checksum(caller: Caller, institution_id: int, body: dict) -> dict:
    problems = Problems()
    with connection():
        with write_transaction():
            file = _file_of_institution(institution_id, body["generic_file_id"], problems)
            values = checksum_values(body, "", problems)
            problems.raise_if_any()
            now = utcnow()
            row = (file["id"], institution_id, *values, now, now)
            new_id = Checksum.insert(dict(zip(CHECKSUM_FIELDS, row, strict=True))).execute()
        return CHECKSUMS.find_by(caller, id=new_id)


def create_storage_record(caller: Caller, institution_id: int, body: dict) -> dict:
    problems = Problems()
    with connection():
        with write_transaction():
            file = _file_of_institution(institution_id, body["generic_file_id"], problems)
            problems.raise_if_any()
            new_id = StorageRecord.insert(generic_file=file["id"], url=body["url"]).execute()
        return STORAGE_RECORDS.find_by(caller, id=new_id)


def create_event(caller: Caller, body: dict) -> dict:
    institution_id, object_id = body["institution_id"], body["intellectual_object_id"]
    file_id = body.get("generic_file_id") or None
    problems = Problems()
    with connection():
        with write_transaction():
            require_institution(institution_id, "institution_id")
            _check_event_parents(institution_id, object_id, file_id, problems)
            if body["event_type"] == FIXITY_CHECK and file_id is None:
                problems.add("generic_file_id", "a fixity check event is about a file")
            problems.raise_if_any()
            now = utcnow()
            values = event_values(body)
            try:
                with database.atomic():  # a savepoint: PostgreSQL needs one to survive the error
                    row = (file_id, institution_id, object_id, *values, now, now)
                    new_id = PremisEvent.insert(dict(zip(EVENT_FIELDS, row, strict=True))).execute()
            except peewee.IntegrityError:
                raise duplicate_event_identifiers({values[0]: "identifier"}) from None
            if body["event_type"] == FIXITY_CHECK:
                record_fixity_checks({file_id: values[2]}, now)
        return EVENTS.find_by(caller, id=new_id)


def _check_event_parents(institution_id, object_id, file_id, problems: Problems) -> None:
    O = IntellectualObject
    owner = O.select(O.institution).where(O.id == object_id).scalar()
    if owner is None:
        raise NotFound(
            f"No intellectual object has id {object_id}",
            errors=[{"name": "intellectual_object_id", "in": "body", "message": "no such object"}],
        )
    if owner != institution_id:
        problems.add(
            "intellectual_object_id",
            f"object {object_id} belongs to institution {owner}, not {institution_id}",
        )
    if file_id is not None:
        file = _file(file_id)
        if file["intellectual_object_id"] != object_id:
            problems.add(
                "generic_file_id",
                f"file {file_id} belongs to object "
                f"{file['intellectual_object_id']}, not {object_id}",
            )


def record_fixity_checks(checked: dict, now) -> None:
    """Move each file's last_fixity_check forward to its newest fixity check event; an event
    older than the recorded check (a late or back-filled one) leaves it as it is."""
    F = GenericFile
    for file_id, when in checked.items():
        (
            F.update(last_fixity_check=when, updated_at=now)
            .where((F.id == file_id) & (F.last_fixity_check < when))
            .execute()
        )


def stored_values(field: peewee.Field, values: list) -> set:
    """Which of `values` the column `field` holds already (the search after a conflict)."""
    found = set()
    for start in range(0, len(values), CHUNK):
        query = field.model.select(field).where(field.in_(values[start : start + CHUNK]))
        found.update(row[0] for row in query.tuples())
    return found


def duplicate_event_identifiers(names: dict) -> Conflict:
    """The 409 for event identifiers in use, `names` mapping each to the field that sent it."""
    used = stored_values(PremisEvent.identifier, list(names))
    errors = [
        {"name": name, "in": "body", "message": f"event {clipped(key)} is recorded already"}
        for key, name in names.items()
        if key in used
    ]
    return Conflict("An event identifier is in use already", errors=errors)
