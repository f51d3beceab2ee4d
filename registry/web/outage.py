"""One log line per database outage, not a traceback per refused request.

A request the database cannot serve (no connection, a timeout, no database thread free in
time, its deadline passed) is answered 503 with Retry-After (registry/web/threads.py,
registry/web/deadline.py) and reported here. The first refusal of an episode logs one
WARNING line with the driver's reason; the refusals that follow are only counted; the next
database work that succeeds ends the episode with one INFO line: how long it lasted and how
many requests were refused. An episode longer than REMIND_SECONDS logs one more WARNING
line with the count so far, at most once per REMIND_SECONDS. Each worker process reports its
own episodes. Called on the event loop only.
"""

from __future__ import annotations

import logging
import time

from registry.web import metrics

log = logging.getLogger("registry.database")
# How often a long outage is reported again, with its count so far.
REMIND_SECONDS = 60.0


class _Episode:
    def __init__(self, reason: str, now: float):
        self.began = now
        self.last_report = now
        self.refused = 0
        self.reason = reason


_episode: _Episode | None = None


def refused(reason: str, kind: str = "other") -> None:
    """A request was answered 503 because the database could not serve it; `reason`, one
    line, says why (for the log: the driver's message may name hosts); `kind`, a short word,
    labels it in the metrics (registry_db_errors_total)."""
    global _episode
    metrics.DB_ERRORS.labels(kind).inc()
    now = time.monotonic()
    if _episode is None:
        _episode = _Episode(reason, now)
        log.warning(
            "database unavailable: %s; answering 503 with Retry-After until it serves again", reason
        )
    _episode.refused += 1
    if now - _episode.last_report >= REMIND_SECONDS:
        _episode.last_report = now
        log.warning(
            "database still unavailable after %.0f s (%s); %d request(s) refused so far",
            now - _episode.began,
            reason,
            _episode.refused,
        )


def served() -> None:
    """Database work succeeded: an episode in progress ends."""
    global _episode
    if _episode is None:
        return
    episode, _episode = _episode, None
    log.info(
        "database serving again after %.1f s unavailable; %d request(s) were refused "
        "with 503 (first reason: %s)",
        time.monotonic() - episode.began,
        episode.refused,
        episode.reason,
    )


def in_progress() -> bool:
    return _episode is not None
