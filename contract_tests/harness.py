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
STATEFUL_SCENARIOS = 20
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

    Configured headers are an explicit credential for Schemathesis: `ignored_auth` re-sends each
    operation once without them and once with invalid ones and expects 401/403, and the coverage
    phase leaves each auth header out in turn (`missing_required_header` expects 401).
    """
    schema = schemathesis.openapi.from_asgi(path, app)
    # too_slow times input generation by the wall clock: on a loaded machine (two test workers
    # on two cores, other jobs) it failed the admin run after 30-70 s of generation. The cases
    # are derandomized, so suppressing it changes none of them.
    schema.config.update(headers=headers, suppress_health_check=[HealthCheck.too_slow])
    schema.config.generation.update(
        modes=MODES,
        max_examples=max_examples,
        deterministic=True,  # Hypothesis `derandomize`: the same cases on every run
        database="none",  # and no example database to replay earlier failures from
    )
    schema.config.phases.update(phases=phases)
    schema.config.checks.update(included_check_names=checks)
    if on_response is not None:
        # `after_call` sees every generated request (not the probes that checks send).
        @schema.hook("after_call")
        def record(context, case, response):
            on_response(case, response)

    return schema
