"""How the contract suite drives Schemathesis: checks, phases, generation, personas, loading."""

from __future__ import annotations

from collections import Counter, defaultdict

import schemathesis
from schemathesis import GenerationMode
from schemathesis.config import HealthCheck

# The response checks of the contract: all of them run on every generated case.
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "ignored_auth",
]
# Examples: the spec's own `examples` (seeded ids and identifiers). Coverage: boundary and
# invalid values of every parameter, each auth header left out, undeclared methods. Fuzzing:
# random valid and invalid requests, MAX_EXAMPLES per operation. (The stateful phase runs the
# spec's links as a state machine, which Schemathesis's pytest parametrization does not do:
# test_member_stateful.py runs it, with STATEFUL_PHASES.)
PHASES = ["examples", "coverage", "fuzzing"]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
MAX_EXAMPLES = 50
# The stateful phase: STATEFUL_SCENARIOS scenarios (Hypothesis examples) of STATEFUL_STEPS
# calls each: the first page of every list that has links, then restores of generated ids
# and links followed from earlier responses of the same scenario.
STATEFUL_PHASES = ["stateful"]
STATEFUL_SCENARIOS = 40  # 20 stopped reaching every link once exports and keys joined the API
STATEFUL_STEPS = 20

# Who the generated requests are sent as (keys of the `world` fixture). The sysadmin sees every
# institution's records. The institutional run is user@example.edu: every example in the spec is
# a record of example.edu, and the show_alert example (alert 1, user 3) is that user's own copy.
PERSONAS = {"sysadmin": "sysadmin", "member": "inst_user"}


class StatusLog:
    """Status codes of the generated requests, per (backend, persona) and operation label."""

    def __init__(self):
        self.runs: dict[tuple[str, str], dict[str, Counter]] = defaultdict(
            lambda: defaultdict(Counter)
        )

    def record(self, backend: str, persona: str, label: str, status: int) -> None:
        self.runs[(backend, persona)][label][status] += 1


# The admin API (spec/admin_api_v3.yaml, published at ADMIN_SCHEMA_PATH): every check above, plus
# the two that follow a created or deleted resource (they only fire on cases that have a parent
# case, i.e. in a stateful run, test_admin_stateful.py, which says what they can see of our
# paths; in the per-operation run they pass without looking). Fewer
# fuzzing examples than the member API: its 45 operations must run in ~2 minutes per backend.
ADMIN_SCHEMA_PATH = "/admin-api/v3/openapi.json"
ADMIN_CHECKS = CHECKS + ["use_after_free", "ensure_resource_availability"]
ADMIN_MAX_EXAMPLES = 10
# The status of a write whose body the schema accepts but a registry rule refuses
# (components/responses/RuleViolation of the admin spec).
RULE_VIOLATION = "422"


def accept_documented_rule_violations(schema) -> list[str]:
    """Let `positive_data_acceptance` take a 422 from the operations that document one.

    Schemathesis generates bodies from the schema alone, and a schema cannot state every rule
    of the registry (an object's identifier starts with its institution's, a file's with its
    object's, ids in the body agree with the path, nested records agree with their file). Such
    a body is schema-valid, so it is "positive" data, and the registry refuses it with 422 and
    the offending fields. Schemathesis 4.32 expects 2xx/3xx/401/403/404/409/429/5xx for
    positive data by default; its own advice for a rejection the schema cannot express (`st
    explain ST202`) is to add 422 to `checks.positive_data_acceptance.expected-statuses` of
    the operation. That is done here for exactly the operations whose spec documents a 422,
    nothing else: every other status, and every other check, stays as it is (a 400 to
    positive data is still a failure). Returns those operation ids.
    """
    from schemathesis.config import ChecksConfig, OperationConfig

    operation_ids = sorted(
        operation.definition.raw["operationId"]
        for operation in (result.ok() for result in schema.get_all_operations())
        if RULE_VIOLATION in operation.definition.raw.get("responses", {})
    )
    if operation_ids:
        default = ChecksConfig().positive_data_acceptance.expected_statuses
        schema.config.operations.operations.append(
            OperationConfig.from_dict(
                {
                    "include-operation-id": operation_ids,
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": [*default, RULE_VIOLATION]
                        }
                    },
                }
            )
        )
    return operation_ids


# The statuses of a request refused by a request limit (README, "Request limits"), documented on
# the operations they can answer (RequestTimeout, ContentTooLarge, URITooLong,
# HeaderFieldsTooLarge).
LIMIT_REFUSALS = ("408", "413", "414", "431")


