"""`registry spot-tests run`: restoration spot tests, queued at most once a day.

The run looks at every institution of the session's database; each test's assertions are about
institutions of its own (tests/alert_setup.py), which it makes due or not as it needs.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models.enums import SYSTEM_USER
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.internal_metadata import SPOT_TESTS_LAST_RUN, as_text, from_text
from models.spot_tests import SpotTestError, run_spot_tests
from models.storage.base import utcnow
from models.storage.db import connection, database
from models.user import User
from models.work_item import WorkItem
from registry.cli import main
from tests.alert_setup import Places, get_metadata, make_object, set_metadata

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def system(app, world):
    """The service account the restores are requested by, for the test only."""
    with connection(), database.atomic():
        user = User.create(
            email=SYSTEM_USER,
            name="System",
            role="admin",
            institution=world.institutions["aptrust.org"],
        )
    set_metadata(SPOT_TESTS_LAST_RUN, None)
    yield user
    set_metadata(SPOT_TESTS_LAST_RUN, None)
    with connection(), database.atomic():
        User.delete().where(User.id == user.id).execute()


@pytest.fixture
def places(app, system):
    with Places() as made:
        yield made


def _item(place, obj, action, status, *, at: dt.datetime) -> int:
    with connection(), database.atomic():
        return WorkItem.create(
            intellectual_object=obj.id if obj else None,
            name="bag.tar",
            etag="f" * 32,
            bucket="b",
            user=place["admin"].user.email,
            action=action,
            stage="Requested",
            status=status,
            bag_date=at,
            date_processed=at,
            created_at=at,
            updated_at=at,
            institution=place.id,
        ).id


def _last_spot(place) -> int | None:
    with connection():
        return Institution.get_by_id(place.id).last_spot_restore_work_item_id


def _line(run, place) -> str:
    [line] = [x for x in run.lines if x.startswith(place.institution.identifier + ":")]
    return line


def test_a_due_institution_gets_its_smallest_eligible_object_restored(places):
    now = utcnow()
    here = places.place(frequency=30)
    make_object(here, 9_999)  # too small
    lately = make_object(here, 10_000)
    _item(here, lately, "Restore Object", "Success", at=now - dt.timedelta(days=3))
    pending = make_object(here, 10_001)
    _item(here, pending, "Restore Object", "Pending", at=now)
    deleted = make_object(here, 10_002, state="D")
    with connection():
        IntellectualObject.update(size=10_002).where(IntellectualObject.id == deleted.id).execute()
    chosen = make_object(here, 10_003)  # restored, but longer ago than the frequency
    _item(here, chosen, "Restore Object", "Success", at=now - dt.timedelta(days=40))
    make_object(here, 20_000)
    off = places.place()  # frequency 0: spot tests off
    make_object(off, 50_000)

    run = run_spot_tests(SYSTEM_USER)
    assert run.ran
    [queued] = [q for q in run.queued if q["institution"] == here.institution.identifier]
    item = WorkItem.get_by_id(queued["work_item_id"])
    assert (item.intellectual_object_id, item.action, item.stage, item.status, item.user) == (
        chosen.id,
        "Restore Object",
        "Requested",
        "Pending",
        SYSTEM_USER,
    )
    assert item.size == 10_003
    assert _last_spot(here) == item.id
    assert _line(run, here) == (
        f"{here.institution.identifier}: queued work item {item.id} "
        f"(Restore Object of {chosen.identifier}, 10003 bytes; "
        "every 30 days)"
    )
    assert not [x for x in run.lines if x.startswith(off.institution.identifier)]
    assert _last_spot(off) is None
    assert from_text(get_metadata(SPOT_TESTS_LAST_RUN)) == run.now

    # Running again within 24 hours does nothing at all.
    again = run_spot_tests(SYSTEM_USER)
    assert not again.ran and again.queued == []
    assert again.lines == [
        f"not run: the last run was at {as_text(run.now)}; at most one run "
        f"in 24 hours, so the next may start after "
        f"{as_text(run.now + dt.timedelta(hours=24))}"
    ]
    # A day later the institution is not due yet: its spot test was processed just now.
    set_metadata(SPOT_TESTS_LAST_RUN, as_text(run.now - dt.timedelta(hours=25)))
    later = run_spot_tests(SYSTEM_USER)
    assert later.ran
    assert not [q for q in later.queued if q["institution"] == here.institution.identifier]
    assert _line(later, here).startswith(
        f"{here.institution.identifier}: not due (every 30 "
        f"days; work item {item.id} was processed at"
    )
    assert _last_spot(here) == item.id


def test_a_finished_spot_test_sends_the_spot_test_alert(client, admin, places):
    here = places.place(frequency=30)
    make_object(here, 15_000)
    [queued] = [
        q
        for q in run_spot_tests(SYSTEM_USER).queued
        if q["institution"] == here.institution.identifier
    ]
    item = client.get(f"/admin-api/v3/items/show/{queued['work_item_id']}", headers=admin).json()
    body = {k: item[k] for k in ("bucket", "user", "bag_date", "date_processed")}
    response = client.put(
        f"/admin-api/v3/items/update/{item['id']}",
        headers=admin,
        json={
            **body,
            "stage": "Cleanup",
            "status": "Success",
            "note": "Bag restored to https://s3.example.org/restore/bag.tar.",
        },
    )
    assert response.status_code == 200, response.text
    alerts = client.get(
        "/member-api/v3/alerts",
        headers=here["admin"].headers,
        params={"type": "Restoration Completed"},
    ).json()["results"]
    assert [a["subject"] for a in alerts] == ["Restoration Spot Test Completed"]
    assert "every 30 days" in alerts[0]["content"]


def test_due_again_once_the_last_spot_test_is_older_than_the_frequency(places):
    now = utcnow()
    recent, overdue, empty = (places.place(frequency=7) for _ in range(3))
    for place, days in ((recent, 2), (overdue, 8)):
        obj = make_object(place, 15_000, storage="Glacier-Deep-OR")
        last = _item(place, obj, "Restore Object", "Success", at=now - dt.timedelta(days=days))
        with connection():
            Institution.update(last_spot_restore_work_item_id=last).where(
                Institution.id == place.id
            ).execute()
    make_object(empty, 500)
    deactivated = places.place(frequency=7)
    make_object(deactivated, 15_000)
    with connection():
        Institution.update(deactivated_at=now, state="D").where(
            Institution.id == deactivated.id
        ).execute()

    run = run_spot_tests(SYSTEM_USER)
    assert _line(run, recent).startswith(f"{recent.institution.identifier}: not due")
    [queued] = [q for q in run.queued if q["institution"] == overdue.institution.identifier]
    assert queued["action"] == "Glacier Restore"  # as a restore request of a Glacier object
    assert _last_spot(overdue) == queued["work_item_id"]
    assert _line(run, empty) == (
        f"{empty.institution.identifier}: due (every 7 days), but no "
        "active object of at least 10000 bytes is free to restore: "
        "nothing queued"
    )
    assert _last_spot(empty) is None
    assert not [x for x in run.lines if x.startswith(deactivated.institution.identifier)]


def test_a_restore_requested_meanwhile_leaves_the_institution_due(places, monkeypatch):
    """Between the choice and the restore a member may ask for the same object: the run goes
    on with the other institutions, and this one stays due for the next run."""
    import models.spot_tests

    here = places.place(frequency=30)
    obj = make_object(here, 15_000)
    pending = _item(here, obj, "Restore Object", "Pending", at=utcnow())
    monkeypatch.setattr(models.spot_tests, "_candidate", lambda *args: obj)
    run = run_spot_tests(SYSTEM_USER)
    assert _line(run, here) == (
        f"{here.institution.identifier}: due (every 30 days), but A restore of {obj.identifier} "
        f"is already pending: work item {pending}: nothing queued"
    )
    assert _last_spot(here) is None and run.ran


def test_a_missing_system_user_stops_the_run_before_anything_is_done(places, system):
    here = places.place(frequency=30)
    make_object(here, 15_000)
    with pytest.raises(SpotTestError, match="nobody@aptrust.org must be an active sysadmin"):
        run_spot_tests("nobody@aptrust.org")
    assert get_metadata(SPOT_TESTS_LAST_RUN) is None
    assert _last_spot(here) is None


@pytest.fixture
def cli(database_url, monkeypatch, capsys):
    """registry.cli.main on the session's database; the test app's handle is bound again at
    the end (main() binds the process-wide handle to one of its own)."""
    previous = database.obj
    monkeypatch.setenv("DATABASE_URL", database_url)

    def release():
        if database.obj is not previous:  # a handle of main()'s: its pool keeps idle ones
            if hasattr(database.obj, "close_all"):
                database.obj.close_all()
            elif not database.obj.is_closed():
                database.obj.close()

    def run(*argv):
        release()
        main(list(argv))
        return capsys.readouterr()

    yield run
    release()
    database.initialize(previous)


def test_the_command_prints_what_it_did(cli, places):
    here = places.place(frequency=30)
    obj = make_object(here, 12_345)
    out = cli("spot-tests", "run").out.splitlines()
    item = _last_spot(here)
    assert (
        f"spot tests: {here.institution.identifier}: queued work item {item} "
        f"(Restore Object of {obj.identifier}, 12345 bytes; every 30 days)"
    ) in out
    assert out[-1].startswith("spot tests: ") and out[-1].endswith("spot-test restore(s) queued")
    second = cli("spot-tests", "run").out.splitlines()
    assert len(second) == 1 and second[0].startswith("spot tests: not run: the last run was at")
    with pytest.raises(SystemExit) as exited:
        set_metadata(SPOT_TESTS_LAST_RUN, None)
        cli("spot-tests", "run", "--user", "nobody@aptrust.org")
    assert "must be an active sysadmin" in str(exited.value.code)


# -- two runs at once, as two processes -----------------------------------------------------------


def _waiting_on_locks(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = "
            "current_database() AND wait_event_type = 'Lock'"
        ).fetchone()[0]


def _opened(pid: int, path: str) -> bool:
    try:
        return any(
            os.readlink(f"/proc/{pid}/fd/{fd}") == path for fd in os.listdir(f"/proc/{pid}/fd")
        )
    except OSError:
        return False


class _HeldLock:
    """The spot tests' last-run row (PostgreSQL) or the database (SQLite) held by the test, so
    that both runs start while it is held and meet at the lock when it is let go."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("postgres"):
            import psycopg

            self.conn = psycopg.connect(url)
            self.conn.execute(
                "INSERT INTO internal_metadata (key, value, created_at, updated_at) "
                "VALUES (%s, NULL, now(), now()) ON CONFLICT DO NOTHING",
                (SPOT_TESTS_LAST_RUN,),
            )
            self.conn.commit()
            self.conn.execute(
                "SELECT value FROM internal_metadata WHERE key = %s FOR UPDATE",
                (SPOT_TESTS_LAST_RUN,),
            )
        else:
            import sqlite3

            self.path = url[len("sqlite:///") :]
            self.conn = sqlite3.connect(self.path, isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")

    def wait_for(self, processes) -> None:
        """Until both processes are at the lock (PostgreSQL: two backends wait on a lock;
        SQLite: both have the file open), or 60 s."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.url.startswith("postgres"):
                if _waiting_on_locks(self.url) >= len(processes):
                    return
            elif all(_opened(p.pid, self.path) for p in processes):
                return
            if any(p.poll() is not None for p in processes):
                return
            time.sleep(0.05)

    def release(self) -> None:
        self.conn.commit() if self.url.startswith("postgres") else self.conn.execute("COMMIT")
        self.conn.close()


def test_two_runs_at_once_queue_once(database_url, places):
    here = places.place(frequency=30)
    make_object(here, 11_111)
    held = _HeldLock(database_url)
    env = {**os.environ, "DATABASE_URL": database_url}
    try:
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "registry.cli", "spot-tests", "run"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        held.wait_for(runs)
    finally:
        held.release()
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    mine = here.institution.identifier
    queued = [out for out, _ in outputs if f"spot tests: {mine}: queued work item" in out]
    skipped = [out for out, _ in outputs if "spot tests: not run: the last run was at" in out]
    assert (len(queued), len(skipped)) == (1, 1), outputs
    with connection():
        items = (
            WorkItem.select()
            .where((WorkItem.institution == here.id) & (WorkItem.user == SYSTEM_USER))
            .count()
        )
    assert items == 1
