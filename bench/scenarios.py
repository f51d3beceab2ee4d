"""The read requests the harness measures, for a generated data set.

Every scenario is one fixed request of the member user of the first generated institution, so
each app answers the same question many times. The requests pick rows whose answers do not
change with the size of the data set (the prefix matches 25 objects at every size; the object
and file shown lie in the middle of the table), so the scale curve shows what the size costs.
`kind` says how the floor shapes the answer: a list envelope, one row, or a file with its
checksums, events and storage records.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from bench.generate import DataSet, bench_key, member_email, object_identifier

LIST, ROW, FILE = "list", "row", "file"


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str  # path and query, as sent
    kind: str
    group: str  # "list" or "show": which target the scenario counts for


def caller_headers(ds: DataSet) -> dict[str, str]:
    email = member_email(1)
    return {"X-Pharos-API-User": email, "X-Pharos-API-Key": bench_key(email, ds.seed)}


def middle_object(ds: DataSet) -> int:
    """The number of an object of institution 1 halfway through the table."""
    n = max(1, ds.objects // 2)
    return n - (n - 1) % ds.institutions


def scenarios(ds: DataSet, object_id: int) -> list[Scenario]:
    """`object_id`: the database id of `middle_object(ds)` (looked up by the caller)."""
    n = middle_object(ds)
    prefix = object_identifier(ds, 1201)[: -len("01")]  # inst1.../bag-000012: 25 objects
    file_identifier = f"{object_identifier(ds, n)}/data/file-0000.{_first_ext(ds, n)}"
    return [
        Scenario(
            "list objects", "/member-api/v3/objects?per_page=20&sort=created_at__desc", LIST, "list"
        ),
        Scenario(
            "list objects by prefix",
            f"/member-api/v3/objects?identifier__starts_with={quote(prefix, safe='')}",
            LIST,
            "list",
        ),
        Scenario(
            "list files of an object",
            f"/member-api/v3/files?intellectual_object_id={object_id}",
            LIST,
            "list",
        ),
        Scenario(
            "list work items", "/member-api/v3/items?action=Ingest&status=Success", LIST, "list"
        ),
        Scenario("show object", f"/member-api/v3/objects/show/{object_id}", ROW, "show"),
        Scenario("show file", f"/member-api/v3/files/show/{file_identifier}", FILE, "show"),
    ]


def _first_ext(ds: DataSet, n: int) -> str:
    from bench.generate import FORMATS

    return FORMATS[n % len(FORMATS)][0]
