"""PostgreSQL reads on psycopg's async connections against the same reads through a thread hop.

    python -m bench.db_hop [--objects 100000] [--database-url postgresql://...] [--rounds 3]

Registry's handlers run their (sync Peewee) queries in a database thread, one pooled connection
each, and await the thread (registry/web/threads.py). The alternative issue 20 asked about is
to await the driver on the event loop, on psycopg's async connections. Two floors
(bench/floor.py) answer the same scenarios with the same statements and the same bytes: one
awaits an AsyncConnectionPool on the loop, the other (BENCH_FLOOR_HOP=1) runs each request's
statements in a thread of its own pool, each thread holding a connection of a sync
ConnectionPool, as Registry does. Measured in alternating turns with wrk at 32 connections:
req/s, p50, p99 of each, for each scenario of the harness's plan.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from bench import servers, wrk
from bench.databases import scaled_url
from bench.generate import DataSet, ensure
from bench.inventory import free_port
from bench.run import _capture
from bench.scenarios import caller_headers

SIDES = ("async", "hop")


def _start(plan: Path, hop: bool, workers: int) -> servers.Server:
    port = free_port()
    env = {"BENCH_FLOOR_PLAN": str(plan), "BENCH_FLOOR_HOP": "1" if hop else ""}
    argv = servers.gunicorn_argv("bench.floor:create_app()", port, workers)
    return servers.launch(f"floor-{'hop' if hop else 'async'}", argv, env, port)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--files-per-object", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/bench")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    ds = DataSet(args.objects, args.files_per_object, 4, 1)
    url = scaled_url(args.database_url, ds.objects, ds.files_per_object)
    if not url.startswith("postgresql"):
        raise SystemExit("bench.db_hop compares PostgreSQL drivers: give a postgresql:// URL")
    ensure(url, ds)
    headers = caller_headers(ds)
    with tempfile.TemporaryDirectory() as workdir:
        plan = Path(workdir) / "plan.json"
        _capture(url, ds, plan)
        scenarios = json.loads(plan.read_text())["scenarios"]
        floors = {side: _start(plan, side == "hop", args.workers) for side in SIDES}
        try:
            for floor in floors.values():
                servers.wait_ready(floor, scenarios[0]["path"], headers)
            print(
                f"{args.objects:,} objects, {args.connections} connections, "
                f"{args.workers} workers, medians of {args.rounds} turns of {args.seconds:g} s"
            )
            print(
                "| scenario | async req/s | hop req/s | hop/async | async p50 / p99 ms | "
                "hop p50 / p99 ms |"
            )
            print("|---|---:|---:|---:|---:|---:|")
            for scenario in scenarios:
                runs = {side: [] for side in SIDES}
                for turn in range(args.rounds + 1):  # the first turn warms up
                    for side in SIDES if turn % 2 == 0 else reversed(SIDES):
                        found = wrk.run(
                            floors[side].base + scenario["path"],
                            headers,
                            seconds=args.seconds if turn else 2,
                            connections=args.connections,
                            threads=2,
                        )
                        if turn:
                            runs[side].append(found)
                med = {
                    side: {
                        key: statistics.median(getattr(r, key) for r in runs[side])
                        for key in ("rps", "p50_ms", "p99_ms")
                    }
                    for side in SIDES
                }
                a, h = med["async"], med["hop"]
                print(
                    f"| {scenario['name']} | {a['rps']:.0f} | {h['rps']:.0f} | "
                    f"{h['rps'] / a['rps']:.2f} | {a['p50_ms']:.1f} / {a['p99_ms']:.1f} | "
                    f"{h['p50_ms']:.1f} / {h['p99_ms']:.1f} |",
                    flush=True,
                )
        finally:
            for floor in floors.values():
                floor.stop()


if __name__ == "__main__":
    main()
