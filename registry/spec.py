"""Loading the OpenAPI documents in spec/."""
from __future__ import annotations

import functools
from pathlib import Path

import yaml

SPEC_DIR = Path(__file__).resolve().parent.parent / "spec"
MEMBER_SPEC = SPEC_DIR / "member_api_v3.yaml"


@functools.lru_cache(maxsize=None)
def _load(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_spec(path: Path = MEMBER_SPEC) -> dict:
    """The parsed document (a fresh copy: Connexion mutates what it is given)."""
    import copy

    return copy.deepcopy(_load(path))


def operation_ids(spec: dict) -> list[str]:
    return [
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    ]
