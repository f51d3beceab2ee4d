"""People and services that call the API, and the keys they authenticate with."""

import datetime as dt
import hashlib
import hmac
import secrets

import peewee

from models.caller import READ_WRITE, Caller
from models.institution import Institution
from models.storage.base import BaseModel, Char, utcnow
from models.storage.db import connection, database, is_postgres
from models.storage.query import DATETIME, INT, Column, Listing


class User(BaseModel):
    name = Char(max_length=200)
    email = Char(max_length=254, unique=True)
    institution = peewee.ForeignKeyField(Institution, column_name="institution_id", index=True)
    role = Char(max_length=50, default="none")
    phone_number = Char(max_length=20, null=True)
    deactivated_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "users"


class ApiKey(BaseModel):
    """One API key. Only the SHA-256 digest of the secret is stored; `prefix` identifies it.
    A `read` key may call reads only (registry/web/authz.py); an expired key authenticates no
    more; `last_used_at` is kept to the minute (see `touch_key`)."""

    user = peewee.ForeignKeyField(User, column_name="user_id", backref="api_keys", index=True)
    prefix = Char(max_length=16)
    digest = Char(max_length=64, unique=True)
    created_at = peewee.DateTimeField(default=utcnow)
    revoked_at = peewee.DateTimeField(null=True)
    label = Char(max_length=100, null=True)
    scope = Char(max_length=20, default=READ_WRITE)
    expires_at = peewee.DateTimeField(null=True)
    last_used_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "api_keys"


KEY_PREFIX = "rgk_"
# How stale `last_used_at` may be: a key is written at most once per this many seconds, not
# once per request (a write per request would cost every read a write lock on SQLite).
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


