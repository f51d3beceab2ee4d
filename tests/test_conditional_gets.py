"""Conditional GETs and compression (registry/web/conditional.py, registry/web/compression.py):
every successful GET carries a strong ETag that a client sends back in If-None-Match to get a
304 without a body while nothing changed; answers of 1 KiB or more go out gzip-compressed to a
client that accepts it, with an ETag of their own."""

from __future__ import annotations

import pytest

from registry.web.compression import accepts_gzip
from registry.web.conditional import entity_tag, matching_tag

LIST = "/member-api/v3/objects?per_page=50"
IDENTITY = {"Accept-Encoding": "identity"}


def _get(client, path, user, **headers):
    return client.get(path, headers={**user.headers, **IDENTITY, **headers})


def test_a_successful_get_is_tagged_and_may_be_kept_if_revalidated(client, world):
    response = _get(client, LIST, world["inst_user"])
    assert response.status_code == 200
    assert response.headers["etag"] == entity_tag(response.content).decode()
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_same_tag_answers_304_without_a_body(client, world):
    user = world["inst_user"]
    first = _get(client, LIST, user)
    tag = first.headers["etag"]
    again = _get(client, LIST, user, **{"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert "content-type" not in again.headers
    assert again.headers["cache-control"] == "private, no-cache"
    # Weak comparison, lists and `*` (RFC 9110 13.1.2).
    for value in (f"W/{tag}", f'"nope", {tag}', "*"):
        assert _get(client, LIST, user, **{"If-None-Match": value}).status_code == 304, value
    assert _get(client, LIST, user, **{"If-None-Match": '"nope"'}).status_code == 200


def test_a_change_changes_the_tag(client, world):
    """A page's tag is a digest of its bytes: another caller's view, another page, or a new
    record in the list each give another tag, and the old one no longer answers 304."""
    from tests.test_restore import make_object

    user = world["inst_user"]
    path = "/member-api/v3/objects?per_page=5&sort=created_at__desc"
    tag = _get(client, path, user).headers["etag"]
    assert _get(client, path + "&page=2", user).headers["etag"] != tag
    assert _get(client, path, world["inst_admin"]).status_code == 200
    make_object(user.institution_id)
    changed = _get(client, path, user, **{"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag


def test_errors_and_writes_are_not_tagged(client, world):
    user = world["inst_user"]
    missing = _get(client, "/member-api/v3/objects/show/999999999", user)
    assert missing.status_code == 404
    assert "etag" not in missing.headers
    assert missing.headers["cache-control"] == "no-store"
    refused = client.get(LIST, headers={**IDENTITY, "If-None-Match": "*"})
    assert refused.status_code == 401  # `*` matches an answer, not a refusal
    assert "etag" not in refused.headers


def test_large_answers_are_gzip_compressed_for_a_client_that_accepts_it(client, world):
    user = world["inst_user"]
    plain = _get(client, LIST, user)
    assert len(plain.content) >= 1024
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    packed = client.get(LIST, headers={**user.headers, "Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # httpx decoded it
    tag = plain.headers["etag"]
    assert packed.headers["etag"] == tag[:-1] + '-gzip"'  # a representation of its own
    assert "Accept-Encoding" in packed.headers["vary"]
    for sent in (tag, packed.headers["etag"]):
        again = client.get(
            LIST, headers={**user.headers, "Accept-Encoding": "gzip", "If-None-Match": sent}
        )
        assert again.status_code == 304, sent
        assert again.content == b""
    refused = client.get(LIST, headers={**user.headers, "Accept-Encoding": "gzip;q=0, br"})
    assert "content-encoding" not in refused.headers
    small = client.get(
        "/member-api/v3/objects?per_page=1", headers={**user.headers, "Accept-Encoding": "gzip"}
    )
    assert len(small.content) < 1024
    assert "content-encoding" not in small.headers


def test_compression_off_sends_identity():
    """REGISTRY_COMPRESSION=off reaches the middleware, which then passes answers as they are."""
    import asyncio

    from registry.settings import Settings
    from registry.web.compression import Compression

    assert Settings.from_env({"REGISTRY_COMPRESSION": "off"}).compression is False
    assert Settings.from_env({}).compression is True
    body = b"[" + b",".join([b'{"a": 1}'] * 500) + b"]"

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    def encoding(enabled: bool) -> str | None:
        sent = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "headers": [(b"accept-encoding", b"gzip")]}
        asyncio.run(Compression(app, enabled=enabled)(scope, None, send))
        return dict(sent[0]["headers"]).get(b"content-encoding")

    assert encoding(True) == b"gzip"
    assert encoding(False) is None


@pytest.mark.parametrize(
    "header, accepted",
    [
        (b"", False),
        (b"gzip", True),
        (b"GZip", True),
        (b"deflate, gzip;q=0.5", True),
        (b"gzip;q=0", False),
        (b"gzip; q=0.0, *", False),
        (b"*", True),
        (b"*;q=0", False),
        (b"identity", False),
        (b"x-gzip", True),
        (b"gzipx", False),
        (b"gzip;q=nonsense", False),
        (b"gzip;q=", False),  # no number: as an export's Accept reads it (registry/web/qvalues.py)
    ],
)
def test_accept_encoding_is_read_with_its_q_values(header, accepted):
    assert accepts_gzip(header) is accepted


def test_matching_tag_names_the_form_sent():
    tag = entity_tag(b"body")
    gzip_tag = tag[:-1] + b'-gzip"'
    assert matching_tag(tag, tag) == tag
    assert matching_tag(b"W/" + gzip_tag, tag) == gzip_tag
    assert matching_tag(b'"a", "b"', tag) is None
