"""JSON responses serialised with orjson (10x faster than json.dumps for a page of rows)."""

from __future__ import annotations

import orjson
from connexion.lifecycle import ConnexionResponse
from starlette.responses import Response

# Naive datetimes are UTC; write them as RFC 3339 with a `Z`.
_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def dumps(body) -> bytes:
    return orjson.dumps(body, option=_OPTIONS)


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(dumps(body), status_code=status, headers=headers, media_type="application/json")


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list | None = None,
    type_: str = "about:blank",
    headers: dict | None = None,
    members: dict | None = None,
) -> ConnexionResponse:
    """A problem+json response, in the shape Connexion's error handlers must return.
    `members`: extension members of the problem (RFC 9457 3.2), e.g. `existing_id`."""
    body = {"type": type_, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    if members:
        body.update(members)
    return ConnexionResponse(
        status_code=status,
        body=dumps(body),
        headers=headers or {},
        content_type="application/problem+json",
        mimetype="application/problem+json",
    )
