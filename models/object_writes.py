"""Admin writes of intellectual objects: create, update, and the final step of a deletion.

The spec checks types, enums and lengths; what it cannot say (the identifier's shape, fields
that must not change, the preconditions of a deletion) is checked here. Every offending body
field is reported at once. Each write is one transaction.
"""

from __future__ import annotations

import uuid

import peewee

from models import deletion_checks
from models.caller import Caller
from models.enums import BAGIT_PROFILE_APTRUST
from models.errors import Conflict, NotFound, RuleViolation, body_error, clipped, quoted
from models.institution import Institution
from models.intellectual_object import OBJECTS, IntellectualObject
from models.premis_event import PremisEvent
from models.storage.base import utcnow
from models.storage.db import connection, database, locked, write_transaction

# What a body may set. Everything else it carries (counts, institution names, timestamps) is
# read-only: accepted so that a record read from the API can be sent back, and ignored.
WRITABLE = (
    "title",
    "description",
    "identifier",
    "alt_identifier",
    "access",
    "bag_name",
    "state",
    "etag",
    "bag_group_identifier",
    "storage_option",
    "bagit_profile_identifier",
    "source_organization",
    "internal_sender_identifier",
    "internal_sender_description",
)
DEFAULTS = {"access": "institution", "state": "A", "storage_option": "Standard"}
EVENT_OBJECT = "Registry admin API"


def create_object(caller: Caller, institution_id: int, body: dict) -> dict:
    with connection(), write_transaction():
        institution = Institution.get_or_none(Institution.id == institution_id)
        if institution is None:
            raise NotFound(f"No institution has id {institution_id}")
        values = _checked(body, institution, expected_id=0)
        now = utcnow()
        try:
            with database.atomic():  # a savepoint: PostgreSQL needs one to survive the error
                object_id = IntellectualObject.insert(
                    **values,
                    institution=institution.id,
                    created_at=now,
                    updated_at=now,
                    file_count=0,
                    size=0,
                    payload_file_count=0,
                    payload_size=0,
                ).execute()
        except peewee.IntegrityError:
            raise Conflict(
                f"An intellectual object with identifier {quoted(values['identifier'])} "
                "exists already",
                errors=[body_error("identifier", "is in use")],
            ) from None
        return OBJECTS.find_by(caller, id=object_id)


def update_object(caller: Caller, object_id: int, body: dict) -> dict:
    with connection(), write_transaction():
        stored = _locked(object_id)
        institution = Institution.get_by_id(stored.institution_id)
        values = _checked(body, institution, expected_id=object_id, stored=stored)
        IntellectualObject.update(**values, updated_at=utcnow()).where(
            IntellectualObject.id == object_id
        ).execute()
        return OBJECTS.find_by(caller, id=object_id)


def delete_object(caller: Caller, object_id: int) -> dict:
    """Mark the object deleted and record the deletion event, once its files are all gone and
    its deletion was approved (models.deletion_checks)."""
    with connection(), write_transaction():
        stored = _locked(object_id)
        approval = deletion_checks.check_object(stored)
        now = utcnow()
        IntellectualObject.update(state="D", updated_at=now).where(
            IntellectualObject.id == object_id
        ).execute()
        PremisEvent.insert(
            identifier=str(uuid.uuid4()),
            event_type="deletion",
            date_time=now,
            outcome="Success",
            institution=stored.institution_id,
            intellectual_object=object_id,
            generic_file=None,
            agent=caller.email,
            object=EVENT_OBJECT,
            detail="Intellectual object deleted",
            **approval.outcome,
            created_at=now,
            updated_at=now,
        ).execute()
        return OBJECTS.find_by(caller, id=object_id)


def _locked(object_id: int) -> IntellectualObject:
    """The stored object, locked until the transaction ends (PostgreSQL; SQLite's write
    transaction excludes other writers already)."""
    query = IntellectualObject.select().where(IntellectualObject.id == object_id)
    stored = locked(query).first()
    if stored is None:
        raise NotFound(f"No intellectual object has id {object_id}")
    return stored


def _checked(
    body: dict,
    institution: Institution,
    *,
    expected_id: int,
    stored: IntellectualObject | None = None,
) -> dict:
    """The values to write, or RuleViolation naming every offending field."""
    errors = []
    if body.get("id") is not None and body["id"] != expected_id:
        errors.append(
            body_error(
                "id",
                "must be 0 (or absent): ids are assigned by the server"
                if stored is None
                else f"must equal the id in the path ({expected_id})",
            )
        )
    if body.get("institution_id") is not None and body["institution_id"] != institution.id:
        where = "of the path" if stored is None else "of the object (it cannot change)"
        errors.append(
            body_error("institution_id", f"must be the institution {where}, {institution.id}")
        )
    values = {name: body.get(name) for name in WRITABLE}
    for name, default in DEFAULTS.items():
        if values[name] is None:
            values[name] = default
    if not values["bagit_profile_identifier"]:
        values["bagit_profile_identifier"] = BAGIT_PROFILE_APTRUST
    if not (values["title"] or "").strip():
        errors.append(body_error("title", "must not be blank"))
    if stored is None:
        errors += _identifier_errors(values, institution)
    else:
        errors += _change_errors(values, stored)
    if errors:
        names = ", ".join(dict.fromkeys(e["name"] for e in errors))
        raise RuleViolation(f"Invalid request body field(s): {names}", errors=errors)
    return values


def _identifier_errors(values: dict, institution: Institution) -> list[dict]:
    """A new object's identifier is `<institution identifier>/<bag name>`; fills in bag_name."""
    prefix = f"{institution.identifier}/"
    identifier = values["identifier"]
    bag = identifier[len(prefix) :] if identifier.startswith(prefix) else ""
    if not bag.strip() or "/" in bag:
        return [
            body_error(
                "identifier",
                f"must be {prefix}<bag name>: the institution's identifier, "
                "a slash and a bag name without slashes",
            )
        ]
    if not values["bag_name"]:
        values["bag_name"] = bag
    elif values["bag_name"] != bag:
        return [
            body_error(
                "bag_name", f"must be the part of the identifier after the slash ({clipped(bag)})"
            )
        ]
    return []


def _change_errors(values: dict, stored: IntellectualObject) -> list[dict]:
    errors = []
    if values["identifier"] != stored.identifier:
        errors.append(body_error("identifier", f"cannot change (it is {stored.identifier})"))
    if not values["bag_name"]:
        values["bag_name"] = stored.bag_name
    elif values["bag_name"] != stored.bag_name:
        errors.append(body_error("bag_name", f"cannot change (it is {stored.bag_name})"))
    if stored.state == "A" and values["storage_option"] != stored.storage_option:
        errors.append(
            body_error(
                "storage_option",
                f"cannot change while the object is active (it is {stored.storage_option})",
            )
        )
    if stored.state == "A" and values["state"] == "D":
        errors.append(
            body_error(
                "state",
                "an active object is deleted with DELETE "
                "/objects/delete/{id}, which records the deletion",
            )
        )
    return errors
