"""Admin writes of generic files: create (with nested records), update and delete.

Every test makes objects of its own with unique identifiers, since the session database is
shared; what was written is read back through the member API.
"""

from __future__ import annotations

import uuid

import pytest

from models.intellectual_object import IntellectualObject
from models.storage.db import connection, database
from registry.spec import ADMIN_SPEC, load_spec
from registry.web.authz import PERMISSIONS, SYSADMIN
from tests.deletion_setup import APPROVER, REQUESTER, approve_deletion
from tests.fixtures_api import METHODS, assert_problem, error_names

ADMIN = "/admin-api/v3"
MEMBER = "/member-api/v3"
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def make_object(institution_id: int, storage="Standard", state="A") -> IntellectualObject:
    identifier = f"example.edu/h8-{uuid.uuid4().hex[:12]}"
    with connection(), database.atomic():
        return IntellectualObject.create(
            title="file write test",
            identifier=identifier,
            bag_name=identifier.split("/")[1],
            institution=institution_id,
            storage_option=storage,
            state=state,
        )


def checksum_body(algorithm="sha256", digest=SHA256, **extra) -> dict:
    return {"algorithm": algorithm, "datetime": "2024-05-01T12:00:00Z", "digest": digest, **extra}


def event_body(event_type="ingestion", **extra) -> dict:
    return {
        "identifier": str(uuid.uuid4()),
        "event_type": event_type,
        "date_time": "2024-05-01T12:00:00Z",
        "outcome": "Success",
        "agent": "h8 tests",
        "detail": "Ingested",
        "object": "pytest",
        "outcome_detail": "ok",
        "outcome_information": "All is well",
        **extra,
    }


def file_body(obj, path="data/file.txt", **extra) -> dict:
    return {
        "identifier": f"{obj.identifier}/{path}",
        "intellectual_object_id": obj.id,
        "file_format": "text/plain",
        "size": 100,
        "uuid": str(uuid.uuid4()),
        **extra,
    }


def create(client, headers, institution_id, body):
    return client.post(f"{ADMIN}/files/create/{institution_id}", json=body, headers=headers)


def member_file(client, world, key):
    return client.get(f"{MEMBER}/files/show/{key}", headers=world["inst_admin"].headers)


def member_object(client, world, object_id):
    response = client.get(f"{MEMBER}/objects/show/{object_id}", headers=world["inst_admin"].headers)
    assert response.status_code == 200
    return response.json()


