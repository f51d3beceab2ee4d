"""A live `registry serve --workers 2` (gunicorn, uvicorn workers, --preload) on a database of
its own, for the tests that need real HTTP or real worker processes: a chunked request body as
a socket carries it, two processes writing to one SQLite file, kept PostgreSQL connections in
worker processes.

The database is migrated, seeded with the demo data and given keys by a child process (the test
process's own database handle is bound to the session's database), then the server is started
on a free port and waited for. `stop` ends the server (its process group) and drops a
PostgreSQL database it was given.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
# The demo users whose keys the tests use, by the names tests give them.
USERS = {
    "sysadmin": "admin@aptrust.org",
    "inst_admin": "admin@example.edu",
    "inst_user": "user@example.edu",
}

# Migrates and seeds a fresh database, then prints the API keys of the users named in argv[2]
# (a JSON object name -> e-mail). Also run by the fault suite (faults/suite.py).
PREPARE = """
import json, sys
from models.storage.db import connection, init_database
from models.storage.migrations import migrate
from models.user import User, issue_key
from registry.seed.demo import seed_demo
init_database(sys.argv[1], pool_size=1)
with connection():
    migrate()
    seed_demo()
    keys = {name: issue_key(User.get(User.email == email))
            for name, email in json.loads(sys.argv[2]).items()}
print(json.dumps(keys))
"""


@dataclass
class LiveServer:
    base: str
    database_url: str
    process: subprocess.Popen
    keys: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None

    def headers(self, user: str) -> dict:
        return {"X-Pharos-API-User": USERS[user], "X-Pharos-API-Key": self.keys[user]}

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=120, **kwargs)

    @property
    def port(self) -> int:
        return urlsplit(self.base).port

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fresh_postgres_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_postgres_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def start(database_url: str, log_dir: Path, env: dict | None = None) -> LiveServer:
    """Prepare `database_url` (a fresh PostgreSQL database, or an SQLite file not there yet)
    and serve it with two workers; raises if the server does not answer within a minute."""
    if database_url.startswith("postgres"):
        fresh_postgres_database(database_url)
    environment = {**os.environ, "DATABASE_URL": database_url, **(env or {})}
    prepared = subprocess.run(
        [sys.executable, "-c", PREPARE, database_url, json.dumps(USERS)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    keys = json.loads(prepared.stdout.strip().splitlines()[-1])
    return serve(database_url, log_dir, env, keys)


def serve(
    database_url: str, log_dir: Path, env: dict | None = None, keys: dict | None = None
) -> LiveServer:
    """Serve a prepared database (another server's, for two servers on one database) with two
    workers; raises if the server does not answer within a minute."""
    environment = {**os.environ, "DATABASE_URL": database_url, **(env or {})}
    port = free_port()
    log_path = log_dir / f"server-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "registry.cli",
                "serve",
                "--workers",
                "2",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(
        f"http://127.0.0.1:{port}", database_url, process, dict(keys or {}), log_path
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{server.log()}")
        try:
            if httpx.get(f"{server.base}/openapi.json", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(server)
    raise RuntimeError(f"the server did not answer within a minute:\n{server.log()}")


def stop(server: LiveServer) -> None:
    """End the server's process group (gunicorn and its workers), then drop a PostgreSQL
    database it served."""
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=30)
    if server.database_url.startswith("postgres"):
        drop_postgres_database(server.database_url)
