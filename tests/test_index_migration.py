"""Migration 3 drops one-column indexes only where a composite index starts with that column.

A 10,000-file batch writes 10,000 rows into each of four tables, and every index is one more
entry per row; the dropped ones were redundant only as long as their composite exists, so both
halves are checked on each backend against the database's own catalogue.
"""

from __future__ import annotations


def _indexes(backend: str, table: str) -> dict[str, list[str]]:
    """Index name -> its columns, in order, as the database reports them."""
    from models.storage.db import database

    if backend == "postgres":
        rows = database.execute_sql(
            "SELECT i.relname, a.attname FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) ON true "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
            "WHERE t.relname = %s ORDER BY i.relname, k.n",
            (table,),
        ).fetchall()
        out: dict[str, list[str]] = {}
        for name, column in rows:
            out.setdefault(name, []).append(column)
        return out
    names = [row[1] for row in database.execute_sql(f'PRAGMA index_list("{table}")')]
    return {
        name: [row[2] for row in database.execute_sql(f'PRAGMA index_info("{name}")')]
        for name in names
    }


# What migration 3 (models/storage/sql/v0003_*.sql) dropped, and the composite index covering each.
PREFIX_COVERED_V3: list[tuple[str, str]] = [
    ("generic_files_institution_id", "idx_generic_files__institution_id__created_at__id"),
    (
        "generic_files_intellectual_object_id",
        "idx_generic_files__intellectual_object_id__identifier",
    ),
    ("checksums_generic_file_id", "idx_checksums__generic_file_id__algorithm__created_at__id"),
    ("checksums_institution_id", "idx_checksums__institution_id__datetime__id"),
    ("premis_events_generic_file_id", "idx_premis_events__generic_file_id__date_time"),
    ("premis_events_institution_id", "idx_premis_events__institution_id__date_time__id"),
    (
        "premis_events_intellectual_object_id",
        "idx_premis_events__intellectual_object_id__date_time",
    ),
]


def test_each_dropped_index_is_gone_and_its_composite_starts_with_its_column(app, backend):
    from models.storage.db import connection

    with connection():
        for table in ("generic_files", "checksums", "premis_events"):
            indexes = _indexes(backend, table)
            for dropped, composite in PREFIX_COVERED_V3:
                if not dropped.startswith(table + "_"):
                    continue
                column = dropped[len(table) + 1 :]
                assert dropped not in indexes, (table, dropped)
                assert composite in indexes, (table, composite, sorted(indexes))
                assert indexes[composite][0] == column, (composite, indexes[composite])
                assert len(indexes[composite]) > 1