def test_create_file_with_nested_records(client, world, admin, example_id):
    obj = make_object(example_id, storage="Wasabi-OR")
    body = file_body(
        obj,
        size=1234,
        mtime="2023-12-31T23:00:00+01:00",
        checksums=[checksum_body(), checksum_body("md5", "D41D8CD98F00B204E9800998ECF8427E")],
        premis_events=[event_body(), event_body("fixity check", date_time="2024-06-01T00:00:00Z")],
        storage_records=[{"url": "https://s3.example.org/va/" + str(uuid.uuid4())}],
    )
    body["uuid"] = body["uuid"].upper()
    response = create(client, admin, example_id, body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"{ADMIN}/files/show/{created['id']}"
    assert created["uuid"] == body["uuid"].lower()
    assert (created["state"], created["storage_option"]) == ("A", "Wasabi-OR")  # the object's
    assert created["mtime"] == "2023-12-31T22:00:00Z"
    # The fixity check event moved last_fixity_check forward from "never".
    assert created["last_fixity_check"] == "2024-06-01T00:00:00Z"

    shown = member_file(client, world, body["identifier"])
    assert shown.status_code == 200
    record = shown.json()
    assert record == created
    assert record["institution_id"] == example_id and record["size"] == 1234
    assert sorted(c["digest"] for c in record["checksums"]) == sorted(
        [SHA256, "d41d8cd98f00b204e9800998ecf8427e"]
    )
    events = record["premis_events"]
    assert {e["identifier"] for e in events} == {e["identifier"] for e in body["premis_events"]}
    assert all(
        (e["generic_file_id"], e["intellectual_object_id"], e["institution_id"])
        == (created["id"], obj.id, example_id)
        for e in events
    )
    assert [s["url"] for s in record["storage_records"]] == [body["storage_records"][0]["url"]]
    counts = member_object(client, world, obj.id)
    assert (counts["file_count"], counts["size"]) == (1, 1234)
    assert (counts["payload_file_count"], counts["payload_size"]) == (1, 1234)


def test_create_file_defaults(client, world, admin, example_id):
    obj = make_object(example_id, storage="Glacier-OR")
    response = create(client, admin, example_id, file_body(obj, path="bagit.txt", size=0))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["state"] == "A"
    assert created["storage_option"] == "Glacier-OR"
    assert created["last_fixity_check"] == "2000-01-01T00:00:00Z"
    assert created["mtime"] is None
    assert (created["checksums"], created["premis_events"], created["storage_records"]) == (
        [],
        [],
        [],
    )
    counts = member_object(client, world, obj.id)
    assert (counts["file_count"], counts["payload_file_count"]) == (1, 0)  # not under data/


@pytest.mark.parametrize(
    "change, field",
    [
        ({"file_format": " "}, "file_format"),
        ({"size": -1}, "size"),
        ({"state": "X"}, "state"),
        ({"storage_option": "Floppy"}, "storage_option"),
        ({"uuid": "not-a-uuid"}, "uuid"),
        ({"uuid": "1234-5678123456781234567812345678-12"}, "uuid"),
        ({"last_fixity_check": "yesterday"}, "last_fixity_check"),
        ({"id": 5}, "id"),
        ({"colour": "blue"}, "colour"),
        ({"checksums": [checksum_body(algorithm="crc32")]}, "checksums[0].algorithm"),
        ({"checksums": [checksum_body(digest="z" * 64)]}, "checksums[0].digest"),
        ({"checksums": [{"algorithm": "md5", "digest": "0" * 32}]}, "checksums[0].datetime"),
        ({"premis_events": [event_body(event_type="tickled")]}, "premis_events[0].event_type"),
        ({"premis_events": [event_body(outcome="Maybe")]}, "premis_events[0].outcome"),
        ({"premis_events": [event_body(identifier="e-1")]}, "premis_events[0].identifier"),
        ({"premis_events": [event_body(agent="  ")]}, "premis_events[0].agent"),
        ({"storage_records": [{"url": "not a url"}]}, "storage_records[0].url"),
    ],
)
def test_create_file_schema_rules(client, world, admin, example_id, change, field):
    obj = make_object(example_id)
    body = {**file_body(obj), **change}
    body_problem = assert_problem(create(client, admin, example_id, body), 400)
    assert field in error_names(body_problem)
    assert member_file(client, world, body["identifier"]).status_code == 404


def test_create_file_without_required_fields(client, admin, example_id):
    body = assert_problem(create(client, admin, example_id, {"premis_events": [{}]}), 400)
    assert {
        "identifier",
        "intellectual_object_id",
        "file_format",
        "size",
        "uuid",
        "premis_events[0].identifier",
        "premis_events[0].outcome_information",
    } <= error_names(body)


def test_create_file_model_rules_name_every_field(client, world, admin, example_id):
    obj = make_object(example_id)
    body = file_body(
        obj,
        institution_id=example_id + 1,
        checksums=[
            checksum_body("sha1", "ab" * 32),
            checksum_body(generic_file_id=7),
            checksum_body(id=3),
        ],
        premis_events=[event_body(intellectual_object_id=obj.id + 1, institution_id=example_id)],
        storage_records=[{"url": "https://x.example.org/a", "generic_file_id": 9}],
    )
    body["identifier"] = obj.identifier + "-other/data/file.txt"  # not under its object
    problem = assert_problem(create(client, admin, example_id, body), 422)
    assert error_names(problem) == {
        "institution_id",
        "identifier",
        "checksums[0].digest",
        "checksums[1].generic_file_id",
        "checksums[2].id",
        "premis_events[0].intellectual_object_id",
        "storage_records[0].generic_file_id",
    }
    assert member_file(client, world, body["identifier"]).status_code == 404


def test_identifier_must_name_a_path_inside_the_object(client, admin, example_id):
    obj = make_object(example_id)
    body = {**file_body(obj), "identifier": obj.identifier + "/"}
    assert error_names(assert_problem(create(client, admin, example_id, body), 422)) == {
        "identifier"
    }


def test_missing_and_foreign_parents(client, world, admin, example_id):
    obj = make_object(example_id)
    problem = assert_problem(create(client, admin, 999999, file_body(obj)), 404)
    assert "institution" in problem["detail"]
    missing = {**file_body(obj), "intellectual_object_id": 99999999}
    problem = assert_problem(create(client, admin, example_id, missing), 404)
    assert error_names(problem) == {"intellectual_object_id"}
    other = make_object(world.institutions["test.edu"])
    problem = assert_problem(create(client, admin, example_id, file_body(other)), 422)
    assert error_names(problem) == {"intellectual_object_id"}


def test_duplicates_conflict_and_leave_nothing(client, world, admin, example_id):
    obj = make_object(example_id)
    first = file_body(obj, premis_events=[event_body()])
    assert create(client, admin, example_id, first).status_code == 201
    same_identifier = file_body(obj, path="data/file.txt")
    problem = assert_problem(create(client, admin, example_id, same_identifier), 409)
    assert error_names(problem) == {"identifier"}
    same_uuid = file_body(obj, path="data/two.txt", uuid=first["uuid"].upper())
    assert error_names(assert_problem(create(client, admin, example_id, same_uuid), 409)) == {
        "uuid"
    }
    # The event conflicts only once the file row is written: the file must go too.
    same_event = file_body(
        obj, path="data/three.txt", premis_events=[event_body(), first["premis_events"][0]]
    )
    problem = assert_problem(create(client, admin, example_id, same_event), 409)
    assert error_names(problem) == {"premis_events[1].identifier"}
    assert member_file(client, world, same_event["identifier"]).status_code == 404
    repeated = file_body(obj, path="data/four.txt", premis_events=[first["premis_events"][0]])
    repeated["premis_events"] = [event_body(identifier=repeated["uuid"])] * 2
    problem = assert_problem(create(client, admin, example_id, repeated), 409)
    assert error_names(problem) == {"premis_events[1].identifier"}
    assert member_object(client, world, obj.id)["file_count"] == 1


OPERATIONS = [
    ("post", "/files/create/{inst}", {}),
    ("post", "/files/create_batch/{inst}", []),
    ("put", "/files/update/1", {}),
    ("delete", "/files/delete/1", None),
]


@pytest.mark.parametrize("method, path, body", OPERATIONS)
def test_credentials_and_role(client, world, example_id, method, path, body):
    url = ADMIN + path.format(inst=example_id)
    kwargs = {} if body is None else {"json": body}
    assert_problem(client.request(method, url, **kwargs), 401)
    for persona in ("inst_admin", "inst_user"):
        problem = assert_problem(
            client.request(method, url, headers=world[persona].headers, **kwargs), 403
        )
        assert "sysadmin" in problem["detail"]


def created_file(client, admin, institution_id, obj, **extra) -> dict:
    response = create(client, admin, institution_id, file_body(obj, **extra))
    assert response.status_code == 201, response.text
    return response.json()


def update(client, headers, file_id, body):
    return client.put(f"{ADMIN}/files/update/{file_id}", json=body, headers=headers)


def writable(record: dict, **changes) -> dict:
    """The show record of a file as an update body: what a client read, sent back changed."""
    return {**record, **changes}


def test_update_file_replaces_fields_and_adds_records(client, world, admin, example_id):
    obj = make_object(example_id)
    record = created_file(
        client,
        admin,
        example_id,
        obj,
        size=10,
        checksums=[checksum_body()],
        mtime="2024-01-01T00:00:00Z",
    )
    body = writable(
        record,
        size=500,
        file_format="text/csv",
        last_fixity_check="2024-02-01T00:00:00Z",
        mtime=None,
        checksums=record["checksums"] + [checksum_body("md5", "f" * 32)],
        premis_events=[event_body("fixity check", date_time="2024-03-01T00:00:00Z")],
        storage_records=[{"url": "https://s3.example.org/or/x"}],
    )
    body.pop("mtime")
    response = update(client, admin, record["id"], body)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["size"], updated["file_format"]) == (500, "text/csv")
    assert updated["mtime"] is None  # left out: replaced by null
    assert updated["last_fixity_check"] == "2024-03-01T00:00:00Z"  # the newer fixity event
    assert updated["created_at"] == record["created_at"]
    assert updated["updated_at"] >= record["updated_at"]
    shown = member_file(client, world, record["id"]).json()
    assert shown == updated
    assert sorted(c["digest"] for c in shown["checksums"]) == sorted([SHA256, "f" * 32])
    assert len(shown["storage_records"]) == 1
    assert member_object(client, world, obj.id)["size"] == 500


