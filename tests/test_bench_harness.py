"""The benchmark's harness still measures what it claims to, on both backends: its floor
answers what Registry answers, and its write scenarios succeed and clean up after themselves.

`make bench` refuses to time a scenario whose floor body differs from Registry's, but nothing
ran it between benchmark runs: twice a change to the read path (the list engine's cache became
an LRU; PostgreSQL lists became one statement) broke the harness unnoticed until the next
measurement. Here a small data set is generated and its plan captured (as the harness does, in
subprocesses), and the floor app answers every scenario of the plan in-process with the bytes
Registry answered. The write scenarios run briefly through wrk against a served Registry.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.postgres import IN_CI, scratch_database

ROOT = Path(__file__).resolve().parent.parent
OBJECTS, FILES_PER_OBJECT, INSTITUTIONS = 40, 2, 4


def _run(*argv: str) -> str:
    """`python -m argv...` in the project, what it printed (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_floor_answers_every_scenario_with_registrys_bytes(backend, tmp_path):
    size = ["--objects", str(OBJECTS), "--files-per-object", str(FILES_PER_OBJECT)]
    size += ["--institutions", str(INSTITUTIONS)]
    with scratch_database(backend, tmp_path) as url:
        _run("bench.generate", "--database-url", url, *size)
        plan_path = tmp_path / "plan.json"
        _run("bench.capture", url, str(plan_path), *size)
        plan = json.loads(plan_path.read_text())
        answers = asyncio.run(_ask_the_floor(plan))
    assert [name for name, _, _ in answers] == [s["name"] for s in plan["scenarios"]]
    assert len(answers) == 6
    for (name, status, body), scenario in zip(answers, plan["scenarios"], strict=True):
        assert status == 200, (name, body[:300])
        assert body == scenario["registry_body"].encode(), name


async def _ask_the_floor(plan: dict) -> list[tuple[str, int, bytes]]:
    from bench.floor import Floor
    from bench.generate import DataSet
    from bench.scenarios import caller_headers

    floor = Floor(plan)
    headers = caller_headers(DataSet(OBJECTS, FILES_PER_OBJECT, INSTITUTIONS, 1))
    answers = []
    try:
        transport = httpx.ASGITransport(app=floor)
        async with httpx.AsyncClient(transport=transport, base_url="http://floor") as http:
            for scenario in plan["scenarios"]:
                answer = await http.get(scenario["path"], headers=headers)
                answers.append((scenario["name"], answer.status_code, answer.content))
    finally:
        if floor.pool is not None:
            await floor.pool.close()
        if floor.conn is not None:
            floor.conn.close()
    return answers


WRITE_OBJECTS = 4000  # 1,000 an institution: a round of 1 s never asks twice for one object
COUNTED = [
    "intellectual_objects",
    "generic_files",
    "checksums",
    "storage_records",
    "premis_events",
    "work_items",
    "deletion_requests",
    "deletion_requests_intellectual_objects",
    "alerts",
    "alerts_users",
    "users",
    "api_keys",
]
TALLIED = {
    "intellectual_objects": "intellectual_objects_counts",
    "generic_files": "generic_files_counts",
}


def _rows(url: str) -> dict[str, int]:
    """Row counts of the tables the write scenarios touch, and the tallies' sums of two."""
    statements = {table: f"SELECT COUNT(*) FROM {table}" for table in COUNTED}
    statements |= {
        f"{table} tally": f"SELECT SUM(n) FROM {tally}" for table, tally in TALLIED.items()
    }
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            return {name: conn.execute(sql).fetchone()[0] for name, sql in statements.items()}
    import psycopg

    with psycopg.connect(url) as conn:
        return {name: conn.execute(sql).fetchone()[0] for name, sql in statements.items()}


def test_the_write_scenarios_succeed_and_leave_the_data_set_as_found(backend, tmp_path):
    """Every write scenario of `make bench` answers 2xx to each request it sends, and deletes
    all it made: a scenario that left rows behind (requests still in flight when wrk stopped
    landed after the clean-up) would skew the next scenario and every later run."""
    if shutil.which("wrk") is None:
        message = "wrk is not installed: `make wrk` (CI runs it before `make test`)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    size = ["--objects", str(WRITE_OBJECTS), "--files-per-object", "1"]
    with scratch_database(backend, tmp_path) as url:
        _run("bench.generate", "--database-url", url, *size)
        before = _rows(url)
        assert before["intellectual_objects"] == before["intellectual_objects tally"]
        printed = _run(
            "bench.write_tails",
            "--database-url",
            url,
            "--as-is",
            *size,
            "--rounds",
            "1",
            "--seconds",
            "1",
            "--connections",
            "32",
            "--batch-connections",
            "2",
            "--json",
        )
        results = json.loads(printed.splitlines()[-1])
        after = _rows(url)
    assert sorted(results) == sorted(
        ["restore request", "deletion request", "object create", "file create", "batch create"]
    )
    for name, found in results.items():
        assert found["requests"] > 0, name
        assert found["errors"] == 0, (name, found)
        assert 0 < found["p50_ms"] <= found["p99_ms"], (name, found)
    assert after == before


def test_the_request_log_cost_is_registry_with_its_line_against_registry_without(tmp_path):
    """`make bench`'s request-log cost (bench/log_cost.py): the two servers differ in the line
    per request, and each turn counts the CPU of its own server's workers."""
    if shutil.which("wrk") is None:
        message = "wrk is not installed: `make wrk` (CI runs it before `make test`)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from bench import log_cost, report, servers
    from bench.generate import DataSet, ensure
    from bench.inventory import free_port
    from bench.scenarios import caller_headers

    ds = DataSet(OBJECTS, FILES_PER_OBJECT, INSTITUTIONS, 1)
    url = f"sqlite:///{tmp_path / 'log-cost.db'}"
    ensure(url, ds, progress=lambda _: None)
    logged = servers.start_registry(url, free_port(), 1)
    quiet = servers.start_registry(url, free_port(), 1, request_log=False)
    logs = {s.name: servers.LOG_DIR / f"{s.name}-{s.port}.log" for s in (logged, quiet)}
    try:
        for server in (logged, quiet):
            servers.wait_ready(server, "/livez")
        sizes = {name: path.stat().st_size for name, path in logs.items()}
        found = log_cost.measure(
            logged,
            quiet,
            "/member-api/v3/objects/show/1",
            caller_headers(ds),
            rounds=2,
            seconds=1,
            warmup=1,
            connections=4,
            threads=1,
        )
    finally:
        logged.stop()
        quiet.stop()
    written = {
        name: path.read_bytes()[sizes[name] :].decode().count('"logger":"registry.access"')
        for name, path in logs.items()
    }
    served = sum(p["logged"]["requests"] for p in found["pairs"])
    assert written["registry-quiet"] == 0
    assert written["registry"] >= served  # the warm-up's lines besides
    assert found["errors"] == 0
    for pair in found["pairs"]:
        for side in ("logged", "quiet"):
            assert pair[side]["requests"] > 0 and pair[side]["cpu_us"] > 0, pair
    lines = report.targets(
        {
            "backend": "sqlite",
            "config": {"connections": 4},
            "scales": [{"objects": OBJECTS, "scenarios": [], "request_log": {"show": found}}],
        }
    )
    assert any(line.startswith("- the request log's cost to show ≤ 5%") for line in lines)
