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
