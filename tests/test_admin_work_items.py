"""Admin writes of work items: create, update, requeue.

Every write is read back through the member API, as a member of the owning institution sees it.
Each test makes work items (and objects) of its own: the session database is shared.
"""

from __future__ import annotations

import uuid

import pytest

from models.deletion_request import DeletionRequest
from models.storage.db import connection
from models.work_item import WorkItem
from registry.spec import ADMIN_SPEC, load_spec
from tests.fixtures_api import assert_problem, error_names
from tests.test_admin_objects import add_file, create

ADMIN = "/admin-api/v3"
MEMBER = "/member-api/v3"
OPERATIONS = ("create_work_item", "update_work_item", "requeue_work_item")
INGEST_STAGES = [
    "Receive",
    "Validate",
    "Reingest Check",
    "Copy To Staging",
    "Format Identification",
    "Store",
    "Storage Validation",
    "Record",
    "Cleanup",
]


def item_body(**fields) -> dict:
    return {
        "name": f"bag-{uuid.uuid4().hex[:12]}.tar",
        "etag": "0" * 32,
        "bucket": "aptrust.receiving.example.edu",
        "user": "user@example.edu",
        "action": "Ingest",
        "stage": "Receive",
        "status": "Pending",
        "bag_date": "2024-05-01T10:00:00Z",
        "date_processed": "2024-05-02T11:30:00+01:00",
        **fields,
    }


def post_item(client, world, body: dict, institution: str = "example.edu"):
    return client.post(
        f"{ADMIN}/items/create/{world.institutions[institution]}",
        json=body,
        headers=world["sysadmin"].headers,
    )


def new_item(client, world, institution: str = "example.edu", **fields) -> dict:
    response = post_item(client, world, item_body(**fields), institution)
    assert response.status_code == 201, response.text
    return response.json()


def member_item(client, world, item_id: int, persona: str = "inst_user") -> dict:
    response = client.get(f"{MEMBER}/items/show/{item_id}", headers=world[persona].headers)
    assert response.status_code == 200, response.text
    return response.json()


def items_named(name: str) -> int:
    with connection():
        return WorkItem.select().where(WorkItem.name == name).count()


def update_body(item: dict, **changes) -> dict:
    keep = ("bucket", "user", "stage", "status", "bag_date", "date_processed")
    return {**{k: item[k] for k in keep}, **changes}


# -- create --------------------------------------------------------------------------------------


def test_create_work_item_stores_it_with_defaults(client, world):
    body = item_body()
    response = post_item(client, world, body)
    assert response.status_code == 201, response.text
    item = response.json()
    assert response.headers["location"] == f"{ADMIN}/items/show/{item['id']}"
    for name in ("name", "etag", "bucket", "user", "action", "stage", "status"):
        assert item[name] == body[name], name
    assert item["bag_date"] == "2024-05-01T10:00:00Z"
    assert item["date_processed"] == "2024-05-02T10:30:00Z"  # stored in UTC
    assert (item["retry"], item["needs_admin_review"], item["pid"], item["size"]) == (
        False,
        False,
        0,
        0,
    )
    assert item["intellectual_object_id"] is None and item["note"] is None
    assert item["institution_identifier"] == "example.edu"
    assert item["created_at"] == item["updated_at"]
    assert member_item(client, world, item["id"]) == item
    assert_problem(
        client.get(f"{MEMBER}/items/show/{item['id']}", headers=world["other_user"].headers), 404
    )


def test_create_work_item_for_a_file_links_its_object(client, world):
    obj = create(client, world)
    file_id = add_file(obj)
    item = new_item(
        client,
        world,
        action="Restore File",
        stage="Requested",
        generic_file_id=file_id,
        size=100,
        retry=True,
        note="asked",
        queued_at="2024-05-03T00:00:00Z",
        aptrust_approver="staff@aptrust.org",
    )
    assert item["intellectual_object_id"] == obj["id"]
    assert item["object_identifier"] == obj["identifier"]
    assert item["generic_file_identifier"] == f"{obj['identifier']}/data/a.txt"
    assert (item["size"], item["retry"], item["note"]) == (100, True, "asked")
    assert item["queued_at"] == "2024-05-03T00:00:00Z"
    assert member_item(client, world, item["id"]) == item


