"""Load the reference fixtures through the admin API (`registry seed --from-fixtures DIR`).

registry.seed.fixtures reads and converts the CSVs; this module writes every row the admin API has
an operation for through that operation, so the fixtures pass the same validation and rules
as data from an ingest service, and the API computes what it computes (object counters,
buckets, timestamps):

* institutions: POST /institutions/create (an institution whose identifier the target
  already has is used as it is, e.g. the operator's institution of a running server);
* users: POST /users/create, then DELETE /users/disable/{id} for a deactivated one (a user
  whose e-mail the target already has is used as it is);
* objects: POST /objects/create/{institution_id};
* files: POST /files/create_batch/{institution_id}, one batch per institution, each file
  with its checksums, storage records and file-level PREMIS events nested;
* object-level PREMIS events: POST /events/create;
* work items: POST /items/create/{institution_id}.

The API assigns ids; fixture ids are mapped to them (`LoadReport.ids`, table -> fixture id ->
new id), and every reference between rows is translated through that map.

Written directly (the admin API has no operation for them), in-process only:

* the sysadmin bootstrap: the fixtures' operator institution (`aptrust.org`) and its first
  sysadmin user (`system@aptrust.org`), plus a key for that user issued for the run and
  revoked when it ends (the API needs a sysadmin to talk to);
* deletion requests and their file/object links (deletion_requests*.csv);
* alerts and their user/event/work-item links (alerts*.csv).

Against a running server (`url`, with a sysadmin's e-mail and key) nothing is written
directly: the server's database is its own. Its operator institution and key user must exist
already; deletion requests and alerts are skipped and reported, and a work item's
deletion_request_id is dropped.

The API timestamps what it creates: created_at/updated_at of every row, a user's
deactivated_at and the institutions' buckets are the API's, not the CSVs'.

Failure: the load is many requests, so it is not one transaction. A row the API rejects stops
the load with the API's problem detail and the row's table and fixture id. In-process the
loader only starts on an empty database and, on failure, empties it again (every table it
writes), so no half-loaded database remains. Against a server the loader refuses a server
that has objects, files, events or work items; after a failure there the server's database
holds what was loaded so far and must be recreated.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

import httpx
import peewee

from models.alert import Alert, AlertPremisEvent, AlertUser, AlertWorkItem
from models.checksum import Checksum
from models.deletion_request import DeletionRequest, DeletionRequestFile, DeletionRequestObject
from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.object_writes import WRITABLE
from models.premis_event import PremisEvent
from models.storage.db import connection, database
from models.storage_record import StorageRecord
from models.user import ApiKey, User, issue_key, revoke_keys
from models.work_item import WorkItem
from registry.seed.fixture_api import AdminApi, FixtureApiError, jsonable
from registry.seed.fixtures import FixtureError, LoadReport, read_fixtures

__all__ = ["FixtureError", "FixtureApiError", "load_fixtures", "Target"]

OPERATOR = "aptrust.org"
OBJECT_FIELDS = WRITABLE  # every field an object create lets a body set
FILE_FIELDS = (
    "identifier",
    "file_format",
    "size",
    "uuid",
    "state",
    "storage_option",
    "last_fixity_check",
)
EVENT_FIELDS = (
    "identifier",
    "event_type",
    "date_time",
    "outcome",
    "agent",
    "detail",
    "object",
    "outcome_detail",
    "outcome_information",
    "old_uuid",
)
WORK_ITEM_FIELDS = (
    "name",
    "etag",
    "bucket",
    "user",
    "note",
    "action",
    "stage",
    "status",
    "outcome",
    "bag_date",
    "date_processed",
    "retry",
    "node",
    "pid",
    "needs_admin_review",
    "queued_at",
    "size",
    "stage_started_at",
    "aptrust_approver",
    "inst_approver",
)
# Rows without an admin API operation, in foreign-key order.
DIRECT_TABLES = [DeletionRequest, DeletionRequestFile, DeletionRequestObject]
DIRECT_AFTER_ITEMS = [Alert, AlertUser, AlertPremisEvent, AlertWorkItem]
# Every table the loader writes, children first: what emptying the database after a failure
# deletes.
ALL_TABLES = [
    AlertWorkItem,
    AlertPremisEvent,
    AlertUser,
    Alert,
    WorkItem,
    DeletionRequestObject,
    DeletionRequestFile,
    DeletionRequest,
    PremisEvent,
    StorageRecord,
    Checksum,
    GenericFile,
    IntellectualObject,
    ApiKey,
    User,
    Institution,
]


@dataclass(frozen=True)
class Target:
    """A running server: its base URL and a sysadmin's credentials."""

    url: str
    user: str
    key: str


