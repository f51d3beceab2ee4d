"""Read the reference system's test fixtures (APTrust Registry `db/fixtures/*.csv`).

The CSVs are the reference's own tables dumped with `COPY ... csv header`. This module reads
and converts them to our columns; registry.seed.fixture_loader writes them through the admin API.
Differences between the reference schema and ours are adapted here and nowhere else:

* users.csv writes dates as US `M/D/YY H:MM` (`1/12/21 17:14`); every other file uses ISO
  (`2021-01-12 17:14:35`, sometimes with `.000`). Both are read as naive UTC.
* users.csv carries ~29 web-login columns (password hash, reset token, sign-in stats, OTP/Authy,
  grace period, ...) that we do not model: they are dropped. Role and institution are kept.
  The fixtures' password/API key (`password`) is not carried over: no API keys are issued;
  issue them with `registry keys issue` (or `models.user.issue_key`) for the users you need.
* An empty CSV field is NULL (as `COPY ... csv` reads an unquoted empty field). Where our column
  is NOT NULL but has a default (work_items.size, institutions.otp_enabled, ...), the default
  is used. A NULL for a NOT NULL column without a default is an error.
* checksums gets `institution_id`, copied from its file (we denormalise it; the reference joins).
* intellectual_objects' file_count/size/payload_* are not read: the admin API computes them
  from the files it stores (the reference computes them in a view).
* generic file id 32 has a 37-character uuid (a typo: `...e42675e347155`); our column is
  varchar(36), so a uuid that is a well-formed UUID plus trailing characters is cut to 36 and
  the change is reported. Any other value too long for its column is an error (SQLite would
  store it silently, PostgreSQL would not).
* checksums 1 and 2 (file 1) carry placeholder digests (`12345678`, `9876543210`), not
  digests of their algorithm: they are dropped and reported (the admin API refuses them).
* storage_options.csv has no table in our model: it is skipped and reported.

"""

from __future__ import annotations

import csv
import datetime as dt
import re
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peewee

from models.alert import Alert, AlertPremisEvent, AlertUser, AlertWorkItem
from models.checksum import Checksum
from models.deletion_request import DeletionRequest, DeletionRequestFile, DeletionRequestObject
from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.storage_record import StorageRecord
from models.user import User
from models.work_item import WorkItem


class FixtureError(ValueError):
    """The fixture files cannot be loaded as they are (missing file, bad value, non-empty db)."""


# Reference columns of users.csv that have no counterpart in our users table.
USER_WEB_LOGIN_COLUMNS = frozenset(
    {
        "encrypted_password",
        "reset_password_token",
        "reset_password_sent_at",
        "remember_created_at",
        "sign_in_count",
        "current_sign_in_at",
        "last_sign_in_at",
        "current_sign_in_ip",
        "last_sign_in_ip",
        "encrypted_api_secret_key",
        "password_changed_at",
        "encrypted_otp_secret",
        "encrypted_otp_secret_iv",
        "encrypted_otp_secret_salt",
        "encrypted_otp_sent_at",
        "consumed_timestep",
        "otp_required_for_login",
        "enabled_two_factor",
        "confirmed_two_factor",
        "otp_backup_codes",
        "authy_id",
        "last_sign_in_with_authy",
        "authy_status",
        "email_verified",
        "initial_password_updated",
        "force_password_update",
        "account_confirmed",
        "grace_period",
        "awaiting_second_factor",
    }
)

# Reference files with no table of ours.
SKIPPED_FILES = {"storage_options.csv": "no storage_options table in our model"}


@dataclass(frozen=True)
class TableSpec:
    filename: str
    model: type[peewee.Model]
    ignored_columns: frozenset = frozenset()
    # Called with (row dict keyed by column name, loader state) after conversion.
    adapt: Callable[[dict, _State], None] | None = None


@dataclass
class LoadReport:
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # table -> fixture id -> the id the row got (filled by registry.seed.fixture_loader)
    ids: dict[str, dict] = field(default_factory=dict)


