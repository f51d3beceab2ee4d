"""Request limits the app checks before the work they guard (README, "Request limits").

`RequestLimits`, a pipeline middleware (registry/web/pipeline.py), so that the fast reads and
Connexion's chain both stand behind it:

- the query string: longer than `max_query_string` answers 414, more than `max_query_params`
  parameters 400, before anything parses it (parsing grew with the square of their number);
- a body where the spec declares none (every GET, and the writes that take no body) is
  ignored, never read: the app is given an empty body and no body headers, as the reference
  server (Go's net/http) leaves such a body unread. What the client still sends is discarded
  by the HTTP server (registry/web/http_server.py), a bounded amount;
- a body where the spec declares one: a `Content-Length` above the operation's limit answers
  413 before a byte is read; a body without one (chunked) is counted as it is read and
  answers 413 at the first byte past the limit; a body that has not arrived `body_timeout`
  seconds after it was first asked for answers 408.

The request line, the headers and the time a request head may take are checked earlier, by
Registry's HTTP server itself (registry/web/http_server.py): by the time a request reaches
any ASGI app its head has been read whole.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from connexion.exceptions import ProblemException
from starlette.responses import Response

from registry.settings import Limits
from registry.web.responses import dumps

# Request headers that describe a body.
BODY_HEADERS = (b"content-length", b"transfer-encoding", b"content-type")
SHORT = 100  # characters of an offending value a problem quotes at most
# The titles of the limits' problems (RFC 9110's phrases; Python's are older for some).
TITLES = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
}


def short(text: str) -> str:
    """At most SHORT characters of `text`: what a problem may quote of an offending value."""
    return text if len(text) <= SHORT else text[:SHORT] + "..."


class LimitExceeded(ProblemException):
    """A limit of the request was passed while its body was being read (413, 408)."""


def problem_app(
    status: int,
    title: str,
    detail: str,
    *,
    path: str = "",
    errors: list | None = None,
    close: bool = False,
) -> Response:
    """A problem+json answer given by the middleware itself (the app never saw the request)."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if path:
        body["instance"] = short(path)
    if errors:
        body["errors"] = errors
    return Response(
        dumps(body),
        status_code=status,
        media_type="application/problem+json",
        headers={"Connection": "close"} if close else None,
    )


def too_large(limit: int) -> LimitExceeded:
    return LimitExceeded(
        status=413,
        title=TITLES[413],
        detail=f"The request body is larger than this operation accepts ({limit} bytes).",
        ext={"errors": [{"name": "", "in": "body", "message": f"must be at most {limit} bytes"}]},
    )


def too_slow(seconds: float) -> LimitExceeded:
    return LimitExceeded(
        status=408,
        title=TITLES[408],
        detail=f"The request body did not arrive within {seconds:g} seconds.",
        headers={"Connection": "close"},
    )


@dataclass(frozen=True)
class BodyRoute:
    method: str
    pattern: re.Pattern
    limit: int


class BodyRoutes:
    """The operations whose spec declares a request body, with the most bytes each accepts: a
    batch (a body that is a JSON array of records) `max_batch_body_bytes`, any other
    `max_body_bytes`. A request no entry matches has no body to give."""

    def __init__(self, routes: list[BodyRoute]):
        self.routes = routes

    @classmethod
    def of(cls, documents: list[tuple[str, dict]], limits: Limits) -> BodyRoutes:
        """`documents`: (path prefix, loaded spec) of each API served."""
        routes = []
        for prefix, document in documents:
            for path, item in document["paths"].items():
                for method, operation in item.items():
                    body = operation.get("requestBody") if isinstance(operation, dict) else None
                    if not body:
                        continue
                    limit = (
                        limits.max_batch_body_bytes
                        if _is_batch(body, document)
                        else limits.max_body_bytes
                    )
                    routes.append(BodyRoute(method.upper(), _pattern(prefix + path), limit))
        return cls(routes)

    def limit(self, method: str, path: str) -> int | None:
        """The most bytes of body the operation at `method path` accepts; None: it takes none."""
        for route in self.routes:
            if route.method == method and route.pattern.match(path):
                return route.limit
        return None


def _pattern(path: str) -> re.Pattern:
    """A path template as a regex; a parameter may hold slashes (an identifier may)."""
    parts = re.split(r"\{[^}]+\}", path)
    return re.compile("^" + ".+".join(re.escape(part) for part in parts) + "$")


