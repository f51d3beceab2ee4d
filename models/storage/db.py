"""The database handle shared by every model, bound at start-up from DATABASE_URL.

A `DatabaseProxy` keeps import free of side effects: `init_database(url)` picks SQLite (a file,
the embedded default) or a pooled PostgreSQL connection and binds the proxy to it.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager, nullcontext
from typing import NamedTuple
from urllib.parse import urlparse

import peewee
from playhouse.pool import PooledPostgresqlDatabase

from models.storage.read_budget import BudgetedSqliteDatabase
from models.storage.write_turns import write_turn

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    # WAL lets readers proceed while one writer commits; busy_timeout makes writers queue
    # instead of failing with "database is locked" under concurrent requests (a write still
    # waiting when it runs out is run again, then answered 503: registry.web.threads.run_write).
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "cache_size": -64000,
    # A WAL file that grew past this is truncated to it whenever SQLite starts it over (see
    # `checkpoint_wal` for what makes it start over under constant reads).
    "journal_size_limit": 64 * 1024 * 1024,
}


class ConfigurationError(ValueError):
    """DATABASE_URL names something we cannot connect to."""


def make_database(
    url: str,
    *,
    pool_size: int = 8,
    sqlite_busy_timeout_ms: int | None = None,
    sqlite_wal_limit_bytes: int | None = None,
    connect_timeout_s: int | None = None,
    statement_timeout_ms: int | None = None,
    lock_timeout_ms: int | None = None,
    idle_in_transaction_timeout_ms: int | None = None,
) -> peewee.Database:
    """Build (but do not connect) the Peewee database for a URL. The timeouts bound what a
    request can wait on PostgreSQL (None or 0: no bound): libpq's connect_timeout, and the
    server's statement_timeout, lock_timeout and idle_in_transaction_session_timeout, set
    for each connection when it starts (no statement per request)."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative.db, sqlite:////abs/path.db, sqlite:///:memory:
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else parsed.path
        if not path:
            raise ConfigurationError(f"DATABASE_URL {url!r} names no SQLite file")
        pragmas = dict(SQLITE_PRAGMAS)
        if sqlite_busy_timeout_ms is not None:
            pragmas["busy_timeout"] = sqlite_busy_timeout_ms
        if sqlite_wal_limit_bytes is not None:
            pragmas["journal_size_limit"] = sqlite_wal_limit_bytes
        db = BudgetedSqliteDatabase(path, pragmas=pragmas, check_same_thread=False)
        db.wal_limit_bytes = pragmas["journal_size_limit"]
        db.write_wait_s = pragmas["busy_timeout"] / 1000  # the longest wait for a write turn
        return db
    if parsed.scheme in ("postgres", "postgresql"):
        conninfo = url.replace("postgres://", "postgresql://", 1)
        return PooledPostgresqlDatabase(
            conninfo,
            max_connections=pool_size,
            stale_timeout=300,
            timeout=30,
            **_postgres_limits(
                conninfo,
                connect_timeout_s,
                {
                    "statement_timeout": statement_timeout_ms,
                    "lock_timeout": lock_timeout_ms,
                    "idle_in_transaction_session_timeout": idle_in_transaction_timeout_ms,
                },
            ),
        )
    raise ConfigurationError(
        f"DATABASE_URL scheme {parsed.scheme!r} is not supported (use sqlite:/// or postgresql://)"
    )


def _postgres_limits(
    conninfo: str, connect_timeout_s: int | None, server_ms: dict[str, int | None]
) -> dict:
    """psycopg's connection parameters for the limits: a connect_timeout the URL does not set
    itself, and server settings as `options` (-c name=value) before any the URL gives, so that
    a URL's own win."""
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(conninfo)
    params: dict = {}
    if connect_timeout_s and "connect_timeout" not in given:
        params["connect_timeout"] = connect_timeout_s
    options = [f"-c {name}={ms}" for name, ms in server_ms.items() if ms]
    if options:
        params["options"] = " ".join(
            options + ([str(given["options"])] if given.get("options") else [])
        )
    return params


