"""Unit tests of models/storage/query.py's helpers, and the spec's lists agreeing with the
declarations.

The property tests (test_list_oracle.py) go through HTTP; these pin the small pieces whose
edge cases the generated queries rarely reach: parameter splitting, date-time parsing at the
ends of the calendar, and a `Listing` refusing a declaration that names what does not exist.
"""

from __future__ import annotations

import datetime as dt

import peewee
import pytest

from models.errors import InvalidInput
from models.file_views import FILES
from models.intellectual_object import OBJECTS
from models.storage.query import INT, Column, Listing, parse_datetime, split_param
from tests.list_strategies import filter_parameters, sort_values


class Thing(peewee.Model):
    name = peewee.CharField()
    size = peewee.IntegerField(null=True)


def listing(**overrides) -> Listing:
    declaration = dict(
        name="thing",
        model=Thing,
        columns=[
            Column("id", Thing.id, INT),
            Column("name", Thing.name),
            Column("size", Thing.size, INT, nullable=True),
        ],
        filters={"name": ("eq", "starts_with"), "size": ("gteq", "lteq")},
        sorts=("name", "size"),
        default_sort=[("name", "asc")],
    )
    return Listing(**{**declaration, **overrides})


@pytest.mark.parametrize(
    "name, expected",
    [
        ("identifier", ("identifier", "eq")),
        ("size__gteq", ("size", "gteq")),
        ("identifier__starts_with", ("identifier", "starts_with")),
        ("storage_option__in", ("storage_option", "in")),
        ("institution_parent_id", ("institution_parent_id", "eq")),  # `_id` is not an operator
        ("a__b__lteq", ("a__b", "lteq")),  # only the last `__` can start an operator
        ("size__between", ("size__between", "eq")),  # unknown operator: a (bad) field name
        ("size__", ("size__", "eq")),
    ],
)
def test_split_param(name, expected):
    assert split_param(name) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-05-01T00:00:00Z", dt.datetime(2024, 5, 1)),
        ("2024-05-01T00:00:00+00:00", dt.datetime(2024, 5, 1)),
        ("2024-05-01T02:30:00+02:30", dt.datetime(2024, 5, 1)),
        ("2024-04-30T19:00:00-05:00", dt.datetime(2024, 5, 1)),
        ("2024-05-01T00:00:00.000001Z", dt.datetime(2024, 5, 1, 0, 0, 0, 1)),
        ("2024-05-01t00:00:00z", dt.datetime(2024, 5, 1)),  # RFC 3339 allows lowercase
        ("2024-05-01T00:00:00", dt.datetime(2024, 5, 1)),  # no offset: UTC
        ("2024-12-31T23:30:00-01:00", dt.datetime(2025, 1, 1, 0, 30)),  # crosses a year
    ],
)
def test_parse_datetime_gives_naive_utc(text, expected):
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0001-01-01T00:00:00+01:00", dt.datetime.min),
        ("9999-12-31T23:59:59-01:00", dt.datetime.max),
    ],
)
def test_parse_datetime_clamps_instants_beyond_the_calendar(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01T00:00:00Z", None])
def test_parse_datetime_rejects_non_dates_with_value_error(text):
    with pytest.raises(ValueError):
        parse_datetime(text)


@pytest.mark.parametrize(
    "overrides, problem",
    [
        ({"filters": {"colour": ("eq",)}}, "unknown column colour"),
        ({"filters": {"name": ("eq", "like")}}, "unknown operators"),
        ({"sorts": ("name", "weight")}, "unknown column weight"),
    ],
)
def test_listing_refuses_a_declaration_naming_what_does_not_exist(overrides, problem):
    with pytest.raises(ValueError, match=problem):
        listing(**overrides)


def test_parse_defaults_the_sort_and_keeps_the_first_of_a_repeated_column():
    things = listing()
    assert things.parse({})[1] == [("name", "asc")]
    filters, sort = things.parse(
        {"size__gteq": "3", "sort": ["size__desc", "name__asc", "size__asc"]}
    )
    assert [(f.field, f.op, f.value) for f in filters] == [("size", "gteq", 3)]
    assert sort == [("size", "desc"), ("name", "asc")]


def test_parse_names_every_undeclared_or_malformed_parameter():
    with pytest.raises(InvalidInput) as caught:
        listing().parse({"name__gteq": "a", "size__lteq": "big", "sort": ["id__asc"]})
    assert [e["name"] for e in caught.value.errors] == ["name__gteq", "size__lteq", "sort"]


@pytest.mark.parametrize(
    "path, declared",
    [
        ("/member-api/v3/objects", OBJECTS),
        ("/member-api/v3/files", FILES),
    ],
)
def test_spec_filters_and_sorts_are_exactly_the_declared_ones(path, declared):
    assert set(filter_parameters(path)) == declared.filter_params()
    assert sorted(sort_values(path)) == sorted(declared.sort_values())
