"""Configuration, read from the environment once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///registry.db"


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _number(env, name: str, default: int) -> int:
    value = env.get(name)
    return default if value is None or value.strip() == "" else int(value)


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Response validation costs ~3 ms per page: on in tests and CI, off in production.
    validate_responses: bool = False
    db_pool_size: int = 8
    # How long an SQLite write waits for the write lock before it is run again (and, after
    # registry.web.threads.WRITE_ATTEMPTS tries or when another wait would pass the request's
    # deadline, answered 503 with Retry-After).
    sqlite_busy_timeout_ms: int = 5000
    # The WAL file's bound: a write that finds it larger has it checkpointed and truncated
    # (registry.web.threads), and SQLite truncates it to this size when it restarts it.
    sqlite_wal_limit_mb: int = 64
    # The bounds of a request (registry/web/deadline.py, registry/web/threads.py): answered
    # 503 with Retry-After past its deadline, or when no database thread takes its work within
    # the queue timeout. 0 turns one off.
    request_deadline_ms: int = 30000
    db_queue_timeout_ms: int = 5000
    # PostgreSQL's, per connection: libpq's connect_timeout (whole seconds, at least 2), and
    # the server's statement_timeout, lock_timeout and idle_in_transaction_session_timeout.
    # 0 turns one off.
    db_connect_timeout_s: int = 5
    db_statement_timeout_ms: int = 20000
    db_lock_timeout_ms: int = 5000
    db_idle_in_transaction_timeout_ms: int = 60000
    log_level: str = "info"
    # The shared secret of POST /admin-api/v3/objects/init_batch_delete (a UUID); unset, that
    # operation answers 503.
    batch_deletion_key: str | None = None
    # GETs answered in one pass (registry/web/fast_reads.py); off only to compare the two paths.
    fast_reads: bool = True

    @classmethod
    def from_env(cls, env=None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            validate_responses=_flag(env.get("REGISTRY_VALIDATE_RESPONSES"), False),
            db_pool_size=int(env.get("REGISTRY_DB_POOL_SIZE") or 8),
            sqlite_busy_timeout_ms=_number(env, "REGISTRY_SQLITE_BUSY_TIMEOUT_MS", 5000),
            sqlite_wal_limit_mb=_number(env, "REGISTRY_SQLITE_WAL_LIMIT_MB", 64),
            request_deadline_ms=_number(env, "REGISTRY_REQUEST_DEADLINE_MS", 30000),
            db_queue_timeout_ms=_number(env, "REGISTRY_DB_QUEUE_TIMEOUT_MS", 5000),
            db_connect_timeout_s=_number(env, "REGISTRY_DB_CONNECT_TIMEOUT_S", 5),
            db_statement_timeout_ms=_number(env, "REGISTRY_DB_STATEMENT_TIMEOUT_MS", 20000),
            db_lock_timeout_ms=_number(env, "REGISTRY_DB_LOCK_TIMEOUT_MS", 5000),
            db_idle_in_transaction_timeout_ms=_number(
                env, "REGISTRY_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60000
            ),
            log_level=(env.get("REGISTRY_LOG_LEVEL") or "info").lower(),
            batch_deletion_key=(env.get("REGISTRY_BATCH_DELETION_KEY") or "").strip() or None,
            fast_reads=_flag(env.get("REGISTRY_FAST_READS"), True),
        )
