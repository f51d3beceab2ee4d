"""Versioned schema. `migrate()` applies, in order, every migration not yet recorded.

Each migration runs in its own transaction together with the row that records it, so a failed
migration leaves nothing behind and running `registry db migrate` twice is a no-op.
"""
from __future__ import annotations

from typing import Callable

import peewee

from models.alert import Alert, AlertPremisEvent, AlertUser, AlertWorkItem
from models.base import BaseModel, utcnow
from models.checksum import Checksum
from models.counts import COUNT_TABLES
from models.db import database, is_postgres
from models.deletion_request import DeletionRequest, DeletionRequestFile, DeletionRequestObject
from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.storage_record import StorageRecord
from models.user import ApiKey, User
from models.work_item import WorkItem


class SchemaMigration(BaseModel):
    version = peewee.IntegerField(primary_key=True)
    name = peewee.CharField(max_length=200)
    applied_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "schema_migrations"


ALL_TABLES = [
    Institution, User, ApiKey, IntellectualObject, GenericFile, Checksum, StorageRecord,
    PremisEvent, DeletionRequest, DeletionRequestFile, DeletionRequestObject, WorkItem,
    Alert, AlertUser, AlertPremisEvent, AlertWorkItem,
]

# Every column a list can filter or sort on gets an index that starts with institution_id (the
# scope of every non-sysadmin list) and ends with id (the tie-breaker of every sort), so that a
# scoped, sorted page is an index range scan.
OBJECT_SCOPED = [
    "access", "alt_identifier", "bag_group_identifier", "bagit_profile_identifier", "created_at",
    "etag", "file_count", "identifier", "internal_sender_identifier", "size", "state",
    "storage_option", "updated_at", "bag_name", "source_organization",
    "internal_sender_description",
]
FILE_SCOPED = [
    "created_at", "identifier", "intellectual_object_id", "last_fixity_check", "size", "state",
    "storage_option", "updated_at", "uuid",
]

INDEXES_V1: list[tuple[str, tuple[str, ...]]] = [
    *[("intellectual_objects", ("institution_id", c, "id")) for c in OBJECT_SCOPED],
    ("intellectual_objects", ("updated_at", "id")),
    ("intellectual_objects", ("created_at", "id")),
    *[("generic_files", ("institution_id", c, "id")) for c in FILE_SCOPED],
    ("generic_files", ("intellectual_object_id", "updated_at", "id")),
    ("generic_files", ("intellectual_object_id", "identifier")),
    ("generic_files", ("updated_at", "id")),
    ("generic_files", ("created_at", "id")),
    ("checksums", ("generic_file_id", "algorithm", "created_at", "id")),
    ("checksums", ("institution_id", "datetime", "id")),
    ("premis_events", ("generic_file_id", "date_time")),
    ("premis_events", ("intellectual_object_id", "date_time")),
    ("premis_events", ("institution_id", "date_time", "id")),
    ("work_items", ("institution_id", "updated_at", "id")),
    ("work_items", ("intellectual_object_id",)),
    ("work_items", ("generic_file_id",)),
    ("deletion_requests", ("institution_id", "requested_at", "id")),
    ("alerts", ("institution_id", "created_at", "id")),
    ("institutions", ("member_institution_id",)),
]


def _create_index(table: str, columns: tuple[str, ...]) -> None:
    name = "idx_" + table + "__" + "__".join(columns)
    cols = ", ".join(f'"{c}"' for c in columns)
    database.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name[:63]}" ON "{table}" ({cols})')


def _v1_initial_schema() -> None:
    database.create_tables(ALL_TABLES, safe=True)
    for table, columns in INDEXES_V1:
        _create_index(table, columns)


_INCOMPLETE = "status NOT IN ('Cancelled', 'Failed', 'Success')"

INDEXES_V2: list[tuple[str, tuple[str, ...]]] = [
    *[("work_items", ("institution_id", c, "updated_at", "id"))
      for c in ("status", "action", "stage")],
    *[("work_items", ("institution_id", c, "id"))
      for c in ("date_processed", "bag_date", "name", "etag", "size", "queued_at", "user")],
    ("work_items", ("updated_at", "id")),
    ("premis_events", ("institution_id", "event_type", "date_time", "id")),
    ("premis_events", ("date_time", "id")),
    ("checksums", ("datetime", "id")),
    ("alerts_users", ("user_id", "alert_id")),
    ("alerts", ("created_at", "id")),
    ("deletion_requests", ("requested_at", "id")),
]


