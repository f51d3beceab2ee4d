"""The breaking-change gate (registry/spec/breaking.py, registry/spec/release.py): each rule
fires on one example and names what changed; additions pass; the published documents pass
against the latest release; a deliberately breaking edit of either spec fails `check`, named;
a release of a breaking change needs a major version."""

from __future__ import annotations

import copy
import shutil

import pytest

from registry.spec import release
from registry.spec.breaking import breaking_changes


def _base() -> dict:
    item = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1.0.0"},
        "security": [{"apiUser": [], "apiKey": []}],
        "paths": {
            "/things": {
                "get": {
                    "operationId": "list_things",
                    "parameters": [
                        {"$ref": "#/components/parameters/per_page"},
                        {
                            "name": "state",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["A", "D"]},
                        },
                        {"name": "note", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "results": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Thing"},
                                            }
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/things/create": {
                "post": {
                    "operationId": "create_thing",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["name"],
                                    "properties": {
                                        "name": {"type": "string", "maxLength": 100},
                                        "size": {"type": "integer", "minimum": 0},
                                        "kind": {"type": "string", "nullable": True},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "made",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Thing"}
                                }
                            },
                        }
                    },
                }
            },
        },
        "components": {
            "parameters": {
                "per_page": {
                    "name": "per_page",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                }
            },
            "schemas": {
                "Thing": {
                    **item,
                    "properties": {
                        **item["properties"],
                        "state": {"type": "string", "enum": ["A", "D"]},
                        "size": {"type": "integer"},
                        "title": {"type": "string"},
                    },
                }
            },
            "securitySchemes": {
                "apiUser": {"type": "apiKey", "in": "header", "name": "X-Pharos-API-User"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Pharos-API-Key"},
            },
        },
    }


LIST = ("paths", "/things", "get")
CREATE_BODY = (
    "paths",
    "/things/create",
    "post",
    "requestBody",
    "content",
    "application/json",
    "schema",
)
THING = ("components", "schemas", "Thing")


def _at(document: dict, path: tuple):
    node = document
    for part in path:
        node = node[part]
    return node


def _edit(change):
    document = _base()
    change(document)
    return document


