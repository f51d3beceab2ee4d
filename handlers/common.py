"""The two shapes every resource shares: a page of a list, and one record."""

from __future__ import annotations

from operator import itemgetter
from urllib.parse import parse_qsl, urlencode

from models.caller import Caller
from models.storage.query import Listing, Page
from registry.web.binding import RequestTarget
from registry.web.responses import json_response
from registry.web.threads import run_read


def page_links(page: Page, target: RequestTarget) -> tuple[str, str]:
    """The next and previous links: the request's own path and query with `page` and
    `per_page` (the effective one) replaced, keys sorted (repeated keys keep their order), or
    "" at either end: the reference server's wire form, which its clients test for
    (`next == ""`); a `while next:` loop stops on it too.

    Paged by cursor, `next` carries the next page's `cursor` (and no `page`) and `previous` is
    always "": cursors go forward only.

    Read from the request target (registry/web/binding.py) as Starlette would parse it, once for
    both links: building a request object (and its URL) per link cost more than the rest of a
    page's envelope.
    """
    if page.cursored:
        has_next, has_previous = page.after is not None, False
    else:
        has_next = page.count > (page.page - 1) * page.per_page + len(page.rows)
        has_previous = page.page > 1
    if not (has_next or has_previous):
        return "", ""
    kept = [
        (k, v)
        for k, v in parse_qsl(target.query_string.decode("latin-1"), keep_blank_values=True)
        if k not in ("page", "per_page", "cursor")
    ]
    path = target.path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")

    def link(position: tuple[str, str]) -> str:
        items = kept + [position, ("per_page", str(page.per_page))]
        items.sort(key=itemgetter(0))
        return f"{path}?{urlencode(items)}"

    if page.cursored:
        return link(("cursor", page.after)), ""
    return (
        link(("page", str(page.page + 1))) if has_next else "",
        link(("page", str(page.page - 1))) if has_previous else "",
    )


def envelope(page: Page, target: RequestTarget) -> dict:
    next_link, previous_link = page_links(page, target)
    return {"count": page.count, "next": next_link, "previous": previous_link, "results": page.rows}


async def list_response(listing: Listing, caller: Caller, params: dict, target: RequestTarget):
    page = await run_read(listing.list, caller, params)
    return json_response(envelope(page, target))


async def show_response(fetch, caller: Caller, key: str):
    return json_response(await run_read(fetch, caller, key))
