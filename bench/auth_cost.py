"""`python -m bench.auth_cost LABEL`: what authenticating one key costs, in-process (issue 18).

Times `models.user.authenticate` (and the stale-`last_used_at` test the security function adds,
when the tree has it) over a demo database on SQLite: 7 turns of 5,000 calls after 2,000 to
warm up, one connection held. Run it once per tree (PYTHONPATH) to compare two commits; it
prints the median microseconds per call. It measures the lookup and the Python around it, not
the write of `last_used_at`, which happens at most once a minute per key.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time


def main(argv=None) -> int:
    label = (argv or sys.argv[1:] or ["this tree"])[0]
    import models.user as users
    from models.storage.db import connection, database, init_database
    from models.storage.migrations import migrate
    from models.user import User, issue_key
    from registry.seed.demo import seed_demo

    database.initialize(init_database(f"sqlite:///{tempfile.mkdtemp()}/auth.db"))
    with connection():
        migrate()
        seed_demo()
        key = issue_key(User.get(User.email == "user@example.edu"))
    stale = getattr(users, "needs_touch", None)

    def once():
        caller = users.authenticate("user@example.edu", key)
        if stale is not None:
            stale(caller.key_last_used_at)

    with connection():
        for _ in range(2000):
            once()
        turns = []
        for _ in range(7):
            began = time.perf_counter()
            for _ in range(5000):
                once()
            turns.append((time.perf_counter() - began) / 5000 * 1e6)
    print(f"{label}: {statistics.median(turns):.1f} us per authenticate (turns {turns})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
