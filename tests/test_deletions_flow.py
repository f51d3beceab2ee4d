"""The deletion flow end to end: member requests, approval and cancellation, the admin batch
request, and the preconditions of the admin delete operations, on both backends.

Each test makes objects of its own (unique identifiers) in example.edu, whose only active
institutional admin is admin@example.edu (persona inst_admin): the session database is shared.
"""

from __future__ import annotations

import uuid

import pytest

from conftest import BATCH_DELETION_KEY
from models.caller import Caller
from models.deletion_writes import approve_deletion
from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.stats import refresh_object_stats
from models.storage.base import utcnow
from models.storage.db import connection, database
from models.user import User
from models.work_item import WorkItem
from tests.concurrency import at_once
from tests.deletion_setup import add_object_event
from tests.deletion_setup import approve_deletion as prepared_deletion
from tests.fixtures_api import assert_problem, error_names

MEMBER = "/member-api/v3"
ADMIN = "/admin-api/v3"


def make_object(
    institution_id: int,
    *,
    files: int = 2,
    storage: str = "Standard",
    ingested: bool = True,
    created_at=None,
) -> tuple[int, list[int]]:
    """An active object with `files` active files of 100 bytes each; (object id, file ids)."""
    identifier = f"example.edu/del-{uuid.uuid4().hex[:12]}"
    when = created_at or utcnow()
    with connection(), database.atomic():
        obj = IntellectualObject.create(
            title="deletion flow test",
            identifier=identifier,
            bag_name=identifier.split("/")[1],
            institution=institution_id,
            storage_option=storage,
            state="A",
            etag="e" * 32,
            created_at=when,
            updated_at=when,
        )
        file_ids = [
            GenericFile.create(
                file_format="text/plain",
                size=100,
                identifier=f"{identifier}/data/f{i}.txt",
                intellectual_object=obj,
                institution=institution_id,
                state="A",
                storage_option=storage,
                uuid=str(uuid.uuid4()),
                created_at=when,
                updated_at=when,
            ).id
            for i in range(files)
        ]
        refresh_object_stats([obj.id])
    if ingested:
        add_object_event(obj.id, "ingestion", when)
    return obj.id, file_ids


def post(client, world, path: str, persona: str = "inst_admin", **kwargs):
    return client.post(f"{MEMBER}{path}", headers=world[persona].headers, **kwargs)


