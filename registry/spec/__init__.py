"""Loading the OpenAPI documents in spec/ and bundling them into self-contained documents.

The hand-written files share components across files (`member_api_v3.yaml#/components/...`)
and may keep path items in files of their own. What the server validates with and publishes
at /openapi.json is one document per API with every external `$ref` pulled in: components
land under the same name in `components`, anything else is inlined. Clients and generators
then need nothing but that one document.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"
MEMBER_SPEC = SPEC_DIR / "member_api_v3.yaml"
ADMIN_SPEC = SPEC_DIR / "admin_api_v3.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


class SpecError(ValueError):
    """A reference that cannot be resolved, or two different components with one name."""


@functools.cache
def _load(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        # libyaml's loader when PyYAML has it: the same data, five times faster (start-up).
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _pointer(document: dict, pointer: str):
    node = document
    for part in pointer.lstrip("/").split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        try:
            node = node[part]
        except (KeyError, TypeError):
            raise SpecError(f"unresolvable JSON pointer #{pointer}") from None
    return node


def follow_refs(document: dict, node, most: int = 50):
    """`node` with its local `$ref`s followed, in a bundled document (one whose references
    all point into itself, as the published documents' do)."""
    for _ in range(most):
        if not (isinstance(node, dict) and "$ref" in node):
            return node
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise SpecError(f"cannot follow {ref!r}: a bundled document's references are local")
        node = _pointer(document, ref[1:])
    raise SpecError(f"more than {most} references in a row from {node!r:.80}")


class _Bundler:
    def __init__(self, root_path: Path):
        self.root_path = root_path
        self.root = copy.deepcopy(_load(root_path))
        self.components = self.root.setdefault("components", {})
        self.origins: dict[tuple[str, str], Path] = {
            (kind, name): root_path for kind, names in self.components.items() for name in names
        }

    def bundle(self) -> dict:
        self.root = self._resolve(self.root, self.root_path)
        # The root's own components, with the external references in them pulled in too.
        for kind, names in self.root.get("components", {}).items():
            self.components.setdefault(kind, {}).update(names)
        self.root["components"] = self.components
        _drop_dangling_links(self.root)
        _inherit_list_parameters(self.root)
        return self.root

    def _resolve(self, node, base: Path):
        if isinstance(node, list):
            return [self._resolve(item, base) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._follow(ref, base, node)
        return {key: self._resolve(value, base) for key, value in node.items()}

    def _follow(self, ref: str, base: Path, node: dict):
        file_part, _, pointer = ref.partition("#")
        target = (base.parent / file_part).resolve() if file_part else base
        if target == self.root_path and not file_part:
            return node  # a local reference of the root document stays as it is
        parts = pointer.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "components":
            _, kind, name = parts
            self._import_component(kind, name, target)
            return {"$ref": f"#/components/{kind}/{name}"}
        fragment = copy.deepcopy(_pointer(_load(target), pointer))
        return self._resolve(fragment, target)

    def _import_component(self, kind: str, name: str, source: Path) -> None:
        if source == self.root_path:
            return
        origin = self.origins.setdefault((kind, name), source)
        if origin != source:
            raise SpecError(f"components {kind}/{name} of {origin.name} and {source.name} clash")
        section = self.components.setdefault(kind, {})
        if name in section:
            return  # imported already, or being imported (a recursive schema)
        section[name] = {}
        definition = _pointer(_load(source), f"/components/{kind}/{name}")
        section[name] = self._resolve(copy.deepcopy(definition), source)


# The paging parameters of a list, which an operation that inherits its parameters leaves out.
PAGING_PARAMETERS = ("page", "per_page", "cursor")
INHERIT = "x-parameters-of"


def query_value(text: str, schema: dict):
    """A query parameter's text as a validator of its (resolved) schema reads it: an integer,
    a number or a boolean where the schema says so and the text is one; else the text itself,
    which such a schema's type then refuses."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _inherit_list_parameters(document: dict) -> None:
    """An operation with `x-parameters-of: <list operationId>` (an export) takes that list's
    parameters, its filters and sort, less the paging ones, before its own: the list's are
    written once, and the two cannot drift apart. The published document states them in full."""
    operations = {
        op["operationId"]: op
        for item in document["paths"].values()
        for method, op in item.items()
        if method in HTTP_METHODS
    }
    paging = {f"#/components/parameters/{name}" for name in PAGING_PARAMETERS}
    for operation in operations.values():
        source = operation.pop(INHERIT, None)
        if source is None:
            continue
        if source not in operations:
            raise SpecError(f"{operation['operationId']}: {INHERIT} names no operation {source}")
        inherited = [
            copy.deepcopy(parameter)
            for parameter in operations[source].get("parameters", [])
            if parameter.get("$ref") not in paging
            and parameter.get("name") not in PAGING_PARAMETERS
        ]
        operation["parameters"] = inherited + operation.get("parameters", [])


def _drop_dangling_links(document: dict) -> None:
    """A path item shared from another API may link to operations this API does not have
    (the member objects list links to the member restore); such links are left out."""
    known = set(operation_ids(document))

    def prune(responses: dict) -> None:
        for response in responses.values():
            links = response.get("links") if isinstance(response, dict) else None
            if links:
                for name in [n for n, link in links.items() if link["operationId"] not in known]:
                    del links[name]
                if not links:
                    del response["links"]

    for item in document["paths"].values():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                prune(operation.get("responses", {}))
    prune(document["components"].get("responses", {}))


def load_spec(path: Path = MEMBER_SPEC) -> dict:
    """The bundled, self-contained document (a fresh copy: Connexion mutates what it gets)."""
    return _Bundler(path.resolve()).bundle()


def operation_ids(spec: dict) -> list[str]:
    return [
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


def operation_paths(path: Path) -> dict[str, str]:
    """operationId -> full path (the server URL's path, then the operation's) of each operation
    of one API. Read from the hand-written files, following a path item's `$ref`, without
    bundling: what `load_spec` gives, for a fraction of its cost at start-up."""
    root_path = path.resolve()
    root = _load(root_path)
    base = root["servers"][0]["url"].rstrip("/")
    found = {}
    for route, item in root["paths"].items():
        ref = item.get("$ref")
        if isinstance(ref, str):  # a path item kept in another file, or elsewhere in this one
            file_part, _, pointer = ref.partition("#")
            target = (root_path.parent / file_part).resolve() if file_part else root_path
            item = _pointer(_load(target), pointer)
        for method, operation in item.items():
            if method in HTTP_METHODS:
                found[operation["operationId"]] = base + route
    return found


INTERNAL_EXTENSIONS = ("x-openapi-router-controller", "x-apikeyInfoFunc")


def published(document: dict) -> dict:
    """The document as clients get it: our wiring extensions (handler modules, security
    functions) left out, component names and `$ref`s kept so generated clients name models."""
    if isinstance(document, dict):
        return {k: published(v) for k, v in document.items() if k not in INTERNAL_EXTENSIONS}
    if isinstance(document, list):
        return [published(v) for v in document]
    return document
