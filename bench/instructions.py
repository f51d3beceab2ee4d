"""`python -m bench.instructions`: instructions per request, counted by Valgrind's cachegrind.

Wall-clock throughput on a shared two-core machine swings by tens of percent from one turn to
the next; an instruction count does not. The app's ASGI callable is driven in-process (no HTTP,
no gunicorn): a warm-up of W requests, then N more, under `valgrind --tool=cachegrind`, once
with N and once with N = 0; the difference over N is what one request costs the app.
`PYTHONHASHSEED=0` keeps dict layouts the same from run to run.

    python -m bench.instructions --path '/member-api/v3/objects/show/5001' [--env K=V ...]

Compare two versions of the code by running it with PYTHONPATH at each checkout (the script
only needs `registry.app.create_app` and `registry.settings.Settings`), or two configurations
with --env (REGISTRY_RATE_LIMIT=off). Uses the data sets of `make bench` (generated if missing)
and their callers' keys; counts reads only (a write would change the data between runs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile

_I_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _drive(path: str, headers: dict[str, str], warmup: int, requests: int) -> None:
    """In the measured process: the app, then warm-up + `requests` GETs of `path`."""
    from registry.app import create_app
    from registry.settings import Settings

    app = create_app(Settings.from_env())
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }

    async def run() -> None:
        statuses = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        for _ in range(warmup + requests):
            await app(dict(scope, headers=list(scope["headers"])), receive, send)
        if any(status != 200 for status in statuses):
            raise SystemExit(f"{path}: statuses {sorted(set(statuses))}")

    asyncio.run(run())


def _count(args, requests: int, env: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cachegrind.out")
        command = [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            f"--cachegrind-out-file={out}",
            sys.executable,
            os.path.abspath(__file__),  # by path: the code measured may be another checkout's
            "--inner",
            json.dumps(
                {
                    "path": args.path,
                    "headers": args.headers,
                    "warmup": args.warmup,
                    "requests": requests,
                }
            ),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        match = _I_REFS.search(done.stderr)
        if done.returncode != 0 or not match:
            raise SystemExit(f"valgrind failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return int(match.group(1).replace(",", ""))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    parser.add_argument(
        "--path", default="/member-api/v3/objects?per_page=20&sort=created_at__desc"
    )
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--env", action="append", default=[], help="K=V for the app")
    parser.add_argument("--code", help="checkout whose registry/ to measure (default: this one's)")
    parser.add_argument(
        "--database-url", help="an existing data set of `make bench`, used as it is"
    )
    args = parser.parse_args(argv)
    if args.inner:
        spec = json.loads(args.inner)
        _drive(spec["path"], spec["headers"], spec["warmup"], spec["requests"])
        return

    from bench.databases import scaled_url
    from bench.generate import DataSet, ensure
    from bench.scenarios import caller_headers

    ds = DataSet(objects=args.objects, files_per_object=3)
    url = args.database_url
    if not url:
        url = scaled_url(os.environ.get("DATABASE_URL") or "", ds.objects, ds.files_per_object)
        ensure(url, ds, progress=lambda *_: None)
    args.headers = caller_headers(ds)
    env = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "DATABASE_URL": url,
        "REGISTRY_VALIDATE_RESPONSES": "false",
        "REGISTRY_LOG_LEVEL": "warning",
        **dict(item.split("=", 1) for item in args.env),
    }
    if args.code:
        env["PYTHONPATH"] = os.path.abspath(args.code)
    base = _count(args, 0, env)
    total = _count(args, args.requests, env)
    per_request = (total - base) / args.requests
    print(
        json.dumps(
            {
                "path": args.path,
                "env": args.env,
                "code": args.code,
                "requests": args.requests,
                "instructions_per_request": round(per_request),
            }
        )
    )


if __name__ == "__main__":
    main()
