"""SQLite reads with a work budget: statements interrupted once they have run too long.

Registry runs SQLite reads on the event loop when they are short (registry/web/threads.py), since a
thread hop costs more than most of them. A read whose length cannot be known beforehand (a list
counts and sorts what its filters select) gets a budget instead: SQLite calls a progress
handler every PROGRESS_STEPS virtual-machine instructions, and once the read has used its
budget of such calls the handler interrupts the statement. The caller then runs the read again
in a thread, so a long read blocks the loop for a bounded amount of work.

The budget counts SQLite's own instructions, not time: reading a clock on every call costs more
(1-2 us for a thread's CPU clock on this kind of VM) and a wall clock would also count the time
the worker waits for a CPU on a busy machine. Measured here: ~30,000 instructions per ms of a
warm read.

The handler is installed on every connection; outside `within`, it is one attribute read per
PROGRESS_STEPS instructions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import peewee

T = TypeVar("T")
PROGRESS_STEPS = 1000


class OverBudget(Exception):
    """The read was interrupted at the end of its budget; it wrote nothing, so it can run
    again."""


class _Budget(threading.local):
    remaining: int | None = None  # progress calls left; None: no budget
    exceeded: bool = False


_budget = _Budget()


def _check() -> int:
    """SQLite's progress handler: non-zero interrupts the running statement."""
    remaining = _budget.remaining
    if remaining is None:
        return 0
    if remaining <= 0:
        _budget.exceeded = True
        return 1
    _budget.remaining = remaining - 1
    return 0


class BudgetedSqliteDatabase(peewee.SqliteDatabase):
    """Peewee's SQLite database, with the budget's progress handler on each connection."""

    def _connect(self):
        conn = super()._connect()
        conn.set_progress_handler(_check, PROGRESS_STEPS)
        return conn


def within(instructions: int, function: Callable[..., T], *args) -> T:
    """`function(*args)` in this thread, or OverBudget once its SQLite statements have run
    about `instructions` virtual-machine instructions. `function` must only read."""
    _budget.remaining, _budget.exceeded = max(1, instructions // PROGRESS_STEPS), False
    try:
        result = function(*args)
    except Exception:  # "interrupted": from Peewee, or from sqlite3 itself during a fetch
        if _budget.exceeded:
            raise OverBudget from None
        raise
    finally:
        _budget.remaining = None
    if _budget.exceeded:  # interrupted, and the error swallowed on the way: not a result
        raise OverBudget
    return result
