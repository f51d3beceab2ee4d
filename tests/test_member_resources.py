"""Checksums, events, work items, deletion requests and alerts: scoping, show, derived fields.

The demo data set gives every member institution records of each kind (registry/seed/demo.py).
"""

from __future__ import annotations

import pytest

from models.alert import Alert, AlertUser
from models.checksum import Checksum
from models.deletion_request import DeletionRequest
from models.premis_event import PremisEvent
from models.storage.db import connection
from models.work_item import WorkItem

BASE = "/member-api/v3"
LISTS = ["checksums", "events", "items", "deletions", "alerts"]
SHOWS = {  # path prefix -> model whose rows carry institution_id
    "checksums": Checksum,
    "events": PremisEvent,
    "items": WorkItem,
    "deletions": DeletionRequest,
}


def get(client, persona, path, **params):
    return client.get(f"{BASE}/{path}", headers=persona.headers, params=params)


@pytest.mark.parametrize("resource", LISTS)
def test_members_list_only_their_institution(client, world, resource):
    member = world["inst_user"]
    body = get(client, member, resource, per_page=1000).json()
    assert body["count"] > 0
    assert {r["institution_id"] for r in body["results"]} == {member.institution_id}
    everything = get(client, world["sysadmin"], resource, per_page=1000).json()
    assert everything["count"] > body["count"]
    others = {r["institution_id"] for r in everything["results"]}
    assert len(others - {member.institution_id}) >= 1


@pytest.mark.parametrize("resource", LISTS)
def test_naming_another_institution_is_403(client, world, resource):
    member = world["inst_user"]
    other = world.institutions["test.edu"]
    response = get(client, member, resource, institution_id=other)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["name"] == "institution_id"
    assert get(client, member, resource, institution_id=member.institution_id).status_code == 200
    assert get(client, world["sysadmin"], resource, institution_id=other).status_code == 200


@pytest.mark.parametrize("resource", LISTS)
def test_role_none_is_403(client, world, resource):
    assert get(client, world["no_role"], resource).status_code == 403


@pytest.mark.parametrize("resource, model", SHOWS.items())
def test_show_own_other_and_missing(client, world, resource, model):
    member = world["inst_user"]
    with connection():
        own = model.get(model.institution == member.institution_id).id
        other = model.get(model.institution == world.institutions["test.edu"]).id
    mine = get(client, member, f"{resource}/show/{own}")
    assert mine.status_code == 200
    assert mine.json()["id"] == own
    foreign = get(client, member, f"{resource}/show/{other}")
    missing = get(client, member, f"{resource}/show/987654321")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["title"] == missing.json()["title"] == "Not Found"
    assert get(client, world["sysadmin"], f"{resource}/show/{other}").status_code == 200


@pytest.mark.parametrize("resource", ["checksums", "items", "deletions"])
def test_numeric_only_shows_reject_identifiers(client, world, resource):
    response = get(client, world["inst_user"], f"{resource}/show/abc")
    assert response.status_code in (400, 404)
    assert response.headers["content-type"] == "application/problem+json"


def test_event_show_by_uuid_identifier(client, world):
    member = world["inst_user"]
    with connection():
        event = PremisEvent.get(PremisEvent.institution == member.institution_id)
    by_id = get(client, member, f"events/show/{event.id}").json()
    by_uuid = get(client, member, f"events/show/{event.identifier}").json()
    assert by_id == by_uuid
    assert by_uuid["identifier"] == event.identifier


def test_object_level_events_filter(client, world):
    member = world["inst_user"]
    object_level = get(client, member, "events", generic_file_id__is_null="true", per_page=1000)
    file_level = get(client, member, "events", generic_file_id__is_null="false", per_page=1000)
    everything = get(client, member, "events", per_page=1)
    assert all(r["generic_file_id"] is None for r in object_level.json()["results"])
    assert all(r["generic_file_id"] is not None for r in file_level.json()["results"])
    assert object_level.json()["count"] + file_level.json()["count"] == everything.json()["count"]