def test_create_work_item_reads_go_zero_values_as_none(client, world):
    item = new_item(
        client,
        world,
        id=0,
        intellectual_object_id=0,
        generic_file_id=0,
        deletion_request_id=0,
        queued_at="0001-01-01T00:00:00Z",
        stage_started_at="0001-01-01T00:00:00Z",
        institution_id=world.institutions["example.edu"],
    )
    assert item["intellectual_object_id"] is None and item["generic_file_id"] is None
    assert item["deletion_request_id"] is None
    assert item["queued_at"] is None and item["stage_started_at"] is None


# 400: the schema refuses the body; 422: the schema accepts it, a rule of the registry does not.
@pytest.mark.parametrize(
    "fields, field, status",
    [
        ({"name": ""}, "name", 400),
        ({"name": "   "}, "name", 422),
        ({"name": "n" * 1001}, "name", 400),
        ({"etag": "e" * 31}, "etag", 400),
        ({"etag": "e" * 41}, "etag", 400),
        ({"bucket": ""}, "bucket", 400),
        ({"bucket": " "}, "bucket", 422),
        ({"user": "not-an-email"}, "user", 400),
        ({"inst_approver": "nobody"}, "inst_approver", 400),
        ({"action": "Fixity"}, "action", 400),
        ({"stage": "Nowhere"}, "stage", 400),
        ({"status": "Done"}, "status", 400),
        ({"bag_date": "yesterday"}, "bag_date", 400),
        ({"bag_date": "0001-01-01T00:00:00Z"}, "bag_date", 422),
        ({"date_processed": None}, "date_processed", 400),
        ({"pid": -1}, "pid", 400),
        ({"size": -5}, "size", 400),
        ({"node": "n" * 256}, "node", 400),
        ({"id": 12}, "id", 422),
        ({"institution_id": 1}, "institution_id", 422),
        ({"colour": "blue"}, "colour", 400),
        ({"note": "a\x00b"}, "note", 422),  # valid JSON, but PostgreSQL cannot store U+0000
    ],
)
def test_create_work_item_rules_name_the_field(client, world, fields, field, status):
    body = item_body(**fields)
    response = post_item(client, world, body)
    assert error_names(assert_problem(response, status)) == {field}
    assert items_named(body["name"]) == 0


@pytest.mark.parametrize(
    "field",
    ["name", "etag", "bucket", "user", "action", "stage", "status", "bag_date", "date_processed"],
)
def test_create_work_item_required_fields(client, world, field):
    body = item_body()
    del body[field]
    assert error_names(assert_problem(post_item(client, world, body), 400)) == {field}


def test_create_work_item_references_must_exist(client, world):
    for field in ("intellectual_object_id", "generic_file_id", "deletion_request_id"):
        body = item_body(**{field: 999999999})
        problem = assert_problem(post_item(client, world, body), 404)
        assert error_names(problem) == {field}
        assert items_named(body["name"]) == 0


def test_create_work_item_references_must_belong_to_the_institution(client, world):
    foreign = create(client, world, "test.edu")
    foreign_file = add_file(foreign)
    with connection():
        foreign_request = DeletionRequest.get(
            DeletionRequest.institution == world.institutions["test.edu"]
        ).id
    for field, value in (
        ("intellectual_object_id", foreign["id"]),
        ("generic_file_id", foreign_file),
        ("deletion_request_id", foreign_request),
    ):
        body = item_body(**{field: value})
        assert error_names(assert_problem(post_item(client, world, body), 422)) == {field}
        assert items_named(body["name"]) == 0


