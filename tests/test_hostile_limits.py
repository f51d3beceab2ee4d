"""Hostile requests against a live `registry serve --workers 2` (tests/live_server.py), scaled to
CI size: each is answered with its documented status within a bound, while a well-behaved
client of the same server is answered within a bound too, and no worker grows past a bound.

Each attack is sent twice at once; meanwhile a well-behaved client asks each worker for a page
of work items every 50 ms, over a connection kept to that worker (found through /proc: a new
connection would go to whichever worker is free, and hide a stalled one), and the workers'
resident memory is sampled (/proc). The server runs with short timeouts
(REGISTRY_HEADER_TIMEOUT, REGISTRY_BODY_TIMEOUT) and a 16 MiB batch limit; every other limit is
its default. SQLite only: the limits are the same on both backends. 127.0.0.1 only; every
socket has a timeout, and the server is stopped at the end of the module.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest

from registry.settings import Limits
from tests import live_server

TIMEOUT = 2.0  # the server's header and body timeouts, seconds
BATCH_LIMIT = 16 * 2**20
ANSWERED_WITHIN = 10.0  # seconds for an attack's answer (a timeout's: TIMEOUT + this)
PROBE_WITHIN = 3.0  # seconds for a well-behaved request while the attack runs (2 cores, shared)
GROWTH_MB = 150  # a worker's resident memory may grow this much during an attack
LIMITS = Limits()
BATCH = b"/admin-api/v3/files/create_batch/2"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile")
    served = live_server.start(
        f"sqlite:///{directory / 'hostile.db'}",
        directory,
        env={
            "REGISTRY_HEADER_TIMEOUT": str(TIMEOUT),
            "REGISTRY_BODY_TIMEOUT": str(TIMEOUT),
            "REGISTRY_MAX_BATCH_BODY_BYTES": str(BATCH_LIMIT),
        },
    )
    try:
        yield served
    finally:
        live_server.stop(served)


# Talking to the server over raw sockets.


def auth(server, user: str) -> bytes:
    return b"".join(f"{name}: {value}\r\n".encode() for name, value in server.headers(user).items())


def read_answer(sock: socket.socket, within: float) -> str:
    """The status line of the next answer, or what happened instead."""
    sock.settimeout(within)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return "closed"
            data += chunk
    except TimeoutError:
        return "no answer"
    except ConnectionResetError:
        return "reset"
    return data.split(b"\r\n", 1)[0].decode()


def send(server, parts, within: float = ANSWERED_WITHIN, pause: float = 0.0) -> str:
    """Send `parts` (stopping when the server stops reading), then read the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=within) as sock:
        for part in parts:
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
            if pause:
                time.sleep(pause)
        return read_answer(sock, within)


def status(line: str) -> int | str:
    parts = line.split()
    return int(parts[1]) if len(parts) > 1 and parts[0].startswith("HTTP/") else line


def pieces(data: bytes, size: int = 1 << 20):
    return (data[i : i + size] for i in range(0, len(data), size))


# Watching the server while an attack runs.


def workers(server) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as file:
                    stat = file.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == server.process.pid:
                found.append(int(name))
    return found


