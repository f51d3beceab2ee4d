"""Where the blocking database work of a request runs: a thread, or for short SQLite reads the
event loop itself.

Starlette's `run_in_threadpool` goes through anyio (a capacity limiter, a cancel scope and a
copied context per call): measured at 16 concurrent calls under uvloop, 78-170 us a hop
against 29-45 us for the event loop's own executor. So work that needs a thread takes the
short road (`run_sync`). The work run here is plain model code: it reads no context variables,
so none are copied.

A hop still costs more than most SQLite reads: in-process, a show request spent ~180 us of its
~310 us on its two hops (the API-key lookup and the record's), and SQLite, a library in the
worker's own process, gains nothing from the thread while it reads. So on SQLite `run_read`
runs a read on the loop with a budget of READ_BUDGET instructions (models/storage/read_budget.py); a
read that outruns it is interrupted and run again in a thread, so that it cannot stall the
worker's other requests longer than the budget. PostgreSQL reads always go to a thread: every query
there waits on a socket.

The database threads are the process's own: min(32, CPUs + 4), like the loop's default
executor, but never more than the PostgreSQL pool's size (REGISTRY_DB_POOL_SIZE, 8), since
each thread keeps a pooled connection checked out (models/storage/db.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from models.errors import Unavailable
from models.storage import read_budget
from models.storage.db import (
    causes,
    connection_lost,
    discard_connection,
    is_postgres,
    keep_connections_in_this_thread,
    write_began,
    write_not_begun,
)

T = TypeVar("T")
log = logging.getLogger(__name__)
# SQLite instructions, ~3 ms of a warm read: a page of a list with its count fits, and the
# worker's other requests wait no longer than that.
READ_BUDGET = 100_000


_pool: tuple[int, ThreadPoolExecutor] | None = None  # (process id, its threads)
DEFAULT_THREADS = min(32, (os.cpu_count() or 1) + 4)  # the loop's default executor's size
_pool_size = DEFAULT_THREADS


def configure(db_pool_size: int) -> None:
    """At most as many database threads as the process has pooled connections: each thread
    keeps one (models.storage.db.keep_connections_in_this_thread). Threads made for another size are
    let go; the next hop makes new ones."""
    global _pool, _pool_size
    _pool_size = max(1, min(DEFAULT_THREADS, db_pool_size))
    if _pool is not None and _pool[1]._max_workers != _pool_size:
        _pool[1].shutdown(wait=False)
        _pool = None


def _threads() -> ThreadPoolExecutor:
    """This process's database threads, made on first use: gunicorn --preload forks after the
    app is built, and threads do not survive a fork."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (
            os.getpid(),
            ThreadPoolExecutor(
                max_workers=_pool_size,
                thread_name_prefix="registry-db",
                initializer=keep_connections_in_this_thread,
            ),
        )
    return _pool[1]


async def run_sync(function: Callable[..., T], *args) -> T:
    """`function(*args)` in one of the process's database threads."""
    return await asyncio.get_running_loop().run_in_executor(_threads(), function, *args)


async def run_read(function: Callable[..., T], *args) -> T:
    """`function(*args)`, which only reads: on the loop while it is short (SQLite), else in a
    thread, where a read whose PostgreSQL connection turned out dead runs once more."""
    if not is_postgres():
        try:
            return read_budget.within(READ_BUDGET, function, *args)
        except read_budget.OverBudget:
            pass
    return await run_sync(_read_reconnecting, function, args)


def _read_reconnecting(function: Callable[..., T], args: tuple) -> T:
    """A read run again, once, on a fresh connection when its connection was dead: a kept
    connection learns that the server restarted (or dropped it) only when it is next used,
    and failing that request would answer 500 for a database that is up again."""
    try:
        return function(*args)
    except Exception as exc:
        if not connection_lost(exc):
            raise
        log.warning(
            "%s: the database connection was lost (%s); reading again on a new one",
            getattr(function, "__name__", function),
            exc,
        )
        discard_connection()
        return function(*args)


# PostgreSQL's word that a transaction lost a race and was rolled back whole: a deadlock (two
# writers of one count-tally stripe taking its rows in opposite orders, models/storage/counts.py)
# or a serialization failure. Running the transaction again is the documented answer.
RETRIED_SQLSTATES = {"40P01", "40001"}
# SQLite's: the write lock stayed taken for the whole busy timeout (SQLITE_BUSY, "database is
# locked"), or a table was locked (SQLITE_LOCKED). The transaction never began, or was rolled
# back; running it again is safe.
RETRIED_SQLITE_CODES = {5, 6}
WRITE_ATTEMPTS = 4
# What a 503 tells the client to wait before it sends the write again (Retry-After, seconds).
RETRY_AFTER_SECONDS = 2


def lost_a_race(exc: BaseException) -> bool:
    """Whether `exc` is, or wraps, a deadlock or serialization failure (PostgreSQL), or a lock
    that was not granted in time (SQLite)."""
    for cause in causes(exc):
        if getattr(cause, "sqlstate", None) in RETRIED_SQLSTATES:
            return True
        code = getattr(cause, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in RETRIED_SQLITE_CODES:
            return True
    return False


async def run_write(function: Callable[..., T], *args) -> T:
    """`function(*args)`, one whole write transaction, in a thread; run again (up to
    WRITE_ATTEMPTS times, after a short random pause) when the database rolled it back for
    losing a race, so that the caller sees the write and not a 500. A write that loses every
    time answers 503 with Retry-After (models.errors.Unavailable): nothing of it was written."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return await run_sync(_write_reconnecting, function, args)
        except Exception as exc:
            if not lost_a_race(exc):
                raise
            name = getattr(function, "__name__", function)
            if attempt == WRITE_ATTEMPTS:
                log.warning(
                    "%s lost a race with other writes %d times; answering 503: %s",
                    name,
                    attempt,
                    exc,
                )
                raise Unavailable(
                    f"The database was too busy to take this write: it lost to other writes "
                    f"{attempt} times (a lock wait that timed out, a deadlock or a serialization "
                    f"failure). Nothing of it was written; send it again after "
                    f"{RETRY_AFTER_SECONDS} s.",
                    retry_after=RETRY_AFTER_SECONDS,
                ) from exc
            log.info(
                "%s lost a race with another write (attempt %d); running it again", name, attempt
            )
            await asyncio.sleep(random.uniform(0.005, 0.02) * attempt)
    raise AssertionError("unreachable")


def _write_reconnecting(function: Callable[..., T], args: tuple) -> T:
    """A write run again, once, on a fresh connection when its connection was found dead
    before its first transaction began (at BEGIN at the latest): nothing of it can have been
    committed then. A connection lost later (a COMMIT whose answer never came) is not
    retried: whether the write happened is unknown."""
    write_not_begun()
    try:
        return function(*args)
    except Exception as exc:
        if not connection_lost(exc) or write_began():
            raise
        log.warning(
            "%s: the database connection was lost before the write began (%s); "
            "writing on a new one",
            getattr(function, "__name__", function),
            exc,
        )
        discard_connection()
        return function(*args)
