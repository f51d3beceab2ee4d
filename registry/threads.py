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
runs a read on the loop with a budget of READ_BUDGET instructions (models/read_budget.py); a
read that outruns it is interrupted and run again in a thread, so that it cannot stall the
worker's other requests for longer than the budget. PostgreSQL reads always go to a thread: every query
there waits on a socket.

The loop's default executor has min(32, CPUs + 4) threads: on PostgreSQL keep that at or
below the pool size per worker (REGISTRY_DB_POOL_SIZE, 8), or threads wait for a connection.
"""
from __future__ import annotations

import asyncio
from typing import Callable, TypeVar

from models import read_budget
from models.db import is_postgres

T = TypeVar("T")
# SQLite instructions, ~3 ms of a warm read: a page of a list with its count fits, and the
# worker's other requests wait no longer than that.
READ_BUDGET = 100_000


async def run_sync(function: Callable[..., T], *args) -> T:
    """`function(*args)` in a thread of the running loop's default executor."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


async def run_read(function: Callable[..., T], *args) -> T:
    """`function(*args)`, which only reads: on the loop while it is short (SQLite), else in a
    thread."""
    if not is_postgres():
        try:
            return read_budget.within(READ_BUDGET, function, *args)
        except read_budget.OverBudget:
            pass
    return await run_sync(function, *args)
