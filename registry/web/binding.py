"""What a handler receives besides its parameters, bound in one place (registry.web.authz.guard).

A handler takes the caller first, and, if it names a `target` parameter, the request's own
path and query (for the links of a page); if it names `parsed_body`, the JSON body as the body
validator parsed it (for a large batch: a `body` parameter would make Connexion parse it again).
Both ways a request is served supply them
explicitly: the fast reads from the request they route, Connexion's chain from its request
context (read through its public proxy, never set by us).
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.web.validation import PARSED_BODY


@dataclass(frozen=True, slots=True)
class RequestTarget:
    """The request's path (percent-decoded, as ASGI gives it), raw query string, and raw
    headers (read only by the few handlers that negotiate, e.g. an export's format)."""

    path: str
    query_string: bytes
    headers: tuple | list = ()

    @classmethod
    def of(cls, scope) -> RequestTarget:
        return cls(scope["path"], scope["query_string"], scope["headers"])

    def header(self, name: bytes) -> str | None:
        """A header's values joined by commas (as RFC 9110 allows for lists), or None."""
        values = [value for key, value in self.headers if key == name]
        return b",".join(values).decode("latin-1") if values else None


async def parsed_body(request):
    """The JSON body as the body validator parsed (and validated) it; parsed again only if the
    validator did not run."""
    if PARSED_BODY in request.scope:
        return request.scope[PARSED_BODY]
    return await request.json()