def load_fixtures(directory: str | Path, *, app=None, target: Target | None = None) -> LoadReport:
    """Load the fixtures in `directory` through the admin API: of `app` (an ASGI app bound to
    the current database; in-process) or of the server `target` names."""
    tables, report = read_fixtures(directory)
    report.ids = {}
    if target is not None:
        asyncio.run(_load_remote(tables, report, target))
        return report
    if app is None:
        raise ValueError("load_fixtures needs the app (in-process) or a target server")
    with connection():
        _refuse_non_empty()
        try:
            key_user, key = _bootstrap(tables, report)
            asyncio.run(_load_in_process(app, tables, report, key_user, key))
        except BaseException:
            _empty_database()
            raise
    return report


# --- in-process -----------------------------------------------------------------------------


def _refuse_non_empty() -> None:
    for model in ALL_TABLES:
        if model.select().exists():
            raise FixtureError(
                f"table {model._meta.table_name} is not empty; fixtures load "
                "only into an empty database"
            )


def _bootstrap(tables: dict, report: LoadReport) -> tuple[str, str]:
    """Write the operator institution and its first sysadmin directly; issue them a key."""
    institutions = {row["identifier"]: row for row in tables["institutions"]}
    operator = institutions.get(OPERATOR)
    admins = sorted(
        (
            row
            for row in tables["users"]
            if operator
            and row["institution_id"] == operator["id"]
            and row["role"] == "admin"
            and row["deactivated_at"] is None
        ),
        key=lambda row: row["id"],
    )
    if operator is None or not admins:
        raise FixtureError(
            f"the fixtures have no institution {OPERATOR} with an active "
            "sysadmin (role admin) to load the rest through the admin API"
        )
    with database.atomic():
        inst_id = _insert(Institution, operator, report)
        admin = dict(admins[0], institution_id=inst_id)
        user_id = _insert(User, admin, report, table="users", fixture_id=admins[0]["id"])
        key = issue_key(User.get_by_id(user_id))
    report.notes.append(
        f"written directly: institution {OPERATOR} and user "
        f"{admin['email']} (the sysadmin the load runs as)"
    )
    return admin["email"], key


def _insert(
    model, row: dict, report: LoadReport, *, table: str | None = None, fixture_id=None
) -> int | None:
    """Insert one fixture row directly, its references mapped; record the id it got."""
    table = table or model._meta.table_name
    values = {}
    for model_field in model._meta.sorted_fields:
        name = model_field.column_name
        if name not in row:
            continue
        value = row[name]
        if isinstance(model_field, peewee.ForeignKeyField) and value is not None:
            value = _mapped(report, model_field.rel_model._meta.table_name, value, table, row)
        if model_field.primary_key and isinstance(model_field, peewee.AutoField):
            continue
        values[model_field] = value
    new_id = model.insert(values).execute()
    if isinstance(model._meta.primary_key, peewee.AutoField):
        report.ids.setdefault(table, {})[fixture_id if fixture_id is not None else row["id"]] = (
            new_id
        )
        return new_id
    return None


def _mapped(report: LoadReport, table: str, fixture_id, where: str, row: dict) -> int:
    try:
        return report.ids[table][fixture_id]
    except KeyError:
        raise FixtureError(
            f"{where} {row.get('id', '')}: refers to {table} {fixture_id}, which was not loaded"
        ) from None


def _write_direct(models: list, tables: dict, report: LoadReport) -> None:
    with database.atomic():
        for model in models:
            name = model._meta.table_name
            for row in tables[name]:
                _insert(model, row, report)
            report.counts[name] = len(tables[name])
            report.notes.append(f"{name}: written directly (no admin API operation)")


