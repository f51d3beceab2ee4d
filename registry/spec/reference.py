"""The member spec against the reference's: every operation, query parameter, sort value and
enum value the APTrust Registry's published member spec lists is one Registry accepts, or a
deliberate deviation written down.

    python -m registry.spec.reference      # part of make spec-check

The reference document is tests/reference_spec/member_api_v3.yml (a copy of the published
one). A value "accepted" is one our parameter's schema takes as the query string sends it (the
text `true` for a boolean, `12` for an integer), so a reference enum that we keep as a plain
type is no deviation. The deviations live in spec/reference-deviations.yaml, each naming the
row of README's compatibility table that explains it (the row's first cell); the check fails
on a deviation that is not listed, on a listed one that no longer deviates, and on an entry
whose README row is gone.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml

from registry.spec import HTTP_METHODS, MEMBER_SPEC, follow_refs, load_spec, query_value

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "reference_spec" / "member_api_v3.yml"
DEVIATIONS = ROOT / "spec" / "reference-deviations.yaml"
README = ROOT / "README.md"


@dataclass(frozen=True, order=True)
class Deviation:
    """Something the reference lists that Registry does not accept: an operation (no
    parameter), a parameter (no value), or one value of a parameter."""

    path: str
    method: str = "get"
    parameter: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = f"{self.method.upper()} {self.path}"
        if self.parameter is None:
            return f"{where}: no such operation"
        if self.value is None:
            return f"{where}: parameter `{self.parameter}` not accepted"
        return f"{where}: `{self.parameter}={self.value}` not accepted"


def _query_parameters(document: dict, operation: dict) -> dict[str, dict]:
    found = {}
    for parameter in operation.get("parameters", []):
        parameter = follow_refs(document, parameter)
        if parameter.get("in") == "query":
            found[parameter["name"]] = parameter
    return found


def _values(document: dict, schema: dict) -> list[str]:
    """The values a reference parameter names: its enum (of its items, for an array), or
    `true` and `false` for a boolean."""
    schema = follow_refs(document, schema)
    if schema.get("type") == "array":
        schema = follow_refs(document, schema.get("items", {}))
    if "enum" in schema:
        return [str(v).lower() if isinstance(v, bool) else str(v) for v in schema["enum"]]
    if schema.get("type") == "boolean":
        return ["true", "false"]
    return []


def _accepts(document: dict, schema: dict, text: str) -> bool:
    schema = follow_refs(document, schema)
    if schema.get("type") == "array":
        schema = follow_refs(document, schema.get("items", {}))
    validator = jsonschema.Draft4Validator({**schema, "components": document["components"]})
    return validator.is_valid(query_value(text, schema))


def deviations(reference: dict, ours: dict) -> list[Deviation]:
    found = []
    for path, item in reference["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            mine = ours["paths"].get(path, {}).get(method)
            if mine is None:
                found.append(Deviation(path, method))
                continue
            accepted = _query_parameters(ours, mine)
            for name, parameter in _query_parameters(reference, operation).items():
                if name not in accepted:
                    found.append(Deviation(path, method, name))
                    continue
                schema = accepted[name].get("schema", {})
                for value in _values(reference, parameter.get("schema", {})):
                    if not _accepts(ours, schema, value):
                        found.append(Deviation(path, method, name, value))
    return sorted(found)


def allowed(entries: list[dict]) -> dict[Deviation, str]:
    """The allow-list's deviations, each with its README row."""
    table = {}
    for entry in entries:
        values = entry.get("values") or [None]
        for value in values:
            deviation = Deviation(
                entry["path"], entry.get("method", "get"), entry.get("parameter"), value
            )
            table[deviation] = entry["readme"]
    return table


def readme_topics(readme_text: str) -> set[str]:
    """The first cell of each row of README's tables."""
    return {
        line.split("|")[1].strip()
        for line in readme_text.splitlines()
        if line.startswith("| ") and line.count("|") >= 3
    }


def problems(reference: dict, ours: dict, entries: list[dict], readme_text: str) -> list[str]:
    found = set(deviations(reference, ours))
    listed = allowed(entries)
    topics = readme_topics(readme_text)
    out = [
        f"undocumented deviation from the reference: {d} (add it to "
        f"spec/reference-deviations.yaml with the README row that explains it, or accept it)"
        for d in sorted(found - set(listed))
    ]
    out += [
        f"spec/reference-deviations.yaml lists {d}, which Registry now accepts: remove it"
        for d in sorted(set(listed) - found)
    ]
    out += [
        f"spec/reference-deviations.yaml: {d} names README row `{topic}`, which is not there"
        for d, topic in sorted(listed.items())
        if topic not in topics
    ]
    return out


def check() -> list[str]:
    reference = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    entries = yaml.safe_load(DEVIATIONS.read_text(encoding="utf-8")) or []
    return problems(reference, load_spec(MEMBER_SPEC), entries, README.read_text(encoding="utf-8"))


def main() -> int:
    found = check()
    for problem in found:
        print(problem)
    if not found:
        print(
            "reference check: every operation, parameter and value of the reference is "
            "accepted or a documented deviation"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
