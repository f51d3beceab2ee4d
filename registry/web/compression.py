"""Compression: gzip for answers of 1 KiB or more when the client accepts it.

Starlette's GZipMiddleware does the work (level 6, chunk by chunk for a streamed body, bodies
of 128 KiB or more compressed in a thread, `Vary: Accept-Encoding` on every answer it could
have compressed). Around it, this module sends a request that does not accept gzip past it
(with `Vary` added, nothing else), and reads `Accept-Encoding` as RFC 9110 12.5.3 says, so
that `gzip;q=0` refuses gzip, and gives a compressed answer's `ETag` its own form
(registry/web/conditional.py).
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware

from registry.web.conditional import GZIP_SUFFIX
from registry.web.qvalues import weighted

MINIMUM_SIZE = 1024
LEVEL = 6  # of zlib's 1-9: most of level 9's gain on JSON, at a fraction of its CPU


def accepts_gzip(accept_encoding: bytes) -> bool:
    """Whether an Accept-Encoding value lets the answer be gzip (`gzip`, `x-gzip` or `*`, with a
    q-value above 0; an explicit `gzip` wins over `*`)."""
    star = False
    for coding, q in weighted(accept_encoding.decode("latin-1")):
        if coding in ("gzip", "x-gzip"):
            return q > 0
        if coding == "*":
            star = q > 0
    return star


class Compression:
    """Pure ASGI middleware of the pipeline (registry/web/pipeline.py)."""

    def __init__(self, app, enabled: bool = True):
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=MINIMUM_SIZE, compresslevel=LEVEL)
        self.enabled = enabled

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.enabled:
            return await self.app(scope, receive, send)
        accept = b""
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept = accept + b"," + value if accept else value
        if not accepts_gzip(accept):
            # Nothing to compress: the answer only says that it depends on Accept-Encoding.
            return await self.app(scope, receive, _with_vary(send))
        # GZipMiddleware looks for "gzip" anywhere in the header: it is given exactly that.
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"] + [
            (b"accept-encoding", b"gzip")
        ]  # in place: what inner middleware puts in the scope stays seen outside

        async def send_tag_of_gzip(message):
            if message["type"] == "http.response.start":
                fields = message.get("headers", [])
                if any(k == b"content-encoding" and v == b"gzip" for k, v in fields):
                    message["headers"] = [
                        (k, v[:-1] + GZIP_SUFFIX + b'"' if k == b"etag" else v) for k, v in fields
                    ]
            await send(message)

        await self.gzip(scope, receive, send_tag_of_gzip)


def _with_vary(send):
    async def send_with_vary(message):
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), (b"vary", b"Accept-Encoding")]
        await send(message)

    return send_with_vary
