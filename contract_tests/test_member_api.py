"""Schemathesis contract tests: every operation of spec/member_api_v3.yaml, on both backends.

One pytest test per persona (the member twice: with its key headers, and with a bearer token
from POST /login, which ignored_auth then replaces by none and by an invalid token);
Schemathesis reports each operation as a subtest of it. Each
generated case is sent in-process to the ASGI app; its response goes through every check in
harness.CHECKS and must carry the security headers every response promises. The last test
asserts that the run reached real, seeded records: a success for every operation, not only
400s and 404s.
"""

from __future__ import annotations

import schemathesis

from contract_tests import deletion_flow
from contract_tests.harness import PERSONAS
from registry.web.authz import PERMISSIONS

as_sysadmin = schemathesis.pytest.from_fixture("sysadmin_schema")
as_member = schemathesis.pytest.from_fixture("member_schema")
as_member_token = schemathesis.pytest.from_fixture("member_token_schema")
as_deletion_admin = schemathesis.pytest.from_fixture("deletion_admin_schema")


# Not declared in the spec, but promised for every response by
# registry.web.pipeline.SecurityHeaders, error responses included. A successful GET carries an
# ETag and may be stored if revalidated (registry/web/conditional.py); any other answer, no-store.
SECURITY_HEADERS = {"x-content-type-options": ["nosniff"]}
STREAMED = ("application/x-ndjson", "text/csv")


def wrong_security_headers(method: str, response) -> dict:
    """The promised headers `response` lacks or gets wrong, by name (empty: none)."""
    wrong = {
        name: response.headers.get(name)
        for name, value in SECURITY_HEADERS.items()
        if response.headers.get(name) != value
    }
    # A 304 stands for the tagged 200 (If-None-Match is a parameter the runs send). An export is
    # streamed: no tag, and no-store.
    streamed = response.headers.get("content-type", [""])[0].startswith(STREAMED)
    tagged = method.upper() == "GET" and response.status_code in (200, 304) and not streamed
    if response.headers.get("cache-control") != (["private, no-cache"] if tagged else ["no-store"]):
        wrong["cache-control"] = response.headers.get("cache-control")
    if tagged and not response.headers.get("etag"):
        wrong["etag"] = None
    return wrong


def call_and_validate(case):
    response = case.call_and_validate()
    wrong = wrong_security_headers(case.method, response)
    assert not wrong, f"{response.status_code} response without its security headers: {wrong}"


# First: the spec's examples of the deletion flow name records the other runs leave alone, but
# their restores (fuzzed ids included) would give those records unfinished work items.
@as_deletion_admin.parametrize()
def test_contract_of_the_deletion_flow_as_institutional_admin(case, deletion_flow_undone):
    call_and_validate(case)


@as_sysadmin.parametrize()
def test_contract_as_sysadmin(case):
    call_and_validate(case)


@as_member.parametrize()
def test_contract_as_member(case):
    call_and_validate(case)


@as_member_token.parametrize()
def test_contract_as_member_with_a_bearer_token(case):
    call_and_validate(case)


def _succeeded(statuses) -> bool:
    return any(200 <= status < 300 for status in statuses)


def test_every_operation_succeeded(backend, status_log, sysadmin_schema, world):
    """Runs after the tests above (same module, same backend): each operation answered a 2xx to
    at least one generated request, so the checks saw real records, not only errors."""
    operations = [result.ok() for result in sysadmin_schema.get_all_operations()]
    assert operations
    for persona in PERSONAS:
        assert status_log.runs.get((backend, persona)), (
            f"no contract run as {persona} on {backend}: run the whole module"
        )

    sysadmin = status_log.runs[(backend, "sysadmin")]
    # The deletion flow is for institutional admins only: sysadmins are refused (403).
    missing = {
        op.label: dict(sysadmin[op.label])
        for op in operations
        if "admin" in PERMISSIONS[op.definition.raw["operationId"]]
        and not _succeeded(sysadmin[op.label])
    }
    assert not missing, f"operations with no 2xx as sysadmin on {backend}: {missing}"

    flow = status_log.runs.get((backend, "deletion_admin"), {})
    missing = {
        op.label: dict(flow.get(op.label, {}))
        for op in operations
        if op.definition.raw["operationId"] in deletion_flow.OPERATIONS
        and not _succeeded(flow.get(op.label, {}))
    }
    assert not missing, f"deletion flow operations with no 2xx on {backend}: {missing}"

    member = status_log.runs[(backend, "member")]
    role = world[PERSONAS["member"]].role
    missing = {}
    for op in operations:
        if role not in PERMISSIONS[op.definition.raw["operationId"]]:
            continue
        statuses = member[op.label]
        # The sysadmin run has already queued restores of the spec's example objects and files,
        # so a second request for them rightly answers 409 (one pending restore at a time).
        if _succeeded(statuses) or (op.method.upper() == "POST" and 409 in statuses):
            continue
        missing[op.label] = dict(statuses)
    assert not missing, f"operations with no 2xx as {role} on {backend}: {missing}"

    # The same member with a bearer token: every read answered a 2xx too.
    by_token = status_log.runs.get((backend, "member_token"), {})
    missing = {
        op.label: dict(by_token.get(op.label, {}))
        for op in operations
        if op.method.upper() == "GET"
        and role in PERMISSIONS[op.definition.raw["operationId"]]
        and not _succeeded(by_token.get(op.label, {}))
    }
    assert not missing, f"reads with no 2xx with a token on {backend}: {missing}"
