"""Configuration, read from the environment once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///registry.db"
MAX_JSON_DEPTH = 256
METRICS_MODES = ("off", "token", "open")
MIN_METRICS_TOKEN = 16
LOG_FORMATS = ("json", "text")
MAX_LOG_FLUSH_MS = 10_000  # a request line waits at most this long to be written


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _number(env, name: str, default: int) -> int:
    """A whole number from the environment (a bad value stops the start-up, naming it)."""
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value[:40]!r}: not a whole number") from None


def _positive(env, name: str, default, kind=int):
    """A positive number from the environment (a bad value stops the start-up, naming it)."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw.strip())
    except ValueError:
        raise ValueError(f"{name}={raw!r}: not a number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r}: must be greater than 0")
    return value


@dataclass(frozen=True)
class Limits:
    """What a request may be, each limit checked before the work it guards is done (README,
    "Request limits"). Sizes are bytes, timeouts seconds."""

    # The request target (path and query string) as sent: longer answers 414. A show path with
    # the longest identifier the specs allow (2,000 characters, each up to 12 bytes once
    # percent-encoded) fits.
    max_request_line: int = 32768
    # The query string alone: longer answers 414; more parameters than max_query_params, 400.
    # One filter at the longest the specs allow fits, as for the request line.
    max_query_string: int = 32768
    max_query_params: int = 100
    # All header fields together (names and values), and how many: beyond either, 431.
    max_header_bytes: int = 16384
    max_headers: int = 100
    # The request line and headers must have arrived this long after the connection opened or
    # the previous answer was sent (else 408, or the idle connection is closed).
    header_timeout: float = 10.0
    # A request body must have arrived this long after it was first asked for (else 408).
    body_timeout: float = 60.0
    # A body larger than this answers 413: a batch of records (a body that is a JSON array,
    # files/create_batch), and every other body. A full 10,000-file batch with 4 digests, 7
    # events and 2 storage records per file is 46.7 MiB (README, "Request limits").
    max_batch_body_bytes: int = 64 * 2**20
    max_body_bytes: int = 2**20
    # JSON nested deeper than this (arrays and objects) answers 400 before it is parsed.
    max_json_depth: int = 32

    def __post_init__(self):
        # Deeper, a parser or a recursive walk of the value could run out of stack again.
        if not 1 <= self.max_json_depth <= MAX_JSON_DEPTH:
            raise ValueError(
                f"REGISTRY_MAX_JSON_DEPTH={self.max_json_depth}: must be between 1 "
                f"and {MAX_JSON_DEPTH}"
            )

    @classmethod
    def from_env(cls, env) -> Limits:
        default = cls()
        return cls(
            max_request_line=_positive(env, "REGISTRY_MAX_REQUEST_LINE", default.max_request_line),
            max_query_string=_positive(env, "REGISTRY_MAX_QUERY_STRING", default.max_query_string),
            max_query_params=_positive(env, "REGISTRY_MAX_QUERY_PARAMS", default.max_query_params),
            max_header_bytes=_positive(env, "REGISTRY_MAX_HEADER_BYTES", default.max_header_bytes),
            max_headers=_positive(env, "REGISTRY_MAX_HEADERS", default.max_headers),
            header_timeout=_positive(env, "REGISTRY_HEADER_TIMEOUT", default.header_timeout, float),
            body_timeout=_positive(env, "REGISTRY_BODY_TIMEOUT", default.body_timeout, float),
            max_batch_body_bytes=_positive(
                env, "REGISTRY_MAX_BATCH_BODY_BYTES", default.max_batch_body_bytes
            ),
            max_body_bytes=_positive(env, "REGISTRY_MAX_BODY_BYTES", default.max_body_bytes),
            max_json_depth=_positive(env, "REGISTRY_MAX_JSON_DEPTH", default.max_json_depth),
        )


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
    limits: Limits = Limits()
    # gzip for answers of 1 KiB or more to clients that accept it (registry/web/compression.py).
    compression: bool = True
    # Per-key rate limits (registry/web/rate_limit.py), in limits' notation ("6000/minute"):
    # reads (GET, HEAD) and writes per API key, and per client address for requests without a
    # key (or with one that failed). Counted in-process unless redis_url names a shared Redis.
    rate_limit: bool = True
    rate_limit_key_reads: str = "6000/minute"
    rate_limit_key_writes: str = "1200/minute"
    rate_limit_address_reads: str = "600/minute"
    rate_limit_address_writes: str = "60/minute"
    redis_url: str | None = None
    # `registry serve --workers N`: gunicorn's control socket (what `gunicornc` talks to).
    # None: one per instance, named by its host and port (registry.cli.control_socket_path);
    # "off": none; else the socket's path.
    control_socket: str | None = None
    # While this file exists, GET /readyz answers 503 (registry/web/probes.py): draining.
    drain_file: str | None = None
    # GET /metrics (registry/web/metrics.py): "off" (not served: 404), "token" (served to
    # `Authorization: Bearer <metrics_token>` only) or "open" (to anyone who reaches it).
    metrics: str = "off"
    metrics_token: str | None = None
    # The request log and every other log line (registry/web/observe.py): "json" or "text".
    log_format: str = "json"
    # How long a request line may wait to be written with others (registry/web/log_lines.py);
    # 0: each at once.
    log_flush_ms: int = 100
    # Bearer tokens (POST /member-api/v3/login): how long one lives, in seconds; and how many
    # live (unrevoked, unexpired) keys a member may hold (POST /member-api/v3/keys).
    token_lifetime_s: int = 3600
    max_keys_per_user: int = 10

    def __post_init__(self):
        if self.metrics not in METRICS_MODES:
            raise ValueError(
                f"REGISTRY_METRICS={self.metrics!r}: must be one of {', '.join(METRICS_MODES)}"
            )
        if self.metrics == "token" and len(self.metrics_token or "") < MIN_METRICS_TOKEN:
            raise ValueError(
                f"REGISTRY_METRICS=token needs REGISTRY_METRICS_TOKEN of at least "
                f"{MIN_METRICS_TOKEN} characters"
            )
        if not 0 <= self.log_flush_ms <= MAX_LOG_FLUSH_MS:
            raise ValueError(
                f"REGISTRY_LOG_FLUSH_MS={self.log_flush_ms}: must be 0 to {MAX_LOG_FLUSH_MS}"
            )
        if self.log_format not in LOG_FORMATS:
            raise ValueError(
                f"REGISTRY_LOG_FORMAT={self.log_format!r}: must be one of {', '.join(LOG_FORMATS)}"
            )

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
            limits=Limits.from_env(env),
            compression=_flag(env.get("REGISTRY_COMPRESSION"), True),
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
            metrics=(env.get("REGISTRY_METRICS") or "off").strip().lower(),
            metrics_token=(env.get("REGISTRY_METRICS_TOKEN") or "").strip() or None,
            log_format=(env.get("REGISTRY_LOG_FORMAT") or "json").strip().lower(),
            log_flush_ms=_number(env, "REGISTRY_LOG_FLUSH_MS", 100),
            control_socket=(env.get("REGISTRY_CONTROL_SOCKET") or "").strip() or None,
            drain_file=(env.get("REGISTRY_DRAIN_FILE") or "").strip() or None,
            token_lifetime_s=_positive(env, "REGISTRY_TOKEN_LIFETIME_S", 3600),
            max_keys_per_user=_positive(env, "REGISTRY_MAX_KEYS_PER_USER", 10),
        )
