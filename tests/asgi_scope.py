"""An HTTP scope for tests that call the ASGI app directly (to control `receive` and `send`:
a client that goes away, a slow network), as a server would build it."""

from __future__ import annotations


def http_scope(method: str, path: str, headers: dict, *extra: tuple[bytes, bytes]) -> dict:
    """The scope of `method path` with `headers` (names lowered) and `extra` raw header pairs."""
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw + list(extra),
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
