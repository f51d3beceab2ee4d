"""The database handle shared by every model, bound at start-up from DATABASE_URL.

A `DatabaseProxy` keeps import free of side effects: `init_database(url)` picks SQLite (a file,
the embedded default) or a pooled PostgreSQL connection and binds the proxy to it.
"""
from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import urlparse

import peewee
from playhouse.pool import PooledPostgresqlDatabase

from models.read_budget import BudgetedSqliteDatabase

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    # WAL lets readers proceed while one writer commits; busy_timeout makes writers queue
    # instead of failing with "database is locked" under concurrent requests.
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "cache_size": -64000,
}


class ConfigurationError(ValueError):
    """DATABASE_URL names something we cannot connect to."""


def make_database(url: str, *, pool_size: int = 8) -> peewee.Database:
    """Build (but do not connect) the Peewee database for a URL."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative.db, sqlite:////abs/path.db, sqlite:///:memory:
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else parsed.path
        if not path:
            raise ConfigurationError(f"DATABASE_URL {url!r} names no SQLite file")
        return BudgetedSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    if parsed.scheme in ("postgres", "postgresql"):
        conninfo = url.replace("postgres://", "postgresql://", 1)
        return PooledPostgresqlDatabase(
            conninfo, max_connections=pool_size, stale_timeout=300, timeout=30
        )
    raise ConfigurationError(
        f"DATABASE_URL scheme {parsed.scheme!r} is not supported (use sqlite:/// or postgresql://)"
    )


def init_database(url: str, *, pool_size: int = 8) -> peewee.Database:
    db = make_database(url, pool_size=pool_size)
    database.initialize(db)
    return db


def is_postgres() -> bool:
    return isinstance(database.obj, peewee.PostgresqlDatabase)


@contextmanager
def connection():
    """Use a connection for the duration of the block, in the calling thread.

    PostgreSQL connections come from the pool and go back to it at the end. The SQLite
    connection of a worker thread stays open for that thread's next request: opening one costs
    more than most queries (the pragmas run on every connect).
    """
    db = database.obj
    if not db.is_closed():  # nested: the outer block owns the connection
        yield db
        return
    db.connect()
    try:
        yield db
    finally:
        if isinstance(db, PooledPostgresqlDatabase):
            db.close()


def write_transaction():
    """A transaction that will write. On SQLite it takes the write lock up front (IMMEDIATE):
    a deferred transaction that reads and then writes fails at once with "database is locked"
    when another writer committed meanwhile, instead of waiting its turn."""
    db = database.obj
    if isinstance(db, peewee.SqliteDatabase):
        return db.atomic("IMMEDIATE")
    return db.atomic()
