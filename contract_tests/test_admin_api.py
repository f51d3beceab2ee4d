"""Schemathesis contract tests of the admin API (spec/admin_api_v3.yaml), on both backends.

Every operation of the document the app publishes at /admin-api/v3/openapi.json, sent
in-process as the sysadmin: the spec's examples, the coverage phase and random fuzzing, positive
and negative, derandomized, with harness.ADMIN_CHECKS on every response and the security headers
every response promises. The writes are real: they change the session's database, so this
module runs last on each backend (see contract_tests/conftest.py), and
contract_tests/admin_guard.py keeps the few operations that take access away off the personas'
institutions and users (and delete_object off the seeded objects). A write answers 422 to
schema-valid data that breaks a registry rule, as its spec documents; positive_data_acceptance
takes that 422 from those operations only (harness.accept_documented_rule_violations), and a
400 to schema-valid data is still a failure. The last test asserts that every operation
answered a 2xx at least once.
"""

from __future__ import annotations

import schemathesis

from contract_tests.test_member_api import call_and_validate

as_sysadmin = schemathesis.pytest.from_fixture("admin_schema")


@as_sysadmin.parametrize()
def test_admin_contract(case):
    call_and_validate(case)


def test_every_admin_operation_succeeded(backend, admin_status_log, admin_schema):
    """Runs after the test above (same module, same backend): each operation answered a 2xx
    to at least one generated request, so the checks saw real writes and reads, not only
    errors."""
    operations = [result.ok() for result in admin_schema.get_all_operations()]
    assert operations
    run = admin_status_log.runs.get((backend, "sysadmin"))
    assert run, f"no admin contract run on {backend}: run the whole module"
    missing = {
        op.label: dict(run[op.label])
        for op in operations
        if not any(200 <= status < 300 for status in run[op.label])
    }
    assert not missing, f"admin operations with no 2xx on {backend}: {missing}"
