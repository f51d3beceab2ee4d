"""Request ids, the request log and the request metrics: the outermost middleware of the pipeline.

`Observe` sees every request the app is given, whatever answers it (the fast reads,
Connexion's chain, a 404 for no route, the request limits' and the rate limiter's refusals):

- its **request id**: the client's `X-Request-ID` when it is sane (1 to 64 characters of
  `A-Z a-z 0-9 . _ ~ : / + = -`), else one made here (unique per process: a random prefix and
  a counter), echoed as `X-Request-ID` on every answer; held in a context variable for the
  request's duration, so every log line written meanwhile carries it (`RequestIdFilter`);
- **one log line** when the answer has been sent (logger `registry.access`, INFO): the method,
  the path, the operationId that answered (or the app's own route, or `-`), the status, the
  duration, the caller's e-mail once authenticated (registry/web/security.py notes it; never a
  key) and the worker's pid;
- the **request metrics** (registry/web/metrics.py): requests by operation and status, their
  latency, the requests in flight.

Which operation answered: the fast reads note theirs (`note_operation`); for Connexion's
chain, its routing says (registry/web/connexion_seam.py). HTTP refusals given by the HTTP
server itself before any app sees the request (414, 431, 408 for a request head,
registry/web/http_server.py) are neither logged nor counted here.

Log lines, these and every other, are JSON objects by default (REGISTRY_LOG_FORMAT=json), one
per line, or a human line (text); `configure_logging` installs the handler.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

from registry.web import connexion_seam, metrics
from registry.web.log_lines import LineHandler, write_all_waiting

log = logging.getLogger("registry.access")

HEADER = b"x-request-id"
SANE_ID = re.compile(rb"[A-Za-z0-9._~:/+=-]{1,64}")
# The app's own routes, outside both APIs, by name (requests of the APIs are named by their
# operationId).
OWN_ROUTES = {
    "/livez": "livez",
    "/readyz": "readyz",
    "/metrics": "metrics",
    "/openapi.json": "openapi",
    "/openapi.yaml": "openapi",
    "/admin-api/v3/openapi.json": "openapi",
    "/admin-api/v3/openapi.yaml": "openapi",
}
NO_OPERATION = "-"
LONGEST_PATH = 300  # characters of a path a log line keeps


class Request:
    """What the log line of one request says, filled in as the request is answered."""

    __slots__ = ("request_id", "operation", "user")

    def __init__(self, request_id: str):
        self.request_id = request_id
        self.operation: str | None = None
        self.user: str | None = None


CURRENT: ContextVar[Request | None] = ContextVar("registry_request", default=None)


def current_request_id() -> str | None:
    request = CURRENT.get()
    return None if request is None else request.request_id


def note_operation(operation_id: str) -> None:
    """The operation answering the current request (the fast reads say so)."""
    request = CURRENT.get()
    if request is not None:
        request.operation = operation_id


def answering_operation(scope) -> str | None:
    """The operationId answering the request in `scope`: the one the fast reads noted, else the
    one Connexion's routing found (None: no operation, e.g. a probe or a 404)."""
    request = CURRENT.get()
    if request is not None and request.operation is not None:
        return request.operation
    return connexion_seam.routed_operation_id(scope)


def note_caller(email: str) -> None:
    """The authenticated caller of the current request (never its key)."""
    request = CURRENT.get()
    if request is not None:
        request.user = email


_ids: tuple[int, str, itertools.count] | None = None  # (pid, prefix, counter)


def new_request_id() -> str:
    """Unique per process and, by its random prefix, across processes and restarts."""
    global _ids
    pid = os.getpid()
    if _ids is None or _ids[0] != pid:  # made again after a fork: no two workers share one
        _ids = (pid, os.urandom(6).hex(), itertools.count(1))
    return f"{_ids[1]}-{next(_ids[2]):x}"


def request_id_of(headers) -> str:
    for name, value in headers:
        if name == HEADER:
            if SANE_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return new_request_id()


class Observe:
    """Pure ASGI middleware, the outermost of the pipeline. `metrics` False: no request metrics
    (REGISTRY_METRICS=off), the request id and the log line only."""

    def __init__(self, app, metrics: bool = True):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, _writing_waiting_lines_at_shutdown(send))
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        began = time.perf_counter()
        request = Request(request_id_of(scope["headers"]))
        token = CURRENT.set(request)
        echoed = (HEADER, request.request_id.encode("ascii"))
        # Connexion's routing writes the operation it found into the scope's extensions; a
        # dict of the request's own, which the layers' copies of the scope share.
        if "extensions" not in scope:
            scope["extensions"] = {}
        status = 0
        record = self.metrics
        if record:
            metrics.IN_FLIGHT.inc()

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException as exc:
            # Cancelled: the client went away (nginx's 499); anything else answers 500.
            status = status or (499 if isinstance(exc, asyncio.CancelledError) else 500)
            raise
        finally:
            took = time.perf_counter() - began
            operation = (
                request.operation
                or connexion_seam.routed_operation_id(scope)
                or OWN_ROUTES.get(scope["path"], NO_OPERATION)
            )
            if record:
                metrics.IN_FLIGHT.dec()
                metrics.REQUEST_CHILDREN.get(operation, status).inc()
                metrics.LATENCY_CHILDREN.get(operation).observe(took)
            if log.isEnabledFor(logging.INFO):
                path = scope["path"]
                fields = {
                    "method": scope["method"],
                    "path": path if len(path) <= LONGEST_PATH else path[:LONGEST_PATH],
                    "operation": operation,
                    "status": status,
                    "duration_ms": round(took * 1000, 3),
                    "user": request.user,
                }
                if _direct is not None and _direct.usable():
                    _direct.write(request.request_id, fields)
                else:
                    log.info("request", extra={"http": fields})
            CURRENT.reset(token)


