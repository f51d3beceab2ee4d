"""A plain-Python statement of what a list endpoint must answer, to check the SQL engine against.

Written from the spec's contract, not from models/storage/query.py, so a bug in the engine cannot
hide in a shared helper:

- `x` is exact equality; NULL equals nothing.
- `x__starts_with` is a literal, case-sensitive prefix ('%' and '_' are plain characters),
  compared by code point.
- `x__contains` is a literal substring ('%', '_' and '\\' are plain characters) in which the
  letters A to Z match in either case and every other character only as written; NULL
  contains nothing.
- `x__gteq` / `x__lteq` are inclusive bounds; NULL satisfies neither.
- `x__in` matches any of its values.
- `x__is_null=true` keeps the rows whose x is NULL, `=false` those whose x is not; `x__not_null`
  is the opposite. A boolean column's `x=true|false` is plain equality.
- Sort keys apply in the order given (a repeated column counts once, first wins); NULL sorts as
  the largest value; `id` breaks ties in the direction of the first key; the default order is
  `updated_at` descending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SUFFIXES = ("starts_with", "contains", "gteq", "lteq", "in", "is_null", "not_null")
ASCII_FOLD = {ord(c): ord(c) + 32 for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
DEFAULT_SORT = [("updated_at", "desc")]


@dataclass(frozen=True)
class Condition:
    """One filter parameter with its typed value (a tuple for `in`)."""

    param: str
    value: Any

    @property
    def field(self) -> str:
        return split(self.param)[0]

    @property
    def op(self) -> str:
        return split(self.param)[1]


def split(param: str) -> tuple[str, str]:
    field, sep, op = param.rpartition("__")
    return (field, op) if sep and op in SUFFIXES else (param, "eq")


def matches(row: dict, condition: Condition) -> bool:
    actual, op, value = row[condition.field], condition.op, condition.value
    if op == "eq":
        return actual == value
    if op == "in":
        return actual in value
    if op == "is_null":
        return (actual is None) == value
    if op == "not_null":
        return (actual is not None) == value
    if actual is None:
        return False
    if op == "starts_with":
        return actual.startswith(value)
    if op == "contains":
        return value.translate(ASCII_FOLD) in actual.translate(ASCII_FOLD)
    if op == "gteq":
        return actual >= value
    if op == "lteq":
        return actual <= value
    raise AssertionError(op)


def sort_keys(
    requested: list[tuple[str, str]], default: list[tuple[str, str]] = DEFAULT_SORT
) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    for name, direction in requested:
        if name not in (k for k, _ in keys):
            keys.append((name, direction))
    keys = keys or list(default)
    return keys + [("id", keys[0][1])]


def ordered(
    rows: list[dict],
    requested: list[tuple[str, str]],
    default: list[tuple[str, str]] = DEFAULT_SORT,
) -> list[dict]:
    out = list(rows)
    # Stable sorts from the last key to the first give the lexicographic order.
    for name, direction in reversed(sort_keys(requested, default)):
        out.sort(
            key=lambda r: (r[name] is None, r[name] if r[name] is not None else 0),
            reverse=direction == "desc",
        )
    return out


def answer(
    rows: list[dict],
    conditions: list[Condition],
    requested: list[tuple[str, str]],
    page: int,
    per_page: int,
    default: list[tuple[str, str]] = DEFAULT_SORT,
) -> tuple[int, list[dict]]:
    """(count, rows of the page) the endpoint must return; `default` is the resource's order
    when no sort is requested."""
    hits = [r for r in rows if all(matches(r, c) for c in conditions)]
    start = (page - 1) * per_page
    return len(hits), ordered(hits, requested, default)[start : start + per_page]
