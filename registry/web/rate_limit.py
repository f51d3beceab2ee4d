"""Per-key rate limits: whom a request is charged to, its budget, and the headers that say so.

A request is charged before anything else is done for it (a middleware of the pipeline, around
both the fast reads and Connexion's chain): one hash and one counter, no database.

- A request that presents an API key (X-Pharos-API-Key) is charged to that key: to a BLAKE2b
  digest of it, never the key itself, whether or not the key turns out valid. Checking the key
  first would put its database lookup before the limit, for every request of a flood.
- A request that presents a bearer token (`Authorization: Bearer`, models/token.py) is charged
  to the key that made the token: the token ends in that key's partition (below), put there
  when it was made, so a key's tokens share its budget and buy none of their own. A made-up
  token names a made-up partition, or one it copied from a token it holds (whose budget it could
  spend anyway); like a made-up key, it answers 401 and is charged to its address too.
- A request without either is charged to its client address (the address uvicorn puts in the
  scope: behind a proxy, X-Forwarded-For from FORWARDED_ALLOW_IPS).
- A request with a key that failed (a 401) is charged to its client address as well, after the
  answer: made-up keys each start a budget of their own, but not their address's. Once the
  address's budget is spent that way, this process refuses every request from it that presents
  a key, before the key is looked up, until the window resets (a key guesser or a flood of bad
  keys pays one counter, not one database lookup, per request).

Reads (GET, HEAD) and writes (every other method) have separate budgets, each a fixed window
(registry/web/rate_counters.py). Every answer says where the caller stands, in the header fields
of draft-ietf-httpapi-ratelimit-headers-11 (structured fields, RFC 9651):

    RateLimit-Policy: "reads";q=6000;w=60, "writes";q=1200;w=60
    RateLimit: "reads";r=5999;t=42

and a request over its budget is answered 429 application/problem+json (the draft's
quota-exceeded problem type, naming the policy in `violated-policies`) with Retry-After.
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

import limits
from starlette.responses import Response

from models.user import key_tag
from registry.web import metrics
from registry.web.rate_counters import counts_for
from registry.web.responses import dumps

READ_METHODS = frozenset({"GET", "HEAD"})
KEY_HEADER = b"x-pharos-api-key"  # registry.security.KEY_HEADER, as ASGI spells header names
AUTHORIZATION = b"authorization"
# The tail of a token (models/token.py): `.` and a key's partition digest, 32 hex digits.
TOKEN_TAG = re.compile(rb"\.([0-9a-f]{32})\s*$")
QUOTA_EXCEEDED = "https://iana.org/assignments/http-problem-types#quota-exceeded"
# Addresses refused for failed keys, remembered per process: at most this many (oldest go first).
MAX_BLOCKED_ADDRESSES = 10_000


@dataclass(frozen=True)
class Budget:
    """One quota policy: `quota` requests per `window` seconds, named `name` in the headers."""

    name: str
    quota: int
    window: int
    key_prefix: str  # of its counters: limits' key for the policy, then the partition
    field_prefix: bytes  # of its RateLimit member: '"reads";r='

    @classmethod
    def parse(cls, name: str, text: str, setting: str = "") -> Budget:
        """`text` in limits' notation: "6000/minute", "100 per 10 seconds"."""
        try:
            item = limits.parse(text)
        except ValueError as exc:
            raise ValueError(
                f"{setting or 'rate limit'} ({name}): {text!r} is not like '6000/minute' ({exc})"
            ) from None
        return cls(
            name, item.amount, item.get_expiry(), item.key_for(name), b'"%s";r=' % name.encode()
        )

    def item(self) -> bytes:
        """Its member of RateLimit-Policy."""
        return b'"%s";q=%d;w=%d' % (self.name.encode(), self.quota, self.window)


class Verdict:
    """Where a request stands in its budget once charged (a plain class: a frozen dataclass's
    constructor cost a microsecond of every request)."""

    __slots__ = ("budget", "count", "reset_in", "policy_header", "by_key")

    def __init__(
        self, budget: Budget, count: int, reset_in: float, policy_header: bytes, by_key: bool
    ):
        self.budget = budget
        self.count = count  # in the window, this request included
        self.reset_in = reset_in  # seconds until the window resets
        self.policy_header = policy_header
        self.by_key = by_key

    @property
    def allowed(self) -> bool:
        return self.count <= self.budget.quota

    @property
    def reset_seconds(self) -> int:
        return max(0, math.ceil(self.reset_in))

    def headers(self) -> list[tuple[bytes, bytes]]:
        budget = self.budget
        return [
            (b"ratelimit-policy", self.policy_header),
            (
                b"ratelimit",
                b"%s%d;t=%d"
                % (
                    budget.field_prefix,
                    max(0, budget.quota - self.count),
                    max(0, math.ceil(self.reset_in)),
                ),
            ),
        ]


class Policy:
    """The four budgets: per API key and per client address, reads and writes."""

    def __init__(self, key_reads: str, key_writes: str, address_reads: str, address_writes: str):
        setting = "REGISTRY_RATE_LIMIT_"
        self.key = (
            Budget.parse("reads", key_reads, setting + "KEY_READS"),
            Budget.parse("writes", key_writes, setting + "KEY_WRITES"),
        )
        self.address = (
            Budget.parse("address-reads", address_reads, setting + "ADDRESS_READS"),
            Budget.parse("address-writes", address_writes, setting + "ADDRESS_WRITES"),
        )
        # RateLimit-Policy lists both budgets of the caller's partition, so that it stays the
        # same over the caller's answers, whatever their method.
        self.key_header = b", ".join(budget.item() for budget in self.key)
        self.address_header = b", ".join(budget.item() for budget in self.address)

    @classmethod
    def from_settings(cls, settings) -> Policy:
        return cls(
            settings.rate_limit_key_reads,
            settings.rate_limit_key_writes,
            settings.rate_limit_address_reads,
            settings.rate_limit_address_writes,
        )


