"""The floor: a bare ASGI app that answers the scenarios with Registry's own SQL, and nothing else.

    BENCH_FLOOR_PLAN=plan.json gunicorn 'bench.floor:create_app()' -k uvicorn_worker.UvicornWorker

It reads the plan bench.capture wrote (each scenario's request and the statements Registry sent
for it) and, for each request, does the least work that gives the same answer: the key lookup
(SHA-256 and a constant-time compare, as Registry does), the scenario's statements straight on
the driver (sqlite3 on the event loop; psycopg's async connections on PostgreSQL), rows into
dicts and orjson. No routing table, no validation, no thread hop: what is left is the cost of the
database and of the bytes, which is the limit Registry is measured against.

BENCH_FLOOR_HOP=1 (PostgreSQL only; bench/db_hop.py) runs each request's statements in a thread
instead, as Registry does: a thread per connection of a sync psycopg pool of Registry's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import sqlite3
from urllib.parse import parse_qsl, urlencode

import orjson

OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
POOL_SIZE = int(os.environ.get("REGISTRY_DB_POOL_SIZE") or 8)  # Registry's default pool size
MAX_PER_PAGE = 1000  # models.storage.query.MAX_PER_PAGE: a larger per_page is served as this many
HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
]


def _sqlite_datetime(value):
    return None if value is None else f"{value[:10]}T{value[11:]}Z"


def _bool(value):
    return None if value is None else bool(value)


class Floor:
    def __init__(self, plan: dict):
        self.url = plan["database_url"]
        self.auth_sql = plan["auth_sql"]
        self.routes = {s["path"]: s for s in plan["scenarios"]}
        self.postgres = self.url.startswith(("postgres://", "postgresql://"))
        self.hop = self.postgres and os.environ.get("BENCH_FLOOR_HOP") == "1"
        self.conn = self.pool = None  # opened in the worker, after gunicorn forks
        self.threads = None

    @contextlib.asynccontextmanager
    async def session(self):
        """A connection for one request. SQLite: the worker's one connection, used on the event
        loop (its queries are CPU, not waiting). PostgreSQL: psycopg's async pool, as many
        connections per worker as Registry's pool, so that waiting on the server never blocks
        the loop (blocking it would make the floor slower than Registry's threads)."""
        if not self.postgres:
            yield self.conn or self._connect_sqlite()
            return
        if self.pool is None:
            from psycopg_pool import AsyncConnectionPool

            self.pool = AsyncConnectionPool(
                self.url,
                min_size=POOL_SIZE,
                max_size=POOL_SIZE,
                kwargs={"autocommit": True},
                open=False,
            )
            await self.pool.open()
        async with self.pool.connection() as conn:
            yield conn

    def _connect_sqlite(self):
        from models.storage.db import SQLITE_PRAGMAS  # the same settings as Registry's connection

        self.conn = sqlite3.connect(
            self.url[len("sqlite:///") :], check_same_thread=False, isolation_level=None
        )
        for name, value in SQLITE_PRAGMAS.items():
            self.conn.execute(f"PRAGMA {name} = {value}")
        return self.conn

    async def fetch(self, conn, sql: str, params) -> tuple[list[str], list[tuple]]:
        if self.postgres and not self.hop:
            cursor = await conn.execute(sql, params)
            return [d[0] for d in cursor.description], await cursor.fetchall()
        cursor = conn.execute(sql, params)
        return [d[0] for d in cursor.description], cursor.fetchall()

    async def rows(self, conn, statement: dict) -> list[dict]:
        names, fetched = await self.fetch(conn, statement["sql"], statement["params"])
        out = []
        for row in fetched:
            record = dict(zip(names, row, strict=True))
            for i in statement["datetime"]:
                record[names[i]] = _sqlite_datetime(record[names[i]])
            for i in statement["bool"]:
                record[names[i]] = _bool(record[names[i]])
            out.append(record)
        return out

    async def counted_rows(self, conn, statement: dict) -> tuple[int, list[dict]]:
        """The count and the rows of a page read in one statement (models/storage/query.py):
        each row is the count, a `__row` marker (NULL when the page is empty: the one row
        of the outer join) and the page's columns."""
        names, fetched = await self.fetch(conn, statement["sql"], statement["params"])
        count = fetched[0][0] if fetched else 0
        rows = [dict(zip(names[2:], row[2:], strict=True)) for row in fetched if row[1] is not None]
        return count, rows

    async def authenticated(self, conn, headers: dict) -> bool:
        email, key = headers.get(b"x-pharos-api-user"), headers.get(b"x-pharos-api-key")
        if not email or not key:
            return False
        wanted = hashlib.sha256(key).hexdigest()
        _, fetched = await self.fetch(conn, self.auth_sql, [wanted])
        stored = fetched[0][1].encode() if fetched else b"\x00no user\x00"
        return hmac.compare_digest(stored, email.decode().strip().lower().encode()) and bool(
            fetched
        )

    async def answer(self, conn, scenario: dict, path: str, query: str):
        statements = scenario["statements"]
        if scenario["kind"] == "list":
            params = dict(parse_qsl(query))
            page = int(params.get("page", 1))
            per_page = min(int(params.get("per_page", 20)), MAX_PER_PAGE)
            if '"__row"' in statements[0]["sql"]:  # PostgreSQL: count and page in one statement
                count, rows = await self.counted_rows(conn, statements[0])
            else:
                _, fetched = await self.fetch(conn, statements[0]["sql"], statements[0]["params"])
                count = fetched[0][0]
                rows = await self.rows(conn, statements[1]) if count > (page - 1) * per_page else []
            has_next = count > (page - 1) * per_page + len(rows)
            return {
                "count": count,
                "next": _link(path, query, page + 1, per_page) if has_next else "",
                "previous": _link(path, query, page - 1, per_page) if page > 1 else "",
                "results": rows,
            }
        rows = await self.rows(conn, statements[0])
        if not rows:
            return None
        record = rows[0]
        if scenario["kind"] == "file":
            record["premis_events"] = await self.rows(conn, statements[1])
            record["checksums"] = await self.rows(conn, statements[2])
            record["storage_records"] = await self.rows(conn, statements[3])
        return record

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        query = scope["query_string"].decode("latin-1")
        raw_path = scope["raw_path"].decode("latin-1")
        scenario = self.routes.get(f"{raw_path}?{query}" if query else raw_path)
        status, body = 404, b'{"status":404}'
        if scenario is not None and self.hop:
            status, body = await asyncio.get_running_loop().run_in_executor(
                self._threads(), self._in_thread, scenario, scope, query
            )
        elif scenario is not None:
            async with self.session() as conn:
                status, body = await self.respond(conn, scenario, scope, query)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": HEADERS + [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def respond(self, conn, scenario: dict, scope, query: str) -> tuple[int, bytes]:
        if not await self.authenticated(conn, dict(scope["headers"])):
            return 401, b'{"status":401}'
        record = await self.answer(conn, scenario, scope["path"], query)
        if record is None:
            return 404, b'{"status":404}'
        return 200, orjson.dumps(record, option=OPTIONS)

    def _threads(self):
        if self.threads is None:
            from concurrent.futures import ThreadPoolExecutor

            from psycopg_pool import ConnectionPool

            self.pool = ConnectionPool(
                self.url, min_size=POOL_SIZE, max_size=POOL_SIZE, kwargs={"autocommit": True}
            )
            self.threads = ThreadPoolExecutor(POOL_SIZE)
        return self.threads

    def _in_thread(self, scenario: dict, scope, query: str) -> tuple[int, bytes]:
        """`respond` on a sync connection: its coroutines never wait (fetch is sync here), so
        one step runs each to its end."""
        with self.pool.connection() as conn:
            coroutine = self.respond(conn, scenario, scope, query)
            try:
                coroutine.send(None)
            except StopIteration as done:
                return done.value
            raise RuntimeError("a floor coroutine waited in the thread hop")


def _link(path: str, query: str, number: int, per_page: int) -> str:
    items = [
        (k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in ("page", "per_page")
    ]
    items += [("page", str(number)), ("per_page", str(per_page))]
    items.sort(key=lambda kv: kv[0])
    return f"{path}?{urlencode(items)}"


def create_app() -> Floor:
    """The app for the plan named by BENCH_FLOOR_PLAN (gunicorn 'bench.floor:create_app()')."""
    with open(os.environ["BENCH_FLOOR_PLAN"], encoding="utf-8") as fh:
        return Floor(json.load(fh))
