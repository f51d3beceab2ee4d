"""Deprecation and sunset headers, from the specs: a client learns in band that what it calls
is going away, and when.

An operation, or a parameter, marked `deprecated: true` in either spec carries two dates
(Spectral requires them: `.spectral.yaml`, `deprecated-dates`): `x-deprecated-since`, when it
was deprecated, and `x-sunset`, after which it may be removed. A request routed to such an
operation, or sending such a parameter, is answered, whatever its status, with

    Deprecation: @<x-deprecated-since, seconds since the epoch>   (RFC 9745)
    Sunset: <x-sunset, an HTTP-date>                              (RFC 8594)
    Link: </changelog>; rel="deprecation"; type="text/markdown"

`/changelog` serves CHANGELOG.md, where each deprecation is written down with what replaces
it. The table is built once, from the bundled documents; a request to an operation with
nothing deprecated costs a dict lookup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.responses import Response

from registry.spec import HTTP_METHODS
from registry.web import observe

CHANGELOG = Path(__file__).resolve().parents[2] / "CHANGELOG.md"
CHANGELOG_PATH = "/changelog"
LINK = f'<{CHANGELOG_PATH}>; rel="deprecation"; type="text/markdown"'.encode()


@dataclass(frozen=True)
class Notice:
    since: dt.date
    sunset: dt.date

    @classmethod
    def of(cls, node: dict, where: str) -> Notice:
        try:
            since = dt.date.fromisoformat(str(node["x-deprecated-since"]))
            sunset = dt.date.fromisoformat(str(node["x-sunset"]))
        except (KeyError, ValueError) as exc:
            raise ValueError(
                f"{where} is deprecated without valid x-deprecated-since and x-sunset dates"
            ) from exc
        return cls(since, sunset)

    def headers(self) -> list[tuple[bytes, bytes]]:
        since = dt.datetime.combine(self.since, dt.time(), dt.UTC)
        sunset = dt.datetime.combine(self.sunset, dt.time(), dt.UTC)
        return [
            (b"deprecation", f"@{int(since.timestamp())}".encode()),
            (b"sunset", format_datetime(sunset, usegmt=True).encode()),
            (b"link", LINK),
        ]


@dataclass
class Notices:
    """What is deprecated, by operationId: the operation itself, and its parameters by name."""

    operations: dict[str, Notice]
    parameters: dict[str, dict[str, Notice]]

    @classmethod
    def of(cls, documents: list[dict]) -> Notices:
        operations, parameters = {}, {}
        for document in documents:
            components = document.get("components", {}).get("parameters", {})
            for path, item in document["paths"].items():
                for method, operation in item.items():
                    if method not in HTTP_METHODS:
                        continue
                    op_id = operation["operationId"]
                    if operation.get("deprecated"):
                        operations[op_id] = Notice.of(operation, f"{method.upper()} {path}")
                    for parameter in operation.get("parameters", []):
                        if "$ref" in parameter:
                            parameter = components[parameter["$ref"].rsplit("/", 1)[-1]]
                        if parameter.get("deprecated"):
                            where = f"parameter {parameter['name']} of {op_id}"
                            parameters.setdefault(op_id, {})[parameter["name"]] = Notice.of(
                                parameter, where
                            )
        return cls(operations, parameters)

    def notice(self, operation_id: str | None, query_string: bytes) -> Notice | None:
        """The notice a request gets: its operation's, else that of the first deprecated
        parameter it sends (the earliest sunset if several)."""
        if operation_id is None:
            return None
        notice = self.operations.get(operation_id)
        if notice is not None:
            return notice
        deprecated = self.parameters.get(operation_id)
        if not deprecated:
            return None
        sent = {name for name, _ in parse_qsl(query_string.decode("latin-1"), True)}
        found = [deprecated[name] for name in sent if name in deprecated]
        return min(found, key=lambda n: n.sunset) if found else None


class Deprecations:
    """Pure ASGI middleware of the pipeline: adds the headers of a deprecation notice."""

    def __init__(self, app, notices: Notices | None = None):
        self.app = app
        self.notices = notices or Notices({}, {})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not (self.notices.operations or self.notices.parameters):
            return await self.app(scope, receive, send)

        async def send_noticed(message):
            if message["type"] == "http.response.start":
                notice = self.notices.notice(
                    observe.answering_operation(scope), scope.get("query_string", b"")
                )
                if notice is not None:
                    message = {**message, "headers": [*message["headers"], *notice.headers()]}
            await send(message)

        await self.app(scope, receive, send_noticed)


def add_changelog(app) -> None:
    """GET /changelog: CHANGELOG.md, what each version changed and what is deprecated."""

    async def changelog(request):
        return Response(CHANGELOG.read_bytes(), media_type="text/markdown; charset=utf-8")

    app.add_url_rule(CHANGELOG_PATH, "changelog", changelog)
