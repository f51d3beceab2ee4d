"""How the cross-tenant probes of the member run went.

    python -m contract_tests.live.probes --har MEMBER.har --peer-email EMAIL --probe-log FILE

Both probes report only findings; a run in which they never got to probe (no successful read
of the member's own records, a misconfigured peer) would pass just the same. This prints the
replays per operation and status, and exits 1 when either probe sent none:

- `object_level_authorization` (Schemathesis): its replays are in the run's HAR record, the
  only requests of the run sent as the peer (the run itself sends everything as the member);
- `cross_tenant_read` (hooks.py): it logs each replay to the probe log.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from urllib.parse import urlsplit

_ID = re.compile(r"/\d+(?=/|$)")


def peer_requests(har: dict, email: str) -> Counter:
    """(method path with ids as {id}, status) -> count, for the requests sent as `email`."""
    counts: Counter = Counter()
    for entry in har["log"]["entries"]:
        request = entry["request"]
        headers = {h["name"].lower(): h["value"] for h in request["headers"]}
        if headers.get("x-pharos-api-user") != email:
            continue
        path = _ID.sub("/{id}", urlsplit(request["url"]).path)
        counts[(f"{request['method']} {path}", entry["response"]["status"])] += 1
    return counts


def logged_replays(path: str) -> Counter:
    """(operation label, status) -> count, from cross_tenant_read's log."""
    counts: Counter = Counter()
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                label, status = line.rstrip("\n").split("\t")
                counts[(label, int(status))] += 1
    except FileNotFoundError:
        pass
    return counts


def _report(title: str, counts: Counter) -> bool:
    print(f"{title}: {sum(counts.values())} replays")
    for (what, status), n in sorted(counts.items()):
        print(f"  {n:4}  {what} -> {status}")
    if not counts:
        print(f"{title}: no replay at all, so nothing was probed", file=sys.stderr)
    return bool(counts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--har", required=True)
    parser.add_argument("--peer-email", required=True)
    parser.add_argument("--probe-log", required=True)
    args = parser.parse_args(argv)
    with open(args.har, encoding="utf-8") as handle:
        schemathesis_probes = peer_requests(json.load(handle), args.peer_email)
    ok = _report(f"object_level_authorization, as {args.peer_email}", schemathesis_probes)
    ok &= _report(f"cross_tenant_read, as {args.peer_email}", logged_replays(args.probe_log))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
