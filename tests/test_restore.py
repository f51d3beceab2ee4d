"""Restoration requests: POST /objects/{id}/restore and /files/{id}/restore.

Each test restores objects or files of its own (made here), so that no other test's state or
the pending restore of a previous test changes the outcome.
"""

from __future__ import annotations

import itertools
import uuid

import peewee
import pytest

from models.caller import Caller
from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.restore import restore_object
from models.stats import refresh_object_stats
from models.storage.base import utcnow
from models.storage.db import connection, database
from models.work_item import WorkItem
from tests.concurrency import at_once

BASE = "/member-api/v3"
_serial = itertools.count(1)


def make_object(institution_id: int, *, state="A", storage="Standard", files=2, ingested=True):
    """An object of `files` active files (one of them in data/), optionally with its ingest."""
    n = next(_serial)
    identifier = f"example.edu/restore-{uuid.uuid4().hex[:8]}-{n}"
    with connection(), database.atomic():
        obj = IntellectualObject.create(
            title=f"restore test {n}",
            identifier=identifier,
            bag_name=identifier.split("/")[1],
            institution=institution_id,
            state=state,
            etag="e" * 32,
            storage_option=storage,
        )
        for i in range(files):
            path = f"{identifier}/data/f{i}.txt" if i else f"{identifier}/bagit.txt"
            GenericFile.create(
                file_format="text/plain",
                size=100 + i,
                identifier=path,
                intellectual_object=obj,
                institution=institution_id,
                storage_option=storage,
                uuid=str(uuid.uuid4()),
                state="A" if state == "A" else "D",
            )
        if ingested:
            WorkItem.create(
                intellectual_object=obj,
                name=f"{obj.bag_name}-ingested.tar",
                etag="f" * 32,
                bucket="aptrust.receiving.example.edu",
                user="admin@example.edu",
                action="Ingest",
                stage="Cleanup",
                status="Success",
                bag_date=utcnow(),
                date_processed=utcnow(),
                institution=institution_id,
            )
        refresh_object_stats([obj.id])
    return IntellectualObject.get_by_id(obj.id)


def test_object_restore_creates_one_pending_work_item(client, world, example_id):
    obj = make_object(example_id)
    persona = world["inst_user"]
    response = client.post(f"{BASE}/objects/{obj.identifier}/restore", headers=persona.headers)
    assert response.status_code == 201, response.text
    item = response.json()
    assert response.headers["location"] == f"{BASE}/items/show/{item['id']}"
    assert item["action"] == "Restore Object"
    assert (item["stage"], item["status"]) == ("Requested", "Pending")
    assert item["user"] == persona.email
    assert item["intellectual_object_id"] == obj.id
    assert item["object_identifier"] == obj.identifier
    assert item["generic_file_id"] is None
    assert item["institution_id"] == example_id
    assert item["size"] == obj.size == 201
    assert item["storage_option"] == "Standard"
    # Name, bucket and etag come from the bag as last ingested.
    assert item["name"] == f"{obj.bag_name}-ingested.tar"
    assert item["etag"] == "f" * 32
    assert item["bucket"] == "aptrust.receiving.example.edu"

    shown = client.get(response.headers["location"], headers=persona.headers)
    assert shown.status_code == 200
    assert shown.json() == item
    listed = client.get(
        f"{BASE}/items",
        headers=persona.headers,
        params={"intellectual_object_id": obj.id, "action": "Restore Object"},
    )
    assert [r["id"] for r in listed.json()["results"]] == [item["id"]]


def test_restore_without_ingest_history_uses_the_object(client, world, example_id):
    obj = make_object(example_id, ingested=False)
    response = client.post(f"{BASE}/objects/{obj.id}/restore", headers=world["inst_admin"].headers)
    assert response.status_code == 201
    item = response.json()
    assert item["name"] == f"{obj.bag_name}.tar"
    assert item["etag"] == obj.etag


def test_glacier_only_object_gets_a_glacier_restore(client, world, example_id):
    obj = make_object(example_id, storage="Glacier-Deep-OR")
    response = client.post(f"{BASE}/objects/{obj.id}/restore", headers=world["inst_user"].headers)
    assert response.status_code == 201
    assert response.json()["action"] == "Glacier Restore"


