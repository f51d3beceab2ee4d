"""Every cache keyed by what a request chose is bounded (issue 15, item 3).

A caller chooses the query shape, the URL and each parameter value, so a cache keyed by them
that keeps every entry grows with the number of distinct requests (44,000 valid lists kept
~200 MB in a worker). Each is an LRU of fixed size (models/lru.py); these tests send more
distinct keys than each holds. The resident memory under 100,000 distinct requests is measured
by `python -m bench.cache_memory` (bench/results/).
"""

from __future__ import annotations

import itertools
import threading
from types import SimpleNamespace

import pytest

from models.lru import LRU
from models.storage import query
from models.work_item import ITEMS
from registry.web import validation
from registry.web.fast_reads import ValidParameters


def test_an_lru_forgets_the_least_recently_used_entry():
    cache = LRU(3)
    for key in "abc":
        cache.put(key, key.upper())
    assert cache.get("a") == "A"  # now the most recently used
    cache.put("d", "D")
    assert "b" not in cache and len(cache) == 3
    assert [cache.get(k) for k in "acd"] == ["A", "C", "D"]
    assert cache.get("b", "missing") == "missing"


def test_an_lru_stays_bounded_under_threads():
    cache = LRU(50)
    errors = []

    def work(offset):
        try:
            for i in range(2000):
                cache.put((offset, i), i)
                cache.get((offset, i - 7))
        except (KeyError, RuntimeError) as exc:  # a race inside the OrderedDict shows so
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(cache) == 50


def _distinct_item_queries():
    """Valid list queries of /member-api/v3/items, each of a query shape no other has."""
    text = ("alt_identifier", "bag_group_identifier", "bucket", "etag", "name", "object_identifier")
    sorts = ("action", "bag_date", "created_at", "etag", "name", "size", "updated_at")
    for mask, sort, direction in itertools.product(
        range(1, 2 ** len(text)), sorts, ("asc", "desc")
    ):
        chosen = [name for bit, name in enumerate(text) if mask >> bit & 1]
        yield "&".join([f"{name}=x" for name in chosen] + [f"sort={sort}__{direction}"])


def test_the_list_engine_keeps_a_bounded_number_of_query_shapes(client, world):
    """More distinct shapes than the engine keeps: the cache holds SHAPES_KEPT, every answer
    is right (200), and a shape asked again is served from the cache."""
    headers = world["sysadmin"].headers
    queries = list(itertools.islice(_distinct_item_queries(), query.SHAPES_KEPT + 60))
    for q in queries:
        response = client.get(f"/member-api/v3/items?{q}", headers=headers)
        assert response.status_code == 200, response.text
    assert len(ITEMS._cache) <= query.SHAPES_KEPT
    compiled = ITEMS._compile
    try:  # the last shape is still cached: asking it again compiles nothing
        ITEMS._compile = lambda shape: pytest.fail(f"compiled again: {shape}")
        assert client.get(f"/member-api/v3/items?{queries[-1]}", headers=headers).status_code == 200
    finally:
        ITEMS._compile = compiled


class _AcceptingValidator:
    """A parameter validator that accepts every request (ValidParameters remembers those)."""

    def __init__(self):
        self.parameters = {}

    def validate_request(self, request):
        pass


def test_remembered_urls_are_bounded_across_every_operation():
    """The fast reads remember parsed URLs in one LRU for all operations: distinct URLs of two
    operations, more than it holds, leave it at MAX_ENTRIES, the most recent ones kept."""
    operations = [ValidParameters(_AcceptingValidator()) for _ in range(2)]
    total = ValidParameters.MAX_ENTRIES * 2
    for i in range(total):
        for parameters in operations:
            query_string = f"page={i}".encode()
            request = SimpleNamespace(path_params={}, query_params={"page": i})
            assert parameters({"path": "/p", "query_string": query_string}, request) == (
                {},
                {"page": i},
            )
    assert len(ValidParameters.KNOWN) == ValidParameters.MAX_ENTRIES
    assert operations[1].remembers("/p", f"page={total - 1}".encode())
    assert not operations[0].remembers("/p", b"page=0")


def test_verdicts_are_bounded_and_only_short_values_are_remembered():
    schema = {"type": "string", "maxLength": 5}
    for i in range(validation._VERDICTS_MAX + 500):
        validation._parameter_messages(schema, f"v{i}")
    assert len(validation._VERDICTS) == validation._VERDICTS_MAX
    # A list of 100 values of 10 characters each (1,000 in all) is checked, not remembered.
    items = [f"{i:010d}" for i in range(100)]
    array = {"type": "array", "items": {"type": "string"}}
    assert validation._parameter_messages(array, items) == ()
    assert validation._frozen(items) is None
    assert validation._frozen(items[:5]) is not None


def test_schema_keyed_caches_do_not_grow_with_requests(client, world):
    """The validators built once per schema (parameters, bodies) are keyed by the spec's own
    schema objects: distinct requests, valid or not, add no entry once each operation ran."""
    admin = world["sysadmin"].headers

    def traffic(n):
        client.get(f"/member-api/v3/objects?identifier=o{n}&per_page={1 + n % 50}", headers=admin)
        client.get(f"/member-api/v3/items?name=n{n}&sort=name__asc", headers=admin)
        client.post(
            "/admin-api/v3/institutions/create",
            headers=admin,
            json={"name": f"x{n}", "identifier": n},
        )  # refused: 400
        client.put(
            f"/admin-api/v3/institutions/update/{10_000 + n}", headers=admin, json={"name": f"y{n}"}
        )

    traffic(0)
    before = (len(validation._PARAMETER_VALIDATORS), len(validation._COMPILED))
    for n in range(1, 40):
        traffic(n)
    assert (len(validation._PARAMETER_VALIDATORS), len(validation._COMPILED)) == before


def test_remembered_timestamps_are_bounded_and_only_short_texts_are_kept():
    """A batch's repeated timestamps are parsed and format-checked once (issue 20); what is
    kept is bounded in count, and a long text is never kept."""
    from registry.web import body_check

    parse = query.parse_datetime
    parse.cache_clear()
    for minute in range(parse.cache_info().maxsize + 100):
        parse(f"2024-05-01T{minute // 60 % 24:02d}:{minute % 60:02d}:00Z")
    info = parse.cache_info()
    assert info.currsize == info.maxsize
    with pytest.raises(ValueError):
        parse("2024-05-01T00:00:00Z" + " " * 100)
    assert parse.cache_info().currsize == info.maxsize
    assert parse.cache_info().misses == info.misses  # never looked up

    conforms = body_check._conforms
    conforms.cache_clear()
    checks = body_check._format_functions(validation.format_checker)["date-time"]
    assert checks("2024-05-01T00:00:00Z") and checks("2024-05-01T00:00:00Z")
    assert not checks("2024-05-01T00:00:00Z" + "0" * 100)
    assert conforms.cache_info().currsize == 1 and conforms.cache_info().hits == 1
    for n in range(5000):
        checks(f"2024-05-01T00:00:{n % 60:02d}.{n:06d}Z")
    assert conforms.cache_info().currsize == conforms.cache_info().maxsize