def accept_documented_limit_refusals(schema) -> None:
    """Let `negative_data_rejection` take the limits' refusals from the operations that
    document them. Schemathesis's negative data include query strings of thousands of
    characters (long invalid values, arrays of them), which the registry refuses whole, unparsed:
    414, past `REGISTRY_MAX_QUERY_STRING`. That is a rejection, and every operation documents it,
    but 414 is not among the statuses Schemathesis 4.32 expects of a rejection by default (400,
    401, 403, 404, 405, 406, 409, 415, 422, 428, 429, 5xx). Only that check is widened, by only
    what each operation documents; positive data refused by a limit is still a failure."""
    from schemathesis.config import ChecksConfig, OperationConfig

    default = ChecksConfig().negative_data_rejection.expected_statuses
    by_statuses: dict[tuple, list[str]] = defaultdict(list)
    for operation in (result.ok() for result in schema.get_all_operations()):
        responses = operation.definition.raw.get("responses", {})
        documented = tuple(status for status in LIMIT_REFUSALS if status in responses)
        if documented:
            by_statuses[documented].append(operation.definition.raw["operationId"])
    for documented, operation_ids in by_statuses.items():
        schema.config.operations.operations.append(
            OperationConfig.from_dict(
                {
                    "include-operation-id": sorted(operation_ids),
                    "checks": {
                        "negative_data_rejection": {"expected-statuses": [*default, *documented]}
                    },
                }
            )
        )


# Which security scheme of the specs each credential header satisfies.
CREDENTIAL_HEADERS = {"X-Pharos-API-User": "apiUser", "X-Pharos-API-Key": "apiKey"}


def credentials_config(headers: dict) -> tuple[dict, dict]:
    """(Schemathesis' `auth.openapi` schemes, the other headers) of a persona's `headers`.

    Given as plain headers, a key would be sent with every case, while Schemathesis, which
    reads each alternative of the specs' security as optional, also generates an
    `Authorization` of its own: `ignored_auth` then takes that made-up bearer token for the
    credential ("generated auth likely invalid") and the key's 200 for accepting it."""
    schemes, rest = {}, {}
    for name, value in headers.items():
        if name in CREDENTIAL_HEADERS:
            schemes[CREDENTIAL_HEADERS[name]] = {"api_key": value}
        elif name == "Authorization" and value.startswith("Bearer "):
            schemes["bearerAuth"] = {"bearer": value.removeprefix("Bearer ")}
        else:
            rest[name] = value
    return schemes, rest


def load_schema(
    app,
    headers: dict,
    *,
    on_response=None,
    phases: list[str] = PHASES,
    path: str = "/openapi.json",
    checks: list[str] = CHECKS,
    max_examples: int = MAX_EXAMPLES,
):
    """The schema the app publishes, fetched in-process, every request sent with `headers`.

    The credentials among `headers` (the key headers, or `Authorization: Bearer`) are given to
    Schemathesis as OpenAPI-aware auth (`credentials_config`), by security scheme: every case
    then carries them as an explicit credential, whichever alternative of the specs' security
    (keys, or a bearer token) they satisfy. `ignored_auth` re-sends each operation once
    without any credential and once with an invalid one per scheme (an invalid key, an invalid
    user, an invalid bearer token), and expects 401/403. A request limit's refusal counts as a
    rejection (accept_documented_limit_refusals).
    """
    schema = schemathesis.openapi.from_asgi(path, app)
    credentials, headers = credentials_config(headers)
    # too_slow times input generation by the wall clock: on a loaded machine (two test workers
    # on two cores, other jobs) it failed the admin run after 30-70 s of generation. The cases
    # are derandomized, so suppressing it changes none of them.
    schema.config.update(headers=headers or None, suppress_health_check=[HealthCheck.too_slow])
    # The auth section as a config file's `[auth.openapi.<scheme>]` tables would give it.
    schema.config.auth = type(schema.config.auth).from_dict({"openapi": credentials})
    schema.config.generation.update(
        modes=MODES,
        max_examples=max_examples,
        deterministic=True,  # Hypothesis `derandomize`: the same cases on every run
        database="none",  # and no example database to replay earlier failures from
    )
    schema.config.phases.update(phases=phases)
    schema.config.checks.update(included_check_names=checks)
    accept_documented_limit_refusals(schema)
    if on_response is not None:
        # `after_call` sees every generated request (not the probes that checks send).
        @schema.hook("after_call")
        def record(context, case, response):
            on_response(case, response)

    return schema
