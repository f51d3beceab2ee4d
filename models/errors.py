"""Domain errors. The web layer maps each to one problem+json status (registry/web/errors.py).

A message that repeats what the caller sent repeats at most `QUOTE_MAX` characters of it
(`quoted`, `clipped`): a 400 that repeated a whole 100 MB value answered 105 MB.
"""

import reprlib

# Characters of an offending value that a problem repeats; "…" marks the rest as left out.
QUOTE_MAX = 40
ELLIPSIS = "\u2026"

_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = QUOTE_MAX + 2
_SHORT_REPR.maxlist = _SHORT_REPR.maxtuple = _SHORT_REPR.maxdict = 4
_SHORT_REPR.maxlevel = 2


def clipped(text: str, limit: int = QUOTE_MAX) -> str:
    """`text` itself when short, else its first `limit` characters and "…"."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + ELLIPSIS


def quoted(value) -> str:
    """`value` as a message shows it (its repr: `'abc'`, `12`, `[1, 2]`), at most `QUOTE_MAX`
    characters of it: a long string as its prefix and "…" inside the quotes. Costs the same
    for a huge value as for a small one (a container is shown by its first items)."""
    if isinstance(value, str):
        return repr(clipped(value))
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > 4 * QUOTE_MAX:  # repr of a huge int is slow, or refused
            return f"an integer of more than {QUOTE_MAX} digits"
        return clipped(repr(value))
    return clipped(_SHORT_REPR.repr(value))


class DomainError(Exception):
    status = 400
    title = "Bad Request"

    def __init__(self, detail: str, *, errors: list[dict] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def headers(self) -> dict:
        """Response headers that go with the problem (none by default)."""
        return {}


class InvalidInput(DomainError):
    status = 400
    title = "Bad Request"


class RuleViolation(DomainError):
    """A request the spec's schema accepts that breaks a registry rule the schema cannot state
    (an identifier of another institution, a field that must not change, records that
    disagree with each other). 400 stays for what the schema itself refuses."""

    status = 422
    title = "Unprocessable Content"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not Found"


class NotAcceptable(DomainError):
    """The client accepts none of the media types the operation can answer with."""

    status = 406
    title = "Not Acceptable"


class Conflict(DomainError):
    status = 409
    title = "Conflict"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict] | None = None,
        existing: tuple[str, int] | None = None,
    ):
        """`existing`: the record that is the reason for the conflict, as (collection, id),
        e.g. ("items", 123): the request found it already there. The problem then names it
        (`existing_id`, and `existing`, its path in the API that was called), so that a client
        whose first answer was lost finds what its first call created."""
        super().__init__(detail, errors=errors)
        self.existing = existing


class Unavailable(DomainError):
    """The database could not take the request now (it stayed locked, or the request kept
    losing races with other writers) and nothing was written: the client may send it again."""

    status = 503
    title = "Service Unavailable"

    def __init__(self, detail: str, *, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> dict:
        return {"Retry-After": str(self.retry_after)}


def body_error(name: str, message: str) -> dict:
    """One entry of a problem's `errors`, for a field of the request body."""
    return {"name": name, "in": "body", "message": message}
