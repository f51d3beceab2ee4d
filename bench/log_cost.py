"""What Registry's request log costs a show: Registry as served against the same Registry with
its log at WARNING (no line per request), everything else equal, in interleaved wrk turns.

Two measures per pair of turns: the workers' CPU time per request answered (user + system,
from /proc, summed over the workers; the load generator's CPU is not in it), and requests per
second. On a machine whose cores the load generator shares with the workers, req/s moves with
whatever else runs, the CPU a request takes much less; the verdict is on the CPU.

`make bench` measures it on its last size (bench/run.py); by itself:

    python -m bench.log_cost [--objects 10000] [--database-url URL] [--rounds 5] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import httpx

from bench import wrk

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of `pids` so far (fields 14 and 15 of /proc/PID/stat)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def _turn(server, path: str, headers: dict, *, seconds, connections, threads) -> dict:
    pids = server.worker_pids()
    before = cpu_seconds(pids)
    m = wrk.run(
        server.base + path, headers, seconds=seconds, connections=connections, threads=threads
    )
    used = cpu_seconds(pids) - before
    return {**m.as_row(), "cpu_us": used / m.requests * 1e6 if m.requests else 0.0}


def measure(
    logged, quiet, path: str, headers: dict, *, rounds, seconds, warmup, connections, threads
) -> dict:
    """`logged` and `quiet`: bench.servers.Server, Registry with and without its request log."""
    load = {"connections": connections, "threads": threads}
    for server in (logged, quiet):
        _turn(server, path, headers, seconds=warmup, **load)
    pairs = []
    for n in range(rounds):
        order = (logged, quiet) if n % 2 == 0 else (quiet, logged)
        turns = {s.name: _turn(s, path, headers, seconds=seconds, **load) for s in order}
        on, off = turns[logged.name], turns[quiet.name]
        pairs.append(
            {
                "logged": on,
                "quiet": off,
                "cpu_ratio": on["cpu_us"] / off["cpu_us"] if off["cpu_us"] else 0.0,
                "rps_ratio": on["rps"] / off["rps"] if off["rps"] else 0.0,
            }
        )
    return {
        "pairs": pairs,
        "cpu_ratio": statistics.median(p["cpu_ratio"] for p in pairs),
        "rps_ratio": statistics.median(p["rps_ratio"] for p in pairs),
        "cpu_us": {
            side: statistics.median(p[side]["cpu_us"] for p in pairs)
            for side in ("logged", "quiet")
        },
        "errors": sum(p[side]["errors"] for p in pairs for side in ("logged", "quiet")),
    }


def main(argv=None) -> int:
    from bench import servers
    from bench.databases import scaled_url
    from bench.generate import DataSet, ensure, object_identifier
    from bench.inventory import free_port
    from bench.scenarios import caller_headers, middle_object, scenarios

    parser = argparse.ArgumentParser(prog="python -m bench.log_cost", description=__doc__)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--files-per-object", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or "sqlite:///")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    ds = DataSet(args.objects, args.files_per_object, 4, 1)
    url = scaled_url(args.database_url, ds.objects, ds.files_per_object)
    ensure(url, ds, progress=lambda m: print(m, file=sys.stderr))
    headers = caller_headers(ds)
    logged = servers.start_registry(url, free_port(), args.workers)
    quiet = servers.start_registry(url, free_port(), args.workers, request_log=False)
    try:
        for server in (logged, quiet):
            servers.wait_ready(server, "/livez")
        shown = httpx.get(
            f"{logged.base}/member-api/v3/objects/show/{object_identifier(ds, middle_object(ds))}",
            headers=headers,
        )
        shown.raise_for_status()
        print("| show | µs a request, with the log | without | CPU | req/s |")
        print("|---|---:|---:|---:|---:|")
        for scenario in scenarios(ds, shown.json()["id"]):
            if scenario.group != "show":
                continue
            found = measure(
                logged,
                quiet,
                scenario.path,
                headers,
                rounds=args.rounds,
                seconds=args.seconds,
                warmup=1,
                connections=args.connections,
                threads=2,
            )
            print(
                f"| {scenario.name} | {found['cpu_us']['logged']:.1f} | "
                f"{found['cpu_us']['quiet']:.1f} | {found['cpu_ratio']:.3f}× | "
                f"{found['rps_ratio']:.3f}× |",
                flush=True,
            )
    finally:
        logged.stop()
        quiet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
