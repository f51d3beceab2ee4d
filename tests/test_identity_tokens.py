"""Bearer tokens: POST /member-api/v3/login makes one from the key headers, every operation of
both APIs takes it instead of them, POST /member-api/v3/logout ends it.

A token must stop working at once, on every app that shares the database, when it is logged out,
expires, its key is revoked or its user disabled; it is stored only as a digest; its scope is
at most its key's; and it reads only its own institution's records.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest

from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.storage.base import utcnow
from models.storage.db import connection
from models.token import ApiToken
from tests.fixtures_api import assert_problem
from tests.identity_setup import (
    ADMIN,
    MEMBER,
    bearer,
    login,
    make_key,
    new_member,
    set_key,
    set_token,
)

TOKEN_SHAPE = re.compile(r"^rgt_[A-Za-z0-9_-]{43}\.[0-9a-f]{32}$")
OBJECTS = f"{MEMBER}/objects"


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def test_login_answers_a_token_once_and_stores_only_its_digest(client, world):
    member = new_member(world)
    before = utcnow()
    issued = login(client, member.headers)
    assert issued.keys() == {"token", "token_type", "token_id", "scope", "expires_at"}
    assert TOKEN_SHAPE.match(issued["token"])
    assert issued["token_type"] == "Bearer"
    assert issued["token_id"] == issued["token"][:12]
    assert issued["scope"] == "read_write"
    lifetime = parse(issued["expires_at"]) - before
    assert dt.timedelta(minutes=59) < lifetime <= dt.timedelta(hours=1, seconds=5)
    with connection():
        rows = list(ApiToken.select().where(ApiToken.user == member.user_id).dicts())
    assert len(rows) == 1
    assert rows[0]["digest"] == hashlib.sha256(issued["token"].encode()).hexdigest()
    assert issued["token"] not in repr(rows)
    # Two logins, two different tokens.
    assert login(client, member.headers)["token"] != issued["token"]


def test_a_token_works_on_reads_writes_and_me_through_both_paths(client, world):
    member = new_member(world)
    token = login(client, member.headers)["token"]
    listed = client.get(f"{OBJECTS}?per_page=1", headers=bearer(token))  # the fast reads
    assert listed.status_code == 200, listed.text
    assert listed.json()["results"][0]["institution_id"] == member.institution_id
    me = client.get(f"{MEMBER}/me", headers=bearer(token)).json()
    assert me["credential"]["type"] == "token"
    marked = client.post(f"{MEMBER}/alerts/mark_all_as_read", headers=bearer(token))  # the chain
    assert marked.status_code == 200, marked.text


def test_the_scheme_name_is_case_insensitive_and_other_schemes_are_not_credentials(client, world):
    member = new_member(world)
    token = login(client, member.headers)["token"]
    assert client.get(OBJECTS, headers={"Authorization": f"bearer {token}"}).status_code == 200
    baseline = assert_problem(client.get(OBJECTS), 401)
    for value in (f"Basic {token}", "Bearer", token, f"Token {token}"):
        body = assert_problem(client.get(OBJECTS, headers={"Authorization": value}), 401)
        assert token not in str(body)
        assert body["detail"] == baseline["detail"] or value == "Bearer"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # another key's tag
        lambda t: t[:20] + ("A" if t[20] != "A" else "B") + t[21:],  # another secret
        lambda t: t.split(".")[0],  # no tag
        lambda t: "rgt_" + "A" * 43 + "." + t.split(".")[1],  # made up, a real key's tag
        lambda t: t + "x" * 300,  # overlong
    ],
    ids=["tag", "secret", "untagged", "made-up", "overlong"],
)
def test_a_wrong_token_answers_the_same_401_as_no_credentials(client, world, mangle):
    member = new_member(world)
    token = login(client, member.headers)["token"]
    baseline = assert_problem(client.get(OBJECTS), 401)
    wrong = mangle(token)
    body = assert_problem(client.get(OBJECTS, headers=bearer(wrong)), 401)
    assert body["detail"] == baseline["detail"]
    assert wrong not in str(body) and token not in str(body)


def test_a_token_logged_out_answers_401_and_others_live_on(client, world):
    member = new_member(world)
    first, second = login(client, member.headers)["token"], login(client, member.headers)["token"]
    out = client.post(f"{MEMBER}/logout", headers=bearer(first))
    assert (out.status_code, out.json()) == (200, {"revoked": 1})
    assert_problem(client.get(OBJECTS, headers=bearer(first)), 401)
    assert_problem(client.post(f"{MEMBER}/logout", headers=bearer(first)), 401)
    assert client.get(OBJECTS, headers=bearer(second)).status_code == 200


def test_logout_all_ends_every_token_of_the_caller_and_no_one_else_s(client, world):
    member, other = new_member(world), new_member(world)
    tokens = [login(client, member.headers)["token"] for _ in range(3)]
    theirs = login(client, other.headers)["token"]
    out = client.post(f"{MEMBER}/logout?all=true", headers=bearer(tokens[0]))
    assert out.json() == {"revoked": 3}
    for token in tokens:
        assert_problem(client.get(OBJECTS, headers=bearer(token)), 401)
    assert client.get(OBJECTS, headers=bearer(theirs)).status_code == 200
    # With a key: nothing to end but with all=true; the key itself keeps working.
    assert client.post(f"{MEMBER}/logout", headers=member.headers).json() == {"revoked": 0}
    login(client, member.headers)
    assert client.post(f"{MEMBER}/logout?all=true", headers=member.headers).json() == {"revoked": 1}
    assert client.get(OBJECTS, headers=member.headers).status_code == 200


def test_an_expired_token_answers_401(client, world):
    member = new_member(world)
    token = login(client, member.headers)["token"]
    set_token(token, expires_at=utcnow() - dt.timedelta(seconds=1))
    assert_problem(client.get(OBJECTS, headers=bearer(token)), 401)
    assert_problem(client.get(f"{MEMBER}/me", headers=bearer(token)), 401)


def test_the_lifetime_is_a_setting_and_never_outlasts_the_key(own_client, world):
    client = own_client(rate_limit=False, token_lifetime_s=120)
    member = new_member(world)
    before = utcnow()
    lifetime = parse(login(client, member.headers)["expires_at"]) - before
    assert dt.timedelta(seconds=115) < lifetime <= dt.timedelta(seconds=125)
    soon = utcnow() + dt.timedelta(seconds=30)
    short = make_key(client, member.headers, expires_at=soon.isoformat() + "Z")
    headers = {"X-Pharos-API-User": member.email, "X-Pharos-API-Key": short["key"]}
    expires = parse(login(client, headers)["expires_at"])
    assert abs(expires - soon) < dt.timedelta(seconds=1)


def test_revoking_the_key_ends_its_tokens_and_not_the_other_keys(client, world):
    member = new_member(world)
    spare = make_key(client, member.headers)
    spare_headers = {"X-Pharos-API-User": member.email, "X-Pharos-API-Key": spare["key"]}
    by_first = login(client, member.headers)["token"]
    by_spare = login(client, spare_headers)["token"]
    first_prefix = member.key[:12]
    out = client.delete(f"{MEMBER}/keys/{first_prefix}", headers=bearer(by_spare))
    assert out.status_code == 200, out.text
    assert_problem(client.get(OBJECTS, headers=bearer(by_first)), 401)
    assert_problem(client.get(OBJECTS, headers=member.headers), 401)
    assert client.get(OBJECTS, headers=bearer(by_spare)).status_code == 200
    with connection():
        revoked = ApiToken.select(ApiToken.revoked_at).where(ApiToken.user == member.user_id)
        assert sorted(r.revoked_at is None for r in revoked) == [False, True]


def test_an_expired_key_ends_its_tokens(client, world):
    member = new_member(world)
    token = login(client, member.headers)["token"]
    set_key(member.key[:12], expires_at=utcnow() - dt.timedelta(seconds=1))
    assert_problem(client.get(OBJECTS, headers=bearer(token)), 401)


def test_disabling_the_user_ends_their_tokens(client, world, admin):
    member = new_member(world)
    token = login(client, member.headers)["token"]
    out = client.delete(f"{ADMIN}/users/disable/{member.user_id}", headers=admin)
    assert out.status_code == 200, out.text
    assert_problem(client.get(OBJECTS, headers=bearer(token)), 401)
    with connection():
        row = ApiToken.get(ApiToken.user == member.user_id)
    assert row.revoked_at is not None


def test_a_token_of_a_deactivated_institution_answers_401(client, world):
    member = new_member(world)
    token = login(client, member.headers)["token"]
    with connection():
        Institution.update(deactivated_at=utcnow()).where(
            Institution.id == member.institution_id
        ).execute()
    try:
        assert_problem(client.get(OBJECTS, headers=bearer(token)), 401)
    finally:
        with connection():
            Institution.update(deactivated_at=None).where(
                Institution.id == member.institution_id
            ).execute()


def test_revocation_reaches_every_app_sharing_the_database_at_once(own_client, world):
    """Two apps stand for two workers (or servers): nothing is cached per app, so a logout
    answered by one is refused by the other on its very next request."""
    one, two = own_client(rate_limit=False), own_client(rate_limit=False)
    member = new_member(world)
    token = login(one, member.headers)["token"]
    assert two.get(OBJECTS, headers=bearer(token)).status_code == 200
    assert one.post(f"{MEMBER}/logout", headers=bearer(token)).status_code == 200
    assert_problem(two.get(OBJECTS, headers=bearer(token)), 401)
    again = login(two, member.headers)["token"]
    assert one.get(OBJECTS, headers=bearer(again)).status_code == 200
    assert one.delete(f"{MEMBER}/keys/{member.key[:12]}", headers=member.headers).status_code == 200
    assert_problem(two.get(OBJECTS, headers=bearer(again)), 401)
    assert_problem(two.get(OBJECTS, headers=member.headers), 401)


@pytest.mark.parametrize("operation", ["login", "create_key"])
def test_only_a_key_logs_in_or_makes_keys(client, world, operation):
    member = new_member(world)
    token = login(client, member.headers)["token"]
    if operation == "login":
        response = client.post(f"{MEMBER}/login", headers=bearer(token))
    else:
        response = client.post(f"{MEMBER}/keys", headers=bearer(token), json={"label": "x"})
    assert_problem(response, 401)


def test_a_token_s_scope_is_at_most_its_key_s(client, world):
    member = new_member(world)
    assert login(client, member.headers, scope="read")["scope"] == "read"
    reader = make_key(client, member.headers, scope="read")
    reader_headers = {"X-Pharos-API-User": member.email, "X-Pharos-API-Key": reader["key"]}
    assert login(client, reader_headers)["scope"] == "read"
    assert login(client, reader_headers, scope="read_write")["scope"] == "read"
    token = login(client, reader_headers)["token"]
    assert client.get(OBJECTS, headers=bearer(token)).status_code == 200
    body = assert_problem(
        client.post(f"{MEMBER}/alerts/mark_all_as_read", headers=bearer(token)), 403
    )
    assert "read" in body["detail"] and token not in body["detail"]
    assert client.post(f"{MEMBER}/logout", headers=bearer(token)).json() == {"revoked": 1}


def test_a_login_request_is_checked(client, world):
    member = new_member(world)
    for query in ({"scope": "admin"}, {"lifetime": 5}, {"scope": ""}):
        response = client.post(f"{MEMBER}/login", headers=member.headers, params=query)
        assert_problem(response, 400)


def test_the_admin_api_takes_a_sysadmin_s_token_and_refuses_others(client, world, admin):
    sysadmin_token = login(client, admin)["token"]
    listed = client.get(f"{ADMIN}/institutions", headers=bearer(sysadmin_token))
    assert listed.status_code == 200, listed.text
    created = client.post(
        f"{ADMIN}/users/create",
        headers=bearer(sysadmin_token),
        json={
            "name": "Made With A Token",
            "email": f"token-made-{sysadmin_token[4:12].lower()}@example.edu",
            "role": "institutional_user",
            "institution_id": world.institutions["example.edu"],
        },
    )
    assert created.status_code == 201, created.text
    member_token = login(client, new_member(world, role="institutional_admin").headers)["token"]
    assert_problem(client.get(f"{ADMIN}/institutions", headers=bearer(member_token)), 403)
    assert_problem(client.get(f"{ADMIN}/objects", headers=bearer(member_token)), 403)


@pytest.mark.parametrize("home, other", [("example.edu", "test.edu"), ("test.edu", "example.edu")])
def test_a_token_of_one_institution_never_reads_another_s(client, world, home, other):
    member = new_member(world, role="institutional_admin", institution=home)
    token = bearer(login(client, member.headers)["token"])
    other_id = world.institutions[other]
    with connection():
        theirs = (
            IntellectualObject.select(IntellectualObject.id, IntellectualObject.identifier)
            .where(IntellectualObject.institution == other_id)
            .first()
        )
    assert theirs is not None
    listed = client.get(f"{OBJECTS}?per_page=1000", headers=token).json()
    assert listed["count"] > 0
    assert {r["institution_id"] for r in listed["results"]} == {member.institution_id}
    assert_problem(client.get(f"{OBJECTS}/show/{theirs.id}", headers=token), 404)
    assert_problem(client.get(f"{OBJECTS}/show/{theirs.identifier}", headers=token), 404)
    assert_problem(client.get(f"{OBJECTS}?institution_id={other_id}", headers=token), 403)
    assert_problem(client.post(f"{OBJECTS}/{theirs.id}/restore", headers=token), 404)
