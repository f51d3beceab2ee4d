"""Admin writes of checksums, PREMIS events and storage records, read back through the member
API (and the admin storage-record reads, storage records having no member read)."""

from __future__ import annotations

import uuid

import pytest

from tests.fixtures_api import assert_problem, error_names
from tests.test_admin_files import (
    ADMIN,
    MEMBER,
    checksum_body,
    event_body,
    file_body,
    make_object,
)


@pytest.fixture
def new_file(client, admin, example_id):
    """A fresh object of example.edu with one file; returns (object, file record)."""
    obj = make_object(example_id)
    response = client.post(f"{ADMIN}/files/create/{example_id}", json=file_body(obj), headers=admin)
    assert response.status_code == 201, response.text
    return obj, response.json()


def member(client, world, path, **params):
    return client.get(f"{MEMBER}/{path}", params=params, headers=world["inst_admin"].headers)


def post_checksum(client, headers, institution_id, body):
    return client.post(f"{ADMIN}/checksums/create/{institution_id}", json=body, headers=headers)


def post_event(client, headers, body):
    return client.post(f"{ADMIN}/events/create", json=body, headers=headers)


def post_storage(client, headers, institution_id, body):
    return client.post(
        f"{ADMIN}/storage_records/create/{institution_id}", json=body, headers=headers
    )


