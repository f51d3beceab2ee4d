"""Streamed exports: every row a list would page through, in one answer, NDJSON or CSV.

The rows are read in batches of BATCH_ROWS, each a keyset query after the last row of the one
before (models/storage/query.py `Listing.export`), each on a database thread of its own and
released before the next: memory stays at one batch whatever the size of the export, no
statement runs long, and no transaction stays open while a slow client reads. So the export
is not one snapshot: a row written while it runs is in it if it sorts after the rows sent so
far, and a row whose sort keys change while it runs may be sent twice or not at all (README,
"Export"). Starlette stops the stream when the client goes away (uvicorn's ASGI spec 2.3: it
listens for the disconnect): the batch in flight finishes and no other starts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import orjson
from starlette.responses import StreamingResponse

from models.caller import Caller
from models.errors import NotAcceptable
from models.file_views import FILES
from models.intellectual_object import OBJECTS
from models.premis_event import EVENTS
from models.storage.query import Export, Listing
from models.work_item import ITEMS
from registry.web.binding import RequestTarget
from registry.web.qvalues import weighted
from registry.web.responses import OPTIONS
from registry.web.threads import run_read

BATCH_ROWS = 1000
LINE = OPTIONS | orjson.OPT_APPEND_NEWLINE  # one NDJSON line: RFC 3339 instants, then "\n"
NDJSON, CSV = "application/x-ndjson", "text/csv"
FORMATS = {"ndjson": NDJSON, "csv": CSV}


async def export_objects(caller, target, **params):
    return await export_response(OBJECTS, caller, params, target)


async def export_files(caller, target, **params):
    return await export_response(FILES, caller, params, target)


async def export_items(caller, target, **params):
    return await export_response(ITEMS, caller, params, target)


async def export_events(caller, target, **params):
    return await export_response(EVENTS, caller, params, target)


async def export_response(
    listing: Listing, caller: Caller, params: dict, target: RequestTarget
) -> StreamingResponse:
    """The stream, once the request is known to be good and the first batch is read: a bad
    filter answers 400, and a database that cannot serve 503, before the 200 begins."""
    media_type = chosen_media_type(params.pop("format", None), target.header(b"accept"))
    export = listing.export(caller, params)
    encode = ndjson_batch if media_type == NDJSON else csv_batch
    first = await run_read(encode, export, None, long=True)
    head = csv_header(export.columns) if media_type == CSV else b""
    charset = "; charset=utf-8" if media_type == CSV else ""
    # Its own Cache-Control: a stream is not tagged (registry/web/conditional.py), nor stored.
    return StreamingResponse(
        chunks(export, encode, head, first),
        media_type=media_type + charset,
        headers={"Cache-Control": "no-store"},
    )


def chosen_media_type(format_: str | None, accept: str | None) -> str:
    """`format` if sent, else the first of NDJSON and CSV that `Accept` takes (by q-value, then
    NDJSON), NDJSON when `Accept` is absent or takes anything."""
    if format_:
        return FORMATS[format_]
    if not accept:
        return NDJSON
    weights: dict[str, float] = {}
    for media, q in weighted(accept):
        for offered in (NDJSON, CSV):
            kind = offered.split("/")[0]
            if media in (offered, f"{kind}/*", "*/*"):
                weights[offered] = max(weights.get(offered, 0.0), q)
    best = max((NDJSON, CSV), key=lambda offered: weights.get(offered, 0.0))
    if weights.get(best, 0.0) <= 0:
        raise NotAcceptable(
            f"An export is sent as {NDJSON} or {CSV}; Accept allows neither",
            errors=[{"name": "Accept", "in": "header", "message": "allows neither format"}],
        )
    return best


async def chunks(export: Export, encode, head: bytes, first: tuple):
    """The body: `head`, then each batch as its bytes. Each batch is read and serialised in a
    database thread (`run_read(..., long=True)`): the loop only passes bytes on, and serves
    the worker's other requests meanwhile."""
    body, after = first
    if head or body:
        yield head + body
    while after is not None:
        body, after = await run_read(encode, export, after, long=True)
        if body:
            yield body


def ndjson_batch(export: Export, after: list | None) -> tuple[bytes, list | None]:
    """The batch after `after` as NDJSON, and the keyset after its last row (None: the end)."""
    rows = export.batch(after, BATCH_ROWS)
    body = b"".join([dumps_line(row) for row in rows])
    return body, _next(export, rows)


def csv_batch(export: Export, after: list | None) -> tuple[bytes, list | None]:
    """The batch after `after` as CSV rows: NULL as an empty field, booleans as true/false,
    instants in RFC 3339 (as the JSON answers write them)."""
    rows = export.batch(after, BATCH_ROWS)
    columns = export.columns
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(
        [_csv_field(row[name]) for name in columns] for row in rows
    )
    return text.getvalue().encode(), _next(export, rows)


def csv_header(columns: list[str]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerow(columns)
    return text.getvalue().encode()


def _next(export: Export, rows: list[dict]) -> list | None:
    return export.after(rows[-1]) if len(rows) == BATCH_ROWS else None


def dumps_line(row: dict) -> bytes:
    return orjson.dumps(row, option=LINE)


def _csv_field(value):
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat() + "Z"  # naive UTC, as responses.dumps writes it
    return value
