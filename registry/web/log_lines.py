"""The log handler Registry installs: lines to a stream, the request lines in batches.

A request line is made for every request (registry/web/observe.py). Written one by one, each
is a system call and a pass through the text layer; on a served show that was about 2 % of a
worker's CPU in the kernel alone (bench/results, issue 20). So a request line given to
`write_line` waits, as bytes, until whichever comes first:

- the lines waiting would pass `select.PIPE_BUF` bytes (4 KiB on Linux): they are written with
  one `os.write` of whole lines, at most that long, which a pipe (journald's, a container
  runtime's) takes in one piece, so the lines of two workers sharing it never interleave;
- `flush_ms` have passed since the first of them waited (a timer on the event loop making the
  line; made outside a running loop, a line is written at once);
- any other record is logged through this handler (a warning, an error's traceback): the
  waiting lines are written first, so the stream keeps the order the lines were made in;
- the server shuts down (the lifespan's shutdown, registry/web/observe.py: a gunicorn worker
  may leave by the signal it was sent, without `atexit`), the process exits (`atexit`), or
  the stream is replaced (`setStream`).

`flush_ms` 0 writes each line at once. A stream without a file descriptor (io.StringIO) gets
each line at once, as text.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import select
import weakref

BATCH_BYTES = select.PIPE_BUF
_handlers: weakref.WeakSet = weakref.WeakSet()


class LineHandler(logging.StreamHandler):
    def __init__(self, stream=None, flush_ms: int = 0):
        super().__init__(stream)
        self.flush_seconds = flush_ms / 1000
        self.fd = _descriptor(self.stream)
        self.waiting: list[bytes] = []
        self.waiting_bytes = 0
        self.due_on = None  # the event loop whose timer will write the waiting lines
        _handlers.add(self)

    def write_line(self, line: bytes) -> None:
        """`line`: one line, ending in a newline, in UTF-8."""
        with self.lock:
            if self.fd is None:
                self.stream.write(line.decode())
                self.stream.flush()
                return
            if self.waiting_bytes + len(line) > BATCH_BYTES:
                self._write_waiting()
            if self.flush_seconds <= 0 or len(line) > BATCH_BYTES:
                _write_all(self.fd, line)
                return
            self.waiting.append(line)
            self.waiting_bytes += len(line)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self._write_waiting()
                return
            if self.due_on is not loop:  # none due, or on a loop that has ended since
                loop.call_later(self.flush_seconds, self.write_waiting)
                self.due_on = loop

    def write_waiting(self) -> None:
        """Write the lines waiting now."""
        with self.lock:
            self.due_on = None
            self._write_waiting()

    def _write_waiting(self) -> None:
        if self.waiting:
            data = b"".join(self.waiting)
            self.waiting.clear()
            self.waiting_bytes = 0
            _write_all(self.fd, data)

    def emit(self, record):
        self._write_waiting()  # logging holds the lock while it emits
        super().emit(record)

    def setStream(self, stream):  # noqa: N802 - logging.StreamHandler's name
        with self.lock:
            self._write_waiting()
            previous = super().setStream(stream)
            self.fd = _descriptor(self.stream)
        return previous


def _descriptor(stream) -> int | None:
    """The file descriptor under `stream`, None for a stream without one (io.StringIO)."""
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _write_all(fd: int, data: bytes) -> None:
    while data:  # a blocking descriptor takes it all but when a signal cuts in
        data = data[os.write(fd, data) :]


def write_all_waiting() -> None:
    """Every handler's waiting lines, now (at exit)."""
    for handler in list(_handlers):
        handler.write_waiting()


atexit.register(write_all_waiting)
