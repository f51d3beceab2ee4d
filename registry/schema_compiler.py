"""A fast yes/no check of a request body against its schema, for the usual case: it is valid.

jsonschema interprets a schema afresh for every value it meets, at a few microseconds per
keyword: validating a 10,000-file batch took 1.7 s, longer than storing it. `compile_schema`
turns a schema into nested closures once. A body they accept is valid; a body they refuse is
validated again by jsonschema, whose errors (every offending field, by name) are the ones
reported. So only the yes/no answer has to agree with jsonschema's (Draft 4, with the
`nullable` of OpenAPI 3.0 as Connexion reads it), keyword by keyword. A schema with a keyword
not handled here compiles to None, and jsonschema alone decides.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from connexion.json_schema import Draft4RequestValidator

Check = Callable[[Any], bool]

# The keywords jsonschema validates with (Draft 4, Connexion's request flavour); any other key
# of a schema (description, example, readOnly, the `components` Connexion attaches, ...) it
# ignores, and so does this module. A validating keyword without a compiler below makes the
# whole schema unsupported.
VALIDATING = frozenset(Draft4RequestValidator.VALIDATORS)
_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_is_number = _TYPES["number"]


class Unsupported(Exception):
    """The schema uses something this module does not compile."""


# Deeper than this, the schema is taken for a cycle (a recursive schema, inlined).
MAX_DEPTH = 64


def compile_schema(schema: dict, format_checker) -> Check | None:
    """A function telling whether a value is valid against `schema`, or None."""
    try:
        return _compile(schema, format_checker)
    except (Unsupported, RecursionError, re.error):
        return None


def _compile(schema, fc, depth: int = 0) -> Check:
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        raise Unsupported(schema)
    checks: list[Check] = []
    for keyword, value in schema.items():
        if keyword not in VALIDATING:
            continue
        make = _KEYWORDS.get(keyword)
        if make is None:
            raise Unsupported(keyword)
        checks.append(make(value, schema, fc, depth + 1))
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    checks = tuple(checks)

    def all_of_keywords(v):
        for check in checks:
            if not check(v):
                return False
        return True

    return all_of_keywords


def _type(value, schema, fc, depth) -> Check:
    if not isinstance(value, str) or value not in _TYPES:
        raise Unsupported(value)
    is_type = _TYPES[value]
    if schema.get("nullable") or schema.get("x-nullable") is True:
        return lambda v: v is None or is_type(v)
    return is_type


def _enum(value, schema, fc, depth) -> Check:
    if not isinstance(value, list) or not all(e is None or isinstance(e, str) for e in value):
        raise Unsupported(value)  # jsonschema's equality of numbers and bools is subtler
    strings = frozenset(e for e in value if e is not None)
    none_ok = None in value or bool(schema.get("nullable") or schema.get("x-nullable") is True)
    return lambda v: (isinstance(v, str) and v in strings) or (v is None and none_ok)


def _required(value, schema, fc, depth) -> Check:
    names = tuple(value)
    return lambda v: not isinstance(v, dict) or all(n in v for n in names)


def _properties(value, schema, fc, depth) -> Check:
    if "patternProperties" in schema:
        raise Unsupported("patternProperties")
    subs = {name: _compile(sub, fc, depth) for name, sub in value.items()}
    extra = schema.get("additionalProperties", True)
    if extra is True:
        extra_check = None
    elif extra is False:
        extra_check = _never
    else:
        extra_check = _compile(extra, fc, depth)

    def properties(v):
        if not isinstance(v, dict):
            return True
        for name, item in v.items():
            check = subs.get(name, extra_check)
            if check is not None and not check(item):
                return False
        return True

    return properties


def _never(v) -> bool:
    return False


def _additional_properties(value, schema, fc, depth) -> Check:
    if "properties" in schema:
        return lambda v: True  # checked together with the properties
    return _properties({}, schema, fc, depth)


def _items(value, schema, fc, depth) -> Check:
    item = _compile(value, fc, depth)  # a list of schemas (tuple validation) is refused there
    return lambda v: not isinstance(v, list) or all(item(x) for x in v)


def _min_items(value, schema, fc, depth) -> Check:
    return lambda v: not isinstance(v, list) or len(v) >= value


def _max_items(value, schema, fc, depth) -> Check:
    return lambda v: not isinstance(v, list) or len(v) <= value


def _min_length(value, schema, fc, depth) -> Check:
    return lambda v: not isinstance(v, str) or len(v) >= value


def _max_length(value, schema, fc, depth) -> Check:
    return lambda v: not isinstance(v, str) or len(v) <= value


def _pattern(value, schema, fc, depth) -> Check:
    search = re.compile(value).search
    return lambda v: not isinstance(v, str) or search(v) is not None


def _minimum(value, schema, fc, depth) -> Check:
    if schema.get("exclusiveMinimum", False):
        return lambda v: not _is_number(v) or v > value
    return lambda v: not _is_number(v) or v >= value


def _maximum(value, schema, fc, depth) -> Check:
    if schema.get("exclusiveMaximum", False):
        return lambda v: not _is_number(v) or v < value
    return lambda v: not _is_number(v) or v <= value


def _format(value, schema, fc, depth) -> Check:
    if fc is None:
        return lambda v: True
    conforms = fc.conforms
    return lambda v: conforms(v, value)


def _all_of(value, schema, fc, depth) -> Check:
    parts = tuple(_compile(sub, fc, depth) for sub in value)
    return lambda v: all(part(v) for part in parts)


_KEYWORDS: dict[str, Callable[[Any, dict, Any, int], Check]] = {
    "type": _type, "enum": _enum, "required": _required, "properties": _properties,
    "additionalProperties": _additional_properties, "items": _items,
    "minItems": _min_items, "maxItems": _max_items, "minLength": _min_length,
    "maxLength": _max_length, "pattern": _pattern, "minimum": _minimum, "maximum": _maximum,
    "format": _format, "allOf": _all_of,
}
