"""The served spec as openapi-generator can read it (make clients, clients/run.sh).

OpenAPI 3.0 lets a response link's `requestBody` be any value; the admin spec's links give
objects whose fields are runtime expressions (Schemathesis' stateful tests follow them). The
generator's parser (swagger-parser) models that field as a string only, and its spec validation
refuses the document. Links play no part in generated code, so the generator gets a copy without
the non-string link request bodies and is otherwise the served spec unchanged.

Usage: python clients/generator_input.py SERVED.json OUT.json
"""

from __future__ import annotations

import json
import sys


def response_objects(spec: dict):
    """Every response object of the document: under operations, and reusable ones."""
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                yield from operation.get("responses", {}).values()
    yield from spec.get("components", {}).get("responses", {}).values()


def drop_object_link_bodies(spec: dict) -> list[str]:
    """Remove each link `requestBody` that is not a string; return the links changed."""
    changed = []
    for response in response_objects(spec):
        for name, link in response.get("links", {}).items():
            if "requestBody" in link and not isinstance(link["requestBody"], str):
                del link["requestBody"]
                changed.append(name)
    return changed


def main(served: str, out: str) -> None:
    with open(served, encoding="utf-8") as f:
        spec = json.load(f)
    changed = drop_object_link_bodies(spec)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(spec, f)
    print(f"{out}: {len(changed)} link request bod(ies) left out for the generator")


if __name__ == "__main__":
    main(*sys.argv[1:3])
