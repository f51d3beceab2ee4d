"""The request limits the app checks (registry/web/limits.py, the body checks of
registry/web/validation.py), each before the work it guards.

First the middleware alone, around an app that reads and echoes whatever body it is given, with
small limits and a scripted receive channel, so that each test sees what was read and when;
then the app under test with its default limits. The limits of a request's head (request line,
headers, header timeout) are the HTTP server's: tests/test_http_server.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from pathlib import Path

import pytest

from registry.settings import Limits, Settings
from registry.web import validation
from registry.web.limits import BodyRoutes, RequestLimits
from tests.fixtures_api import assert_problem, error_names

ADMIN = "/admin-api/v3"
MEMBER = "/member-api/v3"

BODY = {"content": {"application/json": {"schema": {"type": "object"}}}}
DOCUMENT = {
    "paths": {
        "/things": {
            "get": {"operationId": "list_things"},
            "post": {"operationId": "add_thing", "requestBody": BODY},
        },
        "/things/{id}/touch": {"post": {"operationId": "touch_thing"}},
        "/batches/{id}": {
            "post": {
                "operationId": "add_batch",
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Many"}}
                    }
                },
            }
        },
    },
    "components": {"schemas": {"Many": {"type": "array"}}},
}
LIMITS = Limits(
    max_query_string=64,
    max_query_params=4,
    max_body_bytes=100,
    max_batch_body_bytes=1000,
    body_timeout=0.3,
)


async def echo(scope, receive, send):
    """Reads the whole body, then answers what it saw: its headers and the body's length."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = json.dumps(
        {"headers": sorted(k.decode() for k, _ in scope["headers"]), "size": size}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Call:
    """One request through RequestLimits(echo): the answer, and what was asked of the client."""

    def __init__(
        self,
        method: str,
        path: str,
        *,
        query: bytes = b"",
        headers=(),
        chunks: list[bytes] = (),
        stall: bool = False,
        app=echo,
    ):
        self.asked = 0
        self.reached = False
        sent = []
        pending = list(chunks)

        async def receive():
            self.asked += 1
            if stall:
                await asyncio.sleep(3600)
            if pending:
                chunk = pending.pop(0)
                return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
            await asyncio.sleep(0.5)
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        async def reached(scope, receive, send):
            self.reached = True
            await app(scope, receive, send)

        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "query_string": query,
            "headers": [(k.encode(), v.encode()) for k, v in headers],
        }
        middleware = RequestLimits(reached, LIMITS, BodyRoutes.of([("", DOCUMENT)], LIMITS))
        started = time.perf_counter()
        asyncio.run(asyncio.wait_for(middleware(scope, receive, send), 10))
        self.seconds = time.perf_counter() - started
        self.status = sent[0]["status"]
        self.headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
        self.body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


def framed(size: int, *, chunked: bool = False) -> list[tuple[str, str]]:
    framing = ("transfer-encoding", "chunked") if chunked else ("content-length", str(size))
    return [("content-type", "application/json"), framing]


def test_a_query_string_longer_than_the_limit_answers_414_unparsed():
    assert Call("GET", "/things", query=b"a=" + b"x" * 62).status == 200
    call = Call("GET", "/things", query=b"a=" + b"x" * 63)
    assert (call.status, call.reached) == (414, False)
    assert call.body["title"] == "URI Too Long" and "xxx" not in json.dumps(call.body)


def test_more_query_parameters_than_the_limit_answer_400_unparsed():
    assert Call("GET", "/things", query=b"a=1&b=2&c=3&d=4").status == 200
    call = Call("GET", "/things", query=b"a=1&b=2&c=3&d=4&e=5")
    assert (call.status, call.reached) == (400, False)
    assert call.body["errors"][0]["in"] == "query"


@pytest.mark.parametrize(
    "method, path", [("GET", "/things"), ("POST", "/things/7/touch"), ("POST", "/no/such/path")]
)
def test_a_body_where_the_spec_declares_none_is_never_read(method, path):
    for chunked in (False, True):
        call = Call(method, path, headers=framed(10**9, chunked=chunked), chunks=[b"{}"])
        assert call.status == 200
        assert call.asked == 0  # not a byte asked of the client
        assert call.body == {"headers": [], "size": 0}  # nor any header of the body passed on


def test_a_content_length_over_the_limit_answers_413_before_reading():
    assert Call("POST", "/things", headers=framed(100), chunks=[b"x" * 100]).status == 200
    call = Call("POST", "/things", headers=framed(101), chunks=[b"x" * 101])
    assert (call.status, call.reached, call.asked) == (413, False, 0)
    assert call.body["title"] == "Content Too Large"
    assert call.body["errors"] == [
        {"name": "", "in": "body", "message": "must be at most 100 bytes"}
    ]


def test_a_batch_has_the_batch_limit():
    assert Call("POST", "/batches/1", headers=framed(1000), chunks=[b"x" * 1000]).status == 200
    assert Call("POST", "/batches/1", headers=framed(1001), chunks=[b"x"]).status == 413


