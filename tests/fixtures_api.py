"""Helpers shared by the API tests: the problem+json contract, and the spec's operations.

Every failure the API answers must be an RFC 9457 problem document; checking that in one place
keeps each test about *which* status it expects rather than about the envelope.
"""

from __future__ import annotations

import re

from registry.spec import load_spec

PROBLEM_FIELDS = {"type", "title", "status", "detail"}
METHODS = ("get", "put", "post", "delete", "patch")
# What a Python traceback or a leaked source location looks like in a body.
LEAK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")


def assert_problem(response, status: int) -> dict:
    """Assert `response` is a problem+json document with `status`; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    assert not LEAK.search(response.text), response.text
    body = response.json()
    assert PROBLEM_FIELDS <= body.keys(), body
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def error_names(body: dict) -> set[str]:
    """The parameter names a problem's `errors` list blames."""
    errors = body.get("errors") or []
    for error in errors:
        assert {"name", "in", "message"} <= error.keys(), error
        assert error["message"], error
    return {error["name"] for error in errors}


def spec_operations() -> list[tuple[str, str, str]]:
    """(operationId, METHOD, concrete path) for every operation of the member spec.

    Path parameters are filled with their example, or `1`, so each request is routable and
    passes validation.
    """
    spec = load_spec()

    def resolved(parameter: dict) -> dict:
        ref = parameter.get("$ref")
        return spec["components"]["parameters"][ref.rsplit("/", 1)[-1]] if ref else parameter

    def filled(path: str, op: dict) -> str:
        examples = {
            p["name"]: str(p["example"])
            for p in map(resolved, op.get("parameters", []))
            if p.get("in") == "path" and "example" in p
        }
        return re.sub(r"\{([^}]+)\}", lambda m: examples.get(m.group(1), "1"), path)

    return [
        (op["operationId"], method.upper(), filled(path, op))
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def request_example(operation_id: str):
    """The spec's example request body of a member operation, or None if it takes none."""
    for item in load_spec()["paths"].values():
        for method, op in item.items():
            if method in METHODS and op["operationId"] == operation_id:
                body = op.get("requestBody")
                return body["content"]["application/json"]["example"] if body else None
    raise KeyError(operation_id)


def schema_fields(name: str) -> tuple[set[str], set[str]]:
    """(properties, required) of a component schema, following `$ref` and `allOf`."""
    schemas = load_spec()["components"]["schemas"]

    def walk(schema: dict) -> tuple[set[str], set[str]]:
        if "$ref" in schema:
            return walk(schemas[schema["$ref"].rsplit("/", 1)[1]])
        properties, required = set(schema.get("properties", {})), set(schema.get("required", []))
        for part in schema.get("allOf", []):
            more_properties, more_required = walk(part)
            properties |= more_properties
            required |= more_required
        return properties, required

    return walk(schemas[name])
