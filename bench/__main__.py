"""`python -m bench`: the benchmark of README's "Benchmarks" section (`make bench`).

Profiles:
  --quick   10 k and 100 k objects, 3 s turns, 3 pairs (`make bench`): a few minutes.
  (default) 10 k and 100 k objects, 10 s turns, 5 pairs (`make bench-full`).
  --scale   10 k, 100 k and 1 M objects, 10 s turns, 5 pairs (`make bench-scale`); 10 files
            per object on PostgreSQL (10 M files at 1 M objects), 3 on SQLite.
The backend is DATABASE_URL (default SQLite); each size gets its own database, generated once.
"""

from __future__ import annotations

import argparse
import os
import sys

from bench import report as results
from bench.run import Config, log, run


def build_config(args) -> Config:
    base_url = args.database_url or os.environ.get("DATABASE_URL") or "sqlite:///"
    postgres = base_url.startswith(("postgres://", "postgresql://"))
    if args.scale:
        config = Config(
            base_url,
            [10_000, 100_000, 1_000_000],
            files_per_object=10 if postgres else 3,
            label="scale",
        )
    elif args.quick:
        config = Config(
            base_url,
            [10_000, 100_000],
            seconds=3,
            rounds=3,
            warmup=1,
            profile_seconds=6,
            batch_repeats=2,
            cold_start_repeats=3,
            label="quick",
        )
    else:
        config = Config(base_url, [10_000, 100_000])
    for name in (
        "seconds",
        "rounds",
        "warmup",
        "connections",
        "threads",
        "workers",
        "files_per_object",
        "registry_port",
        "floor_port",
        "profile_seconds",
    ):
        value = getattr(args, name)
        if value is not None:
            setattr(config, name, value)
    if args.objects:
        config.scales = [int(x) for x in args.objects.split(",")]
    if args.no_profile:
        config.profile = False
    if args.no_writes:
        config.writes = False
    if args.no_cold_start:
        config.cold_start_repeats = 0
    if args.label is not None:
        config.label = args.label
    return config


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    profile = parser.add_mutually_exclusive_group()
    profile.add_argument("--quick", action="store_true")
    profile.add_argument("--scale", action="store_true")
    parser.add_argument("--database-url", help="default: DATABASE_URL, else SQLite")
    parser.add_argument("--objects", help="comma-separated data-set sizes, e.g. 10000,100000")
    parser.add_argument("--files-per-object", type=int)
    parser.add_argument(
        "--seconds", type=int, help="length of each measured turn, in whole seconds (wrk's unit)"
    )
    parser.add_argument("--rounds", type=int, help="Registry/floor pairs per scenario")
    parser.add_argument("--warmup", type=int, help="warm-up of each app, in whole seconds")
    parser.add_argument("--connections", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--workers", type=int, help="gunicorn workers of each app")
    parser.add_argument("--registry-port", type=int)
    parser.add_argument("--floor-port", type=int)
    parser.add_argument("--no-profile", action="store_true", help="skip py-spy")
    parser.add_argument("--profile-seconds", type=float)
    parser.add_argument("--no-writes", action="store_true", help="skip restore and batch")
    parser.add_argument("--no-cold-start", action="store_true")
    parser.add_argument("--label", help="suffix of the results file name")
    parser.add_argument("--notes", help="a file whose text goes under the results' Notes")
    args = parser.parse_args(argv)
    config = build_config(args)
    log(f"{config.label or 'default'} profile on {config.base_url}: sizes {config.scales}")
    report = run(config)
    log(f"raw numbers written to {results.write_json(report)}")
    notes = open(args.notes, encoding="utf-8").read() if args.notes else ""
    path = results.write(report, notes)
    print(results.markdown(report, notes))
    log(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