def _empty_database() -> None:
    with database.atomic():
        Institution.update(member_institution=None).execute()
        for model in ALL_TABLES:
            model.delete().execute()


async def _load_in_process(app, tables, report, user, key) -> None:
    transport = httpx.ASGITransport(app=app)
    headers = {"X-Pharos-API-User": user, "X-Pharos-API-Key": key}
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://fixtures.local", headers=headers, timeout=None
        ) as client:
            loader = _ApiLoader(AdminApi(client), tables, report)
            await loader.institutions_and_users()
            await loader.objects_files_events()
            await asyncio.to_thread(_in_thread, _write_direct, DIRECT_TABLES, tables, report)
            await loader.work_items(with_deletions=True)
            await asyncio.to_thread(_in_thread, _write_direct, DIRECT_AFTER_ITEMS, tables, report)
    finally:
        await asyncio.to_thread(_in_thread, _revoke, user)


def _in_thread(function, *args):
    with connection():
        return function(*args)


def _revoke(email: str) -> None:
    with database.atomic():
        revoke_keys(User.get(User.email == email))


# --- against a server ---------------------------------------------------------------------


async def _load_remote(tables, report, target: Target) -> None:
    headers = {"X-Pharos-API-User": target.user, "X-Pharos-API-Key": target.key}
    async with httpx.AsyncClient(
        base_url=target.url.rstrip("/"), headers=headers, timeout=120
    ) as client:
        api = AdminApi(client)
        for path in ("/objects", "/files", "/events", "/items"):
            if await api.count(path):
                raise FixtureError(
                    f"the server at {target.url} has data ({path}); fixtures "
                    "load only into a server without objects, files, events "
                    "or work items"
                )
        loader = _ApiLoader(api, tables, report)
        await loader.institutions_and_users()
        await loader.objects_files_events()
        await loader.work_items(with_deletions=False)
    for model in DIRECT_TABLES + DIRECT_AFTER_ITEMS:
        name = model._meta.table_name
        report.counts[name] = 0
        report.notes.append(
            f"{name}: skipped ({len(tables[name])} rows; no admin API "
            "operation, and a server's database is not written directly)"
        )


# --- through the API ----------------------------------------------------------------------


