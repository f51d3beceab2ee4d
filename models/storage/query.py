"""The generic list engine: filters (`field__op`), sorting, scoping and pagination.

Each resource declares a `Listing`: the columns it shows, which of them can be filtered with
which operators, which can be sorted, and the column that scopes it to an institution. One engine
turns a request's parameters into SQL for every resource.

Peewee builds the SQL, but only once per *query shape* (which filters, which operators, how many
`in` values, which sort, scoped or not): the compiled statement is cached with placeholders for
the values, and each request only binds values. Rows are read as tuples, never as model
instances. Compiling a Peewee query costs ~0.4 ms; binding costs nothing. A caller chooses the
shape (the order of its filters, the length of an `in` list, the sort), so the compiled
statements are kept in an LRU of `SHAPES_KEPT` per listing: clients repeat a few shapes, and
a stream of new ones cannot grow the cache (each kept one is ~4.5 KB).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import operator
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import peewee

from models.caller import Caller
from models.errors import Forbidden, InvalidInput, NotFound, quoted
from models.lru import LRU, remembered_for_short_texts
from models.storage import cursor
from models.storage.db import connection, database, is_postgres

INT, TEXT, DATETIME, BOOL = "int", "text", "datetime", "bool"

# The operators of the reference's filter grammar. `x` alone means `x__eq`.
OPERATORS = (
    "eq",
    "ne",
    "gt",
    "gteq",
    "lt",
    "lteq",
    "starts_with",
    "contains",
    "in",
    "is_null",
    "not_null",
)
SORT_DIRECTIONS = ("asc", "desc")
PAGING = ("page", "per_page", "sort", "cursor")
# The most rows a page holds: a larger `per_page` is served as this many (the links say so),
# as the reference server does.
MAX_PER_PAGE = 1000
MAX_CODE_POINT = "\U0010ffff"
MAX_ID = 2**63 - 1
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Compiled statements kept per listing, the least recently used forgotten first (models.lru.LRU).
SHAPES_KEPT = 128


@dataclass(frozen=True)
class Column:
    """One output column: its SQL expression, its type and whether it can be NULL."""

    name: str
    expr: peewee.Node
    kind: str = TEXT
    nullable: bool = False


@dataclass(frozen=True)
class Filter:
    """A parsed `field__op=value` parameter."""

    field: str
    op: str
    value: Any

    @property
    def param(self) -> str:
        return self.field if self.op == "eq" else f"{self.field}__{self.op}"


@dataclass(frozen=True)
class Page:
    count: int
    rows: list[dict]
    page: int
    per_page: int
    # Cursor paging (models/storage/cursor.py): set when the request sent a `cursor`; `after`
    # is the cursor of the next page, or None on the last one.
    cursored: bool = False
    after: str | None = None


class _Slot:
    """A placeholder for a request value in a compiled statement."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


@dataclass
class _Compiled:
    sql: str
    template: list  # each element: a _Slot (bind the request value) or a constant

    def bind(self, values: Sequence) -> list:
        return [values[p.index] if isinstance(p, _Slot) else p for p in self.template]


def split_param(name: str) -> tuple[str, str]:
    """`size__gteq` -> (`size`, `gteq`); `identifier` -> (`identifier`, `eq`)."""
    field_name, sep, op = name.rpartition("__")
    if sep and op in OPERATORS:
        return field_name, op
    return name, "eq"


