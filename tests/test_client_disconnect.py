"""A client that disconnects before its body is read is not a server error: no traceback.

Under load (wrk ending a turn with requests in flight) that happened to list requests, whose
handlers take `**params`: Connexion reads the body for them, and the read of a gone client
raises ClientDisconnect. The fast path reads no body, so the request here takes the chain (a
content type sends it there)."""

from __future__ import annotations

import asyncio
import logging


def test_a_body_never_sent_is_logged_as_a_disconnect_not_an_error(app, admin, caplog):
    headers = [(k.lower().encode(), v.encode()) for k, v in admin.items()]
    headers += [(b"content-type", b"text/plain"), (b"content-length", b"100")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/member-api/v3/objects",
        "raw_path": b"/member-api/v3/objects",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent = []

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    with caplog.at_level(logging.INFO):
        asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert any("client disconnected" in r.getMessage() for r in caplog.records)
