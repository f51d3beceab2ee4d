"""The fast path for GETs (registry/fast_reads.py) answers exactly as Connexion's chain does.

One app with the fast path, one without, over the same database: every GET operation of both
APIs is asked, by every kind of caller, with valid, invalid and unknown parameters, and the two
answers must be the same status, headers and bytes. The fast path must also really answer the
requests it can (else the comparison would prove nothing) and leave the rest to the chain.
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from connexion.spec import Specification

from models.db import connection, database
from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from registry import fast_reads
from registry.app import create_app
from registry.settings import Settings
from registry.spec import ADMIN_SPEC, MEMBER_SPEC, load_spec

IGNORED_HEADERS = {"date", "server"}


@pytest.fixture(scope="module")
def chain_client(app, database_url):
    """A client of an app that sends every request through Connexion's chain."""
    from conftest import BATCH_DELETION_KEY

    bound = database.obj
    chain_app = create_app(Settings(database_url=database_url, validate_responses=True,
                                    batch_deletion_key=BATCH_DELETION_KEY, fast_reads=False))
    database.initialize(bound)  # both apps share the session's database handle
    return chain_app.test_client()


@pytest.fixture
def answered(monkeypatch):
    """How many requests the fast path answered itself."""
    counts = {"fast": 0}
    original = fast_reads.ReadRoute.answer

    async def counting(self, scope, receive):
        response = await original(self, scope, receive)
        counts["fast"] += response is not None
        return response

    monkeypatch.setattr(fast_reads.ReadRoute, "answer", counting)
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
        queries += ["page=2&per_page=2", "per_page=0", "page=abc", "per_page=1&page=999",
                    "per_page=5000", "per_page=1001&page=2", "per_page=", "page="]
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
    ids = ["1", "2", "999999", "abc", quote(obj.identifier, safe=""),
           quote(gf.identifier, safe=""), gf.identifier]
    callers = {name: world[name].headers for name in
               ("sysadmin", "inst_admin", "inst_user", "other_user", "disabled", "revoked")}
    callers["anonymous"] = {}
    callers["wrong key"] = {**world["inst_user"].headers, "X-Pharos-API-Key": "x" * 40}
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
    headers = sorted((k.lower(), v) for k, v in response.headers.items()
                     if k.lower() not in IGNORED_HEADERS)
    return response.status_code, headers, response.content


def test_every_get_answers_as_the_chain_does(client, chain_client, world, answered):
    requests = _requests(world)
    different = []
    for description, path, headers in requests:
        fast, chain = client.get(path, headers=headers), chain_client.get(path, headers=headers)
        if _answer(fast) != _answer(chain):
            different.append(f"{description}: {fast.status_code} {fast.content[:200]!r} vs "
                             f"{chain.status_code} {chain.content[:200]!r}")
    assert not different, "\n".join(different[:20])
    ok = sum(1 for _, path, headers in requests if client.get(path, headers=headers).is_success)
    # Every successful request was the fast path's own answer (not the chain's, after a
    # fallback), so the comparison above compared the two paths.
    assert answered["fast"] >= ok > 200


def test_what_the_fast_path_leaves_to_the_chain(client, world, answered):
    user = world["inst_user"].headers
    client.get("/member-api/v3/objects", headers=user)
    assert answered["fast"] == 1
    for path, headers in [
        ("/member-api/v3/objects", {}),  # no key: 401 from the chain
        ("/member-api/v3/objects?bogus=1", user),  # unknown parameter: 400
        ("/member-api/v3/objects/show/999999", user),  # the handler's 404
        ("/admin-api/v3/institutions", user),  # a member on the admin API: 403
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code >= 400, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert answered["fast"] == 1
    # A request with a content type is checked against the operation by the chain.
    typed = client.get("/member-api/v3/objects", headers={**user, "Content-Type": "text/plain"})
    assert answered["fast"] == 1 and typed.status_code in (200, 415)
    head = client.head("/member-api/v3/objects", headers=user)  # not a GET: the chain's
    assert answered["fast"] == 1 and head.status_code in (200, 405)


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
        assert _answer(client.get(path, headers=headers)) == \
            _answer(chain_client.get(path, headers=headers)), name
    assert any(("/member-api/v3/objects", query.encode()) in r.parameters.known for r in routes)
    refused = "per_page=0"
    for _ in range(2):
        response = client.get(f"/member-api/v3/objects?{refused}",
                              headers=world["inst_user"].headers)
        assert response.status_code == 400
    assert not any(("/member-api/v3/objects", refused.encode()) in r.parameters.known
                   for r in routes)


def _fast_routes() -> list:
    """The ReadRoutes of every app alive in this process."""
    import gc

    return [o for o in gc.get_objects() if isinstance(o, fast_reads.ReadRoute)]
