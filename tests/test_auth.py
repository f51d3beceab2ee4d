"""Authentication: X-Pharos-API-User AND X-Pharos-API-Key, keys kept only as digests.

A wrong credential of any kind must answer the same 401 (no hint which half was wrong), role
`none` must be refused everywhere, and a revoked key must stop working at once: these are the
properties a member relies on when a key leaks.
"""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest

from models.storage.db import connection, database
from models.user import KEY_PREFIX, ApiKey, User, issue_key, new_secret, revoke_keys
from tests.fixtures_api import assert_problem, request_example, spec_operations

OBJECTS = "/member-api/v3/objects"
MEMBER_PERSONAS = [
    "sysadmin",
    "inst_admin",
    "inst_user",
    "other_admin",
    "other_user",
    "sub_user",
    "museum_user",
]
KEY_SHAPE = re.compile(r"^rgk_[A-Za-z0-9_-]{43}$")  # prefix + 256 bits, URL-safe base64


def creds(email: str | None, key: str | None) -> dict:
    headers = {}
    if email is not None:
        headers["X-Pharos-API-User"] = email
    if key is not None:
        headers["X-Pharos-API-Key"] = key
    return headers


BAD_CREDENTIALS = {
    "no headers": lambda w: creds(None, None),
    "user header only": lambda w: creds(w["inst_user"].email, None),
    "key header only": lambda w: creds(None, w["inst_user"].key),
    "empty key": lambda w: creds(w["inst_user"].email, ""),
    "wrong key": lambda w: creds(w["inst_user"].email, new_secret()),
    "key of another user": lambda w: creds(w["inst_user"].email, w["inst_admin"].key),
    "unknown e-mail": lambda w: creds("ghost@example.edu", w["inst_user"].key),
    "overlong key": lambda w: creds(w["inst_user"].email, w["inst_user"].key + "x" * 300),
    "revoked key": lambda w: w["revoked"].headers,
    "disabled user": lambda w: w["disabled"].headers,
}


@pytest.mark.parametrize("persona", MEMBER_PERSONAS)
@pytest.mark.parametrize("path", [OBJECTS, "/member-api/v3/files"])
def test_valid_credentials_answer_200(client, world, persona, path):
    response = client.get(path, headers=world[persona].headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("case", list(BAD_CREDENTIALS))
def test_bad_credentials_answer_the_same_401(client, world, case):
    baseline = assert_problem(client.get(OBJECTS), 401)
    body = assert_problem(client.get(OBJECTS, headers=BAD_CREDENTIALS[case](world)), 401)
    # The same wording whatever was wrong: a caller cannot probe which e-mails exist.
    assert body["detail"] == baseline["detail"]
    assert body["title"] == "Unauthorized"


@pytest.mark.parametrize("operation_id,method,path", spec_operations())
def test_every_operation_requires_credentials(client, operation_id, method, path):
    assert_problem(client.request(method, path), 401)


@pytest.mark.parametrize("email", ["USER@EXAMPLE.EDU", "User@Example.Edu", "user@EXAMPLE.edu"])
def test_email_match_is_case_insensitive(client, world, email):
    response = client.get(OBJECTS, headers=creds(email, world["inst_user"].key))
    assert response.status_code == 200, response.text
    assert {r["institution_id"] for r in response.json()["results"]} == {
        world["inst_user"].institution_id
    }


@pytest.mark.parametrize("operation_id,method,path", spec_operations())
def test_role_none_is_forbidden_on_every_operation(client, world, operation_id, method, path):
    # A valid request (the spec's example body, if any): what fails is the role, nothing else.
    body = assert_problem(
        client.request(
            method, path, headers=world["no_role"].headers, json=request_example(operation_id)
        ),
        403,
    )
    assert body["title"] == "Forbidden"


def _api_key_rows() -> list[dict]:
    with connection():
        cursor = database.execute_sql("SELECT * FROM api_keys")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_keys_are_stored_only_as_sha256_digests(world):
    rows = _api_key_rows()
    stored_text = [str(value) for row in rows for value in row.values()]
    by_digest = {row["digest"]: row for row in rows}
    for name, persona in world.personas.items():
        assert not any(persona.key in text for text in stored_text), name
        expected = hashlib.sha256(persona.key.encode()).hexdigest()
        row = by_digest.get(expected)
        assert row is not None, f"{name}: no row with sha256(secret)"
        assert row["user_id"] == persona.user_id
        assert row["prefix"] == persona.key[: len(KEY_PREFIX) + 8]


def test_issued_keys_are_long_random_and_prefixed(world):
    keys = [persona.key for persona in world.personas.values()]
    for key in keys:
        assert key.startswith(KEY_PREFIX)
        assert KEY_SHAPE.match(key), key
    fresh = {new_secret() for _ in range(500)}
    assert len(set(keys)) == len(keys)
    assert len(fresh) == 500
    assert all(KEY_SHAPE.match(key) for key in fresh)


@pytest.fixture
def fresh_user(world):
    """A user with one key, created for this test and removed after it."""
    with connection(), database.atomic():
        user = User.create(
            email=f"fresh-{uuid.uuid4().hex[:8]}@example.edu",
            name="Fresh",
            role="institutional_user",
            institution=world.institutions["example.edu"],
        )
        secret = issue_key(user)
    yield user, secret
    with connection(), database.atomic():
        ApiKey.delete().where(ApiKey.user == user.id).execute()
        User.delete().where(User.id == user.id).execute()


def test_revoking_a_key_takes_effect_on_the_next_request(client, fresh_user):
    user, secret = fresh_user
    headers = creds(user.email, secret)
    assert client.get(OBJECTS, headers=headers).status_code == 200
    with connection(), database.atomic():
        assert revoke_keys(user) == 1
    assert_problem(client.get(OBJECTS, headers=headers), 401)
