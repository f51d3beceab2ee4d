"""Inserting thousands of rows at once, on either backend.

Peewee's `insert_many` builds a node per value and compiles them all (about 20 us a value),
and psycopg re-parses the placeholders of a long statement at every execution (it caches only
short ones): in a 10,000-file batch that cost more than the database's own work. So rows go in
as plain tuples, already in their column types: into PostgreSQL through binary COPY (ids
drawn from the table's sequence beforehand when the caller needs them; psycopg formats a
binary row in a sixth of the CPU time of a text one), into SQLite through multi-row
INSERT statements whose text is built once per table and chunk size (SQLite parses it in C).
"""

from __future__ import annotations

import functools

import peewee

from models.storage.db import database, is_postgres

# Values per SQLite statement: under its limit of 32,766 variables.
_SQLITE_MAX_VALUES = 30000
_SQLITE_MAX_ROWS = 1000


def insert(
    model: type[peewee.Model],
    fields: list[peewee.Field],
    rows: list[tuple],
    key: peewee.Field | None = None,
) -> dict | None:
    """Insert `rows` (tuples in `fields` order). With `key`, a unique field among `fields`:
    the new ids by key value."""
    if not rows:
        return {} if key is not None else None
    with peewee.__exception_wrapper__:  # driver errors as peewee's (IntegrityError...)
        if is_postgres():
            return _copy(model, fields, rows, key)
        return _insert_values(model, fields, rows, key)


def _copy(model, fields, rows, key):
    table, pk = model._meta.table_name, model._meta.primary_key.column_name
    columns = [f.column_name for f in fields]
    ids = None
    if key is not None:
        cursor = database.execute_sql(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            (table, pk, len(rows)),
        )
        ids = [row[0] for row in cursor.fetchall()]
        columns = [pk, *columns]
        rows = [(new_id, *row) for new_id, row in zip(ids, rows, strict=True)]
    names = ", ".join(f'"{c}"' for c in columns)
    types = _column_types(table, tuple(columns))
    with (
        database.cursor() as cursor,
        cursor.copy(f'COPY "{table}" ({names}) FROM STDIN (FORMAT BINARY)') as copy,
    ):
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
    if key is None:
        return None
    position = next(i for i, field in enumerate(fields) if field is key)
    return {row[position + 1]: new_id for new_id, row in zip(ids, rows, strict=True)}


_COLUMN_TYPES: dict[tuple, list[int]] = {}


def _column_types(table: str, columns: tuple) -> list[int]:
    """The type OIDs of `columns` of `table`, which binary COPY must be told: read from the
    catalog once per table and column list (migrations, which alone change them, run before
    the app writes)."""
    found = _COLUMN_TYPES.get((table, columns))
    if found is None:
        by_name = dict(
            database.execute_sql(
                "SELECT attname, atttypid FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                [f'"{table}"'],
            ).fetchall()
        )
        found = _COLUMN_TYPES[(table, columns)] = [by_name[c] for c in columns]
    return found


def _insert_values(model, fields, rows, key):
    table, pk = model._meta.table_name, model._meta.primary_key.column_name
    columns = tuple(f.column_name for f in fields)
    returning = (key.column_name, pk) if key is not None else ()
    per_statement = max(1, min(_SQLITE_MAX_ROWS, _SQLITE_MAX_VALUES // len(columns)))
    ids = {}
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        sql = _statement(table, columns, len(chunk), returning)
        cursor = database.execute_sql(sql, [value for row in chunk for value in row])
        if returning:
            ids.update(cursor.fetchall())
    return ids if key is not None else None


@functools.lru_cache(maxsize=64)
def _statement(table: str, columns: tuple, count: int, returning: tuple) -> str:
    group = "(" + ", ".join("?" * len(columns)) + ")"
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ' + ", ".join([group] * count)
    if returning:
        sql += " RETURNING " + ", ".join(f'"{c}"' for c in returning)
    return sql
