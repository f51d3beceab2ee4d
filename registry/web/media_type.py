"""A request's Content-Type: one media type, checked before anything reads it.

Connexion splits the header on "/" when it looks for a body, so a value that is not one media
type (`application/json, text/plain`, `a/b/c`, an empty one) failed there with a 500, even on a
GET without a body. And it looks the body validator up by the media type as written, case and
all: `Application/JSON` passed the check of the operation's media types (which ignores case)
but skipped body validation, and the handler got raw bytes (a 500). So, before the app:

- a Content-Type that is not one media type (RFC 9110 8.3.1: `type/subtype`, then
  `; name=value` parameters) is ignored on a GET or HEAD (they carry no body in this API; the
  reference server ignores it too), and answered 400 naming the header on any other method;
- a Content-Type sent twice is treated the same way (it is one value, RFC 9110 5.3);
- a valid one reaches the app with its type and subtype in lower case (they are
  case-insensitive), so every check downstream sees the form it compares with.
"""

from __future__ import annotations

import re

from models.errors import quoted
from registry.web.responses import problem_response

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
MEDIA_TYPE = re.compile(
    rf"(?P<type>{_TOKEN}/{_TOKEN})"
    rf"(?P<parameters>(?:[ \t]*;[ \t]*(?:{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))?)*)[ \t]*"
)
BODILESS = frozenset({"GET", "HEAD"})


def normalized(value: bytes) -> bytes | None:
    """The header value with its type and subtype in lower case, or None if it is not one
    media type."""
    match = MEDIA_TYPE.fullmatch(value.decode("latin-1"))
    if match is None:
        return None
    return (match["type"].lower() + match["parameters"]).encode("latin-1")


class MediaTypeCheck:
    """Pure ASGI middleware: see the module docstring."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        sent = [
            (i, value)
            for i, (name, value) in enumerate(scope["headers"])
            if name.lower() == b"content-type"
        ]
        if not sent:
            return await self.app(scope, receive, send)
        value = normalized(sent[0][1]) if len(sent) == 1 else None
        if value is None and scope["method"] not in BODILESS:
            return await self.refuse(scope, receive, send, [v for _, v in sent])
        if value is None or value != sent[0][1]:  # dropped (a GET's), or in lower case
            positions = {i for i, _ in sent}
            headers = [h for i, h in enumerate(scope["headers"]) if i not in positions]
            if value is not None:
                headers.append((b"content-type", value))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)

    @staticmethod
    async def refuse(scope, receive, send, values: list[bytes]):
        if len(values) > 1:
            message = "is sent more than once"
        else:
            message = "is not one media type (type/subtype, then parameters)"
        shown = ", ".join(quoted(v.decode("latin-1")) for v in values[:2])
        response = problem_response(
            400,
            "Bad Request",
            f"The Content-Type header {message}: {shown}",
            instance=scope["path"],
            errors=[{"name": "Content-Type", "in": "header", "message": message}],
        )
        await response(scope, receive, send)