def test_a_chunked_body_is_counted_as_it_is_read():
    assert (
        Call(
            "POST", "/things", headers=framed(0, chunked=True), chunks=[b"x" * 50, b"x" * 50]
        ).status
        == 200
    )
    call = Call(
        "POST",
        "/things",
        headers=framed(0, chunked=True),
        chunks=[b"x" * 40] * 3 + [b"x" * 40] * 100,
    )
    assert (call.status, call.asked) == (413, 3)  # answered at the chunk that passed 100 bytes


def test_a_body_that_does_not_arrive_in_time_answers_408_and_closes():
    call = Call("POST", "/things", headers=framed(10), stall=True)
    assert call.status == 408 and call.headers["connection"] == "close"
    assert LIMITS.body_timeout <= call.seconds < LIMITS.body_timeout + 1


def test_what_follows_the_body_is_not_timed():
    async def waits_for_the_client(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        assert (await receive())["type"] == "http.disconnect"  # 0.5 s: past the body timeout
        await echo(scope, lambda: asyncio.sleep(0, {"type": "http.request"}), send)

    call = Call("POST", "/things", headers=framed(2), chunks=[b"{}"], app=waits_for_the_client)
    assert call.status == 200


def test_every_limit_is_a_documented_setting():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for limit in dataclasses.fields(Limits):
        name = f"REGISTRY_{limit.name.upper()}"
        assert getattr(Settings.from_env({name: "7"}).limits, limit.name) == 7, name
        assert f"| `{name}` |" in readme, name


def test_limits_come_from_the_environment_and_a_bad_one_stops_the_start():
    limits = Settings.from_env(
        {"REGISTRY_MAX_BODY_BYTES": "2048", "REGISTRY_HEADER_TIMEOUT": "2.5"}
    ).limits
    assert (limits.max_body_bytes, limits.header_timeout) == (2048, 2.5)
    assert limits.max_batch_body_bytes == Limits().max_batch_body_bytes
    for bad in ("0", "-1", "ten", "257"):
        with pytest.raises(ValueError, match="REGISTRY_MAX_JSON_DEPTH"):
            Settings.from_env({"REGISTRY_MAX_JSON_DEPTH": bad})


# The app under test, with its default limits.


def nested(levels: int) -> bytes:
    """Arrays `levels` deep."""
    return b"[" * levels + b"1" + b"]" * levels


def test_a_list_get_with_a_large_body_answers_as_without_it(client, world):
    me = world["inst_user"].headers
    plain = client.get(f"{MEMBER}/objects", headers=me)
    body = b"[" * 1_000_000 + b"]" * 1_000_000  # 2 MB nested a million deep: never parsed
    with_body = client.request(
        "GET", f"{MEMBER}/objects", content=body, headers={**me, "Content-Type": "application/json"}
    )
    assert with_body.status_code == plain.status_code == 200
    assert with_body.json() == plain.json()


def test_json_nested_deeper_than_the_limit_answers_400_before_it_is_parsed(client, admin, world):
    limit = Limits().max_json_depth
    # The object is one level, its field `limit` more.
    deep = b'{"name": "A Deep University", "identifier": "deep.edu", "x": ' + nested(limit) + b"}"
    problem = assert_problem(
        client.post(
            f"{ADMIN}/institutions/create",
            content=deep,
            headers={**admin, "Content-Type": "application/json"},
        ),
        400,
    )
    assert problem["errors"] == [
        {"name": "", "in": "body", "message": f"must not nest deeper than {limit} levels"}
    ]
    # One level less: parsed, and refused by the schema for the unknown field instead.
    shallow = deep.replace(nested(limit), nested(limit - 1))
    problem = assert_problem(
        client.post(
            f"{ADMIN}/institutions/create",
            content=shallow,
            headers={**admin, "Content-Type": "application/json"},
        ),
        400,
    )
    assert "x" in error_names(problem)
    member = assert_problem(
        client.put(
            f"{MEMBER}/alerts/mark_as_read",
            content=b'{"id__in": ' + nested(limit + 5) + b"}",
            headers={**world["inst_user"].headers, "Content-Type": "application/json"},
        ),
        400,
    )
    assert f"deeper than {limit} levels" in member["detail"]


def test_the_app_refuses_bodies_over_their_limit_before_reading_them(client, admin, world):
    big = b"{" + b" " * Limits().max_body_bytes + b"}"
    for method, path, headers in [
        ("POST", f"{ADMIN}/institutions/create", admin),
        ("PUT", f"{MEMBER}/alerts/mark_as_read", world["inst_user"].headers),
    ]:
        problem = assert_problem(
            client.request(
                method, path, content=big, headers={**headers, "Content-Type": "application/json"}
            ),
            413,
        )
        assert error_names(problem) == {""}
    # A batch is allowed more: the same bytes are read, and refused as no JSON array.
    batch = client.post(
        f"{ADMIN}/files/create_batch/1",
        content=big,
        headers={**admin, "Content-Type": "application/json"},
    )
    assert batch.status_code == 400


def test_the_app_refuses_long_and_crowded_query_strings(client, world):
    me = world["inst_user"].headers
    limits = Limits()
    long = "identifier=" + "x" * (limits.max_query_string - len("identifier="))
    # The longest query string allowed is validated as usual (a filter this long is refused
    # by its own schema); one byte more is refused unparsed.
    assert client.get(f"{MEMBER}/objects?{long}", headers=me).status_code == 400
    assert_problem(client.get(f"{MEMBER}/objects?{long}x", headers=me), 414)
    crowded = "&".join(f"p{i}=1" for i in range(limits.max_query_params))
    named = assert_problem(client.get(f"{MEMBER}/objects?{crowded}", headers=me), 400)
    assert len(named["errors"]) == limits.max_query_params  # each unknown one, by name
    refused = assert_problem(client.get(f"{MEMBER}/objects?{crowded}&p=1", headers=me), 400)
    assert refused["errors"] == [
        {
            "name": "",
            "in": "query",
            "message": f"must have at most {limits.max_query_params} parameters",
        }
    ]


def test_a_large_body_is_checked_in_the_body_thread(client, admin, monkeypatch):
    threads = []
    check = validation.NamingJSONBodyValidator.check

    def recording(self, body):
        threads.append(threading.current_thread().name)
        return check(self, body)

    monkeypatch.setattr(validation.NamingJSONBodyValidator, "check", recording)
    headers = {**admin, "Content-Type": "application/json"}
    small = [{"identifier": "x" * 40}]  # 58 bytes an item, each missing required fields
    large = small * 9_000  # over OFF_LOOP_BYTES, within maxItems
    assert len(json.dumps(large)) > validation.OFF_LOOP_BYTES
    for body in (small, large):
        assert (
            client.post(f"{ADMIN}/files/create_batch/1", json=body, headers=headers).status_code
            == 400
        )
    assert not threads[0].startswith("registry-body")
    assert threads[1].startswith("registry-body")


def test_a_large_batch_of_too_many_items_is_refused_unparsed(client, admin, monkeypatch):
    parsed = []
    loads = validation.loads_body
    monkeypatch.setattr(validation, "loads_body", lambda *a: parsed.append(1) or loads(*a))
    most = 10_000  # the batch's maxItems
    item = b'{"identifier": "' + b"x" * 20 + b'"}'
    body = b"[" + b",".join([item] * (most + 1)) + b"]"
    assert len(body) > validation.OFF_LOOP_BYTES
    problem = assert_problem(
        client.post(
            f"{ADMIN}/files/create_batch/1",
            content=body,
            headers={**admin, "Content-Type": "application/json"},
        ),
        400,
    )
    assert problem["errors"] == [
        {"name": "", "in": "body", "message": f"must have at most {most} items (it has {most + 1})"}
    ]
    assert not parsed


def _resolved(node, document, member):
    """`node` with its `$ref` followed (local, or into the member spec as the admin files do)."""
    while isinstance(node, dict) and "$ref" in node:
        where, _, pointer = node["$ref"].partition("#/")
        node = member if where else document
        for part in pointer.split("/"):
            node = node[part]
    return node


def _longest_values(query: bool):
    """(operation path, longest parameter text once percent-encoded) of every path parameter,
    or of every query parameter, with a maxLength in either spec: each character one that UTF-8
    writes in 4 bytes, which percent-encoding triples, unless the parameter's pattern admits
    only ASCII (a cursor: base64url), whose longest value is then ASCII."""
    import re
    from urllib.parse import quote

    from registry.spec import ADMIN_SPEC, MEMBER_SPEC, load_spec

    member = load_spec(MEMBER_SPEC)
    for document in (member, load_spec(ADMIN_SPEC)):
        for path, item in document["paths"].items():
            for op in item.values():
                for parameter in op.get("parameters", []) if isinstance(op, dict) else []:
                    parameter = _resolved(parameter, document, member)
                    if parameter.get("in") != ("query" if query else "path"):
                        continue
                    schema = _resolved(parameter.get("schema", {}), document, member)
                    most = schema.get("maxLength")
                    if most:
                        longest = "\U0001d11e" * most
                        if "pattern" in schema and not re.search(schema["pattern"], longest):
                            longest = "1" + "A" * (most - 1)
                            assert re.search(schema["pattern"], longest), parameter["name"]
                        value = quote(longest, safe="")
                        yield path, f"{parameter['name']}={value}" if query else value


def test_the_longest_valid_path_and_filter_fit_the_limits():
    """A path parameter, or one query parameter, at its spec's maxLength (2,000 characters, each
    up to 12 bytes percent-encoded) fits the default request line and query string: a request
    the specs call valid is not a 414 for one long value. (The first defaults, 8,192 and 4,096
    bytes, did not fit a 2,000-character identifier.)"""
    limits = Limits()
    paths = [len(path) + len(value) for path, value in _longest_values(query=False)]
    queries = [len(path) + 1 + len(value) for path, value in _longest_values(query=True)]
    assert max(paths) > 8192 and max(queries) > 4096  # the specs do allow such values
    assert max(paths) <= limits.max_request_line
    assert max(queries) <= limits.max_request_line
    assert max(len(value) for _, value in _longest_values(query=True)) <= limits.max_query_string
