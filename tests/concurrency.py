"""Calls started at the same instant, each in a thread of its own: the concurrent writers of
tests/test_concurrency.py, test_restore.py and test_deletions_flow.py.

A barrier releases every thread at once, so that the calls overlap as much as the machine lets
them. A call may use the models directly (its thread then opens a database connection of its
own, which it closes at the end) or the in-process app's test client (whose requests then run
in the app's own database threads, as a served request does). The outcome of each call, in
the order of the calls, is its value or the exception it raised: the tests assert on what
each writer saw, not only on what was left in the database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from models.storage.db import database


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None

    @property
    def status(self) -> int | None:
        """The HTTP status, when the call returned a response."""
        return getattr(self.value, "status_code", None)


def at_once(calls: Sequence[Callable[[], Any]], timeout: float = 120) -> list[Outcome]:
    """Run every call in a thread of its own, all released together; their outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Outcome | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = Outcome(value=call())
        except BaseException as exc:  # noqa: BLE001 - the outcome the test looks at
            outcomes[index] = Outcome(error=exc)
        finally:
            db = database.obj  # None in a test that serves no app in-process
            if db is not None and not db.is_closed():  # a connection this thread opened
                db.close()

    threads = [
        threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    unfinished = [i for i, thread in enumerate(threads) if thread.is_alive()]
    assert not unfinished, f"calls {unfinished} did not finish within {timeout} s"
    return outcomes  # type: ignore[return-value]


def statuses(outcomes: list[Outcome]) -> list[int]:
    """The HTTP status of each outcome, sorted; a call that raised fails the test."""
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
    return sorted(outcome.status for outcome in outcomes)
