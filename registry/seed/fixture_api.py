"""A small admin-API client for the fixture loader: one method per operation it needs.

The loader talks HTTP even in-process (httpx over the ASGI app), so every row passes the same
validation and rules as a write from an ingest service. A response that is not the expected
success stops the load with the API's problem detail and the fixture row that caused it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

ADMIN = "/admin-api/v3"


class FixtureApiError(RuntimeError):
    """The admin API rejected a fixture row (its problem document is in the message)."""


def jsonable(value: Any) -> Any:
    """Naive UTC datetimes as RFC 3339 with `Z`; everything else as it is."""
    if isinstance(value, dt.datetime):
        return value.isoformat() + "Z"
    return value


def problem_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:500]}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}: {response.text[:500]}"
    text = f"HTTP {response.status_code} {body.get('title', '')}: {body.get('detail', '')}"
    errors = body.get("errors") or []
    if errors:
        text += "; " + "; ".join(f"{e.get('name')}: {e.get('message')}" for e in errors[:10])
    return text


class AdminApi:
    """The admin operations the loader uses, over an `httpx.AsyncClient` with a sysadmin key."""

    def __init__(self, client: httpx.AsyncClient):
        self.client = client

    async def _call(
        self,
        method: str,
        path: str,
        what: str,
        expect: int,
        body: Any = None,
        params: dict | None = None,
    ) -> Any:
        response = await self.client.request(method, ADMIN + path, json=body, params=params)
        if response.status_code != expect:
            raise FixtureApiError(
                f"{what}: {method} {ADMIN}{path} answered {problem_text(response)}"
            )
        return response.json()

    async def find_id(self, path: str, what: str, **params) -> int | None:
        """The id of the one record a list filter finds, or None."""
        body = await self._call("GET", path, what, 200, params=params)
        results = body["results"]
        return results[0]["id"] if len(results) == 1 else None

    async def count(self, path: str) -> int:
        return (await self._call("GET", path, f"count {path}", 200, params={"per_page": 1}))[
            "count"
        ]

    async def show(self, path: str, what: str) -> Any:
        return await self._call("GET", path, what, 200)

    async def create(self, path: str, what: str, body: Any) -> Any:
        return await self._call("POST", path, what, 201, body=body)

    async def delete(self, path: str, what: str) -> Any:
        return await self._call("DELETE", path, what, 200)
