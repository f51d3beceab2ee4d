"""The spec itself: valid OpenAPI 3.0, and every operation fully documented."""

import re

import pytest
from openapi_spec_validator import validate

from registry.spec import ADMIN_SPEC, MEMBER_SPEC, load_spec, operation_ids

SPEC = load_spec(MEMBER_SPEC)
OPERATIONS = [
    (path, method, op) for path, item in SPEC["paths"].items() for method, op in item.items()
]


def test_member_spec_is_valid_openapi_3_0():
    assert SPEC["openapi"].startswith("3.0.")
    validate(load_spec(MEMBER_SPEC))


def test_operation_ids_are_unique_snake_case():
    ids = operation_ids(SPEC)
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids), ids


@pytest.mark.parametrize(
    "path, method, op", OPERATIONS, ids=[o[2]["operationId"] for o in OPERATIONS]
)
def test_every_operation_is_documented(path, method, op):
    assert op.get("summary") and op.get("tags")
    responses = op["responses"]
    for status in ("400", "401", "403"):
        assert status in responses, f"{op['operationId']} lacks {status}"
    if "{" in path:
        assert "404" in responses
    for status, response in responses.items():
        if status.startswith("4"):
            ref = response.get("$ref", "")
            resolved = SPEC["components"]["responses"][ref.rsplit("/", 1)[-1]] if ref else response
            assert "application/problem+json" in resolved["content"], (op["operationId"], status)


def test_security_requires_both_headers_or_a_bearer_token():
    assert SPEC["security"] == [{"apiUser": [], "apiKey": []}, {"bearerAuth": []}]
    schemes = SPEC["components"]["securitySchemes"]
    assert schemes["apiUser"]["name"] == "X-Pharos-API-User"
    assert schemes["apiKey"]["name"] == "X-Pharos-API-Key"
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}


# Operations that only a key may call: a token renews itself through neither.
KEY_ONLY = {"login", "create_key"}