# A batch's timestamps are mostly one or a few texts (10,000 files, 20,000 checksums): each is
# parsed once. Only texts as long as an RFC 3339 date-time at most are kept.
@remembered_for_short_texts(maxsize=1024, longest=40)
def parse_datetime(value: str) -> dt.datetime:
    """RFC 3339 -> naive UTC, the form every timestamp column holds.

    RFC 3339 allows a lowercase `t` and `z` (and so does the spec's validator). An instant that
    falls outside `datetime`'s range once moved to UTC (year 1 with a positive offset, year 9999
    with a negative one) is clamped to the range's end: as a filter bound it then selects the
    same rows, since no stored timestamp lies beyond it.
    """
    try:
        parsed = dt.datetime.fromisoformat(value.upper() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValueError(f"{quoted(value)} is not an RFC 3339 date-time") from None
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(dt.UTC)
        except OverflowError:
            parsed = dt.datetime.min if parsed.year == dt.MINYEAR else dt.datetime.max
        parsed = parsed.replace(tzinfo=None)
    return parsed


def _sqlite_datetime_out(value):
    # SQLite stores 'YYYY-MM-DD HH:MM:SS[.ffffff]'; the API speaks RFC 3339 in UTC.
    if value is None:
        return None
    return f"{value[:10]}T{value[11:]}Z"


def _bool_out(value):
    return None if value is None else bool(value)


@dataclass
class Listing:
    """The declaration of one listable resource; see the module docstring.

    Naming: a resource module builds each of its listings in a private factory, `_view()` for
    the one its list and show operations answer (a plural constant: `OBJECTS = _view()`) and
    `_records()` for the bare rows another resource's show nests (`EVENT_RECORDS =
    _records()`), and a show that is more than `get` is a function `<resource>_detail(caller,
    key)` beside them (`file_detail`, `alert_detail`).
    """

    name: str
    model: type[peewee.Model]
    columns: list[Column]
    filters: Mapping[str, tuple[str, ...]]
    sorts: Sequence[str]
    default_sort: Sequence[tuple[str, str]]
    # Which columns confine a non-sysadmin caller, and to which attribute of the caller.
    # An empty mapping makes the listing sysadmin-only.
    scopes: Mapping[str, str] = field(default_factory=lambda: {"institution_id": "institution_id"})
    joins: Callable[[peewee.ModelSelect], peewee.ModelSelect] = lambda q: q
    lookups: Mapping[str, str] = field(default_factory=lambda: {"id": "id"})
    # Appended to every sort so that rows with equal sort keys keep one order across pages.
    tiebreaker: tuple[str, ...] = ("id",)
    # True when every join adds exactly one row per base row (a LEFT OUTER join to one row, or
    # an inner join on a NOT NULL foreign key): a COUNT whose conditions name only the base
    # table's own columns then leaves the joins out. It must: with them, SQLite steps through
    # every row to join it (38 ms to count 25,000 objects of an institution) instead of
    # counting index entries (1 ms). Never for a join to many rows, which multiplies rows.
    joins_to_one: bool = False
    # A tally table kept by the database (models.storage.counts): a list filtered only by
    # `eq`/`in` on its dimensions reads its count there instead of running COUNT(*).
    counts: Any = None

    def __post_init__(self):
        self._by_name = {c.name: c for c in self.columns}
        self._names = [c.name for c in self.columns]
        self._cache = LRU(SHAPES_KEPT)
        self._converters_by_dialect: dict = {}  # one entry per database dialect
        self._lock = threading.Lock()
        for fname, ops in self.filters.items():
            if fname not in self._by_name:
                raise ValueError(f"{self.name}: filter on unknown column {fname}")
            unknown = set(ops) - set(OPERATORS)
            if unknown:
                raise ValueError(f"{self.name}: unknown operators {unknown} for {fname}")
        for sname in self.sorts:
            if sname not in self._by_name:
                raise ValueError(f"{self.name}: sort on unknown column {sname}")
        if self.counts is not None:
            self.counts.check(self)

    # -- the public surface -------------------------------------------------------------------

    def filter_params(self) -> set[str]:
        """Every query parameter name the filters accept (`x`, `x__gteq`, ...)."""
        return {Filter(f, op, None).param for f, ops in self.filters.items() for op in ops}

    def sort_values(self) -> list[str]:
        return [f"{s}__{d}" for s in self.sorts for d in SORT_DIRECTIONS]

    def parse(self, params: Mapping[str, Any]) -> tuple[list[Filter], list[tuple[str, str]]]:
        """Split request parameters into filters and sort keys; reject what is not declared."""
        filters, errors = [], []
        for name, value in params.items():
            if name in PAGING or value is None:
                continue
            field_name, op = split_param(name)
            if op not in self.filters.get(field_name, ()):
                errors.append({"name": name, "in": "query", "message": "unknown filter"})
                continue
            try:
                filters.append(Filter(field_name, op, self._coerce(field_name, op, value)))
            except ValueError as exc:
                errors.append({"name": name, "in": "query", "message": str(exc)})
        sort = []
        for raw in _as_list(params.get("sort")):
            field_name, _, direction = raw.rpartition("__")
            if field_name not in self.sorts or direction not in SORT_DIRECTIONS:
                errors.append(
                    {"name": "sort", "in": "query", "message": f"cannot sort by {quoted(raw)}"}
                )
            elif field_name not in (s for s, _ in sort):
                sort.append((field_name, direction))
        if errors:
            raise InvalidInput(
                "Invalid query parameter(s): " + ", ".join(e["name"] for e in errors), errors=errors
            )
        return filters, sort or list(self.default_sort)

    def list(self, caller: Caller, params: Mapping[str, Any]) -> Page:
        """One page of rows visible to `caller`, filtered and sorted as `params` ask: by page
        number (`page`, an OFFSET), or after a `cursor` (a keyset: models/storage/cursor.py)."""
        filters, sort = self.parse(params)
        self._check_scope(caller, filters)
        page = int(params.get("page") or 1)
        per_page = min(int(params.get("per_page") or 20), MAX_PER_PAGE)
        keys = self._sort_keys(sort)
        raw_cursor = params.get("cursor")
        after = None
        if raw_cursor is not None:
            page = 1  # a cursor says where the page starts: `page` is ignored
            after = cursor.decode(raw_cursor, self._cursor_signature(keys), len(keys))
            if after is not None:
                after = [
                    _cursor_value(self._by_name[name], value)
                    for (name, _), value in zip(keys, after, strict=True)
                ]
        scoped = self._scoped(caller)
        filters = _without_nul(filters)
        if filters is None:
            return Page(count=0, rows=[], page=page, per_page=per_page, cursored=after is not None)
        shape = (
            "list",
            tuple((f.field, f.op, _arity(f)) for f in filters),
            tuple(sort),
            scoped,
            None if after is None else tuple(v is None for v in after),
        )
        values = [v for f in filters for v in _slot_values(f)] + self._scope_values(caller)
        if after:
            values += [v for v in after if v is not None]
        offset = (page - 1) * per_page
        # A cursor's page reads one row more than it shows: whether there is a next page.
        limit = per_page if raw_cursor is None else per_page + 1
        with connection():
            if is_postgres():
                count, rows = self._page_in_one_statement(shape, values, limit, offset)
            else:
                count, rows = self._page_in_one_transaction(shape, values, limit, offset)
        if raw_cursor is None:
            return Page(count=count, rows=rows, page=page, per_page=per_page)
        following = None
        if len(rows) > per_page:
            del rows[per_page:]
            following = cursor.encode(
                self._cursor_signature(keys), [rows[-1][name] for name, _ in keys]
            )
        return Page(count, rows, page, per_page, cursored=True, after=following)

    def export(self, caller: Caller, params: Mapping[str, Any]) -> Export:
        """Every row a list of these `params` would page through, read batch by batch (a keyset
        on the sort keys, as cursor paging reads): checked now, before an answer begins, and
        read as the export is sent."""
        filters, sort = self.parse(params)
        self._check_scope(caller, filters)
        return Export(self, caller, _without_nul(filters), sort)

    def rows_after(
        self, caller: Caller, filters: list[Filter], sort, after: list | None, limit: int
    ) -> list[dict]:
        """Up to `limit` rows that follow the row whose sort-key values are `after` (None: from
        the first), without a count."""
        shape = (
            "rows",
            tuple((f.field, f.op, _arity(f)) for f in filters),
            tuple(sort),
            self._scoped(caller),
            None if after is None else tuple(v is None for v in after),
        )
        values = [v for f in filters for v in _slot_values(f)] + self._scope_values(caller)
        values += [v for v in after or () if v is not None]
        compiled, _ = self._compiled(shape)
        with connection():
            rows = database.execute_sql(compiled.sql, compiled.bind(values) + [limit]).fetchall()
        return self._rows(rows)

    def key_values(self, sort, row: dict) -> list:
        """The sort-key values of a row as the engine binds them (the keyset after it)."""
        return [_cursor_value(self._by_name[name], row[name]) for name, _ in self._sort_keys(sort)]

    def _cursor_signature(self, keys) -> str:
        """What a cursor is valid for: this listing, in this order."""
        return self.name + ":" + ",".join(f"{name} {direction}" for name, direction in keys)

    def _page_in_one_statement(self, shape, values: list, per_page: int, offset: int):
        """PostgreSQL: the count and the page from one statement, so from one snapshot (see
        `_one_statement`)."""
        compiled, _ = self._compiled(("one statement", shape))
        fetched = database.execute_sql(
            compiled.sql, compiled.bind(values + [offset]) + [per_page, offset]
        ).fetchall()
        # One row when the page is empty: the count, and NULLs where the page's row would be.
        rows = [row[2:] for row in fetched if row[1] is not None]
        return fetched[0][0], self._rows(rows)

    def _page_in_one_transaction(self, shape, values: list, per_page: int, offset: int):
        """SQLite: the count and the page in one read transaction, whose snapshot (WAL mode)
        is taken at its first read and kept until it ends: a write that commits between the
        two statements is seen by neither."""
        page_sql, count_sql = self._compiled(shape)
        with database.atomic():
            count = database.execute_sql(count_sql.sql, count_sql.bind(values)).fetchone()[0]
            rows = []
            if count > offset:
                cursor = database.execute_sql(
                    page_sql.sql, page_sql.bind(values) + [per_page, offset]
                )
                rows = self._rows(cursor.fetchall())
        return count, rows

    def get(self, caller: Caller, key: str | int) -> dict:
        """One row by numeric id or by its identifier; 404 unless visible to `caller`."""
        row = self.find(caller, key)
        if row is None:
            raise NotFound(f"No {self.name} matches {quoted(key)}")
        return row

    def find(self, caller: Caller, key: str | int) -> dict | None:
        text = str(key)
        lookup = "id" if text.isascii() and text.isdigit() else "identifier"
        if lookup not in self.lookups:
            return None
        value = int(text) if lookup == "id" else text
        if lookup == "id" and not 0 < value <= MAX_ID:
            return None
        return self.find_by(caller, **{self.lookups[lookup]: value})

    def find_by(self, caller: Caller, **equals) -> dict | None:
        """The first row visible to `caller` whose columns equal `equals`, or None."""
        names = tuple(sorted(equals))
        scoped = self._scoped(caller)
        if any(_has_nul(v) for v in equals.values()):
            return None  # see _without_nul
        compiled, _ = self._compiled(("get", names, scoped))
        values = [equals[n] for n in names] + self._scope_values(caller)
        with connection():
            rows = database.execute_sql(compiled.sql, compiled.bind(values)).fetchall()
        return self._rows(rows)[0] if rows else None

    def related(self, field_name: str, value) -> list[dict]:
        """Every row whose `field_name` equals `value`, in the default order (nested lists)."""
        compiled, _ = self._compiled(("related", field_name, False))
        with connection():
            rows = database.execute_sql(compiled.sql, compiled.bind([value])).fetchall()
        return self._rows(rows)

    # -- internals ----------------------------------------------------------------------------

    def _scoped(self, caller: Caller) -> bool:
        if caller.is_sysadmin:
            return False
        if not self.scopes:
            raise Forbidden(f"Only sysadmins may read {self.name} records")
        return True

    def _scope_values(self, caller: Caller) -> list:
        if caller.is_sysadmin:
            return []
        return [getattr(caller, attribute) for attribute in self.scopes.values()]

    def _check_scope(self, caller: Caller, filters: Iterable[Filter]) -> None:
        """Naming someone else's institution (or user) in a filter is refused, not emptied.
        An id below 1 names nobody: it matches no row (the scope still applies), as in the
        reference."""
        if caller.is_sysadmin:
            return
        for f in filters:
            attribute = self.scopes.get(f.field)
            if (
                attribute
                and f.op == "eq"
                and f.value != getattr(caller, attribute)
                and not (isinstance(f.value, int) and f.value < 1)
            ):
                raise Forbidden(
                    f"{f.param} must be your own ({attribute}: {getattr(caller, attribute)})",
                    errors=[
                        {
                            "name": f.param,
                            "in": "query",
                            "message": "names a record scope other than yours",
                        }
                    ],
                )

    def _coerce(self, field_name: str, op: str, value):
        column = self._by_name[field_name]
        if op in ("is_null", "not_null"):
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValueError(f"{quoted(value)} is not true or false")
        if op == "in":
            return tuple(self._coerce_one(column, v) for v in _as_list(value))
        return self._coerce_one(column, value)

    @staticmethod
    def _coerce_one(column: Column, value):
        if column.kind == INT:
            if isinstance(value, bool):
                raise ValueError(f"{quoted(value)} is not an integer")
            try:
                return int(value)
            except (TypeError, ValueError):
                raise ValueError(f"{quoted(value)} is not an integer") from None
        if column.kind == DATETIME:
            parsed = parse_datetime(value)
            return parsed if is_postgres() else str(parsed)
        if column.kind == BOOL:
            return bool(value)
        return str(value)

    def _compiled(self, shape):
        key = (type(database.obj), shape)  # compiled SQL depends on the dialect only
        compiled = self._cache.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._cache.get(key)
                if compiled is None:
                    compiled = self._compile(shape)
                    self._cache.put(key, compiled)
        return compiled

    def _compile(self, shape):
        one_statement = shape[0] == "one statement"
        if one_statement:
            shape = shape[1]
        slots = itertools.count()

        def slot():
            return peewee.Value(_Slot(next(slots)), converter=False)

        select = [c.expr.alias(c.name) for c in self.columns]
        conditions = []
        if shape[0] == "get":
            _, names, scoped = shape
            conditions += [self._by_name[name].expr == slot() for name in names]
            sort = []
        elif shape[0] == "related":
            _, field_name, scoped = shape
            conditions.append(self._by_name[field_name].expr == slot())
            sort = self.default_sort
        else:
            _, filters, sort, scoped, _ = shape
            for field_name, op, arity in filters:
                conditions.append(self._condition(self._by_name[field_name], op, arity, slot))
        if scoped:
            conditions += [self._by_name[name].expr == slot() for name in self.scopes]
        count_conditions = list(conditions)
        if shape[0] in ("list", "rows") and shape[4] is not None:
            # After a cursor: the page's conditions only, not the count's (all the matches).
            conditions += self._after(sort, shape[4], slot)

        query = self.joins(self.model.select(*select))
        count = self.model.select(peewee.fn.COUNT(peewee.SQL("*")))
        if not (self.joins_to_one and self._own_columns_only(shape)):
            count = self.joins(count)
        if count_conditions:
            count = count.where(*count_conditions)
        if one_statement:
            # The gate's slot comes after every value of the shape: it binds the offset.
            conditions.append(peewee.SQL('"c"."n"') > slot())
        if conditions:
            query = query.where(*conditions)
        query = query.order_by(*self._order_by(sort))
        page = _Compiled(*_to_template(query))
        if shape[0] == "rows":  # an export's batch: no count, no offset
            page.sql += f" LIMIT {database.param}"
            return page, None
        if shape[0] != "list":
            return page, _Compiled(*_to_template(count))
        param = database.param
        page.sql += f" LIMIT {param} OFFSET {param}"
        count = self._tally(shape) or _Compiled(*_to_template(count))
        if one_statement:
            return self._one_statement(page, count, sort), None
        return page, count

    def _one_statement(self, page: _Compiled, count: _Compiled, sort) -> _Compiled:
        """A list's count and page as one PostgreSQL statement, whose rows are the count and a
        page row each (one row of the count and NULLs when the page is empty).

        A count and a page read by two statements under READ COMMITTED come from two
        snapshots: under concurrent writes ~1 answer in 1,000 had `count` 3 with 4 results,
        and a page past a stale count came back empty while rows existed. One statement reads
        one snapshot, and costs no BEGIN and COMMIT. The page is a LATERAL subquery gated by
        `count > offset` (`page` carries that condition): a one-time filter, so a page past
        the end is never read, as when the count ran first. Its order is given again outside:
        a join's output order is not its subquery's by definition. `"__row"` tells a page row
        from the NULLs of an empty page.
        """
        keys = ", ".join(
            f'"p"."{name}" {direction.upper()}' for name, direction in self._sort_keys(sort)
        )
        sql = (
            f'SELECT "c"."n", "p".* FROM ({count.sql}) AS "c"("n") LEFT JOIN LATERAL '
            f'(SELECT 1 AS "__row", "q".* FROM ({page.sql}) AS "q") AS "p" ON true '
            f"ORDER BY {keys}"
        )
        return _Compiled(sql, count.template + page.template)

    def _tally(self, shape) -> _Compiled | None:
        """The count of a list shape read from the tally table, when its filters allow."""
        if self.counts is None:
            return None
        _, filters, _, scoped, _ = shape
        found = self.counts.count_sql(filters, list(self.scopes) if scoped else [])
        if found is None:
            return None
        sql, slots = found
        return _Compiled(sql, [_Slot(i) for i in slots])

    def _own_columns_only(self, shape) -> bool:
        """Whether a list shape's conditions (filters and scope) name only base-table columns."""
        if shape[0] != "list":
            return False
        _, filters, _, scoped, _ = shape
        names = [name for name, _, _ in filters] + (list(self.scopes) if scoped else [])
        return all(
            isinstance(self._by_name[n].expr, peewee.Field)
            and self._by_name[n].expr.model is self.model
            for n in names
        )

    @staticmethod
    def _condition(column: Column, op: str, arity, slot):
        expr = column.expr
        if op == "eq":
            return expr == slot()
        if op == "ne":
            return expr != slot()
        if op == "gt":
            return expr > slot()
        if op == "gteq":
            return expr >= slot()
        if op == "lt":
            return expr < slot()
        if op == "lteq":
            return expr <= slot()
        if op == "starts_with":
            # A range, not LIKE: it uses the (binary-collated) index and has no wildcards.
            return (expr >= slot()) & (expr < slot())
        if op == "contains":
            # Case-insensitive substring; the value's own % and _ are escaped (literal match).
            return peewee.NodeList(
                (peewee.fn.LOWER(expr), peewee.SQL("LIKE"), slot(), peewee.SQL("ESCAPE '\\'"))
            )
        if op == "in":
            return expr.in_([slot() for _ in range(arity)])
        if op in ("is_null", "not_null"):
            wants_null = arity if op == "is_null" else not arity
            return expr.is_null(wants_null)
        raise AssertionError(op)

    def _after(self, sort, nulls: tuple[bool, ...], slot) -> list:
        """The conditions of the rows that follow a cursor's row in the sort's order (a keyset),
        NULL sorting as the largest value on both backends (see `_order_by`). `nulls` says which
        of the cursor's values are NULL; the others are bound, in order, to new slots.

        Lexicographic: (k1 after v1) OR (k1 = v1 AND k2 after v2) OR ... A leading bound on the
        first key alone (k1 >= v1 for an ascending sort) repeats what the terms imply, so that an
        index on the first key can seek to the cursor instead of filtering from the start.
        """
        terms, equal, first_bound = [], [], None
        for position, ((name, direction), is_null) in enumerate(
            zip(self._sort_keys(sort), nulls, strict=True)
        ):
            column = self._by_name[name]
            expr = column.expr
            value = None if is_null else slot()
            if direction == "asc":
                # NULL is the largest: nothing follows it but NULLs; NULLs follow every value.
                later = None if is_null else expr > value
                if later is not None and column.nullable:
                    later = later | expr.is_null()
                bound = expr.is_null() if is_null else expr >= value
                if not is_null and column.nullable:
                    bound = bound | expr.is_null()
            else:
                # Descending, NULLs first: every value follows a NULL.
                later = expr.is_null(False) if is_null else expr < value
                bound = None if is_null else expr <= value
            if position == 0:
                first_bound = bound
            if later is not None:
                terms.append(functools.reduce(operator.and_, [*equal, later]))
            equal.append(expr.is_null() if is_null else expr == value)
        after = functools.reduce(operator.or_, terms) if terms else peewee.SQL("1 = 0")
        return [after] if first_bound is None else [first_bound, after]

    def _sort_keys(self, sort) -> list[tuple[str, str]]:
        """The sort's (column, direction) pairs, the tiebreaker columns appended."""
        keys = [(name, direction) for name, direction in sort]
        for name in self.tiebreaker:
            if name not in (n for n, _ in keys):
                keys.append((name, keys[0][1] if keys else "asc"))
        return keys

    def _order_by(self, sort):
        order = []
        for name, direction in self._sort_keys(sort):
            column = self._by_name[name]
            expr = column.expr.desc() if direction == "desc" else column.expr.asc()
            if column.nullable and not is_postgres():
                # NULL sorts as the largest value on both backends (PostgreSQL's default).
                expr = (
                    column.expr.desc(nulls="first")
                    if direction == "desc"
                    else column.expr.asc(nulls="last")
                )
            order.append(expr)
        return order

    def _rows(self, rows: list[tuple]) -> list[dict]:
        names = self._names
        converters = self._converters()
        out = []
        for row in rows:
            record = dict(zip(names, row, strict=True))
            for name, convert in converters:
                record[name] = convert(record[name])
            out.append(record)
        return out

    def _converters(self):
        key = type(database.obj)
        conv = self._converters_by_dialect.get(key)
        if conv is None:
            conv = []
            for c in self.columns:
                if c.kind == DATETIME and not is_postgres():
                    conv.append((c.name, _sqlite_datetime_out))
                elif c.kind == BOOL and not is_postgres():
                    conv.append((c.name, _bool_out))
            self._converters_by_dialect[key] = conv
        return conv


@dataclass
class Export:
    """An export's query, checked (Listing.export): `batch(after)` reads the rows after a row's
    key values, `key_values` gives a row's."""

    listing: Listing
    caller: Caller
    filters: list[Filter] | None  # None: a filter that matches nothing
    sort: list[tuple[str, str]]

    @property
    def columns(self) -> list[str]:
        return list(self.listing._names)

    def batch(self, after: list | None, size: int) -> list[dict]:
        if self.filters is None:
            return []
        return self.listing.rows_after(self.caller, self.filters, self.sort, after, size)

    def after(self, row: dict) -> list:
        return self.listing.key_values(self.sort, row)


def _cursor_value(column: Column, value):
    """A value of a client's cursor, typed for its column as a filter value would be; anything
    the column could not hold (or the database would refuse: NUL, an integer past 64 bits) is
    not a cursor this server gave out."""
    if value is None:
        if column.nullable:
            return None
    elif column.kind == INT:
        if type(value) is int and -MAX_ID - 1 <= value <= MAX_ID:
            return value
    elif column.kind == BOOL:
        if type(value) is bool:
            return value
    elif column.kind == DATETIME:
        if isinstance(value, dt.datetime):  # a row's own value (PostgreSQL), never a client's
            return value
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value)
            except ValueError:
                pass
            else:
                return parsed if is_postgres() else str(parsed)
    elif isinstance(value, str) and not _has_nul(value):
        return value
    raise cursor.invalid()


