"""The security requirements of keys and tokens (issue 18): no secret or token in any log line
or error body; secrets compared in constant time; a token's requests counted against its key's
rate limits, never a budget of their own."""

from __future__ import annotations

import hmac
import io
import json
import logging

import pytest

from models import token as tokens
from models import user as users
from registry.web import observe
from registry.web.rate_limit import bearer_partition, key_partition
from tests.fixtures_api import assert_problem
from tests.identity_setup import MEMBER, bearer, key_headers, login, make_key, new_member

OBJECTS = f"{MEMBER}/objects"


@pytest.fixture
def log_text():
    """Everything Registry's log handler writes while the test runs (every logger, DEBUG)."""
    stream = io.StringIO()
    handler = observe.handler(stream, "json")
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream.getvalue
    root.removeHandler(handler)
    root.setLevel(level)


def test_no_secret_or_token_is_logged_or_echoed(own_client, world, log_text):
    client = own_client(rate_limit=False)
    member = new_member(world)
    made = make_key(client, member.headers)
    issued = login(client, member.headers)
    token = issued["token"]
    wrong = token[:-4] + "0000"
    answers = [
        client.get(OBJECTS, headers=bearer(token)),
        client.get(f"{MEMBER}/me", headers=bearer(token)),
        client.get(OBJECTS, headers=bearer(wrong)),
        client.get(OBJECTS, headers=key_headers(member.email, made["key"] + "x")),
        client.post(f"{MEMBER}/keys", headers=member.headers, json={"label": made["key"] * 3}),
        client.post(f"{MEMBER}/login", headers=bearer(token)),
        client.post(f"{MEMBER}/logout", headers=bearer(token)),
        client.get(OBJECTS, headers=bearer(token)),
    ]
    assert [a.status_code for a in answers] == [200, 200, 401, 401, 400, 401, 200, 401]
    text = log_text()
    lines = [json.loads(line) for line in text.splitlines() if line]
    access = [line for line in lines if line["logger"] == "registry.access"]
    assert len(access) >= len(answers)
    assert {line["user"] for line in access[-len(answers) :]} == {member.email, None}
    secrets = [member.key, made["key"], token, wrong, token.split(".")[0]]
    for secret in secrets:
        assert secret not in text
        for answer in answers[1:]:
            assert secret not in answer.text


def test_secrets_are_compared_in_constant_time(client, world, monkeypatch):
    compared, original = [], hmac.compare_digest

    def spy(a, b):
        compared.append((len(a), len(b)))
        return original(a, b)

    assert users.hmac is tokens.hmac is hmac
    monkeypatch.setattr(hmac, "compare_digest", spy)
    member = new_member(world)
    token = login(client, member.headers)["token"]
    assert compared, "the key's e-mail was not compared with hmac.compare_digest"
    compared.clear()
    assert client.get(OBJECTS, headers=bearer(token)).status_code == 200
    assert compared == [(64, 64)]  # the two SHA-256 digests, hex


def test_a_token_is_charged_to_the_partition_of_the_key_that_made_it(client, world):
    member = new_member(world)
    token = login(client, member.headers)["token"]
    assert bearer_partition(f"Bearer {token}".encode()) == key_partition(member.key.encode())
    assert bearer_partition(f"bearer  {token} ".encode()) == key_partition(member.key.encode())
    assert bearer_partition(b"Basic abc") is None and bearer_partition(b"Bearer ") is None
    untagged = bearer_partition(b"Bearer sometoken")
    assert untagged.startswith("k:") and "sometoken" not in untagged


def test_tokens_and_their_key_share_one_budget(own_client, world):
    client = own_client(rate_limit_key_reads="4/minute")
    member = new_member(world)
    first = login(client, member.headers)["token"]  # a write: the reads budget is untouched
    second = login(client, member.headers)["token"]
    answers = [
        client.get(OBJECTS, headers=member.headers),
        client.get(OBJECTS, headers=bearer(first)),
        client.get(OBJECTS, headers=bearer(second)),
        client.get(OBJECTS, headers=member.headers),
        client.get(OBJECTS, headers=bearer(first)),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert [a.headers["ratelimit"] for a in answers[:4]] == [
        f'"reads";r={n};t={a.headers["ratelimit"].rsplit("=", 1)[1]}'
        for n, a in zip((3, 2, 1, 0), answers[:4], strict=True)
    ]
    assert assert_problem(answers[-1], 429)["violated-policies"] == ["reads"]
    # Another member's key and tokens are not touched.
    other = new_member(world)
    assert (
        client.get(OBJECTS, headers=bearer(login(client, other.headers)["token"])).status_code
        == 200
    )


def test_made_up_tokens_spend_their_address_s_budget(own_client, world):
    """As made-up keys do: each 401 is charged to the client address too, and once that is
    spent the address's credentialed requests are refused before any lookup."""
    client = own_client(rate_limit_address_reads="3/minute")
    statuses = [
        client.get(OBJECTS, headers=bearer(f"rgt_{'A' * 43}.{n:032x}")).status_code
        for n in range(5)
    ]
    assert statuses[:3] == [401, 401, 401] and statuses[-1] == 429
