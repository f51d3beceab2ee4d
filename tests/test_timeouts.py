"""A database that is down, hung, frozen, slow or locked answers 503 problem+json with
Retry-After within the request's deadline, never a 500 and never a hang; an outage logs one
line when it starts and one when it ends, not a traceback per request; the service answers
200 again once the database does; and a write refused meanwhile is not applied later.

The PostgreSQL faults go through a proxy in front of the tests' cluster (tests/db_proxy.py),
which is never stopped itself. Bounds are short (tests/bounded.py): a deadline of 3 s, a
queue timeout of 1 s, a connect timeout of 2 s, a statement timeout of 1.5 s, a lock
timeout of 1 s.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time

import psycopg
import pytest

from models.errors import Unavailable
from models.intellectual_object import IntellectualObject
from models.storage.db import connection, database, discard_connection, write_transaction
from models.work_item import WorkItem
from registry.web import threads
from tests.bounded import (
    CONNECT_TIMEOUT,
    DEADLINE,
    LOCK_TIMEOUT,
    STATEMENT_TIMEOUT,
    answered,
    bounded_app,
    database_records,
    drain_threads,
)
from tests.db_proxy import DatabaseProxy, silent_server
from tests.fixtures_api import assert_problem

SLACK = 2.0  # what a bound may be overrun by on a loaded two-core machine
LIST = "/member-api/v3/objects?per_page=2"


def _unavailable(response) -> dict:
    problem = assert_problem(response, 503)
    assert int(response.headers["retry-after"]) >= 1
    return problem


def _restores_of(object_id: int) -> int:
    discard_connection()  # this thread's, and the pool's idle ones: the proxy may have cut them
    with connection():
        return (
            WorkItem.select()
            .where(
                (WorkItem.intellectual_object == object_id) & (WorkItem.action == "Restore Object")
            )
            .count()
        )


@pytest.fixture
def proxy(backend, database_url):
    if backend != "postgres":
        pytest.skip("a fault of the PostgreSQL server")
    proxy = DatabaseProxy(database_url)
    yield proxy
    proxy.close()


def test_a_database_that_is_down_answers_503_and_logs_one_line(proxy, world, caplog):
    """Its port closed and its connections cut: reads and a write answer 503 at once (the
    write says nothing of it was written); one WARNING line, then, once it is back, 200 and
    one INFO line counting the refused requests. Before: 500 and a traceback per request."""
    from tests.test_restore import make_object

    user = world["inst_user"]
    with bounded_app(proxy.url) as app:
        client = app.test_client()
        obj = make_object(user.institution_id)
        assert client.get(LIST, headers=user.headers).status_code == 200
        proxy.down()
        with caplog.at_level(logging.INFO):
            calls = [
                lambda: client.get(LIST, headers=user.headers),
                lambda: client.get(f"/member-api/v3/objects/show/{obj.id}", headers=user.headers),
                lambda: client.post(
                    f"/member-api/v3/objects/{obj.id}/restore", headers=user.headers
                ),
            ]
            for call in calls:
                response, took = answered(call, within=SLACK)
                problem = _unavailable(response)
                assert "no connection to the database" in problem["detail"]
            assert "Nothing of it was written" in problem["detail"]
            [line] = database_records(caplog)
            assert line.levelno == logging.WARNING
            assert "database unavailable" in line.getMessage()
            assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
            caplog.clear()
            proxy.up()
            response, _ = answered(
                lambda: client.get(LIST, headers=user.headers), within=CONNECT_TIMEOUT + SLACK
            )
            assert response.status_code == 200, response.text
            [line] = database_records(caplog)
            assert line.levelno == logging.INFO
            assert "serving again" in line.getMessage()
            assert "3 request(s) were refused" in line.getMessage()
        assert _restores_of(obj.id) == 0


def test_a_database_that_never_answers_fails_within_the_connect_timeout():
    """A server that accepts connections and never answers: 503 once the connect timeout
    passes, within the deadline. Before: the request waited for psycopg's own default (130 s)."""
    with silent_server() as port, bounded_app(f"postgresql://postgres@127.0.0.1:{port}/x") as app:
        client = app.test_client()
        response, took = answered(
            lambda: client.get(
                LIST, headers={"X-Pharos-API-User": "user@example.edu", "X-Pharos-API-Key": "rgk_x"}
            ),
            within=DEADLINE + SLACK,
        )
        problem = _unavailable(response)
        assert "connect timeout" in problem["detail"]
        assert CONNECT_TIMEOUT - 0.5 <= took <= CONNECT_TIMEOUT + SLACK


