"""Admin writes of intellectual objects: create, update, delete, init_restore.

Every write is read back through the member API, as a member of the owning institution sees it.
Each test makes objects of its own (unique identifiers): the session database is shared.
"""

from __future__ import annotations

import uuid

import pytest

from models.enums import BAGIT_PROFILE_APTRUST
from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.stats import refresh_object_stats
from models.storage.base import utcnow
from models.storage.db import connection, database
from models.work_item import WorkItem
from registry.spec import ADMIN_SPEC, load_spec
from tests.deletion_setup import APPROVER, REQUESTER, approve_deletion
from tests.fixtures_api import assert_problem, error_names

ADMIN = "/admin-api/v3"
MEMBER = "/member-api/v3"
OPERATIONS = ("create_object", "update_object", "delete_object", "init_object_restore")


def new_identifier(institution: str = "example.edu") -> str:
    return f"{institution}/admin-bag-{uuid.uuid4().hex[:12]}"


def create(client, world, institution: str = "example.edu", **fields) -> dict:
    body = {"title": "A bag", "identifier": new_identifier(institution), **fields}
    response = client.post(
        f"{ADMIN}/objects/create/{world.institutions[institution]}",
        json=body,
        headers=world["sysadmin"].headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def add_file(obj: dict, *, size: int = 100, path: str = "data/a.txt", state: str = "A") -> int:
    """A file of `obj`, written with the models (file writes belong to another area)."""
    with connection(), database.atomic():
        f = GenericFile.create(
            file_format="text/plain",
            size=size,
            identifier=f"{obj['identifier']}/{path}",
            intellectual_object=obj["id"],
            institution=obj["institution_id"],
            state=state,
            storage_option=obj["storage_option"],
            uuid=str(uuid.uuid4()),
        )
        refresh_object_stats([obj["id"]])
    return f.id


def add_item(
    obj: dict,
    *,
    action="Ingest",
    stage="Cleanup",
    status="Success",
    user="user@example.edu",
    **extra,
) -> int:
    with connection():
        return WorkItem.create(
            intellectual_object=obj["id"],
            institution=obj["institution_id"],
            name=f"{obj['bag_name']}.tar",
            etag="a" * 32,
            bucket="aptrust.receiving.example.edu",
            user=user,
            action=action,
            stage=stage,
            status=status,
            bag_date=utcnow(),
            date_processed=utcnow(),
            **extra,
        ).id


def member_view(client, world, obj_id: int, persona: str = "inst_admin") -> dict:
    response = client.get(f"{MEMBER}/objects/show/{obj_id}", headers=world[persona].headers)
    assert response.status_code == 200, response.text
    return response.json()


def object_count(identifier: str) -> int:
    with connection():
        O = IntellectualObject
        return O.select().where(O.identifier == identifier).count()


# -- create --------------------------------------------------------------------------------------


def test_create_object_stores_it_with_defaults_and_zero_counts(client, world):
    identifier = new_identifier()
    example = world.institutions["example.edu"]
    response = client.post(
        f"{ADMIN}/objects/create/{example}",
        headers=world["sysadmin"].headers,
        json={"title": "Photos", "identifier": identifier},
    )
    assert response.status_code == 201, response.text
    obj = response.json()
    assert response.headers["location"] == f"{ADMIN}/objects/show/{obj['id']}"
    assert obj["identifier"] == identifier
    assert obj["bag_name"] == identifier.split("/")[1]
    assert obj["institution_id"] == example
    assert obj["institution_identifier"] == "example.edu"
    assert (obj["access"], obj["state"], obj["storage_option"]) == ("institution", "A", "Standard")
    assert obj["bagit_profile_identifier"] == BAGIT_PROFILE_APTRUST
    assert (obj["file_count"], obj["size"], obj["payload_file_count"], obj["payload_size"]) == (
        0,
        0,
        0,
        0,
    )
    assert obj["description"] is None and obj["etag"] is None
    assert obj["created_at"] == obj["updated_at"]
    # Members of the institution see exactly what was answered; others see nothing.
    assert member_view(client, world, obj["id"]) == obj
    by_identifier = client.get(
        f"{MEMBER}/objects/show/{identifier}", headers=world["inst_user"].headers
    )
    assert by_identifier.json() == obj
    other = client.get(f"{MEMBER}/objects/show/{obj['id']}", headers=world["other_user"].headers)
    assert_problem(other, 404)


def test_create_object_with_every_writable_field(client, world):
    identifier = new_identifier("test.edu")
    fields = {
        "id": 0,
        "institution_id": world.institutions["test.edu"],
        "title": "Letters",
        "description": "Letters, 1850-1900",
        "identifier": identifier,
        "alt_identifier": "alt-1",
        "access": "consortia",
        "bag_name": identifier.split("/")[1],
        "state": "A",
        "etag": "0123456789abcdef0123456789abcdef-12",
        "bag_group_identifier": "letters",
        "storage_option": "Glacier-Deep-OR",
        "bagit_profile_identifier": "https://example.org/profile.json",
        "source_organization": "Test College Library",
        "internal_sender_identifier": "L-1",
        "internal_sender_description": "Box 1",
    }
    obj = create(client, world, "test.edu", **fields)
    stored = member_view(client, world, obj["id"], "other_admin")
    assert stored["id"] > 0
    for name, value in fields.items():
        if name != "id":
            assert stored[name] == value, name


# 400: the spec's schema refuses the body; 422: the schema accepts it, a registry rule does not.
@pytest.mark.parametrize(
    "fields, field, status",
    [
        ({"title": "   "}, "title", 422),
        ({"title": ""}, "title", 400),
        ({"identifier": "test.edu/not-mine"}, "identifier", 422),
        ({"identifier": "example.edu/"}, "identifier", 422),
        ({"identifier": "example.edu/a/b"}, "identifier", 422),
        ({"identifier": "example.edux/bag"}, "identifier", 422),
        ({"identifier": "example.edu/" + "b" * 997}, "identifier", 400),
        ({"bag_name": "something-else"}, "bag_name", 422),
        ({"institution_id": 1}, "institution_id", 422),
        ({"id": 7}, "id", 422),
        ({"access": "public"}, "access", 400),
        ({"state": "X"}, "state", 400),
        ({"storage_option": "Tape"}, "storage_option", 400),
        ({"etag": "e" * 41}, "etag", 400),
        ({"titel": "typo"}, "titel", 400),
        ({"title": None}, "title", 400),
        ({"description": "a\x00b"}, "description", 422),  # PostgreSQL cannot store U+0000
    ],
)
def test_create_object_rules_name_the_field(client, world, fields, field, status):
    identifier = new_identifier()
    body = {"title": "A bag", "identifier": identifier, **fields}
    response = client.post(
        f"{ADMIN}/objects/create/{world.institutions['example.edu']}",
        json=body,
        headers=world["sysadmin"].headers,
    )
    problem = assert_problem(response, status)
    assert error_names(problem) == {field}
    assert object_count(body["identifier"]) == 0
    assert object_count(identifier) == 0


def test_create_object_reports_every_offending_field_at_once(client, world):
    response = client.post(
        f"{ADMIN}/objects/create/{world.institutions['example.edu']}",
        headers=world["sysadmin"].headers,
        json={
            "title": " ",
            "identifier": new_identifier(),
            "bag_name": "x",
            "institution_id": world.institutions["test.edu"],
        },
    )
    assert error_names(assert_problem(response, 422)) == {"title", "bag_name", "institution_id"}


def test_create_object_requires_title_and_identifier(client, world):
    response = client.post(
        f"{ADMIN}/objects/create/{world.institutions['example.edu']}",
        json={},
        headers=world["sysadmin"].headers,
    )
    assert error_names(assert_problem(response, 400)) == {"title", "identifier"}


def test_create_object_with_a_taken_identifier_is_409(client, world):
    first = create(client, world, title="First")
    response = client.post(
        f"{ADMIN}/objects/create/{world.institutions['example.edu']}",
        headers=world["sysadmin"].headers,
        json={"title": "Second", "identifier": first["identifier"]},
    )
    assert "identifier" in error_names(assert_problem(response, 409))
    assert member_view(client, world, first["id"])["title"] == "First"
    assert object_count(first["identifier"]) == 1


def test_create_object_in_an_unknown_institution_is_404(client, world):
    response = client.post(
        f"{ADMIN}/objects/create/999999",
        headers=world["sysadmin"].headers,
        json={"title": "t", "identifier": "nowhere.edu/bag"},
    )
    assert_problem(response, 404)
    assert object_count("nowhere.edu/bag") == 0


# -- update --------------------------------------------------------------------------------------


def test_update_object_replaces_the_writable_fields(client, world):
    obj = create(client, world, description="old", alt_identifier="alt", etag="e" * 32)
    body = {
        "title": "New title",
        "identifier": obj["identifier"],
        "access": "restricted",
        "state": "A",
        "storage_option": "Standard",
        "source_organization": "Archives",
    }
    response = client.put(
        f"{ADMIN}/objects/update/{obj['id']}", json=body, headers=world["sysadmin"].headers
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["title"] == "New title" and updated["access"] == "restricted"
    assert updated["source_organization"] == "Archives"
    # Left out: back to null (or the default profile); bag_name is kept.
    assert updated["description"] is None and updated["alt_identifier"] is None
    assert updated["etag"] is None
    assert updated["bagit_profile_identifier"] == BAGIT_PROFILE_APTRUST
    assert updated["bag_name"] == obj["bag_name"]
    assert updated["created_at"] == obj["created_at"]
    assert updated["updated_at"] >= obj["updated_at"]
    assert member_view(client, world, obj["id"]) == updated


def test_update_object_accepts_a_record_read_from_the_api(client, world):
    obj = create(client, world)
    add_file(obj, size=300)
    shown = member_view(client, world, obj["id"])
    shown["title"] = "Round trip"
    shown["file_count"] = 999  # read-only: ignored
    response = client.put(
        f"{ADMIN}/objects/update/{obj['id']}", json=shown, headers=world["sysadmin"].headers
    )
    assert response.status_code == 200, response.text
    after = member_view(client, world, obj["id"])
    assert after["title"] == "Round trip"
    assert (after["file_count"], after["size"]) == (1, 300)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"identifier": "example.edu/renamed"}, "identifier"),
        ({"bag_name": "renamed"}, "bag_name"),
        ({"storage_option": "Wasabi-VA"}, "storage_option"),
        ({"state": "D"}, "state"),
        ({"institution_id": 1}, "institution_id"),
        ({"id": 1}, "id"),
        ({"title": "  "}, "title"),
    ],
)
def test_update_object_refuses_what_cannot_change(client, world, change, field):
    obj = create(client, world, storage_option="Standard")
    body = {
        "title": "Changed",
        "identifier": obj["identifier"],
        "access": "institution",
        "state": "A",
        "storage_option": "Standard",
        **change,
    }
    response = client.put(
        f"{ADMIN}/objects/update/{obj['id']}", json=body, headers=world["sysadmin"].headers
    )
    assert error_names(assert_problem(response, 422)) == {field}
    assert member_view(client, world, obj["id"]) == obj  # nothing written


