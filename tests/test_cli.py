"""The `registry` command, run in-process against a throw-away database.

Operators script these commands (`make serve` captures `keys issue` output), so their stdout
must be exactly what is documented, their failures must exit non-zero without a traceback,
and a revoked key or disabled user must stop authenticating at once.
"""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager

import pytest

from models.storage.db import database
from models.storage.migrations import MIGRATIONS
from models.user import authenticate
from registry.cli import main
from registry.seed import demo
from tests.postgres import PG_URL

KEY_LINE = re.compile(r"^rgk_[A-Za-z0-9_-]{43}\n$")
INST, EMAIL = "cli.example.edu", "someone@cli.example.edu"
VERSIONS = [(version,) for version, _name, _step in MIGRATIONS]
LATEST = VERSIONS[-1][0]


def _release(db) -> None:
    """Close every connection of a handle main() made (a pool keeps its idle ones open)."""
    if hasattr(db, "close_all"):
        db.close_all()
    elif not db.is_closed():
        db.close()


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """`run(*argv)` calls registry.cli.main on a fresh SQLite file; returns captured output.

    Each main() binds the process-wide database handle to a new connection of its own; the
    previous command's is closed first, and the test app's database is bound again at the end
    so that later tests do not find themselves talking to this file.
    """
    previous = database.obj
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")

    def run(*argv):
        if database.obj is not previous:
            _release(database.obj)
        main(list(argv))
        return capsys.readouterr()

    yield run
    if database.obj is not previous:
        _release(database.obj)
    database.initialize(previous)


@contextmanager
def opened():
    """The database the last command used, open for inspection, closed afterwards."""
    database.connect(reuse_if_open=True)
    try:
        yield database
    finally:
        database.close()


def fails(run, *argv) -> str:
    """Run a command that must exit non-zero; return its message."""
    with pytest.raises(SystemExit) as excinfo:
        run(*argv)
    assert excinfo.value.code not in (0, None)
    return str(excinfo.value.code)


def scalar(sql: str, params=()):
    with opened() as db:
        return db.execute_sql(sql, params).fetchone()[0]


@pytest.fixture
def member(cli):
    """A migrated database with one institution and one institutional user."""
    cli("db", "migrate")
    cli("institutions", "create", "--identifier", INST, "--name", "CLI College")
    cli(
        "users",
        "create",
        "--email",
        EMAIL,
        "--name",
        "Some One",
        "--role",
        "institutional_user",
        "--institution",
        INST,
    )
    return cli


def test_migrate_twice_is_a_no_op_the_second_time(cli):
    first = cli("db", "migrate")
    assert re.search(r"applied migration\(s\) 1\b", first.err), first.err
    with opened() as db:
        tables = sorted(db.get_tables())
    second = cli("db", "migrate")
    assert f"up to date (version {LATEST})" in second.err
    assert first.out == second.out == ""
    with opened() as db:
        assert sorted(db.get_tables()) == tables
        recorded = db.execute_sql("SELECT version FROM schema_migrations ORDER BY version")
        assert recorded.fetchall() == VERSIONS  # version 1 (and each later one) exactly once


def test_seed_demo_creates_the_demo_data_set(cli):
    result = cli("seed", "--demo")
    reported = {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", result.err)}
    counted = {
        table: scalar(f"SELECT COUNT(*) FROM {name}")
        for table, name in [
            ("institutions", "institutions"),
            ("users", "users"),
            ("objects", "intellectual_objects"),
            ("files", "generic_files"),
            ("checksums", "checksums"),
            ("events", "premis_events"),
            ("storage_records", "storage_records"),
            ("work_items", "work_items"),
        ]
    }
    assert {k: reported.get(k) for k in counted} == counted
    depositors = len([i for i in demo.INSTITUTIONS if i[0] != "aptrust.org"])
    assert counted["institutions"] == len(demo.INSTITUTIONS)
    assert counted["users"] == len(demo.USERS)
    assert counted["objects"] == depositors * demo.OBJECTS_PER_INSTITUTION
    assert 3 * counted["objects"] <= counted["files"] <= 15 * counted["objects"]
    # Each file has an md5 and a sha256, two copies and an ingest event; each object an ingest
    # event and an ingest work item. The files the demo's deletion flow deleted (each with a
    # deletion event) have no copies left.
    kept = scalar(
        "SELECT COUNT(*) FROM generic_files f WHERE NOT EXISTS (SELECT 1 FROM "
        "premis_events e WHERE e.generic_file_id = f.id AND e.event_type = 'deletion')"
    )
    assert 0 < kept < counted["files"]
    assert counted["checksums"] == 2 * counted["files"]
    assert counted["storage_records"] == 2 * kept
    assert scalar("SELECT COUNT(*) FROM premis_events WHERE event_type = 'ingestion'") == (
        counted["files"] + counted["objects"]
    )
    assert (
        scalar(
            "SELECT COUNT(DISTINCT intellectual_object_id) FROM work_items WHERE action = 'Ingest'"
        )
        == counted["objects"]
    )


def test_seed_refuses_a_non_empty_database_unless_if_empty(cli):
    cli("db", "migrate")
    cli("institutions", "create", "--identifier", INST, "--name", "CLI College")
    assert "not empty" in fails(cli, "seed", "--demo")
    skipped = cli("seed", "--demo", "--if-empty")
    assert "skipped" in skipped.err
    assert scalar("SELECT COUNT(*) FROM institutions") == 1
    assert scalar("SELECT COUNT(*) FROM intellectual_objects") == 0


def test_institutions_create_prints_the_new_id(cli):
    cli("db", "migrate")
    out = cli("institutions", "create", "--identifier", INST, "--name", "CLI College").out
    assert re.fullmatch(r"\d+\n", out)
    out = cli(
        "institutions",
        "create",
        "--identifier",
        f"sub.{INST}",
        "--name",
        "Sub College",
        "--type",
        "SubscriptionInstitution",
        "--parent",
        INST,
    ).out
    with opened() as db:
        row = db.execute_sql(
            "SELECT identifier, type, member_institution_id, receiving_bucket "
            "FROM institutions WHERE id = ?",
            [int(out)],
        ).fetchone()
    parent_id = scalar("SELECT id FROM institutions WHERE identifier = ?", [INST])
    assert row == (
        f"sub.{INST}",
        "SubscriptionInstitution",
        parent_id,
        f"aptrust.receiving.sub.{INST}",
    )


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--identifier", INST, "--name", "Again"], "already exists"),
        (["--identifier", "x.edu", "--name", "X", "--parent", "nowhere.edu"], "no institution"),
        (["--identifier", "x.edu", "--name", "X", "--type", "SubscriptionInstitution"], "--parent"),
    ],
)
def test_institutions_create_errors_exit_non_zero(member, argv, message):
    assert message in fails(member, "institutions", "create", *argv)


