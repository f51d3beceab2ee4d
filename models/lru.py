"""The one cache of the project for anything keyed by what a request chose.

A cache keyed by a query shape, a URL or a parameter value grows with the number of distinct
requests, which a caller chooses: unbounded, 44,000 valid list requests kept ~200 MB in a worker
(issue 15). Each such cache is an `LRU` of a fixed size instead: a full one forgets the entry
used least recently, so memory stays flat however many distinct requests come, while the few
shapes and URLs that clients repeat stay cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

_MISSING = object()


class LRU:
    """A mapping of at most `maxsize` entries that drops the least recently used one first.

    Thread-safe: the list engine's cache is read from the database threads."""

    def __init__(self, maxsize: int):
        if maxsize < 1:
            raise ValueError("an LRU holds at least one entry")
        self.maxsize = maxsize
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The entry of `key` (now the most recently used), or `default`."""
        with self._lock:
            value = self._entries.get(key, _MISSING)
            if value is _MISSING:
                return default
            self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        """Remember `value` for `key`, forgetting the least recently used entry if full."""
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            if len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def items(self) -> list[tuple]:
        """A snapshot of the entries, least recently used first."""
        with self._lock:
            return list(self._entries.items())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
