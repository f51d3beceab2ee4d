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
