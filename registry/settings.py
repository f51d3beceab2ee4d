"""Configuration, read from the environment once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///registry.db"


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Response validation costs ~3 ms per page: on in tests and CI, off in production.
    validate_responses: bool = False
    db_pool_size: int = 8
    # How long an SQLite write waits for the write lock before it is run again (and, after
    # registry.web.threads.WRITE_ATTEMPTS tries, answered 503 with Retry-After).
    sqlite_busy_timeout_ms: int = 10000
    log_level: str = "info"
    # The shared secret of POST /admin-api/v3/objects/init_batch_delete (a UUID); unset, that
    # operation answers 503.
    batch_deletion_key: str | None = None
    # GETs answered in one pass (registry/web/fast_reads.py); off only to compare the two paths.
    fast_reads: bool = True
    # Per-key rate limits (registry/web/rate_limit.py), in limits' notation ("6000/minute"):
    # reads (GET, HEAD) and writes per API key, and per client address for requests without a
    # key (or with one that failed). Counted in-process unless redis_url names a shared Redis.
    rate_limit: bool = True
    rate_limit_key_reads: str = "6000/minute"
    rate_limit_key_writes: str = "1200/minute"
    rate_limit_address_reads: str = "600/minute"
    rate_limit_address_writes: str = "60/minute"
    redis_url: str | None = None

    @classmethod
    def from_env(cls, env=None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            validate_responses=_flag(env.get("REGISTRY_VALIDATE_RESPONSES"), False),
            db_pool_size=int(env.get("REGISTRY_DB_POOL_SIZE") or 8),
            sqlite_busy_timeout_ms=int(env.get("REGISTRY_SQLITE_BUSY_TIMEOUT_MS") or 10000),
            log_level=(env.get("REGISTRY_LOG_LEVEL") or "info").lower(),
            batch_deletion_key=(env.get("REGISTRY_BATCH_DELETION_KEY") or "").strip() or None,
            fast_reads=_flag(env.get("REGISTRY_FAST_READS"), True),
            rate_limit=_flag(env.get("REGISTRY_RATE_LIMIT"), True),
            rate_limit_key_reads=env.get("REGISTRY_RATE_LIMIT_KEY_READS")
            or cls.rate_limit_key_reads,
            rate_limit_key_writes=env.get("REGISTRY_RATE_LIMIT_KEY_WRITES")
            or cls.rate_limit_key_writes,
            rate_limit_address_reads=env.get("REGISTRY_RATE_LIMIT_ADDRESS_READS")
            or cls.rate_limit_address_reads,
            rate_limit_address_writes=env.get("REGISTRY_RATE_LIMIT_ADDRESS_WRITES")
            or cls.rate_limit_address_writes,
            redis_url=(env.get("REGISTRY_REDIS_URL") or "").strip() or None,
        )
