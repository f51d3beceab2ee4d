"""Registry's database threads keep their pooled PostgreSQL connection between requests
(models/storage/db.py, registry/web/threads.py), and give up one that is no longer usable."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import peewee
import pytest

from models.storage import db as dbmodule
from models.storage.db import connection, database, keep_connections_in_this_thread
from registry.web import threads


@pytest.fixture
def kept(client, backend):
    """One thread that keeps its connection, like registry.web.threads' own."""
    if backend != "postgres":
        pytest.skip("only pooled PostgreSQL connections are checked out and in")
    with ThreadPoolExecutor(1, initializer=keep_connections_in_this_thread) as pool:
        yield lambda function: pool.submit(function).result(timeout=30)


def _backend_pid() -> int:
    with connection():
        return database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def test_a_kept_connection_serves_every_block_of_its_thread(kept):
    first, second = kept(_backend_pid), kept(_backend_pid)
    assert first == second
    # A thread that does not keep its connection checks it in after each block.
    assert kept(lambda: database.is_closed()) is False
    with ThreadPoolExecutor(1) as plain:
        plain.submit(_backend_pid).result(timeout=30)
        assert plain.submit(database.is_closed).result(timeout=30) is True


def test_a_connection_the_server_dropped_is_replaced(kept):
    before = kept(_backend_pid)
    with connection():
        database.execute_sql("SELECT pg_terminate_backend(%s)", [before])
    # The driver learns of it on its next use, which fails; the block after that reconnects.
    with pytest.raises(peewee.OperationalError):
        kept(lambda: database.execute_sql("SELECT 1").fetchone())
    after = kept(_backend_pid)
    assert after != before


def test_a_connection_idle_too_long_is_replaced(kept, monkeypatch):
    before = kept(_backend_pid)
    monkeypatch.setattr(dbmodule, "KEPT_IDLE_SECONDS", -1)
    assert kept(_backend_pid) != before


def test_there_are_never_more_database_threads_than_pooled_connections(monkeypatch):
    monkeypatch.setattr(threads, "_pool", None)
    monkeypatch.setattr(threads, "_pool_size", threads.DEFAULT_THREADS)
    threads.configure(3)
    assert threads._threads()._max_workers == min(3, threads.DEFAULT_THREADS)

    def who():
        time.sleep(0.05)
        return threading.get_ident()

    async def twelve_at_once():
        return set(await asyncio.gather(*(threads.run_sync(who) for _ in range(12))))

    assert 1 <= len(asyncio.run(twelve_at_once())) <= 3
    threads._threads().shutdown(wait=True)
    # Configured for a larger pool again, the process gets threads of that size.
    threads.configure(8)
    assert threads._threads()._max_workers == min(8, threads.DEFAULT_THREADS)
    threads._threads().shutdown(wait=True)


def _end_every_other_connection() -> int:
    """End every connection to the session's database but this one's, as a restart of
    PostgreSQL ends them (pg_terminate_backend; the cluster itself keeps running)."""
    import psycopg

    from tests.postgres import PG_URL

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        ended = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    # This thread's own connection (a helper may have left one open) and the pool's idle ones
    # are dead too: given up, so that the test's helpers connect afresh.
    if not database.obj.is_closed():
        database.obj.manual_close()
    database.obj.close_idle()
    return ended


def test_requests_after_the_database_ended_its_connections_answer_as_usual(client, world, backend):
    """The app's database threads keep their connections; after the database ended them all,
    the next reads (one retried on a fresh connection) and writes (retried when their
    connection was found dead before their transaction began) answer as usual. Before the
    fix, the first request in each thread answered 500."""
    if backend != "postgres":
        pytest.skip("SQLite has no server that ends connections")
    from tests.test_restore import make_object

    user = world["inst_user"]
    reads = [
        "/member-api/v3/objects?per_page=3",
        "/member-api/v3/items?per_page=3",
        "/member-api/v3/objects/show/example.edu/bag-0001",
    ]
    assert [client.get(path, headers=user.headers).status_code for path in reads] == [200] * 3
    for _ in range(2):
        assert _end_every_other_connection() >= 1
        answers = [client.get(path, headers=user.headers).status_code for path in reads * 3]
        objects = [make_object(user.institution_id) for _ in range(3)]
        assert _end_every_other_connection() >= 1
        answers += [
            client.post(
                f"/member-api/v3/objects/{obj.id}/restore", headers=user.headers
            ).status_code
            for obj in objects
        ]
        assert answers == [200] * 9 + [201] * 3


def test_a_write_runs_again_only_if_its_connection_died_before_it_began(
    client, backend, monkeypatch
):
    """A write whose connection is found dead before its transaction began is run once more
    (nothing of it can have been committed); one whose connection died after it began is not:
    the client gets a 503 saying nothing was written (its COMMIT never went out, so the server
    rolled it back), or, when the connection died at COMMIT, that it may or may not have been
    written and must not be sent again blindly."""
    import psycopg

    from models.errors import Unavailable
    from models.storage.db import write_transaction

    dead = psycopg.OperationalError("server closed the connection unexpectedly")
    calls = []

    def dies_before_it_begins():
        calls.append("before")
        if len(calls) == 1:
            raise dead
        with connection(), write_transaction():
            return "written"

    def dies_after_it_began():
        with connection(), write_transaction():
            calls.append("began")  # (a kept connection found dead at BEGIN is retried first)
            raise dead

    def dies_at_commit():
        with connection():
            monkeypatch.setattr(database.obj, "commit", _raises(dead))
            try:
                with write_transaction():
                    # counted once begun: a kept connection found dead at BEGIN (ended by
                    # an earlier test of this worker) is rightly retried first
                    calls.append("commit")
            finally:
                monkeypatch.undo()

    assert asyncio.run(threads.run_write(dies_before_it_begins)) == "written"
    assert calls == ["before", "before"]
    calls.clear()
    with pytest.raises(Unavailable) as raised:
        asyncio.run(threads.run_write(dies_after_it_began))
    assert calls == ["began"]
    assert "Nothing of it was written" in raised.value.detail
    calls.clear()
    with pytest.raises(Unavailable) as raised:
        asyncio.run(threads.run_write(dies_at_commit))
    assert calls == ["commit"]
    assert "may or may not have been written" in raised.value.detail
    assert "do not send it again blindly" in raised.value.detail


def _raises(exc):
    def fail(*args, **kwargs):
        raise exc

    return fail