@pytest.mark.parametrize(
    "change, field",
    [
        ({"identifier": "example.edu/elsewhere/data/file.txt"}, "identifier"),
        ({"institution_id": 1}, "institution_id"),
        ({"intellectual_object_id": 1}, "intellectual_object_id"),
        ({"id": 1}, "id"),
        ({"storage_option": "Glacier-VA"}, "storage_option"),
        ({"state": "D"}, "state"),
        ({"checksums": [checksum_body(id=1)]}, "checksums[0].id"),
        ({"premis_events": [event_body(generic_file_id=1)]}, "premis_events[0].generic_file_id"),
    ],
)
def test_update_file_refuses_changes_it_cannot_make(
    client, world, admin, example_id, change, field
):
    obj = make_object(example_id)
    record = created_file(client, admin, example_id, obj, size=10)
    body = writable(record, size=99, **change)
    assert field in error_names(assert_problem(update(client, admin, record["id"], body), 422))
    assert member_file(client, world, record["id"]).json() == record


def test_update_file_schema_and_missing_file(client, admin, example_id):
    obj = make_object(example_id)
    record = created_file(client, admin, example_id, obj)
    body = {k: v for k, v in writable(record).items() if k != "last_fixity_check"}
    body["size"] = "big"
    problem = assert_problem(update(client, admin, record["id"], body), 400)
    assert error_names(problem) == {"last_fixity_check", "size"}
    assert_problem(update(client, admin, 99999999, writable(record)), 404)