def test_deletion_status_is_derived_from_confirmation_and_cancellation(client, world):
    member = world["inst_user"]
    # The demo's requests (tests and the deletion-flow suites add requests of their own).
    demo = {"requested_at__lteq": "2025-01-01T00:00:00Z"}
    rows = get(client, member, "deletions", per_page=100, **demo).json()["results"]
    for row in rows:
        expected = (
            "Rejected"
            if row["cancelled_by_id"]
            else "Approved"
            if row["confirmed_by_id"]
            else "Awaiting Approval"
        )
        assert row["status"] == expected
    assert {r["status"] for r in rows} == {"Rejected", "Approved", "Awaiting Approval"}
    cancelled = next(r for r in rows if r["status"] == "Rejected")
    assert cancelled["cancelled_by_email"] == "admin@example.edu"
    assert cancelled["confirmed_by_email"] is None
    approved = get(client, member, "deletions", status="Approved", **demo).json()
    assert approved["count"] == 2
    assert all(r["object_count"] == 1 for r in approved["results"])
    awaiting = get(
        client, member, "deletions", status="Awaiting Approval", sort="requested_at__asc", **demo
    ).json()["results"][0]
    assert (awaiting["file_count"], awaiting["object_count"]) == (3, 0)


def test_members_see_only_alerts_addressed_to_them(client, world):
    member = world["inst_user"]
    body = get(client, member, "alerts", per_page=100).json()
    with connection():
        expected = AlertUser.select().join(Alert).where(AlertUser.user == member.user_id).count()
    assert body["count"] == expected > 0
    assert {r["user_id"] for r in body["results"]} == {member.user_id}
    admin_view = get(client, world["inst_admin"], "alerts", per_page=100).json()
    assert {r["user_id"] for r in admin_view["results"]} == {world["inst_admin"].user_id}


def test_alert_user_filter_and_show_are_confined_to_the_caller(client, world):
    member, colleague = world["inst_user"], world["inst_admin"]
    assert get(client, member, "alerts", user_id=colleague.user_id).status_code == 403
    assert get(client, member, "alerts", user_id=member.user_id).status_code == 200
    alert_id = get(client, member, "alerts").json()["results"][0]["id"]
    assert get(client, member, f"alerts/show/{alert_id}/{member.user_id}").status_code == 200
    foreign = get(client, member, f"alerts/show/{alert_id}/{colleague.user_id}")
    assert foreign.status_code == 403
    assert foreign.json()["errors"][0]["name"] == "user_id"
    assert get(client, member, f"alerts/show/987654/{member.user_id}").status_code == 404
    sysadmin = world["sysadmin"]
    assert get(client, sysadmin, f"alerts/show/{alert_id}/{member.user_id}").status_code == 200


def test_sysadmin_sees_alerts_that_reached_nobody(client, world):
    rows = get(
        client, world["sysadmin"], "alerts", type="Failed Fixity Check", per_page=100
    ).json()["results"]
    assert rows and all(r["user_id"] is None for r in rows)
    member_rows = get(client, world["inst_admin"], "alerts", type="Failed Fixity Check").json()
    assert member_rows["count"] == 0


def test_work_item_filters_of_the_reference(client, world):
    member = world["inst_user"]
    pending = get(client, member, "items", status="Pending", action="Ingest").json()["results"]
    assert pending and all((r["status"], r["action"]) == ("Pending", "Ingest") for r in pending)
    busy = get(client, member, "items", node__not_null="true", per_page=100).json()["results"]
    assert busy and all(r["node"] for r in busy)
    idle = get(client, member, "items", node__is_null="true", per_page=1).json()["count"]
    total = get(client, member, "items", per_page=1).json()["count"]
    assert len(busy) + idle == total
    several = get(client, member, "items", status__in=["Started", "Pending"], per_page=100)
    assert {r["status"] for r in several.json()["results"]} <= {"Started", "Pending"}
    by_user = get(client, member, "items", user="admin@example.edu", per_page=1).json()["count"]
    assert 0 < by_user < total
    unlinked = get(client, member, "items", intellectual_object_id__is_null="true").json()
    assert unlinked["count"] >= 1
    assert all(r["intellectual_object_id"] is None for r in unlinked["results"])


def test_list_endpoints_issue_constant_queries(client, world, count_queries):
    member = world["sysadmin"]
    for resource in LISTS:
        count_queries.statements.clear()
        get(client, member, resource, per_page=1)
        few = len(count_queries.statements)
        count_queries.statements.clear()
        get(client, member, resource, per_page=200)
        assert len(count_queries.statements) == few <= 3, resource
