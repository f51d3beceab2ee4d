"""Valid values at the edges of the spec that random generation rarely draws, pinned down.

Each case is valid input by the spec, built for every parameter of every operation it applies to,
and goes through the same Schemathesis checks as the generated cases; on top of that it must be
accepted: 200 for a list filter, 404 for a path identifier that names nothing.

- U+0000 in a text parameter: a valid JSON Schema string. PostgreSQL refuses NUL in text
  parameters, so each of these answered 500 there until the data layer learnt that such a value
  matches no row.
- Date-times whose UTC equivalent falls outside year 1..9999 (year 1 with a positive offset,
  year 9999 with a negative one) answered 500 (OverflowError) on both backends.
- A lowercase `t` / `z` in a date-time (RFC 3339 allows both, and the request validator accepts
  them) was then refused as "not an RFC 3339 date-time" by the list engine.

And values the reference server accepts, which Registry accepts too (README, "Compatibility
with the APTrust Registry"): an empty value of every list filter (`allowEmptyValue`: ignored),
an id or a bound below 1 (matches nothing, or is a bound like any other), `per_page` above
1000 (served as 1000), and date-times as the reference's clients write them.
"""

from __future__ import annotations

import pytest

from contract_tests import deletion_flow
from contract_tests.harness import CHECKS, PERSONAS, load_schema
from registry.web.authz import PERMISSIONS

NUL = "a\x00b"
DATE_TIMES = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2024-05-01t00:00:00z",
    "2024-05-01T00:00:00.000000+0000",  # openapi-generator's Python client
    "2024-05-01T00:00:00",
    "2024-05-01",
]
BELOW_ONE = ["0", "-1", str(-(2**63))]


@pytest.fixture(scope="session")
def edge_schema(app, world):
    """The published schema, not wired to the status log of the generated runs."""
    return load_schema(app, world[PERSONAS["sysadmin"]].headers)


def _item_schema(schema: dict) -> dict:
    return schema.get("items", {}) if schema.get("type") == "array" else schema


def _declared(param) -> dict:
    """The parameter's own schema: Schemathesis wraps that of an `allowEmptyValue` parameter
    in `anyOf: [schema, {enum: [""]}]`."""
    schema = param.optimized_schema
    if param.definition.get("allowEmptyValue") and "anyOf" in schema:
        return schema["anyOf"][0]
    return schema


def _edge_values(param) -> list:
    schema = _declared(param)
    item = _item_schema(schema)
    values = []
    if param.definition.get("allowEmptyValue"):
        values.append("")
    if param.name == "per_page":
        values += ["1001", "5000", str(2**63 - 1)]
    if item.get("type") == "integer" and item.get("minimum", 1) < 1:
        values += BELOW_ONE
    # (Not a string with a pattern, e.g. `cursor`: NUL does not match it, so it is no valid
    # value there.)
    if item.get("type") == "string" and not {"enum", "pattern"} & item.keys():
        if item.get("format") != "uuid":
            values += DATE_TIMES if item.get("format") == "date-time" else [NUL]
    return [[v] if schema.get("type") == "array" and v != "" else v for v in values]


def edge_cases(schema):
    """(operation, path parameters, query, expected status) for every edge value that applies."""
    for result in schema.get_all_operations():
        operation = result.ok()
        params = list(operation.iter_parameters())
        paths = {p.name: "1" for p in params if p.location.name == "PATH"}
        for param in params:
            for value in _edge_values(param):
                if param.location.name == "PATH":
                    # A path parameter with a pattern (a key's prefix) refuses it: 400.
                    refused = 400 if _declared(param).get("pattern") else 404
                    yield operation, {**paths, param.name: value}, {}, refused
                elif param.location.name == "QUERY":
                    yield operation, paths, {param.name: value}, 200


def test_edge_values_are_accepted(edge_schema, world, backend):
    from schemathesis import checks
    from schemathesis.core.failures import FailureGroup

    selected = [getattr(checks, name) for name in CHECKS]
    failures, count = [], 0
    for operation, path_parameters, query, expected in edge_cases(edge_schema):
        count += 1
        case = operation.Case(path_parameters=path_parameters, query=query)
        label = f"{operation.label} path={path_parameters!r} query={query!r}"
        # The deletion flow refuses sysadmins: it is sent as the institutional admin it is for.
        allowed = PERMISSIONS[operation.definition.raw["operationId"]]
        persona = PERSONAS["sysadmin"] if "admin" in allowed else deletion_flow.PERSONA
        headers = world[persona].headers
        try:
            response = case.call_and_validate(headers=headers, checks=selected)
        except FailureGroup as group:
            found = "; ".join(f"{f.title}: {f.message}".strip() for f in group.exceptions)
            failures.append(f"{label}: {found}")
            continue
        if response.status_code != expected:
            failures.append(
                f"{label}: {response.status_code}, expected {expected}: {response.text[:200]}"
            )
    assert count > 300  # every filter of every member list, and the path parameters
    assert not failures, f"{len(failures)} of {count} edge cases on {backend}:\n" + "\n".join(
        failures
    )
