"""Tokens and keys end on every worker at once: a live `registry serve --workers 2`.

After a logout (or a key's revocation), every request with the token is refused, whichever
worker process answers it: nothing about a credential is cached in a process. The requests go
out on connections of their own until both workers have answered (each answer's worker is read
from the request log, by request id).
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from tests import live_server

MEMBER = "/member-api/v3"
MAX_TRIES = 200


@pytest.fixture(scope="module")
def server(backend, tmp_path_factory):
    """On each backend (as tests/test_live_server.py: a PostgreSQL database of its own)."""
    directory = tmp_path_factory.mktemp("identity-live")
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'live.db'}"
    else:
        from tests.postgres import PG_URL

        url = f"{PG_URL}_identity_live"
    started = live_server.start(url, directory)
    try:
        yield started
    finally:
        live_server.stop(started)


def _pid_of(server, request_id: str) -> int:
    """The pid of the worker that answered, from its request log line (written just after
    the answer is sent: waited for, a few seconds at most)."""
    deadline = time.monotonic() + 5
    while True:
        for line in server.log().splitlines():
            if request_id in line and line.startswith("{"):
                entry = json.loads(line)
                if entry.get("logger") == "registry.access" and entry["request_id"] == request_id:
                    return entry["pid"]
        if time.monotonic() > deadline:
            raise AssertionError(f"no request log line for {request_id}")
        time.sleep(0.05)


def _refused_by_both_workers(server, headers: dict) -> set[int]:
    """Send GET /me with `headers` on fresh connections until both workers have answered;
    every answer must be 401. The workers' pids."""
    pids: set[int] = set()
    for _ in range(MAX_TRIES):
        request_id = uuid.uuid4().hex
        answer = httpx.get(
            f"{server.base}{MEMBER}/me", headers={**headers, "X-Request-ID": request_id}
        )
        assert answer.status_code == 401, answer.text
        pids.add(_pid_of(server, request_id))
        if len(pids) == 2:
            break
    return pids


def test_a_logged_out_token_and_a_revoked_key_answer_401_on_every_worker(server):
    key = server.headers("inst_user")
    made = httpx.post(f"{server.base}{MEMBER}/keys", headers=key, json={"label": "live"})
    assert made.status_code == 201, made.text
    spare = {**key, "X-Pharos-API-Key": made.json()["key"]}
    tokens = []
    for _ in range(2):
        issued = httpx.post(f"{server.base}{MEMBER}/login", headers=spare)
        assert issued.status_code == 201, issued.text
        tokens.append({"Authorization": f"Bearer {issued.json()['token']}"})
    for token in tokens:
        assert httpx.get(f"{server.base}{MEMBER}/me", headers=token).status_code == 200
    out = httpx.post(f"{server.base}{MEMBER}/logout", headers=tokens[0])
    assert out.json() == {"revoked": 1}
    assert len(_refused_by_both_workers(server, tokens[0])) == 2
    # The other token lives until its key is revoked.
    assert httpx.get(f"{server.base}{MEMBER}/me", headers=tokens[1]).status_code == 200
    prefix = made.json()["prefix"]
    assert httpx.delete(f"{server.base}{MEMBER}/keys/{prefix}", headers=key).status_code == 200
    assert len(_refused_by_both_workers(server, tokens[1])) == 2
    assert len(_refused_by_both_workers(server, spare)) == 2
