"""Where the tests' PostgreSQL is (REGISTRY_TEST_DATABASE_URL) and whether it answers."""
from __future__ import annotations

import os

PG_URL = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"


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
