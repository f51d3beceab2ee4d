"""SQLite writers take turns in the order they came (models/storage/write_turns.py): within a
process first come, first served, with the busy timeout as the longest wait; between processes
through a lock the kernel hands on, and drops with a process that dies holding it."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time

import pytest

from models.storage.db import unavailable
from models.storage.write_turns import write_turn
from registry.web.threads import lost_a_race


def _queue_up(path: str, names: list[str], order: list[str]) -> list[threading.Thread]:
    """Threads that ask for the turn one after another (each once the previous is waiting)."""
    threads = []
    for name in names:

        def write(name=name):
            with write_turn(path, 10):
                order.append(name)

        thread = threading.Thread(target=write)
        thread.start()
        threads.append(thread)
        time.sleep(0.05)  # the next one comes later: it is behind this one in the queue
    return threads


def test_writers_of_a_process_get_their_turns_in_the_order_they_came(tmp_path):
    path = str(tmp_path / "queue.db")
    order: list[str] = []
    names = [f"w{n}" for n in range(8)]
    with write_turn(path, 10):
        threads = _queue_up(path, names, order)
        assert order == []  # all of them wait while the turn is held
    for thread in threads:
        thread.join(10)
    assert order == names


def test_a_writer_that_waits_past_the_busy_timeout_fails_as_sqlite_would(tmp_path):
    path = str(tmp_path / "timeout.db")
    order: list[str] = []
    with write_turn(path, 10):
        with pytest.raises(sqlite3.OperationalError) as raised:
            with write_turn(path, 0.05):
                pass  # pragma: no cover - never reached
        # the same error as SQLite's own busy timeout: retried, then answered 503
        assert lost_a_race(raised.value)
        assert unavailable(raised.value).kind == "the database stayed locked"
        threads = _queue_up(path, ["after"], order)  # the queue still works after a timeout
    threads[0].join(10)
    assert order == ["after"]


def _hold(path: str, held) -> None:
    with write_turn(path, 10):
        held.set()
        time.sleep(60)  # until killed


def test_another_process_waits_for_the_turn_and_gets_it_when_the_holder_dies(tmp_path):
    path = str(tmp_path / "processes.db")
    context = multiprocessing.get_context("spawn")
    held = context.Event()
    holder = context.Process(target=_hold, args=(path, held))
    holder.start()
    try:
        assert held.wait(60)
        got = threading.Event()

        def write():
            with write_turn(path, 10):
                got.set()

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        assert not got.wait(0.3)  # the other process holds the turn
        holder.kill()  # killed mid-write: its lock goes with it
        assert got.wait(10)
        thread.join(10)
    finally:
        holder.kill()  # if an assertion failed before it was killed
        holder.join(10)


def test_two_spellings_of_one_file_share_one_queue(tmp_path, monkeypatch):
    """Order holds between writers that name the file differently (relative, absolute): they
    wait in one queue, not in two served independently."""
    from models.storage import write_turns

    monkeypatch.chdir(tmp_path)
    assert write_turns._turns("same.db") is write_turns._turns(str(tmp_path / "same.db"))
    assert write_turns._turns("./same.db") is write_turns._turns("same.db")