def test_update_file_uuid_conflict_leaves_the_file(client, world, admin, example_id):
    obj = make_object(example_id)
    one = created_file(client, admin, example_id, obj, path="data/one")
    two = created_file(client, admin, example_id, obj, path="data/two")
    body = writable(two, uuid=one["uuid"], size=1, checksums=[checksum_body()])
    problem = assert_problem(update(client, admin, two["id"], body), 409)
    assert error_names(problem) == {"uuid"}
    assert member_file(client, world, two["id"]).json() == two
    event = event_body()
    assert update(client, admin, one["id"], writable(one, premis_events=[event])).status_code == 200
    problem = assert_problem(
        update(client, admin, two["id"], writable(two, size=2, premis_events=[event])), 409
    )
    assert error_names(problem) == {"premis_events[0].identifier"}
    assert member_file(client, world, two["id"]).json() == two


def delete(client, headers, file_id):
    return client.delete(f"{ADMIN}/files/delete/{file_id}", headers=headers)


def test_delete_file(client, world, admin, example_id):
    obj = make_object(example_id)
    keep = created_file(client, admin, example_id, obj, path="data/keep", size=7)
    record = created_file(
        client,
        admin,
        example_id,
        obj,
        size=30,
        checksums=[checksum_body()],
        storage_records=[
            {"url": "https://s3.example.org/va/1"},
            {"url": "https://s3.example.org/or/1"},
        ],
    )
    assert member_object(client, world, obj.id)["size"] == 37
    approve_deletion(obj.id, record["id"])
    response = delete(client, admin, record["id"])
    assert response.status_code == 200, response.text
    deleted = response.json()
    assert deleted["state"] == "D"
    assert deleted["storage_records"] == []
    assert [c["digest"] for c in deleted["checksums"]] == [SHA256]
    [event] = deleted["premis_events"]
    assert (event["event_type"], event["outcome"]) == ("deletion", "Success")
    assert event["outcome_detail"] == REQUESTER
    assert APPROVER in event["outcome_information"]
    assert (event["generic_file_id"], event["intellectual_object_id"]) == (record["id"], obj.id)
    assert member_file(client, world, record["id"]).json() == deleted
    counts = member_object(client, world, obj.id)
    assert (counts["file_count"], counts["size"]) == (1, keep["size"])
    assert_problem(delete(client, admin, record["id"]), 409)
    assert_problem(delete(client, admin, 99999999), 404)


