"""Versioned schema. `migrate()` applies, in order, every migration not yet recorded.

Each migration is frozen SQL, one file per dialect in models/storage/sql/
(`v<version>_<name>.<sqlite|postgresql>.sql`, statements separated by `--;;` lines): what a
database runs never depends on today's model classes, so a database created fresh and one
upgraded from any earlier version end with the same schema (tests/test_migrations.py checks
both, and that the models still match it). A released file is never edited: a change to the
schema is a new version. Each migration runs in its own transaction together with the row that
records it, so a failed migration leaves nothing behind and running `registry db migrate` twice
is a no-op.

Why the schema is what it is, version by version:
1. the initial tables, and an index for every column a list filters or sorts on, starting with
   institution_id (the scope of every non-sysadmin list) and ending with id (the tie-breaker of
   every sort), so that a scoped, sorted page is an index range scan;
2. member read indexes, and at most one pending restore of an object (or a file): a partial
   unique index makes the database refuse the second of two simultaneous requests;
3. Peewee's one-column foreign-key indexes that a composite index starts with are dropped: the
   composite serves every lookup the single column did, and each index dropped is one less to
   maintain per row of a 10,000-file batch;
4. work items are polled by action and status together (94 ms -> 0.8 ms to count one
   institution's at 100,000 items on SQLite, bench/);
5. exact count tallies kept by triggers, filled from the rows already there
   (models/storage/counts.py);
6. the daily jobs' memory (models/internal_metadata.py: when the failed-fixity alerts and the
   restoration spot tests last ran), and a member's unread alerts as an index range of the
   recipient's rows (list_alerts?read_at__is_null=true, mark_all_alerts_read);
7. change polling (`created_at`/`updated_at` bounds) as an index range of the institution's rows
   where no earlier index gave one (work items by created_at, checksums and events by either),
   and on PostgreSQL the member search (`__contains` on object titles and identifiers, file
   identifiers): the pg_trgm extension and a trigram GIN index on `lower(column)`, the very
   expression the list engine's LIKE compares (SQLite has no such index: a plain scan there);
8. self-service keys (a label, a scope, an expiry and when each was last used, written at
   most once a minute) and short-lived bearer tokens, stored as SHA-256 digests like keys
   (models/token.py); a member's tokens are found by user and expiry (logout all=true).
"""

from __future__ import annotations

from pathlib import Path

import peewee

from models.storage.base import BaseModel, utcnow
from models.storage.db import database, is_postgres

SQL_DIR = Path(__file__).resolve().parent / "sql"
STATEMENT_SEPARATOR = "\n--;;\n"


class SchemaMigration(BaseModel):
    version = peewee.IntegerField(primary_key=True)
    name = peewee.CharField(max_length=200)
    applied_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "schema_migrations"


def dialect() -> str:
    return "postgresql" if is_postgres() else "sqlite"


def statements(version: int) -> list[str]:
    """The frozen statements of one migration, for the bound database's dialect."""
    matches = sorted(SQL_DIR.glob(f"v{version:04d}_*.{dialect()}.sql"))
    if len(matches) != 1:
        raise RuntimeError(
            f"migration {version}: expected one {dialect()} file in {SQL_DIR}, "
            f"found {[m.name for m in matches]}"
        )
    heading, _, body = matches[0].read_text().partition("\n")  # heading: a comment line
    return [part.strip() for part in body.split(STATEMENT_SEPARATOR) if part.strip()]


def _frozen(version: int):
    def step() -> None:
        for statement in statements(version):
            database.execute_sql(statement)

    step.__name__ = f"migration_{version}"
    return step


MIGRATIONS: list[tuple[int, str, object]] = [
    (1, "initial schema", _frozen(1)),
    (2, "member read indexes, one pending restore per object or file", _frozen(2)),
    (3, "drop one-column indexes that a composite index starts with", _frozen(3)),
    (4, "work item indexes for action and status together", _frozen(4)),
    (5, "exact count tallies kept by triggers", _frozen(5)),
    (6, "internal metadata of the daily jobs; alert recipients by read state", _frozen(6)),
    (7, "change polling indexes; trigram search indexes (PostgreSQL)", _frozen(7)),
    (8, "self-service API keys and short-lived bearer tokens", _frozen(8)),
]


def applied_versions() -> set[int]:
    if not database.table_exists(SchemaMigration._meta.table_name):
        return set()
    return {m.version for m in SchemaMigration.select(SchemaMigration.version)}


def migrate(to: int | None = None) -> list[int]:
    """Apply pending migrations (up to version `to`, by default all); return the versions
    applied now (empty when up to date)."""
    database.create_tables([SchemaMigration], safe=True)
    applied_now = []
    for version, name, step in MIGRATIONS:
        if to is not None and version > to:
            break
        with database.atomic():
            if is_postgres():
                # Two processes migrating at once: the second waits, then sees the row.
                database.execute_sql("SELECT pg_advisory_xact_lock(4242)")
            if SchemaMigration.get_or_none(SchemaMigration.version == version):
                continue
            step()
            SchemaMigration.create(version=version, name=name)
            applied_now.append(version)
    return applied_now


def current_version() -> int:
    versions = applied_versions()
    return max(versions) if versions else 0