RULES = [
    ("removed path", lambda d: d["paths"].pop("/things/create"), "operation removed"),
    (
        "renamed path",
        lambda d: d["paths"].__setitem__("/stuff", d["paths"].pop("/things")),
        "moved to GET /stuff",
    ),
    (
        "renamed operationId",
        lambda d: _at(d, LIST).__setitem__("operationId", "get_things"),
        "operationId renamed from list_things to get_things",
    ),
    (
        "removed parameter",
        lambda d: _at(d, LIST)["parameters"].pop(2),
        "parameter `note` (query) removed",
    ),
    (
        "new required parameter",
        lambda d: _at(d, LIST)["parameters"].append(
            {"name": "owner", "in": "query", "required": True, "schema": {"type": "string"}}
        ),
        "new required parameter `owner` (query)",
    ),
    (
        "parameter became required",
        lambda d: _at(d, LIST)["parameters"][2].__setitem__("required", True),
        "parameter `note` (query) became required",
    ),
    (
        "request enum value removed",
        lambda d: _at(d, LIST)["parameters"][1]["schema"]["enum"].remove("D"),
        "enum value(s) removed: D",
    ),
    (
        "narrowed range",
        lambda d: d["components"]["parameters"]["per_page"]["schema"].__setitem__("maximum", 500),
        "maximum lowered from 1000 to 500",
    ),
    (
        "narrowed type",
        lambda d: _at(d, LIST)["parameters"][2]["schema"].__setitem__("type", "integer"),
        "type changed from string to integer",
    ),
    (
        "new format",
        lambda d: _at(d, LIST)["parameters"][2]["schema"].__setitem__("format", "date-time"),
        "format to 'date-time'",
    ),
    (
        "new pattern",
        lambda d: _at(d, LIST)["parameters"][2]["schema"].__setitem__("pattern", "^[a-z]+$"),
        "pattern to '^[a-z]+$'",
    ),
    (
        "new required request field",
        lambda d: _at(d, CREATE_BODY)["required"].append("size"),
        "request field `size` became required",
    ),
    (
        "request field removed",
        lambda d: _at(d, CREATE_BODY)["properties"].pop("kind"),
        "request field `kind` removed",
    ),
    (
        "request maxLength lowered",
        lambda d: _at(d, CREATE_BODY)["properties"]["name"].__setitem__("maxLength", 10),
        "maxLength lowered from 100 to 10",
    ),
    (
        "request no longer nullable",
        lambda d: _at(d, CREATE_BODY)["properties"]["kind"].pop("nullable"),
        "no longer nullable",
    ),
    (
        "removed request media type",
        lambda d: (
            _at(d, ("paths", "/things/create", "post", "requestBody"))["content"].__setitem__(
                "application/x-www-form-urlencoded", _at(d, CREATE_BODY)
            )
            or _at(d, ("paths", "/things/create", "post", "requestBody"))["content"].pop(
                "application/json"
            )
        ),
        "request media type application/json removed",
    ),
    (
        "removed response field",
        lambda d: _at(d, THING)["properties"].pop("title"),
        "response field `title` removed",
    ),
    (
        "response field no longer required",
        lambda d: _at(d, THING).__setitem__("required", []),
        "response field `id` no longer required",
    ),
    (
        "response enum value removed",
        lambda d: _at(d, THING)["properties"]["state"]["enum"].remove("D"),
        "enum value(s) removed: D",
    ),
    (
        "widened response type",
        lambda d: _at(d, THING)["properties"]["size"].__setitem__("type", "number"),
        "type changed from integer to number",
    ),
    (
        "response became nullable",
        lambda d: _at(d, THING)["properties"]["title"].__setitem__("nullable", True),
        "became nullable",
    ),
    (
        "removed response media type",
        lambda d: _at(d, LIST)["responses"]["200"].__setitem__(
            "content", {"text/csv": {"schema": {"type": "string"}}}
        ),
        "response 200 media type application/json removed",
    ),
    (
        "removed success status",
        lambda d: _at(d, LIST)["responses"].__setitem__(
            "203", _at(d, LIST)["responses"].pop("200")
        ),
        "response 200 removed",
    ),
    (
        "changed security",
        lambda d: d.__setitem__("security", [{"apiKey": []}]),
        "no longer accepts security apiKey + apiUser",
    ),
    (
        "security scheme reads another header",
        lambda d: d["components"]["securitySchemes"]["apiKey"].__setitem__("name", "X-Key"),
        "security scheme apiKey: name changed from X-Pharos-API-Key to X-Key",
    ),
]


@pytest.mark.parametrize("rule, change, expected", RULES, ids=[r[0] for r in RULES])
def test_each_rule_fires_and_names_the_change(rule, change, expected):
    found = breaking_changes(_base(), _edit(change))
    assert any(expected in message for message in found), found


def test_the_base_document_does_not_break_itself():
    assert breaking_changes(_base(), _base()) == []


ADDITIONS = [
    lambda d: d["paths"].__setitem__(
        "/more", {"get": {"operationId": "more", "responses": {"200": {"description": "ok"}}}}
    ),
    lambda d: _at(d, LIST)["parameters"].append(
        {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 10}}
    ),
    lambda d: _at(d, THING)["properties"].__setitem__("etag", {"type": "string"}),
    lambda d: _at(d, LIST)["parameters"][1]["schema"]["enum"].append("E"),
    lambda d: _at(d, LIST)["responses"].__setitem__("406", {"description": "no"}),
    lambda d: _at(d, LIST)["responses"]["200"]["content"].__setitem__(
        "text/csv", {"schema": {"type": "string"}}
    ),
    lambda d: d["security"].append({"bearer": []}),
    lambda d: d["components"]["parameters"]["per_page"]["schema"].__setitem__("maximum", 5000),
    lambda d: _at(d, CREATE_BODY)["properties"].__setitem__("extra", {"type": "string"}),
    lambda d: _at(d, CREATE_BODY)["required"].remove("name"),
]


