"""Fixtures of the Schemathesis contract tests of the member and admin APIs.

The schema is loaded in-process from the running ASGI app (the session's `app` fixture, one per
backend, with the deterministic demo data seeded), so what is tested is the document the server
publishes at /openapi.json, served by the same app that answers the generated requests. Each
persona's schema sends every request with that seeded user's API key (see harness.py).

`admin_schema` is the admin API's document (/admin-api/v3/openapi.json), sent as the sysadmin,
for test_admin_api.py; contract_tests/admin_guard.py keeps its destructive operations away from
the personas and seeded objects the member suites use afterwards.
"""

from __future__ import annotations

import pytest

from contract_tests import list_hooks  # noqa: F401 - registers its hooks
from contract_tests.harness import (
    ADMIN_CHECKS,
    ADMIN_MAX_EXAMPLES,
    ADMIN_SCHEMA_PATH,
    PERSONAS,
    StatusLog,
    accept_documented_rule_violations,
    load_schema,
)


@pytest.fixture(scope="session")
def status_log() -> StatusLog:
    return StatusLog()


def _persona_schema(name: str, app, world, backend: str, status_log: StatusLog):
    def on_response(case, response):
        status_log.record(backend, name, case.operation.label, response.status_code)

    _spare_example_key(world[PERSONAS[name]].user_id)

    schema = load_schema(app, world[PERSONAS[name]].headers, on_response=on_response)
    # POST /member-api/v3/keys answers 422 to an `expires_at` in the past (schema-valid).
    accept_documented_rule_violations(schema)
    return schema


@pytest.fixture(scope="session")
def sysadmin_schema(app, world, backend, status_log):
    return _persona_schema("sysadmin", app, world, backend, status_log)


@pytest.fixture(scope="session")
def member_schema(app, world, backend, status_log):
    return _persona_schema("member", app, world, backend, status_log)


def _spare_example_key(user_id: int) -> None:
    """A key of the persona with the prefix of revoke_key's example (the admin run's stand-in
    holds one for revoke_api_key, contract_tests/admin_guard.py): the example then revokes that
    spare key, once (a 2xx; later cases 409), never the key the run signs in with, which no
    generated prefix can name."""
    import secrets

    from contract_tests.admin_guard import EXAMPLE_KEY_PREFIX
    from models.storage.db import connection
    from models.user import ApiKey, digest_of

    with connection():
        spare = (ApiKey.user == user_id) & (ApiKey.prefix == EXAMPLE_KEY_PREFIX)
        if not ApiKey.select().where(spare).exists():
            ApiKey.create(
                user=user_id, prefix=EXAMPLE_KEY_PREFIX, digest=digest_of(secrets.token_hex(32))
            )


# Key-only operations (a token cannot call them: 401) and logout (which would end the run's
# token): the bearer run leaves them to the key runs.
NOT_WITH_A_TOKEN = ["login", "create_key", "logout"]


@pytest.fixture(scope="session")
def member_token_schema(app, world, backend, status_log):
    """The member persona again, authenticated by a bearer token (POST /login's) instead of
    the key headers: every check runs with the token as the credential, `ignored_auth`
    replaces it by none and by an invalid one."""
    import datetime as dt

    from models import token as tokens
    from models import user as users

    persona = world[PERSONAS["member"]]
    caller = users.authenticate(persona.email, persona.key)
    token = tokens.issue_token(caller, dt.timedelta(hours=6), None)["token"]

    def on_response(case, response):
        status_log.record(backend, "member_token", case.operation.label, response.status_code)

    schema = load_schema(app, {"Authorization": f"Bearer {token}"}, on_response=on_response)
    accept_documented_rule_violations(schema)
    return schema.exclude(operation_id=NOT_WITH_A_TOKEN)


# The member API's deletion flow, as the institutional admin it is for (contract_tests/
# deletion_flow.py): its four operations only.
@pytest.fixture(scope="session")
def deletion_admin_schema(app, world, backend, status_log):
    from contract_tests import deletion_flow

    def on_response(case, response):
        status_log.record(backend, "deletion_admin", case.operation.label, response.status_code)

    schema = load_schema(app, world[deletion_flow.PERSONA].headers, on_response=on_response)
    accept_documented_rule_violations(schema)
    return schema.include(operation_id=deletion_flow.OPERATIONS)


@pytest.fixture
def deletion_flow_undone(app):
    """Whatever the deletion-flow run changes is undone when it ends."""
    from contract_tests import deletion_flow

    with deletion_flow.undone():
        yield


# The admin API (/admin-api/v3/openapi.json), sent as the sysadmin. Its writes change the
# session's database, which the member suites use afterwards: see contract_tests/admin_guard.py.
@pytest.fixture(scope="session")
def admin_status_log() -> StatusLog:
    return StatusLog()


@pytest.fixture(scope="session")
def admin_schema(app, world, backend, admin_status_log):
    from contract_tests.admin_guard import guard_personas, make_stand_ins

    def on_response(case, response):
        admin_status_log.record(backend, "sysadmin", case.operation.label, response.status_code)

    schema = load_schema(
        app,
        world["sysadmin"].headers,
        on_response=on_response,
        path=ADMIN_SCHEMA_PATH,
        checks=ADMIN_CHECKS,
        max_examples=ADMIN_MAX_EXAMPLES,
    )
    guard_personas(schema, world, make_stand_ins(world))
    accept_documented_rule_violations(schema)
    return schema


# The admin modules, which write: in this order, after everything else of their backend.
ADMIN_MODULES = ("contract_tests/test_admin_api.py", "contract_tests/test_admin_stateful.py")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """Run the admin contract tests (ADMIN_MODULES) last on each backend, after pytest has
    grouped the tests by backend:
    their writes (deleted files, queued restores, updated records) would otherwise
    turn the member suites' 2xx on the spec's example records into 409s. Only the admin tests
    move, to just after the last test of their backend; every other test keeps its place."""

    def backend_of(item):
        callspec = getattr(item, "callspec", None)
        return callspec.params.get("database_url") if callspec else None

    admin = [item for item in items if item.nodeid.startswith(ADMIN_MODULES)]
    if not admin:
        return
    rest = [item for item in items if item not in set(admin)]
    for backend in dict.fromkeys(backend_of(item) for item in admin):
        moving = [item for item in admin if backend_of(item) == backend]
        last = max((i for i, item in enumerate(rest) if backend_of(item) == backend), default=None)
        at = len(rest) if last is None else last + 1
        rest[at:at] = moving
    items[:] = rest