def test_file_restore(client, world, example_id):
    obj = make_object(example_id)
    f = GenericFile.get(
        (GenericFile.intellectual_object == obj.id)
        & GenericFile.identifier.endswith("/data/f1.txt")
    )
    encoded = f.identifier.replace("/", "%2F")
    response = client.post(f"{BASE}/files/{encoded}/restore", headers=world["inst_user"].headers)
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["action"] == "Restore File"
    assert item["generic_file_id"] == f.id
    assert item["generic_file_identifier"] == f.identifier
    assert item["intellectual_object_id"] == obj.id
    assert item["size"] == f.size
    again = client.post(f"{BASE}/files/{f.id}/restore", headers=world["inst_user"].headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    # A file restore does not block a restore of the whole object, nor the reverse.
    whole = client.post(f"{BASE}/objects/{obj.id}/restore", headers=world["inst_user"].headers)
    assert whole.status_code == 201


def test_second_request_while_pending_is_409_and_allowed_once_finished(client, world, example_id):
    obj = make_object(example_id)
    headers = world["inst_user"].headers
    first = client.post(f"{BASE}/objects/{obj.id}/restore", headers=headers)
    assert first.status_code == 201
    second = client.post(f"{BASE}/objects/{obj.id}/restore", headers=headers)
    assert second.status_code == 409
    assert "already pending" in second.json()["detail"]
    for status in ("Started", "Suspended"):  # still incomplete
        with connection():
            WorkItem.update(status=status).where(WorkItem.id == first.json()["id"]).execute()
        assert client.post(f"{BASE}/objects/{obj.id}/restore", headers=headers).status_code == 409
    with connection():
        WorkItem.update(status="Success").where(WorkItem.id == first.json()["id"]).execute()
    third = client.post(f"{BASE}/objects/{obj.id}/restore", headers=headers)
    assert third.status_code == 201


def test_deleted_object_and_file_are_409(client, world, example_id):
    obj = make_object(example_id, state="D")
    headers = world["inst_admin"].headers
    response = client.post(f"{BASE}/objects/{obj.id}/restore", headers=headers)
    assert response.status_code == 409
    assert "deleted" in response.json()["detail"]
    f = GenericFile.get(GenericFile.intellectual_object == obj.id)
    assert client.post(f"{BASE}/files/{f.id}/restore", headers=headers).status_code == 409


@pytest.mark.parametrize(
    "persona, status",
    [
        ("other_user", 404),
        ("other_admin", 404),
        ("museum_user", 404),
        ("sub_user", 404),
        ("no_role", 403),
        ("sysadmin", 201),
    ],
)
def test_who_may_restore(client, world, example_id, persona, status):
    obj = make_object(example_id)
    response = client.post(f"{BASE}/objects/{obj.id}/restore", headers=world[persona].headers)
    assert response.status_code == status, response.text
    f = GenericFile.get(GenericFile.intellectual_object == obj.id)
    response = client.post(f"{BASE}/files/{f.id}/restore", headers=world[persona].headers)
    assert response.status_code == status, response.text


def test_unknown_and_unauthenticated(client, world):
    headers = world["inst_user"].headers
    assert client.post(f"{BASE}/objects/999999999/restore", headers=headers).status_code == 404
    assert client.post(f"{BASE}/files/no.such/file/restore", headers=headers).status_code == 404
    assert client.post(f"{BASE}/objects/1/restore").status_code == 401


def test_concurrent_requests_create_exactly_one_work_item(world, example_id, app):
    """Many threads, each with its own database connection, ask at the same instant (more
    stampedes, through the API: tests/test_concurrency.py)."""
    obj = make_object(example_id)
    persona = world["inst_user"]
    caller = Caller(persona.user_id, persona.email, persona.role, persona.institution_id)
    outcomes = at_once([lambda: restore_object(caller, str(obj.id))] * 8)
    assert sorted("created" if o.error is None else type(o.error).__name__ for o in outcomes) == [
        "Conflict"
    ] * 7 + ["created"]
    with connection():
        count = (
            WorkItem.select()
            .where((WorkItem.intellectual_object == obj.id) & (WorkItem.action == "Restore Object"))
            .count()
        )
    assert count == 1


def test_database_itself_refuses_a_second_pending_restore(world, example_id, app):
    """The guarantee holds for any writer, not only for models.restore."""
    obj = make_object(example_id)
    row = dict(
        intellectual_object=obj.id,
        name="x.tar",
        etag="e" * 32,
        bucket="b",
        user="admin@example.edu",
        action="Restore Object",
        stage="Requested",
        status="Pending",
        bag_date=utcnow(),
        date_processed=utcnow(),
        institution=example_id,
    )
    with connection():
        WorkItem.create(**row)
        with pytest.raises(peewee.IntegrityError):
            with database.atomic():
                WorkItem.create(**{**row, "status": "Started"})
        WorkItem.create(**{**row, "status": "Failed"})  # finished ones do not count
