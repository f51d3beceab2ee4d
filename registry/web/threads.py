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

Bounds: work that no thread takes within the queue timeout (REGISTRY_DB_QUEUE_TIMEOUT_MS) is
dropped, never run, and answered 503; a request whose deadline passes (registry/web/deadline.py)
stops waiting, and its write, if it has not sent its COMMIT yet, rolls back instead
(models.storage.db.WriteState). A database that cannot serve (no connection, a timeout,
models.storage.db.unavailable) answers 503 with Retry-After too, reported once per outage
(registry/web/outage.py), never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from models.errors import Unavailable
from models.storage import read_budget
from models.storage.db import (
    WriteState,
    causes,
    checkpoint_wal,
    connect_failed,
    connection_lost,
    discard_connection,
    is_postgres,
    keep_connections_in_this_thread,
    track_write,
    unavailable,
    wal_over_limit,
)
from registry.web import metrics, outage

T = TypeVar("T")
log = logging.getLogger(__name__)
# SQLite instructions, ~3 ms of a warm read: a page of a list with its count fits, and the
# worker's other requests wait no longer than that.
READ_BUDGET = 100_000


_pool: tuple[int, ThreadPoolExecutor] | None = None  # (process id, its threads)
DEFAULT_THREADS = min(32, (os.cpu_count() or 1) + 4)  # the loop's default executor's size
_pool_size = DEFAULT_THREADS
_queue_timeout: float | None = None  # seconds work may wait for a thread; None: no bound


@dataclass
class Budget:
    """A request's deadline (the event loop's clock), set by registry/web/deadline.py for the
    database work the request does, and what that work left to say when it passed."""

    deadline: float
    writes: bool = False  # a request that may write (not GET, HEAD or OPTIONS)
    # A write of the request committed, or was abandoned after its COMMIT went out.
    may_have_written: bool = False


BUDGET: ContextVar[Budget | None] = ContextVar("registry_request_budget", default=None)


def configure(db_pool_size: int, *, queue_timeout_s: float | None = None) -> None:
    """At most as many database threads as the process has pooled connections: each thread
    keeps one (models.storage.db.keep_connections_in_this_thread). Threads made for another size are
    let go; the next hop makes new ones. `queue_timeout_s`: how long work may wait for a
    thread before it is dropped and answered 503 (None or 0: as long as it takes)."""
    global _pool, _pool_size, _queue_timeout
    _queue_timeout = queue_timeout_s or None
    _pool_size = max(1, min(DEFAULT_THREADS, db_pool_size))
    if _pool is not None and _pool[1]._max_workers != _pool_size:
        _pool[1].shutdown(wait=False)
        _pool = None