def test_update_deleted_object_may_reactivate_it_with_another_storage_option(client, world):
    obj = create(client, world, state="D", storage_option="Standard")
    body = {
        "title": "Re-ingested",
        "identifier": obj["identifier"],
        "access": "institution",
        "state": "A",
        "storage_option": "Glacier-OR",
    }
    response = client.put(
        f"{ADMIN}/objects/update/{obj['id']}", json=body, headers=world["sysadmin"].headers
    )
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["storage_option"]) == ("A", "Glacier-OR")
    assert member_view(client, world, obj["id"])["storage_option"] == "Glacier-OR"


def test_update_object_requires_the_replaced_fields(client, world):
    obj = create(client, world)
    response = client.put(
        f"{ADMIN}/objects/update/{obj['id']}",
        json={"title": "t"},
        headers=world["sysadmin"].headers,
    )
    assert error_names(assert_problem(response, 400)) == {
        "identifier",
        "access",
        "state",
        "storage_option",
    }


def test_update_unknown_or_malformed_id(client, world):
    body = {
        "title": "t",
        "identifier": "example.edu/x",
        "access": "institution",
        "state": "A",
        "storage_option": "Standard",
    }
    headers = world["sysadmin"].headers
    assert_problem(client.put(f"{ADMIN}/objects/update/999999999", json=body, headers=headers), 404)
    bad = client.put(f"{ADMIN}/objects/update/abc", json=body, headers=headers)
    assert error_names(assert_problem(bad, 400)) == {"id"}


