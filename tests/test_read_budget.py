"""SQLite reads on the event loop stop at their budget and run again in a thread
(models/storage/read_budget.py, registry/web/threads.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from models.storage import read_budget
from models.storage.db import database, make_database
from registry.web import threads

# Counting to N with a recursive CTE: SQLite work that takes as long as N says.
LONG_READ = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
    "SELECT count(*) FROM n"
)
SHORT_READ = "SELECT 41 + 1"


@pytest.fixture
def sqlite_bound(tmp_path):
    """The shared database handle bound to a fresh SQLite file for the test."""
    previous = database.obj
    db = make_database(f"sqlite:///{tmp_path / 'budget.db'}")
    database.initialize(db)
    yield db
    db.close()
    database.initialize(previous)


def _scalar(db, sql):
    return db.execute_sql(sql).fetchone()[0]


def test_a_short_read_returns_its_result(sqlite_bound):
    assert read_budget.within(1_000_000, _scalar, sqlite_bound, SHORT_READ) == 42


def test_a_long_read_is_interrupted_at_its_budget_and_the_connection_still_works(sqlite_bound):
    with pytest.raises(read_budget.OverBudget):
        read_budget.within(10_000, _scalar, sqlite_bound, LONG_READ)
    assert _scalar(sqlite_bound, SHORT_READ) == 42
    # Outside a budget the same read runs to its end: the handler only acts inside `within`.
    assert _scalar(sqlite_bound, LONG_READ) == 3000000


def test_an_interruption_while_rows_are_fetched_is_over_budget_too(sqlite_bound):
    """sqlite3 raises its own error (not Peewee's) when the interruption comes during a fetch
    on the raw cursor, after Peewee's execute returned."""

    def fetch_all():
        return sqlite_bound.execute_sql(
            LONG_READ.replace("SELECT count(*) FROM n", "SELECT i FROM n")
        ).fetchall()

    with pytest.raises(read_budget.OverBudget):
        read_budget.within(10_000, fetch_all)


def test_an_error_that_is_not_the_budget_is_raised_as_it_is(sqlite_bound):
    import peewee

    with pytest.raises(peewee.OperationalError, match="no such table"):
        read_budget.within(1_000_000, _scalar, sqlite_bound, "SELECT * FROM missing")


def test_an_interruption_swallowed_by_the_read_is_still_no_result(sqlite_bound):
    def swallowing():
        try:
            return _scalar(sqlite_bound, LONG_READ)
        except Exception:
            return -1

    with pytest.raises(read_budget.OverBudget):
        read_budget.within(10_000, swallowing)


def test_run_read_keeps_short_reads_on_the_loop_and_moves_long_ones_to_a_thread(sqlite_bound):
    seen = []

    def read(sql):
        seen.append(threading.current_thread())
        return _scalar(sqlite_bound, sql)

    async def main():
        return (await threads.run_read(read, SHORT_READ), await threads.run_read(read, LONG_READ))

    loop_thread = threading.current_thread()
    assert asyncio.run(main()) == (42, 3000000)
    # The short read ran once, on the loop; the long one was cut off on the loop and run again,
    # whole, in a thread.
    assert seen[0] is loop_thread
    assert seen[1] is loop_thread and seen[2] is not loop_thread and len(seen) == 3