@dataclass
class _State:
    report: LoadReport
    file_institution: dict[int, int] = field(default_factory=dict)
    filename: str = ""
    line: int = 0


def _checksum_institution(row: dict, state: _State) -> None:
    if row.get("institution_id") is None:
        file_id = row["generic_file_id"]
        if file_id not in state.file_institution:
            raise FixtureError(
                f"{state.filename}:{state.line}: generic_file_id {file_id} "
                "is not in generic_files.csv"
            )
        row["institution_id"] = state.file_institution[file_id]


_UUID_PREFIX = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}"
)


def _file_uuid(row: dict, state: _State) -> None:
    value = row["uuid"]
    if value is not None and len(value) > 36 and _UUID_PREFIX.match(value):
        row["uuid"] = str(uuidlib.UUID(value[:36]))
        state.report.notes.append(
            f"{state.filename}:{state.line}: generic file {row['id']} uuid {value!r} has "
            f"{len(value)} characters; stored as {row['uuid']!r}"
        )
    state.file_institution[row["id"]] = row["institution_id"]


# Foreign-key order. work_items refers to deletion_requests (deletion_request_id), so
# deletion requests come before work items; alerts refer to both.
TABLES: list[TableSpec] = [
    TableSpec("institutions.csv", Institution),
    TableSpec("users.csv", User, ignored_columns=USER_WEB_LOGIN_COLUMNS),
    TableSpec("intellectual_objects.csv", IntellectualObject),
    TableSpec("generic_files.csv", GenericFile, adapt=_file_uuid),
    TableSpec("checksums.csv", Checksum, adapt=_checksum_institution),
    TableSpec("storage_records.csv", StorageRecord),
    TableSpec("premis_events.csv", PremisEvent),
    TableSpec("deletion_requests.csv", DeletionRequest),
    TableSpec("deletion_requests_generic_files.csv", DeletionRequestFile),
    TableSpec("deletion_requests_intellectual_objects.csv", DeletionRequestObject),
    TableSpec("work_items.csv", WorkItem),
    TableSpec("alerts.csv", Alert),
    TableSpec("alerts_users.csv", AlertUser),
    TableSpec("alerts_premis_events.csv", AlertPremisEvent),
    TableSpec("alerts_work_items.csv", AlertWorkItem),
]

# Computed, not read: filled after the files are loaded.
COMPUTED_COLUMNS = {
    IntellectualObject: frozenset({"file_count", "size", "payload_file_count", "payload_size"}),
}

_US_DATETIME = re.compile(r"^\d{1,2}/\d{1,2}/\d{2}(\d{2})? \d{1,2}:\d{2}(:\d{2})?$")


def parse_datetime(text: str) -> dt.datetime:
    """ISO (`2021-01-12 17:14:35[.000]`) or US `M/D/YY H:MM[:SS]` (users.csv), naive UTC."""
    text = text.strip()
    if _US_DATETIME.match(text):
        date_part, time_part = text.split(" ")
        year_fmt = "%Y" if len(date_part.rsplit("/", 1)[1]) == 4 else "%y"
        time_fmt = "%H:%M:%S" if time_part.count(":") == 2 else "%H:%M"
        return dt.datetime.strptime(text, f"%m/%d/{year_fmt} {time_fmt}")
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FixtureError(f"unreadable date-time {text!r}") from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


_TRUE = {"t", "true", "1", "yes", "y"}
_FALSE = {"f", "false", "0", "no", "n"}


def _convert(model_field: peewee.Field, text: str) -> Any:
    if isinstance(model_field, peewee.ForeignKeyField):
        return _convert(model_field.rel_field, text)
    if isinstance(model_field, peewee.DateTimeField):
        return parse_datetime(text)
    if isinstance(model_field, peewee.BooleanField):
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise FixtureError(f"unreadable boolean {text!r}")
    if isinstance(model_field, peewee.IntegerField):  # also BigInteger and the auto fields
        try:
            return int(text)
        except ValueError:
            raise FixtureError(f"unreadable integer {text!r}") from None
    return text