@pytest.mark.parametrize("change", ADDITIONS)
def test_additions_and_widened_requests_pass(change):
    assert breaking_changes(_base(), _edit(change)) == []


# -- the gate over the real documents -------------------------------------------------------------


def test_the_published_documents_pass_the_gate():
    assert release.check() == []


@pytest.fixture
def released_copy(tmp_path):
    released = tmp_path / "released"
    shutil.copytree(release.RELEASED, released)
    changelog = tmp_path / "CHANGELOG.md"
    shutil.copy(release.CHANGELOG, changelog)
    return released, changelog


@pytest.mark.parametrize("name", ["member_api_v3", "admin_api_v3"])
def test_a_breaking_edit_of_either_spec_fails_the_check_named(name, released_copy):
    released, changelog = released_copy
    documents = release.current_documents()
    edited = copy.deepcopy(documents)
    objects = next(p for p in edited[name]["paths"] if p.endswith("/objects"))
    components = edited[name]["components"]["parameters"]

    def parameter_name(parameter: dict) -> str:
        if "$ref" in parameter:
            return components[parameter["$ref"].rsplit("/", 1)[-1]]["name"]
        return parameter["name"]

    operation = edited[name]["paths"][objects]["get"]
    kept = [p for p in operation["parameters"] if parameter_name(p) != "state"]
    assert len(kept) == len(operation["parameters"]) - 1
    operation["parameters"] = kept
    found = release.check(edited, released, changelog)
    assert any(
        f"{name}: GET {objects}: parameter `state` (query) removed" in problem for problem in found
    ), found


def test_a_breaking_release_needs_a_major_version(released_copy, tmp_path):
    released, changelog = released_copy
    latest = release.latest_release(released)
    major, minor, patch = release.version_key(latest)
    version = f"{major}.{minor + 1}.0"  # unreleased, whatever the repository's state
    changelog.write_text(changelog.read_text() + f"\n## [{version}]\n- a minor release\n")
    breaking = copy.deepcopy(release.current_documents())
    for document in breaking.values():
        document["info"]["version"] = version
        for item in document["paths"].values():
            item.get("get", {}).pop("operationId", None)
    with pytest.raises(release.ReleaseError, match="BREAKING .*needs a major version"):
        release.release(version, breaking, released, changelog)
    major = f"{release.version_key(latest)[0] + 1}.0.0"
    for document in breaking.values():
        document["info"]["version"] = major
    with pytest.raises(release.ReleaseError, match=r"no section `## \[" + major):
        release.release(major, breaking, released, changelog)
    changelog.write_text(changelog.read_text() + f"\n## [{major}]\n- broke things\n")
    target = release.release(major, breaking, released, changelog)
    assert sorted(p.name for p in target.iterdir()) == ["admin_api_v3.json", "member_api_v3.json"]
    assert release.check(breaking, released, changelog) == []


def test_a_released_version_cannot_change_silently(released_copy):
    released, changelog = released_copy
    documents = release.current_documents()
    latest = release.latest_release(released)
    edited = copy.deepcopy(documents)
    for document in edited.values():
        document["info"]["version"] = latest
        document["info"]["description"] = document["info"].get("description", "") + " Edited."
    found = release.check(edited, released, changelog)
    assert any(f"changed since {latest} was released" in problem for problem in found), found


def test_versions_must_be_semantic_and_agree(released_copy):
    released, changelog = released_copy
    edited = copy.deepcopy(release.current_documents())
    edited["admin_api_v3"]["info"]["version"] = "3.1"
    with pytest.raises(release.ReleaseError):
        release.check(edited, released, changelog)
