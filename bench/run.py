"""One benchmark run: per data-set size, Registry and the floor side by side, interleaved.

For each size: make sure the data set exists (bench.generate), capture Registry's SQL for each
scenario (bench.capture, in a process of its own), start Registry and the floor, check that both
answer each scenario with the same bytes, then per scenario warm both up and measure them in
turns, A B A B ..., each turn a bounded wrk run. The ratio is taken per pair (Registry's req/s
over the floor's in the adjacent turn) so that the load of the rest of the machine, which drifts,
cancels out as far as it can; the report shows medians over the pairs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from bench import coldstart, log_cost, profile, servers, writes, wrk
from bench.databases import backend_name, scaled_url, warm_page_cache
from bench.generate import DataSet, ensure
from bench.scenarios import caller_headers

PROFILED = ("list objects", "show object")


@dataclass
class Config:
    base_url: str
    scales: list[int]
    files_per_object: int = 3
    institutions: int = 4
    seed: int = 1
    seconds: float = 10.0
    rounds: int = 5
    warmup: float = 3.0
    connections: int = 32
    threads: int = 2
    workers: int = 2
    registry_port: int = 8108
    floor_port: int = 8118
    profile: bool = True
    profile_seconds: float = 8.0
    log_cost: bool = True
    writes: bool = True
    batch_repeats: int = 3
    cold_start_repeats: int = 3
    label: str = ""
    extra: dict = field(default_factory=dict)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _capture(url: str, ds: DataSet, plan: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.capture",
            url,
            str(plan),
            "--objects",
            str(ds.objects),
            "--files-per-object",
            str(ds.files_per_object),
            "--institutions",
            str(ds.institutions),
            "--seed",
            str(ds.seed),
        ],
        check=True,
    )


def _same_bytes(
    registry: servers.Server, floor: servers.Server, path: str, headers: dict
) -> tuple[bool, str]:
    a = httpx.get(registry.base + path, headers=headers, timeout=30)
    b = httpx.get(floor.base + path, headers=headers, timeout=30)
    if a.status_code != 200 or b.status_code != 200:
        return False, f"status Registry {a.status_code}, floor {b.status_code}"
    if a.content != b.content:
        # Not strict: the bodies may differ in length; then the default names the shorter's end.
        at = next(
            (i for i, (x, y) in enumerate(zip(a.content, b.content, strict=False)) if x != y),
            min(len(a.content), len(b.content)),
        )
        return False, (
            f"bodies differ at byte {at}: Registry {a.content[at - 40 : at + 40]!r} "
            f"floor {b.content[at - 40 : at + 40]!r}"
        )
    return True, f"{len(a.content)} bytes, identical"


def _median(values) -> float:
    return statistics.median(values)


def _compare(config: Config, registry, floor, scenario: dict, headers: dict) -> dict:
    def measure(server, seconds):
        return wrk.run(
            server.base + scenario["path"],
            headers,
            seconds=seconds,
            connections=config.connections,
            threads=config.threads,
        )

    measure(registry, config.warmup)
    measure(floor, config.warmup)
    pairs = []
    for _ in range(config.rounds):
        a = measure(registry, config.seconds)
        b = measure(floor, config.seconds)
        pairs.append(
            {"registry": a.as_row(), "floor": b.as_row(), "ratio": a.rps / b.rps if b.rps else 0.0}
        )
    out = {"pairs": pairs, "ratio": _median(p["ratio"] for p in pairs)}
    for side in ("registry", "floor"):
        rows = [p[side] for p in pairs]
        out[side] = {k: _median(r[k] for r in rows) for k in ("rps", "p50_ms", "p99_ms")}
        out[side]["errors"] = sum(r["errors"] for r in rows)
    return out


def _profile(config: Config, registry, scenario: dict, headers: dict, workdir: Path) -> dict:
    pid = registry.worker_pids()[0]
    raw = workdir / f"profile-{scenario['name'].replace(' ', '-')}.txt"
    recorder = profile.start(pid, config.profile_seconds, raw)
    time.sleep(0.5)
    wrk.run(
        registry.base + scenario["path"],
        headers,
        seconds=config.profile_seconds,
        connections=config.connections,
        threads=config.threads,
    )
    _, err = recorder.communicate(timeout=config.profile_seconds + 60)
    if recorder.returncode != 0 or not raw.exists():
        return {"error": err.decode(errors="replace")[-500:]}
    return profile.top(raw)


def _request_log_cost(config: Config, registry, url: str, scenarios: list, headers: dict) -> dict:
    """The shows against a second Registry without its request log, on the floor's port."""
    quiet = servers.start_registry(url, config.floor_port, config.workers, request_log=False)
    try:
        servers.wait_ready(quiet, "/openapi.json")
        costs = {}
        for scenario in scenarios:
            if scenario["group"] != "show":
                continue
            log(f"the request log's cost to {scenario['name']!r}")
            costs[scenario["name"]] = log_cost.measure(
                registry,
                quiet,
                scenario["path"],
                headers,
                rounds=2 * config.rounds,  # a few per cent to tell apart: more pairs
                seconds=config.seconds,
                warmup=config.warmup,
                connections=config.connections,
                threads=config.threads,
            )
        return costs
    finally:
        quiet.stop()


