"""Conditional GETs: a strong `ETag` on every successful GET, and 304 for a matching
`If-None-Match`.

The validator is a digest of the body as the app wrote it (128 bits of SHA-256): two answers
with the same bytes share it, whatever produced them, so no record or list needs a version
column, and a change to any row of a page, or to its `count` or links, changes the tag. A
304 saves the client the transfer and the parsing, not the server the query: the body is made,
hashed and dropped, and only the head goes out. A streamed body (more than one body message)
gets no tag.

The tag names the identity representation; compression (registry/web/compression.py) gives the
gzip representation a tag of its own, `"<digest>-gzip"`, as strong validators of two content
codings must differ (RFC 9110 8.8.3), and a client may send back either form. `If-None-Match`
compares weakly (RFC 9110 13.1.2): `W/` is ignored, and `*` matches any answer.

Answers that carry a tag may be stored by the client and must be revalidated
(`Cache-Control: private, no-cache`); every other answer stays `no-store`
(registry/web/pipeline.py).
"""

from __future__ import annotations

from hashlib import sha256

GZIP_SUFFIX = b"-gzip"
REVALIDATE = (b"cache-control", b"private, no-cache")
# Header fields a 304 repeats from the 200 it stands for (RFC 9110 15.4.5); the body's own go.
_DROPPED_BY_304 = frozenset({b"content-length", b"content-type", b"content-encoding"})


def entity_tag(body: bytes) -> bytes:
    # SHA-256 (128 bits of it), not BLAKE2b: OpenSSL's runs on the CPU's SHA extensions, 2.4x
    # faster on a list page here (bench/results/2026-12-06-conditional-cost.md).
    return b'"' + sha256(body).hexdigest()[:32].encode() + b'"'


def matching_tag(if_none_match: bytes, tag: bytes) -> bytes | None:
    """The form of `tag` that `If-None-Match` names (the tag itself, or its gzip form), or
    None. `*` names the tag itself."""
    gzip_tag = tag[:-1] + GZIP_SUFFIX + b'"'
    for candidate in if_none_match.split(b","):
        candidate = candidate.strip()
        if candidate == b"*":
            return tag
        if candidate.startswith(b"W/"):
            candidate = candidate[2:]
        if candidate == tag or candidate == gzip_tag:
            return candidate
    return None


class ConditionalGet:
    """Pure ASGI middleware of the pipeline: tags each 200 answer to a GET whose body
    comes in one message, and answers 304 instead when the request's `If-None-Match` names the
    tag."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        if_none_match = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value if if_none_match is None else if_none_match + b"," + value
        held = None  # the 200's start message, until its body tells the tag

        async def send_tagged(message):
            nonlocal held
            kind = message["type"]
            if kind == "http.response.start":
                if message["status"] == 200 and not _sets_cache_control(message):
                    held = message
                    return
                return await send(message)
            if held is None or kind != "http.response.body":
                return await send(message)
            start, held = held, None
            if message.get("more_body", False):  # streamed: no tag
                await send(start)
                return await send(message)
            tag = entity_tag(message.get("body", b""))
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"cache-control"]
            matched = matching_tag(if_none_match, tag) if if_none_match else None
            if matched is None:
                await send({**start, "headers": [*headers, (b"etag", tag), REVALIDATE]})
                return await send(message)
            headers = [(k, v) for k, v in headers if k not in _DROPPED_BY_304]
            await send(
                {**start, "status": 304, "headers": [*headers, (b"etag", matched), REVALIDATE]}
            )
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(scope, receive, send_tagged)


def _sets_cache_control(start: dict) -> bool:
    """Whether the handler chose the answer's caching itself (an export: a stream, `no-store`,
    whole or not): such an answer is sent as it is, untagged."""
    return any(name == b"cache-control" for name, _ in start.get("headers", []))
