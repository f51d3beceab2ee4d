"""Self-service keys (/member-api/v3/keys) and anyone's keys for sysadmins (/admin-api/v3/users/
{id}/keys): a member makes, lists and revokes their own keys, never sees a secret twice, holds
at most a configured number of live keys, and may make `read` keys that every write refuses.
"""

from __future__ import annotations

import datetime as dt

import pytest

from models.storage.base import utcnow
from tests.concurrency import at_once, statuses
from tests.fixtures_api import assert_problem, error_names, request_example, spec_operations
from tests.identity_setup import (
    ADMIN,
    MEMBER,
    bearer,
    key_headers,
    key_row,
    login,
    make_key,
    new_member,
    set_key,
)
from tests.test_auth import KEY_SHAPE

KEYS = f"{MEMBER}/keys"
OBJECTS = f"{MEMBER}/objects"
VIEW_FIELDS = {
    "id",
    "user_id",
    "prefix",
    "label",
    "scope",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
}


def test_a_member_makes_a_key_sees_its_secret_once_and_it_works(client, world):
    member = new_member(world)
    made = make_key(client, member.headers, label="  backup script  ")
    assert made.keys() == {"key", "prefix", "label", "scope", "created_at", "expires_at"}
    assert KEY_SHAPE.match(made["key"]) and made["prefix"] == made["key"][:12]
    assert (made["label"], made["scope"], made["expires_at"]) == (
        "backup script",
        "read_write",
        None,
    )
    headers = key_headers(member.email, made["key"])
    assert client.get(OBJECTS, headers=headers).status_code == 200
    listed = client.get(KEYS, headers=member.headers)
    assert listed.status_code == 200, listed.text
    rows = listed.json()["results"]
    assert [r["prefix"] for r in rows] == [made["prefix"], member.key[:12]]  # newest first
    assert all(r.keys() == VIEW_FIELDS for r in rows)
    assert made["key"] not in listed.text and member.key not in listed.text
    assert key_row(made["prefix"]).digest not in listed.text


def test_a_member_lists_only_their_own_keys_whatever_they_ask(client, world):
    member, other = new_member(world), new_member(world)
    make_key(client, other.headers)
    rows = client.get(KEYS, headers=member.headers).json()["results"]
    assert {r["user_id"] for r in rows} == {member.user_id}
    refused = assert_problem(
        client.get(f"{KEYS}?user_id={other.user_id}", headers=member.headers), 400
    )
    assert error_names(refused) == {"user_id"}
    # A sysadmin's own list in the member API is their own keys too.
    sysadmin = world["sysadmin"]
    mine = client.get(KEYS, headers=sysadmin.headers).json()["results"]
    assert {r["user_id"] for r in mine} == {sysadmin.user_id}


def test_keys_filter_by_scope_and_revocation_and_sort(client, world):
    member = new_member(world)
    reader = make_key(client, member.headers, scope="read")
    gone = make_key(client, member.headers)
    assert client.delete(f"{KEYS}/{gone['prefix']}", headers=member.headers).status_code == 200

    def prefixes(query: str) -> list[str]:
        response = client.get(f"{KEYS}?{query}", headers=member.headers)
        assert response.status_code == 200, response.text
        return [r["prefix"] for r in response.json()["results"]]

    assert prefixes("scope=read") == [reader["prefix"]]
    assert prefixes("revoked_at__is_null=false") == [gone["prefix"]]
    assert set(prefixes("revoked_at__is_null=true")) == {reader["prefix"], member.key[:12]}
    assert prefixes("sort=created_at__asc")[0] == member.key[:12]
    assert_problem(client.get(f"{KEYS}?sort=digest__asc", headers=member.headers), 400)


