"""Restore requests at 32 connections against one `registry serve`: p50, p99 and their ratio.

    python -m bench.write_tails [--objects 100000] [--workers 2] [--rounds 3] [--seconds 3]

The restore scenario of `make bench` (bench/writes.py) alone, on an existing SQLite or
PostgreSQL data set (`--database-url`, default SQLite under var/bench/), for measuring a change
to the write path without the read scenarios: issue 20's write tails.
"""

from __future__ import annotations

import argparse

from bench import servers, writes
from bench.databases import scaled_url
from bench.generate import DataSet, ensure
from bench.inventory import free_port
from bench.scenarios import caller_headers


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--files-per-object", type=int, default=3)
    parser.add_argument("--database-url", default="sqlite:///")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    ds = DataSet(args.objects, args.files_per_object, 4, 1)
    url = scaled_url(args.database_url, ds.objects, ds.files_per_object)
    ensure(url, ds)
    server = servers.start_registry(url, free_port(), args.workers)
    try:
        servers.wait_ready(server, "/livez")
        found = writes.restore(
            server,
            url,
            ds,
            caller_headers(ds),
            rounds=args.rounds,
            seconds=args.seconds,
            connections=args.connections,
            threads=2,
        )
    finally:
        server.stop()
    print(
        f"restore requests, {args.connections} connections, {args.workers} workers: "
        f"{found['rps']:.0f} req/s, p50 {found['p50_ms']:.1f} ms, p99 {found['p99_ms']:.1f} ms, "
        f"p99/p50 {found['p99_ms'] / found['p50_ms']:.2f}, errors {found['errors']} of "
        f"{found['requests']} (medians of {args.rounds} rounds)"
    )


if __name__ == "__main__":
    main()
