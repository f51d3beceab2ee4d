"""`python -m bench.rate_limit_ab`: Registry with rate limiting on against Registry with it off.

What the rate limiter costs (issue 15, item 6), measured without the floor: two Registry
servers on one data set, the same `registry serve --workers 2` command, one with
REGISTRY_RATE_LIMIT=on (in-process counters, budgets the load never spends:
bench.servers.RATE_LIMIT_BUDGETS) and one with it off, measured by wrk in short alternating
turns (on, off, off, on, ...), so that the rest of the machine's load falls on both alike.
Prints, per scenario, the median on/off throughput ratio of the turns. Uses the data sets of
`make bench` (generated if missing).
"""

from __future__ import annotations

import argparse
import os
import statistics

import httpx

from bench import servers, wrk
from bench.databases import scaled_url
from bench.generate import DataSet, ensure, object_identifier
from bench.run import log
from bench.scenarios import caller_headers, middle_object, scenarios

SCENARIOS = ("list objects", "show object")


def _start(url: str, port: int, workers: int, mode: str) -> servers.Server:
    saved = os.environ.get("REGISTRY_RATE_LIMIT")
    os.environ["REGISTRY_RATE_LIMIT"] = mode
    try:
        return servers.start_registry(url, port, workers)
    finally:
        if saved is None:
            del os.environ["REGISTRY_RATE_LIMIT"]
        else:
            os.environ["REGISTRY_RATE_LIMIT"] = saved


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rate_limit_ab", description=__doc__)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=12, help="turns of each server")
    parser.add_argument("--seconds", type=int, default=2)
    args = parser.parse_args(argv)
    ds = DataSet(args.objects, 3)
    url = scaled_url(os.environ.get("DATABASE_URL") or "sqlite:///", args.objects, 3)
    ensure(url, ds, progress=log)
    headers = caller_headers(ds)
    on = _start(url, 8208, 2, "on")
    off = _start(url, 8218, 2, "off")
    try:
        for server in (on, off):
            servers.wait_ready(server, "/openapi.json")
        middle = object_identifier(ds, middle_object(ds))
        shown = httpx.get(f"{on.base}/member-api/v3/objects/show/{middle}", headers=headers)
        shown.raise_for_status()
        assert "ratelimit" in shown.headers, "rate limiting is not on"
        assert (
            "ratelimit"
            not in httpx.get(
                f"{off.base}/member-api/v3/objects/show/{middle}", headers=headers
            ).headers
        )
        chosen = [s for s in scenarios(ds, shown.json()["id"]) if s.name in SCENARIOS]
        for scenario in chosen:
            ratios, errors = [], 0
            for turn in range(args.turns):
                rps = {}
                for mode, server in (
                    (("on", on), ("off", off)) if turn % 2 == 0 else (("off", off), ("on", on))
                ):
                    measured = wrk.run(
                        server.base + scenario.path,
                        headers,
                        seconds=args.seconds,
                        connections=32,
                        threads=2,
                    )
                    rps[mode] = measured.rps
                    errors += measured.errors
                ratios.append(rps["on"] / rps["off"])
            quartiles = statistics.quantiles(ratios, n=4)
            log(
                f"{args.objects:,} objects, {scenario.name}: on/off throughput, median of "
                f"{len(ratios)} turn pairs {statistics.median(ratios):.3f} (quartiles "
                f"{quartiles[0]:.3f}-{quartiles[2]:.3f}); wrk errors {errors}"
            )
    finally:
        on.stop()
        off.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
