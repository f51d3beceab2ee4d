"""POST /admin-api/v3/alerts/generate_failed_fixity_alerts: the daily failed-fixity run.

Each test sets the run's memory (the last run) itself and puts its failures in institutions of
its own, since other tests' events may fall in the same window: assertions are about the test's
own institutions, and about the run as a whole only where no other event can matter.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import httpx
import pytest

from models.alert import Alert, AlertPremisEvent, AlertUser
from models.caller import Caller
from models.enums import SYSADMIN, SYSTEM_USER
from models.fixity_alerts import generate_failed_fixity_alerts
from models.institution import Institution
from models.internal_metadata import FIXITY_ALERTS_LAST_RUN, as_text, from_text
from models.premis_event import PremisEvent
from models.storage.base import utcnow
from models.storage.db import connection, database
from models.user import User
from registry.web import threads
from tests.alert_setup import Places, get_metadata, make_object, set_metadata

URL = "/admin-api/v3/alerts/generate_failed_fixity_alerts"


@pytest.fixture
def places(app):
    with Places() as made:
        yield made
    set_metadata(FIXITY_ALERTS_LAST_RUN, None)  # later runs start afresh (yesterday 00:00)


@pytest.fixture
def operator_staff(app, world):
    """Two more people at the operator's institution: the service account (never alerted)
    and a deactivated staff member (not alerted either)."""
    operator = world.institutions["aptrust.org"]
    with connection(), database.atomic():
        made = [
            User.create(email=SYSTEM_USER, name="System", role="admin", institution=operator),
            User.create(
                email=f"gone-{uuid.uuid4().hex[:8]}@aptrust.org",
                name="Gone",
                role="admin",
                institution=operator,
                deactivated_at=utcnow(),
            ),
        ]
    yield made
    with connection(), database.atomic():
        AlertUser.delete().where(AlertUser.user.in_([u.id for u in made])).execute()
        User.delete().where(User.id.in_([u.id for u in made])).execute()


def _event(place, obj, when, *, outcome="Failure", event_type="fixity check") -> int:
    with connection(), database.atomic():
        return PremisEvent.create(
            identifier=str(uuid.uuid4()),
            event_type=event_type,
            date_time=when,
            outcome=outcome,
            outcome_detail="md5 mismatch",
            detail="fixity",
            object="x",
            agent="test",
            intellectual_object=obj.id,
            institution=place.id,
        ).id


def _alerts_of(institution_id: int, since: dt.datetime) -> list[dict]:
    """The Failed Fixity Check alerts of an institution made since `since`: recipients and
    linked events."""
    with connection():
        alerts = (
            Alert.select()
            .where(
                (Alert.institution == institution_id)
                & (Alert.type == "Failed Fixity Check")
                & (Alert.created_at >= since)
            )
            .order_by(Alert.id)
        )
        return [
            {
                "id": a.id,
                "subject": a.subject,
                "content": a.content,
                "users": {r.user_id for r in AlertUser.select().where(AlertUser.alert == a.id)},
                "events": {
                    r.premis_event_id
                    for r in AlertPremisEvent.select().where(AlertPremisEvent.alert == a.id)
                },
            }
            for a in alerts
        ]


def test_failures_since_the_last_run_alert_admins_and_operator_staff(
    client, admin, world, places, operator_staff
):
    here, quiet = places.place(), places.place()
    obj, other = make_object(here, 100), make_object(quiet, 100)
    now = utcnow()
    set_metadata(FIXITY_ALERTS_LAST_RUN, as_text(now - dt.timedelta(hours=1)))
    failures = {_event(here, obj, now - dt.timedelta(minutes=m)) for m in (50, 30, 10)}
    _event(here, obj, now - dt.timedelta(hours=2))  # before the last run
    _event(here, obj, now - dt.timedelta(minutes=20), outcome="Success")
    _event(here, obj, now - dt.timedelta(minutes=20), outcome="Failed")  # the reference's word
    _event(here, obj, now - dt.timedelta(minutes=20), event_type="ingestion")
    _event(quiet, other, now - dt.timedelta(minutes=20), outcome="Success")

    response = client.post(URL, headers=admin)
    after = utcnow()
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["next"], body["previous"]) == ("", "")
    mine = [s for s in body["results"] if s["institution_id"] == here.id]
    assert mine == [
        {
            "failures": 3,
            "institution_id": here.id,
            "institution_name": here.institution.name,
            "error": None,
        }
    ]
    assert quiet.id not in {s["institution_id"] for s in body["results"]}
    assert body["count"] == sum(s["failures"] for s in body["results"])

    [alert] = _alerts_of(here.id, now)
    assert alert["subject"] == "Failed Fixity Check"
    assert alert["users"] == {here["admin"].id, here["admin2"].id}  # active inst admins only
    assert alert["events"] == failures
    assert f"institution_id={here.id}" in alert["content"]
    assert _alerts_of(quiet.id, now) == []

    [staff_alert] = _alerts_of(world.institutions["aptrust.org"], now)
    system, gone = operator_staff
    assert world["sysadmin"].user_id in staff_alert["users"]
    assert not {system.id, gone.id} & staff_alert["users"]
    assert failures <= staff_alert["events"]

    stored = from_text(get_metadata(FIXITY_ALERTS_LAST_RUN))
    assert now <= stored <= after

    # The institution's admin reads it through the member API.
    listed = client.get(
        "/member-api/v3/alerts",
        headers=here["admin"].headers,
        params={"type": "Failed Fixity Check"},
    ).json()
    assert [r["id"] for r in listed["results"]] == [alert["id"]]

    # The next run starts where this one ended: nothing new, nothing alerted again.
    again = client.post(URL, headers=admin)
    assert again.status_code == 200, again.text
    assert again.json() == {"count": 0, "next": "", "previous": "", "results": []}
    assert len(_alerts_of(here.id, now)) == 1


def test_the_first_run_covers_yesterday_and_today(client, admin, places):
    here = places.place()
    obj = make_object(here, 100)
    now = utcnow()
    yesterday = now.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    set_metadata(FIXITY_ALERTS_LAST_RUN, None)
    counted = _event(here, obj, yesterday + dt.timedelta(minutes=1))
    _event(here, obj, yesterday - dt.timedelta(minutes=1))
    response = client.post(URL, headers=admin)
    assert response.status_code == 201, response.text
    assert [
        s["failures"] for s in response.json()["results"] if s["institution_id"] == here.id
    ] == [1]
    assert _alerts_of(here.id, now)[0]["events"] == {counted}


def test_an_institution_without_active_admins_is_reported(client, admin, places):
    here = places.place()
    with connection():
        User.update(role="institutional_user").where(
            (User.institution == here.id) & (User.role == "institutional_admin")
        ).execute()
    obj = make_object(here, 100)
    now = utcnow()
    set_metadata(FIXITY_ALERTS_LAST_RUN, as_text(now - dt.timedelta(hours=1)))
    _event(here, obj, now - dt.timedelta(minutes=5))
    response = client.post(URL, headers=admin)
    [mine] = [s for s in response.json()["results"] if s["institution_id"] == here.id]
    assert "no active institutional admin" in mine["error"]
    assert _alerts_of(here.id, now)[0]["users"] == set()


def test_a_last_run_of_exactly_today_midnight_is_409_and_changes_nothing(client, admin, places):
    here = places.place()
    obj = make_object(here, 100)
    now = utcnow()
    midnight = as_text(now.replace(hour=0, minute=0, second=0, microsecond=0))
    set_metadata(FIXITY_ALERTS_LAST_RUN, midnight)
    if now == from_text(midnight):
        pytest.fail("the test ran at exactly 00:00:00.000000 UTC")
    _event(here, obj, now - dt.timedelta(microseconds=1))
    response = client.post(URL, headers=admin)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert get_metadata(FIXITY_ALERTS_LAST_RUN) == midnight
    assert _alerts_of(here.id, now) == []


@pytest.mark.parametrize("persona", ["inst_admin", "inst_user", "other_admin", "no_role"])
def test_only_sysadmins_run_it(client, world, persona):
    response = client.post(URL, headers=world[persona].headers)
    assert response.status_code == 403, response.text


def test_unauthenticated_and_unknown_parameters(client, admin):
    assert client.post(URL).status_code == 401
    response = client.post(URL, headers=admin, params={"since": "yesterday"})
    assert response.status_code == 400
    assert "since" in response.text


def _concurrent_http_runs(app, headers, n) -> list[httpx.Response]:
    """`n` requests in flight at once through the whole app (each write in a thread of its
    own, with its own database connection)."""

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(*[http.post(URL, headers=headers) for _ in range(n)])

    return asyncio.run(go())


@pytest.fixture
def database_threads_reset(app):
    """The app's database threads each keep a pooled connection once used (registry/web/threads.py),
    and six requests at once start six of them: the pool's eight connections would then be
    mostly held by threads, and later tests that need several connections at once would wait
    for them in vain. So the threads are let go, with their connections, when the test ends;
    the next request starts a thread again."""
    yield
    threads._threads().shutdown(wait=True)
    threads._pool = None
    if hasattr(database.obj, "close_all"):
        database.obj.close_all()


def test_runs_at_once_alert_each_failure_once(app, admin, places, database_threads_reset):
    """Six callers at once, through the app (its database threads, a connection each): one
    run alerts, the other five find nothing new. Without the row lock of the last run
    (models.internal_metadata.claim), several PostgreSQL runs alerted the same failures."""
    here = places.place()
    obj = make_object(here, 100)
    now = utcnow()
    set_metadata(FIXITY_ALERTS_LAST_RUN, as_text(now - dt.timedelta(hours=1)))
    failures = {_event(here, obj, now - dt.timedelta(minutes=m)) for m in (40, 20)}
    responses = _concurrent_http_runs(app, admin, 6)
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201], [
        r.text for r in responses
    ]
    mine = [s for r in responses for s in r.json()["results"] if s["institution_id"] == here.id]
    assert [s["failures"] for s in mine] == [2]
    [alert] = _alerts_of(here.id, now)
    assert alert["events"] == failures


def test_the_operator_institution_is_optional(app, places, world):
    """Without `aptrust.org` the institutions' admins are still alerted."""
    here = places.place()
    obj = make_object(here, 100)
    now = utcnow()
    set_metadata(FIXITY_ALERTS_LAST_RUN, as_text(now - dt.timedelta(hours=1)))
    _event(here, obj, now - dt.timedelta(minutes=30))
    operator = world.institutions["aptrust.org"]
    with connection(), database.atomic():
        Institution.update(identifier="aptrust.renamed").where(Institution.id == operator).execute()
    try:
        body = generate_failed_fixity_alerts(Caller(0, SYSTEM_USER, SYSADMIN, operator))
    finally:
        with connection(), database.atomic():
            Institution.update(identifier="aptrust.org").where(Institution.id == operator).execute()
    assert body["count"] == 1
    assert len(_alerts_of(here.id, now)) == 1
    assert _alerts_of(operator, now) == []
