"""Fixtures shared by tests/ and contract_tests/: one database per backend, the demo data set,
a known world of users and keys, and the app under test.

Every test that takes `client` (or `world`) runs once on SQLite and once on PostgreSQL. The
PostgreSQL run needs REGISTRY_TEST_DATABASE_URL; without it those runs are reported as skipped,
except under CI=true, where a missing or unreachable PostgreSQL fails the whole run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import hypothesis
import pytest

from tests import parallel
from tests.postgres import IN_CI, PG_URL, drop_run_database
from tests.postgres import postgres_problem as _postgres_problem

# Hypothesis's too_slow health check times input generation by the wall clock: with two test
# workers on two cores it fails the admin contract run's bodies (nested arrays, patterns) after
# 30 s under load. Every run is derandomized, so suppressing it changes no generated case. Set as
# the loaded profile because Schemathesis's pytest builder takes health-check settings from the
# profile its tests inherit; contract_tests/harness.py also sets it in the Schemathesis config.
hypothesis.settings.register_profile(
    "registry", suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile("registry")

BACKENDS = list(parallel.BACKENDS)
# The batch deletion secret of the app under test (POST /admin-api/v3/objects/init_batch_delete).
BATCH_DELETION_KEY = "7d1e4b2a-9c3f-4e5d-8a6b-0f1e2d3c4b5a"


def pytest_configure(config):
    if IN_CI:
        problem = _postgres_problem()
        if problem:
            pytest.exit(f"CI=true requires PostgreSQL: {problem}", returncode=3)


def pytest_unconfigure(config):
    """The run's own PostgreSQL database goes with the run (tests/postgres.py)."""
    drop_run_database()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    parallel.check_backend_ids(items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`make test` runs each backend's tests on a worker of their own: see tests/parallel.py."""
    return parallel.make_scheduler(config, log)


def _reset_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'registry.db'}"
    problem = _postgres_problem()
    if problem:
        pytest.skip(problem)
    _reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture(scope="session")
def backend(database_url) -> str:
    return "postgres" if database_url.startswith("postgres") else "sqlite"


@pytest.fixture(scope="session")
def app(database_url):
    from models.storage.db import connection, database
    from models.storage.migrations import migrate
    from registry.app import create_app
    from registry.seed.demo import seed_demo
    from registry.settings import Settings

    # The app's database threads keep a pooled connection each (registry/web/threads.py), and the
    # concurrency tests use all of them at once; the tests' own threads and helpers take theirs
    # from the same pool: room for both. Rate limiting is off: the whole suite calls with a few
    # keys (tests/test_rate_limit.py tests it on apps and servers of its own).
    application = create_app(
        Settings(
            database_url=database_url,
            validate_responses=True,
            batch_deletion_key=BATCH_DELETION_KEY,
            db_pool_size=16,
            rate_limit=False,
        )
    )
    with connection():
        migrate()
        seed_demo()
    yield application
    if hasattr(database.obj, "close_all"):
        database.obj.close_all()


@dataclass
class Persona:
    email: str
    key: str
    role: str
    institution_id: int
    user_id: int

    @property
    def headers(self) -> dict:
        return {"X-Pharos-API-User": self.email, "X-Pharos-API-Key": self.key}


@dataclass
class World:
    """The demo data set plus one API key per demo user, and a few broken credentials."""

    personas: dict[str, Persona] = field(default_factory=dict)
    institutions: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Persona:
        return self.personas[name]


@pytest.fixture(scope="session")
def world(app) -> World:
    from models.institution import Institution
    from models.storage.base import utcnow
    from models.storage.db import connection, database
    from models.user import User, issue_key, revoke_keys
    from registry.seed.demo import USERS

    result = World()
    with connection(), database.atomic():
        result.institutions = {i.identifier: i.id for i in Institution.select()}
        names = {
            "admin@aptrust.org": "sysadmin",
            "admin@example.edu": "inst_admin",
            "user@example.edu": "inst_user",
            "admin@test.edu": "other_admin",
            "user@test.edu": "other_user",
            "user@library.example.edu": "sub_user",
            "user@museum.org": "museum_user",
            "nobody@example.edu": "no_role",
        }
        for email, _name, role, ident in USERS:
            user = User.get(User.email == email)
            result.personas[names[email]] = Persona(
                email, issue_key(user), role, result.institutions[ident], user.id
            )
        disabled = User.create(
            email="disabled@example.edu",
            name="Disabled User",
            role="institutional_user",
            institution=result.institutions["example.edu"],
        )
        result.personas["disabled"] = Persona(
            disabled.email,
            issue_key(disabled),
            disabled.role,
            result.institutions["example.edu"],
            disabled.id,
        )
        disabled.deactivated_at = utcnow()
        disabled.save()
        revoked = User.create(
            email="revoked@example.edu",
            name="Revoked Key",
            role="institutional_user",
            institution=result.institutions["example.edu"],
        )
        result.personas["revoked"] = Persona(
            revoked.email,
            issue_key(revoked),
            revoked.role,
            result.institutions["example.edu"],
            revoked.id,
        )
        revoke_keys(revoked)
    return result


@pytest.fixture(scope="session")
def client(app, world):
    return app.test_client()


class QueryCounter(logging.Handler):
    """Counts the SQL statements Peewee executes (it logs each one at DEBUG)."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.statements: list = []

    def emit(self, record):
        if record.name == "peewee":  # not peewee.pool's connection bookkeeping
            self.statements.append(record.msg)


@pytest.fixture
def own_client(database_url):
    """`make(**settings)`: a test client of an app of its own, built with these settings (fresh
    rate-limit counters, its own middleware options), on the session's database. Building an
    app binds the shared database handle to a new one: the session's is put back each time."""
    from models.storage.db import database
    from registry.app import create_app
    from registry.settings import Settings

    bound = database.obj

    def make(**settings):
        defaults = dict(
            database_url=database_url,
            validate_responses=True,
            batch_deletion_key=BATCH_DELETION_KEY,
            db_pool_size=16,
        )
        app = create_app(Settings(**{**defaults, **settings}))
        database.initialize(bound)  # the apps share the session's database handle
        return app.test_client()

    yield make
    database.initialize(bound)


@pytest.fixture
def count_queries():
    logger = logging.getLogger("peewee")
    counter = QueryCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    yield counter
    logger.removeHandler(counter)
    logger.setLevel(previous)