@pytest.mark.parametrize("document", [MEMBER_SPEC, ADMIN_SPEC], ids=["member", "admin"])
def test_every_operation_takes_a_token_but_the_key_only_ones(document):
    spec = load_spec(document)
    assert spec["security"] == [{"apiUser": [], "apiKey": []}, {"bearerAuth": []}]
    overridden = {
        op["operationId"]: op["security"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in ("get", "post", "put", "delete", "patch") and "security" in op
    }
    expected = KEY_ONLY if document == MEMBER_SPEC else set()
    assert overridden == {op: [{"apiUser": [], "apiKey": []}] for op in expected}


WRITES = [
    (document.name, op["operationId"], op)
    for document in (MEMBER_SPEC, ADMIN_SPEC)
    for item in load_spec(document)["paths"].values()
    for method, op in item.items()
    if method in ("post", "put", "delete", "patch")
]
EVERY_OPERATION = [
    (document.name, method, op["operationId"], op)
    for document in (MEMBER_SPEC, ADMIN_SPEC)
    for item in load_spec(document)["paths"].values()
    for method, op in item.items()
    if method in ("get", "post", "put", "delete", "patch")
]


@pytest.mark.parametrize(
    "document, method, operation_id, op",
    EVERY_OPERATION,
    ids=[f"{d.split('_')[0]}-{o[1]}" for d, *o in EVERY_OPERATION],
)
def test_every_operation_documents_503_with_retry_after(document, method, operation_id, op):
    """Any operation, a read as well as a write, answers 503 with Retry-After when the database
    cannot serve it (no connection, a timeout, no database thread free, the request's deadline:
    registry/web/threads.py, registry/web/deadline.py), and a write also when it keeps losing
    to other writers (registry.web.threads.run_write): every operation of both APIs says so."""
    response = op["responses"].get("503", {})
    if "$ref" in response:
        assert response["$ref"].endswith("#/components/responses/ServiceUnavailable"), operation_id
        response = SPEC["components"]["responses"]["ServiceUnavailable"]
    assert "Retry-After" in response.get("headers", {}), operation_id
    assert "application/problem+json" in response["content"], operation_id


ALL_OPERATIONS = [
    (op["operationId"], op)
    for document in (MEMBER_SPEC, ADMIN_SPEC)
    for item in load_spec(document)["paths"].values()
    for method, op in item.items()
    if method in ("get", "post", "put", "delete")
]
# The limits of every request (registry/web/http_server.py, registry/web/limits.py), by the
# response component each operation refers to.
LIMIT_RESPONSES = {"408": "RequestTimeout", "414": "URITooLong", "431": "HeaderFieldsTooLarge"}


@pytest.mark.parametrize("operation_id, op", ALL_OPERATIONS, ids=[o[0] for o in ALL_OPERATIONS])
def test_every_operation_documents_the_request_limits(operation_id, op):
    """Any request may pass a limit of its head (408, 414, 431); one with a body, the limit of
    its size (413); the answer is problem+json and says which setting governs it."""
    responses = op["responses"]
    expected = dict(LIMIT_RESPONSES)
    if "requestBody" in op:
        expected["413"] = "ContentTooLarge"
    else:  # a body the operation does not take is ignored, never refused
        assert "413" not in responses, operation_id
    for status, name in expected.items():
        assert responses.get(status, {}).get("$ref") == f"#/components/responses/{name}", (
            operation_id,
            status,
        )
        component = SPEC["components"]["responses"][name]
        assert "application/problem+json" in component["content"]
        assert "REGISTRY_" in component["description"], name


@pytest.mark.parametrize(
    "operation_id",
    [
        "request_object_restore",
        "request_file_restore",
        "request_object_deletion",
        "request_file_deletion",
    ],
)
def test_a_409_of_a_restore_or_deletion_request_names_the_existing_one(operation_id):
    [op] = [op for _, oid, op in WRITES if oid == operation_id]
    name = op["responses"]["409"]["$ref"].rsplit("/", 1)[-1]
    schema = SPEC["components"]["responses"][name]["content"]["application/problem+json"]
    assert schema["schema"]["$ref"] == "#/components/schemas/ConflictProblem"
    extension = SPEC["components"]["schemas"]["ConflictProblem"]["allOf"][1]["properties"]
    assert {"existing_id", "existing"} <= extension.keys()


OPERATIONS_OF_BOTH = [
    (document.name, op["operationId"], op)
    for document in (MEMBER_SPEC, ADMIN_SPEC)
    for item in load_spec(document)["paths"].values()
    for method, op in item.items()
    if method in ("get", "post", "put", "delete", "patch")
]


def _resolved_response(response: dict) -> dict:
    ref = response.get("$ref")
    return SPEC["components"]["responses"][ref.rsplit("/", 1)[-1]] if ref else response


@pytest.mark.parametrize(
    "document, operation_id, op",
    OPERATIONS_OF_BOTH,
    ids=[f"{d.split('_')[0]}-{o}" for d, o, _ in OPERATIONS_OF_BOTH],
)
def test_every_operation_documents_429_and_the_ratelimit_headers(document, operation_id, op):
    """Every request is charged to a rate-limit budget (registry/web/rate_limit.py): every
    operation of both APIs documents the 429 (problem+json, Retry-After, the RateLimit fields)
    and the RateLimit fields on its successful answers."""
    assert op["responses"].get("429") == {"$ref": "#/components/responses/TooManyRequests"}, (
        operation_id
    )
    too_many = SPEC["components"]["responses"]["TooManyRequests"]
    assert too_many["headers"]["Retry-After"]["required"] is True
    assert "application/problem+json" in too_many["content"]
    fields = {
        "RateLimit-Policy": {"$ref": "#/components/headers/RateLimitPolicy"},
        "RateLimit": {"$ref": "#/components/headers/RateLimit"},
    }
    assert fields.items() <= too_many["headers"].items()
    successes = {
        status: _resolved_response(response)
        for status, response in op["responses"].items()
        if status.startswith("2")
    }
    assert successes, operation_id
    for status, response in successes.items():
        assert fields.items() <= response.get("headers", {}).items(), (operation_id, status)