def _guarded(result: dict, key: str, measure) -> None:
    """A failed write scenario is reported as failed; it does not lose the reads measured."""
    try:
        result[key] = measure()
    except Exception as exc:  # noqa: BLE001 - any failure is reported, with its message
        log(f"{key} failed: {exc!r}")
        result[f"{key}_error"] = repr(exc)[:500]


def run_scale(config: Config, objects: int, workdir: Path, *, last: bool) -> dict:
    ds = DataSet(objects, config.files_per_object, config.institutions, config.seed)
    url = scaled_url(config.base_url, objects, config.files_per_object)
    generated = ensure(url, ds, progress=log)
    plan_path = workdir / f"plan-{objects}.json"
    _capture(url, ds, plan_path)
    plan = json.loads(plan_path.read_text())
    headers = caller_headers(ds)
    result = {
        "objects": objects,
        "files_per_object": config.files_per_object,
        "database_url": url,
        "generate_seconds": generated,
        "scenarios": [],
        "profiles": {},
    }
    warm_page_cache(url)
    registry = servers.start_registry(url, config.registry_port, config.workers)
    floor = servers.start_floor(str(plan_path), config.floor_port, config.workers)
    try:
        servers.wait_ready(registry, "/openapi.json")
        servers.wait_ready(floor, plan["scenarios"][0]["path"], headers)
        for scenario in plan["scenarios"]:
            same, note = _same_bytes(registry, floor, scenario["path"], headers)
            entry = {
                "name": scenario["name"],
                "group": scenario["group"],
                "path": scenario["path"],
                "body_match": same,
                "body_note": note,
            }
            log(f"{objects:,} objects: {scenario['name']}: {note}")
            if same:
                entry.update(_compare(config, registry, floor, scenario, headers))
                log(
                    f"  Registry {entry['registry']['rps']:.0f} req/s, floor "
                    f"{entry['floor']['rps']:.0f} req/s, ratio {entry['ratio']:.2f}"
                )
            result["scenarios"].append(entry)
        if last and config.profile:
            for scenario in plan["scenarios"]:
                if scenario["name"] in PROFILED:
                    log(f"profiling a Registry worker under {scenario['name']!r}")
                    result["profiles"][scenario["name"]] = _profile(
                        config, registry, scenario, headers, workdir
                    )
        floor.stop()
        if last and config.log_cost:
            _guarded(
                result,
                "request_log",
                lambda: _request_log_cost(config, registry, url, plan["scenarios"], headers),
            )
        if last and config.writes:
            load = {
                "rounds": config.rounds,
                "seconds": config.seconds,
                "connections": config.connections,
                "threads": config.threads,
            }
            result["writes"] = {}
            for name, scenario in writes.SCENARIOS.items():
                log(f"{name}s (Registry only)")
                _guarded(
                    result["writes"],
                    name,
                    lambda scenario=scenario: scenario(registry, url, ds, **load),
                )
            log("10,000-file batch create (Registry only)")
            _guarded(
                result,
                "batch",
                lambda: writes.batch_create(registry, url, ds, repeats=config.batch_repeats),
            )
            log(f"10,000-file batch creates, {config.connections} at once (Registry only)")
            _guarded(
                result["writes"],
                "batch create",
                lambda: writes.batch_tails(
                    registry, url, ds, connections=config.connections, batches_each=1
                ),
            )
    finally:
        registry.stop()
        floor.stop()
    return result


def run(config: Config) -> dict:
    wrk.require_wrk()
    started = dt.datetime.now(dt.UTC)
    report = {
        "backend": backend_name(config.base_url),
        "started": started.isoformat(timespec="seconds"),
        "config": asdict(config),
        "machine": _machine(),
        "scales": [],
    }
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        workdir = Path(tmp)
        for i, objects in enumerate(config.scales):
            report["scales"].append(
                run_scale(config, objects, workdir, last=i == len(config.scales) - 1)
            )
        if config.cold_start_repeats:
            log("cold start: Registry against a bare Connexion app")
            report["cold_start"] = coldstart.measure(
                report["scales"][0]["database_url"],
                config.registry_port,
                config.workers,
                config.cold_start_repeats,
            )
    report["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    report["machine"]["load_after"] = os.getloadavg()
    return report


def _machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "python": sys.version.split()[0],
        "commit": _commit(),
    }


def _commit() -> str | None:
    """The commit measured, with `+changes` when the work tree differed from it (results
    files aside: a run rewrites them)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=servers.ROOT,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)bench/results",
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=servers.ROOT,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if dirty.strip() else "")