def test_create_work_item_file_must_belong_to_its_object(client, world):
    one, other = create(client, world), create(client, world)
    body = item_body(intellectual_object_id=one["id"], generic_file_id=add_file(other))
    assert error_names(assert_problem(post_item(client, world, body), 422)) == {"generic_file_id"}


def test_second_unfinished_restore_of_an_object_is_409(client, world):
    obj = create(client, world)
    first = new_item(
        client, world, action="Restore Object", stage="Requested", intellectual_object_id=obj["id"]
    )
    body = item_body(action="Restore Object", stage="Requested", intellectual_object_id=obj["id"])
    assert_problem(post_item(client, world, body), 409)
    assert items_named(body["name"]) == 0
    listed = client.get(
        f"{MEMBER}/items",
        headers=world["inst_user"].headers,
        params={"intellectual_object_id": obj["id"]},
    ).json()
    assert [r["id"] for r in listed["results"]] == [first["id"]]


def test_create_work_item_in_an_unknown_institution_is_404(client, world):
    body = item_body()
    response = client.post(
        f"{ADMIN}/items/create/999999", json=body, headers=world["sysadmin"].headers
    )
    assert_problem(response, 404)
    assert items_named(body["name"]) == 0


# -- update --------------------------------------------------------------------------------------


def test_update_work_item_replaces_its_progress(client, world):
    item = new_item(client, world, note="queued", node="worker-1", pid=42, retry=True)
    body = update_body(
        item,
        stage="Validate",
        status="Started",
        outcome="Validating",
        stage_started_at="2024-05-04T08:00:00Z",
        size=2048,
    )
    response = client.put(
        f"{ADMIN}/items/update/{item['id']}", json=body, headers=world["sysadmin"].headers
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["stage"], updated["status"], updated["outcome"]) == (
        "Validate",
        "Started",
        "Validating",
    )
    assert updated["stage_started_at"] == "2024-05-04T08:00:00Z" and updated["size"] == 2048
    # Left out: null or default; immutable fields kept.
    assert (updated["note"], updated["node"], updated["pid"], updated["retry"]) == (
        None,
        None,
        0,
        False,
    )
    assert (updated["name"], updated["etag"], updated["action"]) == (
        item["name"],
        item["etag"],
        item["action"],
    )
    assert updated["created_at"] == item["created_at"]
    assert updated["updated_at"] >= item["updated_at"]
    assert member_item(client, world, item["id"]) == updated


def test_update_work_item_accepts_a_record_read_from_the_api(client, world):
    item = new_item(client, world)
    shown = member_item(client, world, item["id"])
    shown["status"] = "Started"
    shown["institution_name"] = "ignored"
    response = client.put(
        f"{ADMIN}/items/update/{item['id']}", json=shown, headers=world["sysadmin"].headers
    )
    assert response.status_code == 200, response.text
    assert member_item(client, world, item["id"])["status"] == "Started"


def test_update_work_item_links_an_ingest_to_its_object_once(client, world):
    item = new_item(client, world)
    obj, other = create(client, world), create(client, world)
    headers = world["sysadmin"].headers
    linked = client.put(
        f"{ADMIN}/items/update/{item['id']}",
        headers=headers,
        json=update_body(item, intellectual_object_id=obj["id"]),
    )
    assert linked.status_code == 200, linked.text
    assert member_item(client, world, item["id"])["object_identifier"] == obj["identifier"]
    for value in (other["id"], None):
        moved = client.put(
            f"{ADMIN}/items/update/{item['id']}",
            headers=headers,
            json=update_body(item, intellectual_object_id=value),
        )
        assert error_names(assert_problem(moved, 422)) == {"intellectual_object_id"}
    assert member_item(client, world, item["id"])["intellectual_object_id"] == obj["id"]