def test_create_checksum(client, world, admin, example_id, new_file):
    obj, record = new_file
    body = checksum_body(
        "sha1", "A" * 40, generic_file_id=record["id"], created_at="1999-01-01T00:00:00Z"
    )
    response = post_checksum(client, admin, example_id, body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"{ADMIN}/checksums/show/{created['id']}"
    assert created["digest"] == "a" * 40
    assert (
        created["generic_file_identifier"],
        created["intellectual_object_id"],
        created["institution_id"],
        created["state"],
    ) == (record["identifier"], obj.id, example_id, "A")
    assert created["created_at"] > "2020"  # sent timestamps are ignored
    listed = member(client, world, "checksums", generic_file_id=record["id"]).json()
    assert listed["results"] == [created]
    files = member(client, world, "files", intellectual_object_id=obj.id).json()["results"]
    assert files[0]["sha1"] == "a" * 40


@pytest.mark.parametrize(
    "change, field, status",
    [
        ({"algorithm": "crc"}, "algorithm", 400),
        (
            {"digest": "ab" * 16},
            "digest",
            422,
        ),  # an md5 length for a sha256: a rule, not the schema
        ({"digest": "xyz" * 20}, "digest", 400),
        ({"datetime": None}, "datetime", 400),
        ({"generic_file_id": None}, "generic_file_id", 400),
        ({"generic_file_id": 0}, "generic_file_id", 400),
        ({"id": 4}, "id", 400),
        ({"extra": 1}, "extra", 400),
        ({"generic_file_id": 99999999}, "generic_file_id", 404),
    ],
)
def test_checksum_rules(client, world, admin, example_id, new_file, change, field, status):
    _, record = new_file
    body = {**checksum_body(generic_file_id=record["id"]), **change}
    problem = assert_problem(post_checksum(client, admin, example_id, body), status)
    assert field in error_names(problem)
    assert member(client, world, "checksums", generic_file_id=record["id"]).json()["count"] == 0


def test_checksum_of_another_institution_or_nowhere(client, world, admin, new_file):
    _, record = new_file
    body = checksum_body(generic_file_id=record["id"])
    other = world.institutions["test.edu"]
    problem = assert_problem(post_checksum(client, admin, other, body), 422)
    assert error_names(problem) == {"generic_file_id"}
    assert_problem(post_checksum(client, admin, 999999, body), 404)


def test_create_event_about_a_file_and_an_object(client, world, admin, example_id, new_file):
    obj, record = new_file
    body = event_body(
        "identifier assignment",
        identifier=str(uuid.uuid4()).upper(),
        institution_id=example_id,
        intellectual_object_id=obj.id,
        generic_file_id=record["id"],
        old_uuid="legacy-1",
    )
    response = post_event(client, admin, body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"{ADMIN}/events/show/{created['id']}"
    assert created["identifier"] == body["identifier"].lower()
    assert (created["generic_file_identifier"], created["intellectual_object_identifier"]) == (
        record["identifier"],
        obj.identifier,
    )
    assert member(client, world, f"events/show/{created['identifier']}").json() == created

    whole = event_body(
        "creation", institution_id=example_id, intellectual_object_id=obj.id, generic_file_id=0
    )
    response = post_event(client, admin, whole)
    assert response.status_code == 201, response.text
    assert response.json()["generic_file_id"] is None
    listed = member(
        client, world, "events", intellectual_object_id=obj.id, generic_file_id__is_null="true"
    ).json()["results"]
    assert [e["identifier"] for e in listed] == [whole["identifier"]]


def test_fixity_check_event_moves_last_fixity_check_forward(
    client, world, admin, example_id, new_file
):
    obj, record = new_file
    ids = {
        "institution_id": example_id,
        "intellectual_object_id": obj.id,
        "generic_file_id": record["id"],
    }
    newer = event_body("fixity check", date_time="2025-03-01T10:00:00Z", **ids)
    assert post_event(client, admin, newer).status_code == 201
    shown = member(client, world, f"files/show/{record['id']}").json()
    assert shown["last_fixity_check"] == "2025-03-01T10:00:00Z"
    assert shown["updated_at"] > record["updated_at"]
    older = event_body("fixity check", date_time="2024-03-01T10:00:00Z", outcome="Failure", **ids)
    assert post_event(client, admin, older).status_code == 201
    shown = member(client, world, f"files/show/{record['id']}").json()
    assert shown["last_fixity_check"] == "2025-03-01T10:00:00Z"
    assert len(shown["premis_events"]) == 2


@pytest.mark.parametrize(
    "change, field",
    [
        ({"event_type": "poked"}, "event_type"),
        ({"outcome": "Meh"}, "outcome"),
        ({"identifier": "not-a-uuid"}, "identifier"),
        ({"date_time": "soon"}, "date_time"),
        ({"detail": ""}, "detail"),
        ({"object": "\t"}, "object"),
        ({"outcome_information": None}, "outcome_information"),
        ({"institution_id": None}, "institution_id"),
        ({"intellectual_object_id": 0}, "intellectual_object_id"),
        ({"id": 12}, "id"),
    ],
)
def test_event_schema_rules(client, world, admin, example_id, new_file, change, field):
    obj, record = new_file
    body = {
        **event_body(
            institution_id=example_id, intellectual_object_id=obj.id, generic_file_id=record["id"]
        ),
        **change,
    }
    assert field in error_names(assert_problem(post_event(client, admin, body), 400))
    assert member(client, world, "events", generic_file_id=record["id"]).json()["count"] == 0


def test_event_parents(client, world, admin, example_id, new_file):
    obj, record = new_file
    other_obj = make_object(example_id)
    ids = {
        "institution_id": example_id,
        "intellectual_object_id": obj.id,
        "generic_file_id": record["id"],
    }
    cases = [
        ({"institution_id": 999999}, 404, {"institution_id"}),
        ({"intellectual_object_id": 99999999}, 404, {"intellectual_object_id"}),
        ({"generic_file_id": 99999999}, 404, {"generic_file_id"}),
        ({"institution_id": world.institutions["test.edu"]}, 422, {"intellectual_object_id"}),
        ({"intellectual_object_id": other_obj.id}, 422, {"generic_file_id"}),
        ({"generic_file_id": None, "event_type": "fixity check"}, 422, {"generic_file_id"}),
    ]
    for change, status, names in cases:
        body = event_body(**{**ids, **change})
        assert error_names(assert_problem(post_event(client, admin, body), status)) == names
        assert member(client, world, f"events/show/{body['identifier']}").status_code == 404


def test_fixity_check_of_a_missing_file_stores_nothing(client, world, admin, example_id, new_file):
    obj, _ = new_file
    body = event_body(
        "fixity check",
        institution_id=example_id,
        intellectual_object_id=obj.id,
        generic_file_id=99999999,
    )
    assert_problem(post_event(client, admin, body), 404)
    assert member(client, world, f"events/show/{body['identifier']}").status_code == 404


def test_event_identifier_is_unique(client, world, admin, example_id, new_file):
    obj, record = new_file
    body = event_body(institution_id=example_id, intellectual_object_id=obj.id)
    assert post_event(client, admin, body).status_code == 201
    again = {
        **body,
        "generic_file_id": record["id"],
        "event_type": "fixity check",
        "date_time": "2030-01-01T00:00:00Z",
    }
    assert error_names(assert_problem(post_event(client, admin, again), 409)) == {"identifier"}
    # The refused fixity check did not touch the file.
    shown = member(client, world, f"files/show/{record['id']}").json()
    assert shown["last_fixity_check"] == record["last_fixity_check"]


def test_create_storage_record(client, world, admin, example_id, new_file):
    _, record = new_file
    body = {"url": f"https://s3.example.org/va/{record['uuid']}", "generic_file_id": record["id"]}
    response = post_storage(client, admin, example_id, body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"{ADMIN}/storage_records/show/{created['id']}"
    assert created == {"id": created["id"], **body}
    shown = member(client, world, f"files/show/{record['id']}").json()
    assert shown["storage_records"] == [created]
    read = client.get(f"{ADMIN}/storage_records/show/{created['id']}", headers=admin)
    assert read.json() == created


@pytest.mark.parametrize(
    "change, field, status",
    [
        ({"url": "s3 bucket"}, "url", 400),
        ({"url": "https://"}, "url", 400),
        ({"url": None}, "url", 400),
        ({"generic_file_id": None}, "generic_file_id", 400),
        ({"id": 3}, "id", 400),
        ({"generic_file_id": 99999999}, "generic_file_id", 404),
    ],
)
def test_storage_record_rules(client, world, admin, example_id, new_file, change, field, status):
    _, record = new_file
    body = {"url": "https://s3.example.org/or/1", "generic_file_id": record["id"], **change}
    problem = assert_problem(post_storage(client, admin, example_id, body), status)
    assert field in error_names(problem)
    assert member(client, world, f"files/show/{record['id']}").json()["storage_records"] == []


def test_storage_record_of_another_institution(client, world, admin, new_file):
    _, record = new_file
    body = {"url": "https://s3.example.org/or/1", "generic_file_id": record["id"]}
    problem = assert_problem(post_storage(client, admin, world.institutions["test.edu"], body), 422)
    assert error_names(problem) == {"generic_file_id"}
    assert_problem(post_storage(client, admin, 999999, body), 404)


@pytest.mark.parametrize(
    "path", ["/checksums/create/{inst}", "/events/create", "/storage_records/create/{inst}"]
)
def test_credentials_and_role(client, world, example_id, path):
    url = ADMIN + path.format(inst=example_id)
    body = {**checksum_body(), "generic_file_id": 1, "url": "x"}  # never looked at
    assert_problem(client.post(url, json=body), 401)
    for persona in ("inst_admin", "other_user"):
        problem = assert_problem(client.post(url, json=body, headers=world[persona].headers), 403)
        assert "sysadmin" in problem["detail"]