# -- delete --------------------------------------------------------------------------------------


def deletion_events(client, world, obj_id: int) -> list[dict]:
    response = client.get(
        f"{MEMBER}/events",
        headers=world["inst_admin"].headers,
        params={"intellectual_object_id": obj_id, "event_type": "deletion"},
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_delete_object_marks_it_deleted_and_records_the_event(client, world):
    obj = create(client, world)
    file_id = add_file(obj)
    approve_deletion(obj["id"])
    headers = world["sysadmin"].headers
    refused = client.delete(f"{ADMIN}/objects/delete/{obj['id']}", headers=headers)
    assert "active file" in assert_problem(refused, 409)["detail"]
    assert member_view(client, world, obj["id"])["state"] == "A"

    with connection():
        GenericFile.update(state="D").where(GenericFile.id == file_id).execute()
        refresh_object_stats([obj["id"]])
    add_item(obj)  # a finished ingest does not block the deletion
    response = client.delete(f"{ADMIN}/objects/delete/{obj['id']}", headers=headers)
    assert response.status_code == 200, response.text
    deleted = response.json()
    assert deleted["state"] == "D" and deleted["created_at"] == obj["created_at"]
    assert member_view(client, world, obj["id"]) == deleted
    [event] = deletion_events(client, world, obj["id"])
    assert event["outcome"] == "Success"
    assert event["generic_file_id"] is None
    assert event["institution_id"] == obj["institution_id"]
    assert event["agent"] == world["sysadmin"].email
    # The requester and the approver of the deletion request carried out.
    assert event["outcome_detail"] == REQUESTER
    assert REQUESTER in event["outcome_information"]
    assert APPROVER in event["outcome_information"]
    assert event["object"] and event["detail"]
    assert str(uuid.UUID(event["identifier"])) == event["identifier"]

    again = client.delete(f"{ADMIN}/objects/delete/{obj['id']}", headers=headers)
    assert "deleted already" in assert_problem(again, 409)["detail"]
    assert len(deletion_events(client, world, obj["id"])) == 1


def test_delete_object_waits_for_unfinished_work_items(client, world):
    obj = create(client, world)
    ingest = add_item(obj, stage="Record", status="Pending")
    approve_deletion(obj["id"], requester="admin@example.edu")
    headers = world["sysadmin"].headers
    refused = client.delete(f"{ADMIN}/objects/delete/{obj['id']}", headers=headers)
    assert f"#{ingest} Ingest (Pending)" in assert_problem(refused, 409)["detail"]
    assert deletion_events(client, world, obj["id"]) == []

    with connection():
        WorkItem.update(status="Failed").where(WorkItem.id == ingest).execute()
    response = client.delete(f"{ADMIN}/objects/delete/{obj['id']}", headers=headers)
    assert response.status_code == 200, response.text
    [event] = deletion_events(client, world, obj["id"])
    assert event["outcome_detail"] == "admin@example.edu"
    assert APPROVER in event["outcome_information"]


def test_delete_object_is_one_transaction(client, world, monkeypatch):
    """If the event cannot be stored, the object stays active."""
    obj = create(client, world)
    approve_deletion(obj["id"])
    with connection():
        taken = PremisEvent.select(PremisEvent.identifier).first().identifier
    monkeypatch.setattr("models.object_writes.uuid.uuid4", lambda: uuid.UUID(taken))
    response = client.delete(
        f"{ADMIN}/objects/delete/{obj['id']}", headers=world["sysadmin"].headers
    )
    assert_problem(response, 500)
    monkeypatch.undo()
    assert member_view(client, world, obj["id"]) == obj
    assert deletion_events(client, world, obj["id"]) == []


def test_delete_unknown_object_is_404(client, world):
    assert_problem(
        client.delete(f"{ADMIN}/objects/delete/999999999", headers=world["sysadmin"].headers), 404
    )


# -- init_restore --------------------------------------------------------------------------------


def test_init_restore_queues_a_restore_item(client, world):
    obj = create(client, world, etag="b" * 32)
    add_file(obj, size=250)
    add_item(obj)  # the bag as last ingested: name <bag>.tar, etag "a" * 32
    headers = world["sysadmin"].headers
    response = client.post(f"{ADMIN}/objects/init_restore/{obj['id']}", headers=headers)
    assert response.status_code == 201, response.text
    item = response.json()
    assert response.headers["location"] == f"{ADMIN}/items/show/{item['id']}"
    assert (item["action"], item["stage"], item["status"]) == (
        "Restore Object",
        "Requested",
        "Pending",
    )
    assert item["user"] == world["sysadmin"].email
    assert (item["name"], item["etag"]) == (f"{obj['bag_name']}.tar", "a" * 32)
    assert item["size"] == 250 and item["intellectual_object_id"] == obj["id"]
    shown = client.get(f"{MEMBER}/items/show/{item['id']}", headers=world["inst_user"].headers)
    assert shown.json() == item

    again = client.post(f"{ADMIN}/objects/init_restore/{obj['id']}", headers=headers)
    assert "already pending" in assert_problem(again, 409)["detail"]


def test_init_restore_builds_from_the_object_and_knows_glacier(client, world):
    obj = create(client, world, storage_option="Glacier-VA", etag="c" * 32)
    response = client.post(
        f"{ADMIN}/objects/init_restore/{obj['id']}", headers=world["sysadmin"].headers
    )
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["action"] == "Glacier Restore"
    assert (item["name"], item["etag"]) == (f"{obj['bag_name']}.tar", "c" * 32)
    assert item["bucket"] == "aptrust.receiving.example.edu"


def test_init_restore_of_a_deleted_or_unknown_object(client, world):
    obj = create(client, world, state="D")
    headers = world["sysadmin"].headers
    assert_problem(client.post(f"{ADMIN}/objects/init_restore/{obj['id']}", headers=headers), 409)
    assert_problem(client.post(f"{ADMIN}/objects/init_restore/999999999", headers=headers), 404)


# -- who may call, and the documents -------------------------------------------------------------

REQUESTS = [
    ("post", "/objects/create/2"),
    ("put", "/objects/update/1"),
    ("delete", "/objects/delete/1"),
    ("post", "/objects/init_restore/1"),
]


@pytest.mark.parametrize("method, path", REQUESTS)
def test_credentials_and_sysadmin_role_are_required(client, world, method, path):
    before = client.get(f"{MEMBER}/objects/show/1", headers=world["sysadmin"].headers).json()
    kwargs = {"json": {"bogus": True}} if method in ("post", "put") else {}
    assert_problem(client.request(method.upper(), f"{ADMIN}{path}", **kwargs), 401)
    for persona in ("inst_admin", "inst_user"):
        response = client.request(
            method.upper(), f"{ADMIN}{path}", headers=world[persona].headers, **kwargs
        )
        assert "sysadmin" in assert_problem(response, 403)["detail"]
    after = client.get(f"{MEMBER}/objects/show/1", headers=world["sysadmin"].headers).json()
    assert after == before


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_operations_are_documented(operation_id):
    spec = load_spec(ADMIN_SPEC)
    [(path, op)] = [
        (p, o)
        for p, item in spec["paths"].items()
        for o in item.values()
        if o.get("operationId") == operation_id
    ]
    assert op["summary"] and op["description"] and op["tags"]
    responses = op["responses"]
    assert {"400", "401", "403", "404"} <= responses.keys()
    if operation_id != "update_object":
        assert "409" in responses
    for status, response in responses.items():
        if status.startswith("4"):
            name = response.get("$ref", "").rsplit("/", 1)[-1]
            resolved = spec["components"]["responses"][name] if name else response
            assert "application/problem+json" in resolved["content"], status


def test_the_spec_example_body_is_accepted(client, world):
    example = load_spec(ADMIN_SPEC)["components"]["schemas"]["ObjectCreate"]["example"]
    url = f"{ADMIN}/objects/create/{world.institutions['example.edu']}"
    first = client.post(url, json=example, headers=world["sysadmin"].headers)
    assert first.status_code in (201, 409), first.text  # 409: created earlier in this session
    again = client.post(url, json=example, headers=world["sysadmin"].headers)
    assert_problem(again, 409)  # valid, and now taken