def new_secret() -> str:
    """A fresh API key: a recognisable prefix and 256 random bits, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest_of(secret: str) -> str:
    # SHA-256, not bcrypt: the secret is 256 random bits, so a slow hash adds no safety and
    # would cost 60-240 ms on every request.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def key_tag(secret: bytes) -> str:
    """The key's rate-limit partition (registry/web/rate_limit.py), which its tokens end in
    (models/token.py): a keyed BLAKE2b digest, unrelated to the SHA-256 digest stored here."""
    return hashlib.blake2b(secret, digest_size=16, person=b"registry-ratelim").hexdigest()


def issue_key(
    user: User | int,
    *,
    label: str | None = None,
    scope: str = READ_WRITE,
    expires_at: dt.datetime | None = None,
) -> str:
    """Create a key for `user` and return the secret. It is shown once and never stored."""
    secret = new_secret()
    ApiKey.create(
        user=user,
        prefix=secret[: len(KEY_PREFIX) + 8],
        digest=digest_of(secret),
        label=label,
        scope=scope,
        expires_at=expires_at,
    )
    return secret


def revoke_keys(user: User | int, prefix: str | None = None) -> int:
    """Revoke the user's active keys (only the one starting with `prefix`, when given), and
    the tokens those keys made (models/token.py: authenticating a token checks its key too;
    this keeps the tokens' own rows truthful)."""
    from models.token import revoke_tokens_of_keys  # the token module builds on this one

    now = utcnow()
    active = (ApiKey.user == user) & ApiKey.revoked_at.is_null()
    if prefix:
        active &= ApiKey.prefix == prefix[: len(KEY_PREFIX) + 8]
    ids = [key_id for (key_id,) in ApiKey.select(ApiKey.id).where(active).tuples()]
    if not ids:
        return 0
    revoked = ApiKey.update(revoked_at=now).where(ApiKey.id.in_(ids)).execute()
    revoke_tokens_of_keys(ids, now)
    return revoked


def touch_key(key_id: int) -> None:
    """Record that the key was used now, unless that was recorded less than a minute ago
    (the condition is the database's: of several workers touching one key at once, one
    writes). Never waits for the write lock and never fails the request it serves: on SQLite
    a busy database skips it (the next request tries again)."""
    now = utcnow()
    query = ApiKey.update(last_used_at=now).where(
        (ApiKey.id == key_id)
        & (ApiKey.last_used_at.is_null() | (ApiKey.last_used_at < now - LAST_USED_RESOLUTION))
    )
    with connection():
        if is_postgres():
            query.execute()
            return
        busy_timeout = database.execute_sql("PRAGMA busy_timeout").fetchone()[0]
        database.execute_sql("PRAGMA busy_timeout = 0")
        try:
            query.execute()
        except peewee.OperationalError:  # "database is locked": skipped, not waited for
            pass
        finally:
            database.execute_sql(f"PRAGMA busy_timeout = {int(busy_timeout)}")


def stored_time(value) -> dt.datetime | None:
    """A timestamp column as raw SQL returns it: a datetime (PostgreSQL) or its text (SQLite)."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def needs_touch(last_used_at: dt.datetime | None) -> bool:
    return last_used_at is None or utcnow() - last_used_at >= LAST_USED_RESOLUTION


_CREDENTIALS_SQL: dict = {}


def _credentials_sql() -> str:
    """The active key whose digest is the one given, with its user (one row at most: digests
    are unique). The key, never the e-mail, picks the row: see `authenticate`."""
    key = type(database.obj)  # the SQL depends on the dialect only
    if key not in _CREDENTIALS_SQL:
        query = (
            User.select(
                User.id,
                User.email,
                User.role,
                User.institution,
                ApiKey.id,
                ApiKey.prefix,
                ApiKey.scope,
                ApiKey.expires_at,
                ApiKey.last_used_at,
            )
            .join(ApiKey, on=(ApiKey.user == User.id))
            .switch(User)
            .join(Institution, on=(User.institution == Institution.id))
            .where(
                (ApiKey.digest == peewee.Value("", converter=False))
                & User.deactivated_at.is_null()
                & ApiKey.revoked_at.is_null()
                & Institution.deactivated_at.is_null()  # users of a deactivated institution
            )
        )
        _CREDENTIALS_SQL[key] = query.sql()[0]
    return _CREDENTIALS_SQL[key]


# What a wrong key's e-mail is compared with: no stored e-mail has this form.
_NOBODY = b"\x00no user\x00"


def authenticate(email: str, secret: str) -> Caller | None:
    """The caller owning this e-mail and key, or None (unknown, revoked, disabled, mismatch,
    or a user of a deactivated institution).

    A wrong key costs the same whether or not the e-mail is a registered one, so that timing
    tells nobody which e-mails are: the key's digest (one hash) selects the row, so the
    database does the same work for any e-mail, and the e-mail is then compared in constant
    time (one compare) with the row's, or with a value no e-mail equals when there is none."""
    if not email or not secret or len(secret) > 200:
        return None
    wanted = digest_of(secret)
    with connection():
        rows = database.execute_sql(_credentials_sql(), [wanted]).fetchall()
    row = rows[0] if rows else (None,) * 9
    user_id, stored_email, role, institution_id, key_id, prefix, scope, expires, used = row
    given = email.strip().lower().encode("utf-8", "surrogatepass")
    stored = stored_email.encode("utf-8") if rows else _NOBODY
    if not (hmac.compare_digest(stored, given) and rows):
        return None
    expires, used = stored_time(expires), stored_time(used)
    # Expiry is checked here rather than in the SQL so that the SQL stays one statement per
    # dialect with one parameter; an expired key is refused like an unknown one (401).
    if expires is not None and expires <= utcnow():
        return None
    return Caller(
        user_id,
        stored_email,
        role,
        institution_id,
        scope=scope,
        credential=prefix,
        credential_kind="key",
        credential_expires_at=expires,
        key_id=key_id,
        key_last_used_at=used,
        key_tag=key_tag(secret.encode("utf-8", "surrogatepass")),
    )


def _view():
    U, I = User, Institution
    return Listing(
        name="user",
        model=U,
        joins=lambda q: q.join(I, on=(U.institution == I.id)),
        # Never a key, a digest or a prefix: keys are shown once, when issued, and nowhere else.
        columns=[
            Column("id", U.id, INT),
            Column("name", U.name),
            Column("email", U.email),
            Column("role", U.role),
            Column("institution_id", U.institution, INT),
            Column("institution_identifier", I.identifier),
            Column("deactivated_at", U.deactivated_at, DATETIME, nullable=True),
            Column("created_at", U.created_at, DATETIME),
            Column("updated_at", U.updated_at, DATETIME),
        ],
        filters={
            "institution_id": ("eq",),
            "role": ("eq",),
            "email": ("eq", "contains"),
            "name": ("contains",),
            "deactivated_at": ("is_null",),
            "created_at": ("gteq", "lteq"),
            "updated_at": ("gteq", "lteq"),
        },
        sorts=("created_at", "email", "name", "updated_at"),
        default_sort=[("email", "asc")],
        scopes={},  # sysadmins only
    )


USERS = _view()