def test_a_frozen_database_answers_503_at_the_deadline_and_sheds_the_queue(proxy, world, caplog):
    """Connections accepted, nothing answered (SIGSTOP, a partition): a read answers 503 at the
    deadline; while the database threads are stuck, more requests than there are threads
    answer 503 too (no thread free within the queue timeout), all within the deadline. Once
    it thaws: 200, and one line for the episode's start and one for its end."""
    user = world["inst_user"]
    with bounded_app(proxy.url) as app:
        client = app.test_client()
        assert client.get(LIST, headers=user.headers).status_code == 200
        proxy.freeze()
        with caplog.at_level(logging.INFO):
            response, took = answered(
                lambda: client.get(LIST, headers=user.headers), within=DEADLINE + SLACK
            )
            # (a thread that has its connection waits for the deadline; one that connects
            # now, for the connect timeout)
            detail = _unavailable(response)["detail"]
            assert "deadline of 3 s" in detail or "connect timeout" in detail, detail
            assert took >= CONNECT_TIMEOUT - 0.2
            results = []
            burst = [
                threading.Thread(
                    target=lambda: results.append(
                        answered(
                            lambda: client.get(LIST, headers=user.headers), within=DEADLINE + SLACK
                        )
                    )
                )
                for _ in range(6)
            ]
            for thread in burst:
                thread.start()
            for thread in burst:
                thread.join(DEADLINE + 2 * SLACK)
            assert len(results) == 6
            details = [_unavailable(response)["detail"] for response, _ in results]
            assert any("no database thread was free within 1 s" in d for d in details), details
            assert all(took <= DEADLINE + SLACK for _, took in results)
            [line] = database_records(caplog)
            assert "database unavailable" in line.getMessage()
            caplog.clear()
            proxy.up()
            response, _ = answered(
                lambda: client.get(LIST, headers=user.headers), within=DEADLINE + SLACK
            )
            assert response.status_code == 200
            [line] = database_records(caplog)
            assert "7 request(s) were refused" in line.getMessage()


@pytest.mark.parametrize("freeze_at", ["first statement", "commit"])
def test_a_write_the_deadline_abandons_rolls_back_unless_its_commit_went_out(
    proxy, world, monkeypatch, freeze_at
):
    """The database freezes during a write. Frozen before the write's COMMIT went out, the
    write answers 503 at the deadline saying nothing of it was written, and when the database
    thaws the write rolls back instead of committing. Frozen as its COMMIT goes out, the 503
    says it may or may not have been written, and must not be sent again blindly (here it
    was: the COMMIT reached the database when it thawed)."""
    from handlers import restores
    from models import restore
    from tests.test_restore import make_object

    user = world["inst_user"]
    with bounded_app(proxy.url) as app:
        client = app.test_client()
        obj = make_object(user.institution_id)
        real_restore, real_commit = restore.restore_object, database.obj.commit

        def freezing_commit(*args, **kwargs):
            proxy.freeze()
            return real_commit(*args, **kwargs)

        def freezing_restore(caller, key):
            if freeze_at == "first statement":
                proxy.freeze()
            else:
                monkeypatch.setattr(database.obj, "commit", freezing_commit)
            return real_restore(caller, key)

        monkeypatch.setattr(restores, "restore_object", freezing_restore)
        response, took = answered(
            lambda: client.post(f"/member-api/v3/objects/{obj.id}/restore", headers=user.headers),
            within=DEADLINE + SLACK,
        )
        problem = _unavailable(response)
        # The write waits for the frozen database until the deadline; or, frozen before its
        # first statement while its database thread had no connection yet (a loaded machine
        # can retire it), until the connect timeout, the shorter bound.
        bound = min(DEADLINE, CONNECT_TIMEOUT) if freeze_at == "first statement" else DEADLINE
        assert took >= bound - 0.2, problem
        proxy.up()
        drain_threads()
        monkeypatch.undo()
        if freeze_at == "first statement":
            assert "Nothing of it was written" in problem["detail"]
            assert _restores_of(obj.id) == 0
        else:
            assert "may or may not have been written" in problem["detail"]
            assert "Do not send it again blindly" in problem["detail"]
            assert _restores_of(obj.id) == 1


def test_a_statement_past_the_statement_timeout_answers_503(proxy, world, monkeypatch):
    """A read that outlasts the statement timeout (pg_sleep): 503 once it passes, and the
    connection serves the next request. Before: 500."""
    from models import user as users

    real = users.authenticate

    def slow(email, key):
        with connection():
            database.execute_sql("SELECT pg_sleep(10)")
        return real(email, key)

    user = world["inst_user"]
    with bounded_app(proxy.url) as app:
        client = app.test_client()
        monkeypatch.setattr(users, "authenticate", slow)
        response, took = answered(
            lambda: client.get(LIST, headers=user.headers), within=DEADLINE + SLACK
        )
        assert "statement timeout" in _unavailable(response)["detail"]
        assert took <= STATEMENT_TIMEOUT + SLACK
        monkeypatch.setattr(users, "authenticate", real)
        assert client.get(LIST, headers=user.headers).status_code == 200


