"""Opaque list cursors: where a page ended, so the next one starts there (keyset paging).

A cursor holds what the list engine (models/storage/query.py) needs to read the rows after a
page's last row: that row's values of the sort keys (the tiebreaker `id` included), and a
signature of the list and sort it was made for. Paging by cursor costs the same on page 10,000
as on page 1 (an index seek, where `page=` reads and drops every row before the page), and a row
written while a client pages is neither seen twice nor skipped because earlier rows moved.

The form is `1` (plain) or `2` (zlib, for long values) and base64url (no padding) of the JSON
`[signature, [values]]`. It is opaque to clients but not secret: it holds nothing the page did
not show, and a forged one can only name another position of a list the caller may read anyway.
`*` asks for the first page. Whatever a client sends is checked before any SQL is built: its
size (the spec's maxLength), its decompressed size, its shape, and each value against its
column's type (text without NUL, 64-bit integers), so that no cursor reaches the database as a
value it would refuse.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Sequence

import orjson

from models.errors import InvalidInput

START = "*"
# The spec's maxLength of the `cursor` parameter; a cursor made longer than this (many long
# text sort keys) is refused when sent back, so `encode` must keep below it.
MAX_LENGTH = 16384
PATTERN = r"^(\*|[12][A-Za-z0-9_-]+)$"  # the spec's pattern of the `cursor` parameter
_COMPRESS_ABOVE = 256  # bytes of JSON: shorter ones are not worth zlib's header
_MAX_JSON = 64 * 1024


def encode(signature: str, values: Sequence) -> str:
    """The cursor of the page after the row whose sort-key values are `values`."""
    payload = orjson.dumps(
        [signature, list(values)],
        option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z,
    )
    form = b"1"
    if len(payload) > _COMPRESS_ABOVE:
        form, payload = b"2", zlib.compress(payload, 9)
    return (form + base64.urlsafe_b64encode(payload).rstrip(b"=")).decode("ascii")


def decode(raw: str, signature: str, width: int) -> list | None:
    """The `width` sort-key values a cursor holds, as JSON values (the list engine checks their
    types), or None for `*` (the first page). InvalidInput, naming `cursor`, for anything else."""
    if raw == START:
        return None
    try:
        form, data = raw[:1], base64.urlsafe_b64decode(raw[1:] + "=" * (-len(raw[1:]) % 4))
        if form == "2":
            inflate = zlib.decompressobj()
            data = inflate.decompress(data, _MAX_JSON)
            if inflate.unconsumed_tail or not inflate.eof:
                raise ValueError("too long")
        elif form != "1":
            raise ValueError("unknown form")
        made_for, values = orjson.loads(data)
    except (ValueError, TypeError, binascii.Error, zlib.error, orjson.JSONDecodeError):
        raise invalid("is not a cursor this server gave out") from None
    if made_for != signature:
        raise invalid("was given out for another list or sort order; start again with cursor=*")
    if not isinstance(values, list) or len(values) != width:
        raise invalid("is not a cursor this server gave out")
    return values


def invalid(why: str = "is not a cursor this server gave out") -> InvalidInput:
    return InvalidInput(
        f"Invalid query parameter: cursor {why}",
        errors=[{"name": "cursor", "in": "query", "message": why}],
    )
