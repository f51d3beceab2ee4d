"""Admin API users and API keys: create, list, show, disable; issue and revoke keys.

What matters most: a key's secret appears in exactly one response (the issue) and nowhere
else, not in a listing, a log line or the database; and a revoked key, a disabled user or a
user of a deactivated institution is refused (401) on the very next request.
"""

from __future__ import annotations

import hashlib
import logging
import re

import pytest

from models.storage.db import connection, database
from tests.fixtures_api import assert_problem, error_names
from tests.test_admin_institutions import Scratch

BASE = "/admin-api/v3"
MEMBER_OBJECTS = "/member-api/v3/objects"
CREATE = f"{BASE}/users/create"
USER_FIELDS = {
    "id",
    "name",
    "email",
    "role",
    "institution_id",
    "institution_identifier",
    "deactivated_at",
    "created_at",
    "updated_at",
}
KEY = re.compile(r"^rgk_[A-Za-z0-9_-]{43}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
OPERATIONS = {  # operationId -> (method, path, body)
    "list_users": ("GET", f"{BASE}/users", None),
    "show_user": ("GET", f"{BASE}/users/show/1", None),
    "create_user": (
        "POST",
        CREATE,
        {"name": "No One", "email": "no@example.edu", "role": "none", "institution_id": 2},
    ),
    "disable_user": ("DELETE", f"{BASE}/users/disable/1", None),
    "issue_api_key": ("POST", f"{BASE}/users/1/keys", None),
    "revoke_api_keys": ("DELETE", f"{BASE}/users/1/keys", None),
    "revoke_api_key": ("DELETE", f"{BASE}/users/1/keys/rgk_abcdefgh", None),
}


@pytest.fixture
def scratch(app):
    made = Scratch()
    yield made
    made.purge()


def new_user(client, admin, scratch, institution_id, label="user", role="institutional_user"):
    response = client.post(
        CREATE,
        headers=admin,
        json={
            "name": f"Person {label}",
            "email": scratch.email(label),
            "role": role,
            "institution_id": institution_id,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def issue(client, admin, user_id) -> dict:
    response = client.post(f"{BASE}/users/{user_id}/keys", headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def as_user(user: dict, key: str) -> dict:
    return {"X-Pharos-API-User": user["email"], "X-Pharos-API-Key": key}


def user_count() -> int:
    with connection():
        return database.execute_sql("SELECT COUNT(*) FROM users").fetchone()[0]


# --- create, show, list ----------------------------------------------------------------------


def test_create_answers_the_user_without_key_material(client, admin, scratch, example_id):
    email = scratch.email("Mixed.Case").upper()
    response = client.post(
        CREATE,
        headers=admin,
        json={
            "name": " Dana Depositor ",
            "email": email,
            "role": "institutional_admin",
            "institution_id": example_id,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == USER_FIELDS
    assert response.headers["location"] == f"{BASE}/users/show/{body['id']}"
    assert (body["name"], body["email"], body["role"]) == (
        "Dana Depositor",
        email.lower(),
        "institutional_admin",
    )
    assert (body["institution_id"], body["institution_identifier"]) == (example_id, "example.edu")
    assert body["deactivated_at"] is None and RFC3339.match(body["created_at"])
    assert client.get(response.headers["location"], headers=admin).json() == body
    # No key yet: the new user cannot call the API until one is issued.
    assert_problem(client.get(MEMBER_OBJECTS, headers=as_user(body, "rgk_" + "a" * 43)), 401)


def test_issued_key_reads_the_users_own_institution_through_the_member_api(
    client, admin, scratch, example_id, world
):
    user = new_user(client, admin, scratch, example_id)
    issued = issue(client, admin, user["id"])
    assert set(issued) == {"key", "prefix", "created_at"}
    assert KEY.match(issued["key"]) and issued["prefix"] == issued["key"][:12]
    assert RFC3339.match(issued["created_at"])
    mine = client.get(MEMBER_OBJECTS, headers=as_user(user, issued["key"]))
    assert mine.status_code == 200, mine.text
    theirs = client.get(MEMBER_OBJECTS, headers=world["inst_user"].headers).json()
    assert mine.json()["count"] == theirs["count"] > 0
    assert {r["institution_id"] for r in mine.json()["results"]} == {example_id}


def test_a_sysadmin_may_be_created_at_the_operators_institution(client, admin, scratch, world):
    user = new_user(client, admin, scratch, world.institutions["aptrust.org"], role="admin")
    key = issue(client, admin, user["id"])["key"]
    response = client.get(f"{BASE}/users/show/{user['id']}", headers=as_user(user, key))
    assert response.status_code == 200 and response.json()["role"] == "admin"


# 400: the schema refuses the body; 422: the schema accepts it, a rule of the registry does not.
@pytest.mark.parametrize(
    "change,fields,status",
    [
        ({"name": "D"}, {"name"}, 400),
        ({"name": "x" * 201}, {"name"}, 400),
        ({"name": "   "}, {"name"}, 422),  # long enough for the schema, empty once trimmed
        ({"email": "not-an-address"}, {"email"}, 400),
        ({"email": "a@b"}, {"email"}, 400),
        ({"role": "superuser"}, {"role"}, 400),
        ({"institution_id": 0}, {"institution_id"}, 400),
        ({"institution_id": "2"}, {"institution_id"}, 400),
        ({"api_key": "rgk_mine"}, {"api_key"}, 400),  # keys are issued, never sent
        ({"role": "admin"}, {"role"}, 422),  # sysadmins belong to aptrust.org only
        ({"name": "D", "email": "bad", "role": "root"}, {"name", "email", "role"}, 400),
        (
            {"name": "   ", "role": "admin"},
            {"name", "role"},
            422,
        ),  # every rule of the model at once
    ],
)
def test_create_names_every_offending_field(
    client, admin, scratch, example_id, change, fields, status
):
    before = user_count()
    body = {
        "name": "Valid Name",
        "email": scratch.email(),
        "role": "institutional_user",
        "institution_id": example_id,
        **change,
    }
    problem = assert_problem(client.post(CREATE, headers=admin, json=body), status)
    assert error_names(problem) == fields
    assert all(e["in"] == "body" for e in problem["errors"])
    assert user_count() == before


@pytest.mark.parametrize("missing", ["name", "email", "role", "institution_id"])
def test_create_requires_every_field(client, admin, scratch, example_id, missing):
    body = {
        "name": "Valid Name",
        "email": scratch.email(),
        "role": "institutional_user",
        "institution_id": example_id,
    }
    del body[missing]
    assert error_names(assert_problem(client.post(CREATE, headers=admin, json=body), 400)) == {
        missing
    }


def test_create_at_a_missing_or_deactivated_institution(client, admin, scratch):
    body = {
        "name": "Valid Name",
        "email": scratch.email(),
        "role": "institutional_user",
        "institution_id": 2**31,
    }
    problem = assert_problem(client.post(CREATE, headers=admin, json=body), 404)
    assert error_names(problem) == {"institution_id"}
    inst = client.post(
        f"{BASE}/institutions/create",
        headers=admin,
        json={
            "name": "Closing College",
            "identifier": scratch.identifier(),
            "type": "MemberInstitution",
        },
    ).json()
    client.delete(f"{BASE}/institutions/deactivate/{inst['id']}", headers=admin)
    problem = assert_problem(
        client.post(CREATE, headers=admin, json={**body, "institution_id": inst["id"]}), 422
    )
    assert error_names(problem) == {"institution_id"}


@pytest.mark.parametrize("email", ["admin@example.edu", "ADMIN@Example.EDU"])
def test_duplicate_email_in_any_case_is_409(client, admin, example_id, email):
    before = user_count()
    problem = assert_problem(
        client.post(
            CREATE,
            headers=admin,
            json={
                "name": "Impostor",
                "email": email,
                "role": "institutional_user",
                "institution_id": example_id,
            },
        ),
        409,
    )
    assert error_names(problem) == {"email"}
    assert user_count() == before


def test_list_filters_sorts_and_pages(client, admin, scratch, example_id, world):
    made = [
        new_user(client, admin, scratch, example_id, label)
        for label in ("b-user", "a-user", "c-user")
    ]
    client.delete(f"{BASE}/users/disable/{made[2]['id']}", headers=admin)
    token = scratch.token
    page = client.get(
        f"{BASE}/users", params={"email__contains": token.upper()}, headers=admin
    ).json()
    assert [u["name"] for u in page["results"]] == [
        "Person a-user",
        "Person b-user",
        "Person c-user",
    ]  # by e-mail
    assert page["count"] == 3 and set(page["results"][0]) == USER_FIELDS
    active = client.get(
        f"{BASE}/users",
        params={"email__contains": token, "deactivated_at__is_null": "true", "sort": "name__desc"},
        headers=admin,
    ).json()
    assert [u["id"] for u in active["results"]] == [made[0]["id"], made[1]["id"]]
    one = client.get(
        f"{BASE}/users", params={"email": made[1]["email"].upper()}, headers=admin
    ).json()
    assert [u["id"] for u in one["results"]] == [made[1]["id"]]
    first = client.get(
        f"{BASE}/users", params={"email__contains": token, "per_page": 2}, headers=admin
    ).json()
    assert len(first["results"]) == 2 and first["next"]
    admins = client.get(f"{BASE}/users", params={"role": "admin"}, headers=admin).json()
    assert world["sysadmin"].email in {u["email"] for u in admins["results"]}
    assert {u["role"] for u in admins["results"]} == {"admin"}
    at_test = client.get(
        f"{BASE}/users", params={"institution_id": world.institutions["test.edu"]}, headers=admin
    ).json()
    assert {u["institution_identifier"] for u in at_test["results"]} == {"test.edu"}


@pytest.mark.parametrize(
    "params,name",
    [
        ({"bogus": "1"}, "bogus"),
        ({"role": "root"}, "role"),
        ({"sort": "id__asc"}, "sort"),
        ({"per_page": "0"}, "per_page"),
    ],
)
def test_list_rejects_bad_parameters(client, admin, params, name):
    body = assert_problem(client.get(f"{BASE}/users", params=params, headers=admin), 400)
    assert error_names(body) == {name}


def test_show_missing_or_malformed_user(client, admin):
    assert_problem(client.get(f"{BASE}/users/show/{2**31}", headers=admin), 404)
    assert error_names(assert_problem(client.get(f"{BASE}/users/show/me", headers=admin), 400)) == {
        "id"
    }


# --- disable ---------------------------------------------------------------------------------


def test_disable_stops_the_users_keys_on_the_next_request(client, admin, scratch, example_id):
    user = new_user(client, admin, scratch, example_id)
    headers = as_user(user, issue(client, admin, user["id"])["key"])
    assert client.get(MEMBER_OBJECTS, headers=headers).status_code == 200
    response = client.delete(f"{BASE}/users/disable/{user['id']}", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["deactivated_at"] is not None and set(body) == USER_FIELDS
    assert_problem(client.get(MEMBER_OBJECTS, headers=headers), 401)
    assert client.get(f"{BASE}/users/show/{user['id']}", headers=admin).json() == body
    assert_problem(client.delete(f"{BASE}/users/disable/{user['id']}", headers=admin), 409)
    # No new key for a disabled user either: it could never work.
    assert_problem(client.post(f"{BASE}/users/{user['id']}/keys", headers=admin), 409)


def test_disable_a_missing_user_is_404(client, admin):
    assert_problem(client.delete(f"{BASE}/users/disable/{2**31}", headers=admin), 404)


# --- keys ------------------------------------------------------------------------------------


def test_revoking_one_key_leaves_the_others_working(client, admin, scratch, example_id):
    user = new_user(client, admin, scratch, example_id)
    first, second = issue(client, admin, user["id"]), issue(client, admin, user["id"])
    assert first["key"] != second["key"]
    path = f"{BASE}/users/{user['id']}/keys/{first['prefix']}"
    response = client.delete(path, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user["id"], "revoked": 1}
    assert_problem(client.get(MEMBER_OBJECTS, headers=as_user(user, first["key"])), 401)
    assert client.get(MEMBER_OBJECTS, headers=as_user(user, second["key"])).status_code == 200
    assert_problem(client.delete(path, headers=admin), 409)


def test_revoking_all_keys(client, admin, scratch, example_id):
    user = new_user(client, admin, scratch, example_id)
    keys = [issue(client, admin, user["id"])["key"] for _ in range(3)]
    path = f"{BASE}/users/{user['id']}/keys"
    assert client.delete(path, headers=admin).json() == {"user_id": user["id"], "revoked": 3}
    for key in keys:
        assert_problem(client.get(MEMBER_OBJECTS, headers=as_user(user, key)), 401)
    assert client.delete(path, headers=admin).json() == {"user_id": user["id"], "revoked": 0}
    fresh = issue(client, admin, user["id"])["key"]  # a new key works again
    assert client.get(MEMBER_OBJECTS, headers=as_user(user, fresh)).status_code == 200


def test_revoke_errors(client, admin, scratch, example_id, world):
    user = new_user(client, admin, scratch, example_id)
    issued = issue(client, admin, user["id"])
    base = f"{BASE}/users/{user['id']}/keys"
    assert_problem(client.delete(f"{base}/rgk_zzzzzzzz", headers=admin), 404)
    # Another user's key is not this user's to revoke.
    other = world["inst_user"].key[:12]
    assert_problem(client.delete(f"{base}/{other}", headers=admin), 404)
    # The whole key never belongs in a URL: only the prefix is accepted.
    body = assert_problem(client.delete(f"{base}/{issued['key']}", headers=admin), 400)
    assert error_names(body) == {"prefix"}
    assert_problem(client.delete(f"{BASE}/users/{2**31}/keys", headers=admin), 404)
    assert_problem(
        client.delete(f"{BASE}/users/{2**31}/keys/{issued['prefix']}", headers=admin), 404
    )
    assert_problem(client.post(f"{BASE}/users/{2**31}/keys", headers=admin), 404)
    assert client.get(MEMBER_OBJECTS, headers=as_user(user, issued["key"])).status_code == 200
    assert client.get(MEMBER_OBJECTS, headers=world["inst_user"].headers).status_code == 200


def test_no_key_for_a_user_of_a_deactivated_institution(client, admin, scratch):
    inst = client.post(
        f"{BASE}/institutions/create",
        headers=admin,
        json={
            "name": "Closing College",
            "identifier": scratch.identifier(),
            "type": "MemberInstitution",
        },
    ).json()
    user = new_user(client, admin, scratch, inst["id"])
    client.delete(f"{BASE}/institutions/deactivate/{inst['id']}", headers=admin)
    assert_problem(client.post(f"{BASE}/users/{user['id']}/keys", headers=admin), 409)


def test_the_secret_appears_only_in_the_issue_response(client, admin, scratch, example_id, caplog):
    """Not in any other response, any log record (SQL included), or any stored column."""
    user = new_user(client, admin, scratch, example_id)
    with caplog.at_level(logging.DEBUG):
        issued = issue(client, admin, user["id"])
        key, digest = issued["key"], hashlib.sha256(issued["key"].encode()).hexdigest()
        headers = as_user(user, key)
        answers = [
            client.get(MEMBER_OBJECTS, headers=headers),
            client.get(f"{BASE}/users/show/{user['id']}", headers=admin),
            client.get(f"{BASE}/users", params={"email": user["email"]}, headers=admin),
            client.delete(f"{BASE}/users/{user['id']}/keys/{issued['prefix']}", headers=admin),
            client.get(MEMBER_OBJECTS, headers=headers),
            client.delete(f"{BASE}/users/disable/{user['id']}", headers=admin),
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 401, 200]
    assert any(r.name == "peewee" for r in caplog.records)  # SQL logging was on
    for record in caplog.records:
        assert key not in record.getMessage(), record.name
    for answer in answers:
        assert key not in answer.text and digest not in answer.text
        assert key not in str(answer.headers)
    with connection():
        cursor = database.execute_sql(
            "SELECT * FROM api_keys WHERE user_id = ?".replace("?", database.param), [user["id"]]
        )
        stored = [str(value) for row in cursor.fetchall() for value in row]
    assert stored and not any(key in value for value in stored)
    assert digest in stored


# --- who may call ----------------------------------------------------------------------------


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_operations_need_credentials(client, operation):
    method, path, body = OPERATIONS[operation]
    assert_problem(client.request(method, path, json=body), 401)


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("persona", ["inst_admin", "inst_user", "no_role"])
def test_member_keys_are_refused_and_nothing_changes(client, world, operation, persona):
    method, path, body = OPERATIONS[operation]
    before = user_count()
    assert_problem(client.request(method, path, json=body, headers=world[persona].headers), 403)
    assert user_count() == before
    # The system user (id 1 in the demo) still holds a working key.
    assert (
        client.get(f"{BASE}/users/show/1", headers=world["sysadmin"].headers).json()[
            "deactivated_at"
        ]
        is None
    )
    assert client.get(MEMBER_OBJECTS, headers=world["sysadmin"].headers).status_code == 200


# --- the documents ---------------------------------------------------------------------------


def test_operations_are_fully_documented_and_linked(client):
    served = client.get(f"{BASE}/openapi.json").json()
    ops = {
        op["operationId"]: (path, op)
        for path, item in served["paths"].items()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    for operation in OPERATIONS:
        path, op = ops[operation]
        assert op["summary"] and op["description"] and op["tags"] == ["Users"], operation
        expected = {"400", "401", "403"} | ({"404"} if "{" in path else set())
        assert expected <= set(op["responses"]), operation
    for operation in ("create_user", "disable_user", "issue_api_key", "revoke_api_key"):
        assert "409" in ops[operation][1]["responses"], operation
    created = ops["create_user"][1]["responses"]["201"]["links"]
    assert created["ShowCreatedUser"]["operationId"] == "show_user"
    created = ops["create_institution"][1]["responses"]["201"]["links"]
    assert created["ShowCreatedInstitution"]["operationId"] == "show_institution"
    issued = ops["issue_api_key"][1]["responses"]["201"]["links"]["RevokeIssuedKey"]
    assert issued["parameters"] == {"id": "$request.path.id", "prefix": "$response.body#/prefix"}
    schemas = served["components"]["schemas"]
    assert schemas["UserCreate"]["additionalProperties"] is False
    assert "key" not in schemas["UserView"]["properties"]
