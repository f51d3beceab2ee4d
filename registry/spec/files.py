"""The published documents as bytes, and as files for linters and generators.

    python -m registry.spec.files DIR

writes DIR/member_api_v3.{json,yaml} and DIR/admin_api_v3.{json,yaml}: byte for byte what
/openapi.json|yaml and /admin-api/v3/openapi.json|yaml answer (the app serves the same
functions' output; tests/test_lint.py compares them), so `make lint` judges the documents
clients actually get rather than the hand-written sources.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson
import yaml

from registry.spec import ADMIN_SPEC, MEMBER_SPEC, load_spec, published

SOURCES = {"member_api_v3": MEMBER_SPEC, "admin_api_v3": ADMIN_SPEC}


def as_json(document: dict) -> bytes:
    return orjson.dumps(document)


def as_yaml(document: dict) -> bytes:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode()


def write_published(directory: Path) -> list[Path]:
    """Write each published document as JSON and as YAML into `directory` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, source in SOURCES.items():
        document = published(load_spec(source))
        for suffix, serialise in ((".json", as_json), (".yaml", as_yaml)):
            target = directory / f"{name}{suffix}"
            target.write_bytes(serialise(document))
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the published OpenAPI documents.")
    parser.add_argument("directory", type=Path, help="where to write them")
    for path in write_published(parser.parse_args(argv).directory):
        print(path)


if __name__ == "__main__":
    main()