def _v2_member_reads_and_restores() -> None:
    for table, columns in INDEXES_V2:
        _create_index(table, columns)
    # At most one restore of an object (or of a file) is pending at any time. A partial unique
    # index makes the database refuse the second of two simultaneous requests.
    database.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS uq_work_items_pending_object_restore "
        "ON work_items (intellectual_object_id) "
        f"WHERE action IN ('Restore Object', 'Glacier Restore') AND {_INCOMPLETE}")
    database.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS uq_work_items_pending_file_restore "
        f"ON work_items (generic_file_id) WHERE action = 'Restore File' AND {_INCOMPLETE}")


# Peewee's one-column foreign-key indexes that a composite index of v1/v2 starts with: the
# composite serves every lookup, join and foreign-key check the single column did, and each
# index dropped is one less to maintain per row written (a 10,000-file batch writes 10,000
# rows into each of generic_files, checksums, premis_events and storage_records).
PREFIX_COVERED_V3: list[tuple[str, str]] = [
    ("generic_files_institution_id", "idx_generic_files__institution_id__created_at__id"),
    ("generic_files_intellectual_object_id",
     "idx_generic_files__intellectual_object_id__identifier"),
    ("checksums_generic_file_id", "idx_checksums__generic_file_id__algorithm__created_at__id"),
    ("checksums_institution_id", "idx_checksums__institution_id__datetime__id"),
    ("premis_events_generic_file_id", "idx_premis_events__generic_file_id__date_time"),
    ("premis_events_institution_id", "idx_premis_events__institution_id__date_time__id"),
    ("premis_events_intellectual_object_id",
     "idx_premis_events__intellectual_object_id__date_time"),
]


def _v3_drop_prefix_covered_indexes() -> None:
    for name, _covered_by in PREFIX_COVERED_V3:
        database.execute_sql(f'DROP INDEX IF EXISTS "{name}"')


# Work items are polled by action and status together (e.g. pending restores). With only the
# single-column indexes, counting one institution's items read every row of the status to test
# its action: 94 ms at 100,000 items on SQLite; 0.8 ms with the composite index (bench/).
INDEXES_V4: list[tuple[str, tuple[str, ...]]] = [
    ("work_items", ("institution_id", "action", "status", "updated_at", "id")),
    ("work_items", ("action", "status", "updated_at", "id")),
]


def _v4_work_items_by_action_and_status() -> None:
    for table, columns in INDEXES_V4:
        _create_index(table, columns)


def _v5_exact_count_tallies() -> None:
    """Tallies of objects, files, events and work items by their count dimensions, kept exact
    by triggers and filled from the rows already there (models/counts.py)."""
    for tally in COUNT_TABLES:
        tally.install()


# The daily jobs' memory (models/internal_metadata.py): when the failed-fixity alerts and the
# restoration spot tests last ran. Written as SQL per dialect, not from the model class, so
# that this migration creates the same table whatever the model later becomes.
INTERNAL_METADATA_V6 = {
    "postgres": 'CREATE TABLE IF NOT EXISTS "internal_metadata" ('
                '"key" VARCHAR(100) COLLATE "C" NOT NULL PRIMARY KEY, "value" TEXT, '
                '"created_at" TIMESTAMP NOT NULL, "updated_at" TIMESTAMP NOT NULL)',
    "sqlite": 'CREATE TABLE IF NOT EXISTS "internal_metadata" ('
              '"key" VARCHAR(100) NOT NULL PRIMARY KEY, "value" TEXT, '
              '"created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL)',
}
# A member's unread alerts (list_alerts?read_at__is_null=true, mark_all_alerts_read) are an
# index range of the recipient's rows.
INDEXES_V6: list[tuple[str, tuple[str, ...]]] = [
    ("alerts_users", ("user_id", "read_at", "alert_id")),
]


def _v6_internal_metadata_and_read_alerts() -> None:
    database.execute_sql(INTERNAL_METADATA_V6["postgres" if is_postgres() else "sqlite"])
    for table, columns in INDEXES_V6:
        _create_index(table, columns)


MIGRATIONS: list[tuple[int, str, Callable[[], None]]] = [
    (1, "initial schema", _v1_initial_schema),
    (2, "member read indexes, one pending restore per object or file",
     _v2_member_reads_and_restores),
    (3, "drop one-column indexes that a composite index starts with",
     _v3_drop_prefix_covered_indexes),
    (4, "work item indexes for action and status together", _v4_work_items_by_action_and_status),
    (5, "exact count tallies kept by triggers", _v5_exact_count_tallies),
    (6, "internal metadata of the daily jobs; alert recipients by read state",
     _v6_internal_metadata_and_read_alerts),
]


def applied_versions() -> set[int]:
    if not database.table_exists(SchemaMigration._meta.table_name):
        return set()
    return {m.version for m in SchemaMigration.select(SchemaMigration.version)}


def migrate() -> list[int]:
    """Apply pending migrations; return the versions applied now (empty when up to date)."""
    database.create_tables([SchemaMigration], safe=True)
    applied_now = []
    for version, name, step in MIGRATIONS:
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
