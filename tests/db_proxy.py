"""A TCP proxy in front of the tests' PostgreSQL, which a test can take down, freeze and bring
back, without touching the cluster itself (which other test runs share).

- `down()`: its port is closed (connection refused) and every connection through it is cut,
  as when the database stops or its host goes away.
- `freeze()`: connections are still accepted, but nothing is passed on either way, as when the
  database's processes are stopped (SIGSTOP), its storage hangs or the network drops packets:
  a client waits for answers that do not come. What was sent meanwhile is held, and passed on
  by `up()`, as a thawed server would read it.
- `up()`: everything passes again.

Also `silent_server()`: a port that accepts connections and never answers (a database that
accepts but never answers), and `closed_port()`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit, urlunsplit


def closed_port() -> int:
    """A port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def silent_server():
    """A port that accepts connections and never answers; yields the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        for conn in accepted:
            conn.close()


def with_port(url: str, port: int) -> str:
    """`url` with its host 127.0.0.1 and its port `port`."""
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))


class DatabaseProxy:
    def __init__(self, url: str):
        target = urlsplit(url)
        self.target = (target.hostname or "127.0.0.1", target.port or 5432)
        self.port = closed_port()
        self.url = with_port(url, self.port)
        self._passing = threading.Event()
        self._passing.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            self._track(client)
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _connect(self, client: socket.socket) -> None:
        self._passing.wait()
        try:
            server = socket.create_connection(self.target)
        except OSError:
            client.close()
            with self._lock:
                self._sockets.discard(client)
            return
        self._track(server)
        for source, sink in ((client, server), (server, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                self._passing.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                if sock is source:  # each socket is the source of one pump, which closes it
                    sock.close()
                    with self._lock:
                        self._sockets.discard(sock)

    def _cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def freeze(self) -> None:
        self._passing.clear()

    def down(self) -> None:
        if self._listener is not None:
            # shutdown first: close alone leaves a socket that a thread blocked in accept()
            # holds listening (Linux)
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        self._cut()
        self._passing.set()

    def up(self) -> None:
        if self._listener is None:
            self._listen()
        self._passing.set()

    def close(self) -> None:
        self.down()
