"""A client that disconnects before its body is read is not a server error: no traceback.

Under load (wrk ending a turn with requests in flight) that happened to list requests with a
content type, whose bodies Connexion used to read. A GET's body is no longer read at all
(registry/web/limits.py); a write's is, and one that never came answers 400."""

from __future__ import annotations

import asyncio
import logging


def _scope(method: str, path: str, admin: dict, content_type: bytes) -> dict:
    headers = [(k.lower().encode(), v.encode()) for k, v in admin.items()]
    headers += [(b"content-type", content_type), (b"content-length", b"100")]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }


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
