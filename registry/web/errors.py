"""One error vocabulary: every failure leaves as RFC 9457 application/problem+json.

- Parameter and body validation (registry/web/validation.py) names every offending parameter
  or field in `errors`.
- Domain errors raised by the data layer map to their status (400/403/404/409/422).
- Connexion's own problems (401, 404 no route, 405) keep their status, with our wording.
- A database that cannot serve answers 503 with Retry-After (registry/web/threads.py maps its
  errors to models.errors.Unavailable; one that escaped it is caught here), logged once per
  outage (registry/web/outage.py), not as a traceback.
- Anything unexpected is logged with its traceback and answers a problem+json 500: no internals
  leak.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from connexion.exceptions import ProblemException
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from models.errors import DomainError, clipped, quoted
from models.storage.db import unavailable
from registry.web import metrics, outage
from registry.web.responses import problem
from registry.web.threads import RETRY_AFTER_SECONDS

log = logging.getLogger("registry.web.errors")

CREDENTIALS_HINT = (
    "API credentials are missing or invalid: send X-Pharos-API-User (your e-mail) and "
    "X-Pharos-API-Key (your key), or Authorization: Bearer with a live token from "
    "POST /member-api/v3/login."
)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# The API a request path belongs to, and where that API shows a record of a collection.
ADMIN_PREFIX, MEMBER_PREFIX = "/admin-api/v3", "/member-api/v3"


def record_path(request_path: str, collection: str, record_id: int) -> str:
    """`/member-api/v3/items/show/123`: the record's show path in the API `request_path` is
    in (the admin API's own for an admin request)."""
    prefix = ADMIN_PREFIX if request_path.startswith(ADMIN_PREFIX + "/") else MEMBER_PREFIX
    return f"{prefix}/{collection}/show/{record_id}"


async def domain_error(request, exc: DomainError):
    members = None
    existing = getattr(exc, "existing", None)
    if existing is not None:
        collection, record_id = existing
        members = {
            "existing_id": record_id,
            "existing": record_path(request.url.path, collection, record_id),
        }
    return problem(
        exc.status,
        exc.title,
        exc.detail,
        instance=request.url.path,
        errors=exc.errors,
        headers=exc.headers() or None,
        members=members,
    )


async def problem_error(request, exc: ProblemException):
    status = exc.status
    detail = exc.detail or _title(status)
    if status == 401:
        detail = CREDENTIALS_HINT
    if status == 415:  # Connexion's detail repeats the whole Content-Type
        detail = (
            f"Content-Type {quoted(request.headers.get('content-type', ''))} is not "
            f"accepted: send application/json"
        )
    errors = (exc.ext or {}).get("errors")
    return problem(
        status,
        exc.title or _title(status),
        detail,
        instance=request.url.path,
        errors=errors,
        headers=exc.headers,
    )


def http_error_handler(allowed_methods=None):
    """Starlette's HTTP errors (404 no route, 405) as problems. A 405's `Allow` names every
    method of the path when `allowed_methods` (path -> methods) is given: Starlette's own
    lists only those of the first operation that matched (see registry/web/allowed_methods.py)."""

    async def http_error(request, exc: HTTPException):
        status = exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail else _title(status)
        headers = dict(getattr(exc, "headers", None) or {})
        if status == 404:
            detail = f"No operation at {clipped(request.url.path)}"
        if status == 405 and allowed_methods is not None:
            methods = allowed_methods(request.url.path)
            if methods:
                headers = {k: v for k, v in headers.items() if k.lower() != "allow"}
                headers["Allow"] = ", ".join(methods)
        return problem(
            status, _title(status), detail, instance=request.url.path, headers=headers or None
        )

    return http_error


async def client_disconnected(request, exc: ClientDisconnect):
    """The client went away before its body was read (a load driver stopping, a timeout): not
    a server fault, so no traceback in the error log. Nobody receives the answer; the access
    log shows 400."""
    log.info("client disconnected before %s %s was read", request.method, request.url.path)
    return problem(
        400,
        "Bad Request",
        "The client disconnected before sending its request.",
        instance=request.url.path,
    )


async def unexpected_error(request, exc: Exception):
    reason = unavailable(exc)
    if reason is not None:  # database work that did not go through registry.web.threads
        outage.refused(f"{reason.kind} ({reason.message})", metrics.db_error_kind(reason.kind))
        again = (
            f"Send it again after {RETRY_AFTER_SECONDS} s."
            if request.method in ("GET", "HEAD")
            else "It may or may not have been written: read the record before sending it again."
        )
        return problem(
            503,
            "Service Unavailable",
            f"The database cannot serve now: {reason.kind}. {again}",
            instance=request.url.path,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        500,
        "Internal Server Error",
        "The server failed to answer this request; it has been logged.",
        instance=request.url.path,
    )


def handlers(allowed_methods=None) -> dict:
    """The app's error handlers by exception class: the chain's exception middleware and the
    fast reads (registry/web/fast_reads.py) answer with these same ones."""
    return {
        DomainError: domain_error,
        ProblemException: problem_error,
        HTTPException: http_error_handler(allowed_methods),
        ClientDisconnect: client_disconnected,
        Exception: unexpected_error,
    }


def handler_for(table: dict, exc: Exception):
    """The handler of `table` for `exc`: that of its nearest class, as Starlette looks one up."""
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    return None


def install(app, table: dict) -> None:
    for exc_class, handler in table.items():
        app.add_error_handler(exc_class, handler)
