"""Breaking changes between two published OpenAPI 3.0 documents (`make spec-check`).

    python -m registry.spec.breaking OLD.json NEW.json

A client generated from OLD, or a script written against it, must keep working against NEW.
This lists every change that can stop it, each naming the operation and what changed:

- a path, operation or operationId removed or renamed (a renamed operationId renames the
  generated method);
- a parameter removed (the server validates strictly: a client still sending it gets 400) or a
  new required one; a request body that became required, a media type of it removed;
- a request value narrowed: its type changed, `nullable` dropped, an enum value removed, an
  enum or a format or a pattern added or changed, a bound tightened (minimum, maximum,
  minLength, maxLength, minItems, maxItems), a field newly required, a field removed from an
  object that allows no others;
- a response narrowed for its readers: a field removed, or no longer required; an enum value
  removed; its type widened or changed (`integer` to `number`, `nullable` added); a success
  status or a media type of it removed;
- the security an operation accepts: an alternative it accepted before is gone, or a scheme it
  uses now reads another header.

Additions pass: operations, optional parameters, response fields, statuses, media types,
enum values of a request, security alternatives. The tool compares the bundled, self-contained
documents (`registry.spec.files`), resolving their local `$ref`s. tests/test_spec_breaking.py
feeds it one example of each rule.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from registry.spec import follow_refs

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Bounds whose raise (lower bounds) or drop (upper bounds) narrows what a value may be.
LOWER_BOUNDS = ("minimum", "minLength", "minItems", "minProperties")
UPPER_BOUNDS = ("maximum", "maxLength", "maxItems", "maxProperties")


class _Differ:
    def __init__(self, old: dict, new: dict):
        self.old, self.new = old, new
        self.found: list[str] = []
        self._seen: set = set()

    # -- documents ------------------------------------------------------------------------------

    def run(self) -> list[str]:
        old_ops, new_ops = _operations(self.old), _operations(self.new)
        new_by_id = {op.get("operationId"): key for key, op in new_ops.items()}
        for key, old_op in old_ops.items():
            where = f"{key[0].upper()} {key[1]}"
            new_op = new_ops.get(key)
            op_id = old_op.get("operationId")
            if new_op is None:
                moved = new_by_id.get(op_id)
                if moved:
                    self.report(where, f"moved to {moved[0].upper()} {moved[1]}")
                else:
                    self.report(where, f"operation removed (operationId {op_id})")
                continue
            if new_op.get("operationId") != op_id:
                self.report(
                    where, f"operationId renamed from {op_id} to {new_op.get('operationId')}"
                )
            self.parameters(where, key[1], old_op, new_op)
            self.request_body(where, old_op.get("requestBody"), new_op.get("requestBody"))
            self.responses(where, old_op.get("responses", {}), new_op.get("responses", {}))
            self.security(where, old_op, new_op)
        return self.found

    def report(self, where: str, what: str) -> None:
        message = f"{where}: {what}"
        if message not in self.found:
            self.found.append(message)

    # -- operations -----------------------------------------------------------------------------

    def parameters(self, where: str, path: str, old_op: dict, new_op: dict) -> None:
        old = self._parameters(self.old, path, old_op)
        new = self._parameters(self.new, path, new_op)
        for (location, name), parameter in old.items():
            label = f"parameter `{name}` ({location})"
            if (location, name) not in new:
                self.report(where, f"{label} removed")
                continue
            changed = new[(location, name)]
            if changed.get("required") and not parameter.get("required"):
                self.report(where, f"{label} became required")
            self.schema(
                f"{where}: {label}",
                parameter.get("schema", {}),
                changed.get("schema", {}),
                request=True,
            )
        for (location, name), parameter in new.items():
            if (location, name) not in old and parameter.get("required"):
                self.report(where, f"new required parameter `{name}` ({location})")

    def _parameters(self, document: dict, path: str, operation: dict) -> dict:
        item = document["paths"][path]
        found = {}
        for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
            parameter = _resolve(document, parameter)
            found[(parameter.get("in"), parameter.get("name"))] = parameter
        return found

    def request_body(self, where: str, old: dict | None, new: dict | None) -> None:
        old = _resolve(self.old, old) if old else None
        new = _resolve(self.new, new) if new else None
        if new is None:
            return  # a body that is no longer read: what clients send is ignored
        if old is None:
            if new.get("required"):
                self.report(where, "a request body is now required")
            return
        if new.get("required") and not old.get("required"):
            self.report(where, "the request body became required")
        for media, content in old.get("content", {}).items():
            if media not in new.get("content", {}):
                self.report(where, f"request media type {media} removed")
                continue
            self.schema(
                f"{where}: request body ({media})",
                content.get("schema", {}),
                new["content"][media].get("schema", {}),
                request=True,
            )

    def responses(self, where: str, old: dict, new: dict) -> None:
        for status, response in old.items():
            response = _resolve(self.old, response)
            if status not in new:
                if str(status).startswith("2"):
                    self.report(where, f"response {status} removed")
                continue
            changed = _resolve(self.new, new[status])
            for media, content in response.get("content", {}).items():
                if media not in changed.get("content", {}):
                    self.report(where, f"response {status} media type {media} removed")
                    continue
                self.schema(
                    f"{where}: response {status} ({media})",
                    content.get("schema", {}),
                    changed["content"][media].get("schema", {}),
                    request=False,
                )

    def security(self, where: str, old_op: dict, new_op: dict) -> None:
        old = _alternatives(self.old, old_op)
        new = _alternatives(self.new, new_op)
        for alternative in old - new:
            self.report(where, f"no longer accepts security {' + '.join(sorted(alternative))}")
        old_schemes = self.old.get("components", {}).get("securitySchemes", {})
        new_schemes = self.new.get("components", {}).get("securitySchemes", {})
        for name in sorted({n for alternative in old & new for n in alternative}):
            before, after = old_schemes.get(name, {}), new_schemes.get(name, {})
            for attribute in ("type", "in", "name", "scheme"):
                if before.get(attribute) != after.get(attribute):
                    self.report(
                        where,
                        f"security scheme {name}: {attribute} changed from "
                        f"{before.get(attribute)} to {after.get(attribute)}",
                    )

    # -- schemas --------------------------------------------------------------------------------

    def schema(self, where: str, old: dict, new: dict, *, request: bool) -> None:
        old, new = _resolve(self.old, old), _resolve(self.new, new)
        key = (id(old), id(new), request)
        if key in self._seen:
            return  # a recursive schema, compared already
        self._seen.add(key)
        if request:
            self._narrowed(where, old, new)
        else:
            self._widened(where, old, new)
        self._properties(where, old, new, request=request)
        if "items" in old and "items" in new:
            self.schema(f"{where}[]", old["items"], new["items"], request=request)
        for keyword in ("allOf", "oneOf", "anyOf"):
            before, after = old.get(keyword), new.get(keyword)
            if before is None and after is None:
                continue
            if before is None or after is None or len(before) != len(after):
                self.report(where, f"{keyword} changed")
                continue
            for n, (a, b) in enumerate(zip(before, after, strict=True)):
                self.schema(f"{where}.{keyword}[{n}]", a, b, request=request)

    def _narrowed(self, where: str, old: dict, new: dict) -> None:
        """What a request may send, narrowed."""
        if "type" in old and old.get("type") != new.get("type"):
            if not (old["type"] == "integer" and new.get("type") == "number"):
                self.report(where, f"type changed from {old['type']} to {new.get('type')}")
        elif "type" in new and "type" not in old:
            self.report(where, f"type {new['type']} added")
        if old.get("nullable") and not new.get("nullable"):
            self.report(where, "no longer nullable")
        self._enum(where, old, new, added_narrows=True)
        for keyword in ("format", "pattern"):
            if keyword in new and new.get(keyword) != old.get(keyword):
                self.report(where, f"{keyword} {_was(old, keyword)}{new[keyword]!r}")
        for keyword in LOWER_BOUNDS:
            if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
                self.report(where, f"{keyword} raised {_was(old, keyword)}{new[keyword]}")
        for keyword in UPPER_BOUNDS:
            if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
                self.report(where, f"{keyword} lowered {_was(old, keyword)}{new[keyword]}")
        for keyword in ("exclusiveMinimum", "exclusiveMaximum"):
            if new.get(keyword) and not old.get(keyword):
                self.report(where, f"{keyword} added")

    def _widened(self, where: str, old: dict, new: dict) -> None:
        """What a response may hold, widened (its readers were written for less)."""
        if "type" in old and old.get("type") != new.get("type"):
            if not (old["type"] == "number" and new.get("type") == "integer"):
                self.report(where, f"type changed from {old['type']} to {new.get('type')}")
        if new.get("nullable") and not old.get("nullable"):
            self.report(where, "became nullable")
        self._enum(where, old, new, added_narrows=False)

    def _enum(self, where: str, old: dict, new: dict, *, added_narrows: bool) -> None:
        if "enum" in old and "enum" in new:
            removed = [v for v in old["enum"] if v not in new["enum"]]
            if removed:
                self.report(where, f"enum value(s) removed: {', '.join(map(str, removed))}")
        elif "enum" in new and added_narrows:
            self.report(where, "enum added")

    def _properties(self, where: str, old: dict, new: dict, *, request: bool) -> None:
        before, after = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        if request:
            for name in sorted(new_required - old_required):
                self.report(where, f"request field `{name}` became required")
            if new.get("additionalProperties") is False:
                for name in sorted(set(before) - set(after)):
                    self.report(where, f"request field `{name}` removed")
        else:
            for name in sorted(set(before) - set(after)):
                self.report(where, f"response field `{name}` removed")
            for name in sorted((old_required - new_required) & set(after)):
                self.report(where, f"response field `{name}` no longer required")
        for name in sorted(set(before) & set(after)):
            self.schema(f"{where}.{name}", before[name], after[name], request=request)


def _operations(document: dict) -> dict[tuple[str, str], dict]:
    return {
        (method, path): operation
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in METHODS
    }


def _alternatives(document: dict, operation: dict) -> set[frozenset]:
    requirements = operation.get("security", document.get("security", []))
    return {frozenset(requirement) for requirement in requirements}


def _resolve(document: dict, node):
    """`node`, its `$ref`s followed; a missing node reads as empty."""
    node = follow_refs(document, node)
    return node if node is not None else {}


def _was(old: dict, keyword: str) -> str:
    return f"from {old[keyword]!r} to " if keyword in old else "to "


def breaking_changes(old: dict, new: dict) -> list[str]:
    """Every change from `old` to `new` that can break a client of `old` (empty: none)."""
    return _Differ(old, new).run()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    found = breaking_changes(
        orjson.loads(args.old.read_bytes()), orjson.loads(args.new.read_bytes())
    )
    for change in found:
        print(f"BREAKING {change}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
