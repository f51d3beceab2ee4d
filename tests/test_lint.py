"""The spec lint can fail: each rule of .spectral.yaml fires on a document that breaks it.

`make lint` runs Spectral with .spectral.yaml over the published documents and passes only with
zero errors and zero warnings. That proves nothing unless the rules can fire, so here Spectral
lints small documents that break each rule once, in a known place, and a clean one that must
pass. Spectral comes from node_modules (`make npm-install`); without it these tests fail, they
never skip.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from registry.spec.files import SOURCES, write_published

ROOT = Path(__file__).resolve().parent.parent
SPECTRAL = ROOT / "node_modules" / ".bin" / "spectral"
RULESET = ROOT / ".spectral.yaml"

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _errors(*statuses: str) -> dict:
    return {s: {"description": f"status {s}", "content": PROBLEM} for s in statuses}


def _operation(operation_id: str | None, **overrides) -> dict:
    """An operation that follows every rule, unless `overrides` break one."""
    operation = {
        "operationId": operation_id,
        "summary": "Do a thing",
        "description": "Does the thing.",
        "tags": ["Things"],
        "responses": {"200": {"description": "done"}, **_errors("400", "401", "403")},
    }
    operation.update(overrides)
    return {k: v for k, v in operation.items() if v is not None}


def _document(paths: dict, *, security=True, components: dict | None = None) -> dict:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "probe", "version": "1", "description": "A lint probe."},
        "servers": [{"url": "/"}],
        "tags": [{"name": "Things", "description": "Things."}],
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-Key"}},
            "schemas": {"Problem": {"type": "object"}},
            **(components or {}),
        },
    }
    if security:
        document["security"] = [{"apiKey": []}]
    return document


GOOD = _document(
    {
        "/things": {"get": _operation("list_things")},
        "/old-things": {
            "get": _operation(
                "list_old_things",
                deprecated=True,
                **{"x-deprecated-since": "2026-12-01", "x-sunset": "2027-06-30"},
            )
        },
        "/things/{id}": {
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "description": "Its id.",
                    "schema": {"type": "integer"},
                }
            ],
            "get": _operation(
                "show_thing",
                responses={
                    "200": {"description": "the thing"},
                    **_errors("400", "401", "403", "404"),
                },
            ),
        },
    }
)

ID_PARAMETER = [
    {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "Its id.",
        "schema": {"type": "integer"},
    }
]

# One document with a global `security`: every other rule broken once, each in its own operation.
BAD = _document(
    {
        "/a": {"get": _operation(None)},  # no operationId
        "/b": {"get": _operation("listThings")},  # not snake_case
        "/c": {"get": _operation("no_summary", summary=None)},
        "/d": {"get": _operation("two_tags", tags=["Things", "Things"])},
        "/e": {"get": _operation("no_tag", tags=None)},
        "/f": {"get": _operation("unknown_tag", tags=["Stuff"])},
        "/g": {"get": _operation("dup_id")},
        "/h": {"get": _operation("dup_id")},
        "/i": {"get": _operation("opts_out", security=[])},  # `security: []`
        "/j": {"get": _operation("anonymous_alternative", security=[{"apiKey": []}, {}])},
        "/k": {
            "get": _operation(
                "no_403", responses={"200": {"description": "ok"}, **_errors("400", "401")}
            )
        },
        "/l/{id}": {"parameters": ID_PARAMETER, "get": _operation("no_404")},
        "/m": {
            "get": _operation(
                "plain_json_400",
                responses={
                    "200": {"description": "ok"},
                    **_errors("401", "403"),
                    "400": {"description": "bad", "content": {"application/json": {"schema": {}}}},
                },
            )
        },
        "/n": {
            "get": _operation(
                "json_beside_problem",
                responses={
                    "200": {"description": "ok"},
                    **_errors("400", "401"),
                    "403": {
                        "description": "no",
                        "content": {**PROBLEM, "text/plain": {"schema": {}}},
                    },
                },
            )
        },
        "/o": {
            "get": _operation(
                "no_body_409",
                responses={
                    "200": {"description": "ok"},
                    **_errors("400", "401", "403"),
                    "409": {"description": "conflict"},
                },
            )
        },
        "/r": {"get": _operation("no_description", description=None)},
        "/s": {"get": _operation("deprecated_undated", deprecated=True)},
        "/t": {
            "get": _operation(
                "deprecated_parameter_undated",
                parameters=[
                    {
                        "name": "old",
                        "in": "query",
                        "description": "Going away.",
                        "deprecated": True,
                        "x-sunset": "next year",
                        "schema": {"type": "string"},
                    }
                ],
            )
        },
    },
    components={
        "schemas": {"Problem": {"type": "object"}, "Orphan": {"type": "string"}},
        "parameters": {"orphan": {"name": "x", "in": "query", "schema": {"type": "string"}}},
    },
)
BAD["components"]["securitySchemes"]["unusedKey"] = {
    "type": "apiKey",
    "in": "header",
    "name": "X-Other",
}

# No global `security`: an operation without its own is unprotected; one with its own is fine.
UNSECURED = _document(
    {
        "/p": {"get": _operation("inherits_nothing")},
        "/q": {"get": _operation("secures_itself", security=[{"apiKey": []}])},
    },
    security=False,
)


def _spectral(tmp_path: Path, **documents: dict) -> list[dict]:
    if not SPECTRAL.exists():
        pytest.fail(f"{SPECTRAL} is missing: run `make npm-install` (CI runs `make lint` first)")
    files = []
    for name, document in documents.items():
        files.append(tmp_path / f"{name}.yaml")
        files[-1].write_text(yaml.safe_dump(document, sort_keys=False))
    report = tmp_path / "spectral.json"
    run = subprocess.run(
        [
            str(SPECTRAL),
            "lint",
            "--ruleset",
            str(RULESET),
            "--format",
            "json",
            "--output",
            str(report),
            "--fail-severity",
            "warn",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert report.exists(), f"Spectral wrote no report (exit {run.returncode}): {run.stderr}"
    results = json.loads(report.read_text())
    assert (run.returncode != 0) == bool(results), (run.returncode, results)
    return [{**r, "file": Path(r["source"]).stem} for r in results]


@pytest.fixture(scope="module")
def bad_results(tmp_path_factory) -> list[dict]:
    return _spectral(tmp_path_factory.mktemp("lint"), bad=BAD, unsecured=UNSECURED)


def _fired(results: list[dict], code: str) -> set[tuple]:
    """Where `code` fired: (file, "paths", path, method) or (file, "components", kind, name)."""
    return {(r["file"], *r["path"][:3]) for r in results if r["code"] == code}


def test_a_document_that_follows_the_rules_passes(tmp_path):
    assert _spectral(tmp_path, good=GOOD) == []


# Each rule, and every place in BAD / UNSECURED where it must fire (and nowhere else).
CASES = [
    ("operation-operationId", {("bad", "paths", "/a", "get")}),
    ("registry-operation-id-snake-case", {("bad", "paths", "/b", "get")}),
    ("operation-operationId-unique", {("bad", "paths", "/h", "get")}),
    ("registry-operation-summary", {("bad", "paths", "/c", "get")}),
    ("operation-description", {("bad", "paths", "/r", "get")}),
    ("registry-operation-one-tag", {("bad", "paths", "/d", "get"), ("bad", "paths", "/e", "get")}),
    ("operation-tag-defined", {("bad", "paths", "/f", "get")}),
    (
        "registry-operation-security",
        {
            ("bad", "paths", "/i", "get"),
            ("bad", "paths", "/j", "get"),
            ("unsecured", "paths", "/p", "get"),
        },
    ),
    ("registry-operation-4xx", {("bad", "paths", "/k", "get")}),
    ("registry-operation-404", {("bad", "paths", "/l/{id}", "get")}),
    (
        "registry-4xx-problem-json",
        {
            ("bad", "paths", "/m", "get"),
            ("bad", "paths", "/n", "get"),
            ("bad", "paths", "/o", "get"),
        },
    ),
    (
        "oas3-unused-component",
        {("bad", "components", "schemas", "Orphan"), ("bad", "components", "parameters", "orphan")},
    ),
    ("registry-security-schemes-used", {("bad", "components", "securitySchemes", "unusedKey")}),
    ("registry-deprecated-dates", {("bad", "paths", "/s", "get"), ("bad", "paths", "/t", "get")}),
]


@pytest.mark.parametrize("code, where", CASES, ids=[code for code, _ in CASES])
def test_each_rule_fires_exactly_where_it_is_broken(bad_results, code, where):
    assert _fired(bad_results, code) == where


def test_every_house_rule_is_exercised():
    """A rule added to .spectral.yaml must get a case above."""
    rules = yaml.safe_load(RULESET.read_text())["rules"]
    house = {name for name in rules if name.startswith("registry-")}
    assert house, "no registry-* rules in .spectral.yaml"
    assert house <= {code for code, _ in CASES}, house - {code for code, _ in CASES}


def test_the_lint_runs_on_what_the_server_publishes(app, tmp_path):
    """`make lint` lints files from registry.spec.files; they must equal the served documents."""
    written = {p.name: p.read_bytes() for p in write_published(tmp_path)}
    client = app.test_client()
    for name, prefix in zip(SOURCES, ("", "/admin-api/v3"), strict=True):
        for suffix in ("json", "yaml"):
            served = client.get(f"{prefix}/openapi.{suffix}")
            assert served.status_code == 200
            assert served.content == written[f"{name}.{suffix}"], f"{prefix}/openapi.{suffix}"


# A finding in a published document is named at its file and line in the sources
# (registry/spec/lint.py): the admin document's paths and components live in spec/admin/*.yaml
# and in the member spec, reached through `$ref`s in other files.
def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_finding_is_named_at_its_source_file_and_line():
    from registry.spec import ADMIN_SPEC, MEMBER_SPEC
    from registry.spec.lint import source_place

    files_yaml = ADMIN_SPEC.parent / "admin" / "files.yaml"
    create = source_place(
        ADMIN_SPEC, ["paths", "/files/create/{institution_id}", "post", "summary"]
    )
    assert (create.file, create.line) == (
        files_yaml.resolve(),
        _line_of(files_yaml, "summary: Record a new file,"),
    )
    # An admin path that is the member spec's own, by a `$ref` into member_api_v3.yaml.
    listed = source_place(ADMIN_SPEC, ["paths", "/objects", "get", "summary"])
    assert (listed.file, listed.line) == (
        MEMBER_SPEC.resolve(),
        _line_of(MEMBER_SPEC, "summary: List intellectual objects"),
    )
    # A component the bundler lifted into the root: found in the file that defines it.
    field = source_place(ADMIN_SPEC, ["components", "schemas", "FileFields", "type"])
    assert field.file == files_yaml.resolve()
    assert field.line == _line_of(files_yaml, "    FileFields:") + 1
    # A key the sources do not have: the deepest node that exists.
    missing = source_place(MEMBER_SPEC, ["paths", "/member-api/v3/objects", "get", "nope"])
    assert missing.file == MEMBER_SPEC.resolve()
    assert (
        _line_of(MEMBER_SPEC, "/member-api/v3/objects:")
        < missing.line
        <= _line_of(MEMBER_SPEC, "summary: List intellectual objects")
    )


def test_the_lint_fails_and_names_the_source_of_a_broken_published_document(tmp_path):
    """End to end: a published document with one rule broken fails the lint, naming the rule
    and where it comes from in spec/."""
    from registry.spec import ADMIN_SPEC, MEMBER_SPEC, load_spec, published
    from registry.spec.lint import report

    for name, source in (("member_api_v3", MEMBER_SPEC), ("admin_api_v3", ADMIN_SPEC)):
        document = published(load_spec(source))
        if name == "admin_api_v3":
            document["paths"]["/files/create/{institution_id}"]["post"]["summary"] = ""
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    lines, failing = report(tmp_path)
    assert failing == 1
    files_yaml = ADMIN_SPEC.parent / "admin" / "files.yaml"
    where = f"spec/admin/files.yaml:{_line_of(files_yaml, 'summary: Record a new file,')}: "
    assert any(line.startswith(where) and "registry-operation-summary" in line for line in lines), (
        lines
    )
