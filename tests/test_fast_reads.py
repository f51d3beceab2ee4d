"""The fast path for GETs (registry/web/fast_reads.py) answers exactly as Connexion's chain does.

One app with the fast path, one without, over the same database: every GET operation of both
APIs is asked, by every kind of caller, with valid, invalid and unknown parameters, and the two
answers must be the same status, headers and bytes. The fast path must also really answer the
requests it can (else the comparison would prove nothing) and leave the rest to the chain.
"""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import quote, urlencode

import pytest
from connexion.spec import Specification

from models import token as tokens
from models import user as users
from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.storage.db import connection, database
from registry.app import create_app
from registry.settings import Settings
from registry.spec import ADMIN_SPEC, MEMBER_SPEC, load_spec
from registry.web import fast_reads

# x-request-id: made anew for each request (registry/web/observe.py), by either path.
IGNORED_HEADERS = {"date", "server", "x-request-id"}


@pytest.fixture(scope="module")
def chain_client(app, database_url):
    """A client of an app that sends every request through Connexion's chain."""
    from conftest import BATCH_DELETION_KEY

    bound = database.obj
    chain_app = create_app(
        Settings(
            database_url=database_url,
            validate_responses=True,
            batch_deletion_key=BATCH_DELETION_KEY,
            fast_reads=False,
            rate_limit=False,
        )
    )  # as the session's app
    database.initialize(bound)  # both apps share the session's database handle
    return chain_app.test_client()


@pytest.fixture
def answered(monkeypatch):
    """How many requests the fast path answered itself (error answers included)."""
    counts = {"fast": 0}
    original = fast_reads.FastReads.answer

    async def counting(self, route, scope, receive):
        response = await original(self, route, scope, receive)
        counts["fast"] += response is not None
        return response

    monkeypatch.setattr(fast_reads.FastReads, "answer", counting)
    return counts


