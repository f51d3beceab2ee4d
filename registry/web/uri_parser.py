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

Both ways a request is served parse with this class (the full chain through the app's
`uri_parser_class`, the fast reads through registry/web/fast_reads.py), so they agree.
"""

from __future__ import annotations

import functools

from connexion.uri_parsing import OpenAPIURIParser


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
