"""The one place for cross-cutting behaviour: middleware that runs for every request.

Request ids, the request log and the request metrics (registry/web/observe.py), security
headers, deprecation notices (registry/web/deprecation.py), request limits
(registry/web/limits.py), rate limits (registry/web/rate_limit.py), relative redirects
(registry/web/redirects.py), the Content-Type check (registry/web/media_type.py) and the
request deadline (registry/web/deadline.py). `create_app` adds `MIDDLEWARE` in this order
(the first is the outermost) around both ways a request is served: the fast reads
(registry/web/fast_reads.py) and Connexion's chain. They sit inside only Starlette's
server-error middleware, and outside Connexion's exception middleware, so that they see every
answer, error answers included (401, 404 no route, 405, 400). A middleware added at one of
Connexion's own positions instead would miss every GET the fast reads answer.

Each entry is a pure ASGI middleware class, `Middleware(app, **options)`; the options of one
that takes any (the settings it enforces: the request limits, the rate limiter, the deadline)
are given to `install` by the app factory.
"""

from __future__ import annotations

from connexion.middleware import MiddlewarePosition

from registry.web.compression import Compression
from registry.web.conditional import ConditionalGet
from registry.web.deadline import Deadline
from registry.web.deprecation import Deprecations
from registry.web.limits import RequestLimits
from registry.web.media_type import MediaTypeCheck
from registry.web.observe import Observe
from registry.web.rate_limit import RateLimit
from registry.web.redirects import RelativeRedirects

SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
]


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers every response of an authenticated API needs."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                # An answer that set its own Cache-Control keeps it (a tagged GET's
                # `private, no-cache`: registry/web/conditional.py); any other is no-store.
                if any(name == b"cache-control" for name, _ in headers):
                    headers += SECURITY_HEADERS[1:]
                else:
                    headers += SECURITY_HEADERS
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Outermost first. Observe sees every answer, the refusals of those inside it included, and
# measures the whole of a request's time in the app. Compression sees every answer whole, its
# tag included. The request limits come before any work is done on a request; inside the
# security headers, so that their answers carry those headers too. The rate limiter
# (registry/web/rate_limit.py) answers a request over its budget before anything inside it
# runs. Deprecation notices go on every answer of a deprecated operation, refusals included.
# The conditional GET tags what the app answered. The deadline is innermost: it bounds
# the work of a request every check let through.
MIDDLEWARE: list = [
    Observe,
    SecurityHeaders,
    Deprecations,
    Compression,
    RequestLimits,
    RateLimit,
    RelativeRedirects,
    MediaTypeCheck,
    ConditionalGet,
    Deadline,
]


def install(app, inner: list = (), options: dict | None = None) -> None:
    """Add MIDDLEWARE to the Connexion app, outermost first, each with its `options` (a dict
    by class), then `inner` (ASGI middleware class and its keyword arguments: the fast reads)
    inside them."""
    options = options or {}
    # Connexion inserts each middleware just before its exception middleware: one added later
    # runs inside those added before it.
    for middleware in MIDDLEWARE:
        app.add_middleware(
            middleware, position=MiddlewarePosition.BEFORE_EXCEPTION, **options.get(middleware, {})
        )
    for middleware, arguments in inner:
        app.add_middleware(middleware, position=MiddlewarePosition.BEFORE_EXCEPTION, **arguments)