def _is_batch(request_body: dict, document: dict) -> bool:
    for media in request_body.get("content", {}).values():
        schema = media.get("schema", {})
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            schema = document["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
        if schema.get("type") == "array":
            return True
    return False


class RequestLimits:
    """Pure ASGI middleware: the limits of the module docstring."""

    def __init__(self, app, limits: Limits | None = None, bodies: BodyRoutes | None = None):
        self.app = app
        self.limits = limits or Limits()
        self.bodies = bodies or BodyRoutes([])

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        query = scope["query_string"]
        if query:
            refusal = self.query_refusal(scope, query)
            if refusal is not None:
                return await refusal(scope, receive, send)
        length, framed, typed = _body_headers(scope["headers"])
        if not (framed or typed):
            return await self.app(scope, receive, send)
        method = scope["method"]
        limit = None if method in ("GET", "HEAD") else self.bodies.limit(method, scope["path"])
        if limit is None:  # the operation takes no body: whatever was sent is not read
            return await self.app(_without_body(scope), _no_body(receive), send)
        if not framed:
            return await self.app(scope, receive, send)
        if length is not None and length > limit:
            return await _answer(too_large(limit), scope, receive, send)
        await self.read_within(limit, scope, receive, send)

    def query_refusal(self, scope, query: bytes) -> Response | None:
        limits = self.limits
        if len(query) > limits.max_query_string:
            return problem_app(
                414,
                TITLES[414],
                f"The query string is longer than {limits.max_query_string} bytes.",
                path=scope["path"],
                errors=[
                    {
                        "name": "",
                        "in": "query",
                        "message": f"must be at most {limits.max_query_string} bytes",
                    }
                ],
            )
        if query.count(b"&") >= limits.max_query_params:
            return problem_app(
                400,
                TITLES[400],
                f"The query string has more than {limits.max_query_params} parameters.",
                path=scope["path"],
                errors=[
                    {
                        "name": "",
                        "in": "query",
                        "message": f"must have at most {limits.max_query_params} parameters",
                    }
                ],
            )
        return None

    async def read_within(self, limit: int, scope, receive, send):
        """The app, given a body that answers 413 past `limit` bytes and 408 when it takes
        longer than the body timeout; a refusal the app did not answer is answered here."""
        timeout = self.limits.body_timeout
        state = {"read": 0, "deadline": None, "done": False}

        async def limited():
            if state["done"]:  # the body is in: what follows (a disconnect) is not timed
                return await receive()
            loop = asyncio.get_running_loop()
            if state["deadline"] is None:
                state["deadline"] = loop.time() + timeout
            try:
                async with asyncio.timeout_at(state["deadline"]):
                    message = await receive()
            except TimeoutError:
                raise too_slow(timeout) from None
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > limit:
                    raise too_large(limit)
                state["done"] = not message.get("more_body", False)
            return message

        started = False

        async def tracking(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracking)
        except LimitExceeded as exc:
            if started:
                raise
            await _answer(exc, scope, receive, send)


async def _answer(exc: LimitExceeded, scope, receive, send) -> None:
    errors = (exc.ext or {}).get("errors")
    response = problem_app(
        exc.status,
        exc.title,
        exc.detail,
        path=scope["path"],
        errors=errors,
        close=bool(exc.headers),
    )
    await response(scope, receive, send)


def _body_headers(headers) -> tuple[int | None, bool, bool]:
    """(the Content-Length, whether a body is framed: a length above 0 or a transfer coding,
    whether any header describes a body)."""
    length, framed, typed = None, False, False
    for name, value in headers:
        if name in BODY_HEADERS:
            typed = True
            if name == b"content-length":
                length = int(value) if value.isdigit() else None
                framed = framed or value != b"0"
            elif name == b"transfer-encoding":
                framed = True
    return length, framed, typed


def _without_body(scope) -> dict:
    return {
        **scope,
        "headers": [(name, value) for name, value in scope["headers"] if name not in BODY_HEADERS],
    }


def _no_body(receive):
    """A receive channel with an empty body; after it, only a disconnect is passed on (what
    the client sends of its body is dropped unread)."""
    given = False

    async def empty():
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message

    return empty
