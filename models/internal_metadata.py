"""What the daily jobs remember between runs (the reference keeps it in `ar_internal_metadata`):
when failed-fixity alerts and restoration spot tests last ran.

A job reads its row with `claim`, inside its write transaction, and the row stays locked until
that transaction ends: a second run that starts meanwhile waits, then reads what the first one
stored. So two runs at once never both act on the same stale "last run" (two callers of the
failed-fixity alerts would otherwise both alert the same failures). The table is created by
migration 6, in SQL, not from this class.
"""

from __future__ import annotations

import datetime as dt

import peewee

from models.storage.base import BaseModel, utcnow
from models.storage.db import is_postgres

FIXITY_ALERTS_LAST_RUN = "fixity alerts last run"
SPOT_TESTS_LAST_RUN = "spot restore last run"


class InternalMetadata(BaseModel):
    key = peewee.CharField(max_length=100, primary_key=True)
    value = peewee.TextField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "internal_metadata"


def claim(key: str) -> str | None:
    """The value stored under `key` (None if never stored), its row locked until the calling
    write transaction ends.

    The row is made first if missing: a lock needs a row, and of two first runs the second
    waits on the first's uncommitted insert. PostgreSQL locks the row (FOR UPDATE; READ
    COMMITTED then reads the value the first run committed); SQLite's write transaction
    (models.storage.db.write_transaction) holds the whole database already.
    """
    now = utcnow()
    M = InternalMetadata
    M.insert(key=key, value=None, created_at=now, updated_at=now).on_conflict_ignore().execute()
    query = M.select(M.value).where(M.key == key)
    if is_postgres():
        query = query.for_update()
    return query.scalar()


def store(key: str, value: str) -> None:
    M = InternalMetadata
    M.update(value=value, updated_at=utcnow()).where(M.key == key).execute()


def as_text(moment: dt.datetime) -> str:
    """A naive UTC instant as RFC 3339, to the microsecond (the next run starts right after)."""
    return moment.isoformat(timespec="microseconds") + "Z"


def from_text(value: str) -> dt.datetime:
    """The inverse of `as_text`; also reads the reference's whole-second form."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed
