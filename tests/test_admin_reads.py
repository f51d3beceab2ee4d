"""The admin API's read side: sysadmins only, the member reads over every institution, plus
institutions and storage records; its document is published self-contained."""

from __future__ import annotations

import json

import pytest

from registry.spec import ADMIN_SPEC, load_spec, operation_ids
from tests.fixtures_api import assert_problem

BASE = "/admin-api/v3"
READS = [
    "objects",
    "files",
    "checksums",
    "events",
    "items",
    "deletions",
    "alerts",
    "institutions",
    "storage_records",
]


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("persona", ["inst_admin", "inst_user", "no_role"])
def test_member_keys_are_refused_before_anything_else(client, world, path, persona):
    # Even with a bad parameter the answer is 403: the role is checked first.
    response = client.get(f"{BASE}/{path}?bogus=1", headers=world[persona].headers)
    body = assert_problem(response, 403)
    assert "sysadmin" in body["detail"]


@pytest.mark.parametrize("path", READS)
def test_sysadmin_reads_and_credentials_are_required(client, world, path):
    response = client.get(f"{BASE}/{path}", headers=world["sysadmin"].headers)
    assert response.status_code == 200
    assert response.json()["count"] > 0
    assert_problem(client.get(f"{BASE}/{path}"), 401)
    assert_problem(client.get(f"{BASE}/{path}", headers=world["revoked"].headers), 401)


def test_admin_lists_equal_member_lists_of_the_sysadmin(client, world):
    headers = world["sysadmin"].headers
    admin = client.get(f"{BASE}/objects?per_page=50&sort=identifier__asc", headers=headers)
    member = client.get("/member-api/v3/objects?per_page=50&sort=identifier__asc", headers=headers)
    assert admin.json()["results"] == member.json()["results"]
    assert admin.json()["next"].startswith(f"{BASE}/objects?")


def test_institutions_filters_and_show(client, world):
    headers = world["sysadmin"].headers
    found = client.get(
        f"{BASE}/institutions", params={"name__contains": "uNIVERS"}, headers=headers
    ).json()
    assert sorted(r["identifier"] for r in found["results"]) == [
        "example.edu",
        "library.example.edu",
    ]
    literal = client.get(
        f"{BASE}/institutions", params={"name__contains": "%"}, headers=headers
    ).json()
    assert literal["count"] == 0  # % is matched literally, not as a wildcard
    subs = client.get(
        f"{BASE}/institutions", params={"type": "SubscriptionInstitution"}, headers=headers
    ).json()["results"]
    assert [r["identifier"] for r in subs] == ["library.example.edu"]
    assert subs[0]["parent_identifier"] == "example.edu"
    assert subs[0]["parent_id"] == world.institutions["example.edu"]
    by_name = client.get(f"{BASE}/institutions", headers=headers).json()["results"]
    assert [r["name"] for r in by_name] == sorted(r["name"] for r in by_name)
    by_identifier = client.get(f"{BASE}/institutions/show/test.edu", headers=headers).json()
    by_id = client.get(f"{BASE}/institutions/show/{by_identifier['id']}", headers=headers)
    assert by_id.json() == by_identifier
    assert_problem(client.get(f"{BASE}/institutions/show/nowhere.edu", headers=headers), 404)


def test_storage_records_of_a_file(client, world):
    headers = world["sysadmin"].headers
    rows = client.get(
        f"{BASE}/storage_records", params={"generic_file_id": 1}, headers=headers
    ).json()["results"]
    assert len(rows) == 2 and {r["generic_file_id"] for r in rows} == {1}
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    shown = client.get(f"{BASE}/storage_records/show/{rows[0]['id']}", headers=headers).json()
    assert shown == rows[0]


def test_admin_document_is_published_self_contained(client):
    response = client.get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    served = response.json()
    assert sorted(operation_ids(served)) == sorted(operation_ids(load_spec(ADMIN_SPEC)))
    refs = [r for r in json.dumps(served).split('"$ref": "')[1:]]
    assert refs and all(r.startswith("#/") for r in refs)
    # Links to member-only operations (restores) are left out of the admin document.
    links = json.dumps(served["paths"]["/objects"]["get"]["responses"]["200"].get("links", {}))
    assert "restore" not in links
    assert client.get(f"{BASE}/docs/").status_code == 200
