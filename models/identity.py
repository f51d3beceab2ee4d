"""A member's own identity: who they are (`GET /me`), and their keys, which they list, make and
revoke themselves (`/member-api/v3/keys`); sysadmins list anyone's (`/admin-api/v3/users/{id}/
keys`). A key's secret leaves this module once, in what `create_own_key` returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import peewee

from models.caller import READ_WRITE, SCOPES, Caller
from models.errors import Conflict, NotFound, RuleViolation, body_error, clipped, quoted
from models.institution import Institution
from models.storage.base import utcnow
from models.storage.db import connection, locked, write_transaction
from models.storage.query import DATETIME, INT, Column, Listing, parse_datetime
from models.token import narrower
from models.user import KEY_PREFIX, ApiKey, User, digest_of, issue_key, revoke_keys

PREFIX_LENGTH = len(KEY_PREFIX) + 8
LABEL_LENGTH = (1, 100)


def me(caller: Caller) -> dict:
    """The caller, their institution and the credential of this request."""
    with connection():
        name, identifier, institution_name = (
            User.select(User.name, Institution.identifier, Institution.name)
            .join(Institution, on=(User.institution == Institution.id))
            .where(User.id == caller.user_id)
            .tuples()
            .get()
        )
    return {
        "user_id": caller.user_id,
        "email": caller.email,
        "name": name,
        "role": caller.role,
        "institution": {
            "id": caller.institution_id,
            "identifier": identifier,
            "name": institution_name,
        },
        "credential": {
            "type": caller.credential_kind,
            "id": caller.credential,
            "scope": caller.scope,
            "expires_at": caller.credential_expires_at,
        },
    }


def _view():
    K = ApiKey
    return Listing(
        name="api key",
        model=K,
        # Never the secret or its digest: a key is shown once, when it is made.
        columns=[
            Column("id", K.id, INT),
            Column("user_id", K.user, INT),
            Column("prefix", K.prefix),
            Column("label", K.label, nullable=True),
            Column("scope", K.scope),
            Column("created_at", K.created_at, DATETIME),
            Column("last_used_at", K.last_used_at, DATETIME, nullable=True),
            Column("expires_at", K.expires_at, DATETIME, nullable=True),
            Column("revoked_at", K.revoked_at, DATETIME, nullable=True),
        ],
        # `user_id` is the handlers' (the caller's own, or the admin path's user), never a
        # query parameter: the specs do not declare it, so validation refuses it first.
        filters={"user_id": ("eq",), "scope": ("eq",), "revoked_at": ("is_null",)},
        sorts=("created_at", "last_used_at", "expires_at"),
        default_sort=[("created_at", "desc")],
        scopes={"user_id": "user_id"},  # a member lists their own keys, whatever they ask
    )


KEYS = _view()


def live_keys(user_id: int, now: dt.datetime) -> peewee.ModelSelect:
    return ApiKey.select(ApiKey.id).where(
        (ApiKey.user == user_id)
        & ApiKey.revoked_at.is_null()
        & (ApiKey.expires_at.is_null() | (ApiKey.expires_at > now))
    )


def create_own_key(caller: Caller, fields: Mapping, max_live: int) -> dict:
    """A new key of the caller: `{key, prefix, label, scope, created_at, expires_at}`. Its
    scope is at most the caller's; a member holds at most `max_live` unrevoked, unexpired
    keys (409 beyond)."""
    now = utcnow()
    label = fields.get("label")
    label = label.strip() if isinstance(label, str) else label
    scope = fields.get("scope") or READ_WRITE
    expires_at, errors = None, []
    low, high = LABEL_LENGTH
    if not isinstance(label, str) or not low <= len(label) <= high:
        errors.append(body_error("label", f"must be {low} to {high} characters long"))
    if scope not in SCOPES:
        errors.append(body_error("scope", f"must be one of {', '.join(SCOPES)}"))
    if fields.get("expires_at") is not None:
        try:
            expires_at = parse_datetime(fields["expires_at"])
        except ValueError as exc:
            errors.append(body_error("expires_at", str(exc)))
        else:
            if expires_at <= now:
                errors.append(body_error("expires_at", "must be in the future"))
    if errors:
        names = ", ".join(dict.fromkeys(e["name"] for e in errors))
        raise RuleViolation(f"Invalid key field(s): {names}", errors=errors)
    with connection(), write_transaction():
        # The user's row, locked: two requests at once cannot both pass the count below.
        locked(User.select(User.id).where(User.id == caller.user_id)).get()
        live = live_keys(caller.user_id, now).count()
        if live >= max_live:
            raise Conflict(
                f"You hold {live} live keys, the most allowed ({max_live}): revoke one first "
                "(DELETE /member-api/v3/keys/{prefix})"
            )
        # Never wider than the caller's own (a read credential cannot call this at all).
        granted = narrower(scope, caller.scope)
        secret = issue_key(caller.user_id, label=label, scope=granted, expires_at=expires_at)
        created_at = (
            ApiKey.select(ApiKey.created_at).where(ApiKey.digest == digest_of(secret)).scalar()
        )
    return {
        "key": secret,
        "prefix": secret[:PREFIX_LENGTH],
        "label": label,
        "scope": granted,
        "created_at": created_at,
        "expires_at": expires_at,
    }


def revoke_own_key(caller: Caller, prefix: str) -> dict:
    """Revoke the caller's key that starts with `prefix` (and the tokens it made): 404 if
    the caller has none (another member's key is none of theirs), 409 if it is revoked."""
    with connection(), write_transaction():
        keys = ApiKey.select().where((ApiKey.user == caller.user_id) & (ApiKey.prefix == prefix))
        if not keys.exists():
            raise NotFound(f"You have no key starting with {quoted(prefix)}")
        revoked = revoke_keys(caller.user_id, prefix)
        if not revoked:
            raise Conflict(f"Your key {clipped(prefix)}... is already revoked")
    return {"user_id": caller.user_id, "revoked": revoked}
