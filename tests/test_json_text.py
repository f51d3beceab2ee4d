"""registry/web/json_text.py, told from bytes, agrees with the parsed value for any JSON
(Hypothesis draws them, with brackets, quotes, commas and backslashes inside strings): the depth
(`deeper_than`) and the items of a top array (`top_level_items`); and answers the shapes an
attacker sends in well under a second."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.web import json_text
from registry.web.json_text import ROUNDS, deeper_than, top_level_items


def depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


TRICKY_TEXT = st.text(alphabet='[]{}"\\,:ab \u00e9', max_size=8)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(TRICKY_TEXT, children, max_size=4)
    ),
    max_leaves=60,
)


def texts(value) -> list[bytes]:
    return [json.dumps(value).encode(), json.dumps(value, indent=1, ensure_ascii=False).encode()]


# Each property holds with the text worked on whole, and a few bytes at a time (a large body is
# worked on in pieces, json_text.PIECE bytes each: every place a piece can end is tried).
PIECES = [json_text.PIECE, 3, 7]


@pytest.mark.parametrize("piece", PIECES)
def test_deeper_than_agrees_with_the_parsed_depth(piece):
    @settings(max_examples=150, deadline=None)
    @given(value=JSON, limit=st.integers(1, ROUNDS + 6))
    def agrees(value, limit):
        for text in texts(value):
            assert deeper_than(text, limit) == (depth(value) > limit), (text, limit)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_text, "PIECE", piece)
        agrees()


@pytest.mark.parametrize("piece", PIECES)
def test_top_level_items_counts_the_items_of_an_array(piece):
    @settings(max_examples=80, deadline=None)
    @given(items=st.lists(JSON, max_size=12))
    def counts(items):
        for text in texts(items):
            assert top_level_items(text) == max(len(items), 1), text
        assert top_level_items(json.dumps({"a": items}).encode()) == 0

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_text, "PIECE", piece)
        counts()


def test_brackets_inside_strings_do_not_nest():
    raw = json.dumps({"a": "[[[[[[[[[[", 'b\\"[[[': ["]]]]", "\\"]}).encode()
    assert not deeper_than(raw, 2)
    assert deeper_than(raw, 1)


def subtree(height: int) -> bytes:
    return b"[" * height + b"]" * height


def test_deep_shapes_are_answered_quickly():
    """Nesting built so that no long run of openers shows at first (each level's opener is
    followed by a closed subtree), as well as the plain runs: about 6 MB each."""
    shapes = [
        b"[" * 3_000_000 + b"]" * 3_000_000,
        b'[{"a":' * 1_000_000 + b"1" + b"}]" * 1_000_000,
        (b"[" + subtree(31)) * 95_000 + b"]" * 95_000,
        (b"[" + subtree(ROUNDS + 1)) * 300_000 + b"]" * 300_000,
    ]
    for raw in shapes:
        started = time.perf_counter()
        assert deeper_than(raw, 32)
        assert time.perf_counter() - started < 5, len(raw)
    wide = b"[" + b"{}," * 3_000_000 + b"{}]"
    started = time.perf_counter()
    assert not deeper_than(wide, 32)
    assert top_level_items(wide) == 3_000_001
    assert time.perf_counter() - started < 5