def resident_mb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as file:
            for line in file:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def worker_of(server, sock: socket.socket) -> int | None:
    """The worker process holding the server's end of `sock` (/proc/net/tcp, /proc/PID/fd)."""
    client_port = sock.getsockname()[1]
    inode = None
    with open("/proc/net/tcp") as table:
        for line in list(table)[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (
                int(local.split(":")[1], 16) == server.port
                and int(remote.split(":")[1], 16) == client_port
            ):
                inode = fields[9]
    if inode is None:
        return None
    for pid in workers(server):
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if f"socket:[{inode}]" in links:
            return pid
    return None


def exchange(sock: socket.socket, request: bytes, within: float) -> int | str:
    """Send `request` on a kept connection and read its whole answer; its status."""
    sock.settimeout(within)
    try:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return "closed"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return "closed"
            body += chunk
        return status(head.split(b"\r\n", 1)[0].decode())
    except OSError as exc:  # a timeout too
        return type(exc).__name__


@dataclass
class Watch:
    probes: list = field(default_factory=list)  # (seconds, status) of each probe
    growth_mb: int = 0
    answers: list = field(default_factory=list)  # (status, seconds) of each copy
    copies: int = 2


def open_pinned(server) -> dict[int, socket.socket]:
    """A kept connection to each worker (at most 30 tries). A new connection goes to whichever
    worker takes it first; those kept already are used meanwhile, so that none is closed for
    idling (REGISTRY_HEADER_TIMEOUT) while the search goes on."""
    pinned, wanted = {}, len(workers(server))
    for _ in range(30):
        if len(pinned) == wanted:
            break
        for sock in pinned.values():
            assert exchange(sock, probe_request(server), 10) == 200
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        if exchange(sock, probe_request(server), 10) != 200:
            sock.close()
            continue
        pid = worker_of(server, sock)
        if pid is None or pid in pinned:
            sock.close()
        else:
            pinned[pid] = sock
    assert len(pinned) == 2, f"kept connections to {len(pinned)} worker(s) only"
    return pinned


def probe_request(server) -> bytes:
    return (
        b"GET /member-api/v3/items?per_page=1 HTTP/1.1\r\nHost: x\r\n"
        + auth(server, "inst_user")
        + b"\r\n"
    )


def under_attack(server, attack, copies: int = 2) -> Watch:
    """Run `copies` of `attack` at once, while a well-behaved client asks each worker for a
    page every 50 ms over a kept connection, and the workers' memory is sampled."""
    watch = Watch(copies=copies)
    stop = threading.Event()
    pids = workers(server)
    start = {pid: resident_mb(pid) for pid in pids}
    peak = dict(start)
    pinned = open_pinned(server)
    probe = probe_request(server)

    def probing(sock):  # one thread a worker: a stalled one does not hold up the others'
        while not stop.is_set():
            started = time.perf_counter()
            answered = exchange(sock, probe, 30)
            watch.probes.append((time.perf_counter() - started, answered))
            time.sleep(0.05)

    def sampling():
        while not stop.is_set():
            for pid in pids:
                peak[pid] = max(peak[pid], resident_mb(pid))
            time.sleep(0.05)

    def attacking():
        started = time.perf_counter()
        answered = attack()
        watch.answers.append((status(answered), time.perf_counter() - started))

    watchers = [threading.Thread(target=probing, args=(sock,)) for sock in pinned.values()]
    watchers.append(threading.Thread(target=sampling))
    attackers = [threading.Thread(target=attacking) for _ in range(copies)]
    for thread in watchers + attackers:
        thread.start()
    for thread in attackers:
        thread.join(120)
    time.sleep(0.3)  # a probe or two after the attack
    stop.set()
    for thread in watchers:
        thread.join(60)
    for sock in pinned.values():
        sock.close()
    watch.growth_mb = max(peak[pid] - start[pid] for pid in pids)
    return watch


def assert_harmless(watch: Watch, expected, within: float = ANSWERED_WITHIN) -> None:
    slowest = max((seconds for seconds, _ in watch.probes), default=None)
    summary = (
        f"answers {watch.answers}; {len(watch.probes)} well-behaved requests, the slowest "
        f"{slowest} s; a worker grew by {watch.growth_mb} MB"
    )
    assert len(watch.answers) == watch.copies, summary
    for answered, seconds in watch.answers:
        assert answered == expected and seconds < within, summary
    assert watch.probes and all(answered == 200 for _, answered in watch.probes), [
        probe for probe in watch.probes if probe[1] != 200
    ]
    assert slowest < PROBE_WITHIN, summary
    assert watch.growth_mb < GROWTH_MB, summary


# The attacks.


def get(server, target: bytes, extra: bytes = b"", user: str = "inst_user") -> bytes:
    return (
        b"GET "
        + target
        + b" HTTP/1.1\r\nHost: x\r\n"
        + auth(server, user)
        + extra
        + b"Connection: close\r\n\r\n"
    )


def post_head(server, path: bytes, length: int | None, user: str = "sysadmin") -> bytes:
    framing = (
        b"Transfer-Encoding: chunked\r\n" if length is None else b"Content-Length: %d\r\n" % length
    )
    return (
        b"POST "
        + path
        + b" HTTP/1.1\r\nHost: x\r\n"
        + auth(server, user)
        + b"Content-Type: application/json\r\n"
        + framing
        + b"Connection: close\r\n\r\n"
    )


def chunked(data: bytes):
    for part in pieces(data, 65536):
        yield b"%x\r\n" % len(part) + part + b"\r\n"
    yield b"0\r\n\r\n"


def test_a_query_of_thousands_of_parameters(server):
    """8,000 unknown parameters, 61 KB: parsed, they cost seconds of a worker's CPU."""
    query = b"&".join(b"p%d=1" % i for i in range(8000))
    assert_harmless(
        under_attack(server, lambda: send(server, [get(server, b"/member-api/v3/items?" + query)])),
        414,
    )


def test_a_query_of_many_short_parameters(server):
    """Refused by their number, unparsed: one error, not one per parameter."""
    query = b"&".join(b"p%d=1" % i for i in range(LIMITS.max_query_params + 50))
    assert len(query) < LIMITS.max_query_string
    assert_harmless(
        under_attack(server, lambda: send(server, [get(server, b"/member-api/v3/items?" + query)])),
        400,
    )
    with server.client() as client:
        problem = client.get(
            "/member-api/v3/items?" + query.decode(), headers=server.headers("inst_user")
        ).json()
    assert problem["errors"] == [
        {
            "name": "",
            "in": "query",
            "message": f"must have at most {LIMITS.max_query_params} parameters",
        }
    ]


@pytest.mark.parametrize("user", ["inst_user", None])
def test_a_huge_header(server, user):
    """20 MB in one header field, with a key or without one."""
    header = b"X-Big: " + b"a" * (20 * 2**20) + b"\r\n"
    head = (
        get(server, b"/member-api/v3/items", header)
        if user
        else b"GET /member-api/v3/items HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n"
    )
    assert_harmless(under_attack(server, lambda: send(server, pieces(head))), 431)


def test_thousands_of_header_fields(server):
    fields = b"".join(b"X-H%d: v\r\n" % i for i in range(20000))
    assert_harmless(
        under_attack(server, lambda: send(server, [get(server, b"/member-api/v3/items", fields)])),
        431,
    )


def test_a_list_get_with_a_large_body(server):
    """20 MB of JSON on a GET: read and parsed before the role check, it took 250 MB."""
    body = b"[" + b'{"a":"bbbbbbbbbbbbbbbbbbb"},' * (20 * 2**20 // 27) + b"1]"
    head = (
        b"GET /member-api/v3/items HTTP/1.1\r\nHost: x\r\n"
        + auth(server, "inst_user")
        + b"Content-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n" % len(body)
    )
    assert_harmless(under_attack(server, lambda: send(server, [head, *pieces(body)])), 200)


def test_json_nested_thousands_deep(server):
    """A 500 with a traceback, on a list GET and on an admin write; now a GET ignores the
    body, and a write refuses it unparsed."""
    deep = b"[" * 5000 + b"]" * 5000
    head = (
        b"GET /member-api/v3/items HTTP/1.1\r\nHost: x\r\n"
        + auth(server, "inst_user")
        + b"Content-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n" % len(deep)
    )
    assert_harmless(under_attack(server, lambda: send(server, [head, deep])), 200)
    write = post_head(server, b"/admin-api/v3/objects/create/2", len(deep))
    assert_harmless(under_attack(server, lambda: send(server, [write, deep])), 400)
    assert "Traceback" not in server.log()


def test_a_body_announced_larger_than_the_limit(server):
    """1 GB announced, 1 MB sent: refused before a byte of it is read."""
    head = post_head(server, BATCH, 10**9)
    assert_harmless(under_attack(server, lambda: send(server, [head, b"[" + b" " * 2**20])), 413)


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_batch_larger_than_the_limit(server, framing):
    """Over the batch limit: by its Content-Length, or counted as its chunks come."""
    item = b'{"identifier":"x","intellectual_object_id":1,"file_format":"a","size":1,"uuid":"u"},'
    body = b"[" + item * ((BATCH_LIMIT + 2**20) // len(item)) + b"{}]"
    if framing == "length":
        parts = [post_head(server, BATCH, len(body)), *pieces(body)]
    else:
        parts = [post_head(server, BATCH, None), *chunked(body)]
    assert_harmless(under_attack(server, lambda: send(server, parts)), 413)


def test_a_batch_of_millions_of_items(server):
    """3 million empty objects in 9 MB: refused for its length before it is parsed (parsed,
    it took 250 MB and a second of CPU)."""
    body = b"[" + b"{}," * 3_000_000 + b"{}]"
    parts = [post_head(server, BATCH, len(body)), *pieces(body)]
    assert_harmless(under_attack(server, lambda: send(server, parts)), 400)


def test_a_full_batch_whose_last_file_is_invalid(server):
    """10,000 files, each with three events, the last one invalid: every file is validated
    (seconds of work), in the body thread, while the worker goes on answering others."""

    def file(i: int, uuid_text: str) -> dict:
        event = {
            "identifier": str(uuid.uuid4()),
            "event_type": "ingestion",
            "date_time": "2026-01-02T03:04:05Z",
            "outcome": "Success",
            "agent": "a",
            "detail": "d",
            "object": "o",
            "outcome_detail": "od",
            "outcome_information": "oi",
        }
        return {
            "identifier": f"example.edu/bag/data/f{i}",
            "intellectual_object_id": 1,
            "file_format": "text/plain",
            "size": i,
            "uuid": uuid_text,
            "premis_events": [event] * 3,
        }

    files = [file(i, str(uuid.uuid4())) for i in range(2999)] + [file(2999, "not a uuid")]
    body = json.dumps(files).encode()
    parts = [post_head(server, BATCH, len(body)), *pieces(body)]
    assert_harmless(under_attack(server, lambda: send(server, parts, within=60)), 400, within=60)


def test_a_body_sent_a_byte_at_a_time(server):
    head = post_head(server, b"/admin-api/v3/objects/create/2", 100)
    assert_harmless(
        under_attack(server, lambda: send(server, [head] + [b" "] * 30, pause=0.5)),
        408,
        within=TIMEOUT + ANSWERED_WITHIN,
    )


def test_a_header_sent_a_field_at_a_time(server):
    first = b"GET /member-api/v3/items HTTP/1.1\r\nHost: x\r\n"
    fields = [b"X-Slow-%d: 1\r\n" % i for i in range(30)]
    assert_harmless(
        under_attack(server, lambda: send(server, [first, *fields], pause=0.5)),
        408,
        within=TIMEOUT + ANSWERED_WITHIN,
    )


def test_hundreds_of_connections_that_send_nothing_or_half_a_header(server):
    """Each is closed (after a 408 when it began a request) once the header timeout passed."""

    def crowd():
        sockets = []
        try:
            for i in range(200):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
                if i % 2:
                    sock.sendall(b"GET /member-api/v3/items HTTP/1.1\r\nHost: x\r\n")
                sockets.append(sock)
            deadline = time.monotonic() + TIMEOUT + ANSWERED_WITHIN
            answers = {
                str(status(read_answer(sock, max(0.1, deadline - time.monotonic()))))
                for sock in sockets
            }
            return "|".join(sorted(answers))
        finally:
            for sock in sockets:
                sock.close()

    expected = "408|closed"
    assert_harmless(under_attack(server, crowd), expected, within=2 * TIMEOUT + ANSWERED_WITHIN)