class _ApiLoader:
    """Writes the tables that have admin operations, in foreign-key order."""

    def __init__(self, api: AdminApi, tables: dict, report: LoadReport):
        self.api, self.tables, self.report = api, tables, report

    def _id(self, table: str, fixture_id, where: str, row: dict):
        if fixture_id is None:
            return None
        return _mapped(self.report, table, fixture_id, where, row)

    def _keep(self, table: str, fixture_id, new_id) -> None:
        self.report.ids.setdefault(table, {})[fixture_id] = new_id

    def _count(self, table: str) -> None:
        self.report.counts[table] = len(self.tables[table])

    async def institutions_and_users(self) -> None:
        for row in sorted(self.tables["institutions"], key=lambda r: r["id"]):
            what = f"institutions.csv id {row['id']}"
            known = await self.api.find_id("/institutions", what, identifier=row["identifier"])
            if known is None:
                body = {
                    "name": row["name"],
                    "identifier": row["identifier"],
                    "type": row["type"] or "MemberInstitution",
                    "member_institution_id": self._id(
                        "institutions", row["member_institution_id"], what, row
                    ),
                }
                for name in ("otp_enabled", "spot_restore_frequency"):
                    if row[name] is not None:
                        body[name] = row[name]
                known = (await self.api.create("/institutions/create", what, body))["id"]
                if row["state"] == "D":
                    await self.api.delete(f"/institutions/deactivate/{known}", what)
            self._keep("institutions", row["id"], known)
        self._count("institutions")
        for row in sorted(self.tables["users"], key=lambda r: r["id"]):
            what = f"users.csv id {row['id']}"
            known = await self.api.find_id("/users", what, email=row["email"])
            if known is None:
                body = {
                    "name": row["name"],
                    "email": row["email"],
                    "role": row["role"],
                    "institution_id": self._id("institutions", row["institution_id"], what, row),
                }
                known = (await self.api.create("/users/create", what, body))["id"]
                if row["deactivated_at"] is not None:
                    await self.api.delete(f"/users/disable/{known}", what)
            self._keep("users", row["id"], known)
        self._count("users")

    async def objects_files_events(self) -> None:
        for row in sorted(self.tables["intellectual_objects"], key=lambda r: r["id"]):
            what = f"intellectual_objects.csv id {row['id']}"
            institution = self._id("institutions", row["institution_id"], what, row)
            body = {name: row[name] for name in OBJECT_FIELDS if row[name] is not None}
            self._adapt_bag_name(row, body)
            made = await self.api.create(f"/objects/create/{institution}", what, body)
            self._keep("intellectual_objects", row["id"], made["id"])
        self._count("intellectual_objects")
        await self._files()
        for row in sorted(self.tables["premis_events"], key=lambda r: r["id"]):
            if row["generic_file_id"] is not None:
                continue  # nested in its file's batch
            what = f"premis_events.csv id {row['id']}"
            body = self._event(row, what)
            made = await self.api.create("/events/create", what, body)
            self._keep("premis_events", row["id"], made["id"])
        self._count("premis_events")

    def _adapt_bag_name(self, row: dict, body: dict) -> None:
        """Our rule: bag_name is the identifier after the slash. The reference fixtures name
        the tar file (`photos.tar` for `institution1.edu/photos`); such a value is left out,
        so the API fills in its own, and reported."""
        bag = row["identifier"].split("/", 1)[-1]
        if body.get("bag_name") not in (None, bag):
            self.report.notes.append(
                f"intellectual_objects.csv id {row['id']}: bag_name {body.pop('bag_name')!r} "
                f"left out (the API sets {bag!r}, the identifier after the slash)"
            )

    def _event(self, row: dict, what: str) -> dict:
        body = {name: jsonable(row[name]) for name in EVENT_FIELDS if row[name] is not None}
        body["institution_id"] = self._id("institutions", row["institution_id"], what, row)
        body["intellectual_object_id"] = self._id(
            "intellectual_objects", row["intellectual_object_id"], what, row
        )
        return body

    def _file_event(self, event: dict, file: dict) -> dict:
        """A file's event, nested: the API gives it the file's object and institution. An
        event whose fixture row names another object (event 7: object 3, file 17 of object 6)
        is reported."""
        body = {name: jsonable(event[name]) for name in EVENT_FIELDS if event[name] is not None}
        if (event["intellectual_object_id"], event["institution_id"]) != (
            file["intellectual_object_id"],
            file["institution_id"],
        ):
            self.report.notes.append(
                f"premis_events.csv id {event['id']}: names object "
                f"{event['intellectual_object_id']} (institution {event['institution_id']}), "
                f"but its file {file['id']} is of object {file['intellectual_object_id']} "
                f"(institution {file['institution_id']}); stored with the file's"
            )
        return body

    async def _files(self) -> None:
        by_file: dict[str, dict[int, list]] = {
            table: {} for table in ("checksums", "storage_records", "premis_events")
        }
        for table, rows in by_file.items():
            for row in sorted(self.tables[table], key=lambda r: r["id"]):
                if row["generic_file_id"] is not None:
                    rows.setdefault(row["generic_file_id"], []).append(row)
        batches: dict[int, list[dict]] = {}
        for row in sorted(self.tables["generic_files"], key=lambda r: r["id"]):
            what = f"generic_files.csv id {row['id']}"
            institution = self._id("institutions", row["institution_id"], what, row)
            body = {name: jsonable(row[name]) for name in FILE_FIELDS if row[name] is not None}
            body["intellectual_object_id"] = self._id(
                "intellectual_objects", row["intellectual_object_id"], what, row
            )
            if row["mod_time"] is not None:
                body["mtime"] = jsonable(row["mod_time"])
            body["checksums"] = [
                {
                    "algorithm": c["algorithm"],
                    "datetime": jsonable(c["datetime"]),
                    "digest": c["digest"],
                }
                for c in by_file["checksums"].get(row["id"], [])
            ]
            body["storage_records"] = [
                {"url": s["url"]} for s in by_file["storage_records"].get(row["id"], [])
            ]
            body["premis_events"] = [
                self._file_event(e, row) for e in by_file["premis_events"].get(row["id"], [])
            ]
            batches.setdefault(institution, []).append((row, body))
        for institution, entries in batches.items():
            first, last = entries[0][0]["id"], entries[-1][0]["id"]
            what = (
                f"generic_files.csv ids {first}..{last} (institution {institution}) with "
                "their checksums, storage records and events"
            )
            made = await self.api.create(
                f"/files/create_batch/{institution}", what, [body for _, body in entries]
            )
            for (row, _), created in zip(entries, made["results"], strict=True):
                self._keep("generic_files", row["id"], created["id"])
        self._count("generic_files")
        self._count("checksums")
        self._count("storage_records")
        await self._map_nested(by_file)

    async def _map_nested(self, by_file: dict) -> None:
        """The ids the API gave the nested records, read back from each new file's detail."""
        for fixture_file, new_file in self.report.ids.get("generic_files", {}).items():
            detail = await self.api.show(
                f"/files/show/{new_file}", f"generic_files.csv id {fixture_file}"
            )
            for table, key, match in (
                (
                    "checksums",
                    "checksums",
                    lambda s, f: (s["algorithm"], s["digest"]) == (f["algorithm"], f["digest"]),
                ),
                ("storage_records", "storage_records", lambda s, f: s["url"] == f["url"]),
                ("premis_events", "premis_events", lambda s, f: s["identifier"] == f["identifier"]),
            ):
                stored = list(detail.get(key) or [])
                for row in by_file[table].get(fixture_file, []):
                    found = next((s for s in stored if match(s, row)), None)
                    if found is None:
                        raise FixtureError(
                            f"{table}.csv id {row['id']}: not among file "
                            f"{new_file}'s {key} after its batch"
                        )
                    stored.remove(found)
                    self._keep(table, row["id"], found["id"])

    async def work_items(self, *, with_deletions: bool) -> None:
        dropped, mangled = 0, []
        file_objects = {
            row["id"]: row["intellectual_object_id"] for row in self.tables["generic_files"]
        }
        for row in sorted(self.tables["work_items"], key=lambda r: r["id"]):
            what = f"work_items.csv id {row['id']}"
            institution = self._id("institutions", row["institution_id"], what, row)
            body = {name: jsonable(row[name]) for name in WORK_ITEM_FIELDS if row[name] is not None}
            for name, table in (
                ("intellectual_object_id", "intellectual_objects"),
                ("generic_file_id", "generic_files"),
                ("deletion_request_id", "deletion_requests"),
            ):
                if row[name] is None:
                    continue
                if table == "deletion_requests" and not with_deletions:
                    dropped += 1
                    continue
                body[name] = self._id(table, row[name], what, row)
            file_object = file_objects.get(row["generic_file_id"])
            if file_object is not None and file_object != row["intellectual_object_id"]:
                self.report.notes.append(
                    f"{what}: names object {row['intellectual_object_id']}, but its file "
                    f"{row['generic_file_id']} is of object {file_object}; stored with the "
                    "file's object"
                )
                del body["intellectual_object_id"]
            if not 32 <= len(body["etag"]) <= 40:
                mangled.append(row["id"])
                body["etag"] = hashlib.md5(body["etag"].encode()).hexdigest()
            made = await self.api.create(f"/items/create/{institution}", what, body)
            self._keep("work_items", row["id"], made["id"])
        self._count("work_items")
        if mangled:
            self.report.notes.append(
                f"work_items.csv ids {', '.join(map(str, mangled))}: etag is a spreadsheet "
                "number (`1.01010101010101E+018`), not the 32-40 characters the API requires; "
                "stored as the MD5 hex digest of that text"
            )
        if dropped:
            self.report.notes.append(
                f"work_items.csv: deletion_request_id dropped from "
                f"{dropped} item(s) (deletion requests were skipped)"
            )
