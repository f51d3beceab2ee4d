"""Connexion's URI parser, with the spec's `allowEmptyValue` honoured: an empty value is absent.

The reference server ignores a filter sent with an empty value (`?bag_group_identifier=`), and
its clients rely on that: they pass optional filters through from configuration, empty or not.
Every list filter of our specs says `allowEmptyValue: true`; such a parameter sent empty (or,
for a repeatable one, each of its empty values) is left out of the parsed query, so validation
and the handler see the request as if it had not been sent. `page`, `per_page` and `sort` do
not say it: empty, they stay invalid (400).

A parameter that takes one value and is sent several times is read from its first value, as
the reference server reads it (Connexion's parser would take the last): `?state=A&state=D` asks
for active records on both servers.

An integer parameter (path or query, or an item of an integer array) is read only when it is
written in ASCII digits, with an optional sign, as the reference server (Go's strconv) reads
it: Connexion casts with Python's `int()`, which also takes `１` (a fullwidth digit), `1_0`
and surrounding spaces, so that `/deletions/１/approve` approved request 1. Any other text is
left as text, which validation refuses (400 naming the parameter).

Both ways a request is served parse with this class (the full chain through the app's
`uri_parser_class`, the fast reads through registry/web/fast_reads.py), so they agree.
"""

from __future__ import annotations

import functools
import re

from connexion.uri_parsing import OpenAPIURIParser

# An integer as the reference reads one: ASCII digits, an optional sign, nothing else.
_ASCII_INTEGER = re.compile(r"[-+]?[0-9]+")
# How an array parameter's items are delimited, by style (as Connexion splits them).
_DELIMITERS = {"form": ",", "simple": ",", "spaceDelimited": " ", "pipeDelimited": "|"}


class URIParser(OpenAPIURIParser):
    """OpenAPIURIParser that reads a single-valued parameter from its first value and leaves
    out the empty values of `allowEmptyValue` parameters."""

    @functools.cached_property
    def empty_means_absent(self) -> frozenset[str]:
        return frozenset(
            name
            for name, definition in self.param_defns.items()
            if definition.get("in") == "query" and definition.get("allowEmptyValue")
        )

    @functools.cached_property
    def single_valued(self) -> frozenset[str]:
        return frozenset(
            name
            for name, definition in self.param_defns.items()
            if definition.get("in") == "query"
            and definition.get("schema", {}).get("type") != "array"
        )

    @functools.cached_property
    def integer_params(self) -> dict[str, tuple | None]:
        """The path and query parameters typed integer: name -> None for one integer, or how
        an array of integers is written (whether repeats are joined, the delimiter), as
        Connexion splits it."""
        found = {}
        for name, definition in self.param_defns.items():
            schema, where = definition.get("schema", {}), definition.get("in")
            if where not in ("path", "query"):
                continue
            if schema.get("type") == "integer":
                found[name] = None
            elif schema.get("type") == "array" and schema.get("items", {}).get("type") == "integer":
                style = definition.get("style", "form" if where == "query" else "simple")
                found[name] = (
                    definition.get("explode", style == "form"),
                    _DELIMITERS.get(style, ","),
                )
        return found

    def resolve_params(self, params, _in):
        """Connexion's resolution, but an integer that is not ASCII digits stays text."""
        resolved = super().resolve_params(params, _in)
        for name in self.integer_params.keys() & resolved.keys() & params.keys():
            raw, array = params[name], self.integer_params[name]
            raw = raw if isinstance(raw, list) else [raw]
            if array is None:
                if not _is_ascii_integer(raw[-1]):
                    resolved[name] = raw[-1]
                continue
            explode, delimiter = array
            texts = (delimiter.join(raw) if explode else raw[-1]).split(delimiter)
            values = resolved[name]
            if isinstance(values, list) and len(values) == len(texts):
                resolved[name] = [
                    value if _is_ascii_integer(text) else text
                    for value, text in zip(values, texts, strict=True)
                ]
        return resolved

    def resolve_query(self, query_data):
        single = self.single_valued
        query_data = {
            name: values[:1] if name in single and isinstance(values, list) else values
            for name, values in query_data.items()
        }
        resolved = super().resolve_query(query_data)
        for name in self.empty_means_absent.intersection(resolved):
            value = resolved[name]
            if isinstance(value, list):
                kept = [item for item in value if item != ""]
                if kept:
                    resolved[name] = kept
                else:
                    del resolved[name]
            elif value == "":
                del resolved[name]
        return resolved


def _is_ascii_integer(text) -> bool:
    return isinstance(text, str) and _ASCII_INTEGER.fullmatch(text) is not None
