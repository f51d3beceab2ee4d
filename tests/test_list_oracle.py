"""The object and file lists answer exactly what a plain-Python oracle computes.

Each example inserts generated rows into two fresh institutions (the caller's, and a neighbour
whose rows must never show), then sends several generated queries (any of the spec's filters,
sorts and paging) as an institutional user and compares `count`, `next`/`previous` presence
and every field of every returned row with tests/list_oracle.py's answer.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.checksum import Checksum
from models.enums import ACCESS, BAGIT_PROFILES, CHECKSUM_ALGORITHMS, STATES, STORAGE_OPTIONS
from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.stats import refresh_object_stats
from models.storage.db import connection, database
from tests.list_oracle import answer
from tests.list_strategies import INSTANTS, instants, maybe_text, queries, text
from tests.listing_rows import Scratch

OBJECTS, FILES = "/member-api/v3/objects", "/member-api/v3/files"
QUERIES_PER_DATASET = 5
SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Paths inside a bag around the payload boundary: only "<object>/data/..." is payload.
# "data." and "data-" sort between "data" and "data/" ('-' < '.' < '/' < '0').
BAG_PATHS = [
    "data/",
    "data/sub/",
    "data",
    "data.",
    "data-",
    "data0",
    "Data/",
    "dat",
    "tagmanifest-",
    "",
]
OLD_PROFILE = "https://example.org/bagit-profile-v0.9.json"


def file_draft():
    return st.fixed_dictionaries(
        {
            "path": st.sampled_from(BAG_PATHS),
            "name": text(),
            "state": st.sampled_from(STATES),
            "size": st.integers(0, 10**12),
        }
    )


def object_draft():
    return st.fixed_dictionaries(
        {
            "mine": st.sampled_from([True, True, True, False]),
            "suffix": text(),
            "title": text(),
            "description": maybe_text(),
            "alt_identifier": maybe_text(),
            "access": st.sampled_from(ACCESS),
            "bag_name": text(),
            "created_at": instants(),
            "updated_at": instants(),
            "state": st.sampled_from(STATES),
            "etag": maybe_text(),
            "bag_group_identifier": maybe_text(),
            "storage_option": st.sampled_from(STORAGE_OPTIONS),
            "bagit_profile_identifier": st.sampled_from([*BAGIT_PROFILES, OLD_PROFILE]),
            "source_organization": maybe_text(),
            "internal_sender_identifier": maybe_text(),
            "internal_sender_description": maybe_text(),
            "files": st.lists(file_draft(), max_size=3),
        }
    )


def sized(low: int, high: int, element):
    """Lists whose length is uniform in [low, high]: plain st.lists mostly draws short ones,
    and a page of a three-row list proves little about sorting and paging."""
    return st.sampled_from(range(low, high + 1)).flatmap(
        lambda n: st.lists(element, min_size=n, max_size=n)
    )


def object_drafts():
    return sized(1, 12, object_draft())


def unique(*numbers: int) -> str:
    """A suffix that keeps generated identifiers apart: no '~' occurs inside it, so two
    identifiers ending in different suffixes always differ."""
    return "~" + ".".join(map(str, numbers))


def rendered(row: dict) -> dict:
    """A row as the JSON body shows it: datetimes in RFC 3339 UTC with `Z`."""
    return {k: v.isoformat() + "Z" if isinstance(v, dt.datetime) else v for k, v in row.items()}


def institution_fields(institution) -> dict:
    return {
        "institution_id": institution.id,
        "institution_name": institution.name,
        "institution_identifier": institution.identifier,
        "institution_type": institution.type,
        "institution_parent_id": institution.member_institution_id,
    }


def insert_objects(scratch: Scratch, drafts: list[dict], subscriber: bool):
    """Insert the drafts (and their files); return the caller and the expected object rows."""
    neighbour = scratch.institution()
    member = scratch.member(parent=neighbour if subscriber else None)
    rows = []
    for n, draft in enumerate(drafts):
        institution = member.institution if draft["mine"] else neighbour
        fields = {k: v for k, v in draft.items() if k not in ("mine", "suffix", "files")}
        identifier = f"{member.institution.identifier}/{draft['suffix']}{unique(n)}"
        obj = IntellectualObject.create(identifier=identifier, institution=institution, **fields)
        files = [
            GenericFile.create(
                identifier=f"{identifier}/{f['path']}{f['name']}{unique(obj.id, i)}",
                intellectual_object=obj,
                institution=institution,
                size=f["size"],
                state=f["state"],
                file_format="text/plain",
                uuid=f"{obj.id:08x}-0000-4000-8000-{i:012x}",
            )
            for i, f in enumerate(draft["files"])
        ]
        active = [f for f in files if f.state == "A"]
        payload = [f for f in active if f.identifier.startswith(identifier + "/data/")]
        rows.append(
            {
                "id": obj.id,
                "identifier": identifier,
                **fields,
                **institution_fields(institution),
                "file_count": len(active),
                "size": sum(f.size for f in active),
                "payload_file_count": len(payload),
                "payload_size": sum(f.size for f in payload),
            }
        )
    refresh_object_stats([r["id"] for r in rows])
    return member, rows


def check(client, path: str, member, rows: list[dict], query) -> None:
    response = client.get(path, params=query.params, headers=member.headers)
    assert response.status_code == 200, (query.params, response.text)
    body = response.json()
    visible = [r for r in rows if r["institution_id"] == member.id]
    count, expected = answer(visible, query.conditions, query.sort, query.page, query.per_page)
    assert body["count"] == count, query.params
    assert [r["id"] for r in body["results"]] == [r["id"] for r in expected], query.params
    for got, want in zip(body["results"], map(rendered, expected), strict=True):
        assert got.keys() == want.keys()
        assert {k: v for k, v in got.items() if v != want[k]} == {}, want
    assert (body["next"] != "") == (query.page * query.per_page < count)
    assert (body["previous"] != "") == (query.page > 1)


@SETTINGS
@given(drafts=object_drafts(), subscriber=st.booleans(), data=st.data())
def test_objects_list_matches_oracle(client, drafts, subscriber, data):
    with Scratch() as scratch:
        with connection(), database.atomic():
            member, rows = insert_objects(scratch, drafts, subscriber)
        for _ in range(QUERIES_PER_DATASET):
            check(client, OBJECTS, member, rows, data.draw(queries(OBJECTS, rows, member.id)))


def file_draft_with_digests():
    return st.fixed_dictionaries(
        {
            "object": st.integers(0, 2),
            "name": text(),
            "size": st.integers(0, 10**12),
            "state": st.sampled_from(STATES),
            "storage_option": st.sampled_from(STORAGE_OPTIONS),
            "file_format": st.sampled_from(["text/plain", "image/jpeg"]),
            "uuid": st.uuids(version=4).map(str),
            "created_at": instants(),
            "updated_at": instants(),
            "last_fixity_check": instants(),
            "mtime": st.none() | instants(),
            # Few distinct times, so "newest digest" often needs the id tie-break.
            "checksums": st.lists(
                st.tuples(
                    st.sampled_from(CHECKSUM_ALGORITHMS),
                    st.sampled_from(INSTANTS[:2]),
                    st.text("0123456789abcdef", min_size=1, max_size=6),
                ),
                max_size=4,
            ),
        }
    )


def file_drafts():
    return sized(1, 15, file_draft_with_digests())


def parent_drafts():
    return st.lists(
        st.fixed_dictionaries(
            {"mine": st.sampled_from([True, True, True, False]), "access": st.sampled_from(ACCESS)}
        ),
        min_size=1,
        max_size=3,
    )


def newest_digests(checksums: list[Checksum]) -> dict:
    newest = {a: None for a in CHECKSUM_ALGORITHMS}
    for c in sorted(checksums, key=lambda c: (c.created_at, c.id)):
        newest[c.algorithm] = c.digest
    return newest


def insert_files(scratch: Scratch, parents: list[dict], drafts: list[dict]):
    """Insert objects and their files with checksums; return (caller, expected file rows)."""
    neighbour = scratch.institution()
    member = scratch.member()
    objects = []
    for n, parent in enumerate(parents):
        institution = member.institution if parent["mine"] else neighbour
        objects.append(
            IntellectualObject.create(
                identifier=f"{member.institution.identifier}/bag-{n}",
                title="t",
                bag_name=f"bag-{n}",
                institution=institution,
                access=parent["access"],
            )
        )
    rows = []
    for n, draft in enumerate(drafts):
        obj = objects[draft["object"] % len(objects)]
        institution = member.institution if obj.institution_id == member.id else neighbour
        fields = {
            k: draft[k]
            for k in (
                "size",
                "state",
                "storage_option",
                "file_format",
                "created_at",
                "updated_at",
                "last_fixity_check",
            )
        }
        # Random order, but unique: the last 8 hex digits number the file.
        fields["uuid"] = f"{draft['uuid'][:-8]}{n:08x}"
        identifier = f"{obj.identifier}/{draft['name']}{unique(n)}"
        gf = GenericFile.create(
            identifier=identifier,
            intellectual_object=obj,
            institution=institution,
            mod_time=draft["mtime"],
            **fields,
        )
        checksums = [
            Checksum.create(
                algorithm=a,
                datetime=when,
                digest=d,
                generic_file=gf,
                institution=institution,
                created_at=when,
                updated_at=when,
            )
            for a, when, d in draft["checksums"]
        ]
        rows.append(
            {
                "id": gf.id,
                "identifier": identifier,
                "intellectual_object_id": obj.id,
                "institution_id": institution.id,
                "mtime": draft["mtime"],
                **fields,
                "object_identifier": obj.identifier,
                "access": obj.access,
                "institution_name": institution.name,
                "institution_identifier": institution.identifier,
                **newest_digests(checksums),
            }
        )
    refresh_object_stats([o.id for o in objects])
    return member, rows


@SETTINGS
@given(parents=parent_drafts(), drafts=file_drafts(), data=st.data())
def test_files_list_matches_oracle(client, parents, drafts, data):
    with Scratch() as scratch:
        with connection(), database.atomic():
            member, rows = insert_files(scratch, parents, drafts)
        for _ in range(QUERIES_PER_DATASET):
            check(client, FILES, member, rows, data.draw(queries(FILES, rows, member.id)))
