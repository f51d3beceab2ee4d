"""What the request id, the request log line and the request metrics (registry/web/observe.py)
cost a show and a list, in-process: the ASGI app called directly (no HTTP, no network), on a
demo SQLite database, one variant per process (prometheus-client picks multiprocess mode at
import):

Each variant is measured against the pipeline without Observe (no id, no line, no metrics),
built in the same process, rounds interleaved:

- `id`: Observe with metrics off and the log at WARNING (the request id only);
- `log`: the JSON line per request (written to a file), metrics off;
- `metrics`: the JSON line and the metrics (one process's own registry);
- `multiprocess`: as `metrics`, in prometheus-client's multiprocess mode (files), as
  `registry serve --workers N` runs.

    python -m bench.observe_cost [--requests 3000] [--rounds 5]
    python -m bench.observe_cost --isolated     # Observe around an app that answers at once

Prints microseconds per request (the fastest round) without and with each variant, per path.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("id", "log", "metrics", "multiprocess")
PATHS = ("/member-api/v3/objects/show/1", "/member-api/v3/objects?per_page=25")


def prepare(database: Path) -> str:
    from models.storage.db import connection, init_database
    from models.storage.migrations import migrate
    from models.user import User, issue_key
    from registry.seed.demo import seed_demo

    init_database(f"sqlite:///{database}", pool_size=1)
    with connection():
        migrate()
        seed_demo()
        return issue_key(User.get(User.email == "user@example.edu"))


def measure(variant: str, database: str, key: str, requests: int, rounds: int) -> dict:
    """{path: (us per request without Observe, us with this variant)}: the two apps built in
    this process, their rounds interleaved, the fastest round of each (the machine is shared:
    the fastest is the one least disturbed)."""
    import asyncio
    import logging

    from registry.app import create_app
    from registry.settings import Settings
    from registry.web import observe, pipeline

    def build(**settings):
        return create_app(
            Settings(
                database_url=f"sqlite:///{database}",
                rate_limit=True,
                rate_limit_key_reads="1000000000/hour",
                **settings,
            )
        )

    pipeline.MIDDLEWARE.remove(observe.Observe)
    floor = build(metrics="off")
    pipeline.MIDDLEWARE.insert(0, observe.Observe)
    app = build(
        metrics="off" if variant in ("id", "log") else "open",
        log_level="warning" if variant == "id" else "info",
    )
    # The handler create_app installed (as `registry serve`'s), writing to a file instead of
    # the terminal: the request lines take its direct path (observe.DirectLine).
    sink = open(tempfile.mktemp(), "w")  # noqa: SIM115 - for the whole run
    for handler in logging.getLogger().handlers:
        handler.setStream(sink)
    headers = [
        (b"host", b"bench"),
        (b"x-pharos-api-user", b"user@example.edu"),
        (b"x-pharos-api-key", key.encode()),
    ]

    async def one(target_app, path: str) -> int:
        target, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": target,
            "raw_path": target.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": headers,
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8080),
        }
        status = 0

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await target_app(scope, receive, send)
        return status

    async def timed(target_app, path: str) -> float:
        started = time.perf_counter()
        for _ in range(requests):
            await one(target_app, path)
        return (time.perf_counter() - started) / requests * 1e6

    async def run() -> dict:
        results = {}
        for path in PATHS:
            for target_app in (floor, app):
                for _ in range(300):  # warm-up: caches, the first hop
                    assert await one(target_app, path) == 200
            without, with_ = [], []
            for _ in range(rounds):
                without.append(await timed(floor, path))
                with_.append(await timed(app, path))
            results[path] = (min(without), min(with_))
        return results

    return asyncio.run(run())


ISOLATED = (
    ("bare", "warning", False),
    ("id", "warning", False),
    ("log", "info", False),
    ("metrics", "warning", False),
    ("metrics", "info", False),
    ("metrics", "warning", True),
    ("metrics", "info", True),
)


def isolated(variant: str, level: str, requests: int = 5000, rounds: int = 7) -> float:
    """us per request of Observe (as `variant` and the log `level` say) around an app that
    notes an operation and a caller and answers 200 at once; `bare`: that app alone."""
    import asyncio
    import logging

    from registry.web import observe

    observe.configure_logging(level, "json")
    sink = open(tempfile.mktemp(), "w")  # noqa: SIM115 - for the whole run
    for handler in logging.getLogger().handlers:
        handler.setStream(sink)

    async def inner(scope, receive, send):
        observe.note_operation("show_object")
        observe.note_caller("user@example.edu")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def send(message):
        pass

    async def receive():
        return {"type": "http.request"}

    app = inner if variant == "bare" else observe.Observe(inner, metrics=variant == "metrics")
    headers = [(b"host", b"x"), (b"x-pharos-api-user", b"u@e.edu"), (b"x-pharos-api-key", b"k")]

    async def run() -> float:
        best = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(requests):
                scope = {"type": "http", "method": "GET", "path": "/x", "headers": headers}
                await app(scope, receive, send)
            best = min(best, (time.perf_counter() - started) / requests * 1e6)
        return best

    return asyncio.run(run())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--isolated", action="store_true", help="Observe alone (see above)")
    parser.add_argument("--level", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant and args.level:
        print(json.dumps(isolated(args.variant, args.level)))
        return 0
    if args.isolated:
        for variant, level, multiprocess in ISOLATED:
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            with tempfile.TemporaryDirectory() as metrics_dir:
                if multiprocess:
                    env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
                out = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.observe_cost",
                        "--variant",
                        variant,
                        "--level",
                        level,
                    ],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            cost = json.loads(out.strip().splitlines()[-1])
            print(f"{variant:<8} log {level:<8} multiprocess {multiprocess!s:<6} {cost:6.1f} us")
        return 0
    if args.variant:
        print(
            json.dumps(measure(args.variant, args.database, args.key, args.requests, args.rounds))
        )
        return 0
    with tempfile.TemporaryDirectory(prefix="observe-cost-") as work:
        database = Path(work) / "demo.db"
        key = subprocess.run(
            [
                sys.executable,
                "-c",
                f"from bench.observe_cost import prepare; "
                f"print(prepare(__import__('pathlib').Path({str(database)!r})))",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        results = {}
        for variant in VARIANTS:
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            metrics_dir = None
            if variant == "multiprocess":
                metrics_dir = tempfile.mkdtemp(dir=work)
                env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.observe_cost",
                    "--variant",
                    variant,
                    "--database",
                    str(database),
                    "--key",
                    key,
                    "--requests",
                    str(args.requests),
                    "--rounds",
                    str(args.rounds),
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            results[variant] = json.loads(out.strip().splitlines()[-1])
    print(f"{'variant':<14}" + "".join(f"{path:>48}" for path in PATHS))
    for variant, by_path in results.items():
        cells = "".join(
            f"{a:>18.1f} -> {b:>7.1f} us ({(b / a - 1) * 100:+5.1f} %)"
            for a, b in (by_path[p] for p in PATHS)
        )
        print(f"{variant:<14}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