def key_partition(key: bytes) -> str:
    """Whom a key's requests are charged to: a digest of the key (only the digest is ever
    stored, in memory or in Redis, and it is not the digest the database keeps)."""
    return "k:" + key_tag(key)


def bearer_partition(authorization: bytes) -> str | None:
    """Whom a request with this Authorization field is charged to: the key that made its
    token, or a digest of the field itself for a bearer credential without a tag; None for
    any other scheme (not a credential of this API: charged to the address)."""
    kind, _, token = authorization.partition(b" ")
    if kind.lower() != b"bearer" or not token.strip():
        return None
    tag = TOKEN_TAG.search(token)
    return "k:" + tag.group(1).decode() if tag else key_partition(token.strip())


def client_address(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "-"


class Limiter:
    """Charges requests to their budgets in a store of counters (registry/web/rate_counters.py).
    `refused` counts the 429s (and registry_rate_limited_total, registry/web/metrics.py)."""

    def __init__(self, policy: Policy, counts):
        self.policy = policy
        self.counts = counts
        # The in-process store answers without awaiting: a coroutine less per request.
        self.charge_now = getattr(counts, "charge_now", None)
        self.blocked: OrderedDict[str, tuple[float, Budget, int]] = OrderedDict()
        self.refused = 0

    @classmethod
    def from_settings(cls, settings) -> Limiter | None:
        """None when rate limiting is off."""
        if not settings.rate_limit:
            return None
        return cls(Policy.from_settings(settings), counts_for(settings.redis_url))

    async def check(self, scope) -> Verdict | None:
        """Charge the request; None when the counters cannot answer (let it through)."""
        read = scope["method"] in READ_METHODS
        key = partition = None
        for name, value in scope["headers"]:
            if name == KEY_HEADER:
                key = value
                break
            if name == AUTHORIZATION and partition is None:
                partition = bearer_partition(value)
        if key:
            partition = key_partition(key)
        by_key = partition is not None
        if by_key:
            if self.blocked:
                refusal = self._blocked(client_address(scope))
                if refusal is not None:
                    return refusal
            budget = self.policy.key[0 if read else 1]
            header = self.policy.key_header
        else:
            budget = self.policy.address[0 if read else 1]
            partition, header = "a:" + client_address(scope), self.policy.address_header
        if self.charge_now is not None:
            charged = self.charge_now(f"{budget.key_prefix}/{partition}", budget.window)
        else:
            charged = await self.counts.charge(f"{budget.key_prefix}/{partition}", budget.window)
            if charged is None:
                return None
        return Verdict(budget, charged[0], charged[1], header, by_key)

    async def failed_key(self, scope) -> None:
        """A request that presented a key was answered 401: charge its client address too, and
        refuse the address's keyed requests once that budget is spent."""
        budget = self.policy.address[0 if scope["method"] in READ_METHODS else 1]
        address = client_address(scope)
        charged = await self.counts.charge(f"{budget.key_prefix}/a:{address}", budget.window)
        if charged is not None and charged[0] > budget.quota:
            self.blocked[address] = (time.monotonic() + charged[1], budget, charged[0])
            self.blocked.move_to_end(address)
            while len(self.blocked) > MAX_BLOCKED_ADDRESSES:
                self.blocked.popitem(last=False)

    def _blocked(self, address: str) -> Verdict | None:
        entry = self.blocked.get(address)
        if entry is None:
            return None
        until, budget, count = entry
        left = until - time.monotonic()
        if left <= 0:
            del self.blocked[address]
            return None
        return Verdict(budget, count, left, self.policy.address_header, False)


def too_many_requests(verdict: Verdict, path: str) -> Response:
    """The 429: problem+json naming the spent budget, Retry-After and the RateLimit fields."""
    budget = verdict.budget
    whose = (
        "this API key"
        if verdict.by_key
        else "this client address (requests without an API key, or with one that failed)"
    )
    retry_after = max(1, verdict.reset_seconds)
    body = {
        "type": QUOTA_EXCEEDED,
        "title": "Too Many Requests",
        "status": 429,
        "detail": f"The {budget.name} budget of {whose} is spent: {budget.quota} requests "
        f"per {budget.window} seconds. Send again in {retry_after} seconds.",
        "violated-policies": [budget.name],
    }
    if len(path) <= 200:
        body["instance"] = path
    response = Response(dumps(body), status_code=429, media_type="application/problem+json")
    response.raw_headers += [(b"retry-after", b"%d" % retry_after), *verdict.headers()]
    return response


class RateLimit:
    """Pure ASGI middleware of the pipeline (registry/pipeline.py): every request is charged
    before the app sees it; a request over its budget is answered 429 here, every other answer
    gets the RateLimit fields. `limiter` None: rate limiting is off."""

    def __init__(self, app, limiter: Limiter | None = None):
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope, receive, send):
        limiter = self.limiter
        if limiter is None or scope["type"] != "http":
            return await self.app(scope, receive, send)
        verdict = await limiter.check(scope)
        if verdict is None:  # the counters did not answer: fail open
            metrics.RATE_LIMIT_FAIL_OPEN.inc()
            return await self.app(scope, receive, send)
        if not verdict.allowed:
            limiter.refused += 1
            metrics.RATE_LIMITED.labels(verdict.budget.name).inc()
            return await too_many_requests(verdict, scope["path"])(scope, receive, send)
        headers = verdict.headers()
        status = 0

        async def send_with_headers(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
        if status == 401 and verdict.by_key:
            await limiter.failed_key(scope)
