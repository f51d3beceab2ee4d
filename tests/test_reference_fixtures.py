"""The reference system's own test fixtures, loaded through the admin API, read over HTTP.

The APTrust Registry tests expect fixed counts from its fixture CSVs (files 62, objects 14, ...;
registry-reference.md section 8). Loading the same CSVs into our schema and asking our API must
give the same numbers, or either the loader's mapping or the API's scoping differs from the
reference.

The fixtures go into a database of their own, not the demo database the session fixtures of
conftest.py use: the module fixture re-binds the global `models.storage.db.database` proxy for its
duration and restores the previous binding afterwards. Each test runs on SQLite and on
PostgreSQL (the run's own database, tests/postgres.py; `<that database>_fixtures` next to it is
created, reset, and dropped with the run).
The CSV directory is REGISTRY_REFERENCE_FIXTURES, by default tests/reference_fixtures;
when it is missing the tests are skipped (under CI=true they fail).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from tests.postgres import IN_CI, PG_URL
from tests.postgres import postgres_problem as _postgres_problem

# A copy of the reference's fixture CSVs ships with the tests (see its README and LICENSE).
FIXTURES_DIR = Path(
    os.environ.get("REGISTRY_REFERENCE_FIXTURES")
    or Path(__file__).resolve().parent / "reference_fixtures"
)
BACKENDS = ["sqlite", "postgres"]

SYSADMIN = "system@aptrust.org"
INST1_ADMIN = "admin@inst1.edu"
INST1_USER = "user@inst1.edu"
INACTIVE = "inactive@inst1.edu"
KEYED_USERS = (SYSADMIN, INST1_ADMIN, INST1_USER, INACTIVE)

API = "/member-api/v3"
MD5_OF_FILE_21 = "ba9e68d0fa876bbd284c9346bf69eefe"  # checksums.csv id 3


def _fixtures_postgres_url() -> str:
    """`<REGISTRY_TEST_DATABASE_URL's database>_fixtures`, created if missing, schema reset."""
    import psycopg
    from psycopg import sql

    parsed = urlparse(PG_URL)
    name = (parsed.path.lstrip("/") or "postgres") + "_fixtures"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = urlunparse(parsed._replace(path="/" + name))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return url


class RecordingApp:
    """ASGI middleware that notes [method, path, status] of every request the loader makes:
    the proof that the rows went through the admin API rather than straight to the tables."""

    def __init__(self, app):
        self.app, self.requests = app, []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        entry = [scope["method"], scope["path"], None]
        self.requests.append(entry)

        async def noting_send(message):
            if message["type"] == "http.response.start":
                entry[2] = message["status"]
            await send(message)

        await self.app(scope, receive, noting_send)


@dataclass
class Reference:
    backend: str
    client: object
    report: object
    requests: list = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)

    def id(self, table: str, fixture_id: int) -> int:
        """The id the API gave the fixture row `fixture_id` of `table`."""
        return self.report.ids[table][fixture_id]

    def headers(self, email: str) -> dict:
        return {"X-Pharos-API-User": email, "X-Pharos-API-Key": self.keys[email]}

    def get(self, path: str, email: str, **params):
        return self.client.get(API + path, headers=self.headers(email), params=params)

    def body(self, path: str, email: str, **params) -> dict:
        response = self.get(path, email, **params)
        assert response.status_code == 200, (path, params, response.status_code, response.text)
        return response.json()

    def count(self, path: str, email: str, **params) -> int:
        body = self.body(path, email, **params)
        assert set(body) >= {"count", "next", "previous", "results"}, body
        return body["count"]


@pytest.fixture(scope="module", params=BACKENDS)
def ref(request, tmp_path_factory):
    if not FIXTURES_DIR.is_dir():
        message = f"reference fixtures not found at {FIXTURES_DIR} (REGISTRY_REFERENCE_FIXTURES)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('reference') / 'fixtures.db'}"
    else:
        problem = _postgres_problem()
        if problem:
            if IN_CI:
                pytest.fail(problem)
            pytest.skip(problem)
        url = _fixtures_postgres_url()

    from models.storage.db import connection, database
    from models.storage.migrations import migrate
    from models.user import User, issue_key
    from registry.app import create_app
    from registry.seed.fixture_loader import load_fixtures
    from registry.settings import Settings

    saved = database.obj
    try:
        application = create_app(Settings(database_url=url, validate_responses=True))
        with connection():
            migrate()
        recorder = RecordingApp(application)
        report = load_fixtures(FIXTURES_DIR, app=recorder)
        with connection(), database.atomic():
            keys = {email: issue_key(User.get(User.email == email)) for email in KEYED_USERS}
        yield Reference(request.param, application.test_client(), report, recorder.requests, keys)
    finally:
        current = database.obj
        if current is not None and current is not saved:
            if hasattr(current, "close_all"):
                current.close_all()
            elif not current.is_closed():
                current.close()
        database.initialize(saved)


# --- the loader itself ---------------------------------------------------------------------


def test_loader_reports_every_table_and_what_it_adapted(ref):
    assert ref.report.counts == {
        "institutions": 5,
        "users": 9,
        "intellectual_objects": 14,
        "generic_files": 62,
        "checksums": 30,
        "storage_records": 88,
        "premis_events": 54,
        "deletion_requests": 3,
        "deletion_requests_generic_files": 3,
        "deletion_requests_intellectual_objects": 2,
        "work_items": 33,
        "alerts": 8,
        "alerts_users": 14,
        "alerts_premis_events": 3,
        "alerts_work_items": 3,
    }
    notes = "\n".join(ref.report.notes)
    assert "storage_options.csv: skipped" in notes
    assert "generic file 32 uuid" in notes
    assert "checksums.csv id 1: dropped" in notes and "checksums.csv id 2: dropped" in notes
    assert "alerts: written directly" in notes


def test_loader_wrote_through_the_admin_api(ref):
    """Every API-able row arrived as an admin API request, each answered with success."""
    posts = [(path, status) for method, path, status in ref.requests if method == "POST"]

    def made(prefix):
        return [status for path, status in posts if path.startswith("/admin-api/v3/" + prefix)]

    assert made("institutions/create") == [201] * 4  # aptrust.org is the direct bootstrap
    assert made("users/create") == [201] * 8  # system@aptrust.org is the bootstrap
    assert made("objects/create/") == [201] * 14
    assert made("files/create_batch/") == [201] * 3  # one batch per institution with files
    assert made("events/create") == [201] * 18  # object-level events; file events are nested
    assert made("items/create/") == [201] * 33
    assert len(posts) == 4 + 8 + 14 + 3 + 18 + 33
    disabled = [s for m, p, s in ref.requests if m == "DELETE" and "/users/disable/" in p]
    assert disabled == [200]  # inactive@inst1.edu
    from models.storage.db import connection
    from models.user import ApiKey, User

    with connection():  # the key the load ran with is revoked; the one left is the test's
        system = User.get(User.email == SYSADMIN)
        assert (
            ApiKey.select().where((ApiKey.user == system) & ApiKey.revoked_at.is_null()).count()
            == 1
        )
        assert ApiKey.select().where(ApiKey.user == system).count() == 2


def test_loader_maps_fixture_ids_to_the_ids_the_api_gave(ref):
    from models.institution import Institution
    from models.storage.db import connection, database

    # Loaded in fixture-id order into an empty database, most rows get their own id back;
    # the events do not (file events are created with their files, before object events).
    assert ref.report.ids["institutions"] == {i: i for i in range(1, 6)}
    assert sorted(ref.report.ids["generic_files"]) == list(range(1, 63))
    assert sorted(ref.report.ids["premis_events"]) == list(range(1, 55))
    assert ref.id("premis_events", 1) != 1
    assert len(set(ref.report.ids["premis_events"].values())) == 54

    with connection(), database.atomic() as txn:
        made = Institution.create(
            identifier="after-fixtures.example",
            name="After",
            receiving_bucket="r.after",
            restore_bucket="s.after",
        )
        assert made.id == 6
        txn.rollback()


def test_loader_refuses_a_database_that_has_rows(ref):
    from registry.seed.fixture_loader import FixtureError, load_fixtures

    with pytest.raises(FixtureError, match="not empty"):
        load_fixtures(FIXTURES_DIR, app=object())


# --- counts the reference's tests expect, through the API -----------------------------------


def test_files_sysadmin_sees_62_and_inst1_admin_18(ref):
    assert ref.count("/files", SYSADMIN) == 62
    assert ref.count("/files", INST1_ADMIN) == 18
    assert ref.count("/files", SYSADMIN, state="D") == 3
    body = ref.body("/files", INST1_ADMIN, per_page=100)
    assert len(body["results"]) == 18
    assert {r["institution_id"] for r in body["results"]} == {2}


def test_objects_sysadmin_sees_14_and_inst1_admin_6(ref):
    assert ref.count("/objects", SYSADMIN) == 14
    assert ref.count("/objects", INST1_ADMIN) == 6
    assert ref.count("/objects", INST1_USER) == 6
    assert ref.count("/objects", SYSADMIN, institution_id=3) == 6
    assert ref.count("/objects", SYSADMIN, institution_id=4) == 2


def test_events_54(ref):
    assert ref.count("/events", SYSADMIN) == 54


def test_items_33_with_17_for_inst2_edu_and_16_for_inst1_edu(ref):
    assert ref.count("/items", SYSADMIN) == 33
    assert ref.count("/items", SYSADMIN, institution_id=3) == 17
    assert ref.count("/items", SYSADMIN, institution_id=2) == 16


def test_checksums_30_without_the_two_placeholders(ref):
    # The reference has 32; file 1's two placeholder digests are not loaded (see the notes).
    assert ref.count("/checksums", SYSADMIN) == 30


def test_deletions_3(ref):
    assert ref.count("/deletions", SYSADMIN) == 3


def test_alerts_15_for_sysadmin_6_for_inst1_admin_2_for_inst1_user(ref):
    # One row per (alert, recipient) plus one for alert 6, which has no recipient.
    assert ref.count("/alerts", SYSADMIN) == 15
    assert ref.count("/alerts", INST1_ADMIN) == 6
    assert ref.count("/alerts", INST1_USER) == 2


# --- per-row facts that prove the mapping --------------------------------------------------


def test_object_stats_are_computed_from_active_files(ref):
    glass = ref.body(f"/objects/show/{ref.id('intellectual_objects', 3)}", SYSADMIN)
    assert glass["identifier"] == "institution1.edu/glass"
    # Files 7, 8, 9 and 49 are active; file 10 (shard4_deleted) is deleted.
    assert glass["file_count"] == 4
    assert glass["size"] == 11169445000 + 1996440000 + 391665000 + 221720000
    assert glass["payload_file_count"] == 0
    # Object 7's two files under data/ are its payload; bag-info.txt is not.
    btr = ref.body(f"/objects/show/{ref.id('intellectual_objects', 7)}", SYSADMIN)
    assert (btr["file_count"], btr["size"]) == (3, 20471 + 23972 + 739)
    assert (btr["payload_file_count"], btr["payload_size"]) == (2, 20471 + 23972)
    toads = ref.body("/objects/show/institution2.edu/toads", SYSADMIN)
    assert toads["id"] == ref.id("intellectual_objects", 6) and toads["file_count"] == 24


def test_deleted_object_keeps_state_d_and_counts_no_active_file(ref):
    deleted = ref.body("/objects/show/institution2.edu/deleted", SYSADMIN)
    assert deleted["id"] == ref.id("intellectual_objects", 14)
    assert deleted["state"] == "D"
    assert deleted["file_count"] == 0 and deleted["size"] == 0
    assert ref.count("/objects", SYSADMIN, state="D") == 1
    assert ref.count("/files", SYSADMIN, intellectual_object_id=deleted["id"], state="D") == 1


def test_objects_keep_reference_columns(ref):
    obj = ref.body("/objects/show/institution1.edu/gl-dp-oh", SYSADMIN)
    assert obj["id"] == ref.id("intellectual_objects", 9)
    assert obj["storage_option"] == "Glacier-Deep-OH"
    assert obj["etag"] == "1.23456788765432E+031"  # mangled upstream; kept as it is
    assert obj["bagit_profile_identifier"] == "https://example.com/profile.json"
    # Timestamps are the API's: the object was created by the load, not in 2021.
    assert obj["created_at"] > "2025"
    assert obj["bag_name"] == "gl-dp-oh"  # the fixture's `gl-dp-oh.tar` breaks our rule
    assert obj["institution_identifier"] == "institution1.edu"
    btr = ref.body(f"/objects/show/{ref.id('intellectual_objects', 7)}", SYSADMIN)
    assert btr["bag_group_identifier"] in (None, "")  # empty CSV field: NULL


def test_file_rows_keep_ids_checksums_and_the_adapted_uuid(ref):
    body = ref.body("/files", SYSADMIN, identifier="institution1.edu/photos/picture1")
    assert body["count"] == 1
    (picture,) = body["results"]
    assert picture["id"] == ref.id("generic_files", 1)
    assert picture["intellectual_object_id"] == ref.id("intellectual_objects", 1)
    assert picture["md5"] is None and picture["sha256"] is None  # placeholders not loaded
    assert picture["size"] == 243855000
    toad9 = ref.body(f"/files/show/{ref.id('generic_files', 32)}", SYSADMIN)
    assert toad9["identifier"] == "institution2.edu/toads/toad9"
    assert toad9["uuid"] == "5586f292-7a85-45c3-9436-e42675e34715"
    odd = ref.body(f"/files/show/{ref.id('generic_files', 19)}", SYSADMIN)
    assert odd["identifier"] == (
        "institution2.edu/toads/Prakash_ 39 Harv. J.L. & Pub. Pol\u2019y 341 .pdf"
    )


def test_file_detail_has_its_checksums_events_and_storage_records(ref):
    sample = ref.body(f"/files/show/{ref.id('generic_files', 21)}", SYSADMIN)
    assert sample["institution_id"] == ref.id("institutions", 4)
    assert sorted(c["algorithm"] for c in sample["checksums"]) == [
        "md5",
        "sha1",
        "sha256",
        "sha512",
    ]
    md5 = next(c for c in sample["checksums"] if c["algorithm"] == "md5")
    assert md5["digest"] == MD5_OF_FILE_21
    assert md5["datetime"].startswith("2020-08-26T15:26:33")
    assert sample["last_fixity_check"].startswith("2020-08-26T15:26:33")
    shard = ref.body("/files/show/institution1.edu/glass/shard1", SYSADMIN)
    assert shard["id"] == ref.id("generic_files", 7)
    assert len(shard["storage_records"]) >= 1
    assert all(r["url"].endswith(shard["uuid"]) for r in shard["storage_records"])


def test_inst1_admin_cannot_read_another_institutions_rows(ref):
    # The reference answers 403 here; we answer 404, as for a missing record (README).
    assert ref.get("/objects/show/institution2.edu/toads", INST1_ADMIN).status_code == 404
    assert ref.body("/objects/show/institution1.edu/glass", INST1_ADMIN)["id"] == 3
    assert ref.get("/files", INST1_ADMIN, institution_id=3).status_code == 403
    # A filter naming another institution's object finds nothing: the scope still applies.
    assert ref.count("/files", INST1_ADMIN, intellectual_object_id=6) == 0
    assert ref.count("/files", SYSADMIN, intellectual_object_id=6) == 25


def test_deactivated_fixture_user_cannot_authenticate(ref):
    # inactive@inst1.edu has deactivated_at 1/15/21 13:49 (a US date in users.csv).
    response = ref.get("/objects", INACTIVE)
    assert response.status_code == 401


def test_the_one_deletion_event(ref):
    body = ref.body("/events", SYSADMIN, event_type="deletion")
    assert body["count"] == 1
    (event,) = body["results"]
    assert event["id"] == ref.id("premis_events", 54)
    assert event["identifier"] == "775af09e-87d1-42be-9fcd-4315c5836099"
    assert event["intellectual_object_id"] == 6 and event["institution_id"] == 3
    assert event["outcome"] == "Success"
    assert event["date_time"].startswith("2016-09-30T18:53:32")


def test_checksums_carry_their_files_institution(ref):
    body = ref.body("/checksums", SYSADMIN, generic_file_id=ref.id("generic_files", 21))
    assert body["count"] == 4
    assert {c["institution_id"] for c in body["results"]} == {4}
    assert {c["algorithm"] for c in body["results"]} == {"md5", "sha1", "sha256", "sha512"}


# --- the command -------------------------------------------------------------------------------


@pytest.fixture
def seed_cli(tmp_path, monkeypatch, capsys):
    """`run(*argv)`: registry.cli.main on a fresh SQLite file; the previous binding restored."""
    if not FIXTURES_DIR.is_dir():
        pytest.skip(f"reference fixtures not found at {FIXTURES_DIR}")
    from models.storage.db import database
    from registry.cli import main

    previous = database.obj
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'seed.db'}")

    def run(*argv):
        main(list(argv))
        return capsys.readouterr()

    yield run
    if database.obj is not previous and not database.obj.is_closed():
        database.obj.close()
    database.initialize(previous)


def test_seed_from_fixtures_loads_once_and_issues_no_keys(seed_cli):
    from models.storage.db import database

    done = seed_cli("seed", "--from-fixtures", str(FIXTURES_DIR))
    assert done.out == ""
    assert "through the admin API" in done.err
    assert "generic_files 62" in done.err and "alerts_users 14" in done.err
    assert "storage_options.csv: skipped" in done.err
    database.connect(reuse_if_open=True)
    try:
        # The load's own key is revoked when it ends: none is left active.
        assert (
            database.execute_sql(
                "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL"
            ).fetchone()[0]
            == 0
        )
        assert database.execute_sql(
            "SELECT role, institution_id FROM users WHERE email = 'system@aptrust.org'"
        ).fetchone() == ("admin", 1)
    finally:
        database.close()
    with pytest.raises(SystemExit, match="not empty"):
        seed_cli("seed", "--from-fixtures", str(FIXTURES_DIR))
    skipped = seed_cli("seed", "--from-fixtures", str(FIXTURES_DIR), "--if-empty")
    assert "skipped" in skipped.err
    with pytest.raises(SystemExit, match="exclude each other"):
        seed_cli("seed", "--demo", "--from-fixtures", str(FIXTURES_DIR))


def test_seed_stops_at_a_row_the_api_rejects_and_leaves_the_database_empty(seed_cli, tmp_path):
    import shutil

    from models.storage.db import database

    broken = tmp_path / "broken"
    shutil.copytree(FIXTURES_DIR, broken)
    objects = (broken / "intellectual_objects.csv").read_text()
    # Object 2 (of institution1.edu) claims an identifier under another institution.
    (broken / "intellectual_objects.csv").write_text(
        objects.replace("institution1.edu/pdfs", "institution2.edu/pdfs", 1)
    )
    with pytest.raises(
        SystemExit,
        match=r"intellectual_objects.csv id 2: POST "
        r"/admin-api/v3/objects/create/2 answered HTTP 422 .*identifier",
    ):
        seed_cli("seed", "--from-fixtures", str(broken))
    database.connect(reuse_if_open=True)
    try:
        for table in ("institutions", "users", "api_keys", "intellectual_objects"):
            assert database.execute_sql(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    finally:
        database.close()
    # Emptied, the database takes the intact fixtures.
    assert "generic_files 62" in seed_cli("seed", "--from-fixtures", str(FIXTURES_DIR)).err
