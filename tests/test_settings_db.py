"""DATABASE_URL -> database handle: the URL forms README documents, and nothing else.

A typo in DATABASE_URL must stop the server at start-up with a clear error rather than, say,
quietly creating an SQLite file named after the URL.
"""

from __future__ import annotations

import peewee
import pytest
from playhouse.pool import PooledPostgresqlDatabase

from models.storage.db import ConfigurationError, make_database
from registry.settings import DEFAULT_DATABASE_URL, Settings


@pytest.mark.parametrize(
    "url,path",
    [
        ("sqlite:///registry.db", "registry.db"),
        ("sqlite:///var/demo.db", "var/demo.db"),
        ("sqlite:////srv/registry/registry.db", "/srv/registry/registry.db"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_urls_name_the_file(url, path):
    db = make_database(url)
    assert isinstance(db, peewee.SqliteDatabase)
    assert db.database == path


def test_sqlite_database_runs_with_wal_and_foreign_keys(tmp_path):
    db = make_database(f"sqlite:///{tmp_path / 'pragmas.db'}")
    db.connect()
    try:
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] > 0
    finally:
        db.close()
    assert (tmp_path / "pragmas.db").exists()


# Named so that `make test-sqlite` (-k "not postgres") keeps them: they connect to nothing.
@pytest.mark.parametrize(
    "url",
    [
        "postgresql://registry:secret@db.example:5432/registry",
        "postgres://registry:secret@db.example:5432/registry",
    ],
    ids=["long-scheme", "short-scheme"],
)
def test_pg_urls_give_a_pool(url):
    db = make_database(url, pool_size=5)
    assert isinstance(db, PooledPostgresqlDatabase)
    assert isinstance(db, peewee.PostgresqlDatabase)
    assert db._max_connections == 5
    # Both spellings reach libpq as the one it documents; nothing is connected yet.
    assert db.database == "postgresql://registry:secret@db.example:5432/registry"
    assert db.is_closed()


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@localhost/registry",
        "sqlite3:///registry.db",
        "registry.db",
        "",
        "sqlite://",
        "http://example.org/db",
    ],
)
def test_other_urls_raise_configuration_error(url):
    with pytest.raises(ConfigurationError):
        make_database(url)


def test_settings_read_database_url_and_default_to_sqlite():
    assert Settings.from_env({}).database_url == DEFAULT_DATABASE_URL
    assert DEFAULT_DATABASE_URL.startswith("sqlite:///")
    url = "postgresql://u@h/d"
    assert Settings.from_env({"DATABASE_URL": url}).database_url == url


def test_pg_timeouts_reach_every_connection_and_a_urls_own_win():
    """The connect timeout and the server's timeouts go to psycopg as connection parameters
    (set when a connection starts: no statement per request); a URL that sets its own keeps
    them (a later `-c` wins on the server)."""
    db = make_database(
        "postgresql://u@h/d",
        connect_timeout_s=5,
        statement_timeout_ms=20000,
        lock_timeout_ms=5000,
        idle_in_transaction_timeout_ms=60000,
    )
    assert db.connect_params == {
        "connect_timeout": 5,
        "options": "-c statement_timeout=20000 -c lock_timeout=5000 "
        "-c idle_in_transaction_session_timeout=60000",
    }
    own = make_database(
        "postgresql://u@h/d?connect_timeout=9&options=-c%20lock_timeout%3D1",
        connect_timeout_s=5,
        lock_timeout_ms=5000,
    )
    assert own.connect_params == {"options": "-c lock_timeout=5000 -c lock_timeout=1"}
    assert make_database("postgresql://u@h/d").connect_params == {}


def test_timeouts_are_read_from_the_environment():
    settings = Settings.from_env(
        {
            "REGISTRY_REQUEST_DEADLINE_MS": "1500",
            "REGISTRY_DB_QUEUE_TIMEOUT_MS": "0",
            "REGISTRY_DB_CONNECT_TIMEOUT_S": "3",
            "REGISTRY_DB_STATEMENT_TIMEOUT_MS": "900",
            "REGISTRY_DB_LOCK_TIMEOUT_MS": "800",
            "REGISTRY_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": "700",
            "REGISTRY_SQLITE_BUSY_TIMEOUT_MS": "600",
            "REGISTRY_SQLITE_WAL_LIMIT_MB": "16",
        }
    )
    assert (
        settings.request_deadline_ms,
        settings.db_queue_timeout_ms,
        settings.db_connect_timeout_s,
        settings.db_statement_timeout_ms,
        settings.db_lock_timeout_ms,
        settings.db_idle_in_transaction_timeout_ms,
        settings.sqlite_busy_timeout_ms,
        settings.sqlite_wal_limit_mb,
    ) == (1500, 0, 3, 900, 800, 700, 600, 16)
    defaults = Settings.from_env({})
    # Each bound ends its work before the request's deadline passes.
    assert defaults.db_statement_timeout_ms < defaults.request_deadline_ms
    assert defaults.db_connect_timeout_s * 1000 < defaults.request_deadline_ms
    assert defaults.db_queue_timeout_ms < defaults.request_deadline_ms


def test_sqlite_bounds_the_wal(tmp_path):
    db = make_database(f"sqlite:///{tmp_path / 'wal.db'}", sqlite_wal_limit_bytes=2**20)
    db.connect()
    try:
        assert db.execute_sql("PRAGMA journal_size_limit").fetchone()[0] == 2**20
    finally:
        db.close()
