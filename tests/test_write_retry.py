"""A write transaction that PostgreSQL rolls back for losing a race (a deadlock, a
serialization failure) runs again instead of answering 500 (registry/web/threads.py)."""

from __future__ import annotations

import asyncio
import threading

import peewee
import psycopg
import pytest
from psycopg import errors as pg_errors

from models.errors import Unavailable
from models.storage.db import connection, database
from registry.web import threads


def _attempts(failures: list[BaseException]):
    """A write that raises each of `failures` in turn, then returns how often it was called."""
    calls = []

    def write():
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return len(calls)

    return write, calls


def test_a_write_that_lost_a_race_runs_again(monkeypatch):
    monkeypatch.setattr(threads.asyncio, "sleep", _no_sleep)
    deadlock = pg_errors.DeadlockDetected("deadlock detected")
    wrapped = peewee.OperationalError(pg_errors.SerializationFailure("could not serialize"))
    write, calls = _attempts([deadlock, wrapped])
    assert asyncio.run(threads.run_write(write)) == 3
    assert len(calls) == 3


def test_a_write_that_keeps_losing_gives_up_with_503(monkeypatch):
    """After WRITE_ATTEMPTS lost races the write answers 503 with Retry-After (the problem is
    Unavailable), not the driver's error, which would be a 500."""
    monkeypatch.setattr(threads.asyncio, "sleep", _no_sleep)
    write, calls = _attempts([pg_errors.DeadlockDetected("again")] * 10)
    with pytest.raises(Unavailable) as raised:
        asyncio.run(threads.run_write(write))
    assert len(calls) == threads.WRITE_ATTEMPTS
    assert raised.value.status == 503
    assert raised.value.headers() == {"Retry-After": str(threads.RETRY_AFTER_SECONDS)}
    assert isinstance(raised.value.__cause__, pg_errors.DeadlockDetected)


def test_an_sqlite_lock_timeout_is_a_lost_race():
    """ "database is locked" after the busy timeout (SQLITE_BUSY), as the sqlite3 module raises
    it and as Peewee wraps it, is run again like a deadlock."""
    import sqlite3

    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = 5  # SQLITE_BUSY (set by the module on errors it raises)
    assert threads.lost_a_race(locked)
    try:
        with peewee.__exception_wrapper__:
            raise locked
    except peewee.OperationalError as wrapped:
        assert threads.lost_a_race(wrapped)
    other = sqlite3.OperationalError("no such table: x")
    other.sqlite_errorcode = 1  # SQLITE_ERROR
    assert not threads.lost_a_race(other)


@pytest.mark.parametrize(
    "error",
    [
        peewee.IntegrityError("duplicate key"),
        pg_errors.UniqueViolation("duplicate key"),
        ValueError("not a database error"),
    ],
)
def test_any_other_error_is_raised_at_once(error):
    write, calls = _attempts([error])
    with pytest.raises(type(error)):
        asyncio.run(threads.run_write(write))
    assert len(calls) == 1


def test_a_real_deadlock_is_recognised(client, backend):
    """Two transactions that lock two rows in opposite orders: PostgreSQL aborts one, and what
    it raises, through Peewee or straight from the driver, is recognised as a lost race."""
    if backend != "postgres":
        pytest.skip("SQLite has one writer at a time: it never deadlocks")
    from tests.postgres import PG_URL

    with connection():
        database.execute_sql("DROP TABLE IF EXISTS retry_probe")
        database.execute_sql("CREATE TABLE retry_probe (id int PRIMARY KEY, n int)")
        database.execute_sql("INSERT INTO retry_probe VALUES (1, 0), (2, 0)")
    raised: list[BaseException] = []
    both_locked = threading.Barrier(2)

    def through_peewee():
        try:
            with connection(), database.atomic():
                database.execute_sql("UPDATE retry_probe SET n = n + 1 WHERE id = 1")
                both_locked.wait(timeout=10)
                database.execute_sql("UPDATE retry_probe SET n = n + 1 WHERE id = 2")
        except Exception as exc:  # noqa: BLE001 - the test looks at what was raised
            raised.append(exc)

    def straight():
        try:
            with psycopg.connect(PG_URL) as conn, conn.transaction():
                conn.execute("UPDATE retry_probe SET n = n + 1 WHERE id = 2")
                both_locked.wait(timeout=10)
                conn.execute("UPDATE retry_probe SET n = n + 1 WHERE id = 1")
        except Exception as exc:  # noqa: BLE001
            raised.append(exc)

    workers = [threading.Thread(target=through_peewee), threading.Thread(target=straight)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    with connection():
        database.execute_sql("DROP TABLE retry_probe")
    assert len(raised) == 1, raised  # one was aborted, the other committed
    assert threads.lost_a_race(raised[0]), repr(raised[0])


async def _no_sleep(_seconds):
    return None


def test_a_write_that_keeps_losing_answers_503_problem_with_retry_after(client, world, monkeypatch):
    """Over HTTP: the restore's transaction deadlocks on every attempt (as a PostgreSQL write
    that loses 4 races in a row): 503 application/problem+json with Retry-After, not 500."""
    from handlers import restores
    from tests.fixtures_api import assert_problem

    attempts = []

    def deadlocks(caller, key):
        attempts.append(key)
        raise peewee.OperationalError(pg_errors.DeadlockDetected("deadlock detected"))

    monkeypatch.setattr(restores, "restore_object", deadlocks)
    response = client.post("/member-api/v3/objects/1/restore", headers=world["inst_user"].headers)
    problem = assert_problem(response, 503)
    assert response.headers["retry-after"] == str(threads.RETRY_AFTER_SECONDS)
    assert "Nothing of it was written" in problem["detail"]
    assert len(attempts) == threads.WRITE_ATTEMPTS
