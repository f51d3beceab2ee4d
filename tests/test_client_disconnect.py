"""A client that disconnects before its body is read is not a server error: no traceback.

Under load (wrk ending a turn with requests in flight) that happened to list requests with a
content type, whose bodies Connexion used to read. A GET's body is no longer read at all
(registry/web/limits.py); a write's is, and one that never came answers 400."""

from __future__ import annotations

import asyncio
import logging

from tests.asgi_scope import http_scope


def _scope(method: str, path: str, admin: dict, content_type: bytes) -> dict:
    return http_scope(
        method, path, admin, (b"content-type", content_type), (b"content-length", b"100")
    )


def _run(app, scope) -> tuple[list, int]:
    sent, asked = [], 0

    async def receive():
        nonlocal asked
        asked += 1
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent, asked


def test_a_body_never_sent_is_a_400_not_an_error(app, admin, caplog):
    scope = _scope("POST", "/admin-api/v3/institutions/create", admin, b"application/json")
    with caplog.at_level(logging.INFO):
        sent, asked = _run(app, scope)
    assert asked and sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_a_get_with_a_body_is_answered_without_reading_it(app, admin):
    sent, asked = _run(app, _scope("GET", "/member-api/v3/objects", admin, b"text/plain"))
    assert sent[0]["status"] == 200
    assert asked == 0
