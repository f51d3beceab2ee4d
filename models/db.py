"""The database handle shared by every model, bound at start-up from DATABASE_URL.

A `DatabaseProxy` keeps import free of side effects: `init_database(url)` picks SQLite (a file,
the embedded default) or a pooled PostgreSQL connection and binds the proxy to it.
"""
from __future__ import annotations

import threading
import time
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


_thread = threading.local()
# A kept connection idle longer than this is replaced, as the pool replaces one idle longer
# than its stale timeout: a server or a firewall may have dropped it silently.
KEPT_IDLE_SECONDS = 300


def keep_connections_in_this_thread() -> None:
    """For a long-lived thread that does the app's database work (registry.threads): its pooled
    PostgreSQL connection stays checked out between blocks instead of going back to the pool
    after each one. A check-out and check-in (a lock, the pool's heap, a condition's notify,
    the driver's status checks) cost more than a short read's own Python. The pool must have a
    connection for each such thread: registry.threads sizes its pool of threads to it."""
    _thread.keeps = True
    _thread.last_used = time.monotonic()


@contextmanager
def connection():
    """Use a connection for the duration of the block, in the calling thread.

    PostgreSQL connections come from the pool and go back to it at the end, except in a thread
    that keeps its connection (above). The SQLite connection of a worker thread stays open for
    that thread's next request: opening one costs more than most queries (the pragmas run on
    every connect). A kept connection that the driver found broken, that the pool closed
    (`close_all`), or that sat idle for KEPT_IDLE_SECONDS is given up and a new one taken.
    """
    db = database.obj
    pooled = isinstance(db, PooledPostgresqlDatabase)
    keeps = pooled and getattr(_thread, "keeps", False)
    if keeps:
        now = time.monotonic()
        if (not db.is_closed() and not db.in_transaction()
                and (db.connection().closed or now - _thread.last_used > KEPT_IDLE_SECONDS)):
            db.manual_close()  # dropped, or idle too long: closed for good, a fresh one taken
        _thread.last_used = now
    if not db.is_closed():  # nested, or kept: the outer block or the thread owns it
        yield db
        return
    db.connect()
    try:
        yield db
    finally:
        if pooled and not keeps:
            db.close()


def write_transaction():
    """A transaction that will write. On SQLite it takes the write lock up front (IMMEDIATE):
    a deferred transaction that reads and then writes fails at once with "database is locked"
    when another writer committed meanwhile, instead of waiting its turn."""
    db = database.obj
    if isinstance(db, peewee.SqliteDatabase):
        return db.atomic("IMMEDIATE")
    return db.atomic()
