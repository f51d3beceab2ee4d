"""Capture the SQL Registry issues for each scenario, for the floor app to replay.

    python -m bench.capture DATABASE_URL PLAN.json [--objects N --files-per-object M ...]

Registry answers each scenario once, in this process, while every statement it sends to the
database is recorded with its parameters. Statements come out of models/storage/query.py's cache of
compiled SQL, so the floor runs exactly what Registry runs without retyping any of it, and
without importing Registry's request path: it reads only the plan this writes. The plan also
says which result columns the floor must convert on SQLite (timestamps and booleans, as the
`Listing` that compiled the statement declares them), and keeps Registry's answer, which the
harness later compares with the floor's over HTTP.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import threading
from dataclasses import asdict

from bench.generate import DataSet, object_identifier
from bench.scenarios import caller_headers, middle_object, scenarios


class Recorder:
    """Wraps the bound database's execute_sql and keeps (sql, params) of every call."""

    def __init__(self, db):
        self.db, self.calls, self.lock = db, [], threading.Lock()
        self.original = db.execute_sql

        def execute_sql(sql, params=None, *args, **kwargs):
            with self.lock:
                self.calls.append((sql, list(params or ())))
            return self.original(sql, params, *args, **kwargs)

        db.execute_sql = execute_sql

    def take(self) -> list[tuple[str, list]]:
        with self.lock:
            calls, self.calls = self.calls, []
        return calls


def _column_kinds() -> dict[str, list[str]]:
    """Compiled page/row SQL -> the kind of each output column, from every Listing's cache."""
    from models.storage.query import Listing

    kinds = {}
    for listing in (o for o in gc.get_objects() if isinstance(o, Listing)):
        for _, value in listing._cache.items():
            if isinstance(value, tuple) and len(value) == 2:
                kinds[value[0].sql] = [c.kind for c in listing.columns]
    return kinds


def capture(url: str, ds: DataSet) -> dict:
    from models.storage.db import database, is_postgres
    from registry.app import create_app
    from registry.settings import Settings

    app = create_app(Settings(database_url=url, log_level="warning"))
    recorder = Recorder(database.obj)
    headers = caller_headers(ds)
    with app.test_client() as client:
        middle = object_identifier(ds, middle_object(ds))
        found = client.get(f"/member-api/v3/objects/show/{middle}", headers=headers)
        found.raise_for_status()
        object_id = found.json()["id"]
        recorder.take()
        plan = []
        for scenario in scenarios(ds, object_id):
            response = client.get(scenario.path, headers=headers)
            if response.status_code != 200:
                raise SystemExit(
                    f"{scenario.name}: Registry answered {response.status_code}: "
                    f"{response.text[:300]}"
                )
            plan.append((scenario, recorder.take(), response.content))
    kinds = _column_kinds()
    auth_sql = plan[0][1][0][0]
    out = []
    for scenario, calls, body in plan:
        if calls[0][0] != auth_sql:
            raise SystemExit(f"{scenario.name}: the first statement is not the key lookup")
        statements = []
        for sql, params in calls[1:]:
            if not all(isinstance(p, (int, str)) or p is None for p in params):
                raise SystemExit(f"{scenario.name}: a parameter the plan cannot carry: {params}")
            column_kinds = kinds.get(sql, [])
            statements.append(
                {
                    "sql": sql,
                    "params": params,
                    "datetime": []
                    if is_postgres()
                    else [i for i, k in enumerate(column_kinds) if k == "datetime"],
                    "bool": []
                    if is_postgres()
                    else [i for i, k in enumerate(column_kinds) if k == "bool"],
                }
            )
        out.append({**asdict(scenario), "statements": statements, "registry_body": body.decode()})
    return {"database_url": url, "auth_sql": auth_sql, "object_id": object_id, "scenarios": out}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capture", description=__doc__)
    parser.add_argument("database_url")
    parser.add_argument("plan")
    parser.add_argument("--objects", type=int, required=True)
    parser.add_argument("--files-per-object", type=int, default=3)
    parser.add_argument("--institutions", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    ds = DataSet(args.objects, args.files_per_object, args.institutions, args.seed)
    plan = capture(args.database_url, ds)
    with open(args.plan, "w", encoding="utf-8") as fh:
        json.dump(plan, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
