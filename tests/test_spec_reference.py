"""The member spec against the reference's (registry/spec/reference.py): today every
deviation is listed with its README row; a new one fails, named; a listed one that went away
fails; an entry whose README row is gone fails."""

from __future__ import annotations

import copy

import yaml

from registry.spec import MEMBER_SPEC, load_spec
from registry.spec import reference as ref


def _inputs():
    reference = yaml.safe_load(ref.REFERENCE.read_text(encoding="utf-8"))
    entries = yaml.safe_load(ref.DEVIATIONS.read_text(encoding="utf-8"))
    return reference, load_spec(MEMBER_SPEC), entries, ref.README.read_text(encoding="utf-8")


def test_every_deviation_is_documented():
    assert ref.check() == []


def _drop_parameter(document: dict, path: str, name: str) -> None:
    operation = document["paths"][path]["get"]
    components = document["components"]["parameters"]
    operation["parameters"] = [
        p
        for p in operation["parameters"]
        if (components[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p)["name"] != name
    ]


def test_a_new_deviation_fails_named():
    reference, ours, entries, readme = _inputs()
    ours = copy.deepcopy(ours)
    _drop_parameter(ours, "/member-api/v3/objects", "bag_group_identifier")
    items = ours["paths"]["/member-api/v3/items"]["get"]
    status = next(p for p in items["parameters"] if p.get("name") == "status")
    status["schema"] = {"type": "string", "enum": ["Pending"]}
    found = ref.problems(reference, ours, entries, readme)
    assert any(
        "GET /member-api/v3/objects: parameter `bag_group_identifier` not accepted" in p
        for p in found
    ), found
    assert any("`status=Success` not accepted" in p and "/items" in p for p in found), found


def test_a_removed_operation_fails_named():
    reference, ours, entries, readme = _inputs()
    ours = copy.deepcopy(ours)
    del ours["paths"]["/member-api/v3/alerts"]
    found = ref.problems(reference, ours, entries, readme)
    assert "GET /member-api/v3/alerts: no such operation" in "\n".join(found)


def test_a_stale_entry_and_a_missing_readme_row_fail():
    reference, ours, entries, readme = _inputs()
    stale = [*entries, {"path": "/member-api/v3/objects", "parameter": "state", "readme": "x"}]
    found = ref.problems(reference, ours, stale, readme)
    assert any("parameter `state` not accepted, which Registry now accepts" in p for p in found)
    assert any("names README row `x`, which is not there" in p for p in found)
    renamed = readme.replace("| checksums `sort` |", "| checksum sorts |")
    found = ref.problems(reference, ours, entries, renamed)
    assert any("names README row `checksums `sort``" in p for p in found), found


def test_values_are_read_as_the_query_string_sends_them():
    document = {"components": {}}
    assert ref._accepts(document, {"type": "boolean"}, "true")
    assert not ref._accepts(document, {"type": "boolean"}, "yes")
    assert ref._accepts(document, {"type": "integer", "minimum": 1}, "12")
    assert not ref._accepts(document, {"type": "integer", "minimum": 1}, "0")
    assert ref._accepts(document, {"type": "array", "items": {"enum": ["a__asc"]}}, "a__asc")
