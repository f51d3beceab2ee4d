"""People and services that call the API, and the keys they authenticate with."""

import hashlib
import hmac
import secrets

import peewee

from models.caller import Caller
from models.institution import Institution
from models.storage.base import BaseModel, Char, utcnow
from models.storage.db import connection, database
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
    """One API key. Only the SHA-256 digest of the secret is stored; `prefix` identifies it."""

    user = peewee.ForeignKeyField(User, column_name="user_id", backref="api_keys", index=True)
    prefix = Char(max_length=16)
    digest = Char(max_length=64, unique=True)
    created_at = peewee.DateTimeField(default=utcnow)
    revoked_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "api_keys"


KEY_PREFIX = "rgk_"


def new_secret() -> str:
    """A fresh API key: a recognisable prefix and 256 random bits, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest_of(secret: str) -> str:
    # SHA-256, not bcrypt: the secret is 256 random bits, so a slow hash adds no safety and
    # would cost 60-240 ms on every request.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_key(user: User) -> str:
    """Create a key for `user` and return the secret. It is shown once and never stored."""
    secret = new_secret()
    ApiKey.create(user=user, prefix=secret[: len(KEY_PREFIX) + 8], digest=digest_of(secret))
    return secret


def revoke_keys(user: User, prefix: str | None = None) -> int:
    """Revoke the user's active keys (only the one starting with `prefix`, when given)."""
    query = ApiKey.update(revoked_at=utcnow()).where(
        (ApiKey.user == user) & ApiKey.revoked_at.is_null()
    )
    if prefix:
        query = query.where(ApiKey.prefix == prefix[: len(KEY_PREFIX) + 8])
    return query.execute()


_CREDENTIALS_SQL: dict = {}


def _credentials_sql() -> str:
    """The active key whose digest is the one given, with its user (one row at most: digests
    are unique). The key, never the e-mail, picks the row: see `authenticate`."""
    key = type(database.obj)  # the SQL depends on the dialect only
    if key not in _CREDENTIALS_SQL:
        query = (
            User.select(User.id, User.email, User.role, User.institution)
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
    user_id, stored_email, role, institution_id = rows[0] if rows else (None, None, None, None)
    given = email.strip().lower().encode("utf-8", "surrogatepass")
    stored = stored_email.encode("utf-8") if rows else _NOBODY
    if hmac.compare_digest(stored, given) and rows:
        return Caller(user_id, stored_email, role, institution_id)
    return None


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