def get(client, world, path: str, persona: str = "inst_admin", **params):
    response = client.get(f"{MEMBER}{path}", headers=world[persona].headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def requested(client, world, kind: str, key) -> dict:
    response = post(client, world, f"/{kind}/{key}/delete")
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{MEMBER}/deletions/show/{body['id']}"
    return body


def alerts_of(client, world, request_id: int, persona: str = "inst_admin") -> list[str]:
    rows = get(client, world, "/alerts", persona, per_page=1000)["results"]
    return sorted(r["type"] for r in rows if r["deletion_request_id"] == request_id)


def delete_items(client, world, object_id: int) -> list[dict]:
    return get(
        client, world, "/items", action="Delete", intellectual_object_id=object_id, per_page=100
    )["results"]


# -- asking --------------------------------------------------------------------------------------


def test_admin_requests_an_object_deletion(client, world, example_id):
    obj, _ = make_object(example_id)
    body = requested(client, world, "objects", obj)
    admin = world["inst_admin"]
    assert body["status"] == "Awaiting Approval"
    assert (body["file_count"], body["object_count"]) == (0, 1)
    assert (body["requested_by_id"], body["requested_by_email"]) == (admin.user_id, admin.email)
    assert body["confirmed_by_id"] is None and body["cancelled_by_id"] is None
    assert get(client, world, f"/deletions/show/{body['id']}") == body
    assert alerts_of(client, world, body["id"]) == ["Deletion Requested"]
    # Only the institution's admins are told: not its users.
    assert alerts_of(client, world, body["id"], "inst_user") == []


def test_request_by_identifier_and_for_a_file(client, world, example_id):
    obj, files = make_object(example_id)
    with connection():
        identifier = IntellectualObject.get_by_id(obj).identifier
    by_file = requested(client, world, "files", files[0])
    assert (by_file["file_count"], by_file["object_count"]) == (1, 0)
    # Another file of the object may be asked for too; the whole object as well.
    requested(client, world, "files", f"{identifier}/data/f1.txt")
    requested(client, world, "objects", identifier)
    # ...but now the object's request covers every file of it.
    refused = post(client, world, f"/files/{files[0]}/delete")
    assert "already covered" in assert_problem(refused, 409)["detail"]


@pytest.mark.parametrize("persona", ["inst_user", "sysadmin", "other_admin", "no_role"])
def test_only_the_institutions_admins_may_ask(client, world, example_id, persona):
    obj, files = make_object(example_id)
    for path in (f"/objects/{obj}/delete", f"/files/{files[0]}/delete"):
        # Another institution's admin learns nothing: 404, as for a record that does not exist.
        assert_problem(post(client, world, path, persona), 404 if persona == "other_admin" else 403)
    assert (
        get(client, world, "/deletions", per_page=1000)["count"]
        == get(client, world, "/deletions", per_page=1)["count"]
    )
    with connection():
        assert not WorkItem.select().where(WorkItem.intellectual_object == obj).exists()


def test_unknown_and_unauthenticated(client, world):
    for path in (
        "/objects/999999999/delete",
        "/files/999999999/delete",
        "/objects/example.edu/no-such-bag/delete",
        "/deletions/999999999/approve",
        "/deletions/999999999/cancel",
    ):
        assert_problem(post(client, world, path), 404)
        assert_problem(client.post(f"{MEMBER}{path}"), 401)
    assert error_names(assert_problem(post(client, world, "/deletions/abc/approve"), 400)) == {"id"}


def test_conflicts_when_asking(client, world, example_id):
    deleted, deleted_files = make_object(example_id)
    with connection():
        IntellectualObject.update(state="D").where(IntellectualObject.id == deleted).execute()
        GenericFile.update(state="D").where(GenericFile.id == deleted_files[0]).execute()
    assert (
        "deleted already"
        in assert_problem(post(client, world, f"/objects/{deleted}/delete"), 409)["detail"]
    )
    assert (
        "deleted already"
        in assert_problem(post(client, world, f"/files/{deleted_files[0]}/delete"), 409)["detail"]
    )

    busy, busy_files = make_object(example_id)
    restore = post(client, world, f"/objects/{busy}/restore")
    assert restore.status_code == 201, restore.text
    for path in (f"/objects/{busy}/delete", f"/files/{busy_files[0]}/delete"):
        problem = assert_problem(post(client, world, path), 409)
        assert f"#{restore.json()['id']} Restore Object (Pending)" in problem["detail"]
    with connection():
        WorkItem.update(status="Success").where(WorkItem.id == restore.json()["id"]).execute()
    first = requested(client, world, "objects", busy)
    again = assert_problem(post(client, world, f"/objects/{busy}/delete"), 409)
    assert f"deletion request(s) {first['id']}" in again["detail"]
    assert (again["existing_id"], again["existing"]) == (
        first["id"],
        f"{MEMBER}/deletions/show/{first['id']}",
    )
    # The admin API's batch request names it too, at the admin API's path.
    batched = assert_problem(
        batch(client, world["sysadmin"].headers, batch_body(world, [busy])), 409
    )
    assert (batched["existing_id"], batched["existing"]) == (
        first["id"],
        f"{ADMIN}/deletions/show/{first['id']}",
    )
    # A busy record names no request: `existing` is only for what the request would create.
    assert "existing_id" not in problem
    # Once cancelled, the object may be asked for again.
    assert post(client, world, f"/deletions/{first['id']}/cancel").status_code == 200
    requested(client, world, "objects", busy)


# -- deciding ------------------------------------------------------------------------------------


def test_approval_queues_one_delete_item_per_file_and_object(client, world, example_id):
    obj, files = make_object(example_id, files=3)
    file_request = requested(client, world, "files", files[0])
    object_request = requested(client, world, "objects", obj)
    admin = world["inst_admin"]
    for request, expected in ((file_request, [files[0]]), (object_request, [None])):
        response = post(client, world, f"/deletions/{request['id']}/approve")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "Approved"
        assert (body["confirmed_by_id"], body["confirmed_by_email"]) == (admin.user_id, admin.email)
        assert body["confirmed_at"] and body["cancelled_at"] is None
        items = [
            i for i in delete_items(client, world, obj) if i["deletion_request_id"] == request["id"]
        ]
        assert [i["generic_file_id"] for i in items] == expected
        for item in items:
            assert (item["action"], item["stage"], item["status"]) == (
                "Delete",
                "Requested",
                "Pending",
            )
            assert item["user"] == admin.email and item["inst_approver"] == admin.email
            assert item["size"] == (100 if item["generic_file_id"] else 300)
            assert item["name"].endswith(".tar") and item["institution_id"] == example_id
        assert alerts_of(client, world, request["id"]) == [
            "Deletion Confirmed",
            "Deletion Requested",
        ]
        alert = next(
            r
            for r in get(client, world, "/alerts", per_page=1000)["results"]
            if r["deletion_request_id"] == request["id"] and r["type"] == "Deletion Confirmed"
        )
        assert alert["user_id"] == admin.user_id
        for verb in ("approve", "cancel"):
            settled = post(client, world, f"/deletions/{request['id']}/{verb}")
            assert "approved already" in assert_problem(settled, 409)["detail"]
    assert len(delete_items(client, world, obj)) == 2


def test_cancellation(client, world, example_id):
    obj, _ = make_object(example_id)
    request = requested(client, world, "objects", obj)
    response = post(client, world, f"/deletions/{request['id']}/cancel")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "Rejected"
    assert body["cancelled_by_email"] == world["inst_admin"].email and body["cancelled_at"]
    assert body["confirmed_by_id"] is None
    assert alerts_of(client, world, request["id"]) == ["Deletion Cancelled", "Deletion Requested"]
    for verb in ("approve", "cancel"):
        settled = post(client, world, f"/deletions/{request['id']}/{verb}")
        assert "cancelled already" in assert_problem(settled, 409)["detail"]
    assert delete_items(client, world, obj) == []


@pytest.mark.parametrize("persona", ["inst_user", "sysadmin", "other_admin", "no_role"])
def test_only_the_institutions_admins_may_decide(client, world, example_id, persona):
    obj, _ = make_object(example_id)
    request = requested(client, world, "objects", obj)
    for verb in ("approve", "cancel"):
        assert_problem(
            post(client, world, f"/deletions/{request['id']}/{verb}", persona),
            404 if persona == "other_admin" else 403,
        )
    assert get(client, world, f"/deletions/show/{request['id']}")["status"] == ("Awaiting Approval")


def test_requester_may_not_approve_alone_when_another_admin_exists(client, world, example_id):
    obj, _ = make_object(example_id)
    request = requested(client, world, "objects", obj)
    with connection():
        second = User.create(
            email=f"second-{uuid.uuid4().hex[:8]}@example.edu",
            name="Second Admin",
            role="institutional_admin",
            institution=example_id,
        )
    try:
        refused = assert_problem(post(client, world, f"/deletions/{request['id']}/approve"), 403)
        assert "another institutional admin" in refused["detail"]
        # Cancelling one's own request stays allowed.
        persona = world["inst_admin"]
        caller = Caller(second.id, second.email, second.role, example_id)
        with connection():
            approved = approve_deletion(caller, request["id"])
        assert approved["confirmed_by_email"] == second.email
        items = delete_items(client, world, obj)
        assert [(i["user"], i["inst_approver"]) for i in items] == [(persona.email, second.email)]
    finally:
        with connection():
            User.update(deactivated_at=utcnow()).where(User.id == second.id).execute()


def test_concurrent_approvals_create_one_set_of_work_items(client, world, example_id, app):
    """Many threads, each with its own connection, approve the same request at once."""
    obj, files = make_object(example_id, files=3)
    request = requested(client, world, "objects", obj)
    persona = world["inst_admin"]
    caller = Caller(persona.user_id, persona.email, persona.role, persona.institution_id)
    outcomes = [
        type(o.error).__name__ if o.error else "approved"
        for o in at_once([lambda: approve_deletion(caller, request["id"])] * 6)
    ]
    assert sorted(outcomes) == ["Conflict"] * 5 + ["approved"]
    assert len(delete_items(client, world, obj)) == 1
    assert alerts_of(client, world, request["id"]) == ["Deletion Confirmed", "Deletion Requested"]


# -- the admin API's batch request ---------------------------------------------------------------


def batch(client, admin, body):
    return client.post(f"{ADMIN}/objects/init_batch_delete", json=body, headers=admin)


def batch_body(world, object_ids, **changes) -> dict:
    return {
        "institutionId": world.institutions["example.edu"],
        "requestorId": world["inst_admin"].user_id,
        "objectIds": object_ids,
        "secretKey": BATCH_DELETION_KEY,
        **changes,
    }


def test_batch_request(client, world, admin, example_id):
    objects = [make_object(example_id)[0] for _ in range(3)]
    response = batch(client, admin, batch_body(world, objects + objects[:1]))
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{ADMIN}/deletions/show/{body['id']}"
    assert (body["object_count"], body["file_count"], body["status"]) == (3, 0, "Awaiting Approval")
    assert body["requested_by_email"] == world["inst_admin"].email
    assert get(client, world, f"/deletions/show/{body['id']}") == body
    assert alerts_of(client, world, body["id"]) == ["Deletion Requested"]
    again = batch(client, admin, batch_body(world, objects[2:]))
    assert "already covered" in assert_problem(again, 409)["detail"]
    approved = post(client, world, f"/deletions/{body['id']}/approve")
    assert approved.status_code == 200, approved.text
    for obj in objects:
        [item] = delete_items(client, world, obj)
        assert item["deletion_request_id"] == body["id"]


def test_batch_request_checks(client, world, admin, example_id):
    obj, _ = make_object(example_id)
    other = world.institutions["test.edu"]
    foreign, _ = make_object(other)
    gone, _ = make_object(example_id)
    with connection():
        IntellectualObject.update(state="D").where(IntellectualObject.id == gone).execute()
    wrong_key = assert_problem(
        batch(client, admin, batch_body(world, [obj], secretKey=str(uuid.uuid4()))), 422
    )
    assert error_names(wrong_key) == {"secretKey"}
    assert error_names(
        assert_problem(batch(client, admin, batch_body(world, [obj], secretKey="not-a-uuid")), 400)
    ) == {"secretKey"}
    assert error_names(
        assert_problem(batch(client, admin, batch_body(world, [obj], requestorId=999999999)), 404)
    ) == {"requestorId"}
    assert error_names(
        assert_problem(batch(client, admin, batch_body(world, [obj], institutionId=999999999)), 404)
    ) == {"institutionId"}
    for persona in ("inst_user", "other_admin", "sysadmin"):
        problem = assert_problem(
            batch(client, admin, batch_body(world, [obj], requestorId=world[persona].user_id)), 422
        )
        assert error_names(problem) == {"requestorId"}
    bad = assert_problem(
        batch(client, admin, batch_body(world, [obj, foreign, gone, 999999999])), 422
    )
    assert error_names(bad) == {"objectIds"}
    for bad_id in (foreign, gone, 999999999):
        assert str(bad_id) in bad["errors"][0]["message"]
    assert str(obj) not in bad["errors"][0]["message"].split(": ", 1)[1].split(", ")
    busy = post(client, world, f"/objects/{obj}/restore")
    assert busy.status_code == 201
    assert (
        "Restore Object (Pending)"
        in assert_problem(batch(client, admin, batch_body(world, [obj])), 409)["detail"]
    )
    with connection():
        assert (
            not IntellectualObject.select().where(IntellectualObject.id == obj).get().state == "D"
        )
    # Schema: camelCase keys, all required, no others.
    names = error_names(assert_problem(batch(client, admin, {"institution_id": 2}), 400))
    assert {"institutionId", "requestorId", "objectIds", "secretKey"} <= names


def client_with_key(database_url, key):
    """A second app on the session's database whose settings carry another batch deletion key."""
    from models.storage.db import database
    from registry.app import create_app
    from registry.settings import Settings

    bound = database.obj
    other = create_app(Settings(database_url=database_url, batch_deletion_key=key, db_pool_size=16))
    database.initialize(bound)  # both apps share the session's database handle
    return other.test_client()


def test_batch_request_needs_a_configured_key_and_a_sysadmin(
    client, world, admin, example_id, database_url
):
    obj, _ = make_object(example_id)
    body = batch_body(world, [obj])
    for persona in ("inst_admin", "inst_user"):
        assert_problem(batch(client, world[persona].headers, body), 403)
    assert_problem(client.post(f"{ADMIN}/objects/init_batch_delete", json=body), 401)
    unconfigured = client_with_key(database_url, None)
    assert (
        "REGISTRY_BATCH_DELETION_KEY"
        in assert_problem(batch(unconfigured, admin, body), 503)["detail"]
    )
    assert_problem(batch(client_with_key(database_url, "not-a-uuid"), admin, body), 503)


# -- the admin delete operations' preconditions --------------------------------------------------


def admin_delete(client, admin, kind: str, record_id: int):
    return client.delete(f"{ADMIN}/{kind}/delete/{record_id}", headers=admin)


def test_file_delete_preconditions(client, world, admin, example_id):
    obj, files = make_object(example_id, files=4)
    refused = assert_problem(admin_delete(client, admin, "files", files[0]), 409)
    assert "no Delete work item with status Started" in refused["detail"]
    prepared_deletion(obj, files[0], status="Pending")
    assert (
        "Started" in assert_problem(admin_delete(client, admin, "files", files[0]), 409)["detail"]
    )
    item = prepared_deletion(obj, files[1], confirmed=False)
    assert (
        "not belong to an approved"
        in assert_problem(admin_delete(client, admin, "files", files[1]), 409)["detail"]
    )
    with connection():
        WorkItem.update(inst_approver="").where(WorkItem.id == item).execute()
    assert (
        "no institutional approver"
        in assert_problem(admin_delete(client, admin, "files", files[1]), 409)["detail"]
    )
    # An object-level Delete item covers every file of the object; a file-level one only its own.
    prepared_deletion(obj, files[2])
    assert_problem(admin_delete(client, admin, "files", files[3]), 409)
    assert admin_delete(client, admin, "files", files[2]).status_code == 200
    prepared_deletion(obj)
    response = admin_delete(client, admin, "files", files[3])
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "D"


@pytest.mark.parametrize(
    "storage, days",
    [("Glacier-VA", 90), ("Glacier-Deep-OR", 180), ("Wasabi-OR", 90), ("Wasabi-VA", 90)],
)
def test_retention_periods(client, world, admin, example_id, storage, days):
    import datetime as dt

    young, young_files = make_object(
        example_id, files=1, storage=storage, created_at=utcnow() - dt.timedelta(days=days - 1)
    )
    old, old_files = make_object(
        example_id, files=1, storage=storage, created_at=utcnow() - dt.timedelta(days=days + 1)
    )
    for obj in (young, old):
        prepared_deletion(obj)
    refused = assert_problem(admin_delete(client, admin, "files", young_files[0]), 409)
    assert f"{days}-day minimum retention of {storage}" in refused["detail"]
    assert admin_delete(client, admin, "files", old_files[0]).status_code == 200
    with connection():
        GenericFile.update(state="D").where(GenericFile.id == young_files[0]).execute()
        refresh_object_stats([young])
    assert (
        "retention" in assert_problem(admin_delete(client, admin, "objects", young), 409)["detail"]
    )
    assert admin_delete(client, admin, "objects", old).status_code == 200


@pytest.mark.parametrize("storage", ["Standard", "Wasabi-TX"])
def test_no_retention_for_standard_and_wasabi_tx(client, world, admin, example_id, storage):
    obj, files = make_object(example_id, files=1, storage=storage)
    prepared_deletion(obj)
    assert admin_delete(client, admin, "files", files[0]).status_code == 200
    assert admin_delete(client, admin, "objects", obj).status_code == 200


def test_object_delete_preconditions(client, world, admin, example_id):
    import datetime as dt

    never, _ = make_object(example_id, files=0, ingested=False)
    prepared_deletion(never, ingested=False)
    assert (
        "no object-level ingestion event"
        in assert_problem(admin_delete(client, admin, "objects", never), 409)["detail"]
    )

    gone, _ = make_object(example_id, files=0)
    add_object_event(gone, "deletion", utcnow() + dt.timedelta(seconds=1))
    prepared_deletion(gone, ingested=False)
    assert (
        "deletion event later than its last ingestion"
        in assert_problem(admin_delete(client, admin, "objects", gone), 409)["detail"]
    )

    unapproved, _ = make_object(example_id, files=0)
    assert (
        "no Delete work item"
        in assert_problem(admin_delete(client, admin, "objects", unapproved), 409)["detail"]
    )
    # A Started Delete item of one of its files is not an approval of the whole object.
    with_file, files = make_object(example_id, files=1)
    prepared_deletion(with_file, files[0])
    assert admin_delete(client, admin, "files", files[0]).status_code == 200
    assert (
        "no Delete work item"
        in assert_problem(admin_delete(client, admin, "objects", with_file), 409)["detail"]
    )


# -- the whole flow, read back through the member API --------------------------------------------


def test_request_approve_delete_files_then_object(client, world, admin, example_id):
    obj, files = make_object(example_id, files=2)
    request = requested(client, world, "objects", obj)
    assert post(client, world, f"/deletions/{request['id']}/approve").status_code == 200
    [item] = delete_items(client, world, obj)
    # The deletion services start the item, then delete the files and the object.
    body = {
        k: v
        for k, v in item.items()
        if k
        in (
            "name",
            "etag",
            "bucket",
            "user",
            "note",
            "action",
            "stage",
            "outcome",
            "bag_date",
            "date_processed",
            "retry",
            "needs_admin_review",
            "size",
            "intellectual_object_id",
            "institution_id",
            "inst_approver",
            "deletion_request_id",
        )
    }
    started = client.put(
        f"{ADMIN}/items/update/{item['id']}",
        headers=admin,
        json={**body, "id": item["id"], "status": "Started", "stage": "Resolve"},
    )
    assert started.status_code == 200, started.text
    assert (
        "active file" in assert_problem(admin_delete(client, admin, "objects", obj), 409)["detail"]
    )
    for file_id in files:
        response = admin_delete(client, admin, "files", file_id)
        assert response.status_code == 200, response.text
        assert response.json()["storage_records"] == []
    shown = get(client, world, f"/objects/show/{obj}")
    assert (shown["state"], shown["file_count"], shown["size"]) == ("A", 0, 0)
    response = admin_delete(client, admin, "objects", obj)
    assert response.status_code == 200, response.text
    shown = get(client, world, f"/objects/show/{obj}")
    assert (shown["state"], shown["file_count"], shown["size"], shown["payload_size"]) == (
        "D",
        0,
        0,
        0,
    )
    assert shown == response.json()

    assert get(client, world, f"/deletions/show/{request['id']}")["status"] == "Approved"
    assert [i["status"] for i in delete_items(client, world, obj)] == ["Started"]
    assert alerts_of(client, world, request["id"]) == ["Deletion Confirmed", "Deletion Requested"]
    events = get(
        client, world, "/events", intellectual_object_id=obj, event_type="deletion", per_page=100
    )["results"]
    assert len(events) == 3
    assert {e["generic_file_id"] for e in events} == {*files, None}
    for event in events:
        assert event["outcome_detail"] == world["inst_admin"].email
        assert f"approved by {world['inst_admin'].email}" in event["outcome_information"]
    listed = get(client, world, "/files", intellectual_object_id=obj)["results"]
    assert {f["state"] for f in listed} == {"D"}
    assert post(client, world, f"/objects/{obj}/delete").status_code == 409


def test_concurrent_requests_file_one_request(client, world, example_id, app):
    """Simultaneous requests for one object: one is filed, the others see it (409)."""
    from models.deletion_writes import request_object_deletion

    obj, _ = make_object(example_id)
    persona = world["inst_admin"]
    caller = Caller(persona.user_id, persona.email, persona.role, persona.institution_id)
    outcomes = [
        type(o.error).__name__ if o.error else "filed"
        for o in at_once([lambda: request_object_deletion(caller, str(obj))] * 6)
    ]
    assert sorted(outcomes) == ["Conflict"] * 5 + ["filed"]
    listed = get(client, world, "/deletions", status="Awaiting Approval", per_page=1000)
    with connection():
        from models.deletion_request import DeletionRequestObject as DO

        ids = {r.deletion_request_id for r in DO.select().where(DO.intellectual_object == obj)}
    assert len(ids) == 1 and ids <= {r["id"] for r in listed["results"]}


def test_demo_has_the_records_the_spec_examples_name(client, world):
    """The spec's examples of the delete operations and of approve/cancel answer 2xx on a fresh
    demo database: checked here without changing anything (the contract suite calls them)."""
    from models.deletion_checks import check_file, check_object
    from models.file_writes import stored_file

    with connection():
        approval = check_file(stored_file(15))
        assert approval.approver == "admin@example.edu"
        check_object(IntellectualObject.get_by_id(7))
    # The contract run of the deletion flow decides them, and undoes that when it ends.
    for request_id, counts in ((8, (0, 1)), (9, (1, 0))):
        shown = get(client, world, f"/deletions/show/{request_id}")
        assert shown["status"] == "Awaiting Approval"
        assert shown["requested_by_email"] == world["inst_admin"].email
        assert (shown["file_count"], shown["object_count"]) == counts
