"""Registry's HTTP server (registry/web/http_server.py): the limits of a request's head, held while
the head is read, and what happens to a body answered without being read.

A uvicorn server with LimitedHttpToolsProtocol and small limits runs in a thread of this
process around an app that counts its calls; the tests talk to it over sockets. The last test
shows why the protocol is needed: gunicorn's own limits do not reach a uvicorn worker.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

import httpx
import pytest
import uvicorn

from registry.settings import Limits
from registry.web.http_server import protocol_class
from tests.live_server import free_port

LIMITS = Limits(
    max_request_line=200,
    max_header_bytes=500,
    max_headers=10,
    header_timeout=0.5,
    max_batch_body_bytes=10_000,
)
CALLS = []


async def app(scope, receive, send):
    """Answers `ok`; reads the body only at /read."""
    if scope["type"] != "http":
        return
    CALLS.append(scope["path"])
    if scope["path"] == "/read":
        while (await receive()).get("more_body"):
            pass
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(scope="module")
def port():
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            http=protocol_class(LIMITS),
        )
    )
    thread = threading.Thread(target=asyncio.run, args=(server.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(10)


def connect(port) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


# What was received on a socket after the answer last read from it (two pipelined answers may
# arrive in one segment).
RECEIVED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def answer(sock) -> tuple[int, dict, bytes]:
    """The next answer on `sock`: status, headers, body (by its Content-Length)."""
    data = RECEIVED.pop(sock, b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed without an answer: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    length = int(headers.get("content-length", 0))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, f"closed in the middle of an answer: {data!r}"
        rest += chunk
    RECEIVED[sock] = rest[length:]
    return int(lines[0].split()[1]), headers, rest[:length]


def ask(port, raw: bytes) -> tuple[int, dict, bytes]:
    with connect(port) as sock:
        sock.sendall(raw)
        return answer(sock)


def closed(sock) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def get(target: bytes = b"/", headers: bytes = b"") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"


def assert_refused(answered, status: int, title: str) -> None:
    code, headers, body = answered
    assert code == status
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert (problem["status"], problem["title"]) == (status, title)


def test_a_request_target_longer_than_the_limit_answers_414_unread(port):
    assert ask(port, get(b"/" + b"a" * 199))[0] == 200
    calls = len(CALLS)
    assert_refused(ask(port, get(b"/" + b"a" * 200)), 414, "URI Too Long")
    assert_refused(ask(port, get(b"/?" + b"a" * 100_000)), 414, "URI Too Long")
    assert len(CALLS) == calls  # the app never saw them


def test_more_header_fields_than_the_limit_answer_431(port):
    eight = b"".join(b"X-%d: v\r\n" % i for i in range(8))  # and Host: 9
    assert ask(port, get(headers=eight + b"X-9: v\r\n"))[0] == 200
    assert_refused(
        ask(port, get(headers=eight + b"X-9: v\r\nX-10: v\r\n")),
        431,
        "Request Header Fields Too Large",
    )


def test_header_fields_larger_than_the_limit_answer_431(port):
    room = LIMITS.max_header_bytes - len(b"Host") - len(b"x") - len(b"X-Big")
    assert ask(port, get(headers=b"X-Big: " + b"v" * room + b"\r\n"))[0] == 200
    assert_refused(
        ask(port, get(headers=b"X-Big: " + b"v" * (room + 1) + b"\r\n")),
        431,
        "Request Header Fields Too Large",
    )


def test_one_huge_header_is_cut_off_once_it_passes_the_limit(port):
    """The answer comes while the client is still sending: the server does not collect the
    header first (uvicorn alone read a 100 MB one whole, for seconds of CPU)."""
    calls = len(CALLS)
    with connect(port) as sock:
        sock.sendall(get()[:-2] + b"X-Big: " + b"v" * 100_000)  # the header has no end yet
        assert_refused(answer(sock), 431, "Request Header Fields Too Large")
        assert closed(sock)
    assert len(CALLS) == calls


def test_a_head_not_finished_in_time_answers_408(port):
    with connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        assert_refused(answer(sock), 408, "Request Timeout")
        assert LIMITS.header_timeout - 0.1 < time.monotonic() - started < LIMITS.header_timeout + 2


def test_a_connection_that_sends_nothing_is_closed_in_time(port):
    for first in (b"", get()):  # before the first request, and after an answer
        with connect(port) as sock:
            if first:
                sock.sendall(first)
                assert answer(sock)[0] == 200
            started = time.monotonic()
            assert closed(sock)
            assert time.monotonic() - started < LIMITS.header_timeout + 2


def post(path: bytes, size: int) -> bytes:
    return (
        b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size
    )


def test_a_body_answered_unread_is_dropped_up_to_a_bound(port):
    """Dropped, so that the connection can serve the next request; beyond
    `max_batch_body_bytes` the connection is closed instead."""
    with connect(port) as sock:
        sock.sendall(post(b"/ignore", 5_000))
        assert answer(sock)[0] == 200
        sock.sendall(get())
        assert answer(sock)[0] == 200
    with connect(port) as sock:  # sent in pieces: the server closes once 10,000 are dropped
        request = post(b"/ignore", 50_000)
        sock.sendall(request[:-50_000])
        assert answer(sock)[0] == 200
        with pytest.raises(OSError):  # a broken pipe, or the connection reset
            for _ in range(50_000 // 2_500):
                sock.sendall(b"x" * 2_500)
                time.sleep(0.01)
    with connect(port) as sock:  # a body the app reads is not dropped, whatever its size
        sock.sendall(post(b"/read", 50_000) + get())
        assert answer(sock)[0] == 200
        assert answer(sock)[0] == 200


def test_what_the_parser_refuses_answers_a_problem(port):
    assert_refused(ask(port, b"NOT HTTP AT ALL\r\n\r\n"), 400, "Bad Request")


def test_gunicorns_own_limits_do_not_reach_a_uvicorn_worker(tmp_path):
    """gunicorn's limit_request_line / _fields / _field_size, set far below these requests, let
    them through to uvicorn-worker's stock worker: they bind gunicorn's parser only."""
    (tmp_path / "plain.py").write_text(
        "async def app(scope, receive, send):\n"
        "    await send({'type': 'http.response.start', 'status': 200, 'headers': []})\n"
        "    await send({'type': 'http.response.body', 'body': b'ok'})\n"
    )
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "plain:app",
            "--chdir",
            str(tmp_path),
            "--worker-class",
            "uvicorn_worker.UvicornWorker",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--limit-request-line",
            "100",
            "--limit-request-fields",
            "5",
            "--limit-request-field_size",
            "50",
            "--no-control-socket",  # gunicorn's default path is shared by every instance
        ],
        cwd=Path(__file__).parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.2)
        assert ask(port, get(b"/?" + b"a" * 5000))[0] == 200
        assert ask(port, get(headers=b"".join(b"X-%d: v\r\n" % i for i in range(30))))[0] == 200
        assert ask(port, get(headers=b"X-Big: " + b"v" * 5000 + b"\r\n"))[0] == 200
    finally:
        server.terminate()
        server.wait(10)
