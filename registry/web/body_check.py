"""A fast yes/no check of a request body, for the usual case: it is valid.

jsonschema interprets a schema afresh for every value: a 10,000-file batch took 1.7 s to
validate, longer than storing it. jsonschema-rs (Rust) answers the same question in a fraction
of that. A body it accepts is valid; a body it refuses is validated again by jsonschema, whose
errors (every offending field, by name) are the ones reported. So only the yes/no answer must
agree with Connexion's request validation: Draft 4, OpenAPI's `nullable` (null passes `type`
and `enum`), and our format checks.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import jsonschema_rs
from jsonschema import FormatChecker

from models.lru import remembered_for_short_texts


def _with_nullable_as_null(schema):
    """OpenAPI 3.0 `nullable: true` spelt in plain JSON Schema: null is one more type/value."""
    if isinstance(schema, list):
        return [_with_nullable_as_null(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _with_nullable_as_null(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


# The format checks call back into Python for every value; a batch repeats the same few
# timestamps thousands of times: one cache of short texts' answers for every schema.
@remembered_for_short_texts(maxsize=4096, longest=64)
def _conforms(checker: FormatChecker, name: str, value) -> bool:
    return checker.conforms(value, name)


def _format_functions(checker: FormatChecker) -> dict[str, Callable[[str], bool]]:
    def as_bool(name):
        return lambda value: _conforms(checker, name, value)

    return {name: as_bool(name) for name in checker.checkers}


def compile_schema(schema: dict, format_checker: FormatChecker) -> Callable[[Any], bool] | None:
    """`is_valid` for `schema`, or None when jsonschema-rs cannot take the schema."""
    # Connexion hangs the API's whole `components` section on a body schema, for `$ref`s its
    # resolver has inlined already. Once a response component shared by two operations has
    # been validated against, that section contains itself (Connexion hangs it on the shared
    # response schema too), and walking it never ends. It states no rule of the body.
    schema = {key: value for key, value in schema.items() if key != "components"}
    try:
        validator = jsonschema_rs.Draft4Validator(
            _with_nullable_as_null(copy.deepcopy(schema)),
            formats=_format_functions(format_checker),
            validate_formats=True,
        )
    except (ValueError, TypeError, jsonschema_rs.ValidationError):
        return None
    return validator.is_valid
