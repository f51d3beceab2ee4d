"""The benchmark's floor still answers what Registry answers, on both backends.

`make bench` refuses to time a scenario whose floor body differs from Registry's, but nothing
ran it between benchmark runs: twice a change to the read path (the list engine's cache became
an LRU; PostgreSQL lists became one statement) broke the harness unnoticed until the next
measurement. Here a small data set is generated and its plan captured (as the harness does, in
subprocesses), and the floor app answers every scenario of the plan in-process with the bytes
Registry answered.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx
import pytest

from tests.postgres import PG_URL, postgres_problem

ROOT = Path(__file__).resolve().parent.parent
OBJECTS, FILES_PER_OBJECT, INSTITUTIONS = 40, 2, 4


@contextmanager
def bench_database(backend: str, tmp_path):
    """An empty database of its own: the generator empties the database it loads (on
    PostgreSQL it drops the schema `public`), so never the run's."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'bench.db'}"
        return
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)
    import psycopg
    from psycopg import sql

    parsed = urlparse(PG_URL)
    name = f"{parsed.path.lstrip('/')}_bench_{uuid.uuid4().hex[:8]}"  # dropped with the run's
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunparse(parsed._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _run(*argv: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_floor_answers_every_scenario_with_registrys_bytes(backend, tmp_path):
    size = ["--objects", str(OBJECTS), "--files-per-object", str(FILES_PER_OBJECT)]
    size += ["--institutions", str(INSTITUTIONS)]
    with bench_database(backend, tmp_path) as url:
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
