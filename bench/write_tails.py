"""Every write scenario at 32 connections against one `registry serve`: p50, p99, their ratio.

    python -m bench.write_tails [--objects 100000] [--workers 2] [--rounds 3] [--seconds 3]
        [--scenario "restore request" ...] [--batch-connections 32] [--batches-each 1]

The write scenarios of `make bench` (bench/writes.py) alone, on an existing SQLite or
PostgreSQL data set (`--database-url`, default SQLite under var/bench/), for measuring a change
to the write path without the read scenarios: issue 20's write tails. The 10,000-file batches
run last, all connections at once (`--batch-connections 0` leaves them out).
"""

from __future__ import annotations

import argparse
import json

from bench import servers, writes
from bench.databases import scaled_url
from bench.generate import DataSet, ensure
from bench.inventory import free_port


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--files-per-object", type=int, default=3)
    parser.add_argument("--database-url", default="sqlite:///")
    parser.add_argument(
        "--as-is",
        action="store_true",
        help="use --database-url as given, not the data set's own database beside it",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--scenario", action="append", choices=sorted(writes.SCENARIOS))
    parser.add_argument("--batch-connections", type=int, default=32)
    parser.add_argument("--batches-each", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args(argv)
    ds = DataSet(args.objects, args.files_per_object, 4, 1)
    url = args.database_url
    if not args.as_is:
        url = scaled_url(url, ds.objects, ds.files_per_object)
    ensure(url, ds)
    server = servers.start_registry(url, free_port(), args.workers)
    load = {
        "rounds": args.rounds,
        "seconds": args.seconds,
        "connections": args.connections,
        "threads": 2,
    }
    results = {}
    try:
        servers.wait_ready(server, "/livez")
        for name in args.scenario or writes.SCENARIOS:
            found = results[name] = writes.SCENARIOS[name](server, url, ds, **load)
            print(_line(f"{name}s, {args.connections} connections", found, args.rounds))
        if args.batch_connections:
            found = writes.batch_tails(
                server,
                url,
                ds,
                connections=args.batch_connections,
                batches_each=args.batches_each,
            )
            results["batch create"] = found
            print(
                _line(f"10,000-file batches, {args.batch_connections} at once", found, None)
                + f", {found['files_per_second']:,.0f} files/s stored, statuses "
                f"{found['statuses']}"
            )
    finally:
        server.stop()
    if args.json:
        print(json.dumps(results))


def _line(what: str, found: dict, rounds: int | None) -> str:
    rate = f"{found['rps']:.0f} req/s, " if "rps" in found else ""
    medians = f" (medians of {rounds} rounds)" if rounds else ""
    return (
        f"{what}: {rate}p50 {found['p50_ms']:.1f} ms, p99 {found['p99_ms']:.1f} ms, "
        f"p99/p50 {found['p99_ms'] / found['p50_ms']:.2f}, errors {found['errors']} of "
        f"{found['requests']}{medians}"
    )


if __name__ == "__main__":
    main()