def init_database(url: str, **options) -> peewee.Database:
    """Bind the shared handle to a new database for `url` (`options`: make_database's)."""
    db = make_database(url, **options)
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
    try:
        db.connect()
    except Exception:
        _thread.connect_failed = True
        raise
    _thread.connect_failed = False
    try:
        yield db
    finally:
        if pooled and not keeps:
            db.close()


def connect_failed() -> bool:
    """Whether this thread's last attempt to connect (in `connection`) failed: an error then
    says the database is out of reach, not that a kept connection died."""
    return getattr(_thread, "connect_failed", False)


def locked(query):
    """`query` (a select) locking the rows it reads until the transaction ends, on PostgreSQL;
    SQLite's write transaction holds the whole database already. FOR NO KEY UPDATE, the lock an
    UPDATE takes: writers of one row wait for each other, but inserting rows that refer to it
    (a file of an object, a checksum of a file) does not wait, nor make a locker wait, as
    under FOR UPDATE, where a batch of files and a writer of their object deadlocked."""
    return query.for_update("FOR NO KEY UPDATE") if is_postgres() else query


class WriteAbandoned(Exception):
    """The request stopped waiting for its write before the write committed (its deadline
    passed): the transaction is rolled back instead of committed."""


class WriteState:
    """One attempt at a request's write, shared by the database thread that runs it and the
    request, which may stop waiting for it (registry.web.threads): whichever comes first wins,
    the thread sending COMMIT or the request abandoning it, which makes the transaction roll
    back. So a request that gave up knows whether its write can have been committed."""

    def __init__(self):
        self._lock = threading.Lock()
        self.began = False  # a write transaction began: a lost connection may have lost it
        self.commit_sent = False  # its COMMIT went out: it may have been committed
        self._abandoned = False

    def committing(self) -> None:
        """Called by the thread just before COMMIT: raises WriteAbandoned if the request gave
        up (the transaction then rolls back), else records that the COMMIT goes out."""
        with self._lock:
            if self._abandoned:
                raise WriteAbandoned("the request stopped waiting; rolled back")
            self.commit_sent = True

    def abandon(self) -> bool:
        """Called by the request that stops waiting: the write will not commit now, unless its
        COMMIT went out already. Returns whether it did (the outcome is then unknown)."""
        with self._lock:
            self._abandoned = True
            return self.commit_sent


def track_write(state: WriteState | None) -> None:
    """The write transactions this thread runs next are the attempt `state` (None: none)."""
    _thread.write = state


@contextmanager
def write_transaction():
    """A transaction that will write. On SQLite it waits for its turn among the writers
    (models.storage.write_turns), then takes the write lock up front (IMMEDIATE): a deferred
    transaction that reads and then writes fails at once with "database is locked" when
    another writer committed meanwhile, instead of waiting its turn. The thread's
    WriteState (`track_write`), if any, learns that it began, and the outermost transaction
    asks it before committing."""
    db = database.obj
    state = getattr(_thread, "write", None)
    outermost = not db.in_transaction()
    sqlite = isinstance(db, peewee.SqliteDatabase)
    with (
        write_turn(db.database, getattr(db, "write_wait_s", SQLITE_PRAGMAS["busy_timeout"] / 1000))
        if sqlite and outermost
        else nullcontext(),
        db.atomic("IMMEDIATE") if sqlite else db.atomic(),
    ):
        if state is not None:
            state.began = True
        yield
        if outermost and state is not None:
            state.committing()


