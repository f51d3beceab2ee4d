"""The `Location` of a 201 answer: the path of the operation that shows the created record.

Read from the spec, not written by hand: `Location(ADMIN_SPEC, "show_object")` takes the
operation's path from the spec's documents, behind the API's base path (its server URL), once,
when a handler module is imported at start-up; an operationId the spec does not have stops
that import. Per request only the record's values are put into the template.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from urllib.parse import quote

from starlette.responses import Response

from registry.spec import operation_paths
from registry.web.responses import json_response

_PARAMETER = re.compile(r"{(\w+)}")


@functools.cache
def _paths(spec: Path) -> dict[str, str]:
    return operation_paths(spec)


class Location:
    """The path of one show operation, its parameters filled from a record's fields of the
    same names (`{id}` from `record["id"]`)."""

    def __init__(self, spec: Path, operation_id: str):
        paths = _paths(spec)
        if operation_id not in paths:
            raise LookupError(
                f"{spec.name} has no operation {operation_id!r}: no Location can be built for it"
            )
        self.template = paths[operation_id]
        # Literal text at even positions, parameter names at odd ones.
        self._parts = _PARAMETER.split(self.template)

    def of(self, record: dict) -> str:
        return "".join(
            part if i % 2 == 0 else quote(str(record[part]), safe="")
            for i, part in enumerate(self._parts)
        )


def created(record: dict, where: Location) -> Response:
    """201 with the record and, in `Location`, where to read it."""
    return json_response(record, 201, headers={"Location": where.of(record)})