@pytest.mark.parametrize(
    "change, field, status",
    [
        ({"name": "renamed.tar"}, "name", 422),
        ({"etag": "f" * 32}, "etag", 422),
        ({"action": "Delete"}, "action", 422),
        ({"id": 1}, "id", 422),
        ({"institution_id": 3}, "institution_id", 422),
        ({"generic_file_id": None}, "generic_file_id", 422),
        ({"bucket": "  "}, "bucket", 422),
    ],
)
def test_update_work_item_refuses_what_cannot_change(client, world, change, field, status):
    obj = create(client, world)
    item = new_item(client, world, generic_file_id=add_file(obj))
    response = client.put(
        f"{ADMIN}/items/update/{item['id']}",
        headers=world["sysadmin"].headers,
        json=update_body(item, status="Started", **change),
    )
    assert error_names(assert_problem(response, status)) == {field}
    assert member_item(client, world, item["id"]) == item  # nothing written


def test_update_work_item_with_unchanged_identity_fields(client, world):
    item = new_item(client, world)
    body = update_body(
        item,
        status="Success",
        **{
            k: item[k]
            for k in ("id", "institution_id", "name", "etag", "action", "intellectual_object_id")
        },
    )
    response = client.put(
        f"{ADMIN}/items/update/{item['id']}", json=body, headers=world["sysadmin"].headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "Success"


def test_update_work_item_cannot_make_a_second_pending_restore(client, world):
    obj = create(client, world)
    restore = {
        "action": "Restore Object",
        "stage": "Requested",
        "intellectual_object_id": obj["id"],
    }
    done = new_item(client, world, status="Success", **restore)
    new_item(client, world, **restore)
    response = client.put(
        f"{ADMIN}/items/update/{done['id']}",
        headers=world["sysadmin"].headers,
        json=update_body(done, status="Pending"),
    )
    assert_problem(response, 409)
    assert member_item(client, world, done["id"])["status"] == "Success"


def test_update_unknown_work_item_is_404(client, world):
    response = client.put(
        f"{ADMIN}/items/update/999999999",
        headers=world["sysadmin"].headers,
        json=update_body(item_body()),
    )
    assert_problem(response, 404)


# -- requeue -------------------------------------------------------------------------------------


def test_requeue_sends_an_ingest_back_to_a_stage(client, world):
    item = new_item(
        client,
        world,
        stage="Store",
        status="Failed",
        node="worker-2",
        pid=7,
        outcome="Storage failed",
        needs_admin_review=True,
    )
    response = client.put(
        f"{ADMIN}/items/requeue/{item['id']}",
        json={"stage": "Validate"},
        headers=world["sysadmin"].headers,
    )
    assert response.status_code == 200, response.text
    requeued = response.json()
    assert (requeued["stage"], requeued["status"], requeued["retry"]) == (
        "Validate",
        "Pending",
        True,
    )
    assert (requeued["needs_admin_review"], requeued["node"], requeued["pid"]) == (False, None, 0)
    assert (requeued["outcome"], requeued["note"]) == ("", "Requeued for Validate")
    assert requeued["created_at"] == item["created_at"]
    assert member_item(client, world, item["id"]) == requeued


@pytest.mark.parametrize("stage", INGEST_STAGES)
def test_an_ingest_may_go_back_to_any_ingest_stage(client, world, stage):
    item = new_item(client, world, status="Failed")
    response = client.put(
        f"{ADMIN}/items/requeue/{item['id']}",
        json={"stage": stage},
        headers=world["sysadmin"].headers,
    )
    assert response.status_code == 200, response.text
    assert member_item(client, world, item["id"])["stage"] == stage


def test_an_ingest_cannot_go_to_another_stage_but_a_restore_can(client, world):
    headers = world["sysadmin"].headers
    ingest = new_item(client, world, status="Failed")
    refused = client.put(
        f"{ADMIN}/items/requeue/{ingest['id']}", json={"stage": "Requested"}, headers=headers
    )
    assert error_names(assert_problem(refused, 422)) == {"stage"}
    assert member_item(client, world, ingest["id"]) == ingest
    obj = create(client, world)
    restore = new_item(
        client,
        world,
        action="Restore Object",
        stage="Restoring",
        status="Failed",
        intellectual_object_id=obj["id"],
    )
    response = client.put(
        f"{ADMIN}/items/requeue/{restore['id']}", json={"stage": "Requested"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert member_item(client, world, restore["id"])["status"] == "Pending"


@pytest.mark.parametrize(
    "body, field",
    [({"stage": "Nowhere"}, "stage"), ({}, "stage"), ({"stage": "Receive", "x": 1}, "x")],
)
def test_requeue_body_is_validated(client, world, body, field):
    item = new_item(client, world, status="Failed")
    response = client.put(
        f"{ADMIN}/items/requeue/{item['id']}", json=body, headers=world["sysadmin"].headers
    )
    assert error_names(assert_problem(response, 400)) == {field}
    assert member_item(client, world, item["id"]) == item


def test_requeue_cannot_make_a_second_pending_restore(client, world):
    obj = create(client, world)
    restore = {
        "action": "Restore Object",
        "stage": "Restoring",
        "intellectual_object_id": obj["id"],
    }
    failed = new_item(client, world, status="Failed", **restore)
    new_item(client, world, status="Started", **restore)
    response = client.put(
        f"{ADMIN}/items/requeue/{failed['id']}",
        json={"stage": "Requested"},
        headers=world["sysadmin"].headers,
    )
    assert_problem(response, 409)
    assert member_item(client, world, failed["id"]) == failed


def test_requeue_unknown_work_item_is_404(client, world):
    response = client.put(
        f"{ADMIN}/items/requeue/999999999",
        json={"stage": "Receive"},
        headers=world["sysadmin"].headers,
    )
    assert_problem(response, 404)


# -- who may call, and the documents -------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [("POST", "/items/create/2"), ("PUT", "/items/update/1"), ("PUT", "/items/requeue/1")],
)
def test_credentials_and_sysadmin_role_are_required(client, world, method, path):
    before = client.get(f"{MEMBER}/items/show/1", headers=world["sysadmin"].headers).json()
    assert_problem(client.request(method, f"{ADMIN}{path}", json={"stage": "Receive"}), 401)
    for persona in ("inst_admin", "inst_user"):
        response = client.request(
            method, f"{ADMIN}{path}", json={"stage": "Receive"}, headers=world[persona].headers
        )
        assert "sysadmin" in assert_problem(response, 403)["detail"]
    assert client.get(f"{MEMBER}/items/show/1", headers=world["sysadmin"].headers).json() == before


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_operations_are_documented(operation_id):
    spec = load_spec(ADMIN_SPEC)
    [op] = [
        o
        for item in spec["paths"].values()
        for o in item.values()
        if o.get("operationId") == operation_id
    ]
    assert op["summary"] and op["description"] and op["tags"] == ["Work Items"]
    assert {"400", "401", "403", "404", "409"} <= op["responses"].keys()
    for status, response in op["responses"].items():
        if status.startswith("4"):
            name = response.get("$ref", "").rsplit("/", 1)[-1]
            resolved = spec["components"]["responses"][name] if name else response
            assert "application/problem+json" in resolved["content"], status


def test_the_spec_example_bodies_are_accepted(client, world):
    schemas = load_spec(ADMIN_SPEC)["components"]["schemas"]
    created = post_item(client, world, schemas["WorkItemCreate"]["example"])
    assert created.status_code == 201, created.text
    requeued = client.put(
        f"{ADMIN}/items/requeue/{created.json()['id']}",
        json=schemas["WorkItemRequeue"]["example"],
        headers=world["sysadmin"].headers,
    )
    assert requeued.status_code == 200, requeued.text