# SQLSTATEs of a connection that the server ended (admin shutdown at a restart, a crash, the
# idle-in-transaction timeout) or cannot serve now; class 08 is a connection exception. An
# error without a SQLSTATE from the driver's OperationalError is the driver's own finding: the
# socket closed, no connection, or the connect timeout.
_CONNECTION_SQLSTATES = {"57P01", "57P02", "57P03", "25P03", "53300"}


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` is, or wraps, the failure of the PostgreSQL connection itself rather
    than of a statement (psycopg's OperationalError or InterfaceError, no statement SQLSTATE)."""
    import psycopg

    for cause in causes(exc):
        if isinstance(cause, (psycopg.OperationalError, psycopg.InterfaceError)):
            state = cause.sqlstate
            return state is None or state.startswith("08") or state in _CONNECTION_SQLSTATES
    return False


class Unreachable(NamedTuple):
    """Why the database could not serve: `kind`, a phrase fit for a client (no host, no
    driver text), and `message`, the driver's own first line, for the log."""

    kind: str
    message: str


# Statement SQLSTATEs that say the database did not serve in time; the transaction is
# rolled back, the connection stays usable.
_TIMEOUT_SQLSTATES = {
    "57014": "the database did not answer within the statement timeout",
    "55P03": "a lock stayed taken past the lock timeout",
}
# SQLite's primary result codes: SQLITE_BUSY, SQLITE_LOCKED (the lock stayed taken past the
# busy timeout), SQLITE_CANTOPEN.
_SQLITE_CODES = {
    5: "the database stayed locked",
    6: "the database stayed locked",
    14: "the database file could not be opened",
}


def unavailable(exc: BaseException) -> Unreachable | None:
    """Why `exc` (or what it wraps) says the database is unavailable rather than that a
    request is wrong: no connection (refused, timed out, lost), a statement or lock timeout,
    a lock never granted, no pooled connection free. None for any other error."""
    import psycopg
    from playhouse.pool import MaxConnectionsExceeded

    for cause in causes(exc):
        message = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        if isinstance(cause, psycopg.errors.ConnectionTimeout):
            return Unreachable("the database did not answer within the connect timeout", message)
        state = getattr(cause, "sqlstate", None)
        if state in _TIMEOUT_SQLSTATES:
            return Unreachable(_TIMEOUT_SQLSTATES[state], message)
        if isinstance(cause, (psycopg.OperationalError, psycopg.InterfaceError)):
            if connection_lost(cause):
                return Unreachable("no connection to the database", message)
            return None
        code = getattr(cause, "sqlite_errorcode", None)
        if code is not None:
            return (
                Unreachable(_SQLITE_CODES[code & 0xFF], message)
                if code & 0xFF in _SQLITE_CODES
                else None
            )
        if isinstance(cause, MaxConnectionsExceeded):
            return Unreachable("no database connection was free", message)
    return None


def causes(exc: BaseException | None):
    """`exc` and the exceptions it wraps (Peewee re-raises some driver errors as its own, the
    original in `orig` or as the context, and passes others as they are)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__


def ping() -> None:
    """`SELECT 1`: whether the database answers at all (the readiness probe)."""
    with connection():
        database.execute_sql("SELECT 1").fetchone()


def wal_over_limit() -> bool:
    """Whether the SQLite database's WAL file is larger than its limit (journal_size_limit):
    one stat of the file."""
    db = database.obj
    limit = getattr(db, "wal_limit_bytes", None)
    if not limit or not isinstance(db, peewee.SqliteDatabase) or db.database == ":memory:":
        return False
    try:
        return os.stat(f"{db.database}-wal").st_size > limit
    except FileNotFoundError:
        return False


def checkpoint_wal(wait_ms: int) -> tuple[int, int, int]:
    """Copy the SQLite WAL into the database and start it over, truncated to nothing
    (`wal_checkpoint(TRUNCATE)`). SQLite's own checkpoints after commits (PASSIVE) copy what
    they can but never start the WAL over while a reader uses it, and under constant reads
    one always does: the file grows without end. TRUNCATE waits for the readers of older
    snapshots to finish (new ones read the database file, fully checkpointed, and do not hold
    it up), and writers wait for it meanwhile: so it waits `wait_ms` at most, not the busy
    timeout, and a checkpoint that could not finish is tried again later. Returns SQLite's
    (busy, WAL frames, frames checkpointed)."""
    with connection():
        busy_timeout = database.execute_sql("PRAGMA busy_timeout").fetchone()[0]
        database.execute_sql(f"PRAGMA busy_timeout = {int(wait_ms)}")
        try:
            return tuple(database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
        finally:
            database.execute_sql(f"PRAGMA busy_timeout = {int(busy_timeout)}")


def discard_connection() -> None:
    """Close this thread's PostgreSQL connection for good, and the pool's idle ones (after a
    server restart they are dead too): the next block connects afresh."""
    db = database.obj
    if not isinstance(db, PooledPostgresqlDatabase):
        return
    if not db.is_closed():
        db.manual_close()
    db.close_idle()