def _threads() -> ThreadPoolExecutor:
    """This process's database threads, made on first use: gunicorn --preload forks after the
    app is built, and threads do not survive a fork."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        metrics.DB_THREADS.set(_pool_size)
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
    return await _hop(function, args)


def _in_thread(function: Callable[..., T], args: tuple, write: WriteState | None) -> T:
    metrics.DB_QUEUE_WAITING.dec()
    metrics.DB_THREADS_BUSY.inc()
    track_write(write)
    try:
        return function(*args)
    finally:
        track_write(None)
        metrics.DB_THREADS_BUSY.dec()


def _shed_if_waiting(future: Future, shed: list) -> None:
    if future.cancel():  # no thread took it: it never runs now
        shed.append(True)
        metrics.DB_QUEUE_WAITING.dec()
        metrics.DB_QUEUE_TIMEOUTS.inc()


async def _hop(function: Callable[..., T], args: tuple, write: WriteState | None = None) -> T:
    """`function(*args)` in a database thread. Work still waiting for a thread after the queue
    timeout is dropped (Unavailable). A request that stops waiting (cancelled: its deadline,
    a client gone) drops its work if no thread took it yet, and abandons its write, which
    then rolls back unless its COMMIT went out (noted in the request's Budget)."""
    loop = asyncio.get_running_loop()
    metrics.DB_QUEUE_WAITING.inc()  # until a thread takes it (_in_thread) or it is dropped
    future = _threads().submit(_in_thread, function, args, write)
    shed: list = []
    timer = (
        loop.call_later(_queue_timeout, _shed_if_waiting, future, shed) if _queue_timeout else None
    )
    try:
        result = await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        if shed and not asyncio.current_task().cancelling():
            reason = f"no database thread was free within {_queue_timeout:g} s"
            outage.refused(reason, "queue_timeout")
            raise Unavailable(_detail(reason, write), retry_after=RETRY_AFTER_SECONDS) from None
        if shed or future.cancel():  # it never runs
            if not shed:  # (dropped by the queue timeout: counted there)
                metrics.DB_QUEUE_WAITING.dec()
        elif write is not None and write.abandon():
            _may_have_written()
        raise
    finally:
        if timer is not None:
            timer.cancel()
    if outage.in_progress():
        outage.served()
    return result


def _detail(kind: str, write: WriteState | None) -> str:
    """A 503's problem detail: why, and, for a request that writes, whether it can have been
    written (its write's COMMIT went out)."""
    budget = BUDGET.get()
    if write is None and (budget is None or not budget.writes):
        return (
            f"The database cannot serve now: {kind}. Send the request again after "
            f"{RETRY_AFTER_SECONDS} s."
        )
    if write.commit_sent if write is not None else budget.may_have_written:
        return (
            f"The database failed while this write was being committed: {kind}. It may "
            f"or may not have been written: do not send it again blindly; read the "
            f"record first to see whether it was."
        )
    return (
        f"The database cannot take this write now: {kind}. Nothing of it was written; "
        f"send it again after {RETRY_AFTER_SECONDS} s."
    )


def _refusal(exc: Exception, write: WriteState | None = None) -> Unavailable | None:
    """The 503 for an error that says the database is unavailable (reported as part of an
    outage), or None for any other error."""
    reason = unavailable(exc)
    if reason is None:
        return None
    outage.refused(f"{reason.kind} ({reason.message})", metrics.db_error_kind(reason.kind))
    return Unavailable(_detail(reason.kind, write), retry_after=RETRY_AFTER_SECONDS)


async def run_read(function: Callable[..., T], *args, long: bool = False) -> T:
    """`function(*args)`, which only reads: on the loop while it is short (SQLite), else in a
    thread, where a read whose PostgreSQL connection turned out dead runs once more. A
    database that cannot serve answers 503 (Unavailable).

    `long`: always in a thread, for work known to take a while even when each statement is
    short (an export's batch: its rows read and serialised). On the loop, batch after batch
    with sends that do not wait, it would hold the loop for the whole export: every other
    request of the worker would wait, and gunicorn would kill the worker whose heartbeat
    stopped."""
    try:
        if not long and not is_postgres():
            try:
                return read_budget.within(READ_BUDGET, function, *args)
            except read_budget.OverBudget:
                pass
        return await _hop(_read_reconnecting, (function, args))
    except Exception as exc:
        refusal = _refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc


def _read_reconnecting(function: Callable[..., T], args: tuple) -> T:
    """A read run again, once, on a fresh connection when its kept connection was dead: a
    kept connection learns that the server restarted (or dropped it) only when it is next
    used, and failing that request would answer 503 for a database that is up again. A
    connection that could not be made at all is not tried again: the database is down."""
    try:
        return function(*args)
    except Exception as exc:
        if not connection_lost(exc) or connect_failed():
            raise
        log.debug(
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
    time, or whose next attempt could outlast the request's deadline, answers 503 with
    Retry-After (models.errors.Unavailable): nothing of it was written. So does a write the
    database cannot serve (no connection, a timeout); its problem says whether it can have
    been written (its connection failed after its COMMIT went out) and must not be sent again
    blindly. On SQLite, a write that finds the WAL over its limit has it checkpointed."""
    loop = asyncio.get_running_loop()
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        write = WriteState()
        began = loop.time()
        try:
            result = await _hop(_write_reconnecting, (function, args, write), write)
        except Exception as exc:
            if not lost_a_race(exc):
                refusal = _refusal(exc, write)
                if refusal is None:
                    raise
                raise refusal from exc
            name = getattr(function, "__name__", function)
            if attempt == WRITE_ATTEMPTS or _past_deadline(loop, loop.time() - began):
                metrics.DB_ERRORS.labels("write_conflict").inc()
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
        else:
            _may_have_written()
            if not is_postgres() and wal_over_limit():
                _checkpoint_soon()
            return result
    raise AssertionError("unreachable")


def _may_have_written() -> None:
    budget = BUDGET.get()
    if budget is not None:
        budget.may_have_written = True


def _past_deadline(loop, attempt_took: float) -> bool:
    """Whether another attempt as long as the last one would end past the request's deadline."""
    budget = BUDGET.get()
    return budget is not None and loop.time() + attempt_took > budget.deadline


# How long a WAL checkpoint may hold writers while it waits for readers (ms), and how long a
# process waits before it tries again after one that could not finish (s): a long read holds
# the WAL, and writers are not to be held again and again meanwhile.
CHECKPOINT_WAIT_MS = 250
CHECKPOINT_BACKOFF = 1.0
_checkpointing: Future | None = None
_next_checkpoint = 0.0  # time.monotonic() before which none is tried


def _checkpoint_soon() -> None:
    """Checkpoint the SQLite WAL in a database thread, without waiting for it: the write that
    found it over its limit is answered meanwhile. One at a time per process."""
    global _checkpointing
    if (_checkpointing is None or _checkpointing.done()) and time.monotonic() >= _next_checkpoint:
        _checkpointing = _threads().submit(_checkpoint)


def _checkpoint() -> None:
    global _next_checkpoint
    try:
        busy, frames, done = checkpoint_wal(CHECKPOINT_WAIT_MS)
    except Exception as exc:  # noqa: BLE001 - a checkpoint that failed is tried again later
        log.warning("SQLite WAL checkpoint failed: %s", exc)
        busy = 1
    else:
        log.debug("SQLite WAL checkpoint: busy %s, %s frames, %s checkpointed", busy, frames, done)
    _next_checkpoint = time.monotonic() + CHECKPOINT_BACKOFF if busy else 0.0


def _write_reconnecting(function: Callable[..., T], args: tuple, write: WriteState) -> T:
    """A write run again, once, on a fresh connection when its kept connection was found dead
    before its first transaction began (at BEGIN at the latest): nothing of it can have been
    committed then. A connection lost later (a COMMIT whose answer never came) is not
    retried: whether the write happened is unknown. Nor is a connection that could not be made
    at all: the database is down."""
    try:
        return function(*args)
    except Exception as exc:
        if not connection_lost(exc) or connect_failed() or write.began:
            raise
        log.debug(
            "%s: the database connection was lost before the write began (%s); "
            "writing on a new one",
            getattr(function, "__name__", function),
            exc,
        )
        discard_connection()
        return function(*args)
