"""Schemathesis hooks for lists: generated cursors, and exports' NDJSON.

1. A generated `cursor` becomes `*` (the first page) before the request goes out.

A cursor is a value the server gave out (models/storage/cursor.py): the spec can state its form
(`*`, or base64url after a form digit) and length, not which of those strings name a position
of a list. A random string of that form is "positive" data to Schemathesis, and the server
answers it 400 (`cursor` named), which `positive_data_acceptance` would count a failure. So a
generated cursor of the valid form is sent as `*`, the one such value the spec can promise:
the page is then checked like any first page. A cursor of an invalid form (negative data) goes
out as generated and must still be rejected. tests/test_cursor_paging.py covers real cursors,
followed page to page, and forged ones; the stateful runs follow `next` links that carry real
cursors once a `*` page was read.

2. An export's NDJSON answer (application/x-ndjson, declared as an array of the list's rows) is
deserialized line by line, so that `response_schema_conformance` checks every row.

Global hooks: the in-process runs load them from contract_tests/conftest.py, the live run from
contract_tests/live/hooks.py.
"""

from __future__ import annotations

import json
import re

import schemathesis

from models.storage.cursor import MAX_LENGTH, PATTERN

_VALID_FORM = re.compile(PATTERN)


@schemathesis.hook("before_call")
def first_page_for_generated_cursors(context, case, kwargs):
    cursor = (case.query or {}).get("cursor")
    if (
        isinstance(cursor, str)
        and cursor != "*"
        and len(cursor) <= MAX_LENGTH
        and _VALID_FORM.fullmatch(cursor)
    ):
        case.query = {**case.query, "cursor": "*"}


@schemathesis.deserializer("application/x-ndjson")
def ndjson_rows(ctx, response) -> list:
    return [json.loads(line) for line in response.content.decode("utf-8").splitlines() if line]
