"""Hostile inputs (issue 15, item 4): no input gives a 500; a problem repeats at most a short
prefix of an offending value; integer parameters are ASCII digits; redirects carry a path, not
a host; a wrong key costs the same for a registered e-mail as for an unknown one.

Each runs on SQLite and PostgreSQL, in-process (the `client` fixture).
"""

from __future__ import annotations

import hmac
import json
import re

import pytest

from models import user as users
from models.errors import QUOTE_MAX
from models.user import new_secret
from registry.spec import ADMIN_SPEC, MEMBER_SPEC, load_spec
from registry.web.redirects import relative
from registry.web.responses import INSTANCE_MAX
from registry.web.uri_parser import URIParser
from tests.fixtures_api import METHODS, assert_problem, error_names

OBJECTS = "/member-api/v3/objects"
ITEMS = "/member-api/v3/items"
CREATE_INSTITUTION = "/admin-api/v3/institutions/create"


def _operations() -> list[tuple[str, str, dict, dict]]:
    """(METHOD, path template with its API's prefix, operation, document) of both specs."""
    found = []
    for prefix, spec in (("", MEMBER_SPEC), ("/admin-api/v3", ADMIN_SPEC)):
        document = load_spec(spec)
        for path, item in document["paths"].items():
            for method, operation in item.items():
                if method in METHODS:
                    found.append((method.upper(), prefix + path, operation, document))
    return found


OPERATIONS = _operations()
IDS = [f"{method} {path}" for method, path, _, _ in OPERATIONS]


def _resolved(document: dict, node: dict) -> dict:
    while "$ref" in node:
        target = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _parameters(document: dict, operation: dict, where: str) -> list[dict]:
    return [
        p
        for p in (_resolved(document, p) for p in operation.get("parameters", []))
        if p["in"] == where
    ]


def _filled(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def _body_properties(document: dict, operation: dict) -> list[str]:
    body = operation.get("requestBody")
    if not body:
        return []
    schema = _resolved(document, _resolved(document, body)["content"]["application/json"]["schema"])
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        names |= set(_resolved(document, part).get("properties", {}))
    return sorted(names)


def _credentials(world, path: str) -> dict:
    return world["sysadmin" if path.startswith("/admin-api/") else "inst_admin"].headers


# -- no input gives a 500 ---------------------------------------------------------------------

# Content-Type values that are no media type, or that Connexion read wrongly.
CONTENT_TYPES = [
    "application/json, text/plain",
    "",
    "a/b/c",
    ";",
    "application",
    "Application/JSON",
    "application/json; charset",
    "application/json;charset=rot13",
    "application/json;charset=",
    "text/plain",
    'application/json; q="',
    "application/json; charset=utf-8; charset=latin-1",
]
BODIES = [b"", b"{}", b"[]", b"\xff\xfe{", b'{"a":']


@pytest.mark.parametrize("method,path,operation,document", OPERATIONS, ids=IDS)
def test_no_content_type_method_or_body_gives_a_500(
    client, world, method, path, operation, document
):
    """Every operation, with Content-Types that are no media type or were misread, odd
    bodies, and methods it does not have. The session's data must survive: path ids name no
    record, and a write that names none (marking all alerts read, generating fixity alerts)
    is sent by a caller without a role, refused once the request is checked."""
    headers = _credentials(world, path)
    target = _filled(path, "999999999")
    if method != "GET" and target == path and not operation.get("requestBody"):
        headers = world["no_role"].headers
    for content_type in CONTENT_TYPES:
        for body in BODIES if method != "GET" else [b""]:
            response = client.request(
                method, target, content=body, headers={**headers, "Content-Type": content_type}
            )
            assert response.status_code < 500, (content_type, body, response.text)
            if response.status_code >= 400:
                assert_problem(response, response.status_code)
    for other in ("PATCH", "OPTIONS", "TRACE"):
        if other.lower() not in {m.lower() for m, p, _, _ in OPERATIONS if p == path}:
            assert_problem(client.request(other, target, headers=headers), 405)


@pytest.mark.parametrize(
    "content_type", ["application/json, text/plain", "", "a/b/c", "application/json; charset"]
)
def test_a_get_ignores_a_content_type_that_is_no_media_type(client, world, content_type):
    """The reported 500: a list GET with `Content-Type: application/json, text/plain`. A GET
    carries no body, so its Content-Type is ignored, as the reference server ignores it."""
    headers = world["inst_user"].headers
    plain = client.get(f"{ITEMS}?per_page=3", headers=headers)
    odd = client.get(f"{ITEMS}?per_page=3", headers={**headers, "Content-Type": content_type})
    assert plain.status_code == odd.status_code == 200, odd.text
    assert odd.json() == plain.json()


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json, text/plain",
        "",
        "a/b/c",
        "application/json; charset",
        "application/json, a",
    ],
)
def test_a_write_with_a_content_type_that_is_no_media_type_is_a_400_naming_it(
    client, world, content_type
):
    response = client.post(
        CREATE_INSTITUTION,
        content=b"{}",
        headers={**world["sysadmin"].headers, "Content-Type": content_type},
    )
    body = assert_problem(response, 400)
    assert error_names(body) == {"Content-Type"}
    assert body["errors"][0]["in"] == "header"


