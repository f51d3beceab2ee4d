"""Writers of one SQLite database take turns, in the order they came.

SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps between
tries (1 ms, then 2, 5, 10 ... up to 100 ms a try): a writer that has waited long sleeps long,
while one that just came tries again within a millisecond, so under many concurrent writes the
slowest wait many times the median (bench/results/2026-12-06-issue20-notes.md). So before BEGIN
IMMEDIATE a write transaction takes a turn:

- in its process, a place in a queue served first come, first served (each waiter has its own
  condition; the one whose turn it is is woken, never the others); it waits at most the
  database's busy timeout for it, then fails as SQLite would ("database is locked": 503);
- between processes (gunicorn's workers, other Registry processes on the same file), the head
  of each process's queue takes an advisory lock on `<database file>-writers` (`flock`), which
  the kernel hands on when it is released, and releases when its process dies, so a worker
  killed mid-write leaves no lock behind. Only the head of a queue waits for it, for as long as
  the other processes' writes take.

BEGIN IMMEDIATE then finds the database free, unless a process that does not take turns (the
`sqlite3` shell, a migration) writes: that still waits in SQLite's busy handler, as before.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections import deque
from contextlib import contextmanager


class _Turns:
    """The queue of one database file in this process, and its lock file."""

    def __init__(self, path: str):
        self.path = path + "-writers"
        self.mutex = threading.Lock()
        self.waiting: deque[threading.Condition] = deque()
        self.busy = False  # a thread of this process holds the turn
        self.fd: int | None = None
        self.pid = 0

    def _lock_file(self) -> int:
        # Opened in this process: a descriptor inherited across fork shares the parent's lock.
        if self.fd is None or self.pid != os.getpid():
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self.pid = os.getpid()
        return self.fd

    def acquire(self, timeout: float) -> None:
        with self.mutex:
            if not self.busy and not self.waiting:
                self.busy = True
            else:
                turn = threading.Condition(self.mutex)
                self.waiting.append(turn)
                if not turn.wait_for(lambda: not self.busy and self.waiting[0] is turn, timeout):
                    self.waiting.remove(turn)
                    if not self.busy and self.waiting:
                        self.waiting[0].notify()
                    raise _locked()
                self.waiting.popleft()
                self.busy = True
        try:
            fcntl.flock(self._lock_file(), fcntl.LOCK_EX)
        except BaseException:
            self._pass_on()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._lock_file(), fcntl.LOCK_UN)
        finally:
            self._pass_on()

    def _pass_on(self) -> None:
        with self.mutex:
            self.busy = False
            if self.waiting:
                self.waiting[0].notify()


def _locked() -> sqlite3.OperationalError:
    """What SQLite raises when its busy timeout runs out, so that it is handled the same way
    (models.storage.db.unavailable, registry.web.threads.lost_a_race)."""
    exc = sqlite3.OperationalError("database is locked (no write turn within the busy timeout)")
    exc.sqlite_errorcode = sqlite3.SQLITE_BUSY
    exc.sqlite_errorname = "SQLITE_BUSY"
    return exc


_by_path: dict[str, _Turns] = {}
_registry_lock = threading.Lock()


def _turns(path: str) -> _Turns:
    """The one queue of the file `path` names, however it is spelt (relative, absolute)."""
    path = os.path.abspath(path)
    with _registry_lock:
        found = _by_path.get(path)
        if found is None:
            found = _by_path[path] = _Turns(path)
        return found


@contextmanager
def write_turn(path: str, timeout: float):
    """Hold the write turn of the SQLite database file `path` (`:memory:`: no other writer can
    share it, so no turn) for the block, waiting at most `timeout` seconds in this process."""
    if path == ":memory:" or path.startswith("file:"):
        yield
        return
    turns = _turns(path)
    turns.acquire(timeout)
    try:
        yield
    finally:
        turns.release()