def _to_template(query) -> tuple[str, list]:
    sql, params = query.sql()
    return sql, list(params)


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _arity(f: Filter):
    if f.op == "in":
        return len(f.value)
    if f.op in ("is_null", "not_null"):
        return f.value  # the boolean changes the SQL (IS NULL vs IS NOT NULL)
    return None


def _has_nul(value) -> bool:
    return isinstance(value, str) and "\x00" in value


def _without_nul(filters: list[Filter]) -> list[Filter] | None:
    """The filters less their text values containing NUL, or None if one then matches nothing.

    No stored text holds NUL (PostgreSQL cannot store it, and refuses it as a query parameter),
    so an exact, prefix or `in` value containing NUL matches no row, on both backends alike.
    """
    kept = []
    for f in filters:
        if f.op == "in":
            values = tuple(v for v in f.value if not _has_nul(v))
            if not values:
                return None
            f = Filter(f.field, f.op, values)
        elif f.op in ("eq", "starts_with", "contains") and _has_nul(f.value):
            return None
        kept.append(f)
    return kept


def _slot_values(f: Filter) -> list:
    if f.op == "in":
        return list(f.value)
    if f.op == "starts_with":
        return [f.value, f.value + MAX_CODE_POINT]
    if f.op == "contains":
        # A to Z only, as LOWER() folds the columns (SQLite; PostgreSQL's "C" collation).
        escaped = f.value.translate(_ASCII_LOWER)
        escaped = escaped.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return [f"%{escaped}%"]
    if f.op in ("is_null", "not_null"):
        return []
    return [f.value]
