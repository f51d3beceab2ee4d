"""The request lines in batches (registry/web/log_lines.py): each write whole lines of at most
PIPE_BUF bytes, none waiting longer than the flush delay, in the order they were made, none
lost when the process exits."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from registry.web import log_lines, observe

ROOT = Path(__file__).resolve().parent.parent


def _line(n: int, size: int = 200) -> bytes:
    return json.dumps({"n": n, "pad": "x" * size}).encode() + b"\n"


@pytest.fixture
def sink(tmp_path):
    path = tmp_path / "log"
    with open(path, "w") as stream:
        yield path, stream


@pytest.fixture
def writes(monkeypatch):
    """Every os.write the handler makes, as the bytes written."""
    made = []
    original = os.write

    def recording(fd, data):
        made.append(bytes(data))
        return original(fd, data)

    monkeypatch.setattr(log_lines.os, "write", recording)
    return made


def test_lines_made_on_a_loop_wait_for_the_delay_then_are_written_together(sink, writes):
    path, stream = sink
    handler = log_lines.LineHandler(stream, flush_ms=50)

    async def serve():
        for n in range(5):
            handler.write_line(_line(n))
        written_at_once = path.read_bytes()
        await asyncio.sleep(0.2)
        return written_at_once

    assert asyncio.run(serve()) == b""
    assert path.read_bytes() == b"".join(_line(n) for n in range(5))
    assert len(writes) == 1


def test_a_batch_is_whole_lines_of_at_most_pipe_buf_bytes(sink, writes):
    path, stream = sink
    handler = log_lines.LineHandler(stream, flush_ms=10_000)
    lines = [_line(n, size=100 + n % 300) for n in range(400)]

    async def serve():
        for line in lines:
            handler.write_line(line)
        handler.write_waiting()

    asyncio.run(serve())
    assert path.read_bytes() == b"".join(lines)
    assert len(writes) > 1
    for data in writes:
        assert len(data) <= log_lines.BATCH_BYTES and data.endswith(b"\n")
        assert all(json.loads(line) for line in data.splitlines())
    assert len(writes) < len(lines) / 5  # batched, not one write a line


def test_a_line_longer_than_a_batch_is_written_alone_after_those_waiting(sink, writes):
    path, stream = sink
    handler = log_lines.LineHandler(stream, flush_ms=10_000)
    small, large = _line(1), _line(2, size=log_lines.BATCH_BYTES)

    async def serve():
        handler.write_line(small)
        handler.write_line(large)

    asyncio.run(serve())
    assert path.read_bytes() == small + large
    assert writes == [small, large]


def test_another_record_writes_the_waiting_lines_first(sink):
    path, stream = sink
    handler = log_lines.LineHandler(stream, flush_ms=10_000)
    handler.setFormatter(logging.Formatter("%(message)s"))

    async def serve():
        handler.write_line(b"request 1\n")
        handler.write_line(b"request 2\n")
        handler.handle(logging.LogRecord("x", logging.WARNING, __file__, 1, "warned", (), None))
        handler.write_line(b"request 3\n")
        handler.write_waiting()

    asyncio.run(serve())
    assert path.read_text().splitlines() == ["request 1", "request 2", "warned", "request 3"]


def test_a_line_made_outside_a_loop_or_with_no_delay_is_written_at_once(sink):
    path, stream = sink
    log_lines.LineHandler(stream, flush_ms=10_000).write_line(b"no loop\n")
    assert path.read_bytes() == b"no loop\n"

    async def serve():
        log_lines.LineHandler(stream, flush_ms=0).write_line(b"no delay\n")

    asyncio.run(serve())
    assert path.read_bytes() == b"no loop\nno delay\n"


def test_a_later_loop_gets_its_own_timer_when_an_earlier_one_ended_with_lines_due(sink):
    """An ended loop never runs its timer (a test client's loop, say): the next loop's line
    must still be written after the delay, with the one left behind."""
    path, stream = sink
    handler = log_lines.LineHandler(stream, flush_ms=30)

    async def first():
        handler.write_line(b"one\n")  # the loop ends before its timer fires

    async def second():
        handler.write_line(b"two\n")
        await asyncio.sleep(0.15)

    asyncio.run(first())
    assert path.read_bytes() == b""
    asyncio.run(second())
    assert path.read_bytes() == b"one\ntwo\n"


def test_a_stream_without_a_descriptor_gets_each_line_as_text():
    import io

    stream = io.StringIO()
    handler = log_lines.LineHandler(stream, flush_ms=10_000)

    async def serve():
        handler.write_line('{"é": 1}\n'.encode())

    asyncio.run(serve())
    assert stream.getvalue() == '{"é": 1}\n'


def test_the_lines_waiting_when_a_process_exits_are_written():
    program = textwrap.dedent(
        """
        import asyncio
        from registry.web import observe

        observe.configure_logging("info", "json", flush_ms=10_000)

        async def serve():
            for n in range(50):
                observe._direct.write(f"rid-{n}", {"method": "GET", "path": "/", "status": 200})

        asyncio.run(serve())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    ids = [json.loads(line)["request_id"] for line in done.stderr.splitlines()]
    assert ids == [f"rid-{n}" for n in range(50)]


def test_a_served_registry_writes_every_request_line_before_its_worker_exits(tmp_path):
    """`registry serve` stopped right after its answers: the workers' waiting lines are
    written as they exit (gunicorn's worker_exit hook), none lost."""
    import httpx

    from tests import live_server

    started = live_server.start(
        f"sqlite:///{tmp_path / 'lines.db'}", tmp_path, {"REGISTRY_LOG_FLUSH_MS": "10000"}
    )
    try:
        with httpx.Client(base_url=started.base, timeout=30) as client:
            for n in range(40):
                answer = client.get("/livez", headers={"X-Request-ID": f"exit-{n}"})
                assert answer.status_code == 200
    finally:
        live_server.stop(started)
    seen = {
        line["request_id"]
        for line in map(json.loads, filter(_is_json, started.log().splitlines()))
        if line.get("logger") == "registry.access"
    }
    assert {f"exit-{n}" for n in range(40)} <= seen


def _is_json(line: str) -> bool:
    return line.startswith("{")


def test_configure_logging_batches_as_settings_say(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    try:
        observe.configure_logging("info", "json", flush_ms=250)
        (installed,) = root.handlers
        assert isinstance(installed, log_lines.LineHandler)
        assert installed.flush_seconds == 0.25
    finally:
        root.handlers = []
        observe._direct = None


@pytest.mark.parametrize("value", ["-1", "10001", "soon"])
def test_a_flush_delay_out_of_bounds_stops_the_start_up_naming_it(value):
    from registry.settings import Settings

    with pytest.raises(ValueError, match="REGISTRY_LOG_FLUSH_MS"):
        Settings.from_env({"REGISTRY_LOG_FLUSH_MS": value})
    assert Settings.from_env({}).log_flush_ms == 100
    assert Settings.from_env({"REGISTRY_LOG_FLUSH_MS": "0"}).log_flush_ms == 0
