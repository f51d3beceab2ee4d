"""Migrations are frozen SQL: a fresh database and one upgraded from any earlier version end with
the same schema, and the model classes still match it.

Each test binds a database of its own for its duration (a SQLite file, or a PostgreSQL schema of
the run's database chosen by search_path) and puts the session's binding back afterwards.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from contextlib import contextmanager

import pytest

import models
from models.storage.base import BaseModel
from models.storage.db import connection, database, make_database
from models.storage.migrations import MIGRATIONS, SQL_DIR, migrate
from tests.postgres import scratch_database

LATEST = MIGRATIONS[-1][0]


@contextmanager
def bound(url: str):
    """The global database proxy bound to `url` for the block."""
    previous = database.obj
    db = make_database(url, pool_size=2)
    database.initialize(db)
    try:
        with connection():
            yield db
    finally:
        if hasattr(db, "close_all"):
            db.close_all()
        else:
            db.close()
        database.initialize(previous)


def schema_of(db) -> list[tuple]:
    """Tables, columns (type, nullability, default), indexes, constraints, triggers and trigger
    functions of the bound database, as comparable rows."""
    if db.__class__.__name__.lower().find("postgres") < 0:
        rows = db.execute_sql(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).fetchall()
        return [tuple(row) for row in rows]
    schema = db.execute_sql("SELECT current_schema()").fetchone()[0]
    queries = {
        "column": "SELECT table_name, column_name, data_type, is_nullable, column_default, "
        "collation_name, character_maximum_length FROM information_schema.columns "
        "WHERE table_schema = %s ORDER BY 1, 2",
        "index": "SELECT tablename, indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = %s ORDER BY 1, 2",
        "constraint": "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = %s ORDER BY 1, 2",
        "trigger": "SELECT event_object_table, trigger_name, event_manipulation, "
        "action_timing, action_orientation, action_statement "
        "FROM information_schema.triggers WHERE trigger_schema = %s ORDER BY 1, 2, 3",
        "function": "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s "
        "ORDER BY 1",
    }
    out = []
    for kind, query in queries.items():
        for row in db.execute_sql(query, (schema,)).fetchall():
            out.append(
                (kind, *[re.sub(rf"\b{schema}\.", "", v) if isinstance(v, str) else v for v in row])
            )
    return out


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgraded_from_every_version_equals_fresh(backend, tmp_path):
    with scratch_database(backend, tmp_path) as url, bound(url) as db:
        assert migrate() == [version for version, _n, _s in MIGRATIONS]
        fresh = schema_of(db)
    assert len(fresh) > 100
    for start in range(1, LATEST):
        with scratch_database(backend, tmp_path) as url, bound(url) as db:
            assert migrate(to=start)[-1] == start
            assert migrate() == list(range(start + 1, LATEST + 1))
            upgraded = schema_of(db)
        assert upgraded == fresh, f"upgraded from version {start}"


def _model_classes() -> list[type[BaseModel]]:
    for info in pkgutil.iter_modules(models.__path__):
        importlib.import_module(f"models.{info.name}")
    found, todo = [], list(BaseModel.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        found.append(cls)
    return sorted(found, key=lambda cls: cls._meta.table_name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_model_matches_the_migrated_schema(backend, tmp_path):
    """A model change without a migration fails here: every model's table has exactly the
    model's columns, with its nullability."""
    with scratch_database(backend, tmp_path) as url, bound(url) as db:
        migrate()
        for model in _model_classes():
            table = model._meta.table_name
            actual = {c.name: c.null for c in db.get_columns(table)}
            expected = {f.column_name: f.null for f in model._meta.sorted_fields}
            # A primary key is NOT NULL whatever Peewee's field says.
            expected.update(
                {f.column_name: False for f in model._meta.sorted_fields if f.primary_key}
            )
            assert actual == expected, table


def test_every_migration_has_one_frozen_file_per_dialect():
    versions = [version for version, _n, _s in MIGRATIONS]
    assert versions == list(range(1, LATEST + 1))
    files = sorted(p.name for p in SQL_DIR.glob("*.sql"))
    for dialect in ("sqlite", "postgresql"):
        mine = [name for name in files if name.endswith(f".{dialect}.sql")]
        assert [int(name[1:5]) for name in mine] == versions, mine
    assert len(files) == 2 * len(versions), files