def test_a_content_type_sent_twice_is_a_400(client, world):
    headers = [(k.encode(), v.encode()) for k, v in world["sysadmin"].headers.items()]
    headers += [(b"content-type", b"application/json"), (b"content-type", b"text/plain")]
    body = assert_problem(client.post(CREATE_INSTITUTION, content=b"{}", headers=headers), 400)
    assert error_names(body) == {"Content-Type"}


@pytest.mark.parametrize("content_type", ["Application/JSON", "APPLICATION/JSON; charset=utf-8"])
def test_a_media_type_in_capitals_is_validated_as_in_lower_case(client, world, content_type):
    """Type and subtype are case-insensitive: `Application/JSON` skipped body validation (the
    handler got bytes: a 500). It is validated like any JSON body now."""
    response = client.post(
        CREATE_INSTITUTION,
        content=b'{"name": 5}',
        headers={**world["sysadmin"].headers, "Content-Type": content_type},
    )
    body = assert_problem(response, 400)
    assert {"name", "identifier", "type"} <= error_names(body)


@pytest.mark.parametrize("charset", ["rot13", "hex", "bogus", ""])
def test_a_charset_that_is_no_text_encoding_is_a_400_naming_the_header(client, world, charset):
    response = client.post(
        CREATE_INSTITUTION,
        content=b"{}",
        headers={
            **world["sysadmin"].headers,
            "Content-Type": f"application/json;charset={charset}",
        },
    )
    assert error_names(assert_problem(response, 400)) == {"Content-Type"}


@pytest.mark.parametrize(
    "name,value",
    [
        (b"x-pharos-api-user", b"a\x00b@example.edu"),
        (b"x-pharos-api-user", b"\xff\xfe@example.edu"),
        (b"x-pharos-api-user", b"user@example.edu" + b"x" * 5000),
        (b"x-pharos-api-key", b"\x00"),
        (b"x-pharos-api-key", b"rgk_\xff\xfe"),
    ],
)
def test_odd_credential_bytes_are_a_401(client, world, name, value):
    headers = [
        (k.lower().encode(), v.encode())
        for k, v in world["inst_user"].headers.items()
        if k.lower().encode() != name
    ] + [(name, value)]
    assert_problem(client.get(OBJECTS, headers=headers), 401)


# -- a problem repeats at most a short prefix of a value --------------------------------------

MARK = "z" * 300  # an offending value: no answer may repeat more than QUOTE_MAX of it
RUN = "z" * (QUOTE_MAX + 1)


def _repeated(body: dict) -> bool:
    """Whether a problem (less its `instance`, the request path) repeats more than a short
    prefix of MARK."""
    return RUN in json.dumps({k: v for k, v in body.items() if k != "instance"}, ensure_ascii=False)


