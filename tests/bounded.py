"""Helpers for the tests of timeouts, shedding and probes: an app with short bounds on a
database URL of the test's choosing, and a request that must be answered in time.

`bounded_app` builds the app as `registry serve` does, which binds the process-wide database
handle and database threads to it; afterwards the session's are bound again (their threads
are left running, untouched) and the outage log forgets its episode.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest

from models.storage.db import database
from registry.web import outage, threads

# Short bounds, so that a test sees each one pass: seconds.
DEADLINE = 3.0
QUEUE_TIMEOUT = 1.0
CONNECT_TIMEOUT = 2  # libpq's least
STATEMENT_TIMEOUT = 1.5
LOCK_TIMEOUT = 1.0
SHORT = dict(
    request_deadline_ms=int(DEADLINE * 1000),
    db_queue_timeout_ms=int(QUEUE_TIMEOUT * 1000),
    db_connect_timeout_s=CONNECT_TIMEOUT,
    db_statement_timeout_ms=int(STATEMENT_TIMEOUT * 1000),
    db_lock_timeout_ms=int(LOCK_TIMEOUT * 1000),
    db_pool_size=3,
    validate_responses=True,
)


@contextmanager
def bounded_app(url: str, **overrides):
    from registry.app import create_app
    from registry.settings import Settings

    bound = database.obj
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(threads, "_pool", None)  # threads of this app's own; the session's stay
        patch.setattr(threads, "_pool_size", threads._pool_size)
        patch.setattr(threads, "_queue_timeout", threads._queue_timeout)
        patch.setattr(outage, "_episode", None)
        app = create_app(Settings(database_url=url, **{**SHORT, **overrides}))
        mine = database.obj
        try:
            yield app
        finally:
            pool = threads._pool
            database.initialize(bound)
            if pool is not None:
                pool[1].shutdown(wait=False)
            if hasattr(mine, "close_all"):
                mine.close_all()


def drain_threads(timeout: float = 30) -> None:
    """Wait until the database threads of the app under test have finished what they run
    (a write abandoned by its request, stuck behind a frozen database until it thawed)."""
    pool = threads._pool
    if pool is not None:
        done = threading.Event()
        waiter = threading.Thread(
            target=lambda: (pool[1].shutdown(wait=True), done.set()), daemon=True
        )
        waiter.start()
        assert done.wait(timeout), "the database threads did not finish"
        threads._pool = None  # the next request makes new ones


def answered(call, within: float):
    """(the response of `call()`, seconds it took); fails if it took longer than `within`,
    without waiting for it any longer (a request that hangs fails the test, not the run)."""
    result: dict = {}

    def run():
        began = time.monotonic()
        try:
            result["response"] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            result["error"] = exc
        result["took"] = time.monotonic() - began

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), f"no answer within {within} s"
    if "error" in result:
        raise result["error"]
    return result["response"], result["took"]


def database_records(caplog) -> list:
    return [r for r in caplog.records if r.name == outage.log.name]
