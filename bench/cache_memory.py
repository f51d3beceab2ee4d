"""Memory under many distinct valid requests: does a worker's RSS stay flat?

Every request is a valid list of work items whose URL and SQL query shape no earlier request
had (another set and order of filters, `in` lists of another length, another sort), each text
filter a value never sent before: the worst case for every cache keyed by a request (the list
engine's compiled statements, the fast reads' parsed URLs, the validator's verdicts). They are
sent through the app's ASGI callable, in-process, on a seeded SQLite database, and the
process's resident set size is read at checkpoints.

    PYTHONPATH=. python -m bench.cache_memory [--requests 100000] [--json out.json]

Issue 15 measured ~4.5 KB kept per shape before the caches were bounded (200 MB per worker
after 44,000 requests); bench/results/ keeps the figures of a run before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

# Text filters of /member-api/v3/items that take any string, in a fixed order; a request uses
# a subset of them, in one of two orders.
TEXT_FILTERS = (
    "alt_identifier",
    "bag_group_identifier",
    "bagit_profile_identifier",
    "bucket",
    "etag",
    "name",
    "object_identifier",
    "generic_file_identifier",
)
ACTIONS = ("Delete", "Glacier Restore", "Ingest", "Restore File", "Restore Object")
SORTS = (
    "action",
    "alt_identifier",
    "bag_date",
    "bag_group_identifier",
    "created_at",
    "etag",
    "name",
    "size",
    "stage",
    "status",
    "updated_at",
)


def rss_mb() -> float:
    """This process's resident set size now, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def distinct_queries():
    """Query strings, each of a query shape (and so a URL) no earlier one had."""
    counter = itertools.count()
    for arity in range(1, 6):
        for mask in range(1, 2 ** len(TEXT_FILTERS)):
            chosen = [name for bit, name in enumerate(TEXT_FILTERS) if mask >> bit & 1]
            for reverse in (False, True):
                if reverse and len(chosen) == 1:
                    continue
                for sort in _sorts():
                    n = next(counter)
                    params = [(name, f"v{n}") for name in (chosen[::-1] if reverse else chosen)]
                    params += [("action__in", action) for action in ACTIONS[:arity]]
                    params += [("sort", key) for key in sort]
                    yield urlencode(params)


def _sorts():
    """Sorts by one column, then by two (in both directions each)."""
    keys = [f"{column}__{direction}" for column in SORTS for direction in ("asc", "desc")]
    yield from ([key] for key in keys)
    for first, second in itertools.permutations(SORTS, 2):
        for a, b in itertools.product(("asc", "desc"), repeat=2):
            yield [f"{first}__{a}", f"{second}__{b}"]


class Caller:
    """Sends GETs straight to an ASGI app and collects the status."""

    def __init__(self, app, headers: dict):
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def get(self, path: str, query: str) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver"), *self.headers],
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
            "state": {},
        }
        status = None

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, send)
        return status


def build_app(directory: str):
    from models.storage.db import connection
    from models.storage.migrations import migrate
    from models.user import User, issue_key
    from registry.app import create_app
    from registry.seed.demo import seed_demo
    from registry.settings import Settings

    app = create_app(
        Settings(database_url=f"sqlite:///{directory}/registry.db", log_level="WARNING")
    )
    with connection():
        migrate()
        seed_demo()
        key = issue_key(User.get(User.email == "admin@aptrust.org"))
    return app, {"X-Pharos-API-User": "admin@aptrust.org", "X-Pharos-API-Key": key}


async def measure(requests: int, checkpoints: int, warmup: int) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        app, headers = build_app(directory)
        logging.getLogger().setLevel(logging.WARNING)
        caller = Caller(app, headers)
        queries = distinct_queries()
        statuses: dict[int, int] = {}
        started = time.monotonic()
        for query in itertools.islice(queries, warmup):
            status = await caller.get("/member-api/v3/items", query)
            statuses[status] = statuses.get(status, 0) + 1
        gc.collect()
        points = [{"requests": warmup, "rss_mb": round(rss_mb(), 1)}]
        step = max(1, (requests - warmup) // checkpoints)
        sent = warmup
        while sent < requests:
            for query in itertools.islice(queries, min(step, requests - sent)):
                status = await caller.get("/member-api/v3/items", query)
                statuses[status] = statuses.get(status, 0) + 1
                sent += 1
            gc.collect()
            points.append({"requests": sent, "rss_mb": round(rss_mb(), 1)})
            print(f"{sent:>7} requests  RSS {points[-1]['rss_mb']:8.1f} MB", file=sys.stderr)
        return {
            "requests": sent,
            "statuses": statuses,
            "seconds": round(time.monotonic() - started, 1),
            "points": points,
            "growth_mb": round(points[-1]["rss_mb"] - points[0]["rss_mb"], 1),
        }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument(
        "--warmup",
        type=int,
        default=5_000,
        help="requests sent before the first reading (fills the caches)",
    )
    parser.add_argument("--checkpoints", type=int, default=10)
    parser.add_argument("--json", type=Path, help="write the figures here as well")
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.requests, args.checkpoints, args.warmup))
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0 if set(result["statuses"]) == {200} else 1


if __name__ == "__main__":
    sys.exit(main())
