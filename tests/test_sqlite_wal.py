"""The SQLite WAL stays bounded under constant reads (models/storage/db.py `checkpoint_wal`,
registry/web/threads.py): SQLite's own checkpoints after commits copy the WAL into the
database, but start it over only when no reader is using it, and under reads that overlap
one always is; the file then grows with every write (2.5 GB beside a 1.2 GB database, after
a heavy ingest under constant reads)."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from models.storage.db import connection, database, init_database, write_transaction
from registry.web import threads

LIMIT = 1024 * 1024  # the WAL's limit in this test: 1 MiB
ROW = 16 * 1024
WRITES = 400  # 6.25 MiB written in all


@pytest.fixture
def wal_database(tmp_path, monkeypatch):
    bound = database.obj
    monkeypatch.setattr(threads, "_pool", None)
    monkeypatch.setattr(threads, "_pool_size", threads._pool_size)
    monkeypatch.setattr(threads, "_checkpointing", None)
    monkeypatch.setattr(threads, "_next_checkpoint", 0.0)
    threads.configure(4)
    path = tmp_path / "wal.db"
    init_database(f"sqlite:///{path}", sqlite_wal_limit_bytes=LIMIT, sqlite_busy_timeout_ms=5000)
    with connection():
        database.execute_sql("CREATE TABLE rows (id INTEGER PRIMARY KEY, payload BLOB)")
    yield f"{path}-wal"
    threads._threads().shutdown(wait=True)
    database.initialize(bound)


def _write():
    with connection(), write_transaction():
        database.execute_sql("INSERT INTO rows (payload) VALUES (?)", [os.urandom(ROW)])


def _keep_reading(stop: threading.Event, offset: float):
    """Read transactions back to back, each holding its snapshot for a few ms: with three
    such readers out of step, some reader always holds one."""
    time.sleep(offset)
    while not stop.is_set():
        with connection(), database.atomic():
            database.execute_sql("SELECT count(*), max(id) FROM rows").fetchone()
            time.sleep(0.004)


def test_the_wal_stays_bounded_under_constant_reads(wal_database, monkeypatch):
    # A reader this loaded machine leaves unscheduled for longer than the checkpoint's wait
    # makes it give up; it is tried again sooner here than in production (1 s), where the WAL
    # may grow by that much writing meanwhile.
    monkeypatch.setattr(threads, "CHECKPOINT_BACKOFF", 0.05)
    stop = threading.Event()
    readers = [
        threading.Thread(target=_keep_reading, args=(stop, i * 0.0015), daemon=True)
        for i in range(3)
    ]
    for reader in readers:
        reader.start()
    largest = 0
    began = time.monotonic()
    try:
        for _ in range(WRITES):
            asyncio.run(threads.run_write(_write))
            largest = max(largest, os.stat(wal_database).st_size)
            assert time.monotonic() - began < 60, "the writes took too long"
    finally:
        stop.set()
        for reader in readers:
            reader.join(10)
    # Over its limit, the WAL is checkpointed and truncated at the next write; a few writes
    # may land meanwhile.
    assert largest < 3 * LIMIT, f"the WAL grew to {largest} bytes"
    with connection():
        assert database.execute_sql("SELECT count(*) FROM rows").fetchone()[0] == WRITES
        assert database.execute_sql("PRAGMA journal_size_limit").fetchone()[0] == LIMIT


def test_a_long_read_holds_writers_no_longer_than_a_checkpoint_wait(wal_database):
    """A read that keeps its snapshot for 1.5 s: the checkpoint cannot finish meanwhile, and
    holds writers for at most CHECKPOINT_WAIT_MS each time it tries (once per backoff), not
    for the busy timeout; once the read ends, the next checkpoint truncates the WAL."""
    for _ in range(80):  # 1.25 MiB: over the limit
        asyncio.run(threads.run_write(_write))
    holding, release = threading.Event(), threading.Event()

    def long_read():
        with connection(), database.atomic():
            database.execute_sql("SELECT count(*) FROM rows").fetchone()
            holding.set()
            release.wait(10)

    reader = threading.Thread(target=long_read, daemon=True)
    reader.start()
    assert holding.wait(10)
    slowest, began = 0.0, time.monotonic()
    while time.monotonic() - began < 1.5:
        start = time.monotonic()
        asyncio.run(threads.run_write(_write))
        slowest = max(slowest, time.monotonic() - start)
    release.set()
    reader.join(10)
    assert slowest < threads.CHECKPOINT_WAIT_MS / 1000 + 0.5, slowest
    assert os.stat(wal_database).st_size > LIMIT  # held by the read
    deadline = time.monotonic() + threads.CHECKPOINT_BACKOFF + 5
    while os.stat(wal_database).st_size > LIMIT and time.monotonic() < deadline:
        asyncio.run(threads.run_write(_write))
        time.sleep(0.05)
    assert os.stat(wal_database).st_size <= LIMIT
