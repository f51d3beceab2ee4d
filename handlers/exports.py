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

from starlette.responses import StreamingResponse

from models.caller import Caller
from models.errors import NotAcceptable
from models.file_views import FILES
from models.intellectual_object import OBJECTS
from models.premis_event import EVENTS
from models.storage.query import Export, Listing
from models.work_item import ITEMS
from registry.web.binding import RequestTarget
from registry.web.responses import dumps
from registry.web.threads import run_read

BATCH_ROWS = 1000
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
    first = await run_read(export.batch, None, BATCH_ROWS)
    rows = batches(export, first)
    body = ndjson_lines(rows) if media_type == NDJSON else csv_lines(export.columns, rows)
    charset = "; charset=utf-8" if media_type == CSV else ""
    # Its own Cache-Control: a stream is not tagged (registry/web/conditional.py), nor stored.
    return StreamingResponse(
        body, media_type=media_type + charset, headers={"Cache-Control": "no-store"}
    )


def chosen_media_type(format_: str | None, accept: str | None) -> str:
    """`format` if sent, else the first of NDJSON and CSV that `Accept` takes (by q-value, then
    NDJSON), NDJSON when `Accept` is absent or takes anything."""
    if format_:
        return FORMATS[format_]
    if not accept:
        return NDJSON
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, _, rest = part.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        for parameter in rest.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
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


async def batches(export: Export, rows: list[dict]):
    """The export's rows, one batch (a list of row dicts) at a time, from the first (`rows`)."""
    while True:
        if rows:
            yield rows
        if len(rows) < BATCH_ROWS:
            return
        rows = await run_read(export.batch, export.after(rows[-1]), BATCH_ROWS)


async def ndjson_lines(batches):
    async for rows in batches:
        yield b"\n".join(map(dumps, rows)) + b"\n"


async def csv_lines(columns: list[str], batches):
    """A header row of the column names, then one row per record: NULL as an empty field,
    booleans as true/false, instants in RFC 3339 (as the JSON answers write them)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(columns)
    yield text.getvalue().encode()
    async for rows in batches:
        text.seek(0)
        text.truncate()
        writer.writerows([_csv_field(row[name]) for name in columns] for row in rows)
        yield text.getvalue().encode()


def _csv_field(value):
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat() + "Z"  # naive UTC, as responses.dumps writes it
    return value