def _example(schema: dict):
    """A value the schema accepts, as a query string would carry it."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "array":
        return [_example(schema["items"])]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return "true"
    if schema.get("format") == "date-time":
        return "2020-01-01T00:00:00Z"
    return "a"


def _get_operations():
    for spec_path, prefix in ((MEMBER_SPEC, ""), (ADMIN_SPEC, "/admin-api/v3")):
        spec = Specification.load(load_spec(spec_path))
        for path, methods in spec["paths"].items():
            if "get" in methods:
                yield prefix + path, methods["get"].get("parameters", [])


def _queries(parameters) -> list[str]:
    """No parameters; each query parameter alone, valid and invalid, empty, and (integers) at
    or below 0; paging, above 1000 and empty; an unknown one, empty too."""
    queries = ["", "bogus=1", "bogus="]
    query = [p for p in parameters if p["in"] == "query"]
    if any(p["name"] == "page" for p in query):
        queries += [
            "page=2&per_page=2",
            "per_page=0",
            "page=abc",
            "per_page=1&page=999",
            "per_page=5000",
            "per_page=1001&page=2",
            "per_page=",
            "page=",
        ]
    for param in query:
        name, value = param["name"], _example(param["schema"])
        values = value if isinstance(value, list) else [value]
        queries.append(urlencode([(name, v) for v in values]))
        if param["schema"].get("type") in ("integer", "boolean") or "enum" in param["schema"]:
            queries.append(urlencode([(name, "not-a-value")]))
        if param.get("allowEmptyValue"):  # an empty value is ignored, alone or repeated
            queries += [f"{name}=", urlencode([(name, "")] + [(name, v) for v in values])]
        if param["schema"].get("type") == "integer":
            queries += [f"{name}=0", f"{name}=-1"]
    return queries


def _requests(world) -> list[tuple[str, str, dict]]:
    """(description, path, headers) for the whole comparison."""
    with connection():
        obj = IntellectualObject.select().order_by(IntellectualObject.id).first()
        gf = GenericFile.select().order_by(GenericFile.id).first()
    ids = [
        "1",
        "2",
        "999999",
        "abc",
        quote(obj.identifier, safe=""),
        quote(gf.identifier, safe=""),
        gf.identifier,
    ]
    callers = {
        name: world[name].headers
        for name in ("sysadmin", "inst_admin", "inst_user", "other_user", "disabled", "revoked")
    }
    callers["anonymous"] = {}
    callers["wrong key"] = {**world["inst_user"].headers, "X-Pharos-API-Key": "x" * 40}
    # Bearer tokens: the second security requirement, tried when the key headers are absent or
    # fail (connexion.security.SecurityHandlerFactory.verify_security, which the fast path
    # mirrors).
    member = world["inst_user"]
    token = tokens.issue_token(
        users.authenticate(member.email, member.key), dt.timedelta(hours=1), None
    )["token"]
    callers["token"] = {"Authorization": f"Bearer {token}"}
    callers["wrong token"] = {"Authorization": f"Bearer {token[:-1]}x"}
    callers["no token"] = {"Authorization": "Bearer"}
    callers["basic"] = {"Authorization": "Basic dXNlcjpwYXNz"}
    callers["wrong key, token"] = {**callers["wrong key"], **callers["token"]}
    everyone, main = callers.items(), [(n, callers[n]) for n in ("sysadmin", "inst_user")]
    out = []
    for template, parameters in _get_operations():
        if "{" in template:
            for value in ids:
                path = template.replace("{id}", value).replace("{user_id}", "1")
                out += [(f"{name} GET {path}", path, headers) for name, headers in main]
            path = template.replace("{id}", "1").replace("{user_id}", "1")
            out += [(f"{name} GET {path}", path, headers) for name, headers in everyone]
            continue
        for query in _queries(parameters):
            path = f"{template}?{query}" if query else template
            out += [(f"{name} GET {path}", path, headers) for name, headers in main]
        out += [(f"{name} GET {template}", template, headers) for name, headers in everyone]
    return out


def _answer(response) -> tuple:
    headers = sorted(
        (k.lower(), v) for k, v in response.headers.items() if k.lower() not in IGNORED_HEADERS
    )
    return response.status_code, headers, response.content


def test_every_get_answers_as_the_chain_does(client, chain_client, world, answered, caplog):
    requests = _requests(world)
    different = []
    unrouted = 0
    for description, path, headers in requests:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="registry.web.fast_reads"):
            fast = client.get(path, headers=headers)
        unrouted += any("no GET operation" in r.getMessage() for r in caplog.records)
        chain = chain_client.get(path, headers=headers)
        if _answer(fast) != _answer(chain):
            different.append(
                f"{description}: {fast.status_code} {fast.content[:200]!r} vs "
                f"{chain.status_code} {chain.content[:200]!r}"
            )
    assert not different, "\n".join(different[:20])
    # Every answer, error answers included, was the fast path's own (not the chain's, after a
    # fallback), so the comparison above compared the two paths; except for the paths no
    # operation has (an identifier with a raw slash: the chain's 404).
    assert answered["fast"] + unrouted == len(requests) and unrouted < len(requests) // 10
    assert (
        sum(
            1 for _, path, headers in requests[:400] if client.get(path, headers=headers).is_success
        )
        > 100
    )


def test_the_fast_path_answers_errors_itself(client, world, answered):
    """401, 400, 404 and 403 are answered on the fast path, through the app's error handlers;
    so is a GET with a content type and a body (the request limits drop both, unread:
    registry/web/limits.py); a HEAD is left to the chain."""
    user = world["inst_user"].headers
    client.get("/member-api/v3/objects", headers=user)
    assert answered["fast"] == 1
    for path, headers, status in [
        ("/member-api/v3/objects", {}, 401),  # no key
        ("/member-api/v3/objects", {**user, "X-Pharos-API-Key": "x" * 40}, 401),  # wrong key
        ("/member-api/v3/objects?bogus=1", user, 400),  # unknown parameter
        ("/member-api/v3/objects/show/999999", user, 404),  # the handler's 404
        ("/admin-api/v3/institutions", user, 403),  # a member on the admin API
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == status, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert answered["fast"] == 6
    typed = client.request(
        "GET",
        "/member-api/v3/objects",
        content=b"{}",
        headers={**user, "Content-Type": "text/plain"},
    )
    assert answered["fast"] == 7 and typed.status_code == 200
    head = client.head("/member-api/v3/objects", headers=user)  # not a GET: the chain's
    assert answered["fast"] == 7 and head.status_code in (200, 405)


def test_an_error_answer_takes_one_pass(client, chain_client, world, monkeypatch, count_queries):
    """A 404 GET looks the key up once and runs its queries once, as the chain alone does,
    and answers the same bytes; it used to run both again in the chain after the fast path."""
    calls = []
    original = users.authenticate

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(users, "authenticate", counting)
    headers = world["inst_user"].headers
    path = "/member-api/v3/objects/show/999999"
    answers, lookups, statements = [], [], []
    for one in (client, chain_client, client):
        calls.clear()
        count_queries.statements.clear()
        answers.append(_answer(one.get(path, headers=headers)))
        lookups.append(len(calls))
        statements.append(len(count_queries.statements))
    assert answers[0][0] == 404 and answers[0] == answers[1] == answers[2]
    assert lookups == [1, 1, 1]
    assert statements[0] == statements[1] == statements[2] > 0


@pytest.mark.parametrize("where", ["key lookup", "handler arguments"])
def test_an_unexpected_error_is_the_documented_problem(client, world, monkeypatch, where):
    """An exception nobody expected, raised anywhere on the fast path, is answered with the
    problem+json 500 of registry/web/errors.py (logged), not a bare 500."""

    def broken(*args, **kwargs):
        raise RuntimeError("the database is on fire")

    if where == "key lookup":
        monkeypatch.setattr(users, "authenticate", broken)
    else:
        monkeypatch.setattr(fast_reads.HandlerArguments, "__call__", broken)
    response = client.get("/member-api/v3/objects", headers=world["inst_user"].headers)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-content-type-options"] == "nosniff"
    body = response.json()
    assert body["status"] == 500 and body["title"] == "Internal Server Error"
    assert "fire" not in response.text


def test_a_fallback_is_logged_with_its_reason(client, world, caplog):
    with caplog.at_level(logging.DEBUG, logger="registry.web.fast_reads"):
        client.get("/member-api/v3/no-such-list", headers=world["inst_user"].headers)
    assert any("no GET operation at this path" in r.getMessage() for r in caplog.records)


def test_remembered_parameters_answer_as_the_first_time(client, chain_client, world):
    """ValidParameters remembers the parsed parameters of URLs that passed validation: asked
    again, by another caller too, a URL answers as the chain does; a refused URL is checked
    (and refused) every time, and not remembered."""
    # Every app built in this session has its own routes: look at all that route this path.
    routes = [r for r in _fast_routes() if r.pattern.match("/member-api/v3/objects")]
    query = "sort=identifier__asc&sort=updated_at__desc&per_page=2&page=2&state=A"
    path = f"/member-api/v3/objects?{query}"
    for name in ("inst_user", "sysadmin", "inst_user"):
        headers = world[name].headers
        assert _answer(client.get(path, headers=headers)) == _answer(
            chain_client.get(path, headers=headers)
        ), name
    assert any(r.parameters.remembers("/member-api/v3/objects", query.encode()) for r in routes)
    refused = "per_page=0"
    for _ in range(2):
        response = client.get(
            f"/member-api/v3/objects?{refused}", headers=world["inst_user"].headers
        )
        assert response.status_code == 400
    assert not any(
        r.parameters.remembers("/member-api/v3/objects", refused.encode()) for r in routes
    )


def _fast_routes() -> list:
    """The ReadRoutes of every app alive in this process."""
    import gc

    return [o for o in gc.get_objects() if isinstance(o, fast_reads.ReadRoute)]