def test_deleted_file_may_move_storage_when_reingested(client, world, admin, example_id):
    obj = make_object(example_id)
    record = created_file(client, admin, example_id, obj, size=5)
    approve_deletion(obj.id, record["id"])
    deleted = delete(client, admin, record["id"]).json()
    body = writable(deleted, state="A", storage_option="Wasabi-VA")
    response = update(client, admin, record["id"], body)
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["storage_option"]) == ("A", "Wasabi-VA")
    assert member_object(client, world, obj.id)["file_count"] == 1


WRITES = {
    "create_file": "201",
    "create_file_batch": "201",
    "update_file": "200",
    "delete_file": "200",
    "create_checksum": "201",
    "create_event": "201",
    "create_storage_record": "201",
}
CONFLICTING = {"create_file", "create_file_batch", "update_file", "delete_file", "create_event"}
# Schema-valid bodies that break a registry rule answer 422 (components/responses/RuleViolation).
RULED = {
    "create_file",
    "create_file_batch",
    "update_file",
    "create_checksum",
    "create_event",
    "create_storage_record",
}


def test_write_operations_are_documented_and_sysadmin_only():
    spec = load_spec(ADMIN_SPEC)
    operations = {
        op["operationId"]: (path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }
    for operation_id, success in WRITES.items():
        path, op = operations[operation_id]
        assert PERMISSIONS[operation_id] == SYSADMIN
        assert op["summary"] and op["description"] and op["tags"], operation_id
        expected = (
            {success, "400", "401", "403", "404", "429", "503"}
            | ({"409"} if operation_id in CONFLICTING else set())
            | ({"422"} if operation_id in RULED else set())
            | ({"408", "414", "431"})
            | ({"413"} if "requestBody" in op else set())
        )  # the limits
        assert set(op["responses"]) == expected, operation_id
        for status, response in op["responses"].items():
            if "$ref" in response:
                response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            media = "application/json" if status == success else "application/problem+json"
            assert media in response["content"], (operation_id, status)
        if "requestBody" in op:
            assert op["requestBody"]["required"] is True
    links = operations["create_file"][1]["responses"]["201"]["links"]
    assert links["ShowFile"] == {
        "operationId": "show_file",
        "parameters": {"id": "$response.body#/id"},
    }
    schemas = spec["components"]["schemas"]
    assert schemas["FileFields"]["additionalProperties"] is False
    for name in (
        "FileCreate",
        "FileUpdate",
        "ChecksumCreate",
        "PremisEventCreate",
        "StorageRecordCreate",
    ):
        required = {r for part in schemas[name]["allOf"] for r in part.get("required", [])}
        assert not required & {"id", "created_at", "updated_at"}, name
