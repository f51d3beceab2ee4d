"""Health probes for load balancers and orchestrators, outside both APIs and their auth.

- `GET /livez`: the process is up and its event loop answers; the database is not asked, so a
  database outage does not get healthy workers restarted.
- `GET /readyz`: the database answers a `SELECT 1` within READY_TIMEOUT: 200, else 503
  problem+json with Retry-After, within about that time. At most one check is in flight per
  process: while one has not returned (a database that does not answer at all), the next
  answers 503 at once instead of taking another database thread. While the drain file
  (REGISTRY_DRAIN_FILE) exists, 503 at once, the database not asked: an operator takes an
  instance out of its load balancer before stopping it by creating that file.

Both are routes of the app (like openapi.json), so every request to them passes through the
pipeline (registry/web/pipeline.py): the security headers, the deadline.
"""

from __future__ import annotations

import asyncio
import os

from models.errors import Unavailable
from models.storage.db import ping
from registry.web import outage
from registry.web.responses import json_response, unavailable_response
from registry.web.threads import RETRY_AFTER_SECONDS, run_read

READY_TIMEOUT = 1.0

_check: tuple[asyncio.AbstractEventLoop, asyncio.Future] | None = None  # the one in flight


async def livez(request):
    return json_response({"status": "alive"})


def _not_ready(request, why: str):
    return unavailable_response(f"Not ready: {why}", request.url.path, RETRY_AFTER_SECONDS)


async def readyz(request, drain_file: str | None = None):
    global _check
    if drain_file and os.path.exists(drain_file):
        return _not_ready(request, f"draining: {drain_file} exists.")
    loop = asyncio.get_running_loop()
    if _check is not None and _check[0] is loop and not _check[1].done():
        outage.refused("the previous readiness check has not returned", "readiness_check")
        return _not_ready(request, "the previous readiness check has not returned yet.")
    check = asyncio.ensure_future(run_read(ping))
    check.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved
    _check = (loop, check)
    try:
        await asyncio.wait_for(asyncio.shield(check), READY_TIMEOUT)
    except TimeoutError:
        outage.refused(
            f"the readiness check had no answer within {READY_TIMEOUT:g} s", "readiness_check"
        )
        return _not_ready(request, f"the database did not answer within {READY_TIMEOUT:g} s.")
    except Unavailable as exc:
        return _not_ready(request, exc.detail)
    return json_response({"status": "ready"})


def add_probes(app, drain_file: str | None = None) -> None:
    async def ready(request):
        return await readyz(request, drain_file)

    app.add_url_rule("/livez", "livez", livez, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", ready, methods=["GET"])