def test_a_write_kept_waiting_past_the_lock_timeout_answers_503(proxy, world, database_url):
    """A row lock held by another transaction: the write waits out the lock timeout and answers
    503, nothing written; once the lock is gone the same request succeeds. Before: 500, or
    without a lock timeout, a wait as long as the lock was held."""
    from tests.test_restore import make_object

    user = world["inst_user"]
    with bounded_app(proxy.url) as app:
        client = app.test_client()
        obj = make_object(user.institution_id)
        with psycopg.connect(database_url) as holder:
            holder.execute(
                f"SELECT 1 FROM {IntellectualObject._meta.table_name} WHERE id = %s FOR UPDATE",
                [obj.id],
            )
            response, took = answered(
                lambda: client.post(
                    f"/member-api/v3/objects/{obj.id}/restore", headers=user.headers
                ),
                within=DEADLINE + SLACK,
            )
            problem = _unavailable(response)
            assert "lock timeout" in problem["detail"]
            assert "Nothing of it was written" in problem["detail"]
            assert took <= LOCK_TIMEOUT + SLACK
        assert _restores_of(obj.id) == 0
        response = client.post(f"/member-api/v3/objects/{obj.id}/restore", headers=user.headers)
        assert response.status_code == 201, response.text


@pytest.mark.parametrize("dies", ["after BEGIN", "at COMMIT"])
def test_a_write_whose_connection_dies_answers_503_not_500(
    proxy, world, monkeypatch, dies, database_url
):
    """The server ends the write's connection (pg_terminate_backend) inside its transaction:
    503, nothing written; or just before its COMMIT: 503, outcome unknown, not to be sent
    again blindly. Before: 500 with a traceback."""
    from handlers import restores

    def terminate_own_backend():
        pid = database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
        with psycopg.connect(database_url, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
        time.sleep(0.2)

    def dying_write(caller, key):
        with connection(), write_transaction():
            database.execute_sql("SELECT 1")
            terminate_own_backend()
            if dies == "after BEGIN":
                database.execute_sql("SELECT 1")
        return {}

    user = world["inst_user"]
    with bounded_app(proxy.url) as app:
        client = app.test_client()
        monkeypatch.setattr(restores, "restore_object", dying_write)
        response = client.post("/member-api/v3/objects/1/restore", headers=user.headers)
        problem = _unavailable(response)
        if dies == "after BEGIN":
            assert "Nothing of it was written" in problem["detail"]
        else:
            assert "may or may not have been written" in problem["detail"]


def test_an_sqlite_write_waits_for_the_lock_no_longer_than_the_deadline(
    backend, world, database_url
):
    """The SQLite write lock held by another connection: the write's attempts stop before the
    deadline (503, nothing written), instead of four busy timeouts in a row; once the lock
    is gone, the refused write has not been applied. Before: 4 x the busy timeout."""
    if backend != "sqlite":
        pytest.skip("SQLite's write lock")
    from tests.test_restore import make_object

    user = world["inst_user"]
    with bounded_app(database_url, request_deadline_ms=2500, sqlite_busy_timeout_ms=1000) as app:
        client = app.test_client()
        obj = make_object(user.institution_id)
        holder = sqlite3.connect(database_url[len("sqlite:///") :])
        holder.execute("BEGIN IMMEDIATE")
        try:
            response, took = answered(
                lambda: client.post(
                    f"/member-api/v3/objects/{obj.id}/restore", headers=user.headers
                ),
                within=10,
            )
            problem = _unavailable(response)
            assert "Nothing of it was written" in problem["detail"]
            # Answered by the write's own attempts, which stopped when another would have
            # ended past the deadline, not by the deadline itself.
            assert "too busy to take this write" in problem["detail"], problem["detail"]
            assert took <= 2.5 + 0.5
        finally:
            holder.rollback()
            holder.close()
        drain_threads()
        assert _restores_of(obj.id) == 0


def test_work_no_database_thread_takes_in_time_is_dropped_with_503(monkeypatch):
    """One database thread, busy: the next piece of work waits the queue timeout, answers
    503 and never runs. Before: it waited for the thread, however long that took."""
    monkeypatch.setattr(threads, "_pool", None)
    monkeypatch.setattr(threads, "_pool_size", threads._pool_size)
    monkeypatch.setattr(threads, "_queue_timeout", threads._queue_timeout)
    threads.configure(1, queue_timeout_s=0.3)
    ran = []

    async def both():
        busy = asyncio.ensure_future(threads.run_sync(time.sleep, 1.5))
        await asyncio.sleep(0.05)
        began = time.monotonic()
        with pytest.raises(Unavailable) as raised:
            await threads.run_sync(ran.append, "ran")
        waited = time.monotonic() - began
        await busy
        return raised.value, waited

    refusal, waited = asyncio.run(both())
    assert 0.25 <= waited <= 1.0
    assert "no database thread was free within 0.3 s" in refusal.detail
    assert refusal.headers() == {"Retry-After": str(threads.RETRY_AFTER_SECONDS)}
    time.sleep(0.2)
    assert ran == []
    threads._threads().shutdown(wait=True)
