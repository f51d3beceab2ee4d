"""Creating and disabling users, and issuing and revoking their API keys.

A key's secret leaves this module exactly once, in what `issue_api_key` returns; only its
SHA-256 digest and its prefix (`rgk_` + 8 characters, to tell keys apart) are stored.
Each function takes the caller, is one transaction, and returns what the API answers: the user
as the caller then reads it (`models.user.USERS`), the issued key, or how many keys it revoked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import peewee

from models.caller import Caller
from models.enums import ROLES, SYSADMIN
from models.errors import Conflict, NotFound, RuleViolation, body_error, clipped, quoted
from models.institution import Institution
from models.institution_writes import OPERATOR_INSTITUTION
from models.storage.base import utcnow
from models.storage.db import connection, database, write_transaction
from models.token import revoke_tokens_of_user
from models.user import KEY_PREFIX, USERS, ApiKey, User, digest_of, issue_key, revoke_keys

NAME_LENGTH = (2, 200)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PREFIX_LENGTH = len(KEY_PREFIX) + 8


def create_user(caller: Caller, fields: Mapping) -> dict:
    """Insert a user. E-mail addresses are kept in lower case and unique in any case."""
    email = fields.get("email")
    email = email.strip().lower() if isinstance(email, str) else email
    institution_id = fields.get("institution_id")
    errors = _field_errors(fields, email)
    with connection(), write_transaction():
        institution = Institution.get_or_none(Institution.id == institution_id)
        if institution is not None:
            errors += _institution_errors(institution, fields.get("role"))
        if errors:
            names = ", ".join(dict.fromkeys(e["name"] for e in errors))
            raise RuleViolation(f"Invalid user field(s): {names}", errors=errors)
        if institution is None:
            raise NotFound(
                f"No institution matches institution_id {institution_id}",
                errors=[body_error("institution_id", "no such institution")],
            )
        taken = Conflict(
            f"A user with e-mail {clipped(email)} already exists",
            errors=[body_error("email", "already in use")],
        )
        # Rows written by other means (fixtures) may hold capitals: compare in lower case too.
        if User.select().where(peewee.fn.LOWER(User.email) == email).exists():
            raise taken
        now = utcnow()
        try:
            with database.atomic():  # a savepoint: PostgreSQL needs one to survive the error
                user_id = User.insert(
                    email=email,
                    name=fields["name"].strip(),
                    role=fields["role"],
                    institution=institution,
                    created_at=now,
                    updated_at=now,
                ).execute()
        except peewee.IntegrityError:
            raise taken from None
    return USERS.get(caller, user_id)


def disable_user(caller: Caller, user_id: int) -> dict:
    """Set `deactivated_at`: the user's keys and tokens stop working on their next request."""
    now = utcnow()
    with connection(), write_transaction():
        user = _get(user_id)
        changed = (
            User.update(deactivated_at=now, updated_at=now)
            .where((User.id == user_id) & User.deactivated_at.is_null())
            .execute()
        )
        if not changed:
            raise Conflict(f"User {user.email} is already disabled")
        revoke_tokens_of_user(user_id, now)  # refused already (models/token.py); recorded too
    return USERS.get(caller, user_id)


def issue_api_key(caller: Caller, user_id: int) -> dict:
    """A new key for the user: `{"key", "prefix", "created_at"}`, the only copy of `key`."""
    with connection(), write_transaction():
        user = _get(user_id)
        if user.deactivated_at is not None:
            raise Conflict(f"User {user.email} is disabled; a key would not work")
        institution = Institution.get_by_id(user.institution_id)
        if institution.state == "D":
            raise Conflict(
                f"The institution of {user.email} ({institution.identifier}) is "
                "deactivated; a key would not work"
            )
        secret = issue_key(user)
        created_at = (
            ApiKey.select(ApiKey.created_at).where(ApiKey.digest == digest_of(secret)).scalar()
        )
    return {"key": secret, "prefix": secret[:PREFIX_LENGTH], "created_at": created_at}


def revoke_api_key(caller: Caller, user_id: int, prefix: str) -> dict:
    """Revoke the user's key that starts with `prefix`; 404 if there is none, 409 if revoked."""
    with connection(), write_transaction():
        user = _get(user_id)
        keys = ApiKey.select().where((ApiKey.user == user_id) & (ApiKey.prefix == prefix))
        if not keys.exists():
            raise NotFound(f"User {user.email} has no key starting with {quoted(prefix)}")
        revoked = revoke_keys(user, prefix)
        if not revoked:
            raise Conflict(f"The key {clipped(prefix)}... of {user.email} is already revoked")
    return {"user_id": user_id, "revoked": revoked}


def revoke_api_keys(caller: Caller, user_id: int) -> dict:
    """Revoke every active key of the user; how many there were (0 is fine)."""
    with connection(), write_transaction():
        revoked = revoke_keys(_get(user_id))
    return {"user_id": user_id, "revoked": revoked}


def _get(user_id: int) -> User:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        raise NotFound(f"No user matches {quoted(user_id)}")
    return user


def _field_errors(fields: Mapping, email) -> list[dict]:
    errors = []
    name = fields.get("name")
    low, high = NAME_LENGTH
    if not isinstance(name, str) or not low <= len(name.strip()) <= high:
        errors.append(body_error("name", f"must be {low} to {high} characters long"))
    if not isinstance(email, str) or len(email) > 254 or not EMAIL.match(email):
        errors.append(body_error("email", "must be an e-mail address such as someone@example.edu"))
    if fields.get("role") not in ROLES:
        errors.append(body_error("role", f"must be one of {', '.join(ROLES)}"))
    return errors


def _institution_errors(institution: Institution, role) -> list[dict]:
    errors = []
    if institution.state == "D":
        errors.append(body_error("institution_id", f"{institution.identifier} is deactivated"))
    if role == SYSADMIN and institution.identifier != OPERATOR_INSTITUTION:
        errors.append(
            body_error("role", f"{SYSADMIN} (sysadmin) is only for users of {OPERATOR_INSTITUTION}")
        )
    return errors
