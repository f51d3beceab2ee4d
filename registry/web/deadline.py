"""The request deadline: a request not answered in time answers 503 with Retry-After.

Pure ASGI middleware of the pipeline (registry/web/pipeline.py). Each request gets
REGISTRY_REQUEST_DEADLINE_MS from its arrival; the database work it does learns of it through
registry.web.threads.BUDGET (a write does not start another attempt that would end past it).
When it passes before the answer has begun, the request stops waiting: work that no database
thread took yet never runs, and a write that has not sent its COMMIT rolls back instead
(models.storage.db.WriteState), so the 503 can say that nothing was written. Only a request
whose write committed, or was abandoned after its COMMIT went out, is answered as of unknown
outcome, not to be sent again blindly. The database's own timeouts (statement, lock, busy)
are meant to end work before the deadline does; the deadline is what bounds a database that
does not answer at all (frozen, partitioned). An answer that has begun is not cut off.
"""

from __future__ import annotations

import asyncio

from registry.web import outage, threads
from registry.web.responses import unavailable_response

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class Deadline:
    """Pure ASGI middleware; `seconds` None or 0: no deadline."""

    def __init__(self, app, seconds: float | None = None):
        self.app = app
        self.seconds = seconds or None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.seconds is None:
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        budget = threads.Budget(
            deadline=loop.time() + self.seconds, writes=scope["method"] not in _READS
        )
        token = threads.BUDGET.set(budget)
        answered = False

        async def send_tracked(message):
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                timer.reschedule(None)  # an answer that has begun is not cut off
            await send(message)

        try:
            async with asyncio.timeout_at(budget.deadline) as timer:
                await self.app(scope, receive, send_tracked)
        except TimeoutError:
            if answered or not timer.expired():  # not the deadline's own
                raise
            await self._too_late(scope, receive, send, budget)
        finally:
            threads.BUDGET.reset(token)

    async def _too_late(self, scope, receive, send, budget: threads.Budget) -> None:
        outage.refused(
            f"a request passed its deadline of {self.seconds:g} s "
            f"({scope['method']} {scope['path']})",
            "deadline",
        )
        why = (
            f"The request was not answered within the server's deadline of "
            f"{self.seconds:g} s: the database is slow or unreachable, or busy with other "
            f"requests."
        )
        if not budget.writes:
            detail = f"{why} Send it again after {threads.RETRY_AFTER_SECONDS} s."
        elif budget.may_have_written:
            detail = (
                f"{why} Its write had been sent to the database to commit: it may or "
                f"may not have been written. Do not send it again blindly; read the "
                f"record first to see whether it was."
            )
        else:
            detail = (
                f"{why} Nothing of it was written; send it again after "
                f"{threads.RETRY_AFTER_SECONDS} s."
            )
        await unavailable_response(detail, scope["path"], threads.RETRY_AFTER_SECONDS)(
            scope, receive, send
        )
