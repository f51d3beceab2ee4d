"""A middleware added through registry/web/pipeline.py runs for every request, whoever answers it.

An app is built with one more middleware in the pipeline, which records what passes through
it; every GET operation of both specs (answered by the fast reads), error answers and writes
(answered by Connexion's chain) must all pass through it, and it must see the status sent.
"""

from __future__ import annotations

import pytest
from connexion.spec import Specification

from models.storage.db import database
from registry.app import create_app
from registry.settings import Settings
from registry.spec import ADMIN_SPEC, MEMBER_SPEC, load_spec
from registry.web import fast_reads, pipeline


class Recorder:
    """Pure ASGI middleware: remembers (method, path, status) of every response."""

    seen: list = []

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def recording(message):
            if message["type"] == "http.response.start":
                Recorder.seen.append((scope["method"], scope["path"], message["status"]))
            await send(message)

        await self.app(scope, receive, recording)


@pytest.fixture(scope="module")
def recorded_client(app, world, database_url):
    from conftest import BATCH_DELETION_KEY

    bound = database.obj
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "MIDDLEWARE", [*pipeline.MIDDLEWARE, Recorder])
        recorded = create_app(
            Settings(
                database_url=database_url,
                validate_responses=True,
                batch_deletion_key=BATCH_DELETION_KEY,
            )
        )
    database.initialize(bound)  # both apps share the session's database handle
    return recorded.test_client()


@pytest.fixture
def fast_answers(monkeypatch):
    paths = []
    original = fast_reads.FastReads.answer

    async def counting(self, route, scope, receive):
        response = await original(self, route, scope, receive)
        if response is not None:
            paths.append(scope["path"])
        return response

    monkeypatch.setattr(fast_reads.FastReads, "answer", counting)
    return paths


def _get_paths() -> list[str]:
    paths = []
    for spec_path, prefix in ((MEMBER_SPEC, ""), (ADMIN_SPEC, "/admin-api/v3")):
        spec = Specification.load(load_spec(spec_path))
        paths += [
            prefix + path.replace("{id}", "1").replace("{user_id}", "1")
            for path, methods in spec["paths"].items()
            if "get" in methods
        ]
    return paths


def test_the_pipeline_runs_for_every_get_operation(recorded_client, world, fast_answers):
    Recorder.seen.clear()
    paths = _get_paths()
    assert len(paths) > 30
    statuses = [
        recorded_client.get(path, headers=world["sysadmin"].headers).status_code for path in paths
    ]
    assert Recorder.seen == [
        ("GET", path, status) for path, status in zip(paths, statuses, strict=True)
    ]
    assert fast_answers == paths  # every one answered by the fast reads
    assert sum(200 <= status < 300 for status in statuses) > len(paths) // 2


def test_the_pipeline_runs_for_error_answers_and_writes(recorded_client, world, fast_answers):
    user = world["inst_user"].headers
    requests = [
        ("GET", "/member-api/v3/objects", {}, 401),  # fast path: its error answer
        ("GET", "/member-api/v3/objects/show/999999", user, 404),  # fast path: the handler's
        ("GET", "/member-api/v3/no-such-thing", user, 404),  # the chain: no route
        ("DELETE", "/member-api/v3/objects", user, 405),  # the chain: no such method
        ("POST", "/member-api/v3/objects/999999/restore", user, 404),  # the chain: a write
        ("POST", "/member-api/v3/objects/999999/restore", {}, 401),
    ]
    Recorder.seen.clear()
    for method, path, headers, status in requests:
        response = recorded_client.request(method, path, headers=headers)
        assert response.status_code == status, (method, path)
        assert response.headers["x-content-type-options"] == "nosniff"
    assert Recorder.seen == [(method, path, status) for method, path, _, status in requests]
    assert fast_answers == [path for _, path, _, _ in requests[:2]]