def test_users_create_stores_the_email_in_lower_case(member):
    out = member(
        "users",
        "create",
        "--email",
        "Mixed.Case@CLI.example.edu",
        "--name",
        "M",
        "--role",
        "institutional_admin",
        "--institution",
        INST,
    ).out
    assert re.fullmatch(r"\d+\n", out)
    assert (
        scalar("SELECT email FROM users WHERE id = ?", [int(out)]) == "mixed.case@cli.example.edu"
    )


def test_users_create_rejects_an_unknown_role_in_argparse(member, capsys):
    with pytest.raises(SystemExit) as excinfo:
        member(
            "users",
            "create",
            "--email",
            "x@cli.example.edu",
            "--name",
            "X",
            "--role",
            "superuser",
            "--institution",
            INST,
        )
    assert excinfo.value.code == 2
    assert "invalid choice: 'superuser'" in capsys.readouterr().err
    assert scalar("SELECT COUNT(*) FROM users WHERE email = ?", ["x@cli.example.edu"]) == 0


@pytest.mark.parametrize(
    "email,role,institution,message",
    [
        ("x@cli.example.edu", "institutional_user", "nowhere.edu", "no institution"),
        (EMAIL, "institutional_user", INST, "already exists"),
        (EMAIL.upper(), "institutional_admin", INST, "already exists"),
        ("boss@cli.example.edu", "admin", INST, "--allow-admin"),
    ],
)
def test_users_create_errors_exit_non_zero(member, capsys, email, role, institution, message):
    assert message in fails(
        member,
        "users",
        "create",
        "--email",
        email,
        "--name",
        "X",
        "--role",
        role,
        "--institution",
        institution,
    )
    assert capsys.readouterr().out == ""


def test_keys_issue_prints_only_the_key(member):
    result = member("keys", "issue", "--email", EMAIL)
    assert KEY_LINE.match(result.out), result.out
    key = result.out.strip()
    with opened():
        caller = authenticate(EMAIL, key)
    assert caller is not None and caller.email == EMAIL
    assert caller.role == "institutional_user"
    assert scalar("SELECT COUNT(*) FROM api_keys WHERE digest = ? OR prefix = ?", [key, key]) == 0


def test_keys_issue_for_an_unknown_user_fails(member, capsys):
    assert "no user" in fails(member, "keys", "issue", "--email", "ghost@cli.example.edu")
    assert capsys.readouterr().out == ""


def test_keys_revoke_stops_the_key_working(member):
    first = member("keys", "issue", "--email", EMAIL).out.strip()
    second = member("keys", "issue", "--email", EMAIL).out.strip()
    member("keys", "revoke", "--email", EMAIL, "--prefix", first[:12])
    with opened():
        assert authenticate(EMAIL, first) is None
        assert authenticate(EMAIL, second) is not None
    result = member("keys", "revoke", "--email", EMAIL)
    assert result.out == "" and "revoked 1 key(s)" in result.err
    with opened():
        assert authenticate(EMAIL, second) is None


def test_users_disable_stops_its_keys_working(member):
    key = member("keys", "issue", "--email", EMAIL).out.strip()
    with opened():
        assert authenticate(EMAIL, key) is not None
    member("users", "disable", "--email", EMAIL.upper())
    with opened():
        assert authenticate(EMAIL, key) is None


@pytest.fixture
def pg_schema_url():
    """REGISTRY_TEST_DATABASE_URL, confined to a schema of its own that is dropped afterwards."""
    if not PG_URL:
        pytest.skip("REGISTRY_TEST_DATABASE_URL is not set")
    import psycopg

    schema = f"cli_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}", schema
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.mark.postgres
def test_migrate_on_postgresql_is_idempotent(pg_schema_url, cli, monkeypatch):
    url, schema = pg_schema_url
    monkeypatch.setenv("DATABASE_URL", url)
    assert re.search(r"applied migration\(s\) 1\b", cli("db", "migrate").err)
    assert f"up to date (version {LATEST})" in cli("db", "migrate").err
    import psycopg

    with psycopg.connect(PG_URL) as conn:
        versions = conn.execute(
            f'SELECT version FROM "{schema}".schema_migrations ORDER BY version'
        ).fetchall()
        tables = conn.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s", [schema]
        ).fetchone()[0]
    assert versions == VERSIONS
    assert tables > 10
