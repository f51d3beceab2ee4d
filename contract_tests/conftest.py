"""Fixtures of the Schemathesis contract tests of the member API.

The schema is loaded in-process from the running ASGI app (the session's `app` fixture, one per
backend, with the deterministic demo data seeded), so what is tested is the document the server
publishes at /openapi.json, served by the same app that answers the generated requests. Each
persona's schema sends every request with that seeded user's API key (see harness.py).
"""
from __future__ import annotations

import pytest

from contract_tests.harness import PERSONAS, StatusLog, load_schema


@pytest.fixture(scope="session")
def status_log() -> StatusLog:
    return StatusLog()


def _persona_schema(name: str, app, world, backend: str, status_log: StatusLog):
    def on_response(case, response):
        status_log.record(backend, name, case.operation.label, response.status_code)

    return load_schema(app, world[PERSONAS[name]].headers, on_response=on_response)


@pytest.fixture(scope="session")
def sysadmin_schema(app, world, backend, status_log):
    return _persona_schema("sysadmin", app, world, backend, status_log)


@pytest.fixture(scope="session")
def member_schema(app, world, backend, status_log):
    return _persona_schema("member", app, world, backend, status_log)
