"""A bare ASGI app that answers how many objects its process's garbage collector has frozen
(`gc.get_freeze_count()`): served by `registry serve`'s gunicorn command in
tests/test_gunicorn_gc.py."""

import gc

LOADED = [object() for _ in range(1000)]  # what the master loads before the fork


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = str(gc.get_freeze_count()).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