@pytest.mark.parametrize(
    "body, field, status",
    [
        ({}, "label", 400),
        ({"label": ""}, "label", 400),
        ({"label": "   "}, "label", 400),
        ({"label": "x" * 101}, "label", 400),
        ({"label": "ci", "scope": "admin"}, "scope", 400),
        ({"label": "ci", "expires_at": "tomorrow"}, "expires_at", 400),
        ({"label": "ci", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at", 422),
        ({"label": "ci", "key": "rgk_" + "a" * 43}, "key", 400),
    ],
)
def test_a_bad_key_request_names_the_field_and_makes_nothing(client, world, body, field, status):
    member = new_member(world)
    response = client.post(KEYS, headers=member.headers, json=body)
    problem = assert_problem(response, status)
    assert field in error_names(problem) or field in problem["detail"], problem
    assert client.get(KEYS, headers=member.headers).json()["count"] == 1


def test_an_expired_key_answers_the_same_401_as_an_unknown_one(client, world):
    member = new_member(world)
    soon = make_key(
        client, member.headers, expires_at=(utcnow() + dt.timedelta(hours=1)).isoformat() + "Z"
    )
    headers = key_headers(member.email, soon["key"])
    assert client.get(OBJECTS, headers=headers).status_code == 200
    set_key(soon["prefix"], expires_at=utcnow() - dt.timedelta(seconds=1))
    baseline = assert_problem(client.get(OBJECTS), 401)
    assert assert_problem(client.get(OBJECTS, headers=headers), 401)["detail"] == baseline["detail"]
    assert_problem(client.post(f"{MEMBER}/login", headers=headers), 401)


def test_a_member_holds_at_most_the_configured_number_of_live_keys(own_client, world):
    client = own_client(rate_limit=False, max_keys_per_user=3)
    member = new_member(world)
    first = make_key(client, member.headers)
    make_key(client, member.headers)
    full = assert_problem(client.post(KEYS, headers=member.headers, json={"label": "4th"}), 409)
    assert "3" in full["detail"]
    # Revoked and expired keys are not live: each frees a place.
    client.delete(f"{KEYS}/{first['prefix']}", headers=member.headers)
    second = make_key(client, member.headers)
    assert_problem(client.post(KEYS, headers=member.headers, json={"label": "4th"}), 409)
    set_key(second["prefix"], expires_at=utcnow() - dt.timedelta(seconds=1))
    make_key(client, member.headers)


def test_keys_made_at_once_never_pass_the_limit(own_client, world):
    """Eight requests for a key at the same instant, by a member holding one of three: two
    201s and six 409s, and three live keys, in each of three rounds (the user's row is locked
    while its keys are counted: without that lock, PostgreSQL answered more than two 201s)."""
    client = own_client(rate_limit=False, max_keys_per_user=3)
    member = new_member(world)
    for _ in range(3):
        ask = lambda: client.post(KEYS, headers=member.headers, json={"label": "race"})  # noqa: E731
        outcomes = at_once([ask] * 8)
        assert statuses(outcomes) == [201] * 2 + [409] * 6
        live = client.get(f"{KEYS}?revoked_at__is_null=true", headers=member.headers).json()
        assert live["count"] == 3
        for outcome in outcomes:
            if outcome.status == 201:
                prefix = outcome.value.json()["prefix"]
                client.delete(f"{KEYS}/{prefix}", headers=member.headers)


def test_revoking_a_key_works_at_once_and_only_on_the_caller_s_keys(client, world):
    member, other = new_member(world), new_member(world)
    spare = make_key(client, member.headers)
    theirs = other.key[:12]
    missing = assert_problem(client.delete(f"{KEYS}/{theirs}", headers=member.headers), 404)
    assert other.key not in missing["detail"]
    assert client.get(OBJECTS, headers=other.headers).status_code == 200
    assert_problem(client.delete(f"{KEYS}/rgk_AAAAAAAA", headers=member.headers), 404)
    assert_problem(client.delete(f"{KEYS}/not-a-prefix", headers=member.headers), 400)
    out = client.delete(f"{KEYS}/{spare['prefix']}", headers=member.headers)
    assert (out.status_code, out.json()) == (200, {"user_id": member.user_id, "revoked": 1})
    assert_problem(client.get(OBJECTS, headers=key_headers(member.email, spare["key"])), 401)
    assert_problem(client.delete(f"{KEYS}/{spare['prefix']}", headers=member.headers), 409)
    row = client.get(f"{KEYS}?revoked_at__is_null=false", headers=member.headers).json()
    assert [r["prefix"] for r in row["results"]] == [spare["prefix"]]
    # A key may revoke itself: its answer is the last it gets.
    last = client.delete(f"{KEYS}/{member.key[:12]}", headers=member.headers)
    assert last.status_code == 200
    assert_problem(client.get(OBJECTS, headers=member.headers), 401)


WRITES = [
    (operation_id, method, path)
    for operation_id, method, path in spec_operations()
    if method != "GET" and operation_id not in ("login", "logout")
]


@pytest.mark.parametrize("operation_id, method, path", WRITES, ids=[w[0] for w in WRITES])
def test_a_read_key_is_refused_every_write_of_the_member_api(
    client, world, operation_id, method, path
):
    # The institutional admin may call every member write by role: what fails is the scope.
    member = new_member(world, role="institutional_admin")
    reader = make_key(client, member.headers, scope="read")
    response = client.request(
        method,
        path,
        headers=key_headers(member.email, reader["key"]),
        json=request_example(operation_id),
    )
    body = assert_problem(response, 403)
    assert "scope read" in body["detail"], body


def test_a_read_key_reads_logs_in_and_out(client, world):
    member = new_member(world)
    reader = key_headers(member.email, make_key(client, member.headers, scope="read")["key"])
    for path in (OBJECTS, f"{MEMBER}/files", f"{MEMBER}/me", KEYS, f"{MEMBER}/items"):
        assert client.get(path, headers=reader).status_code == 200, path
    token = login(client, reader)["token"]
    assert client.post(f"{MEMBER}/logout", headers=bearer(token)).status_code == 200


def test_a_sysadmin_s_read_key_is_refused_admin_writes(client, world, admin):
    reader = key_headers(world["sysadmin"].email, make_key(client, admin, scope="read")["key"])
    assert client.get(f"{ADMIN}/institutions", headers=reader).status_code == 200
    member = new_member(world)
    body = assert_problem(
        client.delete(f"{ADMIN}/users/{member.user_id}/keys", headers=reader), 403
    )
    assert "scope read" in body["detail"]
    assert client.get(OBJECTS, headers=member.headers).status_code == 200


def test_last_used_is_written_at_most_once_a_minute(client, world, count_queries):
    member = new_member(world)
    prefix = member.key[:12]
    assert key_row(prefix).last_used_at is None
    client.get(f"{MEMBER}/me", headers=member.headers)
    first = key_row(prefix).last_used_at
    assert first is not None and utcnow() - first < dt.timedelta(seconds=30)
    count_queries.statements.clear()
    for _ in range(3):
        assert client.get(f"{MEMBER}/me", headers=member.headers).status_code == 200
    assert not [s for s in count_queries.statements if "UPDATE" in str(s)]
    assert key_row(prefix).last_used_at == first
    set_key(prefix, last_used_at=utcnow() - dt.timedelta(seconds=61))
    client.get(f"{MEMBER}/me", headers=member.headers)
    assert utcnow() - key_row(prefix).last_used_at < dt.timedelta(seconds=30)
    # Logging in is a use of the key; a token's requests are not written per request.
    listed = client.get(KEYS, headers=member.headers).json()["results"]
    assert listed[0]["last_used_at"] is not None


def test_a_sysadmin_lists_anyone_s_keys_and_revokes_them_with_their_tokens(client, world, admin):
    member = new_member(world)
    made = make_key(client, member.headers, label="ci", scope="read")
    token = login(client, member.headers)["token"]
    listed = client.get(f"{ADMIN}/users/{member.user_id}/keys", headers=admin)
    assert listed.status_code == 200, listed.text
    rows = listed.json()["results"]
    assert [(r["prefix"], r["label"], r["scope"]) for r in rows] == [
        (made["prefix"], "ci", "read"),
        (member.key[:12], None, "read_write"),
    ]
    assert made["key"] not in listed.text
    out = client.delete(f"{ADMIN}/users/{member.user_id}/keys/{member.key[:12]}", headers=admin)
    assert out.status_code == 200, out.text
    assert_problem(client.get(OBJECTS, headers=bearer(token)), 401)
    assert_problem(client.get(f"{ADMIN}/users/999999999/keys", headers=admin), 404)
    other = new_member(world, role="institutional_admin")
    assert_problem(client.get(f"{ADMIN}/users/{member.user_id}/keys", headers=other.headers), 403)
