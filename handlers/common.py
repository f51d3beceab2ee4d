"""The two shapes every resource shares: a page of a list, and one record."""
from __future__ import annotations

from urllib.parse import urlencode

from connexion.context import request as current_request

from models.caller import Caller
from registry.errors import PARSED_BODY
from models.query import Listing, Page
from registry.responses import json_response
from registry.threads import run_read


def page_link(page: Page, number: int) -> str:
    """The request's own path and query with `page` and `per_page` replaced, keys sorted."""
    request = current_request._get_current_object()  # the proxy builds a request per access
    items = [(k, v) for k, v in request.query_params.multi_items()
             if k not in ("page", "per_page")]
    items += [("page", str(number)), ("per_page", str(page.per_page))]
    items.sort(key=lambda kv: kv[0])  # stable: repeated keys keep their order
    return f"{request.url.path}?{urlencode(items)}"


def envelope(page: Page) -> dict:
    has_next = page.count > (page.page - 1) * page.per_page + len(page.rows)
    return {
        "count": page.count,
        "next": page_link(page, page.page + 1) if has_next else None,
        "previous": page_link(page, page.page - 1) if page.page > 1 else None,
        "results": page.rows,
    }


async def list_response(listing: Listing, caller: Caller, params: dict):
    page = await run_read(listing.list, caller, params)
    return json_response(envelope(page))


async def show_response(fetch, caller: Caller, key: str):
    return json_response(await run_read(fetch, caller, key))


async def request_body():
    """The JSON body as the body validator parsed (and validated) it; parsed again only if the
    validator did not run. For handlers of large bodies: a `body` argument would make Connexion
    parse the request a second time, with the slower json module."""
    scope = current_request.scope
    if PARSED_BODY in scope:
        return scope[PARSED_BODY]
    return await current_request.json()
