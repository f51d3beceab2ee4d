"""The methods a path of the published APIs answers, for the `Allow` header of a 405.

Connexion gives each operation a route of its own, and Starlette answers a 405 with the methods
of the first route whose path matched: `DELETE` and `POST /admin-api/v3/users/{id}/keys` are
two routes, so an `OPTIONS` there said `Allow: POST` and left out the DELETE the resource has.
This reads the methods from the documents the app serves instead, all operations of the path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_TEMPLATE_PARAMETER = re.compile(r"\\\{[^/]+?\\\}")


def _path_pattern(template: str) -> re.Pattern:
    # A path parameter matches one segment, as Starlette's default converter does.
    return re.compile("^" + _TEMPLATE_PARAMETER.sub("[^/]+", re.escape(template)) + "$")


class AllowedMethods:
    """`allowed(path)`: the methods of every operation whose path template matches `path`."""

    def __init__(self, apis: Iterable[tuple[str, dict]]):
        """`apis`: (path prefix, OpenAPI document) of each API the app serves."""
        self._routes: list[tuple[re.Pattern, frozenset[str]]] = []
        for prefix, document in apis:
            for template, item in document.get("paths", {}).items():
                methods = frozenset(m.upper() for m in item if m in HTTP_METHODS)
                if "GET" in methods:
                    methods |= {"HEAD"}  # Starlette answers HEAD wherever it answers GET
                self._routes.append((_path_pattern(prefix + template), methods))

    def __call__(self, path: str) -> list[str]:
        methods: set[str] = set()
        for pattern, route_methods in self._routes:
            if pattern.match(path):
                methods |= route_methods
        return sorted(methods)
