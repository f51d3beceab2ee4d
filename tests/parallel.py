"""How `make test` spreads the suite over pytest-xdist workers: one worker per backend.

Every test on a backend shares that backend's session: one seeded database, one app, and a
module order that matters (contract_tests/conftest.py runs the admin contract tests, which
write, after the member suites of the same backend). So all the tests of one backend go, in
collection order, to one worker; the two backends run side by side. Tests that run on no
backend are handed out a module at a time to whichever worker is free.

The xdist controller does not collect, it only sees node ids: it reads the backend from the
test's parameter id (`test_x[sqlite]`, `test_y[postgres-GET]`). `check_backend_ids` makes
sure, in every run, that this reading agrees with the test's real parameters.
"""

from __future__ import annotations

import pytest

BACKENDS = ("sqlite", "postgres")


def backend_of(item) -> str | None:
    """The backend a collected test runs on: the value of a backend-parametrized fixture
    (the session's `database_url`, or a module's own, like test_reference_fixtures' `ref`)."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    found = {
        value for value in callspec.params.values() if isinstance(value, str) and value in BACKENDS
    }
    return found.pop() if len(found) == 1 else None


def backend_of_nodeid(nodeid: str) -> str | None:
    """The backend named by a node id's parameter id, or None."""
    name = nodeid.rsplit("::", 1)[-1]
    if not name.endswith("]") or "[" not in name:
        return None
    tokens = set(name[name.index("[") + 1 : -1].split("-"))
    found = tokens.intersection(BACKENDS)
    return found.pop() if len(found) == 1 else None


def check_backend_ids(items) -> None:
    """Fail the run if the controller would schedule a test by the wrong backend, e.g. a new
    parameter whose id happens to be 'sqlite'."""
    wrong = [item.nodeid for item in items if backend_of_nodeid(item.nodeid) != backend_of(item)]
    if wrong:
        raise pytest.UsageError(
            "these node ids do not name their backend as tests/parallel.py reads it: "
            + ", ".join(wrong[:10])
        )


def make_scheduler(config, log):
    """xdist's load-scope scheduling with one work unit per backend (and one per module for
    the tests that run on no backend)."""
    from xdist.scheduler import LoadScopeScheduling

    class BackendScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            backend = backend_of_nodeid(nodeid)
            return f"backend:{backend}" if backend else nodeid.split("::", 1)[0]

    return BackendScheduling(config, log)
