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

from models.storage.read_budget import BudgetedSqliteDatabase

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    # WAL lets readers proceed while one writer commits; busy_timeout makes writers queue
    # instead of failing with "database is locked" under concurrent requests (a write still
    # waiting when it runs out is run again, then answered 503: registry.web.threads.run_write).
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "cache_size": -64000,
}


class ConfigurationError(ValueError):
    """DATABASE_URL names something we cannot connect to."""


def make_database(
    url: str, *, pool_size: int = 8, sqlite_busy_timeout_ms: int | None = None
) -> peewee.Database:
    """Build (but do not connect) the Peewee database for a URL."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative.db, sqlite:////abs/path.db, sqlite:///:memory:
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else parsed.path
        if not path:
            raise ConfigurationError(f"DATABASE_URL {url!r} names no SQLite file")
        pragmas = dict(SQLITE_PRAGMAS)
        if sqlite_busy_timeout_ms is not None:
            pragmas["busy_timeout"] = sqlite_busy_timeout_ms
        return BudgetedSqliteDatabase(path, pragmas=pragmas, check_same_thread=False)
    if parsed.scheme in ("postgres", "postgresql"):
        conninfo = url.replace("postgres://", "postgresql://", 1)
        return PooledPostgresqlDatabase(
            conninfo, max_connections=pool_size, stale_timeout=300, timeout=30
        )
    raise ConfigurationError(
        f"DATABASE_URL scheme {parsed.scheme!r} is not supported (use sqlite:/// or postgresql://)"
    )


def init_database(
    url: str, *, pool_size: int = 8, sqlite_busy_timeout_ms: int | None = None
) -> peewee.Database:
    db = make_database(url, pool_size=pool_size, sqlite_busy_timeout_ms=sqlite_busy_timeout_ms)
    database.initialize(db)
    return db


def is_postgres() -> bool:
    return isinstance(database.obj, peewee.PostgresqlDatabase)


_thread = threading.local()
# A kept connection idle longer than this is replaced, as the pool replaces one idle longer
# than its stale timeout: a server or a firewall may have dropped it silently.
KEPT_IDLE_SECONDS = 300


def keep_connections_in_this_thread() -> None:
    """For a long-lived thread that does the app's database work (registry.web.threads): its pooled
    PostgreSQL connection stays checked out between blocks instead of going back to the pool
    after each one. A check-out and check-in (a lock, the pool's heap, a condition's notify,
    the driver's status checks) cost more than a short read's own Python. The pool must have a
    connection for each such thread: registry.web.threads sizes its pool of threads to it."""
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
        if (
            not db.is_closed()
            and not db.in_transaction()
            and (db.connection().closed or now - _thread.last_used > KEPT_IDLE_SECONDS)
        ):
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


def locked(query):
    """`query` (a select) locking the rows it reads until the transaction ends, on PostgreSQL;
    SQLite's write transaction holds the whole database already. FOR NO KEY UPDATE, the lock an
    UPDATE takes: writers of one row wait for each other, but inserting rows that refer to it
    (a file of an object, a checksum of a file) does not wait, nor make a locker wait, as
    under FOR UPDATE, where a batch of files and a writer of their object deadlocked."""
    return query.for_update("FOR NO KEY UPDATE") if is_postgres() else query


@contextmanager
def write_transaction():
    """A transaction that will write. On SQLite it takes the write lock up front (IMMEDIATE):
    a deferred transaction that reads and then writes fails at once with "database is locked"
    when another writer committed meanwhile, instead of waiting its turn. Once it has begun,
    the thread remembers that a write began (`write_began`)."""
    db = database.obj
    with db.atomic("IMMEDIATE") if isinstance(db, peewee.SqliteDatabase) else db.atomic():
        _thread.write_began = True
        yield


def write_not_begun() -> None:
    """Forget, in this thread, that a write transaction began: a request's write starts."""
    _thread.write_began = False


def write_began() -> bool:
    """Whether a write transaction began in this thread since `write_not_begun`: until then,
    a failure cannot have left anything committed."""
    return getattr(_thread, "write_began", False)


# SQLSTATEs of a connection that the server ended (admin shutdown at a restart, a crash) or
# cannot serve now; class 08 is a connection exception. An error without a SQLSTATE from the
# driver's OperationalError is the driver's own finding: the socket closed, or no connection.
_CONNECTION_SQLSTATES = {"57P01", "57P02", "57P03"}


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` is, or wraps, the failure of the PostgreSQL connection itself rather
    than of a statement (psycopg's OperationalError or InterfaceError, no statement SQLSTATE)."""
    import psycopg

    for cause in causes(exc):
        if isinstance(cause, (psycopg.OperationalError, psycopg.InterfaceError)):
            state = cause.sqlstate
            return state is None or state.startswith("08") or state in _CONNECTION_SQLSTATES
    return False


def causes(exc: BaseException | None):
    """`exc` and the exceptions it wraps (Peewee re-raises some driver errors as its own, the
    original in `orig` or as the context, and passes others as they are)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__


def discard_connection() -> None:
    """Close this thread's PostgreSQL connection for good, and the pool's idle ones (after a
    server restart they are dead too): the next block connects afresh."""
    db = database.obj
    if not isinstance(db, PooledPostgresqlDatabase):
        return
    if not db.is_closed():
        db.manual_close()
    db.close_idle()
