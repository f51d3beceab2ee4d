"""Short-lived bearer tokens: made by `POST /member-api/v3/login` from a key, revoked by logout.

A token is `rgt_` + 256 random bits (URL-safe) + `.` + the rate-limit tag of the key that made
it. Like a key, only its SHA-256 digest is stored, and the digest selects the row; its id
(`rgt_` and the next 8 characters) names it in `GET /me` and in the key listings, never the
token itself.

The tag lets the rate limiter (registry/web/rate_limit.py) charge a token's requests to its
key's budget before anything is looked up, as it charges keys: it is the key's own partition
there (a keyed BLAKE2b digest of the key, which says nothing about the key), so a token buys
no budget of its own. The tag is part of what is hashed: a token with an edited tag matches no
row (401).

Every request with a token checks, in the one SELECT that finds it, that the token is neither
revoked nor expired, and that its key, its user and the user's institution are still active:
revoking the key or disabling the user ends the token on the next request, on every worker and
server, with nothing cached to invalidate.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

import peewee

from models.caller import READ, READ_WRITE, Caller
from models.institution import Institution
from models.storage.base import BaseModel, Char, utcnow
from models.storage.db import connection, database, write_transaction
from models.user import ApiKey, User, digest_of, stored_time

TOKEN_PREFIX = "rgt_"
TOKEN_ID_LENGTH = len(TOKEN_PREFIX) + 8
# A token's length is bounded: anything longer is refused before it is hashed.
MAX_TOKEN_LENGTH = 200
# Expired tokens are deleted when their user next logs in, once this long past expiry.
KEEP_EXPIRED = dt.timedelta(days=1)


class ApiToken(BaseModel):
    user = peewee.ForeignKeyField(User, column_name="user_id", index=False)  # (user, expiry)
    api_key = peewee.ForeignKeyField(ApiKey, column_name="api_key_id", index=True)
    token_id = Char(max_length=16)
    digest = Char(max_length=64, unique=True)
    scope = Char(max_length=20)
    created_at = peewee.DateTimeField(default=utcnow)
    expires_at = peewee.DateTimeField()
    revoked_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "api_tokens"


def narrower(asked: str | None, allowed: str) -> str:
    """The scope a new credential gets: what was asked, at most what its maker holds."""
    if allowed == READ or asked == READ:
        return READ
    return READ_WRITE


def issue_token(caller: Caller, lifetime: dt.timedelta, scope: str | None) -> dict:
    """A token for the caller's key: `{token, token_type, token_id, scope, expires_at}`, the
    only copy of `token`. It ends in the key's rate-limit partition (`Caller.key_tag`)."""
    if caller.credential_kind != "key" or caller.key_tag is None:
        raise ValueError("a token is made from a key")
    secret = f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}.{caller.key_tag}"
    now = utcnow()
    expires_at = now + lifetime
    if caller.credential_expires_at is not None:  # a token outlives its key never
        expires_at = min(expires_at, caller.credential_expires_at)
    granted = narrower(scope, caller.scope)
    with connection(), write_transaction():
        # The user's long-expired tokens go now: the table holds live tokens and a day of past.
        ApiToken.delete().where(
            (ApiToken.user == caller.user_id) & (ApiToken.expires_at < now - KEEP_EXPIRED)
        ).execute()
        ApiToken.create(
            user=caller.user_id,
            api_key=caller.key_id,
            token_id=secret[:TOKEN_ID_LENGTH],
            digest=digest_of(secret),
            scope=granted,
            created_at=now,
            expires_at=expires_at,
        )
    return {
        "token": secret,
        "token_type": "Bearer",
        "token_id": secret[:TOKEN_ID_LENGTH],
        "scope": granted,
        "expires_at": expires_at,
    }


def revoke_token(caller: Caller, every: bool) -> dict:
    """Logout: the caller's token in use (or, `every`, all the caller's live tokens);
    `{"revoked": n}`, what the API answers."""
    now = utcnow()
    live = (ApiToken.user == caller.user_id) & ApiToken.revoked_at.is_null()
    live &= ApiToken.expires_at > now
    if not every:
        if caller.token_row_id is None:
            return {"revoked": 0}
        live &= ApiToken.id == caller.token_row_id
    with connection(), write_transaction():
        return {"revoked": ApiToken.update(revoked_at=now).where(live).execute()}


def revoke_tokens_of_keys(key_ids: list[int], now: dt.datetime) -> int:
    """The live tokens made by these keys (their keys are being revoked), in the caller's
    transaction."""
    return (
        ApiToken.update(revoked_at=now)
        .where(ApiToken.api_key.in_(key_ids) & ApiToken.revoked_at.is_null())
        .execute()
    )


def revoke_tokens_of_user(user_id: int, now: dt.datetime) -> int:
    """Every live token of a user being disabled, in the caller's transaction."""
    return (
        ApiToken.update(revoked_at=now)
        .where((ApiToken.user == user_id) & ApiToken.revoked_at.is_null())
        .execute()
    )


_TOKEN_SQL: dict = {}


def _token_sql() -> str:
    """The unrevoked token with this digest, its key (unrevoked) and its user (active, of an
    active institution): one row at most."""
    key = type(database.obj)
    if key not in _TOKEN_SQL:
        query = (
            ApiToken.select(
                ApiToken.digest,
                User.id,
                User.email,
                User.role,
                User.institution,
                ApiToken.id,
                ApiToken.token_id,
                ApiToken.scope,
                ApiToken.expires_at,
                ApiKey.id,
                ApiKey.expires_at,
            )
            .join(ApiKey, on=(ApiToken.api_key == ApiKey.id))
            .switch(ApiToken)
            .join(User, on=(ApiToken.user == User.id))
            .join(Institution, on=(User.institution == Institution.id))
            .where(
                (ApiToken.digest == peewee.Value("", converter=False))
                & ApiToken.revoked_at.is_null()
                & ApiKey.revoked_at.is_null()
                & (ApiKey.user == User.id)
                & User.deactivated_at.is_null()
                & Institution.deactivated_at.is_null()
            )
        )
        _TOKEN_SQL[key] = query.sql()[0]
    return _TOKEN_SQL[key]


def authenticate_token(secret: str) -> Caller | None:
    """The caller a bearer token stands for, or None (unknown, revoked, expired; its key
    revoked or expired; its user disabled or of a deactivated institution).

    The digest of the token selects the row through a unique index: what a wrong token costs,
    and how long it takes, does not depend on how close it is to a real one."""
    if not secret or len(secret) > MAX_TOKEN_LENGTH or not secret.startswith(TOKEN_PREFIX):
        return None
    wanted = digest_of(secret)
    with connection():
        rows = database.execute_sql(_token_sql(), [wanted]).fetchall()
    if not rows:
        return None
    stored, user_id, email, role, institution_id = rows[0][:5]
    row_id, token_id, scope, expires, key_id, key_expires = rows[0][5:]
    # The index found the row by equality already; the digests are compared once more, in
    # constant time, so that no collation or driver conversion can make two differ unseen.
    if not hmac.compare_digest(stored.encode(), wanted.encode()):
        return None
    now = utcnow()
    expires, key_expires = stored_time(expires), stored_time(key_expires)
    if expires <= now or (key_expires is not None and key_expires <= now):
        return None
    return Caller(
        user_id,
        email,
        role,
        institution_id,
        scope=scope,
        credential=token_id,
        credential_kind="token",
        credential_expires_at=expires,
        key_id=key_id,
        token_row_id=row_id,
    )
