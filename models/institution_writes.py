"""Creating, changing and deactivating institutions, under the reference system's rules.

The admin API and `registry institutions create` both call these functions, so an institution
made either way has passed the same checks. Each function takes the caller, is one transaction,
and returns the institution as the caller then reads it (`models.institution.INSTITUTIONS`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import peewee

from models.caller import Caller
from models.enums import INSTITUTION_TYPES
from models.errors import Conflict, NotFound, RuleViolation, body_error, clipped, quoted
from models.institution import INSTITUTIONS, Institution
from models.storage.base import utcnow
from models.storage.db import connection, database, write_transaction

# The operator's own institution: home of the sysadmins, so it is never deactivated.
OPERATOR_INSTITUTION = "aptrust.org"
MEMBER, SUBSCRIPTION = INSTITUTION_TYPES
# Lowercase DNS labels (1-63 characters, no leading or trailing hyphen), at least two of them.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
IDENTIFIER = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")
NAME_LENGTH = (5, 200)
MAX_FREQUENCY = 2**31 - 1  # an int4 column


def buckets(identifier: str) -> dict:
    """The S3 buckets an institution receives bags in and gets restorations from."""
    return {
        "receiving_bucket": f"aptrust.receiving.{identifier}",
        "restore_bucket": f"aptrust.restore.{identifier}",
    }


def create_institution(caller: Caller, fields: Mapping) -> dict:
    """Insert a member or subscription institution; its buckets derive from its identifier."""
    identifier = fields.get("identifier")
    type_ = fields.get("type")
    parent_id = fields.get("member_institution_id")
    errors = _identifier_errors(identifier) + _common_errors(fields, creating=True)
    with connection(), write_transaction():
        parent_errors, parent_missing = _parent_errors(type_, parent_id, own_id=None)
        _raise_if_any(errors + parent_errors, parent_id, parent_missing)
        try:
            with database.atomic():  # a savepoint: PostgreSQL needs one to survive the error
                institution_id = Institution.insert(
                    identifier=identifier,
                    name=fields["name"].strip(),
                    type=type_,
                    member_institution=parent_id if type_ == SUBSCRIPTION else None,
                    otp_enabled=fields.get("otp_enabled", False),
                    spot_restore_frequency=fields.get("spot_restore_frequency", 0),
                    **buckets(identifier),
                ).execute()
        except peewee.IntegrityError:
            raise Conflict(
                f"Institution {clipped(identifier)} already exists",
                errors=[{"name": "identifier", "in": "body", "message": "already exists"}],
            ) from None
    return INSTITUTIONS.get(caller, institution_id)


def update_institution(caller: Caller, institution_id: int, fields: Mapping) -> dict:
    """Change the writable fields present in `fields`; the others keep their values.

    A change of type moves the parent with it: an institution that becomes a member loses its
    parent, one that becomes a subscription needs `member_institution_id`.
    """
    with connection(), write_transaction():
        institution = _get(institution_id)
        if "type" in fields and fields["type"] == institution.type:
            # Sent back as read (the operator's institution has no type): nothing to check.
            fields = {name: value for name, value in fields.items() if name != "type"}
        type_ = fields.get("type", institution.type)
        if "member_institution_id" in fields:
            parent_id = fields["member_institution_id"]
        else:
            parent_id = institution.member_institution_id if type_ == SUBSCRIPTION else None
        errors = _common_errors(fields, creating=False)
        if "id" in fields and fields["id"] != institution_id:
            errors.append(body_error("id", f"must equal the id in the path ({institution_id})"))
        if "identifier" in fields and fields["identifier"] != institution.identifier:
            errors.append(body_error("identifier", "cannot change"))
        parent_errors, parent_missing = [], False
        if (type_, parent_id) != (institution.type, institution.member_institution_id):
            # Only a change is checked: renaming a subscription institution whose parent has
            # since been deactivated must still work.
            if type_ == SUBSCRIPTION and _has_subscribers(institution_id):
                errors.append(
                    body_error(
                        "type",
                        "this institution has subscription institutions, "
                        "so it must stay a MemberInstitution",
                    )
                )
            parent_errors, parent_missing = _parent_errors(type_, parent_id, own_id=institution_id)
        _raise_if_any(errors + parent_errors, parent_id, parent_missing)
        changes = {
            "type": type_,
            "member_institution": parent_id if type_ == SUBSCRIPTION else None,
            "updated_at": utcnow(),
        }
        if "name" in fields:
            changes["name"] = fields["name"].strip()
        for name in ("otp_enabled", "spot_restore_frequency"):
            if name in fields:
                changes[name] = fields[name]
        Institution.update(changes).where(Institution.id == institution_id).execute()
    return INSTITUTIONS.get(caller, institution_id)


def deactivate_institution(caller: Caller, institution_id: int) -> dict:
    """Mark the institution deactivated (state D): its users' keys stop working at once."""
    now = utcnow()
    with connection(), write_transaction():
        institution = _get(institution_id)
        if institution.identifier == OPERATOR_INSTITUTION:
            raise Conflict(
                f"{OPERATOR_INSTITUTION} is the operator's institution, the home of "
                "every sysadmin; it cannot be deactivated"
            )
        # Conditional, so that of two simultaneous requests exactly one succeeds.
        changed = (
            Institution.update(state="D", deactivated_at=now, updated_at=now)
            .where((Institution.id == institution_id) & (Institution.state != "D"))
            .execute()
        )
        if not changed:
            raise Conflict(f"Institution {institution.identifier} is already deactivated")
    return INSTITUTIONS.get(caller, institution_id)


