"""Where the tests' PostgreSQL is, and whether it answers.

REGISTRY_TEST_DATABASE_URL names a server and a database to connect to; no test writes to that
database. Each test run gets a database of its own beside it, `<database>_run_<pid>_<hex>`,
created when this module is first imported by the run's main process and dropped when the run
ends (`drop_run_database`, called from the root conftest). pytest-xdist workers inherit its URL
through REGISTRY_TEST_RUN_DATABASE_URL, so two runs on one machine (a CI run and a developer's,
two worktrees) never touch each other's data. Databases left by runs whose process is gone are
dropped when the next run starts.
"""

from __future__ import annotations

import os
import secrets
import uuid
from contextlib import contextmanager
from urllib.parse import urlparse, urlunparse

import pytest

SERVER_URL = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"
RUN_URL_ENV = "REGISTRY_TEST_RUN_DATABASE_URL"


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/" + name))


def _database_name(url: str) -> str:
    return urlparse(url).path.lstrip("/") or "postgres"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop_databases(conn, names) -> None:
    from psycopg import sql

    for name in names:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _stale_run_databases(conn, prefix: str) -> list[str]:
    """Run databases (and the databases named after them) whose run's process is gone."""
    stale = []
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
    ).fetchall()
    for (name,) in rows:
        pid = name[len(prefix) :].split("_", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            stale.append(name)
    return stale


def _create_run_database() -> str:
    """A fresh database for this run; the server's URL is left untouched."""
    import psycopg
    from psycopg import sql

    prefix = f"{_database_name(SERVER_URL)}_run_"
    name = f"{prefix}{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=5) as conn:
        _drop_databases(conn, _stale_run_databases(conn, prefix))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_database(SERVER_URL, name)


def _run_url() -> tuple[str, bool]:
    """(this run's database URL, whether this process created it)."""
    inherited = os.environ.get(RUN_URL_ENV)
    if inherited or not SERVER_URL:
        return inherited or "", False
    try:
        url = _create_run_database()
    except Exception:  # noqa: BLE001 - postgres_problem() reports why, where it matters
        return SERVER_URL, False
    os.environ[RUN_URL_ENV] = url
    return url, True


PG_URL, _CREATED_HERE = _run_url()


def drop_run_database() -> None:
    """Drop this run's database and those named after it (`<run>_fixtures`), if this process
    made it. Called once, at the end of the run."""
    global _CREATED_HERE
    if not _CREATED_HERE:
        return
    _CREATED_HERE = False
    import psycopg

    name = _database_name(PG_URL)
    with psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (name,)
        ).fetchall()
        _drop_databases(conn, [row[0] for row in rows])


def postgres_problem() -> str | None:
    """Why the PostgreSQL half cannot run, or None when it can."""
    if not PG_URL:
        return "REGISTRY_TEST_DATABASE_URL is not set"
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the answer
        return f"PostgreSQL at {PG_URL} is unreachable: {exc}"
    return None


@contextmanager
def scratch_database(backend: str, tmp_path):
    """The URL of an empty database of `backend` for one test, dropped afterwards. On
    PostgreSQL a database of its own beside the run's (named after it, so the run's clean-up
    finds one left behind), never a schema of the run's database: what a test there creates or
    drops (an extension, `DROP SCHEMA public`) would reach every other test's tables."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
        return
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)
    import psycopg
    from psycopg import sql

    name = f"{_database_name(PG_URL)}_scratch_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(PG_URL, name)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
