"""The `registry` command: database, demo data, institutions, users, keys, and the server."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import tempfile

import peewee

from models.enums import INSTITUTION_TYPES, ROLES, SYSTEM_USER
from models.errors import DomainError
from models.storage.db import database, init_database, unavailable
from registry.settings import Settings


def _connect(settings: Settings) -> None:
    """The database, within the connect timeout. No statement or lock timeout: an operator's
    migration or seed may take as long as it takes."""
    init_database(
        settings.database_url,
        pool_size=2,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        connect_timeout_s=settings.db_connect_timeout_s,
    )
    database.connect(reuse_if_open=True)


def cmd_migrate(args, settings):
    from models.storage.migrations import current_version, migrate

    applied = migrate()
    if applied:
        print(
            f"applied migration(s) {', '.join(map(str, applied))}; schema version "
            f"{current_version()}",
            file=sys.stderr,
        )
    else:
        print(f"schema is up to date (version {current_version()})", file=sys.stderr)


def cmd_seed(args, settings):
    from models.institution import Institution
    from models.storage.migrations import migrate

    if getattr(args, "from_fixtures", None) is not None:
        return _seed_from_fixtures(args, settings)
    if not args.demo:
        raise SystemExit("registry seed: say what to seed (--demo)")
    migrate()
    if Institution.select().exists():
        if args.if_empty:
            print("database already has data; demo seed skipped", file=sys.stderr)
            return
        raise SystemExit("registry seed --demo: the database is not empty")
    from registry.seed.demo import seed_demo

    counts = seed_demo()
    print("seeded demo data: " + ", ".join(f"{k} {v}" for k, v in counts.items()), file=sys.stderr)


def _seed_from_fixtures(args, settings):
    """The reference system's test fixtures (CSV files), written through the admin API
    (registry.seed.fixture_loader): of an in-process app on DATABASE_URL, or of the server --url
    names (credentials from REGISTRY_API_USER and REGISTRY_API_KEY)."""
    if args.demo:
        raise SystemExit("registry seed: --demo and --from-fixtures exclude each other")
    import httpx

    from registry.seed.fixture_loader import FixtureApiError, FixtureError, Target, load_fixtures

    try:
        if args.url:
            user, key = os.environ.get("REGISTRY_API_USER"), os.environ.get("REGISTRY_API_KEY")
            if not user or not key:
                raise SystemExit(
                    "registry seed --from-fixtures --url: set REGISTRY_API_USER "
                    "and REGISTRY_API_KEY to a sysadmin's e-mail and key"
                )
            report = load_fixtures(args.from_fixtures, target=Target(args.url, user, key))
        else:
            report = _seed_fixtures_in_process(args, settings)
            if report is None:
                return
    except (FixtureError, FixtureApiError) as exc:
        raise SystemExit(f"registry seed --from-fixtures: {exc}") from None
    except httpx.HTTPError as exc:  # the server cannot be reached, or the connection broke
        raise SystemExit(f"registry seed --from-fixtures: {args.url}: {exc!r}") from None
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(
        "seeded reference fixtures through the admin API: "
        + ", ".join(f"{k} {v}" for k, v in report.counts.items())
        + (
            ""
            if args.url
            else "; the load's own key is revoked, no API key is active (use "
            "`registry keys issue --email ...`)"
        ),
        file=sys.stderr,
    )


def _seed_fixtures_in_process(args, settings):
    from models.institution import Institution
    from models.storage.migrations import migrate
    from registry.app import create_app
    from registry.seed.fixture_loader import load_fixtures

    migrate()
    if Institution.select().exists():
        if args.if_empty:
            print("database already has data; fixtures seed skipped", file=sys.stderr)
            return None
        raise SystemExit("registry seed --from-fixtures: the database is not empty")
    database.close()
    # Binds models.storage.db.database to settings.database_url again. The load is this
    # process's own requests, not a client's: no rate limit.
    app = create_app(dataclasses.replace(settings, rate_limit=False))
    return load_fixtures(args.from_fixtures, app=app)


def cmd_institutions_create(args, settings):
    from models.caller import Caller
    from models.enums import SYSADMIN
    from models.institution import Institution
    from models.institution_writes import create_institution

    parent = None
    if args.parent:
        parent = Institution.get_or_none(Institution.identifier == args.parent)
        if parent is None:
            raise SystemExit(f"no institution {args.parent!r}")
    if args.type == "SubscriptionInstitution" and parent is None:
        raise SystemExit("a SubscriptionInstitution needs --parent")
    # The admin API's own function: the same rules (name, identifier, parent, duplicates).
    # The command line acts as the operator: a sysadmin, who reads every institution.
    operator = Caller(user_id=0, email=SYSTEM_USER, role=SYSADMIN, institution_id=0)
    made = create_institution(
        operator,
        {
            "identifier": args.identifier,
            "name": args.name,
            "type": args.type,
            "member_institution_id": parent.id if parent else None,
        },
    )
    print(made["id"])


def _user(email):
    from models.user import User

    user = User.get_or_none(User.email == email.strip().lower())
    if user is None:
        raise SystemExit(f"no user with e-mail {email!r}")
    return user


def cmd_users_create(args, settings):
    from models.institution import Institution
    from models.user import User

    inst = Institution.get_or_none(Institution.identifier == args.institution)
    if inst is None:
        raise SystemExit(f"no institution {args.institution!r}")
    if args.role == "admin" and inst.identifier != "aptrust.org" and not args.allow_admin:
        raise SystemExit(
            "role admin (sysadmin) belongs to the operator's institution "
            "(aptrust.org); pass --allow-admin to grant it elsewhere"
        )
    try:
        with database.atomic():
            user = User.create(
                email=args.email.strip().lower(), name=args.name, role=args.role, institution=inst
            )
    except peewee.IntegrityError:
        raise SystemExit(f"user {args.email!r} already exists") from None
    print(user.id)


def cmd_users_disable(args, settings):
    from models.storage.base import utcnow

    user = _user(args.email)
    user.deactivated_at = utcnow()
    user.save()
    print(f"disabled {user.email}", file=sys.stderr)


def cmd_keys_issue(args, settings):
    from models.user import issue_key

    user = _user(args.email)
    with database.atomic():
        secret = issue_key(user)
    print(secret)


def cmd_keys_revoke(args, settings):
    from models.user import revoke_keys

    user = _user(args.email)
    with database.atomic():
        count = revoke_keys(user, args.prefix)
    print(f"revoked {count} key(s) of {user.email}", file=sys.stderr)


def cmd_spot_tests_run(args, settings):
    from models.spot_tests import SpotTestError, run_spot_tests

    try:
        run = run_spot_tests(args.user)
    except SpotTestError as exc:
        raise SystemExit(f"registry spot-tests run: {exc}") from None
    for line in run.lines:
        print(f"spot tests: {line}")


def control_socket_path(setting: str | None, host: str, port: int) -> str | None:
    """The gunicorn control socket of the instance serving host:port: `setting` (the
    REGISTRY_CONTROL_SOCKET path), None for "off", or by default one of its own, named by host
    and port, in $XDG_RUNTIME_DIR/registry/ (else ~/.gunicorn/, gunicorn's own fallback).
    gunicorn's default is one path for every instance a user runs: a second instance took
    the first one's socket over, and the first to stop removed the other's."""
    if setting is not None:
        return None if setting.lower() == "off" else setting
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        directory = os.path.join(runtime, "registry")
    else:
        directory = os.path.join(os.path.expanduser("~"), ".gunicorn")
    name = re.sub(r"[^A-Za-z0-9.-]", "_", host) or "_"
    return os.path.join(directory, f"registry-{name}-{port}.ctl")


def gunicorn_command(
    app: str, host: str, port: int, workers: int, control_socket: str | None = None
) -> list[str]:
    """How production runs an ASGI app: gunicorn, uvicorn workers holding requests to the
    limits of the settings (registry/web/http_server.py), the app loaded once before the fork
    (--preload), the metrics' hooks (registry/web/gunicorn_config.py), the control socket at
    `control_socket` (None: none). No gunicorn access log: Registry writes its own line per
    request (registry/web/observe.py). The benchmark runs its floor app with the same command."""
    control = ["--control-socket", control_socket] if control_socket else ["--no-control-socket"]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--worker-class",
        "registry.web.http_server.Worker",
        "--workers",
        str(workers),
        "--bind",
        f"{host}:{port}",
        "--preload",
        "--config",
        "python:registry.web.gunicorn_config",
        *control,
    ]


def cmd_serve(args, settings):
    if args.workers and args.workers > 0:
        if settings.metrics != "off" and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # The workers' metric files: this instance's own directory, set before gunicorn
            # (and so prometheus-client) starts; its master removes it when it stops.
            metrics_dir = tempfile.mkdtemp(prefix="registry-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
            os.environ["REGISTRY_METRICS_OWN_DIR"] = metrics_dir
        argv = gunicorn_command(
            "registry.app:create_app()",
            args.host,
            args.port,
            args.workers,
            control_socket_path(settings.control_socket, args.host, args.port),
        )
        os.execvp(argv[0], argv)
    import uvicorn

    from registry.web.http_server import protocol_class

    uvicorn.run(
        "registry.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_level=settings.log_level,
        access_log=False,  # Registry writes its own line per request (registry/web/observe.py)
        http=protocol_class(settings.limits),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="registry", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser("migrate", help="apply pending migrations (safe to repeat)").set_defaults(
        func=cmd_migrate, needs_db=True
    )

    seed = sub.add_parser("seed", help="load data")
    seed.add_argument("--demo", action="store_true", help="the deterministic demo data set")
    seed.add_argument("--if-empty", action="store_true", help="do nothing if data exists")
    seed.add_argument(
        "--from-fixtures",
        metavar="DIR",
        help="the reference system's test fixtures (a directory of CSV files), "
        "loaded through the admin API",
    )
    seed.add_argument(
        "--url",
        metavar="URL",
        help="with --from-fixtures: load through the admin API of the server at "
        "URL (a sysadmin's REGISTRY_API_USER and REGISTRY_API_KEY) instead "
        "of an in-process app on DATABASE_URL",
    )
    seed.set_defaults(func=cmd_seed, needs_db=True)

    inst = sub.add_parser("institutions").add_subparsers(dest="sub", required=True)
    ic = inst.add_parser("create", help="create an institution; prints its id")
    ic.add_argument("--identifier", required=True, help="domain name, e.g. example.edu")
    ic.add_argument("--name", required=True)
    ic.add_argument("--type", choices=INSTITUTION_TYPES, default="MemberInstitution")
    ic.add_argument("--parent", help="identifier of the parent (subscription institutions)")
    ic.set_defaults(func=cmd_institutions_create, needs_db=True)

    users = sub.add_parser("users").add_subparsers(dest="sub", required=True)
    uc = users.add_parser("create", help="create a user; prints its id")
    uc.add_argument("--email", required=True)
    uc.add_argument("--name", required=True)
    uc.add_argument("--role", required=True, choices=ROLES)
    uc.add_argument("--institution", required=True, help="institution identifier")
    uc.add_argument("--allow-admin", action="store_true", help=argparse.SUPPRESS)
    uc.set_defaults(func=cmd_users_create, needs_db=True)
    ud = users.add_parser("disable", help="disable a user: their keys stop working")
    ud.add_argument("--email", required=True)
    ud.set_defaults(func=cmd_users_disable, needs_db=True)

    keys = sub.add_parser("keys").add_subparsers(dest="sub", required=True)
    ki = keys.add_parser("issue", help="issue a key; prints it, alone, once")
    ki.add_argument("--email", required=True)
    ki.set_defaults(func=cmd_keys_issue, needs_db=True)
    kr = keys.add_parser("revoke", help="revoke a user's keys")
    kr.add_argument("--email", required=True)
    kr.add_argument("--prefix", help="only the key starting with this (rgk_ + 8 characters)")
    kr.set_defaults(func=cmd_keys_revoke, needs_db=True)

    spot = sub.add_parser("spot-tests", help="restoration spot tests").add_subparsers(
        dest="sub", required=True
    )
    sr = spot.add_parser(
        "run",
        help="queue a spot-test restore for each institution that is due "
        "(for cron: at most one run in 24 hours, never two at once)",
    )
    sr.add_argument(
        "--user",
        default=SYSTEM_USER,
        help="the sysadmin the restores are requested by (default: %(default)s)",
    )
    sr.set_defaults(func=cmd_spot_tests_run, needs_db=True)

    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--workers",
        type=int,
        default=0,
        help="gunicorn worker processes (0: one in-process uvicorn server)",
    )
    serve.set_defaults(func=cmd_serve, needs_db=False)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.needs_db and not getattr(args, "url", None):
            _connect(settings)
        args.func(args, settings)
    except DomainError as exc:
        raise SystemExit(f"registry: {exc.detail}") from None
    except Exception as exc:
        reason = unavailable(exc)
        if reason is None:
            raise
        # One line, no traceback: the database is down, unreachable or does not answer.
        raise SystemExit(
            f"registry: database unavailable: {reason.kind} ({reason.message})"
        ) from None
    finally:
        if database.obj is not None and not database.obj.is_closed():
            database.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
