"""Exact list counts without counting rows: per-dimension tallies that the database keeps.

Every list answers an exact `count`. A `COUNT(*)` grows with the rows it counts (one
institution's objects at 1 M objects: ~250,000 index entries per request). The reference
reads counts from materialized views refreshed hourly, so its counts can be an hour stale. Here
each counted table has a tally table, `<table>_counts`, holding how many rows have each
combination of a few *dimension* columns (objects and files: institution and state; events:
institution, type and outcome; work items: institution, action and status). Triggers update
the tallies in the same transaction as the write, so a tally is exactly as current as the rows
a reader's snapshot sees.

A list whose filters are all `eq` or `in` on dimensions (and the institution scope) then
counts by summing the tally rows that match: O(dimension combinations), not O(rows). Any other
filter (a date range, an identifier prefix, a join column) falls back to the exact `COUNT(*)`.

PostgreSQL: statement-level triggers with transition tables, so a 10,000-file COPY costs one
grouped upsert, not 10,000. An update that changes no dimension upserts nothing. Lock
contention: a writer holds the tally row it changed until it commits, so two transactions
adding rows of one institution and state would queue behind each other from the counting
statement to the first one's commit. To keep them apart, each tally is split into
`STRIPES` rows (`stripe` = the writer's transaction id modulo STRIPES): two concurrent writers
share a row, and wait, only when their transaction ids fall on the same stripe; reads sum the
stripes. Rows within one statement are upserted in key order, so one statement never
deadlocks with another; two transactions on one stripe that change two tally rows in opposite
orders over several statements can: PostgreSQL then rolls one of them back, and
registry.web.threads.run_write runs that write again.

SQLite has only row-level triggers (one upsert per row written; it has one writer at a time,
so it has no contention and uses stripe 0 alone). A TRUNCATE on PostgreSQL empties the tally
too; SQLite's REPLACE conflict resolution would delete rows without firing delete triggers,
and nothing here uses it.

The tally tables and triggers are created by migration 5, frozen SQL per dialect in
models/storage/sql/v0005_exact_count_tallies.*.sql, which also fills the tallies from rows already
there (on PostgreSQL, CREATE TRIGGER locks the table against writes until the migration
commits, so no row is written between the fill and the triggers taking over). Changing a
table's dimensions needs a new migration that drops and recreates them.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.storage.db import database, is_postgres

STRIPES = 8


@dataclass(frozen=True)
class CountTable:
    """The tally of one table by its dimension columns (names of the table's own columns)."""

    table: str
    dimensions: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.table}_counts"

    # -- reading: used by models.storage.query.Listing --------------------------------------------

    def check(self, listing) -> None:
        """Each dimension must be a listing column that is the base table's own column."""
        if listing.model._meta.table_name != self.table:
            raise ValueError(f"{listing.name}: counted by {self.name}, not of its table")
        for name in self.dimensions:
            expr = listing._by_name[name].expr if name in listing._by_name else None
            if getattr(expr, "model", None) is not listing.model or expr.column_name != name:
                raise ValueError(
                    f"{listing.name}: count dimension {name} is not a column of {self.table}"
                )

    def count_sql(self, filters, scopes) -> tuple[str, list[int]] | None:
        """The SUM over tally rows for a list shape, or None when the shape needs COUNT(*).

        `filters` is the shape's `(field, op, arity)` tuples in binding order, `scopes` the
        scope columns bound after them (empty when unscoped). Returns the SQL and, for each
        placeholder, the index of the request value it binds (the same values, in the same
        order, as the COUNT(*) it replaces).
        """
        conditions, slots, index = [], [], 0
        param = database.param
        for name, op, arity in filters:
            if name not in self.dimensions or op not in ("eq", "in"):
                return None
            width = 1 if op == "eq" else arity
            marks = ", ".join([param] * width)
            conditions.append(f'"{name}" = {marks}' if op == "eq" else f'"{name}" IN ({marks})')
            slots += range(index, index + width)
            index += width
        for name in scopes:
            if name not in self.dimensions:
                return None
            conditions.append(f'"{name}" = {param}')
            slots.append(index)
            index += 1
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return f'SELECT CAST(COALESCE(SUM("n"), 0) AS BIGINT) FROM "{self.name}"{where}', slots

    def uninstall(self) -> None:
        """Drop the tally table and its triggers (a test rebuilds them with migration 5)."""
        for event in ("insert", "update", "delete", "truncate"):
            database.execute_sql(
                f'DROP TRIGGER IF EXISTS "{self.name}_{event}"'
                + (f' ON "{self.table}"' if is_postgres() else "")
            )
        if is_postgres():
            database.execute_sql(f'DROP FUNCTION IF EXISTS "{self.name}_tally"()')
        database.execute_sql(f'DROP TABLE IF EXISTS "{self.name}"')


OBJECT_COUNTS = CountTable("intellectual_objects", ("institution_id", "state"))
FILE_COUNTS = CountTable("generic_files", ("institution_id", "state"))
EVENT_COUNTS = CountTable("premis_events", ("institution_id", "event_type", "outcome"))
ITEM_COUNTS = CountTable("work_items", ("institution_id", "action", "status"))
COUNT_TABLES = (OBJECT_COUNTS, FILE_COUNTS, EVENT_COUNTS, ITEM_COUNTS)
