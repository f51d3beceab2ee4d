"""A redirect names its target by path (`Location: /member-api/v3/items`), never by URL.

Starlette answers a path with a trailing slash with a 307 to the path without it (as the
reference server redirects, with a path), but writes the target as an absolute URL whose host
is the request's `Host` header: a request with a forged `Host` was redirected to that host,
and a cache in front could keep that answer for others. Here every redirect's `Location`
keeps only its path and query; leading slashes are made one, so that the path cannot be read
as another host (`//evil.example/x`).
"""

from __future__ import annotations

from urllib.parse import urlsplit


def relative(location: bytes) -> bytes:
    """The path and query of a Location value."""
    parts = urlsplit(location.decode("latin-1"))
    path = "/" + parts.path.lstrip("/")
    return (path + (f"?{parts.query}" if parts.query else "")).encode("latin-1")


class RelativeRedirects:
    """Pure ASGI middleware: see the module docstring."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_relative(message):
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                message["headers"] = [
                    (name, relative(value) if name.lower() == b"location" else value)
                    for name, value in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_relative)