def _writing_waiting_lines_at_shutdown(send):
    """The lifespan's `send`, writing the request lines still waiting to be written with others
    when the server shuts down: its connections are closed by then, and a worker of gunicorn's
    may leave by the signal it was sent, without `atexit`."""

    async def sending(message):
        if message["type"].startswith("lifespan.shutdown."):
            write_all_waiting()
        await send(message)

    return sending


class DirectLine:
    """The request line given straight to the handler `configure_logging` installed, in its
    format, without a LogRecord: logging's record, caller lookup and formatter took ~25 us a
    line, ~10 % of a show (bench/results/2026-12-06-metrics-logs-cost.md). The same line, byte
    for byte, as that handler would write; used only while that handler is the root logger's
    only one and nothing but the root handles `registry.access` (else every line goes through
    logging, to whatever handlers are configured). The handler writes it, in a batch with
    others (registry/web/log_lines.py)."""

    def __init__(self, target: LineHandler):
        self.target = target
        self.formatter = target.formatter
        self.handlers = [target]
        self.access = logging.getLogger("registry.access")
        self.json = type(self.formatter) is JsonFormatter

    def usable(self) -> bool:
        """Whether logging would write the line to that one handler only."""
        return logging.root.handlers == self.handlers and not self.access.handlers

    def write(self, request_id: str, fields: dict) -> None:
        if self.json:
            line = orjson.dumps(
                json_line(time.time(), "INFO", "registry.access", "request", request_id, fields),
                option=orjson.OPT_APPEND_NEWLINE,
            )
        else:
            line = (self.formatter.format(_Line(request_id, fields)) + "\n").encode()
        self.target.write_line(line)


class _Line:
    """What the formatters read of a request line's record."""

    __slots__ = ("created", "request_id", "http", "process")
    levelname = "INFO"
    name = "registry.access"
    exc_info = None
    exc_text = None

    def __init__(self, request_id: str, fields: dict):
        self.created = time.time()
        self.request_id = request_id
        self.http = fields
        self.process = os.getpid()

    def getMessage(self):  # noqa: N802 - logging.LogRecord's name
        return "request"


_direct: DirectLine | None = None


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (None outside a request)."""

    def filter(self, record):
        record.request_id = current_request_id()
        return True


_second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text


def _timestamp(created: float) -> str:
    """`2026-12-06T04:23:54.264+00:00` (UTC); the second's text is made once a second."""
    global _second
    whole = int(created)
    if _second[0] != whole:
        _second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{int((created - whole) * 1000):03d}+00:00"


def json_line(created, level, logger, message, request_id, fields, pid=None) -> dict:
    """A JSON line's object, its keys in order; `fields`: a request's (or None)."""
    line = {
        "ts": _timestamp(created),
        "level": level,
        "logger": logger,
        "msg": message,
        "request_id": request_id,
        "pid": os.getpid() if pid is None else pid,
    }
    if fields is not None:
        line.update(fields)
    return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, pid; a request's line adds
    method, path, operation, status, duration_ms and user; an error adds its traceback (exc)."""

    def format(self, record):
        line = json_line(
            record.created,
            record.levelname,
            record.name,
            record.getMessage(),
            getattr(record, "request_id", None),
            getattr(record, "http", None),
            record.process,
        )
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    """A human line: `2026-12-06T04:30:00.123+00:00 INFO registry.access [request id] pid=7
    GET /path show_object 200 1.234ms user@example.edu`, a traceback below an error's."""

    def format(self, record):
        fields = getattr(record, "http", None)
        if fields is not None:
            message = (
                f"{fields['method']} {fields['path']} {fields['operation']} {fields['status']} "
                f"{fields['duration_ms']}ms {fields['user'] or '-'}"
            )
        else:
            message = record.getMessage()
        text = (
            f"{_timestamp(record.created)} {record.levelname} {record.name} "
            f"[{getattr(record, 'request_id', None) or '-'}] pid={record.process} {message}"
        )
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}


def handler(stream=None, log_format: str = "json", flush_ms: int = 0) -> LineHandler:
    """A handler writing `log_format` lines to `stream` (standard error), with request ids;
    request lines batched for up to `flush_ms` (registry/web/log_lines.py)."""
    made = LineHandler(stream if stream is not None else sys.stderr, flush_ms)
    made.setFormatter(FORMATTERS[log_format]())
    made.addFilter(RequestIdFilter())
    return made


def configure_logging(level: str, log_format: str, flush_ms: int = 0) -> None:
    """The root logger's level and handler (ours), unless another handler is installed already
    (a test runner's, a logging configuration of the operator's): then, as with
    `logging.basicConfig`, nothing is changed. `flush_ms`: how long a request line may wait
    to be written with others (REGISTRY_LOG_FLUSH_MS)."""
    root = logging.getLogger()
    global _direct
    ours = [h for h in root.handlers if getattr(h, "_registry", False)]
    if root.handlers and not ours:
        _direct = None
        return
    root.setLevel(level.upper())
    for old in ours:
        root.removeHandler(old)
        old.write_waiting()
    installed = handler(log_format=log_format, flush_ms=flush_ms)
    installed._registry = True  # ours: a later configure_logging replaces it
    root.addHandler(installed)
    access = logging.getLogger("registry.access")
    _direct = DirectLine(installed) if not access.handlers and access.propagate else None
