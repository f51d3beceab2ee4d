"""Registry's HTTP server: uvicorn's httptools protocol, holding a request's head to limits.

uvicorn (0.55) puts no bound on a request head: it collects the request line and every header
whole before the app sees any of it (a 100 MB header cost 12 s of a worker's CPU), and it gives
a connection no time limit until its first request has been answered (4,000 connections that
sent half a header were held for good). gunicorn's `limit_request_line`, `limit_request_fields`
and `limit_request_field_size` apply to gunicorn's own parser only, never to a uvicorn worker's
(tests/test_hostile_limits.py shows each passes). So the protocol here checks, while the head
is being read:

- the request target (path and query) against `max_request_line`: 414;
- the header fields against `max_headers` and `max_header_bytes` (names and values): 431; the
  parser is never fed more head bytes than those limits allow, so one huge header is cut off
  as soon as it passes them, not once it has been collected;
- the time a head may take, `header_timeout`, counted from when the connection opened or the
  previous answer was sent: a head begun and not finished answers 408; a connection that sent
  nothing (or is still sending a body that was answered without being read) is closed.

A body answered without being read (a refused one, one where the spec declares none) is read
on and dropped, so that the client, which sends its whole body before it reads the answer,
gets that answer; at most `max_batch_body_bytes` are dropped, then the connection is closed.
A request the parser refuses gets a problem+json 400 instead of uvicorn's text.

`registry serve` runs this protocol: with `--workers`, gunicorn runs `Worker` (uvicorn-worker's
UvicornWorker with this protocol); without, uvicorn runs it directly.
"""

from __future__ import annotations

import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from registry.settings import Limits, Settings
from registry.web.limits import TITLES
from registry.web.pipeline import SECURITY_HEADERS
from registry.web.responses import dumps

log = logging.getLogger(__name__)


def problem_bytes(status: int, detail: str, default_headers=()) -> bytes:
    """A whole HTTP/1.1 problem+json answer that closes the connection."""
    title = TITLES[status]
    body = dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    lines = [f"HTTP/1.1 {status} {title}".encode()]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [
        b"content-type: application/problem+json",
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
    ]
    lines += [name + b": " + value for name, value in SECURITY_HEADERS]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of the module docstring."""

    limits: Limits = Limits()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limits = self.limits
        # The head bytes the parser may be fed: the target, the fields, and their framing
        # (the method and version, ": " and CRLF around each field).
        self.head_room = (
            limits.max_request_line + limits.max_header_bytes + 4 * limits.max_headers + 64
        )
        self.reading_head = True  # the bytes coming are (part of) a request head
        self.head_bytes = 0
        self.header_count = 0
        self.header_bytes = 0
        self.dropped = 0  # body bytes read and dropped after their request was answered
        self.refused = False
        self.head_timer = None

    # The head timer.

    def arm_head_timer(self) -> None:
        self.disarm_head_timer()
        self.head_timer = self.loop.call_later(self.limits.header_timeout, self.head_timed_out)

    def disarm_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing() or (
            self.cycle is not None and not self.cycle.response_complete
        ):
            return
        if self.reading_head and self.head_bytes:
            self.refuse(
                408,
                f"The request line and headers did not arrive within "
                f"{self.limits.header_timeout:g} seconds.",
            )
        else:  # idle, or still sending a body that was answered
            self.transport.close()

    def refuse(self, status: int, detail: str) -> None:
        """Answer `status` and close: the request's head is not read any further."""
        self.refused = True
        self.disarm_head_timer()
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.info("%s: %d %s", client, status, detail)
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(problem_bytes(status, detail, self.server_state.default_headers))
        # else: a pipelined request's head, behind an answer still being sent: no room for
        # a second answer on this connection.
        self.transport.close()

    # asyncio.Protocol

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.arm_head_timer()

    def connection_lost(self, exc) -> None:
        self.disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        while self.reading_head and data:
            room = self.head_room - self.head_bytes
            if room <= 0:
                return self.refuse(
                    431,
                    f"The request's header fields are larger than "
                    f"{self.limits.max_header_bytes} bytes.",
                )
            piece, data = data[:room], data[room:]
            self.head_bytes += len(piece)
            super().data_received(piece)
            if self.refused or self.transport.is_closing():
                return
        if data:
            super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        if self.refused:
            return
        self.refused = True
        self.transport.write(
            problem_bytes(
                400, "The request is not valid HTTP/1.1.", self.server_state.default_headers
            )
        )
        self.transport.close()

    # httptools' parser callbacks

    def on_message_begin(self) -> None:
        self.header_count = self.header_bytes = self.dropped = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        if self.refused:
            return
        super().on_url(url)
        if len(self.url) > self.limits.max_request_line:
            self.refuse(
                414,
                f"The request target (path and query) is longer than "
                f"{self.limits.max_request_line} bytes.",
            )

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.refused:
            return
        self.header_count += 1
        self.header_bytes += len(name) + len(value)
        if self.header_count > self.limits.max_headers:
            return self.refuse(
                431, f"The request has more than {self.limits.max_headers} header fields."
            )
        if self.header_bytes > self.limits.max_header_bytes:
            return self.refuse(
                431,
                f"The request's header fields are larger than "
                f"{self.limits.max_header_bytes} bytes.",
            )
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self.refused:
            return
        self.reading_head = False
        self.disarm_head_timer()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self.refused:
            return
        if self.cycle.response_complete:  # answered without being read: dropped
            self.dropped += len(body)
            if self.dropped > self.limits.max_batch_body_bytes:
                self.refused = True
                self.transport.close()
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self.refused:
            return
        self.reading_head = True
        self.head_bytes = 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self.arm_head_timer()  # for the next request's head (or the rest of this body)


def protocol_class(limits: Limits) -> type[LimitedHttpToolsProtocol]:
    """The protocol class with `limits` (uvicorn makes one protocol per connection)."""
    return type("LimitedHttpToolsProtocol", (LimitedHttpToolsProtocol,), {"limits": limits})


class Worker(UvicornWorker):
    """gunicorn's uvicorn worker, serving with LimitedHttpToolsProtocol and the limits of the
    environment (registry.settings)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.config.http = protocol_class(Settings.from_env().limits)
