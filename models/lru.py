"""The one cache of the project for anything keyed by what a request chose.

A cache keyed by a query shape, a URL or a parameter value grows with the number of distinct
requests, which a caller chooses: unbounded, 44,000 valid list requests kept ~200 MB in a worker
(issue 15). Each such cache is an `LRU` of a fixed size instead: a full one forgets the entry
used least recently, so memory stays flat however many distinct requests come, while the few
shapes and URLs that clients repeat stay cached.

A pure function of a short text a request sent (a timestamp parsed, a format checked: a batch
repeats the same few thousands of times) is remembered by `remembered_for_short_texts`
instead: stdlib's `functools.lru_cache` (in C: an `LRU` lookup would cost as much as the work
it saves), bounded in count, and given only texts short enough that the count bounds the size.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
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


def remembered_for_short_texts(maxsize: int, longest: int) -> Callable:
    """A decorator for a pure function whose last argument is a text: a call whose text is a
    string of at most `longest` characters is answered from the last `maxsize` such calls'
    answers; any other call is computed afresh. A call that raises is not remembered. The
    decorated function has `cache_info` and `cache_clear` (functools.lru_cache's)."""

    def decorate(function: Callable) -> Callable:
        remembered = functools.lru_cache(maxsize=maxsize)(function)

        @functools.wraps(function)
        def call(*args):
            text = args[-1]
            if isinstance(text, str) and len(text) <= longest:
                return remembered(*args)
            return function(*args)

        call.cache_info = remembered.cache_info
        call.cache_clear = remembered.cache_clear
        return call

    return decorate
