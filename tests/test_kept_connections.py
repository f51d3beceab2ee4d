"""Registry's database threads keep their pooled PostgreSQL connection between requests
(models/db.py, registry/threads.py), and give up one that is no longer usable."""
from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from models import db as dbmodule
from models.db import connection, database, keep_connections_in_this_thread
from registry import threads


@pytest.fixture
def kept(client, backend):
    """One thread that keeps its connection, like registry.threads' own."""
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
    with pytest.raises(Exception):
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