def _default(model_field: peewee.Field) -> Any:
    default = model_field.default
    return default() if callable(default) else default


def _read(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        rows = [(reader.line_num, row) for row in reader]
    return columns, rows


def _rows(spec: TableSpec, directory: Path, state: _State) -> list[dict]:
    path = directory / spec.filename
    if not path.is_file():
        raise FixtureError(f"{path}: missing")
    columns, raw_rows = _read(path)
    model = spec.model
    by_column = {f.column_name: f for f in model._meta.sorted_fields}
    computed = COMPUTED_COLUMNS.get(model, frozenset())
    unknown = [c for c in columns if c not in by_column and c not in spec.ignored_columns]
    if unknown:
        raise FixtureError(f"{path}: columns we cannot map: {', '.join(unknown)}")
    state.filename = spec.filename
    out = []
    for line, raw in raw_rows:
        state.line = line
        if None in raw:  # more fields than the header has
            raise FixtureError(f"{spec.filename}:{line}: more fields than columns")
        row: dict[str, Any] = {}
        for column in columns:
            if column not in by_column:
                continue
            text = raw[column]
            try:
                row[column] = (
                    None if text is None or text == "" else _convert(by_column[column], text)
                )
            except FixtureError as exc:
                raise FixtureError(f"{spec.filename}:{line}: {column}: {exc}") from None
        if spec.adapt:
            spec.adapt(row, state)
        values: dict[peewee.Field, Any] = {}
        for column, model_field in by_column.items():
            if column in computed:
                continue
            value = row.get(column)
            if value is None and not model_field.null:
                if model_field.primary_key and isinstance(model_field, peewee.AutoField):
                    raise FixtureError(f"{spec.filename}:{line}: no id")
                if model_field.default is None:
                    raise FixtureError(
                        f"{spec.filename}:{line}: {column} is empty, and "
                        f"{model._meta.table_name}.{column} is NOT NULL"
                    )
                value = _default(model_field)
            max_length = getattr(model_field, "max_length", None)
            if isinstance(value, str) and max_length and len(value) > max_length:
                raise FixtureError(
                    f"{spec.filename}:{line}: {column} has {len(value)} "
                    f"characters; {model._meta.table_name}.{column} holds "
                    f"{max_length}"
                )
            values[model_field] = value
        out.append(values)
    return out


def read_fixtures(directory: str | Path) -> tuple[dict[str, list[dict]], LoadReport]:
    """Every table's rows, converted and adapted, by table name (in TABLES order), each row
    keyed by column name; the report carries the notes on what was adapted or skipped."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FixtureError(f"{directory}: not a directory")
    report = LoadReport()
    state = _State(report=report)
    for filename, why in SKIPPED_FILES.items():
        if (directory / filename).exists():
            report.notes.append(f"{filename}: skipped ({why})")
    tables = {}
    for spec in TABLES:
        rows = _rows(spec, directory, state)
        tables[spec.model._meta.table_name] = [
            {model_field.column_name: value for model_field, value in row.items()} for row in rows
        ]
    tables["checksums"] = _real_digests(tables["checksums"], report)
    return tables, report


DIGEST_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def _real_digests(rows: list[dict], report: LoadReport) -> list[dict]:
    """Checksum rows whose digest is hex of their algorithm's length; the others (file 1's
    placeholders `12345678` and `9876543210`) are dropped and reported: the admin API refuses
    them, and a loader that invented digests would be worse."""
    kept = []
    for row in rows:
        digest, length = row["digest"] or "", DIGEST_LENGTHS.get(row["algorithm"])
        if length is None or len(digest) != length or not _HEX.match(digest):
            report.notes.append(
                f"checksums.csv id {row['id']}: dropped ({row['algorithm']} digest "
                f"{digest!r} is not {length or '32-128'} hex digits; the API refuses it)"
            )
            continue
        kept.append(row)
    return kept
