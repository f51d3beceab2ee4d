"""Where the rate limiter counts: in the process, or in Redis shared by every worker and server.

Both count a fixed window per key: started by the key's first request, reset whole when it
ends, as the `limits` library's fixed-window strategy counts. `charge` answers (count in the
window including this request, seconds until it resets), or None when the store cannot answer:
the caller then lets the request through (fails open).

In Redis, the counters are limits' own (its asyncio RedisStorage: `incr`, a Lua script that
counts and sets the expiry at once, and `get_expiry`). That pair is limits'
`FixedWindowRateLimiter.hit` (`incr(...) <= amount`), called directly because `incr` returns
the count the RateLimit header needs: `hit` then `get_window_stats` would ask Redis three times
per request instead of twice.

In the process they are a bounded dict of this module's, not limits' MemoryStorage, which is
unbounded and expires keys from a thread it starts again every 10 ms (its `Thread.start()`
blocked the event loop for ~3 ms each time, 12 % of a worker's time under load, measured
in-process on a show) or, in its asyncio variant, from a task per request that walks every key.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

from limits.aio.storage import RedisStorage

from registry.web import metrics

log = logging.getLogger("registry.rate_limit")

# How long a Redis that failed is left alone before it is tried again: requests meanwhile are
# let through without a round trip that would only fail (or wait out a timeout) again.
REDIS_RETRY_SECONDS = 5.0
# A Redis that does not answer within this long is taken as down (connect and each command).
REDIS_TIMEOUT_SECONDS = 0.5
# The prefix of every key the limiter writes in Redis.
REDIS_KEY_PREFIX = "registry-rate-limit"


class InProcessCounts:
    """Counters in this process's memory, so each worker process counts on its own.

    At most MAX_KEYS windows are kept, oldest first (a window that restarts moves to the end):
    expired windows are dropped when a new one needs room, and if all are live, the oldest go
    (their keys start afresh: only a flood of more distinct keys and addresses than this in one
    window can do that; 12 MB per process when full, by tracemalloc)."""

    MAX_KEYS = 50_000

    def __init__(self):
        self.windows: dict[str, list] = {}  # key -> [count, ends (by `clock`)]
        self.clock = time.monotonic

    async def charge(self, key: str, window: int) -> tuple[int, float]:
        return self.charge_now(key, window)

    def charge_now(self, key: str, window: int) -> tuple[int, float]:
        now = self.clock()
        entry = self.windows.get(key)
        if entry is None or entry[1] <= now:
            if entry is not None:
                del self.windows[key]
            elif len(self.windows) >= self.MAX_KEYS:
                self._make_room(now)
            entry = self.windows[key] = [0, now + window]
        entry[0] += 1
        return entry[0], entry[1] - now

    def _make_room(self, now: float) -> None:
        """Drop the expired windows at the front (at most 1,000), or else the oldest hundredth
        of all: a flood of new keys costs one such sweep per many keys, never a walk of all."""
        windows = self.windows
        stale = []
        for key, entry in windows.items():  # the oldest first
            if entry[1] > now or len(stale) >= 1000:
                break
            stale.append(key)
        if not stale:
            stale = list(itertools.islice(windows, self.MAX_KEYS // 100))
        for key in stale:
            del windows[key]


class RedisCounts:
    """Counters in Redis (limits' asyncio RedisStorage over redis-py's asyncio client), so the
    limit holds in total over every worker of every server sharing that Redis.

    When Redis fails (refused, timed out, any error of the client), `charge` answers None and
    Redis is not asked again for REDIS_RETRY_SECONDS; one warning is logged when it fails and
    one line when it answers again, never one per request. `unavailable` counts the requests let
    through meanwhile (registry_rate_limit_fail_open_total counts them over every worker,
    registry_rate_limit_store_errors_total the calls that failed: registry/web/metrics.py)."""

    def __init__(self, url: str):
        self.url = url if url.startswith("async+") else "async+" + url
        self.storages: dict = {}  # one client per event loop: redis-py's is bound to its loop
        self.down = False
        self.retry_at = 0.0
        self.unavailable = 0

    def storage(self) -> RedisStorage:
        loop = asyncio.get_running_loop()
        storage = self.storages.get(loop)
        if storage is None:
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            self.storages.clear()  # a loop that is gone (tests run one per client)
            storage = self.storages[loop] = RedisStorage(
                self.url,
                implementation="redispy",
                key_prefix=REDIS_KEY_PREFIX,
                wrap_exceptions=True,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                # redis-py retries a failed command three times with a back-off by default:
                # seconds a request would wait for a Redis that is down.
                retry=Retry(NoBackoff(), 0),
            )
        return storage

    async def charge(self, key: str, window: int) -> tuple[int, float] | None:
        if self.down and time.monotonic() < self.retry_at:
            self.unavailable += 1
            return None
        try:
            storage = self.storage()
            count = await storage.incr(key, window)
            reset = await storage.get_expiry(key)
        except Exception as exc:  # noqa: BLE001 - whatever Redis did, the request goes on
            self.unavailable += 1
            metrics.RATE_LIMIT_STORE_ERRORS.inc()
            self.retry_at = time.monotonic() + REDIS_RETRY_SECONDS
            if not self.down:
                self.down = True
                log.warning(
                    "rate limiting is off: Redis did not answer (%s: %s); requests are "
                    "let through until it does, tried again every %.0f s",
                    type(exc).__name__,
                    _short(exc),
                    REDIS_RETRY_SECONDS,
                )
            return None
        if self.down:
            self.down = False
            log.warning("rate limiting is on again: Redis answers")
        return count, reset - time.time()


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."


def counts_for(redis_url: str | None):
    """The store Settings ask for: Redis when a URL is given, else in-process."""
    return RedisCounts(redis_url) if redis_url else InProcessCounts()
