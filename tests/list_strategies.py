"""Hypothesis strategies for list queries, derived from the spec's declared parameters.

The filters, their types and the sort values come from spec/member_api_v3.yaml, so every filter
the spec declares is exercised, including ones added later. Filter values are drawn partly from
the rows actually inserted (so filters match something) and partly at random.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import strategies as st

from models.storage.query import PAGING
from registry.spec import MEMBER_SPEC, load_spec
from tests.list_oracle import Condition, split

# Characters that break naive SQL (LIKE wildcards, quotes, escapes), URLs (reserved
# characters) or byte-wise comparison (multi-byte UTF-8), mixed with arbitrary code points.
# Stored text never holds NUL (PostgreSQL cannot store it), nor U+10FFFF: the engine's prefix
# filter is the range [p, p + U+10FFFF), which by design misses a value continuing p with that
# noncharacter itself.
SPECIAL = list("/ '\"%_\\+&=#?;.-~AaZz09\téß日😀")
CHARS = st.one_of(
    st.sampled_from(SPECIAL), st.characters(codec="utf-8", exclude_characters="\x00\U0010ffff")
)
# A filter value may hold NUL: it matches no stored text, on both backends.
FILTER_CHARS = st.one_of(CHARS, st.just("\x00"))
# A few shared values make ties and equality matches common.
COMMON = ["a", "a b", "A", "a%", "a_", "ab", "o'neil", 'say "hi"', "日本", "😀"]
INSTANTS = [
    dt.datetime(2024, 1, 2, 9, 0),
    dt.datetime(2024, 1, 2, 9, 0, 0, 1),
    dt.datetime(2024, 6, 30, 23, 59, 59, 999999),
    dt.datetime(2031, 12, 31),
]


def text(min_size: int = 0, chars=CHARS) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(COMMON), st.text(chars, min_size=min_size, max_size=8))


def maybe_text() -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), text())


def instants() -> st.SearchStrategy[dt.datetime]:
    """Naive UTC datetimes, often equal to each other."""
    return st.one_of(
        st.sampled_from(INSTANTS), st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2035, 12, 31))
    )


# -- the spec -------------------------------------------------------------------------------


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    if node.get("type") == "array":
        node = {**node, "items": _resolve(spec, node["items"])}
    return node


def query_parameters(path: str) -> dict[str, dict]:
    """name -> resolved schema of each query parameter of GET `path`."""
    spec = load_spec(MEMBER_SPEC)
    out = {}
    for parameter in spec["paths"][path]["get"]["parameters"]:
        parameter = _resolve(spec, parameter)
        if parameter["in"] == "query":
            out[parameter["name"]] = _resolve(spec, parameter["schema"])
    return out


def filter_parameters(path: str) -> dict[str, dict]:
    return {n: s for n, s in query_parameters(path).items() if n not in PAGING}


def sort_values(path: str) -> list[str]:
    return query_parameters(path)["sort"]["items"]["enum"]


# -- queries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    conditions: list[Condition]
    sort: list[tuple[str, str]]
    page: int
    per_page: int
    params: list[tuple[str, str]]


@st.composite
def rfc3339(draw, instant: dt.datetime) -> str:
    """`instant` (naive UTC) written with some UTC offset, as a client might send it."""
    minutes = draw(st.sampled_from([0, 60, -300, 330, 765, -720, 840]))
    local = instant + dt.timedelta(minutes=minutes)
    written = local.isoformat(timespec=draw(st.sampled_from(["auto", "microseconds"])))
    if minutes == 0:
        return written + draw(st.sampled_from(["Z", "+00:00"]))
    sign = "+" if minutes > 0 else "-"
    return f"{written}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _or_one_of(random: st.SearchStrategy, candidates: list) -> st.SearchStrategy:
    """Mostly one of `candidates` (values that occur, so the filter matches), else `random`."""
    if not candidates:
        return random
    return st.sampled_from([True, True, False]).flatmap(
        lambda pick: st.sampled_from(candidates) if pick else random
    )


@st.composite
def filter_value(draw, schema: dict, op: str, seen: list):
    """(typed value, the strings to send) for one filter of this schema."""
    if schema.get("type") == "array":
        picked = draw(st.lists(filter_value(schema["items"], "eq", seen), min_size=1, max_size=3))
        return tuple(v for v, _ in picked), [s for _, sent in picked for s in sent]
    if schema.get("type") == "boolean":  # booleans, and x__is_null / x__not_null
        value = draw(st.booleans())
        return value, [draw(st.sampled_from([str(value).lower(), str(value)]))]
    if "enum" in schema:
        value = draw(st.sampled_from(schema["enum"]))
        return value, [value]
    if schema["type"] == "integer":
        low, high = schema.get("minimum", 0), schema.get("maximum", 2**63 - 1)
        near = [min(max(v + d, low), high) for v in seen for d in (-1, 0, 1)]
        value = draw(_or_one_of(st.integers(low, high), near))
        return value, [str(value)]
    if schema.get("format") == "date-time":
        steps = [dt.timedelta(0), dt.timedelta(microseconds=1), dt.timedelta(seconds=1)]
        near = [v + sign * d for v in seen for d in steps for sign in (1, -1)]
        value = draw(_or_one_of(instants(), near))
        return value, [draw(rfc3339(value))]
    if schema.get("format") == "uuid":
        value = draw(_or_one_of(st.uuids().map(str), seen))
        return value, [value]
    if op == "contains":
        # Pieces of stored values, some with the case of their letters swapped. Not deduplicated:
        # how many there are must depend on the values' lengths only (the scratch institution's
        # number in an identifier changes from run to run, and Hypothesis replays draws).
        pieces = [v[i:j] for v in seen for i in range(len(v)) for j in range(i + 1, len(v) + 1)]
        value = draw(_or_one_of(text(1, FILTER_CHARS), pieces))
        if draw(st.booleans()):
            value = value.swapcase()
        return value, [value]
    if op == "starts_with":
        prefixes = sorted({v[:n] for v in seen for n in range(1, len(v) + 1)})
        value = draw(_or_one_of(text(1, FILTER_CHARS), prefixes))
        return value, [value]
    value = draw(_or_one_of(text(1, FILTER_CHARS), [v for v in seen if v]))
    return value, [value]


@st.composite
def queries(
    draw, path: str, rows: list[dict], own_institution_id: int, pinned: dict | None = None
) -> Query:
    """Some of the spec's filters, a sort and a page, with values partly taken from `rows`.

    `pinned` maps further scope fields (e.g. alerts' `user_id`) to the caller's own value: like
    `institution_id`, naming anyone else's is a 403, tested elsewhere."""
    pinned = {"institution_id": own_institution_id, **(pinned or {})}
    declared = filter_parameters(path)
    # Mostly one or two filters: each added filter makes an empty answer likelier, and an
    # empty answer cannot show a filter or sort that keeps or orders rows wrongly.
    how_many = draw(st.sampled_from([0, 1, 1, 1, 2, 2, 3]))
    names = draw(
        st.lists(
            st.sampled_from(sorted(declared)), min_size=how_many, max_size=how_many, unique=True
        )
    )
    conditions, params = [], []
    for name in names:
        field, op = split(name)
        if field in pinned and op == "eq":  # another institution is a 403, tested elsewhere
            value, sent = pinned[field], [str(pinned[field])]
        else:
            seen = [r[field] for r in rows if r[field] is not None]
            value, sent = draw(filter_value(declared[name], op, seen))
        conditions.append(Condition(name, value))
        params += [(name, s) for s in sent]
    # At most three keys, and no more than the spec's maxItems (a longer list is a 400).
    most = min(3, query_parameters(path)["sort"].get("maxItems", 3))
    sort = draw(st.lists(st.sampled_from(sort_values(path)), max_size=most))
    params += [("sort", s) for s in sort]
    page, per_page = draw(st.none() | st.integers(1, 4)), draw(st.none() | st.integers(1, 8))
    params += [("page", str(page))] * (page is not None)
    params += [("per_page", str(per_page))] * (per_page is not None)
    return Query(
        conditions, [tuple(s.rsplit("__", 1)) for s in sort], page or 1, per_page or 20, params
    )