@pytest.mark.parametrize("method,path,operation,document", OPERATIONS, ids=IDS)
def test_no_problem_repeats_a_whole_offending_value(
    client, world, method, path, operation, document
):
    """Every path and query parameter of every operation, an unknown parameter and every
    body field (and an unknown one) sent as a long value: the problem names them, and quotes
    at most QUOTE_MAX characters of any."""
    headers = _credentials(world, path)
    query = {p["name"]: MARK for p in _parameters(document, operation, "query")}
    query[MARK] = MARK
    response = client.request(method, _filled(path, MARK), params=query, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    body = assert_problem(response, response.status_code)
    assert not _repeated(body), body
    fields = _body_properties(document, operation)
    if fields:
        sent = {**{name: MARK for name in fields}, MARK: MARK}
        response = client.request(method, _filled(path, "1"), json=sent, headers=headers)
        body = assert_problem(response, response.status_code)
        assert not _repeated(body), body


def test_a_huge_value_gets_a_small_answer(client, world):
    """A 100 MB body field got a 105 MB answer; a 1 MB one now gets a few hundred bytes."""
    response = client.post(
        CREATE_INSTITUTION,
        headers=world["sysadmin"].headers,
        json={"name": "z" * 1_000_000, "identifier": "x.edu", "type": "MemberInstitution"},
    )
    body = assert_problem(response, 400)
    assert "name" in error_names(body)
    assert len(response.content) < 2000 and not _repeated(body)


def test_a_long_identifier_is_quoted_by_its_prefix_in_a_404(client, world):
    response = client.get(f"{OBJECTS}/show/{MARK}", headers=world["inst_user"].headers)
    body = assert_problem(response, 404)
    assert not _repeated(body) and "z" * QUOTE_MAX + "\u2026" in body["detail"]
    assert body["instance"] == f"{OBJECTS}/show/{MARK}"


def test_a_path_longer_than_any_request_path_is_not_repeated_as_the_instance(client, world):
    path = f"{OBJECTS}/show/{'z' * INSTANCE_MAX}"
    body = assert_problem(client.get(path, headers=world["inst_user"].headers), 400)
    assert "instance" not in body and not _repeated(body)


def test_an_unsupported_media_type_is_quoted_by_its_prefix(client, world):
    response = client.post(
        CREATE_INSTITUTION,
        content=b"{}",
        headers={**world["sysadmin"].headers, "Content-Type": f"text/{MARK}"},
    )
    assert not _repeated(assert_problem(response, 415))


# -- integer parameters are ASCII digits -------------------------------------------------------

NOT_ASCII_INTEGERS = ["\uff11", "1_0", " 1", "1 ", "\u0663", "\U0001d7d9"]


@pytest.mark.parametrize("text", NOT_ASCII_INTEGERS)
def test_an_integer_path_parameter_is_ascii_digits_only(client, world, text):
    """`/deletions/１/approve` was request 1 (Python's int() reads any Unicode digit)."""
    headers = world["inst_admin"].headers
    for method, path in (
        ("POST", f"/member-api/v3/deletions/{text}/approve"),
        ("GET", f"{ITEMS}/show/{text}"),
    ):
        body = assert_problem(client.request(method, path, headers=headers), 400)
        assert error_names(body) == {"id"}


@pytest.mark.parametrize("text", NOT_ASCII_INTEGERS)
@pytest.mark.parametrize("name", ["page", "per_page", "institution_id", "size__gteq"])
def test_an_integer_query_parameter_is_ascii_digits_only(client, world, name, text):
    response = client.get(OBJECTS, params={name: text}, headers=world["sysadmin"].headers)
    assert error_names(assert_problem(response, 400)) == {name}


@pytest.mark.parametrize(
    "query", ["page=2", "per_page=%2B2", "institution_id=-1", "size__gteq=0010"]
)
def test_ascii_integers_with_a_sign_or_leading_zeros_still_work(client, world, query):
    assert client.get(f"{OBJECTS}?{query}", headers=world["sysadmin"].headers).status_code == 200


def test_each_item_of_an_integer_array_is_ascii_digits_only():
    parser = URIParser(
        [
            {
                "name": "ids",
                "in": "query",
                "style": "form",
                "explode": True,
                "schema": {"type": "array", "items": {"type": "integer"}},
            }
        ],
        {},
    )
    assert parser.resolve_query({"ids": ["1", "\uff12", "3_0", "-4"]}) == {
        "ids": [1, "\uff12", "3_0", -4]
    }


# -- redirects carry a path --------------------------------------------------------------------


def test_the_trailing_slash_redirect_names_a_path_not_the_host_header(client, world):
    response = client.get(
        f"{ITEMS}/?per_page=2",
        follow_redirects=False,
        headers={**world["inst_user"].headers, "Host": "evil.example"},
    )
    assert response.status_code == 307
    assert response.headers["location"] == f"{ITEMS}?per_page=2"


@pytest.mark.parametrize(
    "location,expected",
    [
        (b"http://evil.example/member-api/v3/items?a=1", b"/member-api/v3/items?a=1"),
        (b"https://evil.example", b"/"),
        (b"//evil.example/x", b"/x"),
        (b"http://h//evil.example/x", b"/evil.example/x"),
        (b"/member-api/v3/items", b"/member-api/v3/items"),
    ],
)
def test_a_location_keeps_only_its_path_and_query(location, expected):
    assert relative(location) == expected


# -- a 401 costs the same for a registered e-mail and an unknown one ---------------------------


def test_a_wrong_key_costs_the_same_for_a_known_and_an_unknown_e_mail(client, world, monkeypatch):
    """Behaviour, not timing (timings belong in bench/): for a wrong key, a registered e-mail
    and an unknown one each cost one hash and one constant-time compare, and the same
    database statement with the same parameters (the e-mail never reaches the database)."""
    calls: list = []
    digest_of, compare_digest = users.digest_of, hmac.compare_digest

    class Recording:
        def __init__(self, real):
            self.real = real

        def execute_sql(self, sql, params=None, *args, **kwargs):
            calls.append(("sql", sql, tuple(params or ())))
            return self.real.execute_sql(sql, params, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(self.real, name)

    monkeypatch.setattr(
        users, "digest_of", lambda secret: calls.append(("hash",)) or digest_of(secret)
    )
    monkeypatch.setattr(
        hmac, "compare_digest", lambda a, b: calls.append(("compare",)) or compare_digest(a, b)
    )
    monkeypatch.setattr(users, "database", Recording(users.database))
    key = new_secret()

    def cost(email: str) -> list:
        calls.clear()
        assert_problem(
            client.get(OBJECTS, headers={"X-Pharos-API-User": email, "X-Pharos-API-Key": key}), 401
        )
        return list(calls)

    known, unknown = cost(world["inst_user"].email), cost("ghost@example.edu")
    assert known == unknown
    assert [c[0] for c in known] == ["hash", "sql", "compare"]
    assert not any(world["inst_user"].email in map(str, c[2]) for c in known if c[0] == "sql")
