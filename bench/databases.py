"""One benchmark database per data-set size, derived from the backend URL the run was given.

Generating a million objects takes minutes, so each size keeps its own database and is generated
once: SQLite files under var/bench/, PostgreSQL databases named `<base>_<objects>x<files>` on
the server of DATABASE_URL (created when missing, through the `postgres` maintenance database).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SQLITE_DIR = ROOT / "var" / "bench"


def backend_name(url: str) -> str:
    return "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"


def scaled_url(base_url: str, objects: int, files_per_object: int) -> str:
    tag = f"{objects}x{files_per_object}"
    if backend_name(base_url) == "sqlite":
        SQLITE_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{SQLITE_DIR / f'registry-{tag}.db'}"
    parsed = urlparse(base_url.replace("postgres://", "postgresql://", 1))
    base = parsed.path.lstrip("/") or "bench"
    return urlunparse(parsed._replace(path=f"/{base}_{tag}"))


def ensure_postgres_database(url: str) -> None:
    """Create the database `url` names if it does not exist yet."""
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def warm_page_cache(url: str) -> None:
    """Read a SQLite file once, so that the first scenario measured does not pay for the disk
    (a 100 k-object file is ~800 MB). PostgreSQL's caches are left to the warm-up turns."""
    if backend_name(url) != "sqlite":
        return
    with open(url[len("sqlite:///") :], "rb") as fh:
        while fh.read(1 << 22):
            pass
