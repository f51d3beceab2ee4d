"""What the bytes of a JSON text tell before it is parsed: how deep it nests, and how many items
an array has at its top.

JSON nested deeper than ~1,000 levels made the standard library's parser (and any recursive walk
of the parsed value) raise RecursionError: a 500 for 2 KB of brackets. A body nested deeper
than the limit (`REGISTRY_MAX_JSON_DEPTH`) is refused before any parser sees it. And a batch
with more items than its `maxItems` is refused unparsed: parsed, 9 MB of empty objects took
250 MB of memory and a second of CPU.

The text is reduced with bytes operations, not a Python loop over its characters (~30 ms for a
7 MB batch): escapes and everything but quotes, brackets (and commas) are dropped, then strings
(a bracket inside one does not nest); braces count as brackets.

- Depth: a few times, every innermost `[]` goes (one level less each time): a usual body, a few
  levels deep, is gone by then. A run of more openers than the levels left says "deeper" at
  once. What is left of an unusual text is measured run by run (a run of openers takes the
  depth up by its length).
- Items: the arrays and objects inside the top array go, innermost first (as many rounds as the
  text is deep, which the depth check has bounded); the commas left separate its items.
"""

from __future__ import annotations

import re
from itertools import accumulate, chain, zip_longest
from operator import neg

# Every byte but the quote and the four brackets (and the comma) is dropped; braces become
# brackets.
_OTHER_BYTES = bytes(range(256)).translate(None, b'"[]{}')
_OTHER_BYTES_BUT_COMMAS = bytes(range(256)).translate(None, b'"[]{},')
_BRACES = bytes.maketrans(b"{}", b"[]")
_RUNS = re.compile(rb"\[+|\]+")
_INNERMOST = re.compile(rb"\[[^\[\]]*\]")
_ARRAY = re.compile(rb"[ \t\r\n]*\[")
ROUNDS = 8
# Bytes one operation works on at a time, and runs measured per step (an even number): the
# thread running this (registry/web/validation.py's body thread) holds the interpreter for the
# length of one operation, so between two the worker's event loop gets its turn.
PIECE = 1 << 20
RUNS_AT_ONCE = 1 << 16


def deeper_than(raw: bytes, limit: int) -> bool:
    """Whether the JSON text `raw` nests arrays and objects more than `limit` levels deep. A
    text that is not JSON may be answered either way; its parser refuses it."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    text = _brackets(raw)
    for _ in range(ROUNDS):
        if not text:
            return False
        if b"[" * (limit + 1) in text:
            return True
        reduced = _piecewise(text, _drop_pairs, b"[")  # one level less everywhere
        if len(reduced) == len(text):  # brackets that do not pair: not JSON
            return False
        text, limit = reduced, limit - 1
        if limit < 0:
            return bool(text)
    if not text or not text.startswith(b"["):
        return False
    runs = _RUNS.findall(text)  # openers, closers, openers, ...
    depth = 0
    for start in range(0, len(runs), RUNS_AT_ONCE):  # a slice starts with openers
        part = runs[start : start + RUNS_AT_ONCE]
        steps = zip_longest(map(len, part[0::2]), map(neg, map(len, part[1::2])), fillvalue=0)
        profile = list(accumulate(chain.from_iterable(steps), initial=depth))
        if max(profile) > limit:
            return True
        depth = profile[-1]
    return False


def top_level_items(raw: bytes) -> int:
    """How many items the JSON text `raw` has in its top array (1 for `[]`; 0 for a text that
    is no array). Only for a text the depth check has passed: it takes a round per level."""
    if not _ARRAY.match(raw):
        return 0
    text = _brackets(raw, _OTHER_BYTES_BUT_COMMAS)
    if not (text.startswith(b"[") and text.endswith(b"]")):
        return 0
    inner = text[1:-1]
    while b"[" in inner:
        reduced = _piecewise(inner, _drop_pairs, b"[")  # empty ones first: no pattern to match
        if b"[" in reduced:
            reduced = _piecewise(reduced, _drop_innermost, b"[")
        if len(reduced) == len(inner):  # brackets that do not pair: not JSON
            return 0
        inner = reduced
    return inner.count(b",") + 1


def _brackets(raw: bytes, others: bytes = _OTHER_BYTES) -> bytes:
    """The brackets of `raw` that are not inside a string (and its commas, when `others` keeps
    them), braces written as brackets."""
    text = raw
    if b"\\" in text:  # escaped backslashes first, then escaped quotes: neither ends a string
        # (no piece ends inside an escape: a comma, before which a piece ends, is never escaped)
        text = _piecewise(text, _drop_escapes, b",")
    # A string without brackets is left as `""`, and goes; a pair of quotes that ends one
    # string and starts the next only joins the two.
    text = _piecewise(text, lambda piece: piece.translate(None, others).replace(b'""', b""))
    if b'"' in text:  # strings that hold brackets: what lies between quotes goes
        text = b"".join(text.split(b'"')[::2])
    return _piecewise(text, lambda piece: piece.translate(_BRACES))


def _drop_pairs(text: bytes) -> bytes:
    return text.replace(b"[]", b"")


def _drop_innermost(text: bytes) -> bytes:
    return _INNERMOST.sub(b"", text)


def _drop_escapes(text: bytes) -> bytes:
    return text.replace(b"\\\\", b"").replace(b'\\"', b"")


def _piecewise(text: bytes, operation, cut: bytes | None = None) -> bytes:
    """`operation(text)`, done PIECE bytes at a time. With `cut`, each piece but the last ends
    just before a `cut` byte, where no match of the operation can span two pieces (a pair
    `[]`, or an innermost array, begins with `[`; a piece ending before `[` cuts neither)."""
    if len(text) <= PIECE:
        return operation(text)
    pieces, start = [], 0
    while start < len(text):
        end = start + PIECE
        if cut is not None and end < len(text):
            found = text.find(cut, end)
            end = len(text) if found < 0 else found
        pieces.append(operation(text[start:end]))
        start = end
    return b"".join(pieces)
