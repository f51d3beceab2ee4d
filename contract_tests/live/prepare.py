"""Set-up steps of the live contract run (run.sh) that the `registry` CLI has no command for.

python -m contract_tests.live.prepare fresh-database URL
    drop and re-create the PostgreSQL database of URL (the live server's, nothing else)
python -m contract_tests.live.prepare drop-database URL
    drop it again when the run ends
python -m contract_tests.live.prepare free-port
    print a TCP port on 127.0.0.1 that nothing listens on (a run's own, unless one is set)
python -m contract_tests.live.prepare guard --sysadmin EMAIL > guard.json
    create the stand-ins of the admin run's guard (see hooks.py) in DATABASE_URL and print
    what the guard protects and what it swaps in
python -m contract_tests.live.prepare wfc-auth > auth.json
    the Web Fuzzing Commons auth document of the member run: the member and the peer, each
    with the key run.sh issued (CONTRACT_MEMBER_* / CONTRACT_PEER_* variables)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from urllib.parse import urlsplit, urlunsplit

# Databases that are never the live run's to drop.
_NEVER_DROP = {"postgres", "template0", "template1"}


def _database_of(url: str) -> tuple[str, str]:
    """(the database's name, the URL of the server's `postgres` database), or SystemExit."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise SystemExit(f"the live contract run needs a PostgreSQL URL, not {url!r}")
    name = parts.path.lstrip("/")
    if not name or name in _NEVER_DROP:
        raise SystemExit(f"refusing to drop database {name!r}")
    return name, urlunsplit(parts._replace(path="/postgres"))


def drop_database(url: str, create: bool = False) -> None:
    """DROP (and with `create`, CREATE again) the database of `url`, connected to the server's
    `postgres` database."""
    import psycopg
    from psycopg import sql

    name, admin_url = _database_of(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        # FORCE ends the connections a previous, interrupted run may have left behind.
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def fresh_database(url: str) -> None:
    """DROP and CREATE the database of `url`."""
    drop_database(url, create=True)


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1, so two runs never pick the same one."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def guard(sysadmin_email: str) -> dict:
    """Stand-ins for the operations that take access away, and the ids they stand in for.

    The stand-ins are those of the in-process admin run (contract_tests/admin_guard.py): an
    institution nobody signs in from, and one user of it per guarded user operation. What is
    protected here is only what the live admin run itself signs in with: the sysadmin and the
    sysadmin's institution."""
    from contract_tests.admin_guard import GUARDED, make_stand_ins
    from models.storage.db import connection, init_database
    from models.user import User
    from registry.settings import Settings

    init_database(Settings.from_env().database_url, pool_size=1)
    stand_ins = make_stand_ins(None)
    with connection():
        sysadmin = User.get(User.email == sysadmin_email.lower())
        institution_id = sysadmin.institution_id
    operations = {op: kind for op, kind in GUARDED.items() if kind in ("institution", "user")}
    return {
        "operations": operations,
        "protected": {"institution": [institution_id], "user": [sysadmin.id]},
        "stand_ins": {
            "institution": stand_ins.institution_id,
            "user": {op: stand_ins.users[op] for op, kind in operations.items() if kind == "user"},
        },
    }


def wfc_auth(env=os.environ) -> dict:
    """Two users of two institutions, `member` and `peer`; the member run sends everything as
    `member`, and replays the member's reads as `peer`."""

    def entry(name, prefix):
        email, key = env[f"{prefix}_EMAIL"], env[f"{prefix}_KEY"]
        return {
            "name": name,
            "fixedHeaders": [
                {"name": "X-Pharos-API-User", "value": email},
                {"name": "X-Pharos-API-Key", "value": key},
            ],
        }

    # The names are the ones schemathesis.toml's `user` and `peers` refer to.
    return {"auth": [entry("member", "CONTRACT_MEMBER"), entry("peer", "CONTRACT_PEER")]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m contract_tests.live.prepare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="step", required=True)
    fresh = sub.add_parser("fresh-database")
    fresh.add_argument("url")
    dropped = sub.add_parser("drop-database")
    dropped.add_argument("url")
    sub.add_parser("free-port")
    guarded = sub.add_parser("guard")
    guarded.add_argument("--sysadmin", required=True)
    sub.add_parser("wfc-auth")
    args = parser.parse_args(argv)
    if args.step == "fresh-database":
        fresh_database(args.url)
    elif args.step == "drop-database":
        drop_database(args.url)
    elif args.step == "free-port":
        print(free_port())
    elif args.step == "guard":
        json.dump(guard(args.sysadmin), sys.stdout, indent=2)
    else:
        json.dump(wfc_auth(), sys.stdout, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
