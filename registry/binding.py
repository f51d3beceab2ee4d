"""What a handler receives besides its parameters, bound in one place (registry.authz.guard).

A handler takes the caller first, and, if it names a `target` parameter, the request's own
path and query (for the links of a page). Both ways a request is served supply them
explicitly: the fast reads from the request they route, Connexion's chain from its request
context (read through its public proxy, never set by us).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestTarget:
    """The request's path (percent-decoded, as ASGI gives it) and raw query string."""

    path: str
    query_string: bytes

    @classmethod
    def of(cls, scope) -> RequestTarget:
        return cls(scope["path"], scope["query_string"])
