"""GET /member-api/v3/me: who the caller is, and how this request authenticated."""

from __future__ import annotations

import datetime as dt

import pytest

from models.institution import Institution
from models.storage.base import utcnow
from models.storage.db import connection
from tests.fixtures_api import assert_problem
from tests.identity_setup import MEMBER, bearer, key_headers, login, make_key, new_member

ME = f"{MEMBER}/me"
PERSONAS = ["sysadmin", "inst_admin", "inst_user", "other_admin", "sub_user", "museum_user"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_me_names_the_caller_their_institution_and_their_key(client, world, persona):
    me = world[persona]
    response = client.get(ME, headers=me.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    with connection():
        institution = Institution.get_by_id(me.institution_id)
    assert body == {
        "user_id": me.user_id,
        "email": me.email,
        "name": body["name"],
        "role": me.role,
        "institution": {
            "id": institution.id,
            "identifier": institution.identifier,
            "name": institution.name,
        },
        "credential": {
            "type": "key",
            "id": me.key[:12],
            "scope": "read_write",
            "expires_at": None,
        },
    }
    assert body["name"] and me.key not in response.text


def test_me_with_a_token_names_the_token_its_scope_and_expiry(client, world):
    member = new_member(world)
    issued = login(client, member.headers, scope="read")
    body = client.get(ME, headers=bearer(issued["token"])).json()
    assert body["credential"] == {
        "type": "token",
        "id": issued["token_id"],
        "scope": "read",
        "expires_at": issued["expires_at"],
    }
    assert body["user_id"] == member.user_id
    assert issued["token"] not in str(body)


def test_me_with_a_key_of_limited_scope_and_life(client, world):
    member = new_member(world)
    until = (utcnow() + dt.timedelta(days=30)).replace(microsecond=0)
    made = make_key(client, member.headers, scope="read", expires_at=until.isoformat() + "Z")
    body = client.get(ME, headers=key_headers(member.email, made["key"])).json()
    assert body["credential"] == {
        "type": "key",
        "id": made["prefix"],
        "scope": "read",
        "expires_at": until.isoformat() + "Z",
    }


def test_me_needs_credentials_and_refuses_role_none(client, world):
    assert_problem(client.get(ME), 401)
    assert_problem(client.get(ME, headers=world["no_role"].headers), 403)
    assert_problem(client.get(ME, headers=world["revoked"].headers), 401)
    assert_problem(client.get(ME, headers=world["disabled"].headers), 401)