def _get(institution_id: int) -> Institution:
    institution = Institution.get_or_none(Institution.id == institution_id)
    if institution is None:
        raise NotFound(f"No institution matches {quoted(institution_id)}")
    return institution


def _identifier_errors(identifier) -> list[dict]:
    if not isinstance(identifier, str) or len(identifier) > 253 or not IDENTIFIER.match(identifier):
        return [
            body_error(
                "identifier",
                "must be a lowercase domain name with at least one dot, such as example.edu",
            )
        ]
    return []


def _common_errors(fields: Mapping, *, creating: bool) -> list[dict]:
    """The rules of the fields create and update share: those sent, and on create the
    required ones."""
    errors = []
    if creating or "name" in fields:
        name = fields.get("name")
        low, high = NAME_LENGTH
        if not isinstance(name, str) or not low <= len(name.strip()) <= high:
            errors.append(body_error("name", f"must be {low} to {high} characters long"))
    if (creating or "type" in fields) and fields.get("type") not in INSTITUTION_TYPES:
        errors.append(body_error("type", f"must be one of {', '.join(INSTITUTION_TYPES)}"))
    frequency = fields.get("spot_restore_frequency", 0)
    if (
        isinstance(frequency, bool)
        or not isinstance(frequency, int)
        or not 0 <= frequency <= MAX_FREQUENCY
    ):
        errors.append(body_error("spot_restore_frequency", "must be a whole number of days, >= 0"))
    if not isinstance(fields.get("otp_enabled", False), bool):
        errors.append(body_error("otp_enabled", "must be true or false"))
    return errors


def _parent_errors(type_, parent_id, *, own_id) -> tuple[list[dict], bool]:
    """Problems with the parent, and whether the parent named does not exist (a 404)."""
    name = "member_institution_id"
    if type_ != SUBSCRIPTION:
        if parent_id is not None:
            return [body_error(name, "only a SubscriptionInstitution has a parent")], False
        return [], False
    if parent_id is None:
        return [body_error(name, "is required for a SubscriptionInstitution")], False
    if parent_id == own_id:
        return [body_error(name, "an institution cannot be its own parent")], False
    parent = Institution.get_or_none(Institution.id == parent_id)
    if parent is None:
        return [], True
    if parent.type != MEMBER:
        return [
            body_error(
                name,
                f"{parent.identifier} is not a MemberInstitution; "
                "only members have subscription institutions",
            )
        ], False
    if parent.state == "D":
        return [body_error(name, f"{parent.identifier} is deactivated")], False
    return [], False


def _has_subscribers(institution_id: int) -> bool:
    return Institution.select().where(Institution.member_institution == institution_id).exists()


def _raise_if_any(errors: list[dict], parent_id, parent_missing: bool) -> None:
    """422 naming every offending field; else 404 when the parent named does not exist."""
    if errors:
        names = ", ".join(dict.fromkeys(e["name"] for e in errors))
        details = "; ".join(f"{e['name']}: {e['message']}" for e in errors)
        raise RuleViolation(f"Invalid institution field(s): {names} ({details})", errors=errors)
    if parent_missing:
        raise NotFound(
            f"No institution matches member_institution_id {parent_id}",
            errors=[body_error("member_institution_id", "no such institution")],
        )
